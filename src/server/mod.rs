//! A hardened HTTP server for the webhook, or any tower service (feature `server`): HTTP/1.1
//! and HTTP/2 (prior knowledge) on one port, with the timeouts, caps and eviction that keep
//! cheap clients from starving it, and graceful shutdown.
//!
//! ```no_run
//! use tencent_chat_webhook::server::{self, Limits};
//! use tencent_chat_webhook::{Handler, WebhookConfig, WebhookService};
//!
//! struct MyHandler;
//! impl Handler for MyHandler {}
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = WebhookConfig::builder(1400000000).token("the console's token").build()?;
//! let webhook = WebhookService::new(config, MyHandler);
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! // Any tower service: the webhook alone, or an axum `Router` with the webhook as a route.
//! server::serve(listener, webhook, Limits::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await;
//! # Ok(())
//! # }
//! ```
//!
//! `axum::serve` and a bare hyper loop have no header-read timeout on the first request, no
//! cap on connections, and no way to tell a webhook from a probe; this server has all three.
//!
//! # What each limit stops
//!
//! The defaults ([`Limits::default`]) are for a webhook endpoint: Tencent sends each webhook as
//! one small POST, on connections it keeps alive, and waits **at most 2 s** for the answer. So
//! no legitimate client needs the server to wait long, and one that makes it wait is broken or
//! an attacker.
//!
//! | Limit | Default | What it stops |
//! | --- | --- | --- |
//! | [`header_read_timeout`](Limits::header_read_timeout) | 5 s | connections that send half a request line, or nothing; also the HTTP/1 keep-alive idle time |
//! | [`idle_timeout`](Limits::idle_timeout) | 60 s | connections kept open by anything but webhooks, idle HTTP/2 connections |
//! | [`request_timeout`](Limits::request_timeout) | 2 s | slow bodies and slow handlers: `408` in JSON |
//! | [`max_connections`](Limits::max_connections) | 4096 (fitted to the open-files limit) | descriptor exhaustion: the idlest connection is closed to make room |
//! | [`max_connections_per_client`](Limits::max_connections_per_client) | 256 | one address holding every connection |
//! | [`max_requests`](Limits::max_requests) | 1024 | overload: `503` in JSON at once |
//! | [`max_requests_per_client`](Limits::max_requests_per_client) | 256 | one address (a captured signed URL) filling `max_requests`: `429` in JSON |
//! | [`max_requests_per_connection`](Limits::max_requests_per_connection) | 10,000 | a connection living forever: `Connection: close` or GOAWAY |
//! | [`max_connection_age`](Limits::max_connection_age) | 5 min | the same, by time |
//! | [`max_header_bytes`](Limits::max_header_bytes) | 16 KiB | memory held by huge heads |
//! | [`shutdown_grace`](Limits::shutdown_grace) | 10 s | a shutdown that never ends |
//!
//! A client is an IPv4 address or an IPv6 /64. Behind a proxy every request comes from the
//! proxy: raise the per-client caps to the whole server's, or let the proxy apply them.
//!
//! # How the limits hold against cheap clients
//!
//! - **A new connection is always accepted.** When the server (or the client) is at its
//!   connection cap, the longest-idle connection is closed to make room: first one that is
//!   closing anyway, then one that never carried an authenticated webhook (oldest activity
//!   first), then the one whose last webhook is oldest. A connection with a request in flight
//!   is never chosen; only when every connection has one is the new connection closed instead.
//!   So a flood of idle or half-open connections, however many, costs only its own
//!   connections, and a webhook on a fresh connection is read before it could become the
//!   idlest. (The old way, a slot taken before `accept`, left good clients in the backlog
//!   behind the flood.)
//! - **Refused requests do not keep a connection.** A request is *authenticated* when the
//!   webhook service answered it with an [`Outcome`](crate::Outcome) or a
//!   [`HandlerFailure`](crate::HandlerFailure) in the response's extensions. A *refused* one
//!   (a [`Rejection`](crate::Rejection), this server's own 408, 429 or 503, or any other 4xx
//!   such as a router's 404) closes its connection: HTTP/1 answers with `Connection: close`,
//!   HTTP/2 sends a GOAWAY after the answer. Anything else (another route's 200) keeps the
//!   connection, but only authenticated webhooks renew its idle timeout and protect it from
//!   eviction. So `GET /nope` or an unsigned POST every few seconds no longer holds a
//!   connection as cheaply as Tencent's traffic does.
//! - **Requests in flight are capped per client too**, and bounded in time: one client, even
//!   with a captured signed URL (valid for the freshness window) and slow bodies or held
//!   HTTP/2 streams, holds at most `max_requests_per_client` of the `max_requests`, each for
//!   at most `request_timeout`.
//! - **Every connection ends**: after `max_requests_per_connection` requests or
//!   `max_connection_age`, whatever it does.
//!
//! At start the server raises the process's soft open-files limit to the hard limit (as Go's
//! runtime does) and lowers `max_connections` to fit it, keeping 64 descriptors for the rest of
//! the process. It logs the limits in force at `info` (feature `tracing`), and at most one
//! warning every 10 s while it is evicting connections to make room.
//!
//! # What a client sees when refused
//!
//! Everything the server refuses itself, and everything the webhook service refuses, is a reply
//! in the crate's error shape, `{"ActionStatus":"FAIL","ErrorInfo":"...","ErrorCode":<status>}`
//! with `content-type: application/json`: `408` (request timeout), `429` (per-client cap),
//! `503` (server cap), and the service's 400, 401, 403, 405 and 413. A body cut short or
//! malformed mid-stream (a bad chunk size, a FIN before `Content-Length`) reaches the service as
//! a body error and gets its JSON 400 too.
//!
//! Some requests never reach a service: hyper refuses them while parsing, and hyper 1 offers no
//! way to shape those answers. They get hyper's own response, **with an empty body**, then the
//! connection is closed:
//!
//! - HTTP/1 `431 Request Header Fields Too Large`: a head larger than `max_header_bytes` (at
//!   least 8 KiB), or more than 100 headers;
//! - HTTP/1 `414 URI Too Long`: a request target longer than 65,534 bytes (only reachable with
//!   `max_header_bytes` above that);
//! - HTTP/1 `400 Bad Request`: a request line or header that does not parse (bad method, target,
//!   version or header syntax, a `Content-Length` that is not a number or appears twice with
//!   different values, a `Transfer-Encoding` other than a final `chunked`);
//! - HTTP/2 `431`: a header block larger than `max_header_bytes` (h2 answers it, then resets
//!   the stream).
//!
//! Other protocol errors get no response at all: HTTP/1 headers not complete within
//! `header_read_timeout` (or a first request that does not come) close the connection; an
//! HTTP/2 client that breaks the protocol after its preface gets its stream reset
//! (`RST_STREAM`) or the connection closed (`GOAWAY` with an error code). Bytes that are not
//! HTTP/2's preface are read as HTTP/1, hence the 400 above.
//!
//! # Connections and requests
//!
//! Each request carries a [`ConnectionInfo`] in its extensions (the peer's address), which a
//! handler reads through [`RequestContext::extensions`](crate::RequestContext::extensions).
//! HTTP/1 connections are kept alive (Tencent reuses its connections: a new TCP and TLS
//! handshake per webhook would eat into its 2 s); each response is sent at once (no Nagle
//! delay). HTTP/2 connections allow `min(max_requests_per_client, max_requests, 200)`
//! concurrent streams.
//!
//! # HTTPS and client certificates
//!
//! With feature `tls`, [`serve_tls`] is the same server over HTTPS (rustls; TLS 1.2 and 1.3;
//! HTTP/2 or HTTP/1.1 by ALPN). A [`TlsConfig`] built from PEM files requires a client
//! certificate that chains to a CA file: Tencent's mutual authentication of callbacks, where
//! the Chat console makes its callback client present a certificate issued by
//! `TencentQQAuthCA.crt`, so that only Tencent's backend can reach the URL. The handshake
//! runs within [`header_read_timeout`](Limits::header_read_timeout) while the connection
//! already counts against the caps, so a client that stalls it holds nothing longer than one
//! that stalls its headers. A handler learns that its request came over such a connection
//! from [`RequestContext::peer_certificate_verified`](crate::RequestContext::peer_certificate_verified).
//! [`TlsConfig`] says what is checked, and why not the certificate's name.
//!
//! # Shutdown
//!
//! When the `shutdown` future completes, [`serve`] stops accepting, asks every connection to
//! close once its requests are answered (HTTP/1: after the response in progress; HTTP/2: a
//! GOAWAY), waits up to [`shutdown_grace`](Limits::shutdown_grace) for them, then closes what
//! is left and returns.
//!
//! # Other servers
//!
//! [`GuardLayer`] is the request timeout and in-flight caps alone, as a tower layer, for a
//! server that is not this one (tonic's, say); without a [`ConnectionInfo`] in the requests
//! only the global cap applies.
// Each log line compiles to nothing without `tracing`, leaving some of its values unused.
#![cfg_attr(not(feature = "tracing"), allow(unused_variables))]

