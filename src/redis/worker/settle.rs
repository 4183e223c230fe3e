//! What the worker records in Redis: the finished entries' keys as processed and their
//! acknowledgements (`XACK`), in one round trip, kept in memory while Redis does not take them;
//! and the entries moved to the dead-letter stream.

use redis::streams::StreamId;
use tokio::time::Instant;

use super::Run;
use crate::redis::signal;

impl Run<'_> {
    /// Records the finished entries now when one of them has used half its lease, so that a
    /// slow batch does not outlive the leases of its first entries.
    pub(super) async fn settle_if_due(&mut self) {
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
    pub(super) async fn settle_or_keep(&mut self) {
        if let Err(e) = self.settle().await {
            crate::service::queue_trouble("xack", &e);
        }
    }

    /// Records the finished and unsettled entries in one round trip: their keys as processed
    /// first (an entry acknowledged has its key recorded), then the acknowledgement. When Redis
    /// does not take it they stay in memory, unsettled; a worker that dies before it records
    /// them leaves them pending: delivered again, and processed again once their lease ran out
    /// (at least once).
    pub(super) async fn settle(&mut self) -> redis::RedisResult<()> {
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
    pub(super) async fn dead_letter(&mut self, entry: &StreamId, why: &str, delivered: u32) {
        let c = &self.worker.config.inner;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let add = crate::redis::record::xadd(&mut pipe, &c.dead_letter, c.max_len);
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
