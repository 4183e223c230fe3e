//! [`Limits`]: how long a client may take, and how much of the server it may hold.

use std::time::Duration;

/// How long a client may take, and how much of the server it may hold; what [`serve`] enforces.
///
/// The defaults are for a webhook endpoint: Tencent sends each webhook as one small POST on a
/// kept-alive connection and waits **at most 2 s** for the answer (then applies its own
/// default), so nothing here needs to wait long for a legitimate client, and a client that makes
/// the server wait is either broken or an attacker. The [module docs](super) say what each limit
/// stops and how the limits work together.
///
/// Set the fields you need on the default:
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::server::Limits;
///
/// let mut limits = Limits::default();
/// limits.max_connections = 1_000;
/// limits.request_timeout = Duration::from_millis(1_500);
/// assert_eq!(limits.max_requests, 1024);
/// ```
///
/// A count of 0 is taken as 1. The struct is `#[non_exhaustive]`: a later release may add a
/// limit, with a default, without breaking code that starts from [`Limits::default`].
///
/// [`serve`]: super::serve
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Time for a client to send a request's headers. Default 5 s.
    ///
    /// **Stops:** connections that send half a request line, or nothing (slowloris). Tencent's
    /// headers arrive in one packet; 5 s leaves room for a bad network. The server applies it to
    /// the first request of every connection (HTTP/1 and HTTP/2, and while the protocol is
    /// being recognised), and hyper to every HTTP/1 request after that, counted from the moment
    /// the connection can take one: so it is also how long an idle kept-alive HTTP/1 connection
    /// stays open (5 s is Apache's default keep-alive). Over HTTPS
    /// ([`serve_tls`](super::serve_tls)) the TLS handshake must finish within it too, and the
    /// first request's headers then have it again.
    pub header_read_timeout: Duration,
    /// A connection is closed when no authenticated webhook has been in flight on it for this
    /// long (counted from its accept when it never carried one). Default 60 s.
    ///
    /// **Stops:** connections kept open with requests that are not webhooks (`GET /health`
    /// every few seconds) or idle HTTP/2 connections (closed with a GOAWAY). Only a request the
    /// webhook service authenticated (its response carries an [`Outcome`] or a
    /// [`HandlerFailure`]) renews it; refused requests close their connection at once (see the
    /// [module docs](super)).
    ///
    /// [`Outcome`]: crate::Outcome
    /// [`HandlerFailure`]: crate::HandlerFailure
    pub idle_timeout: Duration,
    /// From a request's headers to its answer, body included. Default 2 s, Tencent's own limit.
    ///
    /// **Stops:** slow bodies and slow handlers. An answer later than 2 s reaches no one, so
    /// the request is answered `408` in the crate's JSON error shape and its memory and slot
    /// are freed (an HTTP/1 connection is then closed: its body may be half read).
    pub request_timeout: Duration,
    /// Connections open at once. Default 4096, lowered at start to fit the process's
    /// open-files limit (which [`serve`](super::serve) first raises to the hard limit).
    ///
    /// **Stops:** descriptor exhaustion. When all are taken, a new connection is still accepted
    /// and the **longest idle** connection is closed to make room (one with no request in
    /// flight: first one closing anyway, then one that never carried an authenticated webhook,
    /// oldest first, then the one whose last webhook is oldest). A flood of connections then
    /// costs its own connections, never an answer in progress; only when every connection has
    /// a request in flight is the new one closed at once.
    pub max_connections: usize,
    /// Connections open at once from one client: an IPv4 address, or an IPv6 /64 (one host's
    /// usual allocation). Default 256.
    ///
    /// **Stops:** one client taking every connection. Past it, that client's own longest-idle
    /// connection makes room, as for `max_connections`; other clients are not touched.
    /// Tencent sends from a few addresses, on kept-alive connections busy for milliseconds
    /// each, so 256 is far above what it opens.
    pub max_connections_per_client: usize,
    /// Requests in flight at once, across all connections. Default 1024.
    ///
    /// **Stops:** overload. At 10 ms a webhook that is 100,000 a second; past it, more in
    /// flight only makes every answer later than Tencent's 2 s. When it is reached, a new
    /// request makes room by preempting the oldest request of the client with the most in
    /// flight (answered `503`, its connection closed), if that client has more in flight than
    /// the newcomer's; otherwise the newcomer is answered `503` at once (load shedding) and
    /// Tencent applies its default. So each client keeps at least an equal share: a few
    /// addresses at their `max_requests_per_client` cannot hold every place.
    pub max_requests: usize,
    /// Requests in flight at once from one client (as for `max_connections_per_client`).
    /// Default 256, a quarter of `max_requests`.
    ///
    /// **Stops:** one client filling `max_requests`, for example with a captured signed URL
    /// (valid for the freshness window) and bodies sent slowly or HTTP/2 streams held open:
    /// past it, that client gets `429` at once and the rest of the cap stays free for others.
    /// It also caps the concurrent streams of one HTTP/2 connection (at most 200, hyper's
    /// default).
    pub max_requests_per_client: usize,
    /// Requests one connection may carry. Default 10,000.
    ///
    /// **Stops:** one connection living forever on a steady trickle of requests. HTTP/1: the
    /// last response says `Connection: close`; HTTP/2: a GOAWAY after it. A client opens a new
    /// connection, which also spreads clients over the servers behind a load balancer.
    pub max_requests_per_connection: u64,
    /// How long one connection may live. Default 5 min.
    ///
    /// **Stops:** connections held forever, whatever they do: HTTP/2 gets a GOAWAY (its
    /// requests in flight finish, up to `request_timeout`), HTTP/1 is closed after the request
    /// in flight, or at once when idle.
    pub max_connection_age: Duration,
    /// Largest request head (request line and headers) a client may send. Default 16 KiB; at
    /// least 8 KiB is used for HTTP/1 (hyper's smallest read buffer).
    ///
    /// **Stops:** memory held by huge heads (`max_connections` × this is the worst case).
    /// Tencent's URL and headers are well under 1 KiB. Past it, hyper answers `431` itself,
    /// with an empty body (see the module docs).
    pub max_header_bytes: usize,
    /// After the shutdown signal, how long requests in flight may take before their
    /// connections are closed anyway. Default 10 s.
    pub shutdown_grace: Duration,
}

