//! The receiver's side: [`RedisSink`] appends after-events to the stream.

use std::fmt;
use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;

use super::config::{RedisConfig, RedisError, RedisErrorKind};
use super::durability::Durability;
use super::inspect::{self, EntryId, Memory, RECHECK};
use super::link::Link;
use super::record;
use super::signal::{self, Side};
use crate::handler::{EventSink, HandlerError, HandlerResult, RequestContext};
use crate::protocol::event::Event;

/// An [`EventSink`] that appends each event to the configured stream (`XADD … MAXLEN ~`) and
/// returns `Ok` only once Redis acknowledged the write and keeps it as the
/// [`durability`](super::RedisConfigBuilder::durability) setting requires. When Redis does not
/// take it within the [`write_timeout`](super::RedisConfigBuilder::write_timeout), or would not
/// keep it through a restart, the push fails, the service answers 500 (so that Tencent retries),
/// and the failure is reported like a handler failure.
///
/// On every new connection, and every few seconds on one that stays up, the sink looks at the
/// Redis behind it (`INFO`, `CONFIG GET appendfsync`, `XINFO STREAM`) before it sends anything
/// more: whether it persists as required ([`Durability`]; when it does not, nothing is written,
/// every event is answered 500, and the reason is logged at warn once), and whether it is the
/// same Redis as before and still has the entries it acknowledged. A Redis that came back
/// without them (an empty restart, an older copy, a failover to a replica that lagged) is
/// logged at error and counted in `tencent_chat_webhook_queue_losses_total{side="receiver"}`:
/// those events were acknowledged to Tencent and are lost.
///
/// Configure the service with [`AfterDeadline::Cancel`](crate::AfterDeadline::Cancel): with the
/// default, an after-event whose push outlives the request's deadline (a slow body, then a slow
/// Redis) is answered OK and finished in the background, before Redis has it.
///
/// Put it in front of your handler with [`Queued`](crate::Queued); the connection is made on
/// first use and remade whenever it is lost.
///
/// ```no_run
/// use tencent_chat_webhook::redis::{RedisConfig, RedisSink};
/// use tencent_chat_webhook::{AfterDeadline, Handler, Queued, WebhookConfig, WebhookService};
///
/// struct Decisions;
/// impl Handler for Decisions {}
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConfig::builder("redis://127.0.0.1:6379").build()?;
/// let sink = RedisSink::new(&redis)?;
/// let config = WebhookConfig::builder(1400000000)
///     .token("s3cret")
///     .after_deadline(AfterDeadline::Cancel)
///     .build()?;
/// let service = WebhookService::new(config, Queued::new(Decisions, sink));
/// # let _ = service; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSink {
    inner: Arc<Shared>,
}

struct Shared {
    config: RedisConfig,
    /// The connection, with the last look's refusal (`None`: it acknowledges).
    link: Link<Option<Arc<str>>>,
    watch: Mutex<Watch>,
}

/// What the sink remembers between looks.
#[derive(Default)]
struct Watch {
    memory: Memory,
    /// The refusal of the last look, to log only changes.
    refusal: Option<Arc<str>>,
}

