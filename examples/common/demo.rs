//! The demo handler, settings and hardened server shared by every example (and by the
//! end-to-end tests).
//!
//! Settings come from the environment, with defaults that need no configuration:
//! `LISTEN_ADDR` (127.0.0.1:8080), `SDKAPPID` (1400000000), `CALLBACK_TOKEN` (a demo token),
//! `RUST_LOG` (`info`).
//!
//! [`serve`] is the server loop of the quickstart and of the axum and hyper examples: hyper-util's
//! auto builder (HTTP/1.1 and HTTP/2 on one port) with the timeouts and caps of [`Limits`], so
//! that clients which open connections and send nothing, half a request or a slow body cannot
//! starve the server. `axum::serve` cannot set hyper's header-read timeout, which is why the
//! axum examples use this loop too.
#![allow(dead_code, unreachable_pub)] // each example uses a different part of this file

use std::convert::Infallible;
use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tencent_chat_webhook::message::MessageEvent;
use tencent_chat_webhook::sns::FriendDecision;
use tencent_chat_webhook::{
    CustomCode, CustomErrorCode, Event, FriendErrorCode, GateDecision, GroupErrorCode, Handler,
    HandlerResult, Reply, RequestContext, SendDecision, UnknownEvent, UnparsedEvent, WebhookConfig,
    WebhookService, c2c, chatbot, group, official_account, sns,
};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Where every example serves webhooks.
pub const WEBHOOK_PATH: &str = "/tencent/chat/webhook";
/// The app id used when `SDKAPPID` is not set.
pub const DEFAULT_APP_ID: u64 = 1_400_000_000;
/// The token used when `CALLBACK_TOKEN` is not set. It is public (it is in this file), so it is
/// the one token the examples print; a token from the environment is never printed.
pub const DEMO_TOKEN: &str = "demo-token-change-me";
/// The address used when `LISTEN_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Settings read from the environment.
pub struct Settings {
    pub addr: SocketAddr,
    pub app_id: u64,
    token: String,
    token_is_demo: bool,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
        let addr = addr
            .parse()
            .map_err(|e| format!("LISTEN_ADDR `{addr}` is not an address: {e}"))?;
        let app_id = match std::env::var("SDKAPPID") {
            Ok(v) => v
                .parse()
                .map_err(|e| format!("SDKAPPID `{v}` is not a number: {e}"))?,
            Err(_) => DEFAULT_APP_ID,
        };
        let (token, token_is_demo) = match std::env::var("CALLBACK_TOKEN") {
            Ok(t) => (t, false),
            Err(_) => (DEMO_TOKEN.to_owned(), true),
        };
        Ok(Settings {
            addr,
            app_id,
            token,
            token_is_demo,
        })
    }

    pub fn config(&self) -> Result<WebhookConfig, String> {
        self.config_builder().build().map_err(|e| e.to_string())
    }

    /// The builder [`config`](Settings::config) builds, for a server that sets more.
    #[allow(dead_code)] // not every example sets more
    pub fn config_builder(&self) -> tencent_chat_webhook::WebhookConfigBuilder {
        WebhookConfig::builder(self.app_id).token(&self.token)
    }

    /// Prints where the server listens and how to try it.
    pub fn announce(&self, bound: SocketAddr, what: &str) {
        println!("{what} listening on http://{bound}{WEBHOOK_PATH}");
        println!("  SdkAppid: {}", self.app_id);
        if self.token_is_demo {
            println!("  token: {DEMO_TOKEN} (demo default; set CALLBACK_TOKEN for a real one)");
        } else {
            println!("  token: from CALLBACK_TOKEN (not shown)");
        }
        println!(
            "  try: cargo run --features cli --bin tencent-chat-webhook -- send --url http://{bound}{WEBHOOK_PATH} --command OfficialAccount.CallbackBeforeSendMsg"
        );
    }
}

/// What every stack example does first: logging, settings, the service with the demo handler,
/// and a bound listener, announced on stdout.
pub async fn listen(
    what: &str,
) -> Result<(TcpListener, WebhookService), Box<dyn std::error::Error>> {
    init_logging();
    let settings = Settings::from_env()?;
    let webhook = WebhookService::new(settings.config()?, DemoHandler);
    let listener = bind(settings.addr).await?;
    settings.announce(listener.local_addr()?, what);
    Ok((listener, webhook))
}

