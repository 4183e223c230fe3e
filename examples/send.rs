//! Fires signed webhooks at a URL, as Tencent would: for local development, and as a quick load
//! check.
//!
//! ```sh
//! # Tencent's documented sample for a command, signed with the quickstart's defaults:
//! cargo run --example send -- --command OfficialAccount.CallbackBeforeSendMsg
//! # Your own body:
//! cargo run --example send -- --command OfficialAccount.CallbackBeforeSendMsg --body msg.json
//! # 2000 requests, 50 at a time, with throughput and latency percentiles:
//! cargo run --release --example send -- --command OfficialAccount.CallbackAfterSendMsg --count 2000 --concurrency 50
//! ```
//!
//! Options: `--url` (default the quickstart's), `--command`, `--body FILE`, `--sdkappid`,
//! `--token`, `--time SECS` (a chosen `RequestTime`, e.g. a stale one), `--count N`,
//! `--concurrency C`. Plain `http://` only: this is a local tool.

#[path = "common/demo.rs"]
mod demo;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tencent_chat_webhook::Command;
use tencent_chat_webhook::test_util::{self, SignedRequest};

const USAGE: &str = "usage: send --command NAME [--url URL] [--body FILE] [--sdkappid N] [--token T] [--time SECS] [--count N] [--concurrency C]";

#[derive(Debug)]
struct Args {
    url: Uri,
    command: String,
    body: String,
    app_id: u64,
    token: String,
    time: Option<u64>,
    count: usize,
    concurrency: usize,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut url = format!("http://{}{}", demo::DEFAULT_ADDR, demo::WEBHOOK_PATH);
    let (mut command, mut body_file, mut time) = (None, None, None);
    let mut app_id = demo::DEFAULT_APP_ID;
    let mut token = demo::DEMO_TOKEN.to_owned();
    let (mut count, mut concurrency) = (1usize, 1usize);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} `{value}` is not a whole number"))
        };
        match flag.as_str() {
            "--url" => url = value.clone(),
            "--command" => command = Some(value.clone()),
            "--body" => body_file = Some(value.clone()),
            "--sdkappid" => app_id = number("--sdkappid")?,
            "--token" => token = value.clone(),
            "--time" => time = Some(number("--time")?),
            "--count" => count = number("--count")?.max(1) as usize,
            "--concurrency" => concurrency = number("--concurrency")?.max(1) as usize,
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    let url: Uri = url
        .parse()
        .map_err(|e| format!("--url `{url}` is not a valid URL: {e}"))?;
    if url.scheme_str() != Some("http") || url.authority().is_none() {
        return Err(format!(
            "--url `{url}` must be an http:// URL with a host (this local tool does not speak TLS)"
        ));
    }
    let command = command.ok_or_else(|| format!("--command is required\n{USAGE}"))?;
    let body = match body_file {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read --body file `{path}`: {e}"))?,
        None => match Command::from_wire(&command) {
            Some(known) => test_util::sample(known).to_owned(),
            None => {
                let known: Vec<&str> = Command::ALL.iter().map(|c| c.as_str()).collect();
                return Err(format!(
                    "unknown command `{command}`: pass --body FILE to send it anyway, or use one of:\n  {}",
                    known.join("\n  ")
                ));
            }
        },
    };
    Ok(Args {
        url,
        command,
        body,
        app_id,
        token,
        time,
        count,
        concurrency: concurrency.min(count),
    })
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Outcome {
    status: http::StatusCode,
    reply: Bytes,
    latency: Duration,
}

/// Signs (with the current time unless `--time` was given) and sends one request.
async fn send_one(client: &HttpClient, args: &Args) -> Result<Outcome, String> {
    let mut signed = SignedRequest::new(&args.command, args.body.as_str())
        .app_id(args.app_id)
        .token(&args.token)
        .path(args.url.path());
    if let Some(t) = args.time {
        signed = signed.request_time(t);
    }
    let authority = args.url.authority().map(|a| a.as_str()).unwrap_or_default();
    let uri = format!("http://{authority}{}", signed.path_and_query());
    let request = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(args.body.clone())))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let started = Instant::now();
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("could not reach {}: {}", args.url, error_chain(&e)))?;
    let status = response.status();
    let reply = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reply from {} broke off: {e}", args.url))?
        .to_bytes();
    Ok(Outcome {
        status,
        reply,
        latency: started.elapsed(),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(args: Args) -> Result<(), String> {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    if args.count == 1 {
        let out = send_one(&client, &args).await?;
        println!("HTTP {} in {}", out.status, ms(out.latency));
        println!("{}", String::from_utf8_lossy(&out.reply));
        return Ok(());
    }

    let args = Arc::new(args);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| {
            let (client, args) = (client.clone(), args.clone());
            // Spread the requests evenly: the first `count % concurrency` workers send one more.
            let share =
                args.count / args.concurrency + usize::from(w < args.count % args.concurrency);
            tokio::spawn(async move {
                let mut results = Vec::with_capacity(share);
                for _ in 0..share {
                    results.push(send_one(&client, &args).await);
                }
                results
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.count);
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut first_error = None;
    for worker in workers {
        for result in worker.await.map_err(|e| format!("a worker failed: {e}"))? {
            match result {
                Ok(out) => {
                    latencies.push(out.latency);
                    *statuses.entry(out.status.to_string()).or_default() += 1;
                }
                Err(e) => {
                    *statuses.entry("error".to_owned()).or_default() += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{} requests, concurrency {}, in {:.3} s: {:.0} req/s",
        args.count,
        args.concurrency,
        elapsed.as_secs_f64(),
        args.count as f64 / elapsed.as_secs_f64()
    );
    for (status, n) in &statuses {
        println!("  {status}: {n}");
    }
    if !latencies.is_empty() {
        println!(
            "  latency p50 {}  p90 {}  p99 {}  max {}",
            ms(pct(0.50)),
            ms(pct(0.90)),
            ms(pct(0.99)),
            ms(pct(1.0))
        );
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_the_quickstarts() {
        let a = parse(&["--command", "OfficialAccount.CallbackBeforeSendMsg"]).unwrap();
        assert_eq!(a.url, "http://127.0.0.1:8080/tencent/chat/webhook");
        assert_eq!(
            (a.app_id, a.token.as_str()),
            (demo::DEFAULT_APP_ID, demo::DEMO_TOKEN)
        );
        assert_eq!(
            a.body,
            test_util::sample(Command::OfficialAccountBeforeSendMsg)
        );
        assert_eq!((a.count, a.concurrency), (1, 1));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let cases: [(&[&str], &str); 7] = [
            (
                &["--command", "Nope.Nothing"],
                "unknown command `Nope.Nothing`",
            ),
            (&[], "--command is required"),
            (
                &["--command", "A.B", "--url", "ht tp://x"],
                "is not a valid URL",
            ),
            (
                &["--command", "A.B", "--url", "https://example.com/"],
                "must be an http:// URL",
            ),
            (
                &["--command", "A.B", "--body", "/nonexistent/body.json"],
                "cannot read --body file",
            ),
            (
                &["--command", "A.B", "--count", "many"],
                "is not a whole number",
            ),
            (&["--command"], "needs a value"),
        ];
        for (args, want) in cases {
            let err = parse(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn concurrency_never_exceeds_count() {
        let a = parse(&[
            "--command",
            "OfficialAccount.CallbackAfterSendMsg",
            "--count",
            "3",
            "--concurrency",
            "10",
        ])
        .unwrap();
        assert_eq!((a.count, a.concurrency), (3, 3));
    }
}
