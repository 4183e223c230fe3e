//! What the integration tests share: a webhook server's accept loop, the failures a service
//! reports, and the log a test captures.
// Each test file uses its part.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tencent_chat_webhook::test_util::{DEMO_APP_ID, DEMO_TOKEN};
use tencent_chat_webhook::{HandlerFailure, WebhookConfig, WebhookConfigBuilder, WebhookService};

/// Serves `webhook` on `listener`, each connection on a task of its own, HTTP/1.1 or HTTP/2, as
/// `examples/hyper.rs` serves it.
pub(crate) async fn serve(listener: tokio::net::TcpListener, webhook: WebhookService) {
    let builder = auto::Builder::new(TokioExecutor::new());
    while let Ok((stream, _)) = listener.accept().await {
        let service = TowerToHyperService::new(webhook.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(connection);
    }
}

/// The failures a service reported, in order.
pub(crate) type Reports = Arc<Mutex<Vec<HandlerFailure>>>;

/// The demo app's configuration, as `apply` changes it, reporting its failures.
pub(crate) fn config(
    apply: impl FnOnce(WebhookConfigBuilder) -> WebhookConfigBuilder,
) -> (WebhookConfig, Reports) {
    let reports = Reports::default();
    let sink = reports.clone();
    let builder = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .report_failures(move |f| sink.lock().unwrap().push(f.clone()));
    (apply(builder).build().unwrap(), reports)
}

/// Everything the fmt subscriber writes, as text.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// The text written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
