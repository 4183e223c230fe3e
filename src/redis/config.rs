//! Where the queue is and how it is read: [`RedisConfig`], and the crate's Redis error.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::durability::Durability;
use crate::protocol::command::Command;

/// Where the queue is and how both sides use it. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::Command;
/// use tencent_chat_webhook::redis::RedisConfig;
///
/// let config = RedisConfig::builder("redis://:s3cret@127.0.0.1:6379")
///     .stream("chat:events")
///     .max_len(100_000)
///     .claim_idle(Duration::from_secs(10))
///     .only([Command::C2cAfterSendMsg, Command::GroupAfterSendMsg])
///     .build()
///     .unwrap();
/// assert_eq!(config.stream(), "chat:events");
/// assert!(config.queues("C2C.CallbackAfterSendMsg"));
/// assert!(!config.queues("Group.CallbackAfterGroupFull"));
/// assert!(!format!("{config:?}").contains("s3cret"));
///
/// assert!(RedisConfig::builder("http://nope").build().is_err());
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: redis::Client,
    pub(crate) url: String,
    pub(crate) stream: String,
    pub(crate) group: String,
    pub(crate) consumer: Option<String>,
    pub(crate) max_len: usize,
    pub(crate) batch_size: usize,
    pub(crate) block: Duration,
    pub(crate) claim_idle: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) dead_letter: String,
    pub(crate) dedup_prefix: String,
    pub(crate) dedup_expiry: Duration,
    pub(crate) dedup_lease: Option<Duration>,
    pub(crate) write_timeout: Duration,
    pub(crate) durability: Durability,
    pub(crate) only: Option<HashSet<&'static str>>,
}

impl RedisConfig {
    /// The stream after-events are appended to, by default.
    pub const DEFAULT_STREAM: &'static str = "tencent-chat:events";
    /// The consumer group the workers read through, by default.
    pub const DEFAULT_GROUP: &'static str = "tencent-chat-workers";
    /// The stream failed events end in, by default.
    pub const DEFAULT_DEAD_LETTER: &'static str = "tencent-chat:dead";
    /// How long the receiver waits for Redis to take an event, by default: below the service's
    /// [`DEFAULT_DEADLINE`](crate::WebhookConfig::DEFAULT_DEADLINE), so that the answer is a
    /// 500 rather than an acknowledgement of an event that is not stored.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

    /// Starts a configuration for the Redis at `url` (`redis://[user:password@]host:port[/db]`,
    /// `unix:///path`).
    pub fn builder(url: impl Into<String>) -> RedisConfigBuilder {
        RedisConfigBuilder {
            url: url.into(),
            stream: Self::DEFAULT_STREAM.to_owned(),
            group: Self::DEFAULT_GROUP.to_owned(),
            consumer: None,
            max_len: 1_000_000,
            batch_size: 64,
            block: Duration::from_secs(1),
            claim_idle: Duration::from_secs(30),
            max_attempts: 5,
            dead_letter: Self::DEFAULT_DEAD_LETTER.to_owned(),
            dedup_prefix: None,
            dedup_expiry: Duration::from_secs(24 * 3600),
            dedup_lease: None,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
            durability: Durability::AofAlways,
            only: None,
        }
    }

    /// The URL, with its password replaced by `[redacted]`.
    pub fn url_redacted(&self) -> String {
        redact_url(&self.inner.url)
    }

    /// The stream after-events are appended to.
    pub fn stream(&self) -> &str {
        &self.inner.stream
    }

    /// The consumer group the workers read through.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// The stream events that failed [`max_attempts`](RedisConfigBuilder::max_attempts) times
    /// end in.
    pub fn dead_letter_stream(&self) -> &str {
        &self.inner.dead_letter
    }

    /// What the receiver requires of Redis before it acknowledges an event.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// Whether after-events of `command` are queued (all of them unless
    /// [`only`](RedisConfigBuilder::only) was set).
    pub fn queues(&self, command: &str) -> bool {
        self.inner
            .only
            .as_ref()
            .is_none_or(|only| only.contains(command))
    }

