//! The webhook service as a whole hyper 1 server, no framework.
//!
//! ```sh
//! cargo run --example hyper
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! The service is the whole app: `WebhookService` answers its path, and every other path with
//! its JSON rejection. The server is the crate's, `server::serve` (feature `server`), shared
//! with the quickstart and the axum example because it is where the protection against slow,
//! idle and refused clients lives; it is plain hyper underneath:
//!
//! - hyper-util's auto builder speaks HTTP/1.1 and HTTP/2 (with prior knowledge) on one port,
//!   and keeps connections alive: Tencent reuses its connections ("persistent connection mode
//!   by default"), so a new TCP (and TLS) handshake per webhook would eat into its 2 second
//!   budget;
//! - a header-read timeout for every request, an idle timeout that only authenticated webhooks
//!   renew, and a maximum age and number of requests per connection;
//! - a request timeout and caps on requests in flight, in all and per client, answered in the
//!   crate's JSON error shape (408, 503, 429); a refused request closes its connection;
//! - caps on open connections, in all and per client: when full, the idlest connection is
//!   closed to make room for the new one;
//! - Ctrl-C or SIGTERM stops accepting, lets the requests in flight finish (up to 10 s), then
//!   exits.
//!
//! The `server` module's docs say what each limit stops and why its default is what it is.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN`, `RUST_LOG` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::process::ExitCode;

use tencent_chat_webhook::server::{self, Limits};

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("hyper example").await?;
    // `WebhookService` is a tower service; the server adapts it to hyper, one Arc clone per
    // request.
    server::serve(
        listener,
        webhook,
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
