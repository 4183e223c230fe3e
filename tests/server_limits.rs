//! The crate's server (`server::serve`), rule by rule, end to end on 127.0.0.1 with real
//! HTTP/1.1 (raw bytes, to see every header and close) and HTTP/2 clients: which answers close
//! a connection and which keep it, what renews its idle timeout, its request cap and age, the
//! per-client connection cap, the connection's facts in the handler, hyper's own refusals
//! (documented in the `server` module), and graceful shutdown. The attacks of many clients at
//! once are in `tests/server_attacks.rs`; the examples' stacks on this server in
//! `tests/stacks.rs`.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tencent_chat_webhook::server::{self, ConnectionInfo, Limits};
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{
    Command, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookLayer, WebhookService,
    group,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::Layer;

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "limits-token-3b7c";
const PATH: &str = "/tencent/chat/webhook";

/// Answers group messages after `delay`, and records the peer each request came from.
#[derive(Clone, Default)]
struct Recording {
    delay: Duration,
    peers: Arc<Mutex<Vec<Option<SocketAddr>>>>,
}

impl Handler for Recording {
    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        let peer = ctx
            .extensions()
            .get::<ConnectionInfo>()
            .map(ConnectionInfo::peer_addr);
        self.peers.lock().unwrap().push(peer);
        tokio::time::sleep(self.delay).await;
        Ok(group::SendMsgDecision::Allow)
    }
}

/// The webhook at `PATH` and, beside it, `GET /health` answering 200 (a route that is not a
/// webhook): the shape of an app.
fn app(
    handler: Recording,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response<tencent_chat_webhook::layer::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let config = WebhookConfig::builder(APP)
        .token(TOKEN)
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let health = tower::service_fn(|req: Request<Incoming>| async move {
        let status = if req.uri().path() == "/health" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
        *res.status_mut() = status;
        Ok::<_, Infallible>(res)
    });
    WebhookLayer::new(PATH, WebhookService::new(config, handler)).layer(health)
}

/// A running server and what stops it.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn start(handler: Recording, limits: Limits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, app(handler), limits, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

fn limits_with(set: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    set(&mut limits);
    limits
}

fn signed() -> SignedRequest {
    SignedRequest::sample(Command::GroupBeforeSendMsg)
        .app_id(APP)
        .token(TOKEN)
}

/// The raw HTTP/1.1 bytes of a signed webhook.
fn raw_webhook(req: &SignedRequest) -> Vec<u8> {
    let body = req.body_text();
    format!(
        "POST {} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        req.path_and_query(),
        body.len()
    )
    .into_bytes()
}

fn raw_get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").into_bytes()
}

/// One HTTP/1.1 response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn says_close(&self) -> bool {
        self.head.lines().any(|l| l == "connection: close")
    }
}

/// Reads one response from `stream` (a body framed by `content-length`), or `None` when the
/// connection is closed first; gives up after 5 s.
async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if raw.len() >= end + 4 + length {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                let body = raw[end + 4..end + 4 + length].to_vec();
                return Some(Answer { status, head, body });
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Err(_) => panic!("no answer and no close within 5 s: {raw:?}"),
        }
    }
}

/// Whether the server has closed `stream`, waiting up to `within` for it.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// An HTTP/2 connection to `addr`: the sender, and the connection's task (which ends when the
/// server closes the connection).
async fn h2(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    JoinHandle<Result<(), hyper::Error>>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    (sender, tokio::spawn(connection))
}

async fn h2_send(
    sender: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    req: &SignedRequest,
) -> Result<StatusCode, hyper::Error> {
    let (mut parts, body) = req.build().into_parts();
    parts.uri = format!("http://{addr}{}", req.path_and_query())
        .parse()
        .unwrap();
    sender.ready().await?;
    let res = sender
        .send_request(Request::from_parts(parts, Full::new(Bytes::from(body))))
        .await?;
    let status = res.status();
    res.into_body().collect().await?;
    Ok(status)
}

