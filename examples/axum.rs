//! Mounting the webhook in an existing axum app.
//!
//! ```sh
//! cargo run --example axum
//! curl http://127.0.0.1:8080/health
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! The app has what a real one has: shared state, a health route, a JSON route, and tower-http
//! layers for tracing, a timeout and a body limit. The webhook is one more route, mounted with
//! `route_service` because it is a tower `Service`, not an axum handler. `app_with_layer` shows
//! the other form: the crate's `WebhookLayer` around the whole router.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tencent_chat_webhook::{WebhookLayer, WebhookResponseBody, WebhookService};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// State the rest of the app shares; the webhook does not need it.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    status_requests: Arc<AtomicU64>,
}

/// The app's own routes, which know nothing about webhooks.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/status", get(status))
}

async fn status(State(state): State<AppState>) -> Json<serde_json::Value> {
    let n = state.status_requests.fetch_add(1, Ordering::Relaxed) + 1;
    Json(serde_json::json!({ "service": "demo", "status_requests": n }))
}

/// The layers a production app puts around everything. Tencent waits at most 2 seconds for a
/// webhook reply, so a longer timeout is pointless; bodies are limited here too (the webhook
/// service also enforces its own limit).
fn production_layers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .layer(RequestBodyLimitLayer::new(1024 * 1024))
            .layer(TimeoutLayer::with_status_code(
                http::StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(2),
            )),
    )
}

/// The route form: the webhook is a route like any other.
pub fn app(webhook: WebhookService) -> Router {
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
        |res: http::Response<WebhookResponseBody<Body>>| res.into_response(),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("axum example").await?;
    axum::serve(listener, app(webhook))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
