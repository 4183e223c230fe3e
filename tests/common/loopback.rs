//! A webhook service on a real loopback server, and a real HTTP/1.1 client for it, for the end
//! to end tests (`tests/dedup.rs`, `tests/fidelity.rs`).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{Handler, WebhookConfig, WebhookService};
use tokio::net::TcpListener;

/// The client the tests talk to the server with.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new client.
pub(crate) fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// The webhook of `config` and `handler`, served by the crate's hardened server on an
/// ephemeral loopback port, until the test ends.
pub(crate) async fn start(config: WebhookConfig, handler: impl Handler) -> SocketAddr {
    let service = WebhookService::new(config, handler);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        tencent_chat_webhook::server::serve(
            listener,
            service,
            tencent_chat_webhook::server::Limits::default(),
            std::future::pending(),
        )
        .await;
    });
    addr
}

/// Sends `req` to `addr`; returns the status and the JSON reply.
pub(crate) async fn send(
    client: &HttpClient,
    addr: SocketAddr,
    req: &SignedRequest,
) -> (StatusCode, Value) {
    let (mut parts, body) = req.build().into_parts();
    parts.uri = format!("http://{addr}{}", parts.uri).parse().unwrap();
    let res = client
        .request(Request::from_parts(parts, Full::new(Bytes::from(body))))
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}
