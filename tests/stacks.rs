//! End to end, over real sockets: each example's server (the quickstart, axum, raw hyper, tonic
//! with gRPC-web) started on an ephemeral loopback port with the examples' own functions, talked
//! to with real HTTP/1.1, HTTP/2 and gRPC clients; the crate's server's limits (half-open,
//! silent, idle and slow clients, connection and request caps), with short timeouts; and
//! compile-time proof that the service satisfies each stack's bounds. The attacks of many cheap
//! clients at once are in `tests/server_attacks.rs`.
// Each example is its own binary and brings its own copy of the shared demo module; including
// the examples here loads that file once per example, which is what this test wants.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/axum.rs"]
#[allow(dead_code, unreachable_pub)]
mod axum_example;
#[path = "../examples/common/demo.rs"]
mod demo;
#[path = "../examples/tonic_web.rs"]
#[allow(dead_code, unreachable_pub)]
mod tonic_example;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{
    Command, Event, Handler, HandlerResult, Reply, RequestContext, UnknownEvent, WebhookConfig,
    WebhookLayer, WebhookService,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "e2e-token-8c2d";
const PATH: &str = "/tencent/chat/webhook";

fn webhook() -> WebhookService {
    let config = WebhookConfig::builder(APP).token(TOKEN).build().unwrap();
    WebhookService::new(config, demo::DemoHandler)
}

/// The webhook as the examples configure it by default: demo app id and token, which is what
/// `SignedRequest` signs with unless told otherwise.
fn demo_webhook() -> WebhookService {
    assert_eq!(
        (demo::DEFAULT_APP_ID, demo::DEMO_TOKEN),
        (test_util::DEMO_APP_ID, test_util::DEMO_TOKEN)
    );
    let config = WebhookConfig::builder(demo::DEFAULT_APP_ID)
        .token(demo::DEMO_TOKEN)
        .build()
        .unwrap();
    WebhookService::new(config, demo::DemoHandler)
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// An HTTP connector that counts the TCP connections it opens, to prove keep-alive.
#[derive(Clone)]
struct Counting {
    inner: HttpConnector,
    opened: Arc<AtomicUsize>,
}

impl tower::Service<Uri> for Counting {
    type Response = <HttpConnector as tower::Service<Uri>>::Response;
    type Error = <HttpConnector as tower::Service<Uri>>::Error;
    type Future = <HttpConnector as tower::Service<Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.inner.call(uri)
    }
}

type HttpClient = Client<Counting, Full<Bytes>>;

fn client(http2: bool) -> (HttpClient, Arc<AtomicUsize>) {
    let opened = Arc::new(AtomicUsize::new(0));
    let mut inner = HttpConnector::new();
    inner.set_nodelay(true);
    let connector = Counting {
        inner,
        opened: opened.clone(),
    };
    let client = Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build(connector);
    (client, opened)
}

/// Sends `req` (with its path) to `addr` and returns status and body.
async fn send(client: &HttpClient, addr: SocketAddr, req: Request<String>) -> (StatusCode, Bytes) {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = format!("http://{addr}{path}").parse().unwrap();
    let req = Request::from_parts(parts, Full::new(Bytes::from(body)));
    let res = client.request(req).await.unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

fn json(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
}

fn get(path: &str) -> Request<String> {
    Request::get(path).body(String::new()).unwrap()
}

/// The webhook checks every stack must pass: a typed decision, the rejections, and 50
/// concurrent webhooks twice over kept-alive connections.
async fn webhook_checks(stack: &str, client: &HttpClient, opened: &AtomicUsize, addr: SocketAddr) {
    // The demo's decisions, one row per family and kind of answer.
    let text = |t: &str| json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]);
    let cases = [
        (
            "official account spam is dropped",
            json!({"CallbackCommand": "OfficialAccount.CallbackBeforeSendMsg",
                   "Official_Account": "@TOA#_e2e", "MsgBody": text("buy spam now")}),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 2}),
        ),
        (
            "one-to-one SPAM is dropped",
            json!({"CallbackCommand": "C2C.CallbackBeforeSendMsg", "From_Account": "a",
                   "To_Account": "b", "MsgBody": text("Buy SPAM")}),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 2}),
        ),
        (
            "a group badword is masked",
            json!({"CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": "@TGS#1",
                   "From_Account": "a", "MsgBody": text("a badword, another badword")}),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
                   "MsgBody": text("a ***, another ***")}),
        ),
        (
            "banned subscribers are refused",
            json!({"CallbackCommand": "OfficialAccount.CallbackBeforeAddSubscriber",
                   "Official_Account": "@TOA#_e2e", "Operator_Account": "admin",
                   "SubscribeAccountList": [{"Subscriber_Account": "banned_bob"}, {"Subscriber_Account": "alice"}]}),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
                   "RefusedSubscribers_Account": ["banned_bob"]}),
        ),
        (
            "banned invitees are refused",
            json!({"CallbackCommand": "Group.CallbackBeforeInviteJoinGroup", "GroupId": "@TGS#1",
                   "Operator_Account": "admin",
                   "DestinationMembers": [{"Member_Account": "ann"}, {"Member_Account": "banned_bo"}]}),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
                   "RefusedMembers_Account": ["banned_bo"]}),
        ),
        (
            "a banned friend is refused with a friend code",
            json!({"CallbackCommand": "Sns.CallbackPrevFriendAdd", "Requester_Account": "a",
                   "From_Account": "a", "FriendItem": [{"To_Account": "banned_x"}, {"To_Account": "y"}]}),
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ResultItem": [
                {"To_Account": "banned_x", "ResultCode": 38000, "ResultInfo": "this user cannot be added"},
                {"To_Account": "y", "ResultCode": 0, "ResultInfo": ""}]}),
        ),
        (
            "a forbidden group name is denied with a group code",
            json!({"CallbackCommand": "Group.CallbackBeforeCreateGroup", "Operator_Account": "a",
                   "Owner_Account": "a", "Type": "Public", "Name": "FORBIDDEN club"}),
            json!({"ActionStatus": "OK", "ErrorInfo": "this name is not allowed", "ErrorCode": 10100}),
        ),
        (
            "a forbidden topic name is denied with a group code",
            json!({"CallbackCommand": "Group.CallbackBeforeCreateTopic", "Operator_Account": "a",
                   "Type": "Community", "Name": "forbidden topic"}),
            json!({"ActionStatus": "OK", "ErrorInfo": "this name is not allowed", "ErrorCode": 10100}),
        ),
        (
            "a forbidden account name is denied with an account code",
            json!({"CallbackCommand": "OfficialAccount.CallbackBeforeCreateOfficialAccount",
                   "Operator_Account": "a", "Owner_Account": "a", "Name": "Forbidden news"}),
            json!({"ActionStatus": "OK", "ErrorInfo": "this name is not allowed", "ErrorCode": 120001}),
        ),
    ];
    for (name, body, want) in cases {
        let command = body["CallbackCommand"].as_str().unwrap().to_owned();
        let req = SignedRequest::new(command, body.to_string())
            .app_id(APP)
            .token(TOKEN)
            .build();
        let (status, got) = send(client, addr, req).await;
        assert_eq!(status, 200, "{stack}: {name}: {got:?}");
        assert_eq!(json(&got), want, "{stack}: {name}");
    }

    let unsigned = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .app_id(APP)
        .unsigned()
        .build();
    let wrong = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .app_id(APP)
        .token("guess")
        .build();
    for (name, req) in [("unsigned", unsigned), ("wrong token", wrong)] {
        let (status, body) = send(client, addr, req).await;
        assert_eq!(status, 401, "{stack}: {name}");
        assert_eq!(json(&body)["ActionStatus"], "FAIL", "{stack}: {name}");
        assert!(
            !String::from_utf8_lossy(&body).contains(TOKEN),
            "{stack}: {name}"
        );
    }

    // 50 at once, twice: all succeed, and the second round reuses the first round's connections.
    // (The crate's server closes the connection of each refused request above: up to two more.)
    for round in 0..2 {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    let req = SignedRequest::sample(Command::OfficialAccountAfterSendMsg)
                        .app_id(APP)
                        .token(TOKEN)
                        .build();
                    send(&client, addr, req).await
                })
            })
            .collect();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, 200, "{stack}: round {round}");
            assert_eq!(json(&body)["ErrorCode"], 0, "{stack}: round {round}");
        }
    }
    let connections = opened.load(Ordering::SeqCst);
    assert!(
        connections <= 52,
        "{stack}: {connections} connections for 104 requests; keep-alive is not working"
    );
}