/// Binds `addr`, or says in one line which address could not be had and how to pick another
/// (instead of `Os { code: 98, kind: AddrInUse, .. }`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
            _ => e.to_string(),
        };
        format!("cannot listen on {addr}: {why}; set LISTEN_ADDR to another address")
    })
}

/// Logs to stdout at `info`, or as `RUST_LOG` says (`RUST_LOG=debug`,
/// `RUST_LOG=tencent_chat_webhook=debug,tower_http=debug`, ...; a directive that does not parse
/// is reported on stderr and skipped, the others still apply). Colours only on a terminal, and
/// not with `NO_COLOR` set: a log file gets plain text.
pub fn init_logging() {
    init_logging_at(tracing_subscriber::filter::LevelFilter::INFO);
}

/// [`init_logging`] with another default level than `info` (`RUST_LOG` still wins).
pub fn init_logging_at(default: tracing_subscriber::filter::LevelFilter) {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(default.into())
        .from_env_lossy();
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .try_init();
}

/// The exit status of an example's `main`: on error, one line on stderr (the error's message,
/// not its `Debug` form) and a non-zero status.
pub fn exit_code(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C, or on SIGTERM (what `docker stop`, systemd and Kubernetes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
}

// ---------------------------------------------------------------------------------------------
// The hardened server.

/// How long a client may take, and how much of the server it may hold.
///
/// The defaults are for a webhook endpoint: Tencent sends each webhook as one small POST on a
/// kept-alive connection and waits **at most 2 s** for the answer, after which it applies its
/// own default; so nothing here needs to wait long for a legitimate client, and a client that
/// makes the server wait is either broken or an attacker.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time for a client to send a request's headers, counted from the moment its connection
    /// can take one. Default 5 s: Tencent's headers arrive in one packet, in milliseconds; 5 s
    /// leaves room for a bad network and bounds how long a connection that sends half a request
    /// line (or nothing) holds a slot. hyper starts this clock again as soon as a response is
    /// sent, so it is also how long an idle kept-alive HTTP/1 connection stays open (hyper 1
    /// has no separate idle timer): 5 s is Apache's default keep-alive, enough to reuse a
    /// connection through a burst of webhooks. This loop enforces the same deadline for the
    /// first request of every connection, HTTP/2 included, before hyper's own clock can start
    /// (hyper-util sniffs the protocol first, without a timer).
    pub header_read_timeout: Duration,
    /// An HTTP/2 connection with no request in flight for this long is closed, with a GOAWAY.
    /// Default 60 s. (An idle HTTP/1 connection is closed sooner, by `header_read_timeout`.)
    /// No HTTP/2 ping is configured: a connection nobody uses is closed by this rule, and a
    /// request by `request_timeout`, so a dead peer is found either way (only a long streaming
    /// response to a dead peer would wait for TCP to give up, and webhook answers are one small
    /// JSON body). A request counts as in flight until its response body has been sent.
    pub idle_timeout: Duration,
    /// From a request's headers to its answer, body included. Default 2 s, Tencent's own limit:
    /// an answer later than that reaches no one, so the request is answered 408 (in the crate's
    /// JSON error shape) and its memory and slot are freed. This is what bounds slow bodies.
    pub request_timeout: Duration,
    /// Connections open at once. Default 4096, far above what Tencent opens (it reuses its
    /// connections, and each is busy for at most 2 s per webhook) and well above the thousand
    /// an attacker needs to exhaust the usual 1,024 open files. Lowered to fit the open-files
    /// limit, which [`serve`] first raises to the hard limit. When all are taken, new
    /// connections **wait** in the kernel's listen backlog and are accepted as soon as one
    /// closes (which the timeouts above guarantee): a burst is served late instead of being
    /// refused, and a flood costs the server nothing but the backlog, which the kernel bounds.
    pub max_connections: usize,
    /// Requests in flight at once, across all connections. Default 1024: at 10 ms a webhook
    /// that is 100,000 a second; past it, more in flight only makes every answer later than
    /// Tencent's 2 s, so the next request is answered 503 at once instead (load shedding) and
    /// Tencent applies its default.
    pub max_requests: usize,
    /// After the shutdown signal, how long requests in flight may take before their
    /// connections are closed anyway. Default 10 s.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(2),
            max_connections: 4096,
            max_requests: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// File descriptors kept out of the connection budget: the listener, logs, the runtime's own.
const RESERVED_FILES: u64 = 64;

/// Raises this process's soft open-files limit to its hard limit, as Go's runtime does at
/// start (the soft limit is often 1,024 while the hard one is far higher), and returns the
/// limit now in force, where the platform has one.
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
/// Every request goes through a [`Guard`] (request timeout and in-flight cap, answered in the
/// crate's JSON error shape); every connection gets hyper's header-read timeout, an idle
/// timeout, and a slot among `limits.max_connections`.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let limits = *limits;
    let files = raise_open_files_limit();
    let max_connections = match files {
        Some(files) => {
            let budget = files.saturating_sub(RESERVED_FILES).max(1);
            limits
                .max_connections
                .min(usize::try_from(budget).unwrap_or(usize::MAX))
        }
        None => limits.max_connections,
    };
    tracing::info!(
        max_connections,
        open_files_limit = files,
        max_requests = limits.max_requests,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        request_timeout = ?limits.request_timeout,
        "limits"
    );

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Tencent reuses its connections ("persistent connection mode by default"); a new TCP
        // (and TLS) handshake per webhook would eat into its 2 s budget.
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        // hyper's default of 200 streams per connection, or fewer if the whole server takes
        // fewer requests at once.
        .max_concurrent_streams(u32::try_from(limits.max_requests.min(200)).unwrap_or(200));

    let service = GuardLayer::new(&limits).layer(service);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut warned_full: Option<Instant> = None;

    loop {
        while connections.try_join_next().is_some() {}
        // A slot first, then accept: when every slot is taken, connections wait in the backlog.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(
                        max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    warned_full = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors or memory, or a connection reset before it was
                // accepted: not fatal, but do not spin on it.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small answers to small requests: send each write at once (no Nagle delay).
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = TowerToHyperService::new(Tracked {
            inner: service.clone(),
            activity: activity.clone(),
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        connections.spawn(drive(
            connection,
            slot,
            activity,
            limits,
            stopping.clone(),
            peer,
        ));
    }

    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace = ?limits.shutdown_grace,
            "connections still busy after the grace period; closing them"
        );
        connections.shutdown().await;
    }
}

