//! De-duplication of after-events: a store of idempotency keys, and a bounded in-memory one.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::config::{Clock, SystemClock};
use crate::handler::BoxFuture;

/// A store of the idempotency keys of after-events already handled, so that a repeat (Tencent
/// retries after-events on timeout when the console says so, and push reports over quota) is
/// answered OK without running the handler again. Before-events are never de-duplicated: each
/// one is a decision Tencent waits for.
///
/// The service calls [`first_time`](Dedup::first_time) before the handler and
/// [`forget`](Dedup::forget) when the handler failed, so that a retry is handled. Implement it
/// on any shared store (Redis `SET NX` with an expiry, a database table); [`MemoryDedup`] is a
/// bounded one for a single process.
pub trait Dedup: Send + Sync + 'static {
    /// Records `key`; `true` if it was not already recorded (within the store's expiry).
    fn first_time(&self, key: &str) -> impl Future<Output = bool> + Send;

    /// Removes `key`, so that the next event with it is handled.
    fn forget(&self, key: &str) -> impl Future<Output = ()> + Send;
}

/// The object-safe twin of [`Dedup`].
pub(crate) trait ErasedDedup: Send + Sync + 'static {
    fn first_time<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool>;
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

impl<D: Dedup> ErasedDedup for D {
    fn first_time<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(Dedup::first_time(self, key))
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(Dedup::forget(self, key))
    }
}

/// An in-memory [`Dedup`]: remembers at most `capacity` keys, each for `ttl`. When full, the
/// oldest key is forgotten first, so memory stays bounded whatever the traffic.
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::{Dedup, MemoryDedup};
///
/// # futures_lite_block_on(async {
/// let seen = MemoryDedup::new(10_000, Duration::from_secs(600));
/// assert!(seen.first_time("C2C.CallbackAfterSendMsg:48374_2837546_1557481126").await);
/// assert!(!seen.first_time("C2C.CallbackAfterSendMsg:48374_2837546_1557481126").await);
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
    /// Key to the time it was recorded.
    seen: HashMap<String, SystemTime>,
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

    /// How many keys are remembered now.
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

    fn record(&self, key: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.lock();
        let State { seen, order } = &mut *state;
        // Expire from the front while entries are old; drop stale entries on the way.
        while let Some((k, at)) = order.front() {
            let current = seen.get(k) == Some(at);
            let expired = now.duration_since(*at).is_ok_and(|age| age >= self.ttl);
            if current && !expired {
                break;
            }
            if current {
                seen.remove(k);
            }
            order.pop_front();
        }
        if let Some(at) = seen.get(key)
            && now.duration_since(*at).map_or(true, |age| age < self.ttl)
        {
            return false;
        }
        // Bound both maps: forgotten keys leave stale entries in `order`, so it may hold at most
        // twice the capacity before the oldest entries go.
        while seen.len() >= self.capacity || order.len() >= 2 * self.capacity {
            let Some((k, at)) = order.pop_front() else {
                break;
            };
            if seen.get(&k) == Some(&at) {
                seen.remove(&k);
            }
        }
        seen.insert(key.to_owned(), now);
        order.push_back((key.to_owned(), now));
        true
    }
}

impl Dedup for MemoryDedup {
    fn first_time(&self, key: &str) -> impl Future<Output = bool> + Send {
        let fresh = self.record(key);
        async move { fresh }
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
        assert!(store.record("a"));
        assert!(!store.record("a"));
        now.fetch_add(59, Ordering::SeqCst);
        assert!(!store.record("a"), "59 s later: still a repeat");
        now.fetch_add(1, Ordering::SeqCst);
        assert!(store.record("a"), "60 s later: expired");
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest() {
        let (store, _) = clocked(3, 600);
        for k in ["a", "b", "c", "d"] {
            assert!(store.record(k));
        }
        assert_eq!(store.len(), 3);
        assert!(store.record("a"), "the oldest was forgotten");
        assert!(!store.record("d"), "the newest is kept");
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
        assert!(store.record("a"));
        store.lock().seen.remove("a");
        assert!(store.record("a"));
        assert!(!store.record("a"));
    }
}
