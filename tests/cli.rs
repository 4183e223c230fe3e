//! The command-line tool, as a user runs it: the built binary, against a real server on a
//! loopback port, judged by its exit code, stdout and stderr.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Output};

use tencent_chat_webhook::{
    GroupErrorCode, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService, group,
};

const TOKEN: &str = "cli-test-token-5e1f";
const BIN: &str = env!("CARGO_BIN_EXE_tencent-chat-webhook");

/// Refuses every group message with a code of its own, so the reply shows it came from here.
struct Muted;

impl Handler for Muted {
    async fn on_group_before_send_msg(
        &self,
        _ctx: &RequestContext,
        _msg: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        let code = GroupErrorCode::new(10_123).expect("in range");
        Ok(group::SendMsgDecision::deny_with(
            code,
            "muted by the cli test",
        ))
    }
}

/// A webhook server on an ephemeral port, served like `examples/hyper.rs`; stops when dropped.
struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let config = WebhookConfig::builder(1_400_000_000)
            .token(TOKEN)
            .build()
            .unwrap();
        let webhook = WebhookService::new(config, Muted);
        runtime.spawn(common::serve(listener, webhook));
        Server {
            addr,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/tencent/chat/webhook", self.addr)
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit code, stdout and stderr, for assertion messages.
fn shown(out: &Output) -> String {
    format!(
        "code {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// Nothing the tool prints may contain the token it was given.
fn assert_token_hidden(out: &Output) {
    assert!(!stdout(out).contains(TOKEN), "{}", shown(out));
    assert!(!stderr(out).contains(TOKEN), "{}", shown(out));
}

#[test]
fn sign_prints_tencents_known_answer() {
    let out = run(&["sign", "--token", "xxxxyyyy", "--time", "1669872112"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
            "SdkAppid=1400000000&CallbackCommand=C2C.CallbackBeforeSendMsg&contenttype=json\
             &Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112",
        ],
        "{}",
        shown(&out)
    );
    assert!(out.stderr.is_empty(), "{}", shown(&out));
    assert!(!text.contains("xxxxyyyy"), "{}", shown(&out));
}

#[test]
fn send_prints_the_reply_and_exits_zero() {
    let server = Server::start();
    let url = server.url();
    let out = run(&[
        "send",
        "--url",
        &url,
        "--token",
        TOKEN,
        "--command",
        "Group.CallbackBeforeSendMsg",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let text = stdout(&out);
    assert!(text.starts_with("HTTP 200 OK in "), "{}", shown(&out));
    assert!(
        text.contains(
            r#"{"ActionStatus":"OK","ErrorInfo":"muted by the cli test","ErrorCode":10123}"#
        ),
        "{}",
        shown(&out)
    );
    assert!(out.stderr.is_empty(), "{}", shown(&out));
    assert_token_hidden(&out);

    // Any command, known or not, with a body from a file.
    let body = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-custom-body.json");
    std::fs::write(
        &body,
        r#"{"CallbackCommand":"Custom.CallbackNotInTheCatalogue","Anything":1}"#,
    )
    .unwrap();
    let body = body.to_str().unwrap();
    let out = run(&[
        "send",
        "--url",
        &url,
        "--token",
        TOKEN,
        "--command",
        "Custom.CallbackNotInTheCatalogue",
        "--body",
        body,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        stdout(&out).contains(r#""ActionStatus":"OK""#),
        "{}",
        shown(&out)
    );
}

#[test]
fn send_exits_one_on_a_non_2xx_answer() {
    let server = Server::start();
    let url = server.url();
    let cases: [(&[&str], &str); 3] = [
        // The demo token, which this server does not have.
        (&[], "HTTP 401 Unauthorized"),
        (
            &["--token", TOKEN, "--time", "1000"],
            "HTTP 401 Unauthorized",
        ),
        (&["--unsigned"], "HTTP 401 Unauthorized"),
    ];
    for (extra, want) in cases {
        let mut args = vec![
            "send",
            "--url",
            &url,
            "--command",
            "Group.CallbackBeforeSendMsg",
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", shown(&out));
        assert!(stdout(&out).starts_with(want), "{extra:?}: {}", shown(&out));
        assert!(
            stdout(&out).contains(r#""ActionStatus":"FAIL""#),
            "{extra:?}: {}",
            shown(&out)
        );
        assert!(
            stderr(&out).contains("error: the server answered 401 Unauthorized"),
            "{extra:?}: {}",
            shown(&out)
        );
        assert_token_hidden(&out);
    }
}

#[test]
fn send_exits_one_when_no_server_answers() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/tencent/chat/webhook");
    let out = run(&["send", "--url", &url, "--command", "State.StateChange"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        stderr(&out).starts_with(&format!("error: could not reach {url}")),
        "{}",
        shown(&out)
    );
    assert!(out.stdout.is_empty(), "{}", shown(&out));
}

#[test]
fn load_prints_throughput_and_percentiles() {
    let server = Server::start();
    let url = server.url();
    let out = run(&[
        "load",
        "--url",
        &url,
        "--token",
        TOKEN,
        "--command",
        "Group.CallbackAfterSendMsg",
        "--count",
        "20",
        "--concurrency",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", shown(&out));
    assert!(
        lines[0].starts_with("20 requests, concurrency 4, in ") && lines[0].ends_with(" req/s"),
        "{}",
        shown(&out)
    );
    assert_eq!(lines[1], "  200 OK: 20", "{}", shown(&out));
    for want in ["p50 ", "p90 ", "p99 ", "max "] {
        assert!(lines[2].contains(want), "{want}: {}", shown(&out));
    }
    assert!(out.stderr.is_empty(), "{}", shown(&out));
    assert_token_hidden(&out);
}

#[test]
fn load_exits_one_and_counts_the_failures() {
    let server = Server::start();
    let url = server.url();
    let out = run(&[
        "load",
        "--url",
        &url,
        "--command",
        "Group.CallbackAfterSendMsg",
        "--count",
        "6",
        "--concurrency",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        stdout(&out).contains("  401 Unauthorized: 6"),
        "{}",
        shown(&out)
    );
    assert!(
        stderr(&out).starts_with(
            "error: 6 of 6 requests failed (6 answered non-2xx, 0 got no answer); \
             the first: the server answered 401 Unauthorized"
        ),
        "{}",
        shown(&out)
    );
}

#[test]
fn usage_errors_exit_two_with_a_message_on_stderr() {
    let cases: [(&[&str], &str); 6] = [
        (&[], "Usage: tencent-chat-webhook <SUBCOMMAND>"),
        (
            &["send"],
            "error: the following required arguments were not provided",
        ),
        (
            &["send", "--command", "Nope.Nothing"],
            "error: unknown command `Nope.Nothing`",
        ),
        (
            &[
                "send",
                "--command",
                "State.StateChange",
                "--url",
                "https://example.com/",
            ],
            "https:// is not supported",
        ),
        (
            &["load", "--command", "State.StateChange", "--count", "lots"],
            "'--count <N>': not a whole number",
        ),
        (&["sign", "--token", TOKEN], "--time <SECS>"),
    ];
    for (args, want) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", shown(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", shown(&out));
        assert!(out.stdout.is_empty(), "{args:?}: {}", shown(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            shown(&out)
        );
        assert_token_hidden(&out);
    }
}

#[test]
fn help_works_for_every_subcommand() {
    for args in [
        &["--help"][..],
        &["send", "--help"],
        &["load", "--help"],
        &["sign", "--help"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", shown(&out));
        assert!(
            stdout(&out).contains("Usage: tencent-chat-webhook"),
            "{args:?}: {}",
            shown(&out)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", shown(&out));
    }
}

#[test]
fn send_gives_up_on_a_server_that_never_answers() {
    // Listening (the kernel completes the handshake) but never reading nor answering.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/tencent/chat/webhook",
        silent.local_addr().unwrap()
    );
    let out = run(&[
        "send",
        "--url",
        &url,
        "--command",
        "State.StateChange",
        "--timeout",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_eq!(
        stderr(&out),
        format!("error: no answer from {url} within 1 s (--timeout)\n"),
        "{}",
        shown(&out)
    );
    drop(silent);
}
