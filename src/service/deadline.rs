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
    /// feature is on, this is called inside a tokio runtime, and `timer` says that runtime has
    /// its time driver. Otherwise (or for a limit too far away to represent) none.
    pub(crate) fn start(limit: Option<Duration>, timer: &Timer) -> Option<Deadline> {
        #[cfg(feature = "tokio")]
        {
            let limit = limit?;
            tokio::runtime::Handle::try_current().ok()?;
            if !timer.available() {
                return None;
            }
            Some(Deadline {
                at: tokio::time::Instant::now().checked_add(limit)?,
            })
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = (limit, timer);
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
            // The timer is made only once `fut` has to wait: most bodies are there and most
            // handlers answer at once, and then no timer is built, registered or dropped.
            let mut sleep = std::pin::pin!(None::<tokio::time::Sleep>);
            poll_fn(|cx| {
                if let Poll::Ready(out) = Pin::new(&mut fut).poll(cx) {
                    return Poll::Ready(Some(out));
                }
                if sleep.is_none() {
                    sleep.set(Some(tokio::time::sleep_until(deadline.at)));
                }
                match sleep.as_mut().as_pin_mut() {
                    Some(sleep) => sleep.poll(cx).map(|()| None),
                    None => Poll::Pending,
                }
            })
            .await
        }
        #[cfg(not(feature = "tokio"))]
        match deadline.never {}
    }
}

/// Whether the runtime the service runs on has a time driver. A tokio runtime built without
/// `enable_time` panics when a timer is created; the first request finds out (once, catching
/// that panic), and from then on the service enforces no deadline and says so.
#[derive(Debug, Default)]
pub(crate) struct Timer {
    /// 0: not known yet, 1: available, 2: not available.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    state: std::sync::atomic::AtomicU8,
}

impl Timer {
    #[cfg(feature = "tokio")]
    fn available(&self) -> bool {
        use std::sync::atomic::Ordering;
        match self.state.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => {
                let works = std::panic::catch_unwind(|| {
                    drop(tokio::time::sleep(Duration::ZERO));
                })
                .is_ok();
                self.state
                    .store(if works { 1 } else { 2 }, Ordering::Relaxed);
                if !works {
                    #[cfg(feature = "tracing")]
                    tracing::warn!(
                        "the tokio runtime has no timer (build it with `enable_time` or `enable_all`): no deadline is enforced"
                    );
                }
                works
            }
        }
    }
}
