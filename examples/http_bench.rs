//! The server of the HTTP comparison benchmark (`scripts/http_bench.sh`): the webhook service,
//! a minimal hand-written receiver, or a bare service that does the least an HTTP endpoint can,
//! on the same server loop.
//!
//! ```sh
//! scripts/http_bench.sh                     # builds this, runs the modes under wrk, prints the ratios
//! cargo run --release --example http_bench -- --mode bare      # or by hand
//! cargo run --release --example http_bench -- --mode minimal
//! cargo run --release --example http_bench -- --mode webhook
//! ```
//!
//! Every mode runs on the crate's server (`server::serve`) with `Limits::default()`, so that the
//! ratio of their throughputs is the cost of what each does on top of the server:
//!
//! - `webhook`: `WebhookService` with the demo handler, as the hyper example serves it (the
//!   service is the whole app): authentication, the body read with its limit, the typed event,
//!   the handler, the typed reply;
//! - `minimal`: what a hand-written receiver of Tencent's webhooks does at the least: checks the
//!   query (`SdkAppid`, `CallbackCommand`, `RequestTime` within 60 s of now,
//!   `Sign = hex(sha256(token + RequestTime))`, compared in constant time), reads the body with
//!   the same limit, parses it as an untyped `serde_json::Value`, and answers the constant reply;
//!   a 401 or 400 with a JSON reply otherwise. No typed event, no handler, no metrics;
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
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::{Reply, WebhookService};
use tracing_subscriber::filter::LevelFilter;

/// What the bare server answers, byte for byte what the webhook answers an allowed message.
const OK_REPLY: &[u8] = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Bare,
    Minimal,
    Webhook,
}

fn mode_from_args() -> Result<Mode, String> {
    let usage = "usage: http_bench --mode bare|minimal|webhook";
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next().as_deref(), args.next()) {
        (Some("--mode"), Some("bare"), None) => Ok(Mode::Bare),
        (Some("--mode"), Some("minimal"), None) => Ok(Mode::Minimal),
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

/// What the minimal receiver checks a request against.
struct Minimal {
    app_id: String,
    token: String,
    limit: usize,
}

/// The largest difference between `RequestTime` and now, in seconds (the service's default).
const WINDOW: u64 = 60;

/// The minimal receiver: the query checked, the body read (at most `limit` bytes) and parsed as
/// a `Value`, then the constant reply.
async fn minimal(
    req: Request<Incoming>,
    m: Arc<Minimal>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Err(info) = check_query(req.uri().query().unwrap_or(""), &m) {
        return Ok(fail(StatusCode::UNAUTHORIZED, info));
    }
    let Ok(body) = Limited::new(req.into_body(), m.limit).collect().await else {
        let info = format!(
            "body is larger than the limit of {} bytes, or could not be read",
            m.limit
        );
        return Ok(fail(StatusCode::PAYLOAD_TOO_LARGE, &info));
    };
    match serde_json::from_slice::<serde_json::Value>(&body.to_bytes()) {
        Ok(event) if event.is_object() => Ok(json(Bytes::from_static(OK_REPLY))),
        _ => Ok(fail(
            StatusCode::BAD_REQUEST,
            "the body is not a JSON object",
        )),
    }
}

/// Checks the query as Tencent signs it.
fn check_query(query: &str, m: &Minimal) -> Result<(), &'static str> {
    let (mut app_id, mut command, mut time, mut sign) = (None, None, None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "SdkAppid" => app_id = Some(value),
            "CallbackCommand" => command = Some(value),
            "RequestTime" => time = Some(value),
            "Sign" => sign = Some(value),
            _ => {}
        }
    }
    if app_id.as_deref() != Some(m.app_id.as_str()) {
        return Err("SdkAppid is missing or not this app's");
    }
    if command.is_none_or(|c| c.is_empty()) {
        return Err("CallbackCommand is missing");
    }
    let time = time.ok_or("RequestTime is missing")?;
    let sent: u64 = time.parse().map_err(|_| "RequestTime is not a number")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if now.abs_diff(sent) > WINDOW {
        return Err("RequestTime is outside the window");
    }
    let digest = Sha256::new()
        .chain_update(m.token.as_bytes())
        .chain_update(time.as_bytes())
        .finalize();
    let sign = sign.ok_or("Sign is missing")?;
    let mut expected = [0u8; 64];
    for (pair, byte) in expected.chunks_exact_mut(2).zip(digest) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        pair.copy_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
    }
    // Constant time: every byte compared, whatever differs first.
    let given = sign.as_bytes();
    let differs = expected
        .iter()
        .zip(given)
        .fold(u8::from(given.len() != expected.len()), |acc, (a, b)| {
            acc | (a ^ b.to_ascii_lowercase())
        });
    if differs != 0 {
        return Err("Sign does not match");
    }
    Ok(())
}

/// A JSON error reply with this status.
fn fail(status: StatusCode, info: &str) -> Response<Full<Bytes>> {
    let reply = Reply::fail(u32::from(status.as_u16()), info);
    let mut res = json(Bytes::from(reply.to_json()));
    *res.status_mut() = status;
    res
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
        Mode::Minimal => {
            settings.announce(listener.local_addr()?, "http_bench minimal");
            let minimal_config = Arc::new(Minimal {
                app_id: settings.app_id.to_string(),
                token: settings.token().to_owned(),
                limit: config.body_limit(),
            });
            let service = tower::service_fn(move |req| minimal(req, minimal_config.clone()));
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