/// Runs one connection until it ends, is idle too long, or the server stops; the slot is
/// released when this returns.
async fn drive<S, B>(
    connection: auto::Connection<'static, TokioIo<tokio::net::TcpStream>, S, TokioExecutor>,
    _slot: OwnedSemaphorePermit,
    activity: Arc<Activity>,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut connection = pin!(connection);
    let why = tokio::select! {
        ended = connection.as_mut() => {
            if let Err(e) = ended {
                // Includes hyper's "read header from client timeout".
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            return;
        }
        why = activity.idle(&limits) => why,
        _ = stopping.wait_for(|stop| *stop) => "shutdown",
    };
    tracing::debug!(%peer, reason = why, "closing connection");
    // HTTP/1: closes at once if no request is in progress; HTTP/2: GOAWAY, then the streams in
    // flight finish; during protocol sniffing: closes.
    connection.as_mut().graceful_shutdown();
    if why == "shutdown" {
        // The server's grace period bounds this.
        let _ = connection.await;
    } else if tokio::time::timeout(limits.request_timeout, connection)
        .await
        .is_err()
    {
        tracing::debug!(%peer, "connection did not close in time; dropped");
    }
}

/// What one connection is doing, for its idle timeout.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// When the last request ended, in ms after `opened`; `u64::MAX` before the first.
    last_done_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// When the connection counts as idle if nothing happens until then; `None` while a request
    /// is in flight. Before its first request a connection has `header_read_timeout`, as hyper
    /// gives it (hyper's clock only starts once the protocol is known).
    fn idle_at(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.last_done_ms.load(Ordering::Acquire) {
            u64::MAX => Some(self.opened + limits.header_read_timeout),
            ms => Some(self.opened + Duration::from_millis(ms) + limits.idle_timeout),
        }
    }

    /// Completes once the connection is idle, saying how.
    async fn idle(&self, limits: &Limits) -> &'static str {
        loop {
            match self.idle_at(limits) {
                Some(at) if at <= Instant::now() => {
                    return match self.last_done_ms.load(Ordering::Acquire) {
                        u64::MAX => "no request within the header-read timeout",
                        _ => "idle",
                    };
                }
                Some(at) => tokio::time::sleep_until(at).await,
                // A request in flight ends within `request_timeout`; look again then.
                None => tokio::time::sleep(limits.request_timeout).await,
            }
        }
    }
}

