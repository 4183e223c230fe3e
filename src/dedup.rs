//! De-duplication of after-events: a store of idempotency keys, and a bounded in-memory one.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::clock::{Clock, SystemClock};
use crate::handler::BoxFuture;

/// What a [`Dedup`] store knows of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Seen {
    /// Not seen within the store's expiry: now recorded as being handled.
    New,
    /// Another delivery of the same event is being handled right now.
    InFlight,
    /// Handled already, within the store's expiry.
    Done,
}

/// A store of the idempotency keys of after-events, so that a repeat (Tencent retries
/// after-events on timeout when the console says so, and push reports over quota) is answered
/// without running the handler again. Before-events are never de-duplicated: each one is a
/// decision Tencent waits for.
///
/// The service calls [`begin`](Dedup::begin) before the handler: a key [`Seen::Done`] is
/// answered OK without the handler; a key [`Seen::InFlight`] (a retry that arrives while the
/// first delivery is still being handled) is answered 500, so that it is not acknowledged before
/// the first one succeeds. Then [`complete`](Dedup::complete) when the handler succeeded, or
/// [`forget`](Dedup::forget) when it failed, timed out, or its request was dropped, so that a
/// retry is handled. Implement it on any shared store (Redis `SET NX` with an expiry, a database
/// table); [`MemoryDedup`] is a bounded one for a single process.
pub trait Dedup: Send + Sync + 'static {
    /// Starts handling `key`, and says what was known of it.
    fn begin(&self, key: &str) -> impl Future<Output = Seen> + Send;

    /// `key` was handled.
    fn complete(&self, key: &str) -> impl Future<Output = ()> + Send;

    /// `key` was not handled: the next event with it is handled.
    fn forget(&self, key: &str) -> impl Future<Output = ()> + Send;
}

/// The object-safe twin of [`Dedup`].
pub(crate) trait ErasedDedup: Send + Sync + 'static {
    fn begin<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Seen>;
    fn complete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

impl<D: Dedup> ErasedDedup for D {
    fn begin<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Seen> {
        Box::pin(Dedup::begin(self, key))
    }

    fn complete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(Dedup::complete(self, key))
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(Dedup::forget(self, key))
    }
}

/// A key being handled: forgotten when dropped before [`finish`](Claim::finish) (the request's
/// future was dropped: a client gone, an outer timeout), so that Tencent's retry is handled.
pub(crate) struct Claim {
    store: std::sync::Arc<dyn ErasedDedup>,
    key: Option<String>,
}

impl Claim {
    pub(crate) fn new(store: std::sync::Arc<dyn ErasedDedup>, key: String) -> Self {
        Claim {
            store,
            key: Some(key),
        }
    }

    /// Records how the handling ended.
    pub(crate) async fn finish(mut self, handled: bool) {
        if let Some(key) = self.key.take() {
            if handled {
                self.store.complete(&key).await;
            } else {
                self.store.forget(&key).await;
            }
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let store = self.store.clone();
        let mut forget: BoxFuture<'static, ()> = Box::pin(async move { store.forget(&key).await });
        // A store that forgets at once (as `MemoryDedup` does) is done here; one that waits on
        // I/O finishes on a task of its own, where there is a runtime to run it.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let pending = forget.as_mut().poll(&mut cx).is_pending();
        #[cfg(feature = "tokio")]
        if pending && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(forget);
        }
        #[cfg(not(feature = "tokio"))]
        let _ = pending;
    }
}

/// An in-memory [`Dedup`]: remembers at most `capacity` keys, each for `ttl` (a key in flight
/// too, so that one whose request vanished is not held forever). When full, the oldest key is
/// forgotten first, so memory stays bounded whatever the traffic.
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::{Dedup, MemoryDedup, Seen};
///
/// # futures_lite_block_on(async {
/// let store = MemoryDedup::new(10_000, Duration::from_secs(600));
/// let key = "C2C.CallbackAfterSendMsg:48374_2837546_1557481126";
/// assert_eq!(store.begin(key).await, Seen::New);
/// assert_eq!(store.begin(key).await, Seen::InFlight);
/// store.complete(key).await;
/// assert_eq!(store.begin(key).await, Seen::Done);
/// # });
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
pub struct MemoryDedup {
    capacity: usize,
    ttl: Duration,
    clock: Box<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Key to the time it was recorded, and whether its handling is over.
    seen: HashMap<String, (SystemTime, bool)>,
    /// Keys in the order recorded, for expiry and eviction (a key forgotten or recorded again
    /// leaves a stale entry, skipped when it comes up).
    order: VecDeque<(String, SystemTime)>,
}

