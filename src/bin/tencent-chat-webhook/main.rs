//! `tencent-chat-webhook`: fire signed Tencent Cloud Chat webhooks at a server, as Tencent would,
//! for local development and quick load checks; or print a signature for curl.
//!
//! ```sh
//! cargo install --path . --features cli
//! # Tencent's documented sample of a command, signed with the examples' defaults:
//! tencent-chat-webhook send --command C2C.CallbackBeforeSendMsg
//! # Your own body, another server, a stale RequestTime:
//! tencent-chat-webhook send --command C2C.CallbackBeforeSendMsg --body msg.json \
//!     --url http://127.0.0.1:9000/tencent/chat/webhook --time 1000
//! # 2000 requests, 50 at a time: throughput and latency percentiles.
//! tencent-chat-webhook load --command C2C.CallbackAfterSendMsg --count 2000 --concurrency 50
//! # The signature and query string for a token and a time:
//! tencent-chat-webhook sign --token xxxxyyyy --time 1669872112
//! # A real token: from the environment or a file, not the command line (where `ps` shows it).
//! CALLBACK_TOKEN=... tencent-chat-webhook send --command C2C.CallbackBeforeSendMsg
//! tencent-chat-webhook send --token-file /run/secrets/tencent-token --command C2C.CallbackBeforeSendMsg
//! ```
//!
//! The token is `--token`, else `--token-file`'s content, else `CALLBACK_TOKEN`, else (for
//! `send` and `load`) the public demo token.
//!
//! Exit codes: 0 when every answer is 2xx (and for `sign` and `--help`), 1 for a runtime failure
//! (no server, no answer in time, a non-2xx answer), 2 for a usage error. A token is never printed,
//! except the public demo default in `--help`.

mod args;
mod client;
mod load;

use std::io::{self, Write};
use std::process::ExitCode;

use args::{Job, Outgoing};

fn main() -> ExitCode {
    let job = match args::parse(std::env::args_os()) {
        Ok(job) => job,
        Err(e) => {
            // Help and version go to stdout with code 0, usage errors to stderr with code 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(job: Job) -> Result<(), String> {
    match job {
        Job::Sign(sign) => print(&sign.lines().join("\n")),
        Job::Send(outgoing) => runtime()?.block_on(send(outgoing)),
        Job::Load {
            outgoing,
            count,
            concurrency,
        } => runtime()?.block_on(async {
            let summary = load::run(&client::new_client(), outgoing, count, concurrency).await?;
            print(summary.report().trim_end())?;
            summary.verdict()
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Sends one request; prints the status, the latency and the reply, whatever the status.
async fn send(outgoing: Outgoing) -> Result<(), String> {
    let answer = client::send_one(&client::new_client(), &outgoing).await?;
    print(&format!(
        "HTTP {} in {}\n{}",
        answer.status,
        client::ms(answer.latency),
        String::from_utf8_lossy(&answer.reply)
    ))?;
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(format!("the server answered {}", answer.status))
    }
}

/// Writes `text` and a newline to stdout; a closed stdout is an error, not a panic.
fn print(text: &str) -> Result<(), String> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}
