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
//! ## Timeouts and limits
//!
//! tonic runs its own server loop, so the crate's `server::serve` does not apply; what tonic's
//! `Server` can set, this example sets (see `serve`), and on the webhook path the crate's
//! `server::GuardLayer` answers a slow request with the crate's JSON 408, and sheds load with a
//! JSON 503, before tonic's own timeout would answer it as a gRPC status. What tonic 0.14
//! **cannot** do, and what that costs:
//!
//! - **No configurable header-read timeout.** tonic sets hyper's timer, so hyper's default of
//!   30 s applies: a connection that sends half a request line holds its socket for 30 s
//!   (5 s with `server::serve`), and an idle HTTP/1 connection is closed after 30 s.
//! - **No deadline before the protocol is known.** A connection that sends nothing at all is
//!   only closed by `max_connection_age` (plus its grace), here 60 + 10 s.
//! - **No cap on connections** and no global cap on requests in flight (only per connection):
//!   enough half-open connections exhaust the open-files limit, and then `accept` fails (tonic
//!   retries it at once). Raising the soft open-files limit, as this example does, pushes that
//!   far out; a proxy in front, or `server::serve`, removes it.
//! - No idle timeout for HTTP/2: an idle gRPC connection stays until `max_connection_age`.
//! - No per-client caps, no eviction of idle connections when full, and refused requests keep
//!   their connection: the defences of `server::serve` against many cheap clients.
//!
//! tonic's routes are a plain tower service (`tonic::service::Routes`), so the same stack can
//! run on `server::serve` instead, with every limit; but then its request timeout and JSON
//! answers apply to gRPC calls too, which is why this example keeps tonic's server.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN`, `RUST_LOG` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use tencent_chat_webhook::server::{self, GuardLayer, Limits};
use tencent_chat_webhook::{WebhookLayer, WebhookService};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_web::GrpcWebLayer;

/// A gRPC call not answered within this gets `DEADLINE_EXCEEDED` (a client's shorter
/// `grpc-timeout` wins). Longer than the webhook's own 2 s, so that on the webhook path the
/// JSON 408 answers first.
const GRPC_TIMEOUT: Duration = Duration::from_secs(10);
/// Streams one HTTP/2 connection may have open, and requests tonic runs at once for one
/// connection (HTTP/1 has one at a time anyway).
const STREAMS_PER_CONNECTION: u32 = 200;
/// Every connection is closed (gracefully: a GOAWAY, which gRPC clients follow by reconnecting)
/// after this long, then forcibly after the grace. This is the only bound tonic offers on a
/// connection that sends nothing, and on idle HTTP/2 connections.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(60);
const MAX_CONNECTION_AGE_GRACE: Duration = Duration::from_secs(10);
/// HTTP/2 pings find dead peers on long-lived gRPC connections; TCP keepalive does the same
/// for connections that send nothing.
const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Serves gRPC, gRPC-web and the webhook on `listener` until `shutdown` completes. `limits`
/// sets the webhook path's request timeout and in-flight cap (its other fields are for
/// `server::serve`: tonic cannot apply them; see the module docs).
pub async fn serve(
    listener: TcpListener,
    webhook: WebhookService,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    server::raise_open_files_limit();
    // Reports SERVING for the whole server ("") until told otherwise.
    let (_reporter, health) = tonic_health::server::health_reporter();
    // `Server::tcp_keepalive` and `tcp_nodelay` only apply when tonic binds the address itself.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(TCP_KEEPALIVE));

    Server::builder()
        .accept_http1(true)
        .timeout(GRPC_TIMEOUT)
        .max_concurrent_streams(STREAMS_PER_CONNECTION)
        .concurrency_limit_per_connection(STREAMS_PER_CONNECTION as usize)
        .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT))
        .max_connection_age(MAX_CONNECTION_AGE)
        .max_connection_age_grace(MAX_CONNECTION_AGE_GRACE)
        // Layers run in the order added: the webhook path's JSON timeout and in-flight cap,
        // the webhook, then gRPC-web translation.
        .layer(GuardLayer::new(limits).only(demo::WEBHOOK_PATH))
        .layer(WebhookLayer::new(demo::WEBHOOK_PATH, webhook))
        .layer(GrpcWebLayer::new())
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("tonic example (gRPC + gRPC-web + webhook)").await?;
    serve(
        listener,
        webhook,
        &Limits::default(),
        demo::shutdown_signal(),
    )
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo::exit_code(run().await)
}
