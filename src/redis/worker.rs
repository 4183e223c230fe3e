//! The worker's side: [`RedisWorker`] reads the stream through a consumer group and hands each
//! event to the handler.
//!
//! Here: the worker, its loop and its state ([`Run`]); its connections (`conn.rs`), its looks at
//! the server (`look.rs`), the entries it reads and claims (`fetch.rs`), handles (`handle.rs`)
//! and records (`settle.rs`), and how it waits (`wait.rs`).

mod conn;
mod fetch;
mod handle;
mod look;
mod settle;
mod wait;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::streams::StreamId;
use tokio::time::Instant;

use super::config::{RedisConfig, RedisError};
use super::dedup::RedisDedup;
use super::inspect::Memory;
use super::link::Link;
use super::signal;
use crate::handler::{ErasedHandler, Handler};
use wait::{Backoff, Shutdown};

/// Reads the stream through the configured consumer group and hands each event to a
/// [`Handler`], the same one (or the same type) the inline service uses, exactly as the
/// service would: through its typed method, with the request context rebuilt (app id, command,
/// `ClientIP`, `OptPlatform`, `RequestTime`), panics caught.
///
/// - An entry is acknowledged (`XACK`) only once the handler succeeded with it; a failed one
///   stays pending and is retried after [`claim_idle`](super::RedisConfigBuilder::claim_idle),
///   by whichever worker claims it (`XAUTOCLAIM`), as are the entries of a worker that
///   crashed. After [`max_attempts`](super::RedisConfigBuilder::max_attempts) deliveries it
///   goes to the dead-letter stream with its last error, and is acknowledged.
/// - Events with the same idempotency key are processed once within the
///   [`dedup_expiry`](super::RedisConfigBuilder::dedup_expiry) ([`RedisDedup`]).
/// - What the handler finished is recorded (the key marked processed, the entry
///   acknowledged) at the end of each batch, or sooner when an entry's lease is half gone.
///   When Redis does not take the record (an outage, a restart), the worker keeps it in memory
///   and, once Redis answers again, records it before it reads or claims anything else, within
///   the lease when the outage was short enough.
/// - On every new connection, and every few seconds, the worker looks at the Redis behind
///   it: a restart or failover (`run_id` changed) is logged at warn; a stream gone or behind
///   the entries it had, or the consumer group gone, at error and counted in
///   `tencent_chat_webhook_queue_losses_total{side="worker"}`; a missing group is created.
///   When Redis restarted (or failed over) with entries pending, no worker reads or claims
///   until it has been up for the claim time (or for that long after a new `run_id`): the
///   outage counted against the entries' claim time and their keys' leases, and the workers
///   that were processing them record theirs first.
/// - A lost connection is retried with a growing backoff (up to 5 s, or a quarter of the
///   claim time when that is shorter) and reported at warn (bounded); the worker never panics
///   for it.
/// - [`run`](Self::run) returns when its shutdown future completes: a read waiting for new
///   entries is given up (entries Redis handed it meanwhile stay pending, for another worker),
///   the batch in hand is finished.
///
/// Run several in one process (each with a consumer name of its own), or one per process.
///
/// ```no_run
/// use tencent_chat_webhook::redis::{RedisConfig, RedisWorker};
/// use tencent_chat_webhook::Handler;
///
/// struct Notifications;
/// impl Handler for Notifications {}
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConfig::builder("redis://127.0.0.1:6379").build()?;
/// let worker = RedisWorker::new(&redis, Notifications);
/// println!("consumer {}", worker.consumer_name());
/// let stats = worker.run(async { tokio::signal::ctrl_c().await.unwrap() }).await?;
/// println!("processed {}", stats.processed);
/// # Ok(()) }
/// ```
pub struct RedisWorker {
    config: RedisConfig,
    handler: Arc<dyn ErasedHandler>,
    consumer: String,
}

/// What a worker did, as [`RedisWorker::run`] returns it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Events the handler succeeded with (acknowledged).
    pub processed: u64,
    /// Events acknowledged without the handler: their idempotency key was processed already.
    pub duplicates: u64,
    /// Handler failures (errors and panics); each such entry was retried or dead-lettered.
    pub failed: u64,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Processed entries recorded only after their lease had run out (a long outage): another
    /// delivery of the same events may have been processed meanwhile.
    pub settled_late: u64,
}

impl RedisWorker {
    /// A worker that hands events to `handler`.
    pub fn new(config: &RedisConfig, handler: impl Handler) -> Self {
        Self::from_arc(config, Arc::new(handler))
    }

    /// A worker around a handler you also hold elsewhere (the inline service, other workers).
    pub fn from_arc<H: Handler>(config: &RedisConfig, handler: Arc<H>) -> Self {
        let consumer = config
            .inner
            .consumer
            .clone()
            .unwrap_or_else(default_consumer);
        RedisWorker {
            config: config.clone(),
            handler,
            consumer,
        }
    }

    /// Reads as this consumer of the group (unique per worker).
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// The consumer name it reads as.
    pub fn consumer_name(&self) -> &str {
        &self.consumer
    }

