//! What the queue tells the outside about Redis itself: a restart, what one lost, whether the
//! receiver acknowledges, workers holding their claims back. Rare events, each logged when it
//! happens (not per request) and counted; the per-command trouble goes through the service's
//! bounded `queue_trouble`.
// Each signal compiles to nothing without its feature.
#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables, dead_code)
)]

use std::time::Duration;

use super::inspect::Loss;

/// Which side saw it: the metrics' `side` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Receiver,
    Worker,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Receiver => "receiver",
            Side::Worker => "worker",
        }
    }
}

/// The server behind the connection is another one than last time (`run_id` changed).
pub(crate) fn restarted(side: Side, stream: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_queue_restarts_total", "side" => side.label())
        .increment(1);
    #[cfg(feature = "tracing")]
    tracing::warn!(
        side = side.label(),
        stream,
        "redis restarted (or failed over): its run_id changed"
    );
}

/// Redis no longer has something it had: acknowledged events may be lost.
pub(crate) fn lost(side: Side, stream: &str, loss: &Loss) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "tencent_chat_webhook_queue_losses_total",
        "side" => side.label(),
        "what" => loss.label()
    )
    .increment(1);
    #[cfg(feature = "tracing")]
    tracing::error!(
        side = side.label(),
        stream,
        what = loss.label(),
        "redis came back with less than it had, events it acknowledged may be lost: {loss}"
    );
}

/// Whether the receiver acknowledges events: `Some(reason)` when it refuses. Logged when it
/// changes, at warn when it starts refusing.
pub(crate) fn durable(now: Option<&str>, before: Option<&str>) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("tencent_chat_webhook_queue_durable").set(if now.is_none() {
        1.0
    } else {
        0.0
    });
    #[cfg(feature = "tracing")]
    match (now, before) {
        (Some(reason), before) if before != Some(reason) => tracing::warn!(
            reason,
            "redis would not keep what it acknowledges through a restart: after-events are answered 500 and not queued"
        ),
        (None, Some(_)) => {
            tracing::info!("redis keeps what it acknowledges: queueing after-events again")
        }
        _ => {}
    }
}

/// A worker reads and claims nothing for `wait`, so that the workers that were processing
/// entries when Redis went away record them first.
pub(crate) fn held(stream: &str, wait: Duration) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        stream,
        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        "redis restarted with entries pending: reads and claims wait until live workers have recorded theirs"
    );
}

/// A worker settled `n` processed entries after their lease could have run out: another
/// delivery of the same events may have been processed meanwhile.
pub(crate) fn settled_late(stream: &str, n: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_queue_settled_late_total")
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
    #[cfg(feature = "tracing")]
    tracing::warn!(
        stream,
        entries = n,
        "processed entries were recorded after their lease had run out: they may have been processed twice"
    );
}

/// A worker stopped with `n` processed entries it could not settle: they will be processed again.
pub(crate) fn unsettled_at_shutdown(stream: &str, n: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        stream,
        entries = n,
        "worker stopped with processed entries redis has not recorded: they will be processed again after claim_idle"
    );
}