/// Counts a connection's requests in flight: from the call until the response body has been
/// sent (or dropped), so that a long streaming response does not count as idle.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R, B> Service<R> for Tracked<S>
where
    S: Service<R, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::AcqRel);
        TrackedFuture {
            inner: self.inner.call(req),
            busy: Some(Busy(self.activity.clone())),
        }
    }
}

/// One request in flight on a connection, until dropped.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.0.last_done_ms.store(ms, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    struct TrackedFuture<F> {
        #[pin]
        inner: F,
        busy: Option<Busy>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        // On an error the request is over: `busy` is dropped with this future.
        Poll::Ready(result.map(|res| {
            res.map(|inner| TrackedBody {
                inner,
                busy: this.busy.take(),
            })
        }))
    }
}

pin_project! {
    /// A response body that keeps its request counted as in flight until it ends.
    pub struct TrackedBody<B> {
        #[pin]
        inner: B,
        busy: Option<Busy>,
    }
}

impl<B: http_body::Body> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            *this.busy = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A reply in the crate's error shape, `{"ActionStatus":"FAIL","ErrorInfo":"...","ErrorCode":
/// <status>}`, as the webhook service answers the requests it refuses.
pub fn json_error(status: StatusCode, info: impl Into<String>) -> Response<Full<Bytes>> {
    let reply = Reply::fail(u32::from(status.as_u16()), info);
    let mut response = Response::new(Full::new(Bytes::from(reply.to_json())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A request timeout and a cap on requests in flight, whose answers are JSON: what tower's
/// `Timeout`, `ConcurrencyLimit` and `LoadShed` do together, in one layer so that every refusal
/// is a reply in the crate's error shape (a 408 after `request_timeout`, a 503 when
/// `max_requests` are in flight) and so that it can be scoped to one path
/// ([`only`](Self::only)) in a server whose other routes answer their own way (gRPC).
#[derive(Clone, Debug)]
pub struct GuardLayer {
    permits: Arc<Semaphore>,
    max_requests: usize,
    timeout: Duration,
    path: Option<&'static str>,
}

impl GuardLayer {
    pub fn new(limits: &Limits) -> Self {
        GuardLayer {
            permits: Arc::new(Semaphore::new(limits.max_requests)),
            max_requests: limits.max_requests,
            timeout: limits.request_timeout,
            path: None,
        }
    }

    /// Guards only requests for `path`; the others pass through untouched.
    pub fn only(mut self, path: &'static str) -> Self {
        self.path = Some(path);
        self
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`GuardLayer`] makes.
#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    layer: GuardLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<Either<ResBody, Full<Bytes>>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Some(path) = self.layer.path
            && req.uri().path() != path
        {
            return GuardFuture::Passthrough {
                inner: self.inner.call(req),
            };
        }
        match self.layer.permits.clone().try_acquire_owned() {
            Ok(permit) => GuardFuture::Limited {
                inner: tokio::time::timeout(self.layer.timeout, self.inner.call(req)),
                timeout: self.layer.timeout,
                _permit: permit,
            },
            Err(_) => GuardFuture::Refused {
                response: Some(json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "server busy: the limit of requests in flight ({}) is reached; try again",
                        self.layer.max_requests
                    ),
                )),
            },
        }
    }
}

pin_project! {
    /// The future of a [`Guard`]ed request.
    #[project = GuardProj]
    pub enum GuardFuture<F> {
        Passthrough { #[pin] inner: F },
        Limited {
            #[pin]
            inner: tokio::time::Timeout<F>,
            timeout: Duration,
            _permit: OwnedSemaphorePermit,
        },
        Refused { response: Option<Response<Full<Bytes>>> },
    }
}

impl<F, B, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Either<B, Full<Bytes>>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardProj::Passthrough { inner } => {
                Poll::Ready(ready!(inner.poll(cx)).map(|res| res.map(Either::Left)))
            }
            GuardProj::Limited { inner, timeout, .. } => match ready!(inner.poll(cx)) {
                Ok(result) => Poll::Ready(result.map(|res| res.map(Either::Left))),
                Err(_elapsed) => {
                    let mut res = json_error(
                        StatusCode::REQUEST_TIMEOUT,
                        format!("request timed out: not answered within {timeout:?}"),
                    );
                    // The body may be half read: this connection cannot carry another request.
                    res.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    Poll::Ready(Ok(res.map(Either::Right)))
                }
            },
            GuardProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("GuardFuture polled after completion")
                .map(Either::Right))),
        }
    }
}