/// The default limits, changed by `set`.
fn limits_with(set: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    set(&mut limits);
    limits
}

/// A server of the crate's (`server::serve`), running until stopped.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts `server::serve` (the quickstart's, the axum and the hyper example's server) with
/// `service` and `limits` on an ephemeral loopback port.
async fn start<S, B>(service: S, limits: Limits) -> Running
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (listener, addr) = listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::serve(listener, service, limits, async {
            let _ = stopped.await;
        })
        .await;
    });
    Running { addr, stop, task }
}

impl Running {
    /// Stops the server and waits (boundedly) for its graceful shutdown.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("graceful shutdown did not finish")
            .unwrap();
        // Stopped means stopped: nothing listens any more.
        assert!(TcpStream::connect(self.addr).await.is_err());
    }
}

/// The three stacks that run on `server::serve`, by name, each with its app.
fn hardened_stacks() -> Vec<(&'static str, Limits, AppKind)> {
    let limits = Limits::default();
    vec![
        ("quickstart", limits, AppKind::Quickstart),
        ("axum", limits, AppKind::Axum),
        ("hyper", limits, AppKind::Hyper),
    ]
}

#[derive(Clone, Copy, Debug)]
enum AppKind {
    Quickstart,
    Axum,
    Hyper,
}

async fn start_app(kind: AppKind, webhook: WebhookService, limits: Limits) -> Running {
    match kind {
        AppKind::Quickstart => start(demo::app(webhook), limits).await,
        AppKind::Axum => start(axum_example::app(webhook), limits).await,
        AppKind::Hyper => start(webhook, limits).await,
    }
}

