//! The server of the HTTP comparison benchmark (`scripts/http_bench.sh`): the webhook service,
//! or a bare service that does the least an HTTP endpoint can, on the same server loop.
//!
//! ```sh
//! scripts/http_bench.sh                     # builds this, runs both modes under wrk, prints the ratio
//! cargo run --release --example http_bench -- --mode bare      # or by hand
//! cargo run --release --example http_bench -- --mode webhook
//! ```
//!
//! Both modes run on the crate's server (`server::serve`) with `Limits::default()`, so that the
//! ratio of their throughputs is the cost of the webhook service alone:
//!
//! - `webhook`: `WebhookService` with the demo handler, as the hyper example serves it (the
//!   service is the whole app): authentication, the body read with its limit, the typed event,
//!   the handler, the typed reply;
//! - `bare`: reads the whole body with the same limit (a JSON 413 past it) and answers the
//!   constant `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}` with the headers the webhook
//!   sends (`content-type: application/json`; hyper adds `content-length` and `date` to both).
//!
//! Logging defaults to `warn` (the demo handler's one line per event is at `info`), so that
//! neither mode pays for log lines; `RUST_LOG` still overrides it. Environment: `LISTEN_ADDR`
//! (default 127.0.0.1:8080; `127.0.0.1:0` picks a free port, printed on stdout), `SDKAPPID`,
//! `CALLBACK_TOKEN` (see the quickstart).

#[path = "common/demo.rs"]
mod demo;

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::{Reply, WebhookService};
use tracing_subscriber::filter::LevelFilter;

/// What the bare server answers, byte for byte what the webhook answers an allowed message.
const OK_REPLY: &[u8] = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Bare,
    Webhook,
}

fn mode_from_args() -> Result<Mode, String> {
    let usage = "usage: http_bench --mode bare|webhook";
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next().as_deref(), args.next()) {
        (Some("--mode"), Some("bare"), None) => Ok(Mode::Bare),
        (Some("--mode"), Some("webhook"), None) => Ok(Mode::Webhook),
        _ => Err(usage.to_owned()),
    }
}

/// The bare endpoint: the whole body read (at most `limit` bytes), then a constant reply.
async fn bare(req: Request<Incoming>, limit: usize) -> Result<Response<Full<Bytes>>, Infallible> {
    if Limited::new(req.into_body(), limit)
        .collect()
        .await
        .is_err()
    {
        let info = format!("body is larger than the limit of {limit} bytes, or could not be read");
        let reply = Reply::fail(u32::from(StatusCode::PAYLOAD_TOO_LARGE.as_u16()), info);
        let mut res = json(Bytes::from(reply.to_json()));
        *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(res);
    }
    Ok(json(Bytes::from_static(OK_REPLY)))
}

/// A JSON response with the headers the webhook sends.
fn json(body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mode = mode_from_args()?;
    demo::init_logging_at(LevelFilter::WARN);
    let settings = demo::Settings::from_env()?;
    let config = settings.config()?;
    let listener = demo::bind(settings.addr).await?;
    let limits = Limits::default();
    match mode {
        Mode::Bare => {
            settings.announce(listener.local_addr()?, "http_bench bare");
            let limit = config.body_limit();
            let service = tower::service_fn(move |req| bare(req, limit));
            server::serve(listener, service, limits, demo::shutdown_signal()).await;
        }
        Mode::Webhook => {
            settings.announce(listener.local_addr()?, "http_bench webhook");
            let service = WebhookService::new(config, demo::DemoHandler);
            server::serve(listener, service, limits, demo::shutdown_signal()).await;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo::exit_code(run().await)
}