/// A handler that shows each kind of decision, for every family:
///
/// - messages (Official Account, one-to-one, group), through one [`moderate`] function: a text
///   containing "spam" (any case) is dropped silently; "badword" is replaced by `***`;
/// - group invites, official account subscriptions and friend requests: users whose id starts with
///   `banned_` are refused (friend requests with code 38000), the rest allowed;
/// - creating a group, a topic or an official account whose name contains "forbidden" (any case)
///   is denied with the family's code (group 10100, official account 120001).
///
/// Every event logs one line with its command, key ids and the decision taken; never a message
/// text, which is user content.
pub struct DemoHandler;

const OA_DENIED: Option<CustomErrorCode> = CustomErrorCode::new(120_001);
const GROUP_DENIED: Option<GroupErrorCode> = GroupErrorCode::new(10_100);
const FRIEND_REFUSED: Option<FriendErrorCode> = FriendErrorCode::new(38_000);

fn is_banned(user: &str) -> bool {
    user.starts_with("banned_")
}

fn is_forbidden(name: &str) -> bool {
    contains_ignoring_case(name, "forbidden")
}

/// Whether `text` contains the ASCII `word` in any case, without building a lowercase copy (no
/// other character lowercases to one of the ASCII letters these words are made of).
fn contains_ignoring_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Drop spam; mask "badword"; otherwise allow. One function for every message family: it sees a
/// message through [`MessageEvent`] and answers in the family's own code range `C`.
pub fn moderate<C: CustomCode>(msg: &impl MessageEvent) -> SendDecision<C> {
    if msg.texts().any(|t| contains_ignoring_case(t, "spam")) {
        return SendDecision::Drop;
    }
    // Most messages need no mask: only those are copied and rewritten.
    if !msg.texts().any(|t| t.contains("badword")) {
        return SendDecision::Allow;
    }
    match msg.rewrite_texts(|t| t.replace("badword", "***")) {
        Some(body) => SendDecision::rewrite_body(body),
        None => SendDecision::Allow,
    }
}

/// Moderates a message event and logs it.
fn moderated<C: CustomCode>(ctx: &RequestContext, msg: &impl MessageEvent) -> SendDecision<C> {
    let decision = moderate(msg);
    let outcome = match &decision {
        SendDecision::Drop => "drop",
        SendDecision::Rewrite { .. } => "rewrite",
        _ => "allow",
    };
    tracing::info!(command = ctx.command(), sender = msg.sender(), conversation = ?msg.conversation(), decision = outcome, "event");
    decision
}

/// Denies a forbidden name with `code`, else allows; logs it.
fn gate<C: CustomCode>(ctx: &RequestContext, name: &str, code: Option<C>) -> GateDecision<C> {
    match code {
        Some(code) if is_forbidden(name) => {
            tracing::info!(command = ctx.command(), decision = "deny", "event");
            GateDecision::deny_with(code, "this name is not allowed")
        }
        _ => {
            tracing::info!(command = ctx.command(), decision = "allow", "event");
            GateDecision::Allow
        }
    }
}

/// The users to refuse among `users`; logs how many.
fn banned<'a>(ctx: &RequestContext, users: impl Iterator<Item = &'a str>) -> Vec<String> {
    let refused: Vec<String> = users.filter(|u| is_banned(u)).map(str::to_owned).collect();
    tracing::info!(
        command = ctx.command(),
        refused = refused.len(),
        decision = if refused.is_empty() {
            "allow"
        } else {
            "refuse some"
        },
        "event"
    );
    refused
}

fn friend_decision<'a>(
    ctx: &RequestContext,
    targets: impl Iterator<Item = &'a str>,
) -> FriendDecision {
    let refused = banned(ctx, targets);
    match FRIEND_REFUSED {
        Some(code) => refused
            .into_iter()
            .fold(FriendDecision::allow_all(), |d, u| {
                d.refuse(u, code, "this user cannot be added")
            }),
        None => FriendDecision::allow_all(),
    }
}

