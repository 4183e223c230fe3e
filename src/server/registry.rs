//! The table of open connections: the caps on connections (in all, and per client), and which
//! connection is closed to make room for a new one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Limits;
use crate::connection::Client;

/// Who a connection comes from, for the per-client caps: an IPv4 address, or the /64 of an
/// IPv6 address (one host usually has a whole /64, so a per-address cap would not hold it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(u32),
    V6(u64),
}

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// What a connection has been asked to do, in increasing order of urgency.
const OPEN: u8 = 0;
/// Finish the request in flight, then close (after a refused request, at the request cap, at
/// the age limit, idle, or at shutdown).
const CLOSING: u8 = 1;
/// Evicted to make room: close at once unless a request is in flight.
const EVICTED: u8 = 2;

/// `last_*_ms` before anything happened.
const NEVER: u64 = u64::MAX;

/// One open connection, as the table, its driver and its requests see it.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    key: ClientKey,
    pub(crate) client: Arc<Client>,
    /// The registry's clock origin, so that times compare across connections.
    epoch: Instant,
    opened_ms: u64,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// When a request last ended, in ms after `epoch`.
    last_done_ms: AtomicU64,
    /// When an authenticated webhook last ended, in ms after `epoch`.
    last_real_ms: AtomicU64,
    state: AtomicU8,
    /// Its task has run: a request already in its socket has been read.
    started: AtomicBool,
    wake: Notify,
    /// Signalled when the connection's idle deadline may have moved earlier: its first request
    /// starts (the header-read timeout gives way to the idle timeout), or the last request in
    /// flight ends. [`idle`](Conn::idle) is its one waiter.
    changed: Notify,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        ms(self.epoch.elapsed())
    }

    /// Its task runs: from now on it may be evicted. (Before, a connection accepted in a burst
    /// would be the idlest candidate without having had a chance to read its request.)
    pub(crate) fn start(&self) {
        self.started.store(true, Ordering::Release);
    }

    pub(crate) fn opened(&self) -> Instant {
        self.epoch + Duration::from_millis(self.opened_ms)
    }

    /// A request starts; returns how many this connection has carried, this one included.
    pub(crate) fn request_started(&self) -> u64 {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let before = self.requests.fetch_add(1, Ordering::AcqRel);
        if before == 0 {
            self.changed.notify_one();
        }
        before + 1
    }

    /// A request ended (its response sent, or dropped); `authentic` when the webhook service
    /// authenticated it.
    pub(crate) fn request_done(&self, authentic: bool) {
        let now = self.now_ms();
        self.last_done_ms.store(now, Ordering::Release);
        if authentic {
            self.last_real_ms.store(now, Ordering::Release);
        }
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.changed.notify_one();
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Asks the connection to finish what is in flight and close.
    pub(crate) fn close_when_done(&self) {
        self.raise(CLOSING);
    }

    fn raise(&self, to: u8) {
        if self.state.fetch_max(to, Ordering::AcqRel) < to {
            self.wake.notify_one();
        }
    }

    pub(crate) fn is_evicted(&self) -> bool {
        self.state.load(Ordering::Acquire) == EVICTED
    }

    /// Completes once the connection is asked to close, saying whether it was evicted.
    pub(crate) async fn asked_to_close(&self) -> bool {
        loop {
            match self.state.load(Ordering::Acquire) {
                OPEN => self.wake.notified().await,
                state => return state == EVICTED,
            }
        }
    }

    /// Completes once the connection is evicted.
    pub(crate) async fn evicted(&self) {
        while !self.is_evicted() {
            self.wake.notified().await;
        }
    }

    /// When the connection counts as idle if nothing happens until then; `None` while a request
    /// is in flight. Before its first request a connection has `header_read_timeout`; after it,
    /// `idle_timeout` from the last authenticated webhook (or from its accept, without one).
    fn idle_at(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight() > 0 {
            return None;
        }
        if self.requests.load(Ordering::Acquire) == 0 {
            return Some(self.opened() + limits.header_read_timeout);
        }
        let since = match self.last_real_ms.load(Ordering::Acquire) {
            NEVER => self.opened_ms,
            ms => ms,
        };
        Some(self.epoch + Duration::from_millis(since) + limits.idle_timeout)
    }

    /// Completes once the connection is idle, saying how.
    pub(crate) async fn idle(&self, limits: &Limits) -> &'static str {
        loop {
            match self.idle_at(limits) {
                Some(at) if at <= Instant::now() => {
                    return if self.requests.load(Ordering::Acquire) == 0 {
                        "no request within the header-read timeout"
                    } else {
                        "idle"
                    };
                }
                // Before the first request, the deadline is the header-read timeout; the first
                // request replaces it. After it, the deadline only moves later: sleep, then look.
                Some(at) if self.requests.load(Ordering::Acquire) == 0 => {
                    let _ = tokio::time::timeout_at(at, self.changed.notified()).await;
                }
                Some(at) => tokio::time::sleep_until(at).await,
                // A request in flight ends within `request_timeout`: look again once none is in
                // flight (a request that did not renew the timeout may have let it pass).
                None => {
                    let _ =
                        tokio::time::timeout(limits.request_timeout, self.changed.notified()).await;
                }
            }
        }
    }

    /// Where this connection stands in the order of eviction (lowest first), or `None` while a
    /// request is in flight or before its task has run: one already closing; then one that never carried an authenticated
    /// webhook, by its last activity (its accept, or its last response); then the others, by
    /// their last authenticated webhook. The id breaks ties, oldest first.
    fn eviction_rank(&self) -> Option<(u8, u64, u64)> {
        if self.in_flight() > 0 || !self.started.load(Ordering::Acquire) {
            return None;
        }
        if self.state.load(Ordering::Acquire) != OPEN {
            return Some((0, 0, self.id));
        }
        Some(match self.last_real_ms.load(Ordering::Acquire) {
            NEVER => {
                let done = match self.last_done_ms.load(Ordering::Acquire) {
                    NEVER => self.opened_ms,
                    ms => ms,
                };
                (1, done, self.id)
            }
            real => (2, real, self.id),
        })
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(NEVER - 1)
}

