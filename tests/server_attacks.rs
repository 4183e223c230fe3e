//! Cheap clients against the crate's server, end to end on 127.0.0.1: for each attack shape, a
//! few hundred attacking connections and 100 good signed webhooks, of which at least 95 must be
//! answered (200, the demo handler's reply) within Tencent's 2 s.
//!
//! The server is the quickstart's (the demo handler in an axum router, so `GET /nope` is the
//! router's 404) on `server::serve`, with the limits scaled down so that hundreds of
//! connections exceed them as thousands exceed the defaults: 200 connections (the default is
//! 4,096), 64 requests in flight (1,024), 16 per client (256). The timeouts are the defaults (5 s
//! for headers, 60 s idle, 2 s per request), and each attack keeps its shape against them:
//!
//! 1. HTTP/1.1 keep-alive connections each sending `GET /nope` every 2 s (under the 5 s
//!    header-read timeout, which every response restarts), reconnecting when closed;
//! 2. HTTP/2 (h2c) connections each sending an unsigned POST every 2 s (under the 60 s idle
//!    timeout), reconnecting when closed;
//! 3. idle connections that send nothing and reconnect as soon as they are closed;
//! 4. one captured signed URL, from another address (127.0.0.2), holding requests in flight:
//!    HTTP/1 bodies sent half and never finished, and HTTP/2 streams held open the same way,
//!    each sent again as soon as it is answered.
//!
//! Each test counts what the attack did (connections opened, requests refused), so that a pass
//! cannot come from an attack that never pressed the limits. The tests run one at a time: each
//! attack uses the whole machine.

#![allow(clippy::duplicate_mod)]

#[path = "../examples/common/demo.rs"]
mod demo;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{Command, WebhookConfig, WebhookService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Tencent waits this long for an answer.
const TENCENT_WAITS: Duration = Duration::from_secs(2);
/// Good webhooks sent during each attack, and how many must be answered in time.
const GOOD: usize = 100;
const MUST_ANSWER: usize = 95;
/// Where the good webhooks come from, and where the attacker of shape 4 does.
const GOOD_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OTHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The default limits scaled down (see the module docs).
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_connections = 200;
    limits.max_requests = 64;
    limits.max_requests_per_client = 16;
    limits
}

