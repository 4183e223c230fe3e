//! Scaling out through Redis (feature `redis`): the receiver appends each after-event to a
//! stream, a pool of workers processes them.
//!
//! ```text
//!  Tencent ──POST──▶ WebhookService(Queued<H, RedisSink>)
//!                      │ before-event: H answers inline
//!                      │ after-event: XADD, then OK (500 if Redis does not take it in
//!                      │              time, or would not keep it through a restart)
//!                      ▼
//!                  stream ──XREADGROUP──▶ RedisWorker(H) ×N ──XACK once H succeeded
//!                      │                      │ idle entries of a lost worker: XAUTOCLAIM
//!                      │                      └ failed max_attempts times: dead-letter stream
//!                  RedisDedup: one processing per idempotency key within the expiry
//! ```
//!
//! - [`RedisConfig`]: where and how (URL, stream, group, limits), shared by both sides.
//! - [`Durability`]: what Redis must promise before the receiver acknowledges an event.
//! - [`RedisSink`]: the [`EventSink`](crate::EventSink) that `XADD`s; put it in front of your
//!   handler with [`Queued`](crate::Queued).
//! - [`RedisWorker`]: reads the stream through a consumer group and calls your
//!   [`Handler`](crate::Handler), as the service would have.
//! - [`RedisDedup`]: a [`Dedup`](crate::Dedup) store in Redis, used by the workers and usable by
//!   the inline service too ([`WebhookConfigBuilder::dedup`](crate::WebhookConfigBuilder::dedup)).
//!
//! # What is guaranteed
//!
//! **Nothing acknowledged is lost, as far as Redis keeps what it acknowledged.** An after-event
//! is answered 200 only once Redis has taken the `XADD` and, per the [`Durability`] setting,
//! keeps it: by default only a Redis with AOF and `appendfsync always` gets anything
//! acknowledged (checked on every new connection and every 5 s; otherwise every after-event is
//! answered 500, so that Tencent retries, and the reason is logged at warn once). An entry
//! leaves the stream's pending list only once a handler succeeded with it, or once it is in the
//! dead-letter stream, so a crash of a worker or of Redis means a redelivery, never a loss.
//! A Redis that came back with less than it had (its stream gone or behind the entries this
//! process saw, its consumer group gone) is logged at error and counted in
//! `tencent_chat_webhook_queue_losses_total{side,what}`; a restart or failover alone in
//! `tencent_chat_webhook_queue_restarts_total{side}`.
//!
//! **Processing is once per idempotency key** ([`Event::idempotency_key`](crate::Event::idempotency_key),
//! for the events the service de-duplicates too) within [`RedisConfigBuilder::dedup_expiry`],
//! through Redis outages and restarts (with AOF): a worker records what its handler finished
//! (the key as processed, the entry acknowledged) at the end of each batch, or as soon as an
//! entry has used half its lease; what Redis does not take it keeps in memory and records
//! first once Redis answers again, and after a restart with entries pending no worker reads or
//! claims until Redis has been up for [`claim_idle`](RedisConfigBuilder::claim_idle), so that
//! the live workers record theirs before another one could process them again.
//!
//! Once-only processing does not hold in these cases, where an event is processed again:
//!
//! - A worker dies (crash, kill, OOM) after its handler succeeded and before Redis took its
//!   record: the entry is claimed after `claim_idle` and processed again (at least once).
//! - A live worker cannot reach Redis while Redis stays up (a network partition of that worker,
//!   a process paused) for longer than its keys' lease ([`dedup_lease`](RedisConfigBuilder::dedup_lease),
//!   `claim_idle` by default): another worker may claim its entries, or read another delivery
//!   of the same event, and process them; the first one reports it
//!   ([`WorkerStats::settled_late`], `tencent_chat_webhook_queue_settled_late_total`).
//! - A live worker does not come back within `claim_idle` of Redis's restart (its reconnect
//!   attempts are at most a quarter of `claim_idle` apart).
//! - A handler runs longer than the lease: another delivery of the event may be processed
//!   meanwhile.
//! - Redis lost data (a restart without persistence under [`Durability::AcceptLoss`], a
//!   failover to a replica that lagged): the keys recorded as processed are lost with it.
//! - Events the crate never de-duplicates (no documented id and no `EventTime`), and deliveries
//!   further apart than the `dedup_expiry`: processed at least once.
//!
//! A Redis restarted behind a proxy or a failover under the same address is noticed at the next
//! check (within 5 s); a restart that lost entries is detected by comparing with what this
//! process saw, so one hidden by entries another process added since can go unreported.
//! Needs Redis 7.0 or later.

mod config;
mod dedup;
mod durability;
mod inspect;
mod link;
mod record;
mod signal;
mod sink;
mod worker;

pub use config::{RedisConfig, RedisConfigBuilder, RedisError, RedisErrorKind};
pub use dedup::RedisDedup;
pub use durability::Durability;
pub use sink::RedisSink;
pub use worker::{RedisWorker, WorkerStats};