/// How one client stands in the table.
#[derive(Debug)]
struct ClientEntry {
    connections: usize,
    client: Arc<Client>,
}

#[derive(Debug, Default)]
struct Table {
    conns: HashMap<u64, Arc<Conn>>,
    clients: HashMap<ClientKey, ClientEntry>,
    next_id: u64,
}

impl Table {
    /// The connection to evict first among those `pick` accepts, if any may be.
    fn victim(&self, pick: impl Fn(&Conn) -> bool) -> Option<Arc<Conn>> {
        self.conns
            .values()
            .filter(|c| pick(c))
            .filter_map(|c| Some((c.eviction_rank()?, c)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, c)| c.clone())
    }

    /// Takes `conn` out of the table (if it is still there) and out of its client's count.
    fn remove(&mut self, conn: &Conn) -> bool {
        if self.conns.remove(&conn.id).is_none() {
            return false;
        }
        if let Some(entry) = self.clients.get_mut(&conn.key) {
            entry.connections -= 1;
            if entry.connections == 0 {
                self.clients.remove(&conn.key);
            }
        }
        true
    }

    fn evict(&mut self, victim: &Conn) {
        self.remove(victim);
        victim.raise(EVICTED);
    }
}

/// Why a new connection was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// Its client has `max_connections_per_client` connections, each with a request in flight.
    Client,
    /// The server has `max_connections`, each with a request in flight.
    Server,
}

/// What admitting a connection cost.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Evicted {
    /// Another connection of the same client was closed for it.
    pub(crate) same_client: bool,
    /// A connection was closed for it because the server was full.
    pub(crate) server_full: bool,
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Registry {
    epoch: Instant,
    max_connections: usize,
    max_per_client: usize,
    table: Mutex<Table>,
}

