//! A soak test: many mixed webhook requests at a running server, every answer checked, the
//! server's memory watched.
//!
//! ```sh
//! scripts/soak.sh            # builds, starts the quickstart, runs this with a million requests
//! # or by hand, against a quickstart you started:
//! cargo run --release --example soak -- --url http://127.0.0.1:8080/tencent/chat/webhook \
//!     --requests 100000 --rss-pid "$(pgrep -n quickstart)"
//! ```
//!
//! Requests are chosen by their index, in rounds of 20: 14 good signed webhooks rotating over
//! fifteen templates of ten commands (one-to-one, group and Official Account before-sends that
//! the demo handler allows, drops as spam or rewrites, group invites and friend requests with a
//! `banned_` user, a group name it denies, after-events and a push batch), 2 with a bad signature
//! (wrong `Sign`, another token, a stale `RequestTime`: 401), 1 with a body that is not JSON
//! (400), 1 oversize, 1 unknown command (200), and 1 good request whose body is sent in two
//! halves with a pause between them (200 and the template's answer). Every answer is checked: the
//! status, and the reply's JSON against what the demo handler decides for that template.
//!
//! An oversize request declares 1 MiB + 1 KiB in `Content-Length`, sends the first 64 KiB of one
//! preallocated buffer and holds the rest back: its 413 must come before the body is finished,
//! which is what refusing from `Content-Length` promises. (Writing the whole body instead races
//! the server, which answers and closes without draining what it did not read: the client then
//! often sees a broken pipe or a reset instead of the 413.)
//!
//! Workers each keep one HTTP/1.1 keep-alive connection and send their requests one after the
//! other, so `--concurrency` bounds the requests in flight. A connection is opened again after an
//! oversize request (its body is never finished) or when the server closes it.
//!
//! With `--rss-pid`, the server's resident set (`VmRSS` in `/proc/PID/status`) is sampled at the
//! start, every second, after the warm-up (the first tenth of the requests, and at least 50 per
//! connection) and at the end (once this client's connections are closed). The run fails if any request got an answer other than
//! its expected one (or none), if any answer was a 5xx, or if the resident set at the end exceeds
//! the one after the warm-up by more than `--max-rss-growth-mb`.
//!
//! Options: `--url URL` (default `http://127.0.0.1:8080/tencent/chat/webhook`), `--requests N`
//! (1000000), `--concurrency C` (64), `--rss-pid PID` (none: memory is not checked),
//! `--max-rss-growth-mb M` (8), `--slow-pause-ms MS` (50), `--app-id ID` (1400000000),
//! `--token T` (the demo token), `--timeout-s S` (10, per request).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tencent_chat_webhook::common::Member;
use tencent_chat_webhook::message::MsgElement;
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{ActionStatus, Command, Event, ImStr, Reply, group, sns};
use tokio::net::TcpStream;

/// The server's body limit (the crate's default); oversize requests declare a little more.
const BODY_LIMIT: usize = 1024 * 1024;
/// How much of an oversize body is sent before it is held back, waiting for the 413.
const OVERSIZE_SENT: usize = 64 * 1024;
/// How many failures are described in full at the end.
const EXAMPLES: usize = 8;

// ---------------------------------------------------------------------------------------------
// Options.

struct Options {
    url: Uri,
    requests: u64,
    concurrency: usize,
    rss_pid: Option<u32>,
    max_rss_growth_mb: f64,
    slow_pause: Duration,
    app_id: u64,
    token: String,
    timeout: Duration,
}

