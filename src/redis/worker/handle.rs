//! One entry handled: decoded, its key taken (de-duplication), the handler called with panics
//! caught, and the result kept to record, retried or dead-lettered.

use tokio::time::Instant;

use super::{Delivery, Finished, Run};
use crate::dedup::{Dedup, Seen};
use crate::handler::{FailureKind, HandlerFailure};
use crate::redis::record;
use crate::service::{CatchUnwind, panic_message};

impl Run<'_> {
    /// Handles the waiting entries in order, recording them as they finish; `false` when
    /// Redis could not be asked about one (it and the ones after it wait for the next call).
    pub(super) async fn handle_waiting(&mut self) -> bool {
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
    pub(super) async fn handle(&mut self, mut delivery: Delivery) -> Option<Delivery> {
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
}