impl RedisSink {
    /// A sink for `config`'s stream. Needs to be called within a tokio runtime; connects in the
    /// background, so that a receiver starts (and answers 500) while Redis is down, and says
    /// at once when Redis does not persist as required.
    pub fn new(config: &RedisConfig) -> Result<Self, RedisError> {
        let sink = RedisSink {
            inner: Arc::new(Shared {
                link: Link::new(config, config.inner.write_timeout),
                config: config.clone(),
                watch: Mutex::new(Watch::default()),
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let first = sink.clone();
            runtime.spawn(async move { first.check().await });
        }
        Ok(sink)
    }

    /// Looks at Redis now: `Ok` when an event pushed now would be acknowledged, the reason it
    /// would not otherwise (unreachable, or not keeping what it acknowledges as the
    /// [`durability`](super::RedisConfigBuilder::durability) setting requires). For a
    /// readiness probe, or a check at start.
    pub async fn check(&self) -> Result<(), RedisError> {
        let c = &self.inner.config.inner;
        let session = tokio::time::timeout(
            c.write_timeout,
            self.session(Some(std::time::Duration::ZERO)),
        )
        .await
        .map_err(|_| self.timed_out("answer"))??;
        refused(&session.found)
    }

    /// The connection, looked at when new or due.
    async fn session(
        &self,
        recheck: Option<std::time::Duration>,
    ) -> Result<super::link::Session<Option<Arc<str>>>, RedisError> {
        let inner = &self.inner;
        inner
            .link
            .get(recheck, |conn| inner.look(conn))
            .await
            .map_err(|e| RedisError::redis(RedisErrorKind::Unavailable, &e))
    }

    /// Redis did not `what` (answer, take the event) within the write timeout.
    fn timed_out(&self, what: &str) -> RedisError {
        let timeout = self.inner.config.inner.write_timeout;
        RedisError::new(
            RedisErrorKind::Timeout,
            format!("redis did not {what} within {timeout:?}"),
        )
    }

    /// Appends `event`, received with `ctx`, and returns its entry id.
    pub async fn append(&self, ctx: &RequestContext, event: &Event) -> Result<String, RedisError> {
        let c = &self.inner.config.inner;
        match tokio::time::timeout(c.write_timeout, self.try_append(ctx, event)).await {
            Ok(appended) => appended,
            Err(_) => Err(self.timed_out("take the event")),
        }
    }

    async fn try_append(&self, ctx: &RequestContext, event: &Event) -> Result<String, RedisError> {
        let inner = &*self.inner;
        let c = &inner.config.inner;
        let session = self.session(Some(RECHECK)).await?;
        refused(&session.found)?;
        let mut pipe = redis::pipe();
        let add = record::xadd(&mut pipe, &c.stream, c.max_len);
        for (field, value) in record::fields(ctx, event) {
            add.arg(field).arg(value);
        }
        let replicas = match c.durability {
            Durability::Replicas { count, timeout } => {
                pipe.cmd("WAIT")
                    .arg(count)
                    .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
                Some((count, timeout))
            }
            _ => None,
        };
        // AOF may have been switched off since the last look: asked in the same round trip.
        let aof_at = reply_len(&pipe);
        if c.durability.checks_aof() {
            pipe.cmd("CONFIG").arg("GET").arg("appendonly");
            pipe.cmd("CONFIG").arg("GET").arg("appendfsync");
        }
        let mut conn = session.conn.clone();
        let reply: Vec<redis::Value> = match pipe.query_async(&mut conn).await {
            Ok(reply) => reply,
            Err(e) => {
                inner.link.failed(session.generation, &e);
                return Err(RedisError::redis(RedisErrorKind::Unavailable, &e));
            }
        };
        let value = |i: usize| reply.get(i).unwrap_or(&redis::Value::Nil);
        let id: String = redis::from_redis_value_ref(value(0)).map_err(|e| {
            RedisError::new(
                RedisErrorKind::Unavailable,
                format!("redis: XADD answered {e}"),
            )
        })?;
        if let Some((count, timeout)) = replicas {
            let took: u32 = redis::from_redis_value_ref(value(1)).unwrap_or(0);
            if took < count {
                let e = RedisError::new(
                    RedisErrorKind::NotDurable,
                    format!(
                        "redis: {took} of the {count} replicas took the event within {timeout:?}"
                    ),
                );
                crate::service::queue_trouble("wait", &e);
                return Err(e);
            }
        }
        if c.durability.checks_aof() {
            let on = inspect::config_value(value(aof_at), "appendonly").map(|v| v == "yes");
            let fsync = inspect::config_value(value(aof_at + 1), "appendfsync");
            if let Some(why) = c
                .durability
                .refusal_of_aof(on.as_ref().map(|on| *on), fsync.as_deref())
            {
                // The entry is in the stream and will be processed; Tencent, answered 500,
                // sends the event again, and the de-duplication of the workers takes one.
                let why: Arc<str> = why.into();
                inner.refuse(session.generation, why.clone());
                return Err(not_durable(&why));
            }
        }
        if let Some(id) = EntryId::parse(&id) {
            inner.lock().memory.saw(id);
        }
        Ok(id)
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redis, on connection `generation`, no longer keeps events as required, for `why`:
    /// refused until the next look says otherwise.
    fn refuse(&self, generation: u64, why: Arc<str>) {
        let mut watch = self.lock();
        signal::durable(Some(&why), watch.refusal.as_deref());
        watch.refusal = Some(why.clone());
        drop(watch);
        self.link.found(generation, Some(why));
    }

    /// Looks at the Redis behind a new connection (or one due for a check): reports a restart
    /// and what it lost, and decides whether events are acknowledged over it.
    async fn look(&self, mut conn: MultiplexedConnection) -> redis::RedisResult<Option<Arc<str>>> {
        let c = &self.config.inner;
        // Events acknowledged meanwhile, on other requests, may be missing from the look.
        let had = self.lock().memory.last_id;
        let facts = inspect::inspect(&mut conn, &c.stream, None).await?;
        let refusal: Option<Arc<str>> = c.durability.refusal(&facts).map(Into::into);
        let mut watch = self.lock();
        let changes = watch.memory.update_since(had, &facts);
        if changes.restarted {
            signal::restarted(Side::Receiver, &c.stream);
        }
        for loss in &changes.losses {
            signal::lost(Side::Receiver, &c.stream, loss);
        }
        signal::durable(refusal.as_deref(), watch.refusal.as_deref());
        watch.refusal.clone_from(&refusal);
        Ok(refusal)
    }
}

/// How many replies `pipe` asks for.
fn reply_len(pipe: &redis::Pipeline) -> usize {
    pipe.cmd_iter().count()
}

/// The error for events refused for `refusal`, if any.
fn refused(refusal: &Option<Arc<str>>) -> Result<(), RedisError> {
    match refusal {
        None => Ok(()),
        Some(why) => Err(not_durable(why)),
    }
}

/// The error for an event refused because Redis would not keep it, for `why`.
fn not_durable(why: &str) -> RedisError {
    RedisError::new(
        RedisErrorKind::NotDurable,
        format!("redis would not keep the event through a restart: {why}"),
    )
}

impl EventSink for RedisSink {
    fn accepts(&self, command: &str) -> bool {
        self.inner.config.queues(command)
    }

    async fn push(&self, ctx: &RequestContext, event: &Event) -> HandlerResult<()> {
        match self.append(ctx, event).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A refusal is logged once, when it starts, not for every event.
                if e.kind() != RedisErrorKind::NotDurable {
                    crate::service::queue_trouble("xadd", &e);
                }
                Err(HandlerError::new(e))
            }
        }
    }
}

impl fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSink")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
