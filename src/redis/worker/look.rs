//! What the worker knows of the server behind it: a restart or failover (its `run_id`), what
//! it lost (the stream, entries, the consumer group), the hold on reads and claims after a
//! restart with entries pending, and the group created when missing.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use super::Run;
use crate::redis::config::Inner;
use crate::redis::inspect;
use crate::redis::signal::{self, Side};

/// Whether the group has an entry pending that was delivered before Redis started, `up` ago
/// in whole seconds: idle for a second more than that (the delivery time survives a restart).
/// One delivered in the last second before a restart is not seen; a worker that was connected
/// then sees the restart itself (a new `run_id`).
async fn delivered_before(
    conn: &mut MultiplexedConnection,
    c: &Inner,
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

impl Run<'_> {
    /// Looks at the server through the writer's connection: reports a restart and what it
    /// lost, holds claims back after a restart, and creates the group when it is missing.
    pub(super) async fn look(&mut self) -> redis::RedisResult<()> {
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
}