#[tokio::test]
async fn quickstart_app() {
    let server = start(demo::app(webhook()), Limits::default()).await;
    for http2 in [false, true] {
        let (client, opened) = client(http2);
        let stack = if http2 {
            "quickstart h2"
        } else {
            "quickstart h1"
        };
        webhook_checks(stack, &client, &opened, server.addr).await;
        // A path that is not the webhook's (a trailing slash given to the console) gets a
        // JSON 404 that names the right one.
        let (status, body) = send(&client, server.addr, get("/tencent/chat/webhook/")).await;
        assert_eq!(status, 404, "{stack}");
        assert_eq!(
            json(&body)["ErrorInfo"],
            "no webhook at /tencent/chat/webhook/: this server takes Tencent's webhooks at /tencent/chat/webhook",
            "{stack}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn axum_route_service() {
    let server = start(axum_example::app(webhook()), Limits::default()).await;
    let addr = server.addr;
    let (client, opened) = client(false);
    webhook_checks("axum", &client, &opened, addr).await;

    // The app's other routes still work.
    let (status, body) = send(&client, addr, get("/health")).await;
    assert_eq!((status, body), (StatusCode::OK, Bytes::from_static(b"ok")));
    let (status, body) = send(&client, addr, get("/api/status")).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["status_requests"], 1);
    let (status, _) = send(&client, addr, get("/nope")).await;
    assert_eq!(status, 404);
    // The webhook's metrics, in Prometheus text format.
    let (status, body) = send(&client, addr, get("/metrics")).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(r#"tencent_chat_webhook_requests_total{command="Group.CallbackBeforeSendMsg",outcome="rewrite"}"#),
        "{text}"
    );
    assert!(
        text.contains("tencent_chat_webhook_request_duration_seconds"),
        "{text}"
    );
    // The body-limit layer in front answers before the webhook service reads anything.
    let huge = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .app_id(APP)
        .token(TOKEN)
        .build()
        .map(|_| " ".repeat(2 * 1024 * 1024));
    let (status, _) = send(&client, addr, huge).await;
    assert_eq!(status, 413);

    server.stop().await;
}

#[tokio::test]
async fn axum_layer_form() {
    let app = axum_example::app_with_layer(webhook());
    // The server hands over hyper's body; the router wants axum's.
    let app = ServiceExt::<axum::extract::Request>::map_request(app, |req: Request<Incoming>| {
        req.map(axum::body::Body::new)
    });
    let server = start(app, Limits::default()).await;
    let (client, opened) = client(false);
    webhook_checks("axum layer", &client, &opened, server.addr).await;
    let (status, body) = send(&client, server.addr, get("/health")).await;
    assert_eq!((status, body), (StatusCode::OK, Bytes::from_static(b"ok")));
    server.stop().await;
}

#[tokio::test]
async fn raw_hyper_http1_and_http2_with_graceful_shutdown() {
    let server = start(webhook(), Limits::default()).await;
    for http2 in [false, true] {
        let (client, opened) = client(http2);
        let stack = if http2 { "hyper h2" } else { "hyper h1" };
        webhook_checks(stack, &client, &opened, server.addr).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn tonic_grpc_grpc_web_and_webhook_on_one_port() {
    let (listener, addr) = listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    // The tonic example brings its own copy of the demo module, and so its own `Limits` type.
    let limits = Limits::default();
    let server = tokio::spawn(async move {
        tonic_example::serve(listener, webhook(), &limits, async {
            let _ = stopped.await;
        })
        .await
    });

    // The webhook over plain HTTP/1.1, which tonic-web alone would refuse with 400.
    let (client, opened) = client(false);
    webhook_checks("tonic", &client, &opened, addr).await;

    // Native gRPC over HTTP/2.
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        reply.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // gRPC-web over HTTP/1.1: an empty HealthCheckRequest in one uncompressed frame.
    let req = Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(String::from_utf8(vec![0, 0, 0, 0, 0]).unwrap())
        .unwrap();
    let (status, body) = send(&client, addr, req).await;
    assert_eq!(status, 200);
    // A data frame holding HealthCheckResponse{status: SERVING} (field 1, varint 1), then the
    // trailers frame (flag 0x80) with grpc-status 0.
    assert_eq!(&body[..7], &[0x00, 0, 0, 0, 2, 0x08, 0x01], "{body:?}");
    assert_eq!(body[7], 0x80, "{body:?}");
    let trailers = String::from_utf8_lossy(&body[12..]).to_ascii_lowercase();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("shutdown did not finish")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The hardened server's limits.

/// Raises this process's soft open-files limit to its hard limit and returns it.
fn open_files() -> u64 {
    let soft = rlimit::increase_nofile_limit(u64::MAX).expect("getrlimit/setrlimit");
    // On platforms without the limit the call answers with what it was asked.
    soft.min(1 << 20)
}

/// A signed webhook, head and body, as raw HTTP/1.1 text.
fn raw_webhook(req: &SignedRequest, content_length: usize) -> String {
    format!(
        "POST {} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n",
        req.path_and_query()
    )
}

/// Reads an HTTP/1.1 response from `stream` until the server closes it, within `limit`:
/// status, headers (lower-cased), body, and how long it took.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (u16, String, Bytes, Duration) {
    let started = Instant::now();
    let mut raw = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut raw))
        .await
        .unwrap_or_else(|_| panic!("no answer and no close within {limit:?}"))
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    (
        status,
        head.to_ascii_lowercase(),
        Bytes::from(body.to_owned()),
        took,
    )
}

/// Sends one good signed webhook (Tencent's group before-send sample, demo token) and checks
/// the answer: 200 and ErrorCode 0.
async fn good_webhook(client: &HttpClient, addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let req = SignedRequest::sample(Command::GroupBeforeSendMsg).build();
    let (status, body) = send(client, addr, req).await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(json(&body)["ErrorCode"], 0, "{body:?}");
    started.elapsed()
}

/// The slow-header attack: a thousand connections that each send half a request line (no token
/// needed) and hold it, plus some that send nothing and some that start an HTTP/2 preface. With
/// the usual 1,024 open files and no timeout, that stopped the quickstart serving anyone. Here
/// good webhooks are answered 200, promptly, over HTTP/1.1 and HTTP/2, while every one of those
/// connections is held open; then the server closes each of them at the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_half_open_connections_do_not_starve_good_webhooks() {
    const WANTED: usize = 1000;
    const SILENT: usize = 16;
    const HALF_PREFACE: usize = 16;
    let header_read_timeout = Duration::from_secs(2);

    // Each held connection costs two descriptors here (client and server end); keep a margin for
    // the tests running beside this one.
    let files = open_files();
    let fit = usize::try_from(files.saturating_sub(512) / 2)
        .unwrap_or(usize::MAX)
        .saturating_sub(SILENT + HALF_PREFACE);
    let half_lines = WANTED.min(fit);
    if half_lines < WANTED {
        println!(
            "open-files hard limit is {files}: holding {half_lines} half-open connections, not {WANTED}"
        );
    }
    assert!(
        half_lines >= 100,
        "open-files limit {files} is too low for this test"
    );

    // Every connection here comes from 127.0.0.1: the per-client cap is raised to the server's,
    // so that the held connections stay until their header-read timeout, which is what this
    // test watches (with the default cap each one past 256 would close the oldest held one;
    // tests/server_attacks.rs attacks the caps).
    let limits = limits_with(|l| {
        l.header_read_timeout = header_read_timeout;
        l.max_connections_per_client = l.max_connections;
    });
    let server = start(demo::app(demo_webhook()), limits).await;
    let addr = server.addr;

    let opening = Instant::now();
    let mut held = Vec::with_capacity(half_lines + SILENT + HALF_PREFACE);
    for i in 0..half_lines + SILENT + HALF_PREFACE {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let start: &[u8] = if i < half_lines {
            b"POST /tencent/chat/webhook?SdkAppid=1400000000&Callback"
        } else if i < half_lines + SILENT {
            b""
        } else {
            b"PRI * HTTP/2.0\r\n"
        };
        stream.write_all(start).await.unwrap();
        held.push(stream);
    }
    let opened_in = opening.elapsed();

    // Good webhooks while they are held: 50 at once over HTTP/1.1 (new connections, each
    // accepted past the held ones), then 20 over one HTTP/2 connection.
    let serving = Instant::now();
    let (h1, _) = client(false);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let h1 = h1.clone();
            tokio::spawn(async move { good_webhook(&h1, addr).await })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for task in tasks {
        slowest = slowest.max(task.await.unwrap());
    }
    let (h2, _) = client(true);
    for _ in 0..20 {
        slowest = slowest.max(good_webhook(&h2, addr).await);
    }
    let served_in = serving.elapsed();
    assert!(
        slowest < Duration::from_secs(1),
        "a good webhook took {slowest:?} (Tencent waits at most 2 s)"
    );

    // Every held connection is still open: they were all held while the webhooks were served.
    let still_held = opening.elapsed();
    assert!(
        still_held < header_read_timeout,
        "opening and serving took {still_held:?}, past the {header_read_timeout:?} timeout: too slow a machine for this test"
    );
    let mut probe = [0u8; 1];
    for (i, stream) in held.iter().enumerate() {
        match stream.try_read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("held connection {i} is not open and silent: {other:?}"),
        }
    }

    // Then the server closes each of them, at the header-read timeout (from when it was opened).
    let deadline = opening + header_read_timeout + Duration::from_secs(3);
    let closes: Vec<_> = held
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
                    Ok(Ok(0) | Err(_)) => Ok(Instant::now()),
                    Ok(Ok(n)) => Err(format!("the server wrote {:?}", &buf[..n])),
                    Err(_) => Err("still open".to_owned()),
                }
            })
        })
        .collect();
    let mut last_close = Duration::ZERO;
    let mut not_closed = Vec::new();
    for (i, close) in closes.into_iter().enumerate() {
        match close.await.unwrap() {
            Ok(at) => last_close = last_close.max(at - opening),
            Err(why) => not_closed.push((i, why)),
        }
    }
    assert!(
        not_closed.is_empty(),
        "{} of the held connections were not closed by the server (index, why; the first {half_lines} \
         sent half a request line, then {SILENT} nothing, then {HALF_PREFACE} half a preface): {:?}",
        not_closed.len(),
        &not_closed[..not_closed.len().min(5)]
    );
    assert!(
        last_close >= header_read_timeout,
        "closed after {last_close:?}, before the {header_read_timeout:?} timeout"
    );

    println!(
        "held {half_lines} connections with half a request line, {SILENT} silent and {HALF_PREFACE} \
         with half an HTTP/2 preface (opened in {opened_in:?}); 70 good webhooks answered 200 \
         meanwhile in {served_in:?}, the slowest in {slowest:?}; every held connection closed by \
         the server {last_close:?} after the first was opened (header-read timeout \
         {header_read_timeout:?})"
    );
    server.stop().await;
}

