//! The webhook service as a whole hyper 1 server, no framework.
//!
//! ```sh
//! cargo run --example hyper
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! The service is the whole app: `WebhookService` answers its path, and every other path with
//! its JSON rejection. The server loop is `demo::serve` in `common/demo.rs`, shared with the
//! quickstart and the axum example because it is where the protection against slow and idle
//! clients lives; it is plain hyper:
//!
//! - hyper-util's auto builder speaks HTTP/1.1 and HTTP/2 (with prior knowledge) on one port,
//!   and keeps connections alive: Tencent reuses its connections ("persistent connection mode
//!   by default"), so a new TCP (and TLS) handshake per webhook would eat into its 2 second
//!   budget;
//! - hyper's HTTP/1 header-read timeout (which needs a timer, `TokioTimer`), an idle timeout,
//!   and a deadline for the first request of a connection of either protocol;
//! - a request timeout and a cap on requests in flight, answered in the crate's JSON error
//!   shape (408, 503);
//! - a cap on open connections (a semaphore around `accept`: when full, new connections wait
//!   in the listen backlog);
//! - Ctrl-C or SIGTERM stops accepting, lets the requests in flight finish (up to 10 s), then
//!   exits.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN`, `RUST_LOG` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::process::ExitCode;

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("hyper example").await?;
    // `WebhookService` is a tower service; the loop adapts it with `TowerToHyperService`, one
    // Arc clone per request.
    demo::serve(
        listener,
        webhook,
        &demo::Limits::default(),
        demo::shutdown_signal(),
    )
    .await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo::exit_code(run().await)
}
