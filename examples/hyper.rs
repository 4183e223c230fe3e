//! The webhook service as a whole hyper 1 server, no framework.
//!
//! ```sh
//! cargo run --example hyper
//! cargo run --features cli --bin tencent-chat-webhook -- send --command OfficialAccount.CallbackBeforeSendMsg
//! ```
//!
//! hyper-util's auto builder speaks HTTP/1.1 and HTTP/2 (with prior knowledge) on one port, and
//! keeps connections alive: Tencent reuses its connections ("persistent connection mode by
//! default"), so a new TCP (and TLS) handshake per webhook would eat into its 2 second budget.
//! Ctrl-C stops accepting, lets the requests in flight finish (up to 10 s), then exits.
//!
//! Environment: `LISTEN_ADDR`, `SDKAPPID`, `CALLBACK_TOKEN` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tencent_chat_webhook::WebhookService;
use tokio::net::TcpListener;

/// Serves `webhook` on every connection `listener` accepts until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    webhook: WebhookService,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    // A failed accept (out of file descriptors, a reset) is not fatal to the server.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                // The service is one Arc inside; TowerToHyperService clones it per request.
                let service = TowerToHyperService::new(webhook.clone());
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logging, settings from the environment, the demo handler, the bound listener: as in
    // the quickstart.
    let (listener, webhook) = demo::listen("hyper example").await?;
    serve(listener, webhook, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
