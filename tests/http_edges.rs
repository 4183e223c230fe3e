//! Bad HTTP/1.1 framing, over a real socket, against the crate's server (`server::serve`) with
//! the webhook service: bodies shorter or longer than their
//! `Content-Length`, chunked bodies over the limit or cut short, both framings at once. Each
//! request is written as raw bytes by a plain TCP client, and the test reads every answer the
//! server gives until it closes the connection (or a second passes).
//!
//! For each row it asserts the answers (status, and the crate's JSON error shape where the crate
//! answers), whether the connection was closed, and how many times the handler ran: a request
//! whose body did not arrive whole never reaches it, and the unread rest of a refused body is
//! never taken for a next request.
//!
//! What hyper 1 does, and these rows pin down: a body cut short by the client's FIN is an
//! unreadable body (the crate's JSON 400); a body that stops arriving is the crate's JSON 408 at
//! its deadline; bytes past a `Content-Length` are parsed as the next request (garbage gets
//! hyper's own 400 and a close); `Transfer-Encoding: chunked` wins over `Content-Length`, and
//! hyper closes the connection after answering such a request. Every refusal of the crate's
//! (400, 408, 413) says `Connection: close` and ends its connection, as the server does after any
//! refused request: so the unread rest of a refused body is never read as a request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{
    Command, Event, Handler, HandlerResult, Reply, RequestContext, UnknownEvent, UnparsedEvent,
    WebhookConfig, WebhookService, official_account,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "edges-token-5e1a";
/// A small body limit, so that a body over it is a few KiB.
const BODY_LIMIT: usize = 1024;
/// The crate's deadline for reading the body and handling the request.
const DEADLINE: Duration = Duration::from_millis(300);
/// How long the client waits for the server to answer and close.
const READ_BUDGET: Duration = Duration::from_secs(1);

/// Counts every call, of any hook the requests here can reach.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Counting {
    fn count(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Handler for Counting {
    async fn on_official_account_before_send_msg(
        &self,
        _: &RequestContext,
        _: official_account::BeforeSendMsg,
    ) -> HandlerResult<official_account::SendMsgDecision> {
        self.count();
        Ok(official_account::SendMsgDecision::Allow)
    }

    async fn on_after_event(&self, _: &RequestContext, _: Event) -> HandlerResult<()> {
        self.count();
        Ok(())
    }

    async fn on_unknown(&self, _: &RequestContext, _: UnknownEvent) -> HandlerResult<Reply> {
        self.count();
        Ok(Reply::ok())
    }

    async fn on_unparsed(
        &self,
        _: &RequestContext,
        _: UnparsedEvent,
    ) -> HandlerResult<Option<Reply>> {
        self.count();
        Ok(None)
    }
}

/// `server::serve` with the webhook (small body limit, short deadline) and a counting handler,
/// on an ephemeral loopback port. The header-read timeout (which is also hyper's keep-alive idle
/// time) is longer than [`READ_BUDGET`], so that a connection seen closed was closed on purpose.
async fn start() -> (SocketAddr, Counting) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Counting::default();
    let config = WebhookConfig::builder(APP)
        .token(TOKEN)
        .body_limit(BODY_LIMIT)
        .deadline(DEADLINE)
        .build()
        .unwrap();
    let service = WebhookService::new(config, calls.clone());
    let mut limits = Limits::default();
    limits.header_read_timeout = Duration::from_secs(5);
    limits.request_timeout = Duration::from_secs(2);
    tokio::spawn(async move {
        server::serve(listener, service, limits, std::future::pending()).await;
    });
    (addr, calls)
}

/// One HTTP/1.1 response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim() == name).then(|| v.trim())
        })
    }

    /// The body as the crate's reply JSON, if it is one.
    fn reply(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What the server did with one raw exchange.
#[derive(Debug)]
struct Seen {
    answers: Vec<Answer>,
    /// The server closed the connection within [`READ_BUDGET`].
    closed: bool,
}

/// Splits what the server sent into responses (each framed by its `Content-Length`, or up to
/// the end when it has none).
fn parse_answers(mut raw: &[u8]) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !raw.is_empty() {
        let text = String::from_utf8_lossy(raw);
        let Some(end) = text.find("\r\n\r\n") else {
            panic!("not an HTTP response: {text:?}");
        };
        let head = text[..end].to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head:?}"));
        let mut answer = Answer {
            status,
            head,
            body: Vec::new(),
        };
        let rest = &raw[end + 4..];
        let len = answer
            .header("content-length")
            .map_or(rest.len(), |v| v.parse().unwrap());
        answer.body = rest[..len].to_vec();
        raw = &rest[len..];
        answers.push(answer);
    }
    answers
}

/// How the client ends its side after writing.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Shuts down its writing half (a FIN), and reads.
    HalfClose,
    /// Sends nothing more, keeps the connection open, and reads.
    Wait,
}