/// A signed webhook whose body arrives too slowly is answered 408, in the crate's JSON error
/// shape, at the request timeout: on every stack of the examples.
#[tokio::test]
async fn a_slow_body_is_answered_408_in_json_at_the_request_timeout() {
    let request_timeout = Duration::from_millis(300);
    let limits = limits_with(|l| {
        l.request_timeout = request_timeout;
    });
    let mut servers: Vec<(&str, SocketAddr)> = Vec::new();
    let mut running = Vec::new();
    for (name, _, kind) in hardened_stacks() {
        let server = start_app(kind, demo_webhook(), limits).await;
        servers.push((name, server.addr));
        running.push(server);
    }
    let (listener, tonic_addr) = listener().await;
    let (stop_tonic, tonic_stopped) = oneshot::channel::<()>();
    let tonic_limits = limits_with(|l| {
        l.request_timeout = request_timeout;
    });
    let tonic = tokio::spawn(async move {
        tonic_example::serve(listener, demo_webhook(), &tonic_limits, async {
            let _ = tonic_stopped.await;
        })
        .await
    });
    servers.push(("tonic", tonic_addr));

    for (stack, addr) in servers {
        let req = SignedRequest::sample(Command::GroupBeforeSendMsg);
        let body = req.body_text().as_bytes();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // The whole head and half the body, then nothing.
        stream
            .write_all(raw_webhook(&req, body.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(&body[..body.len() / 2]).await.unwrap();
        let (status, head, body, took) = read_to_close(&mut stream, Duration::from_secs(5)).await;
        assert_eq!(status, 408, "{stack}: {head}");
        assert!(
            head.contains("content-type: application/json"),
            "{stack}: {head}"
        );
        let reply = json(&body);
        assert_eq!(reply["ActionStatus"], "FAIL", "{stack}: {reply}");
        assert_eq!(reply["ErrorCode"], 408, "{stack}: {reply}");
        assert!(
            reply["ErrorInfo"].as_str().unwrap().contains("timed out"),
            "{stack}: {reply}"
        );
        assert!(
            took >= request_timeout && took < request_timeout + Duration::from_secs(1),
            "{stack}: answered after {took:?}, timeout {request_timeout:?}"
        );
    }

    for server in running {
        server.stop().await;
    }
    stop_tonic.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), tonic)
        .await
        .expect("shutdown did not finish")
        .unwrap()
        .unwrap();
}