impl Limits {
    /// hyper's limit on an HTTP/2 connection's concurrent streams.
    const H2_STREAMS: usize = 200;

    /// Each count at least 1.
    pub(crate) fn normalised(mut self) -> Self {
        self.max_connections = self.max_connections.max(1);
        self.max_connections_per_client = self.max_connections_per_client.max(1);
        self.max_requests = self.max_requests.max(1);
        self.max_requests_per_client = self.max_requests_per_client.max(1);
        self.max_requests_per_connection = self.max_requests_per_connection.max(1);
        self.max_header_bytes = self.max_header_bytes.max(1);
        self
    }

    /// Streams one HTTP/2 connection may have open at once.
    pub(crate) fn h2_streams(&self) -> u32 {
        let streams = self
            .max_requests_per_client
            .min(self.max_requests)
            .min(Self::H2_STREAMS);
        u32::try_from(streams).unwrap_or(u32::MAX)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(2),
            max_connections: 4096,
            max_connections_per_client: 256,
            max_requests: 1024,
            max_requests_per_client: 256,
            max_requests_per_connection: 10_000,
            max_connection_age: Duration::from_secs(300),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_counts_are_taken_as_one() {
        let limits = Limits {
            max_connections: 0,
            max_connections_per_client: 0,
            max_requests: 0,
            max_requests_per_client: 0,
            max_requests_per_connection: 0,
            max_header_bytes: 0,
            ..Limits::default()
        };
        let n = limits.normalised();
        assert_eq!(
            (
                n.max_connections,
                n.max_connections_per_client,
                n.max_requests,
                n.max_requests_per_client,
                n.max_requests_per_connection,
                n.max_header_bytes
            ),
            (1, 1, 1, 1, 1, 1)
        );
    }

    #[test]
    fn http2_streams_follow_the_request_caps() {
        let cases = [
            ("defaults: hyper's 200", 1024, 256, 200),
            ("per-client cap below 200", 1024, 16, 16),
            ("global cap below the per-client one", 8, 16, 8),
        ];
        for (name, global, per_client, want) in cases {
            let limits = Limits {
                max_requests: global,
                max_requests_per_client: per_client,
                ..Limits::default()
            };
            assert_eq!(limits.h2_streams(), want, "{name}");
        }
    }
}