/// Connects, writes `raw`, ends as `then` says, and reads until the server closes or
/// [`READ_BUDGET`] passes.
async fn exchange(addr: SocketAddr, raw: &[u8], then: Then) -> Seen {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    if let Then::HalfClose = then {
        stream.shutdown().await.unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(READ_BUDGET, stream.read(&mut buf)).await {
            Err(_elapsed) => break false,
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            // A reset is a close too; what arrived before it is kept.
            Ok(Err(_)) => break true,
        }
    };
    Seen {
        answers: parse_answers(&got),
        closed,
    }
}

/// A signed Official Account before-send (Tencent's sample, which the handler allows).
fn signed() -> SignedRequest {
    SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .app_id(APP)
        .token(TOKEN)
}

/// A request head for `req` with the framing headers given (each ending in `\r\n`).
fn head(req: &SignedRequest, framing: &str) -> Vec<u8> {
    format!(
        "POST {} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n{framing}\r\n",
        req.path_and_query()
    )
    .into_bytes()
}

/// `chunks` in chunked encoding, with the terminating zero chunk if `terminated`.
fn chunked(chunks: &[&[u8]], terminated: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    if terminated {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// What a row expects of an answer: its status, and whether its body is the crate's JSON error
/// shape (`ActionStatus` FAIL, `ErrorCode` = the status) or the handler's OK reply.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200 with `{"ActionStatus":"OK",...,"ErrorCode":0}`: the handler's answer.
    Handled,
    /// This status in the crate's JSON error shape.
    Json(u16),
    /// This status from hyper itself (no JSON body).
    Hyper(u16),
}

struct Row {
    name: &'static str,
    raw: Vec<u8>,
    then: Then,
    answers: &'static [Expect],
    closed: bool,
    handled: usize,
    /// A handled answer says `connection: close` (refusals, the crate's and hyper's, always do).
    says_close: bool,
}

const CLOSED: bool = true;
const KEPT: bool = false;

fn row(
    name: &'static str,
    raw: Vec<u8>,
    then: Then,
    answers: &'static [Expect],
    closed: bool,
    handled: usize,
) -> Row {
    Row {
        name,
        raw,
        then,
        answers,
        closed,
        handled,
        says_close: false,
    }
}

impl Row {
    fn says_close(mut self) -> Self {
        self.says_close = true;
        self
    }
}

fn check(row: &Row, seen: &Seen, handled: usize) {
    let name = row.name;
    let statuses: Vec<u16> = seen.answers.iter().map(|a| a.status).collect();
    assert_eq!(
        seen.answers.len(),
        row.answers.len(),
        "{name}: answers {statuses:?}, expected {:?}; {seen:?}",
        row.answers
    );
    for (answer, expect) in seen.answers.iter().zip(row.answers) {
        let reply = answer.reply();
        match *expect {
            Expect::Handled => {
                assert_eq!(answer.status, 200, "{name}: {answer:?}");
                let reply = reply.unwrap_or_else(|| panic!("{name}: not JSON: {answer:?}"));
                assert_eq!(
                    (&reply["ActionStatus"], &reply["ErrorCode"]),
                    (&Value::from("OK"), &Value::from(0)),
                    "{name}: {reply}"
                );
            }
            Expect::Json(status) => {
                assert_eq!(answer.status, status, "{name}: {answer:?}");
                assert_eq!(
                    answer.header("content-type"),
                    Some("application/json"),
                    "{name}: {answer:?}"
                );
                let reply = reply.unwrap_or_else(|| panic!("{name}: not JSON: {answer:?}"));
                assert_eq!(
                    (&reply["ActionStatus"], &reply["ErrorCode"]),
                    (&Value::from("FAIL"), &Value::from(status)),
                    "{name}: {reply}"
                );
            }
            Expect::Hyper(status) => {
                assert_eq!(answer.status, status, "{name}: {answer:?}");
                assert!(reply.is_none(), "{name}: {answer:?}");
            }
        }
        // Refusals, hyper's own and the crate's, always announce the close; a handled answer
        // only when the row expects it.
        let says_close = !matches!(expect, Expect::Handled) || row.says_close;
        assert_eq!(
            answer.header("connection") == Some("close"),
            says_close,
            "{name}: connection: close? {answer:?}"
        );
    }
    assert_eq!(seen.closed, row.closed, "{name}: closed? {seen:?}");
    assert_eq!(handled, row.handled, "{name}: handler calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_framing_is_refused_and_never_reaches_the_handler() {
    let req = signed();
    let body = req.body_text().as_bytes();
    use Expect::{Handled, Hyper, Json};
    use Then::{HalfClose, Wait};
    let cl = |n: usize| format!("content-length: {n}\r\n");
    let te = "transfer-encoding: chunked\r\n";
    let (first_half, second_half) = body.split_at(body.len() / 2);
    // A whole signed request. Hidden in a body, it shows whether the server ever took the unread
    // rest of a body for a next request: the handler would run.
    let good = cat(&[&head(&req, &cl(body.len())), body]);
    let filler = vec![b' '; BODY_LIMIT - 10];
    // A Content-Length 100 bytes past the body; a chunked body with no zero chunk.
    let long = cat(&[&head(&req, &cl(body.len() + 100)), body]);
    let unfinished = cat(&[&head(&req, te), &chunked(&[first_half], false)]);

    // (name, the raw bytes, how the client ends, the answers, the connection closed?, handler calls)
    let rows = [
        row(
            "content-length larger than the body, then a half-close",
            long.clone(),
            HalfClose,
            &[Json(400)],
            CLOSED,
            0,
        ),
        row(
            "content-length larger than the body, then silence",
            long.clone(),
            Wait,
            &[Json(408)],
            CLOSED,
            0,
        ),
        row(
            "content-length smaller than the bytes: the rest is a malformed next request",
            cat(&[&head(&req, &cl(body.len())), body, b"garbage\r\n\r\n"]),
            Wait,
            &[Handled, Hyper(400)],
            CLOSED,
            1,
        ),
        row(
            "content-length cuts the JSON short: 400, and the tail is not read",
            cat(&[&head(&req, &cl(body.len() - 10)), body]),
            Wait,
            &[Json(400)],
            CLOSED,
            0,
        ),
        row(
            "content-length over the limit, body not sent",
            head(&req, &cl(BODY_LIMIT + 1)),
            Wait,
            &[Json(413)],
            CLOSED,
            0,
        ),
        row(
            "content-length over the limit, whole body with a request hidden in it, then a good request: closed after the 413",
            cat(&[
                &head(&req, &cl(filler.len() + good.len())),
                &filler,
                &good,
                &good,
            ]),
            Wait,
            &[Json(413)],
            CLOSED,
            0,
        ),
        row(
            "chunked over the limit, whole, a request hidden in it, then a good request: closed after the 413",
            cat(&[&head(&req, te), &chunked(&[&filler, &good], true), &good]),
            Wait,
            &[Json(413)],
            CLOSED,
            0,
        ),
        row(
            "chunked over the limit, the rest never sent",
            cat(&[&head(&req, te), &chunked(&[&filler, &filler], false)]),
            Wait,
            &[Json(413)],
            CLOSED,
            0,
        ),
        row(
            "chunked and content-length both (smuggling shape): chunked wins, then a close",
            cat(&[
                &head(&req, &format!("{}{te}", cl(5))),
                &chunked(&[body], true),
            ]),
            Wait,
            &[Handled],
            CLOSED,
            1,
        )
        .says_close(),
        row(
            "chunked, no zero chunk, then a half-close",
            unfinished.clone(),
            HalfClose,
            &[Json(400)],
            CLOSED,
            0,
        ),
        row(
            "chunked, a chunk cut short, then a half-close",
            cat(&[
                &head(&req, te),
                format!("{:x}\r\n", body.len()).as_bytes(),
                first_half,
            ]),
            HalfClose,
            &[Json(400)],
            CLOSED,
            0,
        ),
        row(
            "chunked, no zero chunk, then silence",
            unfinished.clone(),
            Wait,
            &[Json(408)],
            CLOSED,
            0,
        ),
        row(
            "chunked, a chunk size that is not hex",
            cat(&[&head(&req, te), b"zz\r\n", body, b"\r\n0\r\n\r\n"]),
            Wait,
            &[Json(400)],
            CLOSED,
            0,
        ),
        row(
            "chunked, whole and good (the control)",
            cat(&[&head(&req, te), &chunked(&[first_half, second_half], true)]),
            Wait,
            &[Handled],
            KEPT,
            1,
        ),
    ];

    // A 408 is the crate's deadline, which needs its `tokio` feature.
    let rows = rows.into_iter().filter(|row| {
        cfg!(feature = "tokio") || !row.answers.iter().any(|a| matches!(a, Json(408)))
    });
    let mut runs = JoinSet::new();
    for row in rows {
        runs.spawn(async move {
            let (addr, calls) = start().await;
            let seen = exchange(addr, &row.raw, row.then).await;
            // The handler, if it ran, ran before its answer was written.
            (row, seen, calls.0.load(Ordering::SeqCst))
        });
    }
    let mut results = Vec::new();
    while let Some(run) = runs.join_next().await {
        let (row, seen, handled) = run.unwrap();
        let summary: Vec<(u16, Option<&str>)> = seen
            .answers
            .iter()
            .map(|a| (a.status, a.header("connection")))
            .collect();
        eprintln!(
            "{}: answers {summary:?}, closed {}, handled {handled}",
            row.name, seen.closed
        );
        results.push((row, seen, handled));
    }
    for (row, seen, handled) in &results {
        check(row, seen, *handled);
    }
}