impl Registry {
    pub(crate) fn new(max_connections: usize, max_per_client: usize) -> Self {
        Registry {
            epoch: Instant::now(),
            max_connections: max_connections.max(1),
            max_per_client: max_per_client.max(1),
            table: Mutex::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // The table is consistent after every statement that can panic (none should).
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a new connection from `ip` into the table, evicting the idlest connection of the
    /// same client when that client is at its cap, and the idlest of all when the server is at
    /// its cap. Refused only when every candidate has a request in flight.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<(Arc<Conn>, Evicted), Full> {
        let key = ClientKey::of(ip);
        let mut table = self.table();
        let mut evicted = Evicted::default();
        let client_conns = table.clients.get(&key).map_or(0, |e| e.connections);
        if client_conns >= self.max_per_client {
            let victim = table.victim(|c| c.key == key).ok_or(Full::Client)?;
            table.evict(&victim);
            evicted.same_client = true;
        }
        if table.conns.len() >= self.max_connections {
            let victim = table.victim(|_| true).ok_or(Full::Server)?;
            table.evict(&victim);
            evicted.server_full = true;
        }
        let id = table.next_id;
        table.next_id += 1;
        let entry = table.clients.entry(key).or_insert_with(|| ClientEntry {
            connections: 0,
            client: Arc::new(Client {
                in_flight: AtomicUsize::new(0),
            }),
        });
        entry.connections += 1;
        let conn = Arc::new(Conn {
            id,
            key,
            client: entry.client.clone(),
            epoch: self.epoch,
            opened_ms: ms(self.epoch.elapsed()),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_done_ms: AtomicU64::new(NEVER),
            last_real_ms: AtomicU64::new(NEVER),
            state: AtomicU8::new(OPEN),
            started: AtomicBool::new(false),
            wake: Notify::new(),
            changed: Notify::new(),
        });
        table.conns.insert(id, conn.clone());
        Ok((conn, evicted))
    }

    /// Takes a closed connection out of the table (an evicted one is out already).
    pub(crate) fn remove(&self, conn: &Conn) {
        self.table().remove(conn);
    }

    /// Connections in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table().conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    /// Admits a connection from `ip` whose task has started.
    fn admit(registry: &Registry, ip: IpAddr) -> Result<(Arc<Conn>, Evicted), Full> {
        let admitted = registry.admit(ip)?;
        admitted.0.start();
        Ok(admitted)
    }

    #[test]
    fn client_keys_group_ipv6_by_64_and_unmap_ipv4() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        let cases = [
            ("same /64", IpAddr::V6(a), IpAddr::V6(b), true),
            ("another /64", IpAddr::V6(a), IpAddr::V6(c), false),
            ("mapped IPv4 is the IPv4", IpAddr::V6(mapped), ip(1), true),
            ("two IPv4 addresses", ip(1), ip(2), false),
        ];
        for (name, x, y, same) in cases {
            assert_eq!(ClientKey::of(x) == ClientKey::of(y), same, "{name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_client_evicts_its_own_idlest_connection() {
        let registry = Registry::new(100, 2);
        let (first, _) = admit(&registry, ip(1)).unwrap();
        tokio::time::advance(Duration::from_millis(5)).await;
        let (second, _) = admit(&registry, ip(1)).unwrap();
        let (other, _) = admit(&registry, ip(2)).unwrap();
        let (_third, evicted) = admit(&registry, ip(1)).unwrap();
        assert_eq!(
            evicted,
            Evicted {
                same_client: true,
                server_full: false
            }
        );
        assert!(
            first.is_evicted(),
            "the oldest idle connection of the client"
        );
        assert!(!second.is_evicted() && !other.is_evicted());
        assert_eq!(registry.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_server_evicts_in_order_closing_then_unproven_then_the_least_recently_used() {
        let registry = Registry::new(4, 100);
        let (proven_old, _) = admit(&registry, ip(1)).unwrap();
        proven_old.request_started();
        proven_old.request_done(true);
        tokio::time::advance(Duration::from_millis(10)).await;
        let (proven_new, _) = admit(&registry, ip(2)).unwrap();
        proven_new.request_started();
        proven_new.request_done(true);
        tokio::time::advance(Duration::from_millis(10)).await;
        let (unproven, _) = admit(&registry, ip(3)).unwrap();
        // A refused request does not prove a connection.
        unproven.request_started();
        unproven.request_done(false);
        tokio::time::advance(Duration::from_millis(10)).await;
        let (closing, _) = admit(&registry, ip(4)).unwrap();
        closing.close_when_done();

        let order = [&closing, &unproven, &proven_old, &proven_new];
        for (i, want) in order.iter().enumerate() {
            let (fresh, evicted) = admit(&registry, ip(10 + i as u8)).unwrap();
            assert!(evicted.server_full, "admission {i}");
            assert!(
                want.is_evicted(),
                "admission {i} evicted the wrong connection"
            );
            // Keep the newcomers busy so that they are never candidates.
            fresh.request_started();
        }
        assert_eq!(registry.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn busy_connections_are_never_evicted_so_a_new_one_is_refused() {
        let registry = Registry::new(2, 1);
        let (a, _) = admit(&registry, ip(1)).unwrap();
        let (b, _) = admit(&registry, ip(2)).unwrap();
        a.request_started();
        b.request_started();
        assert_eq!(admit(&registry, ip(1)).unwrap_err(), Full::Client);
        assert_eq!(admit(&registry, ip(3)).unwrap_err(), Full::Server);
        assert!(!a.is_evicted() && !b.is_evicted());
        // Once a request ends, its connection may make room.
        b.request_done(true);
        let (_c, evicted) = admit(&registry, ip(3)).unwrap();
        assert!(evicted.server_full && b.is_evicted());
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_whose_task_has_not_run_is_not_evicted() {
        let registry = Registry::new(2, 10);
        let (unstarted, _) = registry.admit(ip(1)).unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
        let (started, _) = admit(&registry, ip(2)).unwrap();
        let (_new, evicted) = registry.admit(ip(3)).unwrap();
        assert!(evicted.server_full);
        assert!(started.is_evicted() && !unstarted.is_evicted());
    }

    #[tokio::test(start_paused = true)]
    async fn removing_frees_the_clients_count() {
        let registry = Registry::new(10, 1);
        let (a, _) = admit(&registry, ip(1)).unwrap();
        registry.remove(&a);
        let (_b, evicted) = admit(&registry, ip(1)).unwrap();
        assert_eq!(evicted, Evicted::default());
        // Removing twice (an evicted connection's driver ends later) changes nothing.
        registry.remove(&a);
        assert_eq!(registry.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_deadlines() {
        let limits = Limits {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            ..Limits::default()
        };
        let registry = Registry::new(10, 10);
        let start = Instant::now();
        let (conn, _) = admit(&registry, ip(1)).unwrap();
        assert_eq!(
            conn.idle_at(&limits),
            Some(start + limits.header_read_timeout),
            "before the first request"
        );
        conn.request_started();
        assert_eq!(conn.idle_at(&limits), None, "busy");
        tokio::time::advance(Duration::from_secs(3)).await;
        conn.request_done(false);
        assert_eq!(
            conn.idle_at(&limits),
            Some(start + limits.idle_timeout),
            "a refused request does not renew it"
        );
        conn.request_started();
        tokio::time::advance(Duration::from_secs(4)).await;
        conn.request_done(true);
        assert_eq!(
            conn.idle_at(&limits),
            Some(start + Duration::from_secs(7) + limits.idle_timeout),
            "an authenticated one does"
        );
    }
}