#[macro_use]
mod log;

mod conn;
mod guard;
mod limits;
mod registry;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

pub use crate::connection::ConnectionInfo;
pub use guard::{Guard, GuardFuture, GuardLayer};
pub use limits::Limits;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{TlsConfig, TlsError, TlsPart, serve_tls};

use conn::Tracked;
use registry::{Conn, Registry};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body the server can send: what hyper needs of it.
pub(crate) trait ResBody:
    http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> ResBody for B where B: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static {}

/// A service the server can run on every connection, answering with bodies `B`: the bounds of
/// [`serve`], named once for the functions behind it.
pub(crate) trait App<B>:
    Service<
        Request<Incoming>,
        Response = Response<B>,
        Future: Send + 'static,
        Error: Into<BoxError>,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> App<B> for S where
    S: Service<
            Request<Incoming>,
            Response = Response<B>,
            Future: Send + 'static,
            Error: Into<BoxError>,
        > + Clone
        + Send
        + 'static
{
}

/// File descriptors kept out of the connection budget: the listener, logs, the runtime's own.
const RESERVED_FILES: u64 = 64;

/// Raises this process's soft open-files limit to its hard limit, as Go's runtime does at start
/// (the soft limit is often 1,024 while the hard one is far higher), and returns the limit now
/// in force, where the platform has one. [`serve`] calls it; a server of another crate may too.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::increase_nofile_limit(u64::MAX).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `service` on every connection `listener` accepts, within `limits`, until `shutdown`
/// completes; then stops accepting, lets the requests in flight finish (up to
/// `limits.shutdown_grace`) and returns.
///
/// Every request goes through a [`Guard`] (the request timeout and the in-flight caps, answered
/// in the crate's JSON error shape) and carries a [`ConnectionInfo`]; every connection gets the
/// header-read, idle and age limits and a place among `limits.max_connections`. The [module
/// docs](self) say what each limit stops.
///
/// The service may be the [`WebhookService`](crate::WebhookService) alone, or any app
/// around it (an axum `Router`). A service error closes its connection, as in hyper.
pub async fn serve<S, B, F>(listener: TcpListener, service: S, limits: Limits, shutdown: F)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    serve_with(listener, PlainTcp, service, limits, shutdown).await;
}

