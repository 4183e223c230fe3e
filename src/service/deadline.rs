//! The request deadline: a tokio timer with the `tokio` feature and a runtime, nothing without.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

/// When the answer is due.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    #[cfg(feature = "tokio")]
    at: tokio::time::Instant,
    /// The runtime has more than one thread: the handler can run on a task of its own.
    #[cfg(feature = "tokio")]
    multi_thread: bool,
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
            let runtime = tokio::runtime::Handle::try_current().ok()?;
            if !timer.available() {
                return None;
            }
            Some(Deadline {
                at: tokio::time::Instant::now().checked_add(limit)?,
                multi_thread: runtime.runtime_flavor()
                    != tokio::runtime::RuntimeFlavor::CurrentThread,
            })
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = (limit, timer);
            None
        }
    }

    /// Whether a handler raced against this deadline runs on a task of its own, so that one
    /// that blocks its thread cannot hold the answer past the deadline: on a multi-thread
    /// runtime. On a current-thread runtime the handler's thread is the one that would answer.
    pub(crate) fn on_own_task(&self) -> bool {
        #[cfg(feature = "tokio")]
        {
            self.multi_thread
        }
        #[cfg(not(feature = "tokio"))]
        match self.never {}
    }

    /// Polls `fut` until it completes (`Some`) or the deadline passes (`None`, and `fut` is left
    /// as it is, to be dropped or finished elsewhere).
    pub(crate) fn race<F: Future>(deadline: Option<&Deadline>, fut: F) -> Race<F> {
        Race {
            fut,
            #[cfg(feature = "tokio")]
            at: deadline.map(|d| d.at),
            #[cfg(not(feature = "tokio"))]
            at: deadline.map(|d| d.never),
            sleep: None,
        }
    }
}

/// When a deadline passes: a tokio instant, or (without the feature) no deadline ever.
#[cfg(feature = "tokio")]
type At = tokio::time::Instant;
#[cfg(not(feature = "tokio"))]
type At = std::convert::Infallible;

#[cfg(feature = "tokio")]
type Sleep = tokio::time::Sleep;
#[cfg(not(feature = "tokio"))]
type Sleep = std::future::Pending<()>;

pin_project! {
    /// The future of [`Deadline::race`]: written out rather than an `async fn`, whose future
    /// would keep its arguments twice, since it is part of every request's future.
    pub(crate) struct Race<F> {
        #[pin]
        fut: F,
        at: Option<At>,
        // The timer is made only once `fut` has to wait: most bodies are there and most
        // handlers answer at once, and then no timer is built, registered or dropped.
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl<F: Future> Future for Race<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Some(out));
        }
        let Some(at) = *this.at else {
            return Poll::Pending;
        };
        #[cfg(feature = "tokio")]
        {
            let mut sleep = this.sleep;
            if sleep.is_none() {
                sleep.set(Some(tokio::time::sleep_until(at)));
            }
            match sleep.as_pin_mut() {
                Some(sleep) => sleep.poll(cx).map(|()| None),
                None => Poll::Pending,
            }
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = this.sleep;
            match at {}
        }
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
