//! The entries the worker takes on: new ones read for its consumer (`XREADGROUP`), and the
//! idle ones of others claimed (`XAUTOCLAIM`) with their delivery counts.

use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::time::Instant;

use super::{Delivery, Run, Which};
use crate::redis::inspect::EntryId;

impl Run<'_> {
    /// New entries for this consumer, waiting up to the block time for some.
    pub(super) async fn read(&mut self) -> redis::RedisResult<Vec<StreamId>> {
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
    pub(super) async fn claim(&mut self, cursor: &mut String) -> redis::RedisResult<bool> {
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
    pub(super) async fn delivery_count(&mut self, id: &str) -> redis::RedisResult<u32> {
        let c = &self.worker.config.inner;
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(&c.stream).arg(&c.group).arg(id).arg(id).arg(1);
        let reply: StreamPendingCountReply = self.query(Which::Writer, &cmd).await?;
        Ok(reply
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX)))
    }
}
