//! The receiver's side: [`RedisSink`] appends after-events to the stream.

use std::fmt;

use redis::aio::ConnectionManager;

use super::config::{RedisConfig, RedisError, RedisErrorKind};
use super::record;
use crate::handler::{Event, EventSink, HandlerError, HandlerResult, RequestContext};

/// An [`EventSink`] that appends each event to the configured stream (`XADD … MAXLEN ~`) and
/// returns `Ok` only once Redis acknowledged the write. When Redis does not take it within the
/// [`write_timeout`](super::RedisConfigBuilder::write_timeout) the push fails, the service
/// answers 500 (so that Tencent retries), and the failure is reported like a handler failure.
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
    config: RedisConfig,
    conn: ConnectionManager,
}

impl RedisSink {
    /// A sink for `config`'s stream. Needs to be called within a tokio runtime; connects on
    /// first use, so that a receiver starts (and answers 500) while Redis is down.
    pub fn new(config: &RedisConfig) -> Result<Self, RedisError> {
        Ok(RedisSink {
            conn: config.connect(config.inner.write_timeout)?,
            config: config.clone(),
        })
    }

    /// Appends `event`, received with `ctx`, and returns its entry id.
    pub async fn append(&self, ctx: &RequestContext, event: &Event) -> Result<String, RedisError> {
        let c = &self.config.inner;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&c.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(c.max_len)
            .arg("*");
        for (field, value) in record::fields(ctx, event) {
            cmd.arg(field).arg(value);
        }
        let mut conn = self.conn.clone();
        let write = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(c.write_timeout, write).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(RedisError::redis(RedisErrorKind::Unavailable, &e)),
            Err(_) => Err(RedisError::new(
                RedisErrorKind::Timeout,
                format!("redis did not take the event within {:?}", c.write_timeout),
            )),
        }
    }
}

impl EventSink for RedisSink {
    fn accepts(&self, command: &str) -> bool {
        self.config.queues(command)
    }

    async fn push(&self, ctx: &RequestContext, event: &Event) -> HandlerResult<()> {
        match self.append(ctx, event).await {
            Ok(_) => Ok(()),
            Err(e) => {
                crate::service::queue_trouble("xadd", &e);
                Err(HandlerError::new(e))
            }
        }
    }
}

impl fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSink")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
