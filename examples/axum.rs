//! Mounting the webhook in an existing axum app.
//!
//! ```sh
//! cargo run --example axum
//! curl http://127.0.0.1:8080/health
//! curl http://127.0.0.1:8080/metrics   # the webhook's counters and latency, Prometheus format
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! The app has what a real one has: shared state, a health route, a JSON route, and tower-http
//! layers for tracing and a body limit. The webhook is one more route, mounted with
//! `route_service` because it is a tower `Service`, not an axum handler. `app_with_layer` shows
//! the other form: the crate's `WebhookLayer` around the whole router.
//!
//! Timeouts and limits are the server's (`server::serve`, as in the quickstart), not layers of
//! the router: `axum::serve` cannot set hyper's header-read timeout nor cap connections, and the
//! server's request timeout and in-flight caps cover every route, answering in the crate's JSON
//! error shape (tower-http's `TimeoutLayer` answers a bare 408 with an empty body). The server
//! closes a connection after a refused request (a 4xx, the router's 404 included), and only
//! webhooks the service authenticated keep a connection from idling out.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN`, `RUST_LOG` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::{WebhookLayer, WebhookService, layer};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// State the rest of the app shares; the webhook does not need it.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    status_requests: Arc<AtomicU64>,
}

/// The app's own routes, which know nothing about webhooks, and `/metrics` for Prometheus.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
}

/// The process's Prometheus recorder: the webhook service records through the `metrics` facade
/// (feature `metrics`), and any exporter collects it; this one renders the text format.
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

async fn metrics() -> Response {
    match prometheus() {
        Some(handle) => (
            [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process",
        )
            .into_response(),
    }
}

async fn status(State(state): State<AppState>) -> Json<serde_json::Value> {
    let n = state.status_requests.fetch_add(1, Ordering::Relaxed) + 1;
    Json(serde_json::json!({ "service": "demo", "status_requests": n }))
}

/// The layers a production app puts around everything: a request log whose span leaves out the
/// query (`http_span`: a webhook's query carries `Sign`, a credential, which tower-http's
/// default span would log in full), and a body limit (the webhook service also enforces its
/// own). The request timeout is the server's (`Limits::request_timeout`).
fn production_layers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(
        ServiceBuilder::new()
            .layer(
                TraceLayer::new_for_http().make_span_with(tencent_chat_webhook::http_span::<Body>),
            )
            .layer(RequestBodyLimitLayer::new(1024 * 1024)),
    )
}

/// The route form: the webhook is a route like any other.
pub fn app(webhook: WebhookService) -> Router {
    // Installed before the first request, so every request is counted.
    let _ = prometheus();
    production_layers(routes().route_service(demo::WEBHOOK_PATH, webhook))
        .with_state(AppState::default())
}

/// The layer form: `WebhookLayer` answers its path and hands everything else to the router.
/// Useful when the router is built elsewhere and you only get to wrap it.
pub fn app_with_layer(
    webhook: WebhookService,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    let router = production_layers(routes()).with_state(AppState::default());
    let layered = WebhookLayer::new(demo::WEBHOOK_PATH, webhook).layer(router);
    // axum's server wants its own body type back.
    ServiceExt::<Request>::map_response(
        layered,
        |res: http::Response<layer::ResponseBody<Body>>| res.into_response(),
    )
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("axum example").await?;
    // The crate's hardened server: timeouts, connection and request caps, eviction.
    server::serve(
        listener,
        app(webhook),
        Limits::default(),
        demo::shutdown_signal(),
    )
    .await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo::exit_code(run().await)
}