/// Past `max_requests` in flight, a request is refused at once with a JSON 503; once the slot
/// is free again, requests are served.
#[tokio::test]
async fn requests_past_the_cap_are_shed_with_a_json_503() {
    let request_timeout = Duration::from_millis(500);
    let limits = limits_with(|l| {
        l.max_requests = 1;
        l.request_timeout = request_timeout;
    });
    let server = start(demo::app(demo_webhook()), limits).await;

    // A slow body holds the only slot until the request timeout.
    let req = SignedRequest::sample(Command::GroupBeforeSendMsg);
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(raw_webhook(&req, req.body_text().len()).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (client, _) = client(false);
    let started = Instant::now();
    let (status, body) = send(&client, server.addr, req.build()).await;
    assert!(started.elapsed() < request_timeout, "not shed at once");
    assert_eq!(status, 503, "{body:?}");
    assert_eq!(
        json(&body),
        json!({"ActionStatus": "FAIL", "ErrorInfo": "server busy: the limit of requests in flight (1) is reached; try again", "ErrorCode": 503})
    );

    let (status, ..) = read_to_close(&mut slow, Duration::from_secs(5)).await;
    assert_eq!(status, 408);
    good_webhook(&client, server.addr).await;
    server.stop().await;
}

/// When every connection slot is taken, a new connection is accepted at once and the idlest
/// connection is closed to make room: the older silent one first, and never one with a request
/// in flight.
#[tokio::test]
async fn past_the_connection_cap_the_idlest_connection_makes_room() {
    let header_read_timeout = Duration::from_secs(5);
    let limits = limits_with(|l| {
        l.max_connections = 2;
        l.header_read_timeout = header_read_timeout;
    });
    let server = start(demo_webhook(), limits).await;
    let mut oldest = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let newer = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let (client, _) = client(false);
    let took = tokio::time::timeout(Duration::from_secs(1), good_webhook(&client, server.addr))
        .await
        .expect("the new connection was not served at once");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The oldest silent connection was closed for it, long before its header-read timeout; the
    // newer one is still open.
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(1), oldest.read(&mut byte))
        .await
        .expect("the oldest connection is still open");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert!(
        matches!(newer.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the newer connection was closed too"
    );
    server.stop().await;
}

/// Idle connections are closed: an HTTP/1 one after `header_read_timeout` (hyper starts that
/// clock again once a response is sent), an HTTP/2 one after `idle_timeout`, with a GOAWAY.
#[tokio::test]
async fn idle_connections_are_closed() {
    let header_read_timeout = Duration::from_millis(300);
    let idle_timeout = Duration::from_millis(700);
    let limits = limits_with(|l| {
        l.header_read_timeout = header_read_timeout;
        l.idle_timeout = idle_timeout;
    });
    let server = start(demo_webhook(), limits).await;

    // HTTP/1.1: one request, then silence.
    let req = SignedRequest::sample(Command::GroupBeforeSendMsg);
    let mut h1 = TcpStream::connect(server.addr).await.unwrap();
    h1.write_all(raw_webhook(&req, req.body_text().len()).as_bytes())
        .await
        .unwrap();
    h1.write_all(req.body_text().as_bytes()).await.unwrap();
    let (status, head, _, took) = read_to_close(&mut h1, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        took >= header_read_timeout && took < header_read_timeout + Duration::from_secs(1),
        "an idle HTTP/1 connection closed after {took:?}"
    );

    // HTTP/2: one request, then silence; the connection ends when the server says GOAWAY.
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = req
        .build()
        .map(|body| Full::new(Bytes::from(body)))
        .map(|body| body.boxed());
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{}{}", server.addr, req.path_and_query())
        .parse()
        .unwrap();
    let answered = Instant::now();
    let res = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("an idle HTTP/2 connection was not closed")
        .unwrap()
        .unwrap();
    let took = answered.elapsed();
    assert!(
        took >= idle_timeout && took < idle_timeout + Duration::from_secs(1),
        "an idle HTTP/2 connection closed after {took:?}"
    );
    server.stop().await;
}

/// A body that sends `left` frames, one every `every`: a streaming response.
struct Trickle {
    left: usize,
    every: Duration,
    next: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        std::task::ready!(self.next.as_mut().poll(cx));
        self.left -= 1;
        let at = tokio::time::Instant::now() + self.every;
        self.next.as_mut().reset(at);
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
            b"tick\n",
        )))))
    }
}

