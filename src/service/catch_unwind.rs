//! A handler's future as the service polls it: a panic is caught where the future is polled and
//! becomes a failure like any other, and a poll that holds its thread too long is warned about.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

#[cfg(any(feature = "tracing", feature = "metrics"))]
use super::observe;
use super::observe::CommandLabel;

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

pin_project! {
    /// Turns a panic while polling `inner` into an `Err` holding the payload.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        pub(crate) inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

pin_project! {
    /// A handler's future as the service polls it: its panics caught ([`CatchUnwind`]), and each
    /// poll timed, so that one that holds its thread longer than
    /// [`WebhookConfig::SLOW_POLL_WARNING`](crate::WebhookConfig::SLOW_POLL_WARNING) (a
    /// handler doing blocking work on the runtime) is warned about, naming the command.
    pub(crate) struct Watched<F> {
        #[pin]
        inner: CatchUnwind<F>,
        command: CommandLabel,
    }
}

impl<F> Watched<F> {
    pub(crate) fn new(inner: F, command: CommandLabel) -> Self {
        Watched {
            inner: CatchUnwind { inner },
            command,
        }
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Without a signal to give it to, the time is not taken.
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        let polled = std::time::Instant::now();
        let out = this.inner.poll(cx);
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        observe::polled(*this.command, polled.elapsed());
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
        let _ = this.command;
        out
    }
}