    /// A connection manager: reconnects by itself, with commands timing out after `response`.
    pub(crate) fn connect(&self, response: Duration) -> Result<ConnectionManager, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500).min(response)))
            .set_response_timeout(Some(response))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)
            .map_err(|e| RedisError::redis(RedisErrorKind::Config, &e))
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &*self.inner;
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&c.url))
            .field("stream", &c.stream)
            .field("group", &c.group)
            .field("consumer", &c.consumer)
            .field("max_len", &c.max_len)
            .field("batch_size", &c.batch_size)
            .field("block", &c.block)
            .field("claim_idle", &c.claim_idle)
            .field("max_attempts", &c.max_attempts)
            .field("dead_letter", &c.dead_letter)
            .field("dedup_prefix", &c.dedup_prefix)
            .field("dedup_expiry", &c.dedup_expiry)
            .field("write_timeout", &c.write_timeout)
            .field("durability", &c.durability)
            .field("only", &c.only)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisConfig`]; every setting has a default.
pub struct RedisConfigBuilder {
    url: String,
    stream: String,
    group: String,
    consumer: Option<String>,
    max_len: usize,
    batch_size: usize,
    block: Duration,
    claim_idle: Duration,
    max_attempts: u32,
    dead_letter: String,
    dedup_prefix: Option<String>,
    dedup_expiry: Duration,
    dedup_lease: Option<Duration>,
    write_timeout: Duration,
    durability: Durability,
    only: Option<HashSet<&'static str>>,
}

impl RedisConfigBuilder {
    /// The stream after-events are appended to. Default [`RedisConfig::DEFAULT_STREAM`].
    pub fn stream(mut self, key: impl Into<String>) -> Self {
        self.stream = key.into();
        self
    }

    /// The consumer group the workers read through (created, with the stream, when missing).
    /// Default [`RedisConfig::DEFAULT_GROUP`].
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// The consumer name of the workers built from this configuration. Default: one per
    /// worker, `<host>-<pid>-<n>`. Each worker needs a name of its own: give each one with
    /// [`RedisWorker::consumer`](crate::redis::RedisWorker::consumer) when you set this.
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = Some(name.into());
        self
    }

    /// The stream's approximate cap (`XADD … MAXLEN ~ n`): past it the oldest entries go, read
    /// or not. Default 1,000,000. Size it for the backlog the workers may fall behind by.
    pub fn max_len(mut self, entries: usize) -> Self {
        self.max_len = entries;
        self
    }

    /// How many entries a worker reads at once (`COUNT`). Default 64.
    pub fn batch_size(mut self, entries: usize) -> Self {
        self.batch_size = entries;
        self
    }

    /// How long a worker's read waits for new entries (`BLOCK`). It is also how long a worker
    /// may take to notice its shutdown. Default 1 s.
    pub fn block(mut self, wait: Duration) -> Self {
        self.block = wait;
        self
    }

    /// How long an entry may stay unacknowledged before another worker takes it over
    /// (`XAUTOCLAIM` min-idle-time): a worker that crashed, or a handler that failed, is
    /// retried after this. Keep it above your handler's longest run. Default 30 s.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    /// How many deliveries an entry gets before it goes to the dead-letter stream with its
    /// last error (and is acknowledged). Default 5.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The stream failed entries go to. Default [`RedisConfig::DEFAULT_DEAD_LETTER`].
    pub fn dead_letter_stream(mut self, key: impl Into<String>) -> Self {
        self.dead_letter = key.into();
        self
    }

    /// The prefix of the de-duplication keys. Default: the stream's key and `:seen:`.
    pub fn dedup_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.dedup_prefix = Some(prefix.into());
        self
    }

    /// How long a processed idempotency key is remembered. Default 24 h.
    pub fn dedup_expiry(mut self, expiry: Duration) -> Self {
        self.dedup_expiry = expiry;
        self
    }

    /// How long a key being processed is held, so that one whose worker vanished is processed
    /// again. Default: the [`claim_idle`](Self::claim_idle) time.
    pub fn dedup_lease(mut self, lease: Duration) -> Self {
        self.dedup_lease = Some(lease);
        self
    }

    /// How long the receiver waits for Redis to take an event before answering 500. Keep it
    /// below the service's deadline. Default [`RedisConfig::DEFAULT_WRITE_TIMEOUT`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// What the receiver requires of Redis before it acknowledges (answers 200) an event.
    /// Default [`Durability::AofAlways`]: a Redis without AOF, or with `appendfsync` other
    /// than `always`, gets every after-event answered 500. See [`Durability`] for what each
    /// setting guarantees, and [`Durability::AcceptLoss`] to opt out.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Queues only the after-events of these commands; the others are handled inline.
    /// Default: every after-event, unknown commands' included.
    pub fn only(mut self, commands: impl IntoIterator<Item = Command>) -> Self {
        self.only = Some(commands.into_iter().map(Command::as_str).collect());
        self
    }

    /// The configuration; fails on a URL that does not parse, a zero batch or attempt count,
    /// or a [`Durability::Replicas`] without replicas, without a wait, or with a wait not below
    /// the [`write_timeout`](Self::write_timeout).
    pub fn build(self) -> Result<RedisConfig, RedisError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| RedisError::redis(RedisErrorKind::Config, &e))?;
        if self.batch_size == 0 || self.max_attempts == 0 {
            return Err(RedisError::new(
                RedisErrorKind::Config,
                "batch size and max attempts must be at least 1",
            ));
        }
        if let Durability::Replicas { count, timeout } = self.durability
            && (count == 0 || timeout.is_zero() || timeout >= self.write_timeout)
        {
            return Err(RedisError::new(
                RedisErrorKind::Config,
                "durability Replicas needs at least 1 replica and a wait above zero and below the write timeout",
            ));
        }
        let dedup_prefix = self
            .dedup_prefix
            .unwrap_or_else(|| format!("{}:seen:", self.stream));
        Ok(RedisConfig {
            inner: Arc::new(Inner {
                client,
                url: self.url,
                stream: self.stream,
                group: self.group,
                consumer: self.consumer,
                max_len: self.max_len,
                batch_size: self.batch_size,
                block: self.block,
                claim_idle: self.claim_idle,
                max_attempts: self.max_attempts,
                dead_letter: self.dead_letter,
                dedup_prefix,
                dedup_expiry: self.dedup_expiry,
                dedup_lease: self.dedup_lease,
                write_timeout: self.write_timeout,
                durability: self.durability,
                only: self.only,
            }),
        })
    }
}

impl fmt::Debug for RedisConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfigBuilder")
            .field("url", &redact_url(&self.url))
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

/// `url` with the password of its user info (or the whole user info, when it has no `:`)
/// replaced by `[redacted]`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _)) => format!("{user}:[redacted]"),
        None => "[redacted]".to_owned(),
    };
    format!("{scheme}://{user}{}", &rest[at..])
}

/// Why Redis could not do what was asked. Its message never holds the URL's password.
#[derive(Debug)]
pub struct RedisError {
    kind: RedisErrorKind,
    message: String,
}

/// What kind of [`RedisError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedisErrorKind {
    /// The configuration is unusable (a URL that does not parse).
    Config,
    /// Redis could not be reached, or refused the command.
    Unavailable,
    /// Redis did not answer in time.
    Timeout,
    /// Redis would not keep the event through a restart as the
    /// [`Durability`] setting requires: the receiver refuses to acknowledge it.
    NotDurable,
}

