//! The worker's side: [`RedisWorker`] reads the stream through a consumer group and hands each
//! event to the handler.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::time::Instant;

use super::config::{RedisConfig, RedisError};
use super::dedup::RedisDedup;
use super::inspect::{self, EntryId, Memory, RECHECK};
use super::link::Link;
use super::record;
use super::signal::{self, Side};
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

fn is_no_group(e: &redis::RedisError) -> bool {
    e.code() == Some("NOGROUP")
}

/// Whether the group has an entry pending that was delivered before Redis started, `up` ago
/// in whole seconds: idle for a second more than that (the delivery time survives a restart).
/// One delivered in the last second before a restart is not seen; a worker that was connected
/// then sees the restart itself (a new `run_id`).
async fn delivered_before(
    conn: &mut MultiplexedConnection,
    c: &super::config::Inner,
    up: Duration,
) -> redis::RedisResult<bool> {
    let oldest: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg(&c.stream)
        .arg(&c.group)
        .arg("IDLE")
        .arg(u64::try_from((up + Duration::from_secs(1)).as_millis()).unwrap_or(u64::MAX))
        .arg("-")
        .arg("+")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(!oldest.is_empty())
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

impl Run<'_> {
    fn c(&self) -> &super::config::Inner {
        &self.worker.config.inner
    }

    /// Whether reads and claims are held back now.
    fn held(&self) -> bool {
        Instant::now() < self.watch.hold_until
    }

    fn lease(&self) -> Duration {
        let c = self.c();
        c.dedup_lease.unwrap_or(c.claim_idle)
    }

    fn link(&self, which: Which) -> &Link<()> {
        match which {
            Which::Reader => &self.reader,
            Which::Writer => &self.writer,
        }
    }

    /// A connection for `which`, with a look at the server first when it is new (a reconnect)
    /// or the last look is due, and with the group in place.
    async fn conn(&mut self, which: Which) -> redis::RedisResult<(MultiplexedConnection, u64)> {
        let session = self.link(which).get(None, |_| async { Ok(()) }).await?;
        let seen = match which {
            Which::Reader => self.watch.looked_at.0,
            Which::Writer => self.watch.looked_at.1,
        };
        let due = self
            .watch
            .last_look
            .is_none_or(|at| at.elapsed() >= RECHECK);
        if session.generation != seen || due {
            self.look().await?;
            if which == Which::Reader {
                self.watch.looked_at.0 = session.generation;
            }
        }
        Ok((session.conn, session.generation))
    }

    /// Runs `cmd` on `which`'s connection; a lost connection is made again on the next call,
    /// a lost group looked for (and made again) on the next call.
    async fn query<T: redis::FromRedisValue>(
        &mut self,
        which: Which,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        let (mut conn, generation) = self.conn(which).await?;
        let result = cmd.query_async(&mut conn).await;
        self.after(which, generation, &result);
        result
    }

    /// [`query`](Self::query) for a pipeline, on the writer's connection.
    async fn exec(&mut self, pipe: &redis::Pipeline) -> redis::RedisResult<()> {
        let (mut conn, generation) = self.conn(Which::Writer).await?;
        let result = pipe.exec_async(&mut conn).await;
        self.after(Which::Writer, generation, &result);
        result
    }

    fn after<T>(&mut self, which: Which, generation: u64, result: &redis::RedisResult<T>) {
        if let Err(e) = result {
            self.link(which).failed(generation, e);
            if is_no_group(e) {
                self.watch.last_look = None;
            }
        }
    }

    /// Looks at the server through the writer's connection: reports a restart and what it
    /// lost, holds claims back after a restart, and creates the group when it is missing.
    async fn look(&mut self) -> redis::RedisResult<()> {
        let session = self.writer.get(None, |_| async { Ok(()) }).await?;
        let mut conn = session.conn.clone();
        let result = self.look_with(&mut conn).await;
        if let Err(e) = &result {
            self.writer.failed(session.generation, e);
        } else {
            self.watch.looked_at.1 = session.generation;
            self.watch.last_look = Some(Instant::now());
        }
        result
    }

    async fn look_with(&mut self, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let c = &self.worker.config.inner;
        let facts = inspect::inspect(conn, &c.stream, Some(&c.group)).await?;
        let changes = self.watch.memory.update(&facts);
        if changes.restarted {
            signal::restarted(Side::Worker, &c.stream);
        }
        for loss in &changes.losses {
            signal::lost(Side::Worker, &c.stream, loss);
        }
        // Entries delivered before an outage count as idle through it, and the leases of the
        // keys being processed ran on: after a restart (or a failover) with entries delivered
        // before it still pending, the workers that hold some get the claim time to record
        // theirs before any worker reads or claims (and could process one of them again).
        let young = c.claim_idle + Duration::from_secs(1);
        let mut hold = Duration::ZERO;
        if let Some(up) = facts.uptime.filter(|up| *up < young)
            && facts.pending > 0
            && delivered_before(conn, c, up).await?
        {
            hold = young - up;
        }
        if changes.restarted && facts.pending > 0 {
            hold = hold.max(c.claim_idle);
        }
        let now = Instant::now();
        if !hold.is_zero() && now + hold > self.watch.hold_until {
            // Said when the hold starts, not each time a look extends it.
            if self.watch.hold_until <= now {
                signal::held(&c.stream, hold);
            }
            self.watch.hold_until = now + hold;
        }
        if facts.group != Some(true) {
            let created = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&c.stream)
                .arg(&c.group)
                .arg("0")
                .arg("MKSTREAM")
                .exec_async(conn)
                .await;
            match created {
                Err(e) if e.code() != Some("BUSYGROUP") => return Err(e),
                _ => self.watch.memory.had_group = true,
            }
        }
        Ok(())
    }

    /// New entries for this consumer, waiting up to the block time for some.
    async fn read(&mut self) -> redis::RedisResult<Vec<StreamId>> {
        let c = &self.worker.config.inner;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&c.group)
            .arg(&self.worker.consumer)
            .arg("COUNT")
            .arg(c.batch_size)
            .arg("BLOCK")
            .arg(u64::try_from(c.block.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS")
            .arg(&c.stream)
            .arg(">");
        // The look a new connection gets may hold reads back.
        self.conn(Which::Reader).await?;
        if self.held() {
            return Ok(Vec::new());
        }
        let reply: Option<StreamReadReply> = self.query(Which::Reader, &cmd).await?;
        let entries: Vec<StreamId> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        if let Some(last) = entries.last().and_then(|e| EntryId::parse(&e.id)) {
            self.watch.memory.saw(last);
        }
        Ok(entries)
    }

    /// Takes over the entries idle for the claim time (a crashed worker's, failed ones) and
    /// handles them, each with its delivery count. `Ok(false)` when claims are held back.
    async fn claim(&mut self, cursor: &mut String) -> redis::RedisResult<bool> {
        let c = &self.worker.config.inner;
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&c.stream)
            .arg(&c.group)
            .arg(&self.worker.consumer)
            .arg(u64::try_from(c.claim_idle.as_millis()).unwrap_or(u64::MAX))
            .arg(&*cursor)
            .arg("COUNT")
            .arg(c.batch_size);
        // The look a new connection gets may hold claims back.
        self.conn(Which::Writer).await?;
        if self.held() {
            return Ok(false);
        }
        let reply: StreamAutoClaimReply = self.query(Which::Writer, &cmd).await?;
        let received = Instant::now();
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
            self.waiting.push_back(Delivery {
                entry,
                delivered,
                received,
                first_try: None,
            });
        }
        self.handle_waiting().await;
        Ok(true)
    }

    /// How many times `id` has been delivered, this delivery included.
    async fn delivery_count(&mut self, id: &str) -> redis::RedisResult<u32> {
        let c = &self.worker.config.inner;
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(&c.stream).arg(&c.group).arg(id).arg(id).arg(1);
        let reply: StreamPendingCountReply = self.query(Which::Writer, &cmd).await?;
        Ok(reply
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX)))
    }

    /// Handles the waiting entries in order, recording them as they finish; `false` when
    /// Redis could not be asked about one (it and the ones after it wait for the next call).
    async fn handle_waiting(&mut self) -> bool {
        while let Some(next) = self.waiting.pop_front() {
            if let Some(again) = self.handle(next).await {
                self.waiting.push_front(again);
                self.settle_or_keep().await;
                return false;
            }
            self.settle_if_due().await;
        }
        self.settle_or_keep().await;
        true
    }

    /// Handles one delivered entry; gives it back when Redis could not be asked whether its
    /// event was processed already (it is tried again after a backoff).
    async fn handle(&mut self, mut delivery: Delivery) -> Option<Delivery> {
        let (delivered, received) = (delivery.delivered, delivery.received);
        let entry = &delivery.entry;
        let max = self.c().max_attempts;
        let decoded = match record::decode(&entry.map) {
            Ok(decoded) => decoded,
            // It will never parse: no use retrying.
            Err(why) => {
                self.dead_letter(entry, &why, delivered).await;
                return None;
            }
        };
        if delivered > max {
            let why = format!(
                "{} deliveries ended without an answer (the worker holding it stopped)",
                delivered - 1
            );
            self.dead_letter(entry, &why, delivered).await;
            return None;
        }
        let key = decoded.dedup_key;
        // Another delivery may process the event again once the key's lease ran out (from
        // the first attempt to take it), or, for an event never de-duplicated, once the entry
        // can be claimed.
        let first_try = *delivery.first_try.get_or_insert_with(Instant::now);
        let deadline = match &key {
            Some(_) => first_try + self.lease(),
            None => received + self.c().claim_idle,
        };
        if let Some(key) = &key {
            let holder = format!("{} {}", self.worker.consumer, delivery.entry.id);
            match self.dedup.try_begin(key, &holder).await {
                Ok(Seen::New) => {}
                Ok(Seen::Done) => {
                    self.stats.duplicates += 1;
                    self.finished.push(Finished {
                        id: delivery.entry.id,
                        key: None,
                        deadline: None,
                    });
                    return None;
                }
                // Being processed elsewhere: left pending, so it comes back after the claim
                // time and is then acknowledged or processed.
                Ok(_) => return None,
                Err(e) => {
                    crate::service::queue_trouble("dedup begin", &e);
                    return Some(delivery);
                }
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
            self.finished.push(Finished {
                id: delivery.entry.id,
                key,
                deadline: Some(deadline),
            });
            return None;
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
            self.dead_letter(entry, &message, delivered).await;
        }
        None
    }

    /// Records the finished entries now when one of them has used half its lease, so that a
    /// slow batch does not outlive the leases of its first entries.
    async fn settle_if_due(&mut self) {
        let margin = self.lease().min(self.c().claim_idle) / 2;
        let soon = Instant::now() + margin;
        if self
            .finished
            .iter()
            .any(|f| f.deadline.is_some_and(|d| d <= soon))
        {
            self.settle_or_keep().await;
        }
    }

    /// [`settle`](Self::settle), reporting a failure (the entries are kept, and recorded first
    /// once Redis answers again).
    async fn settle_or_keep(&mut self) {
        if let Err(e) = self.settle().await {
            crate::service::queue_trouble("xack", &e);
        }
    }

    /// Records the finished and unsettled entries in one round trip: their keys as processed
    /// first (an entry acknowledged has its key recorded), then the acknowledgement. When Redis
    /// does not take it they stay in memory, unsettled; a worker that dies before it records
    /// them leaves them pending: delivered again, and processed again once their lease ran out
    /// (at least once).
    async fn settle(&mut self) -> redis::RedisResult<()> {
        if self.finished.is_empty() && self.unsettled.is_empty() {
            return Ok(());
        }
        let mut entries = std::mem::take(&mut self.unsettled);
        entries.append(&mut self.finished);
        let c = &self.worker.config.inner;
        let mut pipe = redis::pipe();
        for key in entries.iter().filter_map(|f| f.key.as_deref()) {
            self.dedup.add_complete(&mut pipe, key);
        }
        let ack = pipe.cmd("XACK").arg(&c.stream).arg(&c.group);
        for f in &entries {
            ack.arg(&f.id);
        }
        match self.exec(&pipe).await {
            Ok(()) => {
                let now = Instant::now();
                let late = entries
                    .iter()
                    .filter(|f| f.deadline.is_some_and(|d| d <= now))
                    .count();
                if late > 0 {
                    self.stats.settled_late += late as u64;
                    signal::settled_late(&self.worker.config.inner.stream, late);
                }
                Ok(())
            }
            Err(e) => {
                self.unsettled = entries;
                Err(e)
            }
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
        match self.exec(&pipe).await {
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

/// The wait after a failed command: 100 ms, doubling up to 5 s (or a quarter of the claim time,
/// when that is shorter, so that a worker back from an outage records what it holds before
/// others may claim it), until a read succeeds.
struct Backoff {
    failures: u32,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new(claim_idle: Duration) -> Self {
        Backoff {
            failures: 0,
            max: (claim_idle / 4).clamp(Self::FIRST, Self::MAX),
        }
    }

    async fn wait(&mut self, shutdown: &mut Shutdown<'_>) {
        let wait = Self::FIRST
            .saturating_mul(1 << self.failures.min(6))
            .min(self.max);
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