    /// Processes entries until `shutdown` completes. Fails only when no connection can be
    /// set up at all (not when Redis is down: that is waited out).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<WorkerStats, RedisError> {
        let c = &self.config.inner;
        let mut run = Run {
            reader: Link::new(&self.config, c.block + Duration::from_secs(2)),
            writer: Link::new(&self.config, c.write_timeout.max(Duration::from_secs(1))),
            dedup: RedisDedup::new(&self.config)?,
            worker: &self,
            stats: WorkerStats::default(),
            finished: Vec::new(),
            unsettled: Vec::new(),
            waiting: VecDeque::new(),
            watch: Watch {
                memory: Memory::default(),
                looked_at: (0, 0),
                last_look: None,
                hold_until: Instant::now(),
            },
        };
        let mut shutdown = Shutdown(Some(Box::pin(shutdown)));
        let mut backoff = Backoff::new(c.claim_idle);
        let mut cursor = "0-0".to_owned();
        let mut next_claim = Instant::now();
        while !shutdown.fired() {
            // What was processed before an outage is recorded before anything else is read
            // or claimed, while its lease still holds.
            if !run.unsettled.is_empty()
                && let Err(e) = run.settle().await
            {
                crate::service::queue_trouble("xack", &e);
                backoff.wait(&mut shutdown).await;
                continue;
            }
            if run.held() {
                // Waiting for the live workers to record what they hold; a look (and what it
                // may change) comes with the next read.
                let wait = run
                    .watch
                    .hold_until
                    .saturating_duration_since(Instant::now());
                tokio::select! {
                    () = shutdown.wait() => {}
                    () = tokio::time::sleep(wait.min(c.block)) => {}
                }
                continue;
            }
            // Entries this worker holds but could not ask Redis about yet, before new ones:
            // after a look at the server, which may be a new one (and hold them back).
            if !run.waiting.is_empty() {
                let looked = run.look().await;
                if looked.is_err() || (!run.held() && !run.handle_waiting().await) {
                    if let Err(e) = looked {
                        crate::service::queue_trouble("look", &e);
                    }
                    backoff.wait(&mut shutdown).await;
                }
                continue;
            }
            if Instant::now() >= next_claim {
                match run.claim(&mut cursor).await {
                    // A full pass over the pending entries: the next one in a while.
                    Ok(true) if cursor == "0-0" => next_claim = Instant::now() + c.claim_idle / 2,
                    Ok(_) => {}
                    Err(e) => {
                        crate::service::queue_trouble("xautoclaim", &e);
                        backoff.wait(&mut shutdown).await;
                        continue;
                    }
                }
            }
            let read = tokio::select! {
                biased;
                () = shutdown.wait() => break,
                read = run.read() => read,
            };
            match read {
                Ok(entries) => {
                    backoff.reset();
                    let received = Instant::now();
                    run.waiting
                        .extend(entries.into_iter().map(|entry| Delivery {
                            entry,
                            delivered: 1,
                            received,
                            first_try: None,
                        }));
                    if !run.handle_waiting().await {
                        backoff.wait(&mut shutdown).await;
                    }
                }
                Err(e) => {
                    crate::service::queue_trouble("xreadgroup", &e);
                    backoff.wait(&mut shutdown).await;
                }
            }
        }
        if !run.unsettled.is_empty() {
            let _ = tokio::time::timeout(c.write_timeout, run.settle()).await;
            if !run.unsettled.is_empty() {
                signal::unsettled_at_shutdown(&c.stream, run.unsettled.len());
            }
        }
        Ok(run.stats)
    }
}

impl fmt::Debug for RedisWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisWorker")
            .field("config", &self.config)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// `<host>-<pid>-<n>`: unique within a process, and across hosts that are named apart.
fn default_consumer() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{host}-{}-{n}", std::process::id())
}

/// One running worker's connections, counts and memory.
struct Run<'a> {
    /// For the blocking reads, which hold their connection while they wait.
    reader: Link<()>,
    /// For everything else, and the looks at the server.
    writer: Link<()>,
    dedup: RedisDedup,
    worker: &'a RedisWorker,
    stats: WorkerStats,
    /// The entries of the batch in hand that are finished, recorded together at the end of
    /// the batch (or sooner, when a lease is half gone).
    finished: Vec<Finished>,
    /// Finished entries whose record Redis did not take: recorded before anything else.
    unsettled: Vec<Finished>,
    /// Entries delivered to this worker and not handled yet (Redis could not be asked about
    /// them): handled before anything new is read or claimed.
    waiting: VecDeque<Delivery>,
    watch: Watch,
}

/// An entry delivered to this worker, for the `delivered`-th time, at `received`.
struct Delivery {
    entry: StreamId,
    delivered: u32,
    received: Instant,
    /// When the worker first tried to take its key (`None`: not yet).
    first_try: Option<Instant>,
}

/// An entry the worker is done with, to record in Redis: its key as processed, the entry
/// acknowledged.
struct Finished {
    id: String,
    /// The idempotency key to record as processed (none for a duplicate, whose key is).
    key: Option<String>,
    /// From when another delivery of the event may be processed, unless this is recorded.
    deadline: Option<Instant>,
}

/// What the worker knows of the server.
struct Watch {
    memory: Memory,
    /// The reader's and the writer's connections (their generations) at the last look.
    looked_at: (u64, u64),
    last_look: Option<Instant>,
    /// Nothing read or claimed before this: a Redis that restarted with entries pending gives
    /// the live workers that hold some the claim time to record theirs.
    hold_until: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Reader,
    Writer,
}