/// The quickstart's app on `server::serve`, on an ephemeral port, until the sender is used or
/// dropped.
async fn start(limits: Limits) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = WebhookConfig::builder(demo::DEFAULT_APP_ID)
        .token(demo::DEMO_TOKEN)
        .build()
        .unwrap();
    let app = demo::app(WebhookService::new(config, demo::DemoHandler));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Runs one attack test on a runtime of its own, after the others (each uses the whole
/// machine), with the open-files soft limit raised (each connection here costs two).
fn run_alone(test: impl Future<Output = ()>) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let files = rlimit::increase_nofile_limit(u64::MAX).expect("getrlimit/setrlimit");
    assert!(
        files >= 2048,
        "open-files limit {files} is too low for these tests"
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

/// What an attack did.
#[derive(Debug, Default)]
struct AttackCounts {
    /// Connections opened (the first of each attacker, then one per close).
    connects: AtomicU64,
    /// Requests sent.
    requests: AtomicU64,
    /// Answers 429 or 503 (the in-flight caps).
    shed: AtomicU64,
}

impl AttackCounts {
    fn get(&self) -> (u64, u64, u64) {
        (
            self.connects.load(Ordering::Relaxed),
            self.requests.load(Ordering::Relaxed),
            self.shed.load(Ordering::Relaxed),
        )
    }
}

/// A TCP connection to `addr` from `from`; retried until it is made.
async fn connect(addr: SocketAddr, from: IpAddr, counts: &AttackCounts) -> TcpStream {
    loop {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        if let Ok(stream) = socket.connect(addr).await {
            counts.connects.fetch_add(1, Ordering::Relaxed);
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads one HTTP/1.1 response (head, and a body framed by `content-length`); its status, or
/// `None` when the connection closed first.
async fn read_response(stream: &mut TcpStream) -> Option<u16> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let text = String::from_utf8_lossy(&raw);
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_ascii_lowercase();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if raw.len() >= end + 4 + length {
                return Some(status);
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

/// The good client: `GOOD` signed webhooks from `GOOD_IP`, 4 at a time, each worker pausing
/// 100 ms between its requests (so that they span the attack), on kept-alive connections as
/// Tencent's. Returns how many were answered 200 with the demo's reply within 2 s, and the
/// first few failures.
async fn good_webhooks(addr: SocketAddr) -> (usize, Vec<String>, Duration) {
    const WORKERS: usize = 4;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_local_address(Some(GOOD_IP));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut workers = JoinSet::new();
    for worker in 0..WORKERS {
        let client = client.clone();
        workers.spawn(async move {
            let mut results = Vec::new();
            for _ in (worker..GOOD).step_by(WORKERS) {
                let req = SignedRequest::sample(Command::GroupBeforeSendMsg);
                let (mut parts, body) = req.build().into_parts();
                parts.uri = format!("http://{addr}{}", req.path_and_query())
                    .parse()
                    .unwrap();
                let request = Request::from_parts(parts, Full::new(Bytes::from(body)));
                let started = Instant::now();
                let answer = tokio::time::timeout(TENCENT_WAITS, async {
                    let res = client
                        .request(request)
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                    let status = res.status();
                    let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
                    Ok::<_, String>((status, body.to_bytes()))
                })
                .await;
                let took = started.elapsed();
                results.push(match answer {
                    Ok(Ok((StatusCode::OK, body)))
                        if serde_json::from_slice::<Value>(&body)
                            .is_ok_and(|r| r["ErrorCode"] == 0) =>
                    {
                        Ok(took)
                    }
                    Ok(Ok((status, body))) => Err(format!("{status}: {body:?}")),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(format!("no answer within {TENCENT_WAITS:?}")),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            results
        });
    }
    let mut answered = 0;
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    while let Some(results) = workers.join_next().await {
        for result in results.unwrap() {
            match result {
                Ok(took) => {
                    answered += 1;
                    slowest = slowest.max(took);
                }
                Err(e) if failures.len() < 5 => failures.push(e),
                Err(_) => {}
            }
        }
    }
    (answered, failures, slowest)
}

/// Runs `attackers` attackers (`attacker(i, ...)` for each `i`) for a second, then the good
/// webhooks during the attack; asserts that at least `MUST_ANSWER` were answered in time, and
/// returns what the attack did.
async fn under_attack<F, Fut>(
    shape: &str,
    limits: Limits,
    attackers: usize,
    attacker: F,
) -> (u64, u64, u64)
where
    F: Fn(usize, SocketAddr, Arc<AttackCounts>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (addr, stop) = start(limits).await;
    let counts = Arc::new(AttackCounts::default());
    let mut attack = JoinSet::new();
    for i in 0..attackers {
        attack.spawn(attacker(i, addr, counts.clone()));
    }
    // The attack takes every place it can before the good webhooks come.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (answered, failures, slowest) = good_webhooks(addr).await;
    let (connects, requests, shed) = counts.get();
    attack.shutdown().await;
    let _ = stop.send(());
    println!(
        "{shape}: {answered} of {GOOD} good webhooks answered within {TENCENT_WAITS:?} (slowest \
         {slowest:?}); the attack opened {connects} connections, sent {requests} requests, \
         {shed} of them shed; first failures: {failures:?}"
    );
    assert!(
        answered >= MUST_ANSWER,
        "{shape}: only {answered} of {GOOD} good webhooks answered within {TENCENT_WAITS:?}; \
         first failures: {failures:?}"
    );
    (connects, requests, shed)
}

/// Shape 1: keep-alive HTTP/1.1 connections sending `GET /nope` every 2 s.
#[test]
fn keep_alive_connections_sending_404s_do_not_starve_webhooks() {
    run_alone(async {
        let attackers = 250;
        let (connects, requests, _) = under_attack(
            "HTTP/1.1 GET /nope every 2 s",
            limits(),
            attackers,
            |_, addr, counts| async move {
                loop {
                    let mut stream = connect(addr, GOOD_IP, &counts).await;
                    loop {
                        let sent = stream
                            .write_all(b"GET /nope HTTP/1.1\r\nhost: attack\r\n\r\n")
                            .await;
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        if sent.is_err() || read_response(&mut stream).await.is_none() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            },
        )
        .await;
        // The attack pressed the cap: its connections were closed and opened again.
        assert!(
            connects > attackers as u64 && requests > attackers as u64,
            "{connects} {requests}"
        );
    });
}

/// Shape 2: HTTP/2 connections sending an unsigned POST every 2 s.
#[test]
fn http2_connections_sending_unsigned_posts_do_not_starve_webhooks() {
    run_alone(async {
        let attackers = 250;
        let (connects, requests, _) = under_attack(
            "h2c unsigned POST every 2 s",
            limits(),
            attackers,
            |_, addr, counts| async move {
                let unsigned = SignedRequest::sample(Command::GroupBeforeSendMsg).unsigned();
                loop {
                    let stream = connect(addr, GOOD_IP, &counts).await;
                    let Ok((mut sender, connection)) = hyper::client::conn::http2::handshake(
                        TokioExecutor::new(),
                        TokioIo::new(stream),
                    )
                    .await
                    else {
                        continue;
                    };
                    let connection = tokio::spawn(connection);
                    loop {
                        if sender.ready().await.is_err() {
                            break;
                        }
                        let (mut parts, body) = unsigned.build().into_parts();
                        parts.uri = format!("http://{addr}{}", unsigned.path_and_query())
                            .parse()
                            .unwrap();
                        let req = Request::from_parts(parts, Full::new(Bytes::from(body)));
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        match sender.send_request(req).await {
                            Ok(res) => drop(res.into_body().collect().await),
                            Err(_) => break,
                        }
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    connection.abort();
                }
            },
        )
        .await;
        assert!(
            connects > attackers as u64 && requests > attackers as u64,
            "{connects} {requests}"
        );
    });
}

/// Shape 3: idle connections that reconnect as soon as they are closed, twice as many as the
/// server takes.
#[test]
fn idle_connections_that_reconnect_do_not_starve_webhooks() {
    run_alone(async {
        let limits = limits();
        let attackers = 2 * limits.max_connections;
        let (connects, _, _) = under_attack(
            "idle connections reconnecting when closed",
            limits,
            attackers,
            |_, addr, counts| async move {
                loop {
                    let mut stream = connect(addr, GOOD_IP, &counts).await;
                    let mut buf = [0u8; 256];
                    while let Ok(1..) = stream.read(&mut buf).await {}
                }
            },
        )
        .await;
        assert!(connects > attackers as u64, "{connects}");
    });
}

/// A request body that sends its first half and then never ends.
struct HalfBody(Option<Bytes>);

impl http_body::Body for HalfBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(half) => Poll::Ready(Some(Ok(Frame::data(half)))),
            None => Poll::Pending,
        }
    }
}

/// One signed request, captured: its URL (signed for one `RequestTime`, valid for 60 s) and
/// body, replayed by every attacker.
#[derive(Clone)]
struct Captured {
    path_and_query: String,
    body: Bytes,
}

impl Captured {
    fn now() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let req = SignedRequest::sample(Command::GroupBeforeSendMsg).request_time(now);
        Captured {
            path_and_query: req.path_and_query(),
            body: Bytes::from(req.body_text().to_owned()),
        }
    }

    fn half(&self) -> Bytes {
        self.body.slice(..self.body.len() / 2)
    }
}

/// Shape 4: a captured signed URL holding requests in flight from another address: HTTP/1
/// bodies sent half (100 connections) and HTTP/2 streams held open (2 connections of up to 64
/// streams), each sent again when answered (after a pause of 100 ms when refused at once).
#[test]
fn a_captured_url_holding_requests_in_flight_does_not_starve_webhooks() {
    run_alone(async {
        let captured = Captured::now();
        let (_, requests, shed) = under_attack(
            "captured signed URL: slow bodies and held h2 streams from 127.0.0.2",
            limits(),
            102,
            move |i, addr, counts| {
                let captured = captured.clone();
                async move {
                    if i < 100 {
                        slow_bodies(addr, OTHER_IP, &counts, &captured).await
                    } else {
                        held_streams(addr, OTHER_IP, &counts, &captured).await
                    }
                }
            },
        )
        .await;
        assert!(requests > 100 && shed > 0, "{requests} {shed}");
    });
}

/// Shape 5: the same from four addresses (127.0.0.2 to 127.0.0.5), each at its per-client cap
/// of requests in flight, which together make the server's: each good webhook makes room by
/// preempting the oldest request of the busiest client. (With a plain 503 when full, 40 to 56
/// of 100 good webhooks were answered in an attack on the quickstart.)
#[test]
fn a_captured_url_replayed_from_several_addresses_does_not_starve_webhooks() {
    run_alone(async {
        let captured = Captured::now();
        let addresses: Vec<IpAddr> = (2..=5)
            .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
            .collect();
        let (_, requests, shed) = under_attack(
            "captured signed URL: slow bodies and held h2 streams from 4 addresses",
            limits(),
            104,
            move |i, addr, counts| {
                let captured = captured.clone();
                let from = addresses[i % addresses.len()];
                async move {
                    if i < 100 {
                        slow_bodies(addr, from, &counts, &captured).await
                    } else {
                        held_streams(addr, from, &counts, &captured).await
                    }
                }
            },
        )
        .await;
        assert!(requests > 100 && shed > 0, "{requests} {shed}");
    });
}

/// Sends the captured request's head and half its body, waits for the answer (the 408 at the
/// request timeout, or a refusal at once), and again on a new connection: the answer closes
/// this one (a 408 because the body is half read, a refusal because it is one).
async fn slow_bodies(
    addr: SocketAddr,
    from: IpAddr,
    counts: &AttackCounts,
    captured: &Captured,
) -> ! {
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: attack\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        captured.path_and_query,
        captured.body.len()
    );
    loop {
        let mut stream = connect(addr, from, counts).await;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(&captured.half()).await.is_err()
        {
            continue;
        }
        let status = read_response(&mut stream).await;
        if refused(status, counts) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Counts a shed answer; whether the request was refused at once (429, 503).
fn refused(status: Option<u16>, counts: &AttackCounts) -> bool {
    let shed = matches!(status, Some(429 | 503));
    if shed {
        counts.shed.fetch_add(1, Ordering::Relaxed);
    }
    shed
}

/// Holds up to 64 HTTP/2 streams open with the captured URL and half its body, each opened
/// again when answered; a new connection when the server closes this one.
async fn held_streams(
    addr: SocketAddr,
    from: IpAddr,
    counts: &Arc<AttackCounts>,
    captured: &Captured,
) -> ! {
    loop {
        let stream = connect(addr, from, counts).await;
        let Ok((sender, connection)) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await
        else {
            continue;
        };
        let connection = tokio::spawn(connection);
        let mut streams = JoinSet::new();
        for _ in 0..64 {
            let mut sender = sender.clone();
            let counts = counts.clone();
            let captured = captured.clone();
            streams.spawn(async move {
                loop {
                    if sender.ready().await.is_err() {
                        return;
                    }
                    let uri = format!("http://{addr}{}", captured.path_and_query);
                    let req = Request::post(uri)
                        .header("content-type", "application/json")
                        .header("content-length", captured.body.len())
                        .body(HalfBody(Some(captured.half())))
                        .unwrap();
                    counts.requests.fetch_add(1, Ordering::Relaxed);
                    match sender.send_request(req).await {
                        Ok(res) => {
                            if refused(Some(res.status().as_u16()), &counts) {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                        Err(_) => return,
                    }
                }
            });
        }
        while streams.join_next().await.is_some() {}
        connection.abort();
    }
}