/// A webhook keeps its connection; every kind of refused request closes it, with
/// `Connection: close` over HTTP/1; another route's answer keeps it.
#[tokio::test]
async fn refused_requests_close_their_http1_connection() {
    let server = start(Recording::default(), Limits::default()).await;
    let unsigned = signed().unsigned();
    let wrong = signed().token("guess");
    // (name, the request, its status, whether it closes)
    let cases: [(&str, Vec<u8>, u16, bool); 6] = [
        ("a webhook", raw_webhook(&signed()), 200, false),
        ("another route", raw_get("/health"), 200, false),
        ("unsigned", raw_webhook(&unsigned), 401, true),
        ("a wrong token", raw_webhook(&wrong), 401, true),
        ("a GET on the webhook", raw_get(PATH), 405, true),
        ("a router's 404", raw_get("/nope"), 404, true),
    ];
    for (name, raw, status, closes) in cases {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&raw).await.unwrap();
        let answer = read_answer(&mut stream).await.expect(name);
        assert_eq!(answer.status, status, "{name}: {answer:?}");
        assert_eq!(answer.says_close(), closes, "{name}: {answer:?}");
        assert_eq!(
            closed_within(&mut stream, Duration::from_millis(500)).await,
            closes,
            "{name}: closed?"
        );
        if !closes {
            // Still serving: a webhook on the same connection.
            stream.write_all(&raw_webhook(&signed())).await.unwrap();
            let next = read_answer(&mut stream).await.expect(name);
            assert_eq!(next.status, 200, "{name}: the next request: {next:?}");
        }
    }
    stop(server).await;
}

/// Over HTTP/2 a refused request ends its connection with a GOAWAY (a webhook does not).
#[tokio::test]
async fn a_refused_request_ends_its_http2_connection() {
    let server = start(Recording::default(), Limits::default()).await;
    let (mut sender, connection) = h2(server.addr).await;
    for _ in 0..3 {
        assert_eq!(
            h2_send(&mut sender, server.addr, &signed()).await.unwrap(),
            200
        );
    }
    assert!(!connection.is_finished());
    let status = h2_send(&mut sender, server.addr, &signed().unsigned())
        .await
        .unwrap();
    assert_eq!(status, 401);
    tokio::time::timeout(Duration::from_secs(2), connection)
        .await
        .expect("the connection was not closed after a refused request")
        .unwrap()
        .unwrap();
    stop(server).await;
}

/// Only webhooks renew a connection's idle timeout: a connection that only carries another
/// route's requests is closed `idle_timeout` after it opened, however often it sends them.
#[tokio::test]
async fn only_webhooks_renew_the_idle_timeout() {
    let idle_timeout = Duration::from_millis(600);
    let limits = limits_with(|l| l.idle_timeout = idle_timeout);
    let server = start(Recording::default(), limits).await;
    let every = Duration::from_millis(100);
    // (name, the request sent every 100 ms, whether the server closes the connection)
    let cases = [
        ("health probes", raw_get("/health"), true),
        ("webhooks", raw_webhook(&signed()), false),
    ];
    for (name, raw, closes) in cases {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let opened = Instant::now();
        // The server sees the connection before its first request, as a slow client's: the
        // header-read timeout (5 s) must give way to the idle timeout once a request starts.
        tokio::time::sleep(every).await;
        let closed_at = loop {
            if opened.elapsed() > 3 * idle_timeout {
                break None;
            }
            if stream.write_all(&raw).await.is_err() {
                break Some(opened.elapsed());
            }
            match read_answer(&mut stream).await {
                Some(answer) => assert_eq!(answer.status, 200, "{name}: {answer:?}"),
                None => break Some(opened.elapsed()),
            }
            tokio::time::sleep(every).await;
        };
        match (closes, closed_at) {
            (true, Some(at)) => assert!(
                at >= idle_timeout && at < idle_timeout + Duration::from_secs(1),
                "{name}: closed after {at:?}, idle timeout {idle_timeout:?}"
            ),
            (false, None) => {}
            (_, at) => panic!("{name}: closed at {at:?}, expected closed: {closes}"),
        }
    }
    stop(server).await;
}

