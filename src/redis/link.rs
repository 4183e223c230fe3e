//! [`Link`]: a connection that is looked at each time it is made, before anything is sent on it.
//!
//! The `redis` crate's connection manager reconnects behind its user's back; the receiver and
//! the workers need to see every new connection (a restart, a failover) before they acknowledge,
//! settle or claim anything over it, so they keep a multiplexed connection of their own.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use super::config::RedisConfig;

/// After a failed attempt to connect, callers within this are answered with its error rather
/// than making one attempt each (a receiver under load while Redis is down).
const FAIL_FAST: Duration = Duration::from_millis(100);

/// A connection, made on first use and again whenever the last one was lost; each new one is
/// looked at (the `look` of [`get`](Link::get)) before any caller gets it, and again every
/// `recheck`.
pub(crate) struct Link<T> {
    client: redis::Client,
    config: AsyncConnectionConfig,
    current: Mutex<Option<Session<T>>>,
    /// Held while connecting or looking, with the last failure to connect.
    connecting: tokio::sync::Mutex<Option<(Instant, redis::RedisError)>>,
    made: std::sync::atomic::AtomicU64,
}

/// A connection and what the last look at it found.
#[derive(Clone)]
pub(crate) struct Session<T> {
    pub(crate) conn: MultiplexedConnection,
    /// Which connection of the link this is: 1 for the first, then one more for each.
    pub(crate) generation: u64,
    pub(crate) found: T,
    looked: Instant,
}

impl<T: Clone + Send + Sync + 'static> Link<T> {
    /// A link to `config`'s Redis whose commands time out after `response`.
    pub(crate) fn new(config: &RedisConfig, response: Duration) -> Self {
        Link {
            client: config.inner.client.clone(),
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500).min(response)))
                .set_response_timeout(Some(response)),
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(None),
            made: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn current(&self) -> Option<Session<T>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The connection, made and looked at (`look`) when there is none, looked at again when
    /// the last look is older than `recheck`. One caller at a time connects or looks; while one
    /// looks again, the others go on with what the last look found.
    pub(crate) async fn get<F, Fut>(
        &self,
        recheck: Option<Duration>,
        look: F,
    ) -> redis::RedisResult<Session<T>>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>> + Send,
    {
        if let Some(session) = self.current() {
            if recheck.is_none_or(|r| session.looked.elapsed() < r) {
                return Ok(session);
            }
            let Ok(_looking) = self.connecting.try_lock() else {
                return Ok(session);
            };
            return match look(session.conn.clone()).await {
                Ok(found) => {
                    let again = Session {
                        found,
                        looked: Instant::now(),
                        ..session
                    };
                    let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
                    if current
                        .as_ref()
                        .is_some_and(|c| c.generation == again.generation)
                    {
                        *current = Some(again.clone());
                    }
                    Ok(again)
                }
                Err(e) => {
                    self.failed(session.generation, &e);
                    Err(e)
                }
            };
        }
        let mut last_failure = self.connecting.lock().await;
        if let Some(session) = self.current() {
            return Ok(session);
        }
        if let Some((at, e)) = &*last_failure
            && at.elapsed() < FAIL_FAST
        {
            return Err(e.clone());
        }
        let made = async {
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&self.config)
                .await?;
            let found = look(conn.clone()).await?;
            Ok::<_, redis::RedisError>((conn, found))
        }
        .await;
        match made {
            Ok((conn, found)) => {
                let session = Session {
                    conn,
                    generation: self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                    found,
                    looked: Instant::now(),
                };
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
                *last_failure = None;
                Ok(session)
            }
            Err(e) => {
                *last_failure = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// What connection `generation` was found to be, learnt between looks: kept until the next
    /// look.
    pub(crate) fn found(&self, generation: u64, found: T) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = current.as_mut().filter(|c| c.generation == generation) {
            session.found = found;
        }
    }

    /// A command on connection `generation` failed with `error`: when that says the connection
    /// is gone, the next caller makes a new one.
    pub(crate) fn failed(&self, generation: u64, error: &redis::RedisError) {
        if !(error.is_unrecoverable_error() || error.is_connection_dropped()) {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|c| c.generation == generation) {
            *current = None;
        }
    }
}
