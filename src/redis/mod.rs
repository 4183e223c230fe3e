//! Scaling out through Redis (feature `redis`): the receiver appends each after-event to a
//! stream, a pool of workers processes them.
//!
//! ```text
//!  Tencent ──POST──▶ WebhookService(Queued<H, RedisSink>)
//!                      │ before-event: H answers inline
//!                      │ after-event: XADD, then OK (500 if Redis does not take it in time)
//!                      ▼
//!                  stream ──XREADGROUP──▶ RedisWorker(H) ×N ──XACK once H succeeded
//!                      │                      │ idle entries of a lost worker: XAUTOCLAIM
//!                      │                      └ failed max_attempts times: dead-letter stream
//!                  RedisDedup: one processing per idempotency key within the expiry
//! ```
//!
//! - [`RedisConfig`]: where and how (URL, stream, group, limits), shared by both sides.
//! - [`RedisSink`]: the [`EventSink`](crate::EventSink) that `XADD`s; put it in front of your
//!   handler with [`Queued`](crate::Queued).
//! - [`RedisWorker`]: reads the stream through a consumer group and calls your
//!   [`Handler`](crate::Handler), as the service would have.
//! - [`RedisDedup`]: a [`Dedup`](crate::Dedup) store in Redis, used by the workers and usable by
//!   the inline service too ([`WebhookConfigBuilder::dedup`](crate::WebhookConfigBuilder::dedup)).
//!
//! Delivery is at least once: an event is acknowledged to Tencent only once it is in the
//! stream, and removed from the stream's pending list only once a handler succeeded with it, so
//! a crash anywhere means a redelivery, never a loss. Processing is once per idempotency key
//! ([`Event::idempotency_key`](crate::Event::idempotency_key), for the events the service
//! de-duplicates too) within [`RedisConfigBuilder::dedup_expiry`]. Needs Redis 7.0 or later.

mod config;
mod dedup;
mod record;
mod sink;
mod worker;

pub use config::{RedisConfig, RedisConfigBuilder, RedisError, RedisErrorKind};
pub use dedup::RedisDedup;
pub use sink::RedisSink;
pub use worker::{RedisWorker, WorkerStats};
