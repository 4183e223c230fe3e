//! A handler that counts its calls per app and event, for the tests that attack de-duplication
//! (`tests/dedup.rs`, `tests/redis.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tencent_chat_webhook::{Event, Handler, HandlerResult, RequestContext};

/// Counts the after-events it handles, per app and event (the event's JSON).
#[derive(Clone, Default)]
pub(crate) struct Tally(Arc<Mutex<HashMap<(u64, String), usize>>>);

impl Tally {
    /// The calls so far, per app and event.
    pub(crate) fn calls(&self) -> HashMap<(u64, String), usize> {
        self.0.lock().unwrap().clone()
    }
}

impl Handler for Tally {
    async fn on_after_event(&self, ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        *self
            .0
            .lock()
            .unwrap()
            .entry((ctx.app_id(), event.to_json()))
            .or_default() += 1;
        Ok(())
    }
}
