//! The quick start: an axum server answering Tencent Chat webhooks with a demo handler.
//!
//! ```sh
//! cargo run --example quickstart
//! # in another terminal:
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! Environment (all optional): `LISTEN_ADDR` (default 127.0.0.1:8080), `SDKAPPID` (default
//! 1400000000), `CALLBACK_TOKEN` (default a demo token, printed at start), `RUST_LOG`.

#[path = "common/demo.rs"]
mod demo;

use axum::Router;
use tencent_chat_webhook::WebhookService;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    demo::init_logging();
    let settings = demo::Settings::from_env()?;

    // The webhook endpoint: configuration (app id, token) plus your handler.
    let webhook = WebhookService::new(settings.config()?, demo::DemoHandler);

    // Mount it like any other tower service.
    let app = Router::new().route_service(demo::WEBHOOK_PATH, webhook);

    let listener = TcpListener::bind(settings.addr).await?;
    settings.announce(listener.local_addr()?, "quickstart");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
