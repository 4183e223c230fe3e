//! The quick start: an axum server answering Tencent Chat webhooks with a demo handler.
//!
//! ```sh
//! cargo run --example quickstart
//! # in another terminal:
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! Environment (all optional): `LISTEN_ADDR` (default 127.0.0.1:8080), `SDKAPPID` (default
//! 1400000000), `CALLBACK_TOKEN` (default a demo token, printed at start), `RUST_LOG` (default
//! `info`; `RUST_LOG=debug` shows every request and why one was rejected).
//!
//! The server is the crate's, `server::serve` (feature `server`, on for the examples): hyper
//! with a header-read timeout, an idle timeout, a request timeout, caps on connections and
//! requests in flight (in all and per client), and the idlest connection closed when full, so
//! that clients which connect and send nothing, half a request, a slow body or requests that
//! are not webhooks cannot starve it. Ctrl-C (or SIGTERM) stops accepting and lets the requests
//! in flight finish.

#[path = "../../examples/common/demo.rs"]
mod demo;

use std::process::ExitCode;

use tencent_chat_webhook::WebhookService;
use tencent_chat_webhook::server::{self, Limits};

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    demo::init_logging();
    let settings = demo::Settings::from_env()?;

    // The webhook endpoint: configuration (app id, token) plus your handler.
    let webhook = WebhookService::new(settings.config()?, demo::DemoHandler);

    let listener = demo::bind(settings.addr).await?;
    settings.announce(listener.local_addr()?, "quickstart");
    // The app (`demo::app`): an axum router with the webhook endpoint as a route, and a request
    // log that leaves out the query (it carries `Sign`, a credential).
    server::serve(
        listener,
        demo::app(webhook),
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