const USAGE: &str = "usage: soak [--url URL] [--requests N] [--concurrency C] [--rss-pid PID] \
[--max-rss-growth-mb M] [--slow-pause-ms MS] [--app-id ID] [--token T] [--timeout-s S]";

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            url: Uri::from_static("http://127.0.0.1:8080/tencent/chat/webhook"),
            requests: 1_000_000,
            concurrency: 64,
            rss_pid: None,
            max_rss_growth_mb: 8.0,
            slow_pause: Duration::from_millis(50),
            app_id: test_util::DEMO_APP_ID,
            token: test_util::DEMO_TOKEN.to_owned(),
            timeout: Duration::from_secs(10),
        };
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.to_owned());
            }
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{flag} `{value}`: {e}\n{USAGE}");
            match flag.as_str() {
                "--url" => o.url = value.parse().map_err(|e| bad(&e))?,
                "--requests" => o.requests = value.parse().map_err(|e| bad(&e))?,
                "--concurrency" => o.concurrency = value.parse().map_err(|e| bad(&e))?,
                "--rss-pid" => o.rss_pid = Some(value.parse().map_err(|e| bad(&e))?),
                "--max-rss-growth-mb" => {
                    o.max_rss_growth_mb = value.parse().map_err(|e| bad(&e))?
                }
                "--slow-pause-ms" => {
                    o.slow_pause = Duration::from_millis(value.parse().map_err(|e| bad(&e))?);
                }
                "--app-id" => o.app_id = value.parse().map_err(|e| bad(&e))?,
                "--token" => o.token = value,
                "--timeout-s" => {
                    o.timeout = Duration::from_secs(value.parse().map_err(|e| bad(&e))?);
                }
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        if o.url.scheme_str() != Some("http") || o.url.authority().is_none() {
            return Err(format!(
                "--url must be http://host:port/path, not {}",
                o.url
            ));
        }
        if o.requests == 0 || o.concurrency == 0 {
            return Err("--requests and --concurrency must be at least 1".to_owned());
        }
        Ok(o)
    }

    fn authority(&self) -> &str {
        self.url.authority().map_or("", |a| a.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// What is sent, and what must come back.

/// The kinds of request, each counted on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Good,
    BadSignature,
    BadJson,
    Oversize,
    Unknown,
    Slow,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::Good,
        Class::BadSignature,
        Class::BadJson,
        Class::Oversize,
        Class::Unknown,
        Class::Slow,
    ];

    fn name(self) -> &'static str {
        match self {
            Class::Good => "good",
            Class::BadSignature => "bad signature",
            Class::BadJson => "bad JSON",
            Class::Oversize => "oversize",
            Class::Unknown => "unknown command",
            Class::Slow => "slow body",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One round of 20 requests, interleaved: 14 good (70 %), 2 bad signatures (10 %), and one each
/// (5 %) of bad JSON, oversize, unknown command and slow body.
const ROUND: [Class; 20] = {
    use Class::*;
    [
        Good,
        Good,
        BadSignature,
        Good,
        BadJson,
        Good,
        Good,
        Oversize,
        Good,
        Unknown, //
        Good,
        Good,
        BadSignature,
        Good,
        Slow,
        Good,
        Good,
        Good,
        Good,
        Good,
    ]
};

/// How a request is signed.
#[derive(Clone, Copy, Debug)]
enum Signing {
    Good,
    /// A `Sign` of the right shape that matches no token.
    WrongSign,
    /// Signed with a token the server does not have.
    OtherToken,
    /// Signed with the right token an hour ago.
    Stale,
}

/// The answer a request must get.
#[derive(Clone, Debug)]
enum Expect {
    /// 200, `OK`, `ErrorCode` 0, nothing more.
    Ok,
    /// 200, `ErrorCode` 2: dropped silently.
    Drop,
    /// 200, `ErrorCode` 0 and this rewritten `MsgBody` (its texts).
    Rewrite(Vec<String>),
    /// 200, `ErrorCode` 0 and exactly these users in `RefusedMembers_Account`.
    RefuseMembers(Vec<ImStr>),
    /// 200 and one `ResultItem` per target: (user, code).
    Friends(Vec<(String, u32)>),
    /// 200 and this refusal `ErrorCode`.
    Deny(u32),
    /// This status, with the crate's JSON error shape (`FAIL`, `ErrorCode` = the status).
    Rejected(StatusCode),
}

struct Template {
    name: &'static str,
    class: Class,
    request: SignedRequest,
    signing: Signing,
    body: Bytes,
    expect: Expect,
}

/// The sample of a message command with its body replaced by one text element.
fn with_text(command: Command, text: &str) -> String {
    let mut event = test_util::sample_event(command);
    let body = match &mut event {
        Event::C2cBeforeSendMsg(e) => &mut e.msg_body,
        Event::GroupBeforeSendMsg(e) => &mut e.msg_body,
        Event::OfficialAccountBeforeSendMsg(e) => &mut e.msg_body,
        other => unreachable!("{} carries no message", other.command_name()),
    };
    *body = vec![MsgElement::text(text)];
    event.to_json()
}

/// The good requests: several commands, each with the demo handler's known decision.
fn good_templates() -> Vec<(&'static str, Command, String, Expect)> {
    use Command as C;
    let mut invite: group::BeforeInviteJoin = test_util::typed_sample();
    invite.destination_members = ["jared", "banned_eve", "leckie"].map(Member::new).into();
    let mut friend: sns::PrevFriendAdd = test_util::typed_sample();
    friend.friend_item[1].to_account = "banned_bob".into();
    let mut forbidden: group::BeforeCreate = test_util::typed_sample();
    forbidden.name = Some("a Forbidden group".into());
    let plain = |c: Command| test_util::sample(c).to_owned();
    vec![
        (
            "c2c allow",
            C::C2cBeforeSendMsg,
            plain(C::C2cBeforeSendMsg),
            Expect::Ok,
        ),
        (
            "c2c spam",
            C::C2cBeforeSendMsg,
            with_text(C::C2cBeforeSendMsg, "cheap SPAM here"),
            Expect::Drop,
        ),
        (
            "c2c badword",
            C::C2cBeforeSendMsg,
            with_text(C::C2cBeforeSendMsg, "a badword and a badword"),
            Expect::Rewrite(vec!["a *** and a ***".to_owned()]),
        ),
        (
            "group allow",
            C::GroupBeforeSendMsg,
            plain(C::GroupBeforeSendMsg),
            Expect::Ok,
        ),
        (
            "group spam",
            C::GroupBeforeSendMsg,
            with_text(C::GroupBeforeSendMsg, "spam!"),
            Expect::Drop,
        ),
        (
            "group badword",
            C::GroupBeforeSendMsg,
            with_text(C::GroupBeforeSendMsg, "badword"),
            Expect::Rewrite(vec!["***".to_owned()]),
        ),
        (
            "official account badword",
            C::OfficialAccountBeforeSendMsg,
            with_text(C::OfficialAccountBeforeSendMsg, "no badword here"),
            Expect::Rewrite(vec!["no *** here".to_owned()]),
        ),
        (
            "group invite banned_",
            C::GroupBeforeInviteJoin,
            Event::from(invite).to_json(),
            Expect::RefuseMembers(vec!["banned_eve".into()]),
        ),
        (
            "group invite allow",
            C::GroupBeforeInviteJoin,
            plain(C::GroupBeforeInviteJoin),
            Expect::Ok,
        ),
        (
            "friend add banned_",
            C::SnsPrevFriendAdd,
            Event::from(friend).to_json(),
            Expect::Friends(vec![
                ("id1".to_owned(), 0),
                ("banned_bob".to_owned(), 38_000),
            ]),
        ),
        (
            "group create forbidden",
            C::GroupBeforeCreate,
            Event::from(forbidden).to_json(),
            Expect::Deny(10_100),
        ),
        (
            "c2c after send",
            C::C2cAfterSendMsg,
            plain(C::C2cAfterSendMsg),
            Expect::Ok,
        ),
        (
            "group after send",
            C::GroupAfterSendMsg,
            plain(C::GroupAfterSendMsg),
            Expect::Ok,
        ),
        (
            "group member joined",
            C::GroupAfterNewMemberJoin,
            plain(C::GroupAfterNewMemberJoin),
            Expect::Ok,
        ),
        (
            "push batch",
            C::PushOffline,
            plain(C::PushOffline),
            Expect::Ok,
        ),
    ]
}

/// Every template, grouped by class (the order of [`Class::ALL`]).
fn templates(o: &Options) -> Vec<Vec<Template>> {
    let request = |command: &str| {
        SignedRequest::new(command, "")
            .app_id(o.app_id)
            .token(o.token.clone())
            .path(o.url.path())
    };
    let mut by_class: Vec<Vec<Template>> = Class::ALL.iter().map(|_| Vec::new()).collect();
    let mut push = |t: Template| by_class[t.class.index()].push(t);

    for (name, command, body, expect) in good_templates() {
        for class in [Class::Good, Class::Slow] {
            push(Template {
                name,
                class,
                request: request(command.as_str()),
                signing: Signing::Good,
                body: Bytes::from(body.clone()),
                expect: expect.clone(),
            });
        }
    }
    let unauthorized = Expect::Rejected(StatusCode::UNAUTHORIZED);
    for (name, signing) in [
        ("wrong Sign", Signing::WrongSign),
        ("other token", Signing::OtherToken),
        ("stale RequestTime", Signing::Stale),
    ] {
        push(Template {
            name,
            class: Class::BadSignature,
            request: request(Command::C2cBeforeSendMsg.as_str()),
            signing,
            body: Bytes::from_static(test_util::sample(Command::C2cBeforeSendMsg).as_bytes()),
            expect: unauthorized.clone(),
        });
    }
    let truncated = &test_util::sample(Command::GroupBeforeSendMsg)[..100];
    for (name, body) in [
        ("truncated", Bytes::copy_from_slice(truncated.as_bytes())),
        (
            "not JSON",
            Bytes::from_static(b"CallbackCommand=Group.CallbackBeforeSendMsg"),
        ),
        (
            "trailing bytes",
            Bytes::from_static(b"{\"CallbackCommand\":\"Group.CallbackBeforeSendMsg\"} x"),
        ),
        (
            "not UTF-8",
            Bytes::from_static(b"{\"CallbackCommand\":\"\xff\xfe\"}"),
        ),
    ] {
        push(Template {
            name,
            class: Class::BadJson,
            request: request(Command::GroupBeforeSendMsg.as_str()),
            signing: Signing::Good,
            body,
            expect: Expect::Rejected(StatusCode::BAD_REQUEST),
        });
    }
    // One buffer for every oversize request: a clone of `Bytes` shares it.
    let oversize = Bytes::from(vec![b' '; BODY_LIMIT + 1024]);
    push(Template {
        name: "1 MiB + 1 KiB",
        class: Class::Oversize,
        request: request(Command::C2cAfterSendMsg.as_str()),
        signing: Signing::Good,
        body: oversize,
        expect: Expect::Rejected(StatusCode::PAYLOAD_TOO_LARGE),
    });
    for command in [
        "Soak.CallbackAfterSomething",
        "Soak.CallbackBeforeSomething",
        "Group.CallbackAfterSomethingNew",
    ] {
        push(Template {
            name: command,
            class: Class::Unknown,
            request: request(command),
            signing: Signing::Good,
            body: Bytes::from(json!({ "CallbackCommand": command, "Soak": true }).to_string()),
            expect: Expect::Ok,
        });
    }
    by_class
}

/// The request's path and query, signed for `now` as its template says.
fn signed_uri(t: &Template, token: &str, now: u64) -> Uri {
    let request = match t.signing {
        Signing::Good => t.request.clone().request_time(now),
        Signing::WrongSign => t.request.clone().request_time(now).sign("0".repeat(64)),
        Signing::OtherToken => t
            .request
            .clone()
            .token(format!("not-{token}"))
            .request_time(now),
        Signing::Stale => t.request.clone().request_time(now.saturating_sub(3600)),
    };
    request
        .path_and_query()
        .parse()
        .expect("a signed request's path and query is a URI")
}

/// What is wrong with an answer, if anything.
fn check(expect: &Expect, status: StatusCode, body: &[u8]) -> Result<(), String> {
    let want_status = match expect {
        Expect::Rejected(s) => *s,
        _ => StatusCode::OK,
    };
    if status != want_status {
        return Err(format!("status {status}, expected {want_status}"));
    }
    let reply = Reply::from_json(body).map_err(|e| format!("reply is not a webhook reply: {e}"))?;
    let plain = |r: &Reply| {
        r.refused_members().is_none()
            && r.refused_subscribers().is_none()
            && r.result_items().is_none()
            && r.msg_body().is_none()
            && r.cloud_custom_data().is_none()
            && r.extra().is_empty()
    };
    let ok = reply.action_status() == ActionStatus::Ok;
    let fine = match expect {
        Expect::Ok => {
            ok && reply.error_code() == 0 && reply.error_info().is_empty() && plain(&reply)
        }
        Expect::Drop => ok && reply.error_code() == 2 && plain(&reply),
        Expect::Deny(code) => ok && reply.error_code() == *code && plain(&reply),
        Expect::Rewrite(texts) => {
            let got: Option<Vec<&str>> = reply
                .msg_body()
                .map(|b| b.iter().filter_map(|e| e.as_text()).collect());
            ok && reply.error_code() == 0 && got.is_some_and(|g| g == *texts)
        }
        Expect::RefuseMembers(users) => {
            ok && reply.error_code() == 0 && reply.refused_members() == Some(users.as_slice())
        }
        Expect::Friends(results) => {
            let got: Option<Vec<(&str, u32)>> = reply.result_items().map(|items| {
                items
                    .iter()
                    .map(|i| (i.to_account.as_str(), i.result_code))
                    .collect()
            });
            let want: Vec<(&str, u32)> = results.iter().map(|(u, c)| (u.as_str(), *c)).collect();
            ok && reply.error_code() == 0 && got.is_some_and(|g| g == want)
        }
        Expect::Rejected(s) => {
            reply.action_status() == ActionStatus::Fail
                && reply.error_code() == u32::from(s.as_u16())
                && !reply.error_info().is_empty()
        }
    };
    if fine {
        Ok(())
    } else {
        Err(format!("expected {expect:?}"))
    }
}

// ---------------------------------------------------------------------------------------------
// The request body: whole, or in two halves with a pause between them.

struct SoakBody {
    first: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    rest: Option<Bytes>,
    /// Never sends more than `first`: the rest is held back until the request is dropped.
    held: bool,
    len: u64,
}

impl SoakBody {
    fn whole(body: Bytes) -> Self {
        SoakBody {
            len: body.len() as u64,
            first: Some(body),
            pause: None,
            rest: None,
            held: false,
        }
    }

    fn in_halves(body: &Bytes, pause: Duration) -> Self {
        let mid = body.len() / 2;
        SoakBody {
            len: body.len() as u64,
            first: Some(body.slice(..mid)),
            pause: Some(Box::pin(tokio::time::sleep(pause))),
            rest: Some(body.slice(mid..)),
            held: false,
        }
    }

    /// Declares the whole of `body` but sends only its first `sent` bytes.
    fn held_back(body: &Bytes, sent: usize) -> Self {
        SoakBody {
            len: body.len() as u64,
            first: Some(body.slice(..sent.min(body.len()))),
            pause: None,
            rest: None,
            held: true,
        }
    }
}

impl Body for SoakBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        if self.held {
            // Nothing wakes this: the request is dropped with its connection once answered.
            return Poll::Pending;
        }
        Poll::Ready(self.rest.take().map(|rest| Ok(Frame::data(rest))))
    }

    fn is_end_stream(&self) -> bool {
        !self.held && self.first.is_none() && self.rest.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

// ---------------------------------------------------------------------------------------------
// Counting.

/// Latency buckets: bucket `b` holds answers that took less than 2^b µs.
const BUCKETS: usize = 32;

struct Stats {
    started: Instant,
    done: AtomicU64,
    sent: [AtomicU64; 6],
    failed: [AtomicU64; 6],
    statuses: Vec<AtomicU64>,
    no_answer: AtomicU64,
    connections: AtomicU64,
    good_latency: [AtomicU64; BUCKETS],
    examples: Mutex<Vec<String>>,
    warm: Mutex<Option<Sample>>,
    warm_at: u64,
    samples: Mutex<Vec<Sample>>,
    finished: AtomicBool,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    done: u64,
    rss_kib: u64,
}

impl Stats {
    fn new(requests: u64, concurrency: usize) -> Self {
        Stats {
            started: Instant::now(),
            done: AtomicU64::new(0),
            sent: Default::default(),
            failed: Default::default(),
            statuses: (0..600).map(|_| AtomicU64::new(0)).collect(),
            no_answer: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            good_latency: Default::default(),
            examples: Mutex::new(Vec::new()),
            warm: Mutex::new(None),
            warm_at: warm_up(requests, concurrency),
            samples: Mutex::new(Vec::new()),
            finished: AtomicBool::new(false),
        }
    }

    fn fail(&self, class: Class, what: String) {
        self.failed[class.index()].fetch_add(1, Ordering::Relaxed);
        let mut examples = self.examples.lock().unwrap_or_else(|e| e.into_inner());
        if examples.len() < EXAMPLES {
            examples.push(what);
        }
    }

    fn failures(&self) -> u64 {
        self.failed.iter().map(|f| f.load(Ordering::Relaxed)).sum()
    }

    fn server_errors(&self) -> u64 {
        self.statuses[500..]
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .sum()
    }

    /// The latency under which `p` (0 to 1) of the good answers came, as a bucket's upper bound.
    fn good_percentile(&self, p: f64) -> Duration {
        let counts: Vec<u64> = self
            .good_latency
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let rank = (total as f64 * p).ceil() as u64;
        let mut seen = 0;
        for (b, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank.max(1) {
                return Duration::from_micros(1 << b);
            }
        }
        Duration::ZERO
    }
}

/// The requests after which the server counts as warm: a tenth of the run, and at least 50 per
/// connection (the server's memory rises until every connection has served a few requests, more
/// so with many connections), but at most half the run.
fn warm_up(requests: u64, concurrency: usize) -> u64 {
    let per_connection = 50 * concurrency as u64;
    (requests / 10).max(per_connection).min(requests / 2).max(1)
}

/// The resident set of `pid`, in KiB (`VmRSS` in `/proc/PID/status`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn take_sample(stats: &Stats, pid: u32) -> Option<Sample> {
    Some(Sample {
        at: stats.started.elapsed(),
        done: stats.done.load(Ordering::Relaxed),
        rss_kib: rss_kib(pid)?,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// Sending.

struct Shared {
    options: Options,
    templates: Vec<Vec<Template>>,
    /// For each slot of [`ROUND`], its rank among the slots of its class, and how many slots of
    /// its class a round has.
    ranks: [(usize, u64); 20],
    host: HeaderValue,
    next: AtomicU64,
    stats: Stats,
}

impl Shared {
    /// The template of request `i`: its class from the round, and within the class the next
    /// template in turn.
    fn template(&self, i: u64) -> (usize, usize) {
        let slot = (i % 20) as usize;
        let class = ROUND[slot].index();
        let (rank, per_round) = self.ranks[slot];
        let turn = (i / 20) * per_round + rank as u64;
        (class, (turn % self.templates[class].len() as u64) as usize)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A kept-alive connection: the handle to send on, and the task that drives it.
struct Connection {
    sender: http1::SendRequest<SoakBody>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // A connection still holding back an oversize body would otherwise wait forever.
        self.task.abort();
    }
}

async fn connect(shared: &Shared) -> Result<Connection, String> {
    let stream = TcpStream::connect(shared.options.authority())
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", shared.options.authority()))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    Ok(Connection { sender, task })
}

/// Sends one request on `sender` and reads the whole answer.
async fn exchange(
    sender: &mut http1::SendRequest<SoakBody>,
    request: Request<SoakBody>,
) -> Result<(StatusCode, bool, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection not ready: {}", chain(&e)))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer: {}", chain(&e)))?;
    let status = response.status();
    let close = response
        .headers()
        .get(header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("answer cut short: {}", chain(&e)))?
        .to_bytes();
    Ok((status, close, body))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

async fn worker(shared: Arc<Shared>) {
    let stats = &shared.stats;
    let mut connection: Option<Connection> = None;
    // Signed URIs, kept for the second they were signed in.
    let mut signed: Vec<Vec<Option<(u64, Uri)>>> = shared
        .templates
        .iter()
        .map(|ts| vec![None; ts.len()])
        .collect();
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.options.requests {
            break;
        }
        let (c, t) = shared.template(i);
        let template = &shared.templates[c][t];
        let class = template.class;
        let now = now_secs();
        let uri = match &signed[c][t] {
            Some((at, uri)) if *at == now => uri.clone(),
            _ => {
                let uri = signed_uri(template, &shared.options.token, now);
                signed[c][t] = Some((now, uri.clone()));
                uri
            }
        };
        let body = match class {
            Class::Slow => SoakBody::in_halves(&template.body, shared.options.slow_pause),
            Class::Oversize => SoakBody::held_back(&template.body, OVERSIZE_SENT),
            _ => SoakBody::whole(template.body.clone()),
        };
        let mut request = Request::post(uri)
            .header(header::HOST, shared.host.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, template.body.len())
            .body(body)
            .expect("the request's parts are valid");
        *request.version_mut() = http::Version::HTTP_11;

        stats.sent[c].fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        if connection.as_ref().is_some_and(|c| c.sender.is_closed()) {
            connection = None;
        }
        let result = match &mut connection {
            Some(c) => {
                tokio::time::timeout(shared.options.timeout, exchange(&mut c.sender, request)).await
            }
            None => match connect(&shared).await {
                Ok(c) => {
                    let c = connection.insert(c);
                    tokio::time::timeout(shared.options.timeout, exchange(&mut c.sender, request))
                        .await
                }
                Err(e) => Ok(Err(e)),
            },
        };
        let result = result
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", shared.options.timeout)));
        let elapsed = started.elapsed();
        match result {
            Ok((status, close, body)) => {
                stats.statuses[usize::from(status.as_u16()).min(599)]
                    .fetch_add(1, Ordering::Relaxed);
                if let Err(why) = check(&template.expect, status, &body) {
                    let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    stats.fail(
                        class,
                        format!(
                            "#{i} {} `{}`: {why}; got {status} {body}",
                            class.name(),
                            template.name
                        ),
                    );
                }
                if class == Class::Good {
                    let us = u64::try_from(elapsed.as_micros())
                        .unwrap_or(u64::MAX)
                        .max(1);
                    let bucket = (64 - us.leading_zeros() as usize).min(BUCKETS - 1);
                    stats.good_latency[bucket].fetch_add(1, Ordering::Relaxed);
                }
                // An oversize body is never finished: that connection cannot go on.
                if close || class == Class::Oversize {
                    connection = None;
                }
            }
            Err(why) => {
                stats.no_answer.fetch_add(1, Ordering::Relaxed);
                stats.fail(
                    class,
                    format!("#{i} {} `{}`: {why}", class.name(), template.name),
                );
                connection = None;
            }
        }
        let done = stats.done.fetch_add(1, Ordering::Relaxed) + 1;
        if done == stats.warm_at
            && let Some(pid) = shared.options.rss_pid
        {
            *stats.warm.lock().unwrap_or_else(|e| e.into_inner()) = take_sample(stats, pid);
        }
    }
}

/// Samples the server's resident set every second until the run is over, with a progress line
/// every ten seconds.
async fn sampler(shared: Arc<Shared>, pid: u32) {
    let stats = &shared.stats;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    loop {
        tick.tick().await;
        if stats.finished.load(Ordering::Relaxed) {
            return;
        }
        let Some(s) = take_sample(stats, pid) else {
            eprintln!("soak: cannot read /proc/{pid}/status: the server is gone?");
            return;
        };
        stats
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(s);
        n += 1;
        if n.is_multiple_of(10) {
            println!(
                "  {:>5.0} s: {:>8} done, {} failed, server RSS {}",
                s.at.as_secs_f64(),
                s.done,
                stats.failures(),
                mib(s.rss_kib)
            );
        }
    }
}

/// Sends one good request until one is answered as expected, or `within` passes.
async fn wait_ready(shared: &Shared, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let template = &shared.templates[Class::Good.index()][0];
    loop {
        let attempt = async {
            let mut connection = connect(shared).await?;
            let request = Request::post(signed_uri(template, &shared.options.token, now_secs()))
                .header(header::HOST, shared.host.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(SoakBody::whole(template.body.clone()))
                .map_err(|e| e.to_string())?;
            let (status, _, body) = exchange(&mut connection.sender, request).await?;
            check(&template.expect, status, &body)
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "no expected answer from the server within {within:?}; last try: {e}"
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run and its report.

async fn run(options: Options) -> Result<bool, String> {
    let templates = templates(&options);
    let mut ranks = [(0, 0); 20];
    for (slot, class) in ROUND.iter().enumerate() {
        let rank = ROUND[..slot].iter().filter(|c| *c == class).count();
        let per_round = ROUND.iter().filter(|c| *c == class).count() as u64;
        ranks[slot] = (rank, per_round);
    }
    let host = HeaderValue::from_str(options.authority()).map_err(|e| e.to_string())?;
    let requests = options.requests;
    let shared = Arc::new(Shared {
        stats: Stats::new(requests, options.concurrency),
        options,
        templates,
        ranks,
        host,
        next: AtomicU64::new(0),
    });
    let o = &shared.options;
    wait_ready(&shared, Duration::from_secs(10)).await?;

    println!(
        "soak: {requests} requests to {}, concurrency {}, keep-alive HTTP/1.1",
        o.url, o.concurrency
    );
    let per_class: Vec<String> = Class::ALL
        .iter()
        .map(|c| {
            let n = ROUND.iter().filter(|r| *r == c).count();
            format!(
                "{} % {} ({})",
                n * 5,
                c.name(),
                shared.templates[c.index()].len()
            )
        })
        .collect();
    println!("  mix (templates): {}", per_class.join(", "));
    println!(
        "  slow bodies pause {:?} halfway; oversize bodies declare {} bytes (limit {BODY_LIMIT})",
        o.slow_pause,
        BODY_LIMIT + 1024
    );

    let start_rss = o.rss_pid.and_then(|pid| take_sample(&shared.stats, pid));
    match (o.rss_pid, start_rss) {
        (Some(pid), Some(s)) => println!("  server pid {pid}, RSS at start {}", mib(s.rss_kib)),
        (Some(pid), None) => return Err(format!("cannot read /proc/{pid}/status")),
        (None, _) => println!("  no --rss-pid: the server's memory is not checked"),
    }
    let sampling = o
        .rss_pid
        .map(|pid| tokio::spawn(sampler(shared.clone(), pid)));

    let started = Instant::now();
    let workers: Vec<_> = (0..o
        .concurrency
        .min(usize::try_from(requests).unwrap_or(usize::MAX)))
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();
    for w in workers {
        w.await.map_err(|e| format!("a worker failed: {e}"))?;
    }
    let elapsed = started.elapsed();
    shared.stats.finished.store(true, Ordering::Relaxed);
    if let Some(sampling) = sampling {
        sampling.abort();
    }
    // The workers' connections are closed; give the server a moment to free them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let end_rss = o.rss_pid.and_then(|pid| take_sample(&shared.stats, pid));

    Ok(report(&shared, elapsed, start_rss, end_rss))
}

/// Prints the report; true if the run passed.
fn report(shared: &Shared, elapsed: Duration, start: Option<Sample>, end: Option<Sample>) -> bool {
    let (o, stats) = (&shared.options, &shared.stats);
    let done = stats.done.load(Ordering::Relaxed);
    let failures = stats.failures();
    let server_errors = stats.server_errors();
    let secs = elapsed.as_secs_f64();
    println!(
        "\nsent {done} requests in {secs:.1} s ({:.0} req/s) on {} connections",
        done as f64 / secs.max(1e-9),
        stats.connections.load(Ordering::Relaxed)
    );
    for class in Class::ALL {
        let (sent, failed) = (
            stats.sent[class.index()].load(Ordering::Relaxed),
            stats.failed[class.index()].load(Ordering::Relaxed),
        );
        println!("  {:<16} {sent:>8} sent, {failed} failed", class.name());
    }
    let statuses: BTreeMap<usize, u64> = stats
        .statuses
        .iter()
        .enumerate()
        .map(|(s, n)| (s, n.load(Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!(
        "  statuses: {}; no answer: {}",
        statuses.join(", "),
        stats.no_answer.load(Ordering::Relaxed)
    );
    println!(
        "  good requests answered in: p50 < {:?}, p99 < {:?}, p99.9 < {:?}",
        stats.good_percentile(0.5),
        stats.good_percentile(0.99),
        stats.good_percentile(0.999)
    );
    println!("failures: {failures}; 5xx: {server_errors}");
    for e in stats
        .examples
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        println!("  {e}");
    }

    let mut reasons = Vec::new();
    if failures > 0 {
        reasons.push(format!(
            "{failures} requests did not get their expected answer"
        ));
    }
    if server_errors > 0 {
        reasons.push(format!("{server_errors} answers were 5xx"));
    }
    if let Some(pid) = o.rss_pid {
        let warm = *stats.warm.lock().unwrap_or_else(|e| e.into_inner());
        let samples = stats.samples.lock().unwrap_or_else(|e| e.into_inner());
        let peak = samples
            .iter()
            .chain(start.iter())
            .chain(warm.iter())
            .chain(end.iter())
            .map(|s| s.rss_kib)
            .max()
            .unwrap_or(0);
        match (start, warm, end) {
            (Some(start), Some(warm), Some(end)) => {
                let growth_kib = end.rss_kib as i64 - warm.rss_kib as i64;
                let growth_mb = growth_kib as f64 / 1024.0;
                println!(
                    "server RSS (pid {pid}): start {}, after warm-up ({} requests) {}, peak {}, end {}",
                    mib(start.rss_kib),
                    warm.done,
                    mib(warm.rss_kib),
                    mib(peak),
                    mib(end.rss_kib)
                );
                let after = done.saturating_sub(warm.done).max(1);
                println!(
                    "  growth after warm-up: {growth_mb:+.1} MiB ({:+.1} bytes per request), bound {} MiB",
                    growth_kib as f64 * 1024.0 / after as f64,
                    o.max_rss_growth_mb
                );
                if growth_mb > o.max_rss_growth_mb {
                    reasons.push(format!(
                        "the server's RSS grew by {growth_mb:.1} MiB after the warm-up, over the bound of {} MiB",
                        o.max_rss_growth_mb
                    ));
                }
            }
            _ => reasons.push(format!(
                "the server's RSS (pid {pid}) could not be read to the end"
            )),
        }
        // The timeline, at most a dozen lines.
        let step = samples.len().div_ceil(12).max(1);
        let timeline: Vec<String> = samples
            .iter()
            .step_by(step)
            .map(|s| format!("{:.0}s/{}/{}", s.at.as_secs_f64(), s.done, mib(s.rss_kib)))
            .collect();
        if !timeline.is_empty() {
            println!("  timeline (time/requests/RSS): {}", timeline.join("  "));
        }
    }
    if reasons.is_empty() {
        println!("soak: PASS");
        true
    } else {
        println!("soak: FAIL: {}", reasons.join("; "));
        false
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: error: {e}");
            ExitCode::FAILURE
        }
    }
}