/// What turns an accepted TCP stream into the stream HTTP is spoken on, and may add to what
/// requests learn about their connection: nothing for plain TCP; a TLS handshake, and the
/// client's certificate, for TLS. It runs in the connection's own task, within
/// `header_read_timeout`, while the connection already counts against the caps (so a client
/// that stalls its handshake is as evictable as one that stalls its headers).
pub(crate) trait Handshake: Send + Sync + 'static {
    /// The stream HTTP is spoken on.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Performs the handshake on `stream`.
    fn handshake(
        &self,
        stream: TcpStream,
        info: &mut ConnectionInfo,
    ) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// Plain TCP: HTTP on the accepted stream as it is.
struct PlainTcp;

impl Handshake for PlainTcp {
    type Io = TcpStream;

    async fn handshake(&self, stream: TcpStream, _: &mut ConnectionInfo) -> io::Result<TcpStream> {
        Ok(stream)
    }
}

/// What every connection's task shares (the service is cloned for each: it need not be `Sync`).
struct Shared<H> {
    handshake: H,
    builder: auto::Builder<TokioExecutor>,
    limits: Limits,
    registry: Registry,
}

/// [`serve`], with a handshake between accepting a connection and serving HTTP on it.
pub(crate) async fn serve_with<H, S, B, F>(
    listener: TcpListener,
    handshake: H,
    service: S,
    limits: Limits,
    shutdown: F,
) where
    H: Handshake,
    S: App<B>,
    B: ResBody,
    F: Future<Output = ()>,
{
    let limits = fit_to_open_files(limits.normalised());
    let shared = Arc::new(Shared {
        handshake,
        builder: builder(&limits),
        registry: Registry::new(limits.max_connections, limits.max_connections_per_client),
        limits,
    });
    let service = GuardLayer::new(&limits).layer(service);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut warned_full: Option<Instant> = None;

    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors or memory, or a connection reset before it was
                // accepted: not fatal, but do not spin on it.
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = match shared.registry.admit(peer.ip()) {
            Ok((conn, evicted)) => {
                if evicted.server_full
                    && warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(10))
                {
                    warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; closing the idlest connections to make room"
                    );
                    warned_full = Some(Instant::now());
                }
                if evicted.same_client {
                    debug!(%peer, "this client's connection limit reached; closed its idlest");
                }
                conn
            }
            Err(full) => {
                debug!(%peer, ?full, "every connection has a request in flight; new connection closed");
                continue;
            }
        };
        // Small answers to small requests: send each write at once (no Nagle delay).
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or_else(|_| unspecified());
        connections.spawn(connection(
            shared.clone(),
            service.clone(),
            stream,
            peer,
            local,
            conn,
            stopping.clone(),
        ));
    }

    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            open = connections.len(),
            grace = ?limits.shutdown_grace,
            "connections still busy after the grace period; closing them"
        );
        connections.shutdown().await;
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// hyper's configuration for `limits`.
fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper's smallest read buffer is 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8 * 1024))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_streams())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// `limits` with `max_connections` lowered to fit the open-files limit (raised first).
fn fit_to_open_files(mut limits: Limits) -> Limits {
    let files = raise_open_files_limit();
    if let Some(files) = files {
        let budget =
            usize::try_from(files.saturating_sub(RESERVED_FILES).max(1)).unwrap_or(usize::MAX);
        limits.max_connections = limits.max_connections.min(budget);
    }
    info!(
        max_connections = limits.max_connections,
        open_files_limit = files,
        max_connections_per_client = limits.max_connections_per_client,
        max_requests = limits.max_requests,
        max_requests_per_client = limits.max_requests_per_client,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        request_timeout = ?limits.request_timeout,
        "server limits"
    );
    limits
}

/// One connection's task: the handshake, then HTTP until the connection ends; its place in
/// the table is given back when this returns.
async fn connection<H, S, B>(
    shared: Arc<Shared<H>>,
    service: Guard<S>,
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    conn: Arc<Conn>,
    stopping: watch::Receiver<bool>,
) where
    H: Handshake,
    S: App<B>,
    B: ResBody,
{
    conn.start();
    let limits = &shared.limits;
    let mut info = ConnectionInfo::with_client(peer, local, Some(conn.client.clone()));
    let handshake = tokio::select! {
        io = tokio::time::timeout(limits.header_read_timeout, shared.handshake.handshake(stream, &mut info)) => io,
        () = conn.evicted() => {
            shared.registry.remove(&conn);
            return;
        }
    };
    match handshake {
        Ok(Ok(io)) => {
            let service = Tracked {
                inner: service,
                conn: conn.clone(),
                info,
                max_requests: limits.max_requests_per_connection,
            };
            conn::drive(&shared.builder, io, service, limits, stopping).await;
        }
        Ok(Err(e)) => debug!(%peer, error = %e, "handshake failed"),
        Err(_) => debug!(%peer, "handshake not done within the header-read timeout"),
    }
    shared.registry.remove(&conn);
}
