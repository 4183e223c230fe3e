//! End to end, over real sockets: each example's server (axum, raw hyper, tonic with gRPC-web)
//! started on an ephemeral loopback port, talked to with real HTTP/1.1, HTTP/2 and gRPC clients.
//! Also compile-time proof that the service satisfies each stack's bounds.
// Each example is its own binary and brings its own copy of the shared demo module; including
// the examples here loads that file once per example, which is what this test wants.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/axum.rs"]
#[allow(dead_code, unreachable_pub)]
mod axum_example;
#[path = "../examples/common/demo.rs"]
mod demo;
#[path = "../examples/hyper.rs"]
#[allow(dead_code, unreachable_pub)]
mod hyper_example;
#[path = "../examples/tonic_web.rs"]
#[allow(dead_code, unreachable_pub)]
mod tonic_example;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{Command, WebhookConfig, WebhookLayer, WebhookService};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "e2e-token-8c2d";
const PATH: &str = "/tencent/chat/webhook";

fn webhook() -> WebhookService {
    let config = WebhookConfig::builder(APP).token(TOKEN).build().unwrap();
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
    let connector = Counting {
        inner: HttpConnector::new(),
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
        connections <= 51,
        "{stack}: {connections} connections for 104 requests; keep-alive is not working"
    );
}

#[tokio::test]
async fn axum_route_service() {
    let (listener, addr) = listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, axum_example::app(webhook()))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
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
    // The body-limit layer in front answers before the webhook service reads anything.
    let huge = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .app_id(APP)
        .token(TOKEN)
        .build()
        .map(|_| " ".repeat(2 * 1024 * 1024));
    let (status, _) = send(&client, addr, huge).await;
    assert_eq!(status, 413);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn axum_layer_form() {
    let (listener, addr) = listener().await;
    let app = axum_example::app_with_layer(webhook());
    let server =
        tokio::spawn(async move { axum::serve(listener, tower::make::Shared::new(app)).await });
    let (client, opened) = client(false);
    webhook_checks("axum layer", &client, &opened, addr).await;
    let (status, body) = send(&client, addr, get("/health")).await;
    assert_eq!((status, body), (StatusCode::OK, Bytes::from_static(b"ok")));
    server.abort();
}

#[tokio::test]
async fn raw_hyper_http1_and_http2_with_graceful_shutdown() {
    let (listener, addr) = listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(hyper_example::serve(listener, webhook(), async {
        let _ = stopped.await;
    }));
    for http2 in [false, true] {
        let (client, opened) = client(http2);
        let stack = if http2 { "hyper h2" } else { "hyper h1" };
        webhook_checks(stack, &client, &opened, addr).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(15), server)
        .await
        .expect("graceful shutdown did not finish")
        .unwrap();
    // Stopped means stopped: nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn tonic_grpc_grpc_web_and_webhook_on_one_port() {
    let (listener, addr) = listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(tonic_example::serve(listener, webhook(), async {
        let _ = stopped.await;
    }));

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
    tokio::time::timeout(std::time::Duration::from_secs(15), server)
        .await
        .expect("shutdown did not finish")
        .unwrap()
        .unwrap();
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
