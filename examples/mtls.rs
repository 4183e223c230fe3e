//! The quick start over HTTPS with Tencent's mutual authentication: only a client whose
//! certificate was issued by Tencent's CA (`TencentQQAuthCA.crt`) completes the TLS handshake,
//! and the webhook's signature is checked as always.
//!
//! ```sh
//! TLS_CERT=fullchain.pem TLS_KEY=privkey.pem TENCENT_CA=TencentQQAuthCA.crt \
//!     LISTEN_ADDR=0.0.0.0:8443 cargo run --features tls --example mtls
//! ```
//!
//! Environment: `TLS_CERT` (this server's certificate chain, PEM: the certificate, then its
//! intermediates), `TLS_KEY` (its private key, PEM), `TENCENT_CA` (the CA client certificates
//! must chain to, PEM); all three required. Then, as in the quickstart, `LISTEN_ADDR` (default
//! 127.0.0.1:8080), `SDKAPPID` (default 1400000000), `CALLBACK_TOKEN` (default a demo token)
//! and `RUST_LOG` (default `info`; `RUST_LOG=debug` shows each refused handshake and why).
//!
//! # With Tencent
//!
//! 1. Get `TencentQQAuthCA.crt`: Tencent's pages on HTTPS mutual authentication for callbacks
//!    (cloud.tencent.com/document/product/269/2714 for Nginx, 269/2713 for Apache; in
//!    English 1047/34379 and 1047/34380) link to a zip holding it. Unzip it; pass the `.crt`
//!    as `TENCENT_CA`.
//! 2. The server's certificate must be one Tencent's client trusts, for the callback URL's
//!    host: from a public CA, or the one Tencent issues in the Chat console. `TLS_CERT` holds
//!    the whole chain (a `fullchain.pem`), not the certificate alone.
//! 3. Turn on mutual authentication for the callback in the Chat console, with an `https://`
//!    callback URL on this server's port.
//!
//! # Locally, with a CA of your own
//!
//! A test CA standing in for Tencent's, a client certificate from it, and a server certificate
//! for `localhost` (here self-signed, so curl is told to trust it with `--cacert`):
//!
//! ```sh
//! # the stand-in for TencentQQAuthCA.crt
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!     -subj "/CN=Test callback CA" -keyout ca.key -out ca.crt
//! # a client certificate it issues (Tencent's callback client has one like it)
//! openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//!     -subj "/CN=test callback client" -keyout client.key -out client.csr
//! printf 'extendedKeyUsage=clientAuth\n' > client.ext
//! openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
//!     -extfile client.ext -out client.crt
//! # this server's certificate, for localhost
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!     -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
//!     -keyout server.key -out server.crt
//!
//! TLS_CERT=server.crt TLS_KEY=server.key TENCENT_CA=ca.crt cargo run --features tls --example mtls
//!
//! # in another terminal: a signed query string for the demo token (the CLI's `sign`), and a
//! # body for the command
//! QUERY=$(cargo run -q --features cli --bin tencent-chat-webhook -- sign \
//!     --token demo-token-change-me --time "$(date +%s)" --command Group.CallbackBeforeSendMsg | tail -n 1)
//! BODY='{"CallbackCommand":"Group.CallbackBeforeSendMsg","GroupId":"@TGS#1","Type":"Public","From_Account":"alice","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hello"}}]}'
//! # with the client certificate: answered ({"ActionStatus":"OK","ErrorCode":0,...})
//! curl --cacert server.crt --cert client.crt --key client.key \
//!     -H 'content-type: application/json' --data "$BODY" \
//!     "https://localhost:8080/tencent/chat/webhook?$QUERY"
//! # without it: the server ends the handshake with a `certificate_required` alert; curl fails
//! # (exit 55 or 56) and nothing is answered
//! curl --cacert server.crt -H 'content-type: application/json' --data "$BODY" \
//!     "https://localhost:8080/tencent/chat/webhook?$QUERY"
//! ```
//!
//! The handler here is the quickstart's demo handler; `tests/mtls.rs` runs this example's
//! set-up against clients with, without and with the wrong certificate.

#[path = "common/demo.rs"]
mod demo;

use std::process::ExitCode;

use axum::Router;
use axum::body::Body;
use tencent_chat_webhook::WebhookService;
use tencent_chat_webhook::server::{self, Limits, TlsConfig, TlsPart};
use tower_http::trace::TraceLayer;

/// The variables that name the three PEM files, in the order [`TlsConfig::from_pem_files`]
/// takes them.
pub const TLS_VARS: [&str; 3] = ["TLS_CERT", "TLS_KEY", "TENCENT_CA"];

/// The TLS configuration from the files that `var` names (`std::env::var` in `main`): an
/// error names the variable, its file and what is wrong with it.
pub fn tls_config(var: impl Fn(&str) -> Option<String>) -> Result<TlsConfig, String> {
    let [cert, key, ca] = TLS_VARS.map(|name| {
        var(name).ok_or_else(|| {
            format!(
                "{name} is not set: TLS_CERT, TLS_KEY and TENCENT_CA name this server's \
                 certificate chain, its private key and Tencent's CA certificate (PEM files)"
            )
        })
    });
    TlsConfig::from_pem_files(cert?, key?, ca?).map_err(|e| {
        let name = match e.part() {
            Some(TlsPart::CertificateChain) => "TLS_CERT",
            Some(TlsPart::PrivateKey) => "TLS_KEY",
            Some(TlsPart::ClientCa) => "TENCENT_CA",
            _ => "TLS",
        };
        format!("{name}: {e}")
    })
}

/// The app: the quickstart's webhook route, with its request log (which leaves out the query:
/// it carries `Sign`).
pub fn app(webhook: WebhookService) -> Router {
    Router::new()
        .route_service(demo::WEBHOOK_PATH, webhook)
        .layer(TraceLayer::new_for_http().make_span_with(tencent_chat_webhook::http_span::<Body>))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    demo::init_logging();
    let settings = demo::Settings::from_env()?;
    let tls = tls_config(|name| std::env::var(name).ok())?;
    let webhook = WebhookService::new(settings.config()?, demo::DemoHandler);

    let listener = demo::bind(settings.addr).await?;
    let bound = listener.local_addr()?;
    println!("mtls listening on https://{bound}{}", demo::WEBHOOK_PATH);
    println!(
        "  a client certificate issued by TENCENT_CA is required; SdkAppid: {}",
        settings.app_id
    );
    if std::env::var_os("CALLBACK_TOKEN").is_none() {
        println!(
            "  token: {} (demo default; set CALLBACK_TOKEN for a real one)",
            demo::DEMO_TOKEN
        );
    }
    server::serve_tls(
        listener,
        tls,
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