/// The last request a connection may carry says `Connection: close` (HTTP/1) or is followed
/// by a GOAWAY (HTTP/2).
#[tokio::test]
async fn a_connection_ends_after_its_request_cap() {
    let limits = limits_with(|l| l.max_requests_per_connection = 3);
    let server = start(Recording::default(), limits).await;

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for n in 1..=3 {
        stream.write_all(&raw_webhook(&signed())).await.unwrap();
        let answer = read_answer(&mut stream).await.unwrap();
        assert_eq!(answer.status, 200, "request {n}");
        assert_eq!(answer.says_close(), n == 3, "request {n}: {answer:?}");
    }
    assert!(closed_within(&mut stream, Duration::from_secs(1)).await);

    let (mut sender, connection) = h2(server.addr).await;
    for n in 1..=3 {
        assert_eq!(
            h2_send(&mut sender, server.addr, &signed()).await.unwrap(),
            200,
            "stream {n}"
        );
    }
    tokio::time::timeout(Duration::from_secs(2), connection)
        .await
        .expect("the HTTP/2 connection outlived its request cap")
        .unwrap()
        .unwrap();
    stop(server).await;
}

/// A connection busy with webhooks is still closed at its maximum age: HTTP/2 with a GOAWAY,
/// its requests in flight answered.
#[tokio::test]
async fn a_busy_connection_ends_at_its_age() {
    let max_age = Duration::from_millis(500);
    let limits = limits_with(|l| l.max_connection_age = max_age);
    let server = start(Recording::default(), limits).await;
    let (mut sender, connection) = h2(server.addr).await;
    let opened = Instant::now();
    let mut answered = 0;
    while !connection.is_finished() && opened.elapsed() < Duration::from_secs(3) {
        match h2_send(&mut sender, server.addr, &signed()).await {
            Ok(status) => {
                assert_eq!(status, 200);
                answered += 1;
            }
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::timeout(Duration::from_secs(2), connection)
        .await
        .expect("the connection outlived its age")
        .unwrap()
        .unwrap();
    let lived = opened.elapsed();
    assert!(
        lived >= max_age && lived < max_age + Duration::from_secs(1),
        "closed after {lived:?}, age {max_age:?}"
    );
    assert!(answered >= 3, "{answered}");
    stop(server).await;
}

/// A TCP connection from `ip`.
async fn connect_from(addr: SocketAddr, ip: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Past its per-client cap, a client's new connection closes that client's idlest one; other
/// clients' connections are not touched. The handler sees each request's peer.
#[tokio::test]
async fn the_per_client_cap_closes_that_clients_idlest_connection() {
    let limits = limits_with(|l| l.max_connections_per_client = 2);
    let handler = Recording::default();
    let server = start(handler.clone(), limits).await;
    let (a, b) = (Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3));
    let mut a_oldest = connect_from(server.addr, a).await;
    let mut b_only = connect_from(server.addr, b).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut a_newer = connect_from(server.addr, a).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut a_third = connect_from(server.addr, a).await;
    a_third.write_all(&raw_webhook(&signed())).await.unwrap();
    assert_eq!(read_answer(&mut a_third).await.unwrap().status, 200);

    assert!(
        closed_within(&mut a_oldest, Duration::from_secs(1)).await,
        "the client's idlest connection is still open"
    );
    for (name, stream) in [
        ("the newer one", &mut a_newer),
        ("the other client's", &mut b_only),
    ] {
        assert!(
            !closed_within(stream, Duration::from_millis(200)).await,
            "{name} was closed"
        );
    }
    // Each still serves, and the handler sees where each request came from.
    for stream in [&mut a_newer, &mut b_only] {
        stream.write_all(&raw_webhook(&signed())).await.unwrap();
        assert_eq!(read_answer(stream).await.unwrap().status, 200);
    }
    let peers = handler.peers.lock().unwrap().clone();
    let want = [&a_third, &a_newer, &b_only].map(|s| Some(s.local_addr().unwrap()));
    assert_eq!(peers, want);
    stop(server).await;
}

/// What hyper refuses before any service sees the request, as the `server` module documents:
/// its own status, an empty body, and a close.
#[tokio::test]
async fn hyper_refuses_some_heads_itself_with_an_empty_body() {
    let long_header = format!(
        "POST {PATH} HTTP/1.1\r\nhost: test\r\nx-pad: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let many_headers = format!(
        "GET /health HTTP/1.1\r\nhost: test\r\n{}\r\n",
        (0..101)
            .map(|i| format!("x-{i}: 1\r\n"))
            .collect::<String>()
    );
    let long_uri = format!(
        "GET /{} HTTP/1.1\r\nhost: test\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let big_buffer = limits_with(|l| l.max_header_bytes = 128 * 1024);
    // (name, limits, raw bytes, hyper's status)
    let cases = [
        (
            "a head over max_header_bytes",
            Limits::default(),
            long_header,
            431,
        ),
        (
            "more than 100 headers",
            Limits::default(),
            many_headers,
            431,
        ),
        (
            "a request target of 64 KiB or more",
            big_buffer,
            long_uri,
            414,
        ),
        (
            "a request line that does not parse",
            Limits::default(),
            "GARBAGE\r\n\r\n".to_owned(),
            400,
        ),
        (
            "a content-length that is not a number",
            Limits::default(),
            format!("POST {PATH} HTTP/1.1\r\nhost: test\r\ncontent-length: ten\r\n\r\n"),
            400,
        ),
        (
            "two different content-lengths",
            Limits::default(),
            format!(
                "POST {PATH} HTTP/1.1\r\nhost: test\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n"
            ),
            400,
        ),
        (
            "a transfer-encoding that does not end in chunked",
            Limits::default(),
            format!("POST {PATH} HTTP/1.1\r\nhost: test\r\ntransfer-encoding: gzip\r\n\r\n"),
            400,
        ),
    ];
    for (name, limits, raw, status) in cases {
        let handler = Recording::default();
        let server = start(handler.clone(), limits).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // The server may answer and close before reading it all: a failed write is fine.
        let _ = stream.write_all(raw.as_bytes()).await;
        let answer = read_answer(&mut stream).await.expect(name);
        assert_eq!(answer.status, status, "{name}: {answer:?}");
        assert!(answer.body.is_empty(), "{name}: {answer:?}");
        assert!(answer.says_close(), "{name}: {answer:?}");
        assert!(handler.peers.lock().unwrap().is_empty(), "{name}");
        stop(server).await;
    }

    // HTTP/2: a header block over max_header_bytes is answered 431 by h2, empty.
    let server = start(Recording::default(), Limits::default()).await;
    let (mut sender, _connection) = h2(server.addr).await;
    let req = Request::post(format!("http://{}{PATH}", server.addr))
        .header("x-pad", "a".repeat(20 * 1024))
        .body(Full::new(Bytes::new()))
        .unwrap();
    sender.ready().await.unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), 431);
    assert!(
        res.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );
    stop(server).await;
}

async fn stop(server: Running) {
    let _ = server.stop.send(());
    tokio::time::timeout(Duration::from_secs(15), server.task)
        .await
        .expect("graceful shutdown did not finish")
        .unwrap();
}

/// At shutdown the server stops accepting at once, answers the requests in flight, and
/// returns; a request still running at the end of the grace period has its connection closed
/// then, without an answer.
#[tokio::test]
async fn shutdown_finishes_requests_in_flight_within_the_grace_period() {
    let grace = Duration::from_millis(600);
    // (name, how long the handler takes, whether it is answered)
    let cases = [
        ("within the grace", Duration::from_millis(300), true),
        ("past the grace", Duration::from_secs(3), false),
    ];
    for (name, delay, answered) in cases {
        let limits = limits_with(|l| {
            l.shutdown_grace = grace;
            l.request_timeout = Duration::from_secs(10);
        });
        let handler = Recording {
            delay,
            ..Recording::default()
        };
        let server = start(handler.clone(), limits).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&raw_webhook(&signed())).await.unwrap();
        // The request is in the handler, then the server is told to stop.
        while handler.peers.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stopping = Instant::now();
        server.stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            TcpStream::connect(server.addr).await.is_err(),
            "{name}: still accepting"
        );
        let answer = read_answer(&mut stream).await;
        assert_eq!(
            answer.as_ref().map(|a| a.status),
            answered.then_some(200),
            "{name}: {answer:?}"
        );
        if let Some(answer) = answer {
            // Shutting down: the answer says so, and the connection closes after it.
            assert!(answer.says_close(), "{name}: {answer:?}");
        }
        tokio::time::timeout(Duration::from_secs(2), server.task)
            .await
            .unwrap_or_else(|_| panic!("{name}: serve did not return"))
            .unwrap();
        let took = stopping.elapsed();
        assert!(
            took < grace + Duration::from_secs(1),
            "{name}: stopped after {took:?}, grace {grace:?}"
        );
    }
}
