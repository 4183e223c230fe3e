//! How the worker waits: for its shutdown future (checked between batches, raced against the
//! reads), and after a failed command (a growing backoff).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The shutdown future, checked between batches and raced against the reads.
pub(super) struct Shutdown<'a>(pub(super) Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>);

impl Shutdown<'_> {
    /// Whether it has completed (polled once, without waiting).
    pub(super) fn fired(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(self.poll(&mut cx), Poll::Ready(()))
    }

    /// Completes when it does.
    pub(super) async fn wait(&mut self) {
        poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = &mut self.0 else {
            return Poll::Ready(());
        };
        let ready = fut.as_mut().poll(cx);
        if ready.is_ready() {
            self.0 = None;
        }
        ready
    }
}

/// The wait after a failed command: 100 ms, doubling up to 5 s (or a quarter of the claim time,
/// when that is shorter, so that a worker back from an outage records what it holds before
/// others may claim it), until a read succeeds.
pub(super) struct Backoff {
    failures: u32,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    pub(super) fn new(claim_idle: Duration) -> Self {
        Backoff {
            failures: 0,
            max: (claim_idle / 4).clamp(Self::FIRST, Self::MAX),
        }
    }

    pub(super) async fn wait(&mut self, shutdown: &mut Shutdown<'_>) {
        let wait = Self::FIRST
            .saturating_mul(1 << self.failures.min(6))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        tokio::select! {
            () = shutdown.wait() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    pub(super) fn reset(&mut self) {
        self.failures = 0;
    }
}