/// The ids an event is about, for a log line: the top-level id fields of its JSON (never text).
fn key_ids(event: &Event) -> String {
    const IDS: [&str; 10] = [
        "GroupId",
        "GroupID",
        "TopicId",
        "Official_Account",
        "From_Account",
        "To_Account",
        "Operator_Account",
        "Owner_Account",
        "Report_Account",
        "MsgKey",
    ];
    let json = serde_json::to_value(event).unwrap_or_default();
    let mut ids: Vec<String> = IDS
        .iter()
        .filter_map(|k| {
            json.get(*k)
                .and_then(|v| v.as_str())
                .map(|v| format!("{k}={v}"))
        })
        .collect();
    if let Some(events) = json.get("Events").and_then(|e| e.as_array()) {
        ids.push(format!("events={}", events.len()));
    }
    ids.join(" ")
}

impl Handler for DemoHandler {
    async fn on_official_account_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeSendMsg,
    ) -> HandlerResult<official_account::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_c2c_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_official_account_before_create_official_account(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeCreateOfficialAccount,
    ) -> HandlerResult<official_account::CreateOfficialAccountDecision> {
        Ok(gate(ctx, e.name.as_deref().unwrap_or_default(), OA_DENIED))
    }

    async fn on_group_before_create_group(
        &self,
        ctx: &RequestContext,
        e: group::BeforeCreateGroup,
    ) -> HandlerResult<group::CreateGroupDecision> {
        Ok(gate(
            ctx,
            e.name.as_deref().unwrap_or_default(),
            GROUP_DENIED,
        ))
    }

    async fn on_group_before_create_topic(
        &self,
        ctx: &RequestContext,
        e: group::BeforeCreateTopic,
    ) -> HandlerResult<group::CreateTopicDecision> {
        Ok(gate(
            ctx,
            e.name.as_deref().unwrap_or_default(),
            GROUP_DENIED,
        ))
    }

    async fn on_group_before_apply_join_group(
        &self,
        ctx: &RequestContext,
        e: group::BeforeApplyJoinGroup,
    ) -> HandlerResult<group::ApplyJoinGroupDecision> {
        tracing::info!(command = ctx.command(), group = %e.group_id, decision = "allow", "event");
        Ok(group::ApplyJoinGroupDecision::Allow)
    }

    async fn on_official_account_before_add_subscriber(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeAddSubscriber,
    ) -> HandlerResult<official_account::AddSubscriberDecision> {
        Ok(official_account::AddSubscriberDecision::Refuse(banned(
            ctx,
            e.subscribers(),
        )))
    }

    async fn on_group_before_invite_join_group(
        &self,
        ctx: &RequestContext,
        e: group::BeforeInviteJoinGroup,
    ) -> HandlerResult<group::InviteDecision> {
        Ok(group::InviteDecision::Refuse(banned(ctx, e.invited())))
    }

    async fn on_sns_prev_friend_add(
        &self,
        ctx: &RequestContext,
        e: sns::PrevFriendAdd,
    ) -> HandlerResult<sns::FriendDecision> {
        Ok(friend_decision(ctx, e.targets()))
    }

    async fn on_sns_prev_friend_response(
        &self,
        ctx: &RequestContext,
        e: sns::PrevFriendResponse,
    ) -> HandlerResult<sns::FriendDecision> {
        Ok(friend_decision(ctx, e.targets()))
    }

    async fn on_chatbot_on_c2c_signal_message(
        &self,
        ctx: &RequestContext,
        e: chatbot::OnC2cSignalMessage,
    ) -> HandlerResult<Reply> {
        tracing::info!(command = ctx.command(), from = %e.from_account, to = %e.to_account, decision = "ok", "event");
        Ok(Reply::ok())
    }

    async fn on_after_event(&self, ctx: &RequestContext, e: Event) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), ids = %key_ids(&e), decision = "ok", "event");
        Ok(())
    }

    async fn on_unknown(&self, ctx: &RequestContext, _e: UnknownEvent) -> HandlerResult<Reply> {
        tracing::info!(
            command = ctx.command(),
            decision = "ok",
            "event not known to this crate"
        );
        Ok(Reply::ok())
    }

    async fn on_unparsed(
        &self,
        ctx: &RequestContext,
        e: UnparsedEvent,
    ) -> HandlerResult<Option<Reply>> {
        tracing::warn!(command = ctx.command(), path = %e.path, "event body does not fit its type; default answer");
        Ok(None)
    }
}
