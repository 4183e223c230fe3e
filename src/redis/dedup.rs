//! [`RedisDedup`]: the idempotency keys of processed events, shared by every process.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::config::{RedisConfig, RedisError};
use crate::dedup::{Dedup, Seen};

/// The value of a key being processed by the service; a worker's holds its consumer name and
/// the entry's id. A processed one holds [`DONE`].
const IN_FLIGHT: &str = "0";
const DONE: &str = "1";

/// A [`Dedup`] store in Redis, shared by every worker and receiver that uses the same
/// configuration: a key being processed is held for the
/// [`dedup_lease`](super::RedisConfigBuilder::dedup_lease) (`SET key 0 NX PX lease GET`, one
/// round trip), a processed one for the [`dedup_expiry`](super::RedisConfigBuilder::dedup_expiry)
/// (`SET key 1 PX expiry`), a failed one is deleted so that a retry is processed.
///
/// Give it to the inline service ([`WebhookConfigBuilder::dedup`](crate::WebhookConfigBuilder::dedup))
/// for the after-events that service handles itself. A receiver that queues every after-event
/// needs none (the workers de-duplicate); one that queues some and handles others inline must
/// use a [`dedup_prefix`](super::RedisConfigBuilder::dedup_prefix) of its own, or a queued
/// event would count as processed once it is in the stream.
///
/// When Redis cannot be asked, [`begin`](Dedup::begin) answers [`Seen::InFlight`]: the event is
/// not processed now and not acknowledged, so it comes again (the service answers 500, a worker
/// leaves the entry pending); nothing is processed twice, nor dropped, for a lost connection.
///
/// ```no_run
/// use tencent_chat_webhook::redis::{RedisConfig, RedisDedup};
/// use tencent_chat_webhook::{Dedup, Seen, WebhookConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConfig::builder("redis://127.0.0.1:6379").build()?;
/// let dedup = RedisDedup::new(&redis)?;
/// assert_eq!(dedup.begin("C2C.CallbackAfterSendMsg:1_2_3").await, Seen::New);
/// dedup.complete("C2C.CallbackAfterSendMsg:1_2_3").await;
/// assert_eq!(dedup.begin("C2C.CallbackAfterSendMsg:1_2_3").await, Seen::Done);
///
/// // An inline service (one that does not queue) can use it too.
/// let config = WebhookConfig::builder(1400000000).token("s3cret").dedup(dedup).build()?;
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisDedup {
    conn: ConnectionManager,
    prefix: String,
    expiry: Duration,
    lease: Duration,
}

impl RedisDedup {
    /// A store with `config`'s key prefix, expiry and lease. Needs to be called within a tokio
    /// runtime; connects on first use.
    pub fn new(config: &RedisConfig) -> Result<Self, RedisError> {
        let c = &config.inner;
        Ok(RedisDedup {
            conn: config.connect(c.write_timeout)?,
            prefix: c.dedup_prefix.clone(),
            expiry: c.dedup_expiry,
            lease: c.dedup_lease.unwrap_or(c.claim_idle),
        })
    }

    /// Adds what [`complete`](Dedup::complete) does to `pipe`, for a worker that records a
    /// batch at once.
    pub(crate) fn add_complete(&self, pipe: &mut redis::Pipeline, key: &str) {
        pipe.cmd("SET")
            .arg(self.key(key))
            .arg(DONE)
            .arg("PX")
            .arg(millis(self.expiry))
            .ignore();
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Starts processing `key` as `holder` (the value its lease holds; the service's is
    /// [`IN_FLIGHT`]). A lease already held by `holder` counts as new: a worker whose first
    /// attempt took but whose answer was lost (a lost connection) finds its own lease.
    pub(crate) async fn try_begin(
        &self,
        key: &str,
        holder: &str,
    ) -> Result<Seen, redis::RedisError> {
        let before: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(holder)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.lease))
            .arg("GET")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(match before.as_deref() {
            None => Seen::New,
            Some(DONE) => Seen::Done,
            Some(held) if held == holder && holder != IN_FLIGHT => Seen::New,
            Some(_) => Seen::InFlight,
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Dedup for RedisDedup {
    async fn begin(&self, key: &str) -> Seen {
        self.try_begin(key, IN_FLIGHT).await.unwrap_or_else(|e| {
            crate::service::queue_trouble("dedup begin", &e);
            Seen::InFlight
        })
    }

    fn complete(&self, key: &str) -> impl Future<Output = ()> + Send {
        let mut pipe = redis::pipe();
        self.add_complete(&mut pipe, key);
        async move {
            if let Err(e) = pipe.exec_async(&mut self.conn.clone()).await {
                // Processed, but not remembered: a redelivery would be processed again.
                crate::service::queue_trouble("dedup complete", &e);
            }
        }
    }

    fn forget(&self, key: &str) -> impl Future<Output = ()> + Send {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        async move {
            if let Err(e) = cmd.exec_async(&mut self.conn.clone()).await {
                // The lease runs out by itself.
                crate::service::queue_trouble("dedup forget", &e);
            }
        }
    }
}

impl fmt::Debug for RedisDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedup")
            .field("prefix", &self.prefix)
            .field("expiry", &self.expiry)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}