impl MemoryDedup {
    /// Remembers at most `capacity` keys (at least one), each for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        MemoryDedup {
            capacity: capacity.max(1),
            ttl,
            clock: Box::new(SystemClock),
            state: Mutex::default(),
        }
    }

    /// Uses this clock for expiry (for tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// How many keys are remembered now (expired ones included until the next
    /// [`begin`](Dedup::begin) sweeps them).
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state (at worst a stale
        // `order` entry), so a poisoned lock is used as it is.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, key: &str) -> Seen {
        let now = self.clock.now();
        let mut state = self.lock();
        let State { seen, order } = &mut *state;
        // Expire from the front while entries are old; drop stale entries on the way.
        while let Some((k, at)) = order.front() {
            let current = seen.get(k).map(|(t, _)| t) == Some(at);
            let expired = now.duration_since(*at).is_ok_and(|age| age >= self.ttl);
            if current && !expired {
                break;
            }
            if current {
                seen.remove(k);
            }
            order.pop_front();
        }
        if let Some((at, done)) = seen.get(key)
            && now.duration_since(*at).map_or(true, |age| age < self.ttl)
        {
            return if *done { Seen::Done } else { Seen::InFlight };
        }
        // Bound both maps: forgotten keys leave stale entries in `order`, so it may hold at most
        // twice the capacity before the oldest entries go.
        while seen.len() >= self.capacity || order.len() >= 2 * self.capacity {
            let Some((k, at)) = order.pop_front() else {
                break;
            };
            if seen.get(&k).map(|(t, _)| t) == Some(&at) {
                seen.remove(&k);
            }
        }
        seen.insert(key.to_owned(), (now, false));
        order.push_back((key.to_owned(), now));
        Seen::New
    }

    fn mark_done(&self, key: &str) {
        if let Some((_, done)) = self.lock().seen.get_mut(key) {
            *done = true;
        }
    }
}

impl Dedup for MemoryDedup {
    fn begin(&self, key: &str) -> impl Future<Output = Seen> + Send {
        let seen = self.record(key);
        async move { seen }
    }

    fn complete(&self, key: &str) -> impl Future<Output = ()> + Send {
        self.mark_done(key);
        async {}
    }

    fn forget(&self, key: &str) -> impl Future<Output = ()> + Send {
        self.lock().seen.remove(key);
        async {}
    }
}

impl fmt::Debug for MemoryDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDedup")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::UNIX_EPOCH;

    use super::*;

    fn clocked(capacity: usize, ttl: u64) -> (MemoryDedup, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(1_000));
        let t = now.clone();
        let store = MemoryDedup::new(capacity, Duration::from_secs(ttl))
            .with_clock(move || UNIX_EPOCH + Duration::from_secs(t.load(Ordering::SeqCst)));
        (store, now)
    }

    #[test]
    fn keys_are_seen_once_within_the_ttl_then_again() {
        let (store, now) = clocked(10, 60);
        assert_eq!(store.record("a"), Seen::New);
        assert_eq!(store.record("a"), Seen::InFlight);
        store.mark_done("a");
        assert_eq!(store.record("a"), Seen::Done);
        now.fetch_add(59, Ordering::SeqCst);
        assert_eq!(store.record("a"), Seen::Done, "59 s later: still a repeat");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(store.record("a"), Seen::New, "60 s later: expired");
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest() {
        let (store, _) = clocked(3, 600);
        for k in ["a", "b", "c", "d"] {
            assert_eq!(store.record(k), Seen::New);
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.record("a"), Seen::New, "the oldest was forgotten");
        assert_eq!(store.record("d"), Seen::InFlight, "the newest is kept");
        for i in 0..1000 {
            store.record(&i.to_string());
        }
        assert_eq!(store.len(), 3);
        assert!(store.lock().order.len() <= 6, "no unbounded stale entries");
        for i in 0..1000 {
            let key = format!("f{i}");
            store.record(&key);
            store.lock().seen.remove(&key);
        }
        assert!(
            store.lock().order.len() <= 6,
            "forgotten keys do not pile up"
        );
    }

    #[test]
    fn a_forgotten_key_is_handled_again() {
        let (store, _) = clocked(10, 600);
        assert_eq!(store.record("a"), Seen::New);
        store.lock().seen.remove("a");
        assert_eq!(store.record("a"), Seen::New);
        assert_eq!(store.record("a"), Seen::InFlight);
    }
}
