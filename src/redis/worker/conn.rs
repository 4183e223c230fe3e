//! The worker's connections to Redis: the reader's (for the blocking reads) and the writer's,
//! each with a look at the server when it is new or the last look is due, a lost connection or
//! consumer group noticed after a failed command.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use super::{Run, Which};
use crate::redis::config::Inner;
use crate::redis::inspect::RECHECK;
use crate::redis::link::Link;

fn is_no_group(e: &redis::RedisError) -> bool {
    e.code() == Some("NOGROUP")
}

impl Run<'_> {
    pub(super) fn c(&self) -> &Inner {
        &self.worker.config.inner
    }

    /// Whether reads and claims are held back now.
    pub(super) fn held(&self) -> bool {
        Instant::now() < self.watch.hold_until
    }

    pub(super) fn lease(&self) -> Duration {
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
    pub(super) async fn conn(
        &mut self,
        which: Which,
    ) -> redis::RedisResult<(MultiplexedConnection, u64)> {
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
    pub(super) async fn query<T: redis::FromRedisValue>(
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
    pub(super) async fn exec(&mut self, pipe: &redis::Pipeline) -> redis::RedisResult<()> {
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
}
