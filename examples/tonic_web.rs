//! One port for gRPC, gRPC-web and Tencent webhooks, with tonic.
//!
//! ```sh
//! cargo run --example tonic_web
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! The gRPC service is `tonic-health` (the standard `grpc.health.v1.Health`), so no protobuf
//! build step is needed. Native gRPC clients speak HTTP/2; browsers speak gRPC-web over HTTP/1.1,
//! which `GrpcWebLayer` translates (so the server must accept HTTP/1, `accept_http1(true)`).
//!
//! Why the webhook layer sits *outside* `GrpcWebLayer`: tonic-web answers any HTTP/1 request
//! that is not gRPC-web with 400, and Tencent's webhook is plain HTTP/1.1 JSON. Placed inside,
//! the webhook would never be reached over HTTP/1. Placed outside, `WebhookLayer` takes its
//! path first and hands every other request, gRPC or gRPC-web, to tonic untouched.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::future::Future;

use tencent_chat_webhook::{WebhookLayer, WebhookService};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_web::GrpcWebLayer;

/// Serves gRPC, gRPC-web and the webhook on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    webhook: WebhookService,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    // Reports SERVING for the whole server ("") until told otherwise.
    let (_reporter, health) = tonic_health::server::health_reporter();

    Server::builder()
        .accept_http1(true)
        // Layers run in the order added: the webhook first, then gRPC-web translation.
        .layer(WebhookLayer::new(demo::WEBHOOK_PATH, webhook))
        .layer(GrpcWebLayer::new())
        .add_service(health)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("tonic example (gRPC + gRPC-web + webhook)").await?;
    serve(listener, webhook, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