/// A response still being sent is not idle: a stream that lasts longer than every timeout is
/// delivered whole.
#[tokio::test]
async fn a_long_streaming_response_is_not_cut_as_idle() {
    let short = Duration::from_millis(300);
    let limits = limits_with(|l| {
        l.header_read_timeout = short;
        l.idle_timeout = short;
        l.request_timeout = short;
    });
    let every = Duration::from_millis(100);
    let app = tower::service_fn(move |_req: Request<Incoming>| async move {
        let body = Trickle {
            left: 10,
            every,
            next: Box::pin(tokio::time::sleep(every)),
        };
        Ok::<_, Infallible>(Response::new(body))
    });
    let server = start(app, limits).await;
    let (client, _) = client(false);
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(5),
        send(&client, server.addr, get("/stream")),
    )
    .await
    .expect("the stream did not end");
    assert_eq!(status, 200);
    assert_eq!(body, "tick\n".repeat(10), "after {:?}", started.elapsed());
    assert!(started.elapsed() >= 3 * short);
    server.stop().await;
}

/// A taken address is reported in one line that names it and says how to pick another.
#[tokio::test]
async fn a_taken_address_is_reported_plainly() {
    let (_taken, addr) = listener().await;
    let error = demo::bind(addr).await.unwrap_err();
    assert_eq!(
        error,
        format!(
            "cannot listen on {addr}: address already in use; set LISTEN_ADDR to another address"
        )
    );
}