impl RedisError {
    pub(crate) fn new(kind: RedisErrorKind, message: impl Into<String>) -> Self {
        RedisError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn redis(kind: RedisErrorKind, error: &redis::RedisError) -> Self {
        let kind = if error.is_timeout() {
            RedisErrorKind::Timeout
        } else {
            kind
        };
        RedisError::new(kind, format!("redis: {error}"))
    }

    /// What kind of error it is.
    pub fn kind(&self) -> RedisErrorKind {
        self.kind
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for RedisError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        let cases = [
            (
                "no user info",
                "redis://127.0.0.1:6379/0",
                "redis://127.0.0.1:6379/0",
            ),
            (
                "password only",
                "redis://:pw@h:1",
                "redis://:[redacted]@h:1",
            ),
            (
                "user and password",
                "rediss://u:p@ss@h/2",
                "rediss://u:[redacted]@h/2",
            ),
            (
                "user info without a colon",
                "redis://secret@h",
                "redis://[redacted]@h",
            ),
            (
                "a socket",
                "unix:///run/redis.sock",
                "unix:///run/redis.sock",
            ),
            ("no scheme", "h:6379", "h:6379"),
        ];
        for (name, url, want) in cases {
            assert_eq!(redact_url(url), want, "{name}");
        }
    }
}
