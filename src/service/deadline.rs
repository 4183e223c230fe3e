//! The request deadline: a tokio timer with the `tokio` feature and a runtime, nothing without.

use std::future::Future;
#[cfg(feature = "tokio")]
use std::future::poll_fn;
#[cfg(feature = "tokio")]
use std::pin::Pin;
#[cfg(feature = "tokio")]
use std::task::Poll;
use std::time::Duration;

/// When the answer is due.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    #[cfg(feature = "tokio")]
    at: tokio::time::Instant,
    #[cfg(not(feature = "tokio"))]
    never: std::convert::Infallible,
}

impl Deadline {
    /// A deadline `limit` from now, when a limit is configured and a timer can run: the `tokio`
    /// feature is on and this is called inside a tokio runtime. Otherwise none.
    pub(crate) fn start(limit: Option<Duration>) -> Option<Deadline> {
        #[cfg(feature = "tokio")]
        {
            let limit = limit?;
            tokio::runtime::Handle::try_current().ok()?;
            Some(Deadline {
                at: tokio::time::Instant::now() + limit,
            })
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = limit;
            None
        }
    }

    /// Polls `fut` until it completes (`Some`) or the deadline passes (`None`, and `fut` is left
    /// as it is, to be dropped or finished elsewhere).
    #[cfg_attr(not(feature = "tokio"), allow(unused_mut))]
    pub(crate) async fn race<F>(deadline: Option<&Deadline>, mut fut: F) -> Option<F::Output>
    where
        F: Future + Unpin,
    {
        let Some(deadline) = deadline else {
            return Some(fut.await);
        };
        #[cfg(feature = "tokio")]
        {
            let mut sleep = std::pin::pin!(tokio::time::sleep_until(deadline.at));
            poll_fn(|cx| {
                if let Poll::Ready(out) = Pin::new(&mut fut).poll(cx) {
                    return Poll::Ready(Some(out));
                }
                sleep.as_mut().poll(cx).map(|()| None)
            })
            .await
        }
        #[cfg(not(feature = "tokio"))]
        match deadline.never {}
    }
}