// ---------------------------------------------------------------------------------------------
// TUICallKit and TUIRoomKit callbacks, which use Chat's envelope, over real sockets.

/// Records every after-event with its command, and every unknown command, and answers OK.
#[derive(Default)]
struct AfterRecorder(std::sync::Mutex<Vec<Event>>);

impl Handler for AfterRecorder {
    async fn on_after_event(&self, _ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
    async fn on_unknown(&self, _ctx: &RequestContext, event: UnknownEvent) -> HandlerResult<Reply> {
        self.0.lock().unwrap().push(Event::Unknown(event));
        Ok(Reply::ok())
    }
}

impl AfterRecorder {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Every `Call.*`, `Room.*` and `Mic.*` sample, sent over HTTP/1.1 to a server on the loopback,
/// reaches its typed event (not `on_unknown`) with its ids as sent, numbers included, and is
/// answered OK. Then the documented way to take Call callbacks if Tencent sends them unsigned (the
/// Call backend is configured by REST with a URL and no token): a URL of their own, served
/// without the signature check, while Chat's signed URL still refuses them.
#[tokio::test]
async fn call_and_room_callbacks_reach_their_typed_events_over_http() {
    let recorder = Arc::new(AfterRecorder::default());
    let signed = WebhookService::from_arc(
        WebhookConfig::builder(APP).token(TOKEN).build().unwrap(),
        recorder.clone(),
    );
    let server = start(signed, Limits::default()).await;
    let (client, _) = client(false);
    let families = ["Call.", "Room.", "Mic."];
    let commands: Vec<Command> = Command::ALL
        .iter()
        .copied()
        .filter(|c| families.iter().any(|f| c.as_str().starts_with(f)))
        .collect();
    assert_eq!(commands.len(), 9, "3 Call, 5 Room and 1 Mic commands");
    for &command in &commands {
        let req = SignedRequest::sample(command)
            .app_id(APP)
            .token(TOKEN)
            .build();
        let (status, body) = send(&client, server.addr, req).await;
        assert_eq!(status, StatusCode::OK, "{command}: {body:?}");
        assert_eq!(
            json(&body),
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}),
            "{command}"
        );
        let seen = recorder.take();
        let expected = Event::parse(command.as_str(), test_util::sample(command).as_bytes());
        assert_eq!(seen, [expected.unwrap()], "{command}");
        assert_eq!(
            seen[0].command(),
            Some(command),
            "{command}: typed, not unknown"
        );
        // Written back, the event is the JSON that was sent: numeric ids as numbers, and the
        // update sample's flag sent as the string "false" as that string.
        let sent: Value = serde_json::from_str(test_util::sample(command)).unwrap();
        assert_eq!(serde_json::to_value(&seen[0]).unwrap(), sent, "{command}");
    }

