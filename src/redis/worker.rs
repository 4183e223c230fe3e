//! The worker's side: [`RedisWorker`] reads the stream through a consumer group and hands each
//! event to the handler.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::time::Instant;

use super::config::{RedisConfig, RedisError};
use super::dedup::RedisDedup;
use super::record;
use crate::dedup::{Dedup, Seen};
use crate::handler::{ErasedHandler, FailureKind, Handler, HandlerFailure};
use crate::service::{CatchUnwind, panic_message};

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
/// - A lost connection is retried with a growing backoff (up to 5 s) and reported at warn
///   (bounded); the worker never panics for it.
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
            reader: self.config.connect(c.block + Duration::from_secs(2))?,
            writer: self
                .config
                .connect(c.write_timeout.max(Duration::from_secs(1)))?,
            dedup: RedisDedup::new(&self.config)?,
            worker: &self,
            stats: WorkerStats::default(),
            finished: Vec::new(),
        };
        let mut shutdown = Shutdown(Some(Box::pin(shutdown)));
        let mut backoff = Backoff::default();
        let mut group_ready = false;
        let mut cursor = "0-0".to_owned();
        let mut next_claim = Instant::now();
        while !shutdown.fired() {
            if !group_ready {
                match run.create_group().await {
                    Ok(()) => group_ready = true,
                    Err(e) => {
                        crate::service::queue_trouble("xgroup create", &e);
                        backoff.wait(&mut shutdown).await;
                        continue;
                    }
                }
            }
            if Instant::now() >= next_claim {
                match run.claim(&mut cursor).await {
                    Ok(()) => {
                        if cursor == "0-0" {
                            // A full pass over the pending entries: the next one in a while.
                            next_claim = Instant::now() + c.claim_idle / 2;
                        }
                    }
                    Err(e) => {
                        group_ready = !is_no_group(&e);
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
                    for entry in entries {
                        run.handle(entry, 1).await;
                    }
                    run.flush().await;
                }
                Err(e) => {
                    group_ready = !is_no_group(&e);
                    crate::service::queue_trouble("xreadgroup", &e);
                    backoff.wait(&mut shutdown).await;
                }
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

fn is_no_group(e: &redis::RedisError) -> bool {
    e.code() == Some("NOGROUP")
}

/// One running worker's connections and counts.
struct Run<'a> {
    /// For the blocking reads, which hold their connection while they wait.
    reader: ConnectionManager,
    /// For everything else.
    writer: ConnectionManager,
    dedup: RedisDedup,
    worker: &'a RedisWorker,
    stats: WorkerStats,
    /// The entries of the batch in hand that are finished (with the key to record as
    /// processed), acknowledged together at the end of the batch.
    finished: Vec<(String, Option<String>)>,
}

impl Run<'_> {
    fn c(&self) -> &super::config::Inner {
        &self.worker.config.inner
    }

    /// Creates the group (and the stream) when missing; an existing group is fine.
    async fn create_group(&mut self) -> Result<(), redis::RedisError> {
        let c = &self.worker.config.inner;
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&c.stream)
            .arg(&c.group)
            .arg("0")
            .arg("MKSTREAM")
            .exec_async(&mut self.writer)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// New entries for this consumer, waiting up to the block time for some.
    async fn read(&mut self) -> Result<Vec<StreamId>, redis::RedisError> {
        let c = &self.worker.config.inner;
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&c.group)
            .arg(&self.worker.consumer)
            .arg("COUNT")
            .arg(c.batch_size)
            .arg("BLOCK")
            .arg(u64::try_from(c.block.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS")
            .arg(&c.stream)
            .arg(">")
            .query_async(&mut self.reader)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    /// Takes over the entries idle for the claim time (a crashed worker's, failed ones) and
    /// handles them, each with its delivery count.
    async fn claim(&mut self, cursor: &mut String) -> Result<(), redis::RedisError> {
        let c = &self.worker.config.inner;
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&c.stream)
            .arg(&c.group)
            .arg(&self.worker.consumer)
            .arg(u64::try_from(c.claim_idle.as_millis()).unwrap_or(u64::MAX))
            .arg(&*cursor)
            .arg("COUNT")
            .arg(c.batch_size)
            .query_async(&mut self.writer)
            .await?;
        *cursor = reply.next_stream_id;
        if !reply.deleted_ids.is_empty() {
            // Trimmed by MAXLEN before any worker succeeded with them: lost to the cap.
            let lost = format!(
                "{} pending entries were trimmed from the stream before they were processed; raise max_len",
                reply.deleted_ids.len()
            );
            crate::service::queue_trouble("trimmed", &lost);
        }
        for entry in reply.claimed {
            let delivered = self.delivery_count(&entry.id).await?;
            self.handle(entry, delivered).await;
        }
        self.flush().await;
        Ok(())
    }

    /// How many times `id` has been delivered, this delivery included.
    async fn delivery_count(&mut self, id: &str) -> Result<u32, redis::RedisError> {
        let c = &self.worker.config.inner;
        let reply: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&c.stream)
            .arg(&c.group)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(&mut self.writer)
            .await?;
        Ok(reply
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX)))
    }

    /// Handles one entry in its `delivered`-th delivery.
    async fn handle(&mut self, entry: StreamId, delivered: u32) {
        let max = self.c().max_attempts;
        let decoded = match record::decode(&entry.map) {
            Ok(decoded) => decoded,
            // It will never parse: no use retrying.
            Err(why) => return self.dead_letter(&entry, &why, delivered).await,
        };
        if delivered > max {
            let why = format!(
                "{} deliveries ended without an answer (the worker holding it stopped)",
                delivered - 1
            );
            return self.dead_letter(&entry, &why, delivered).await;
        }
        let key = decoded.dedup_key;
        if let Some(key) = &key {
            match self.dedup.begin(key).await {
                Seen::New => {}
                Seen::Done => {
                    self.stats.duplicates += 1;
                    return self.finished.push((entry.id, None));
                }
                // Being processed elsewhere (or Redis did not answer): left pending, so it
                // comes back after the claim time and is then acknowledged or processed.
                _ => return,
            }
        }
        let ctx = decoded.ctx;
        let outcome = CatchUnwind {
            inner: self.worker.handler.dispatch(&ctx, decoded.event),
        }
        .await;
        let failure = match outcome {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some((FailureKind::Error, e.to_string())),
            Err(panic) => Some((FailureKind::Panic, panic_message(&*panic))),
        };
        let Some((kind, message)) = failure else {
            self.stats.processed += 1;
            return self.finished.push((entry.id, key));
        };
        if let Some(key) = &key {
            self.dedup.forget(key).await;
        }
        self.stats.failed += 1;
        crate::service::handler_failed(&HandlerFailure {
            command: ctx.command().to_owned(),
            kind,
            message: message.clone(),
        });
        if delivered >= max {
            self.dead_letter(&entry, &message, delivered).await;
        }
    }

    /// Records the batch's processed keys and acknowledges its finished entries, in one round
    /// trip. A worker that dies before this leaves them pending: delivered again, and processed
    /// again once their lease ran out (at least once).
    async fn flush(&mut self) {
        if self.finished.is_empty() {
            return;
        }
        let c = &self.worker.config.inner;
        let mut pipe = redis::pipe();
        // The keys first: an entry acknowledged has its key recorded.
        for key in self.finished.iter().filter_map(|(_, key)| key.as_deref()) {
            self.dedup.add_complete(&mut pipe, key);
        }
        let ack = pipe.cmd("XACK").arg(&c.stream).arg(&c.group);
        for (id, _) in self.finished.drain(..) {
            ack.arg(id);
        }
        if let Err(e) = pipe.exec_async(&mut self.writer).await {
            // Left pending: claimed again later, and then acknowledged as duplicates.
            crate::service::queue_trouble("xack", &e);
        }
    }

    /// Moves an entry to the dead-letter stream, with why and after how many deliveries, and
    /// acknowledges it, in one transaction.
    async fn dead_letter(&mut self, entry: &StreamId, why: &str, delivered: u32) {
        let c = &self.worker.config.inner;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let add = pipe
            .cmd("XADD")
            .arg(&c.dead_letter)
            .arg("MAXLEN")
            .arg("~")
            .arg(c.max_len)
            .arg("*");
        for (field, value) in &entry.map {
            if let Ok(value) = redis::from_redis_value_ref::<Vec<u8>>(value) {
                add.arg(field).arg(value);
            }
        }
        add.arg("error")
            .arg(why)
            .arg("attempts")
            .arg(delivered)
            .arg("source_id")
            .arg(&entry.id);
        pipe.cmd("XACK").arg(&c.stream).arg(&c.group).arg(&entry.id);
        match pipe.exec_async(&mut self.writer).await {
            Ok(()) => self.stats.dead_lettered += 1,
            // Left pending: moved on a later claim.
            Err(e) => crate::service::queue_trouble("dead letter", &e),
        }
    }
}

/// The shutdown future, checked between batches and raced against the reads.
struct Shutdown<'a>(Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>);

impl Shutdown<'_> {
    /// Whether it has completed (polled once, without waiting).
    fn fired(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(self.poll(&mut cx), Poll::Ready(()))
    }

    /// Completes when it does.
    async fn wait(&mut self) {
        poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = &mut self.0 else {
            return Poll::Ready(());
        };
        let ready = fut.as_mut().poll(cx);
        if ready.is_ready() {
            self.0 = None;
        }
        ready
    }
}

/// The wait after a failed command: 100 ms, doubling up to 5 s, until a read succeeds.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(5);

    async fn wait(&mut self, shutdown: &mut Shutdown<'_>) {
        let wait = Duration::from_millis(100)
            .saturating_mul(1 << self.failures.min(6))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        tokio::select! {
            () = shutdown.wait() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