    let unsigned = |command| {
        SignedRequest::sample(command)
            .app_id(APP)
            .unsigned()
            .build()
    };
    let start_call = Command::CallAfterStart;
    let (status, _) = send(&client, server.addr, unsigned(start_call)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "Chat's URL stays signed");
    assert!(recorder.take().is_empty());
    let calls = start(
        WebhookService::from_arc(
            WebhookConfig::builder(APP)
                .without_signature_check()
                .build()
                .unwrap(),
            recorder.clone(),
        ),
        Limits::default(),
    )
    .await;
    let (status, body) = send(&client, calls.addr, unsigned(start_call)).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let Some(Event::CallAfterStart(call)) = recorder.take().pop() else {
        panic!("not typed as a started call")
    };
    let members: Vec<(&str, bool)> = call
        .user_list
        .iter()
        .map(|m| (m.user_account.as_str(), m.user_account.is_numeric()))
        .collect();
    assert_eq!(
        members,
        [("144115212830834855", true), ("144115212948889925", true)]
    );
    calls.stop().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Compile-time proof that the service satisfies each stack's bounds. These functions are never
// called: if a change breaks a stack, this file stops compiling, here and not in a user's crate.

#[allow(dead_code)]
fn axum_route_service_accepts_the_service() {
    let _: axum::Router = axum::Router::new().route_service(PATH, webhook());
}

#[allow(dead_code)]
fn hyper_util_adapter_accepts_the_service() {
    fn is_hyper_service<S: hyper::service::Service<Request<hyper::body::Incoming>>>(_: &S) {}
    let service = hyper_util::service::TowerToHyperService::new(webhook());
    is_hyper_service(&service);
    // And hyper-util's auto builder takes it.
    fn serve_bounds(io: hyper_util::rt::TokioIo<tokio::net::TcpStream>) {
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let _conn =
            builder.serve_connection(io, hyper_util::service::TowerToHyperService::new(webhook()));
    }
    let _ = serve_bounds;
}

#[allow(dead_code)]
async fn tonic_server_layer_accepts_the_layer() {
    let (_, health) = tonic_health::server::health_reporter();
    let _ = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(WebhookLayer::new(PATH, webhook()))
        .layer(tonic_web::GrpcWebLayer::new())
        .add_service(health)
        .serve("127.0.0.1:0".parse().unwrap())
        .await;
}

/// What the tonic example's docs say: tonic's routes are a tower service, so the same stack
/// runs on the hardened server too.
#[allow(dead_code)]
async fn tonic_routes_run_on_the_hardened_server(listener: TcpListener) {
    let (_, health) = tonic_health::server::health_reporter();
    let app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(PATH, webhook()))
        .layer(tonic_web::GrpcWebLayer::new())
        .service(tonic::service::Routes::new(health));
    server::serve(listener, app, Limits::default(), std::future::pending()).await;
}
