//! The `service` target: the whole `WebhookService` (or the `WebhookLayer` around another
//! service) fed an arbitrary request: method, path and query, a few headers, and a body split into
//! arbitrary chunks (with pauses, empty frames, trailers, a read error or a stall), answered by a
//! handler that errors, panics or sleeps as the input says, under several configurations.
//!
//! Every answer must be a documented status with a well-formed JSON reply that contains no secret
//! and no internal detail of the handler; nothing may panic out of the service; a request reaches
//! the handler, or is answered 200, 408, 413 or 500, only if it is authentic.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, header};
use http_body::{Body, Frame, SizeHint};
use tencent_chat_webhook::message::MessageEvent;
use tencent_chat_webhook::{
    ImStr,
    AfterDeadline, Command, Event, FailureDecision, GroupErrorCode, Handler, HandlerError,
    HandlerResult, MemoryDedup, Outcome, Rejection, Reply, RequestContext, UnknownEvent,
    UnparsedEvent, WebhookLayer, WebhookService, c2c, group, sns,
};
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    APP, APP_ROTATING, APP_UNKNOWN, APP_UNSIGNED, DEFAULT_SKEW, NOW, QueryFacts, RawBytes, TOKENS,
    clear_panic_purpose, config_builder, expected_sign, install_panic_filter, leaked,
    panic_on_purpose, panic_on_purpose_opaque,
};

/// The path the webhook is served at.
pub const PATH: &str = "/tencent/chat/webhook";

/// In every message the test handler fails with, and never to be seen in an answer: a handler's
/// errors and panics may hold internal details, which stay in the failure report.
pub const INTERNAL: &str = "fuzz-internal-detail";

/// The status the inner service behind the layer answers with.
const INNER_STATUS: u16 = 418;

/// The statuses the service documents.
const DOCUMENTED: [u16; 8] = [200, 400, 401, 403, 405, 408, 413, 500];

/// One request and the configuration it meets. Every field but the last is a fixed number of
/// bytes, so that a seed is a header followed by raw bytes ([`ServiceInput::to_bytes`]).
#[derive(Arbitrary, Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceInput {
    /// `POST` unless 224 or more: then GET, PUT, HEAD, DELETE, OPTIONS, PATCH, `post`, `FUZZ`.
    pub method: u8,
    /// Bits 0–1: 0 and 1 build the query (below) on the webhook path, 2 builds it on the raw
    /// path, 3 takes path and query from the raw bytes. Bit 2: an absolute URI
    /// (`http://host/...`). Bit 3: with the query built, the raw bytes are appended to it.
    pub target: u8,
    /// `SdkAppid` (bits 0–2): APP, APP_ROTATING, APP_UNSIGNED, APP_UNKNOWN, none, `abc`,
    /// `+APP` (percent-encoded), empty. Bit 3: given twice.
    pub app: u8,
    /// `CallbackCommand`: below [`FIRST_ENCODED`], `Command::ALL[i]` (mod its length); up to
    /// [`FIRST_SPECIAL`], a known one with its dot percent-encoded; from there, an unknown
    /// before-event, an unknown after-event, none, empty. The special bytes do not depend on the
    /// table's length, so an input keeps its meaning when a command is added; see
    /// [`special_command`] and [`command_byte`].
    pub command: u8,
    /// `Sign` and `RequestTime` (bits 0–2): signed, signed in upper case, no `Sign`, no
    /// `RequestTime`, neither, a wrong signature, signed over a time with a leading zero, a time
    /// with a sign. Bits 3–4: which token signs (A, B new, B old, A again).
    pub sign: u8,
    /// `RequestTime` is now plus this many seconds.
    pub time_skew: i8,
    /// Bit 0: `ClientIP`; 1: `OptPlatform`; 2: `contenttype=json` (else `xml`); 3: an unknown
    /// parameter; 4: `Sign` as `Si%67n`; 5: a trailing `&`; 6: the parameters reversed; 7:
    /// `OptPlatform` is odd.
    pub extras: u8,
    /// Up to three headers: kind and argument (see `headers`).
    pub headers: [[u8; 2]; 3],
    /// The body's size hint: 0 none, 1 exact, 2 a lower bound past the body, 3 an upper bound
    /// short of it (bits 0–1). Bit 2: trailers after the data.
    pub size_hint: u8,
    /// The chunking pattern, used in turn: low 6 bits a length (plus one), high 2 bits a pause
    /// before it, a trailers frame before it, or (3) an empty frame before it, where 63 is a read
    /// error and 62 a stall.
    pub chunks: [u8; 4],
    /// What the handler does: after-events, before-events, unknown commands, unparsed bodies.
    /// Low 3 bits: 0–2 answer (variant from bits 3–5), 3 error, 4 panic, 5 panic with a
    /// non-string payload, 6 sleep then answer, 7 sleep then error (bit 3) or panic.
    pub handler: [u8; 4],
    /// Bits 0–1: body limit (1 MiB, 64 B, 1 KiB, 4 KiB); 2: no deadline; 3–4: the failure
    /// decision (Allow, Deny, DeferToTencent, Allow); 5: after the deadline, cancel (else finish,
    /// one at a time); 6: de-duplicate, and send the request twice; 7: no tokio runtime (a
    /// no-op waker loop).
    pub config: u8,
    /// Bits 0–1: the window (60 s, 0, 1 h, 60 s); 2: a failure reporter; 3: which panics; 4:
    /// behind `WebhookLayer`; 5: a 50 ms deadline (else the default); 6: the same request with
    /// its body in one frame, to a fresh service, must get the same answer.
    pub config2: u8,
    /// How many of the raw bytes are path and query; the rest is the body.
    pub raw_len: u16,
    pub rest: RawBytes,
}

impl ServiceInput {
    /// The bytes that decode to this input, in field order (`arbitrary`'s little-endian
    /// fixed-size encoding, the last field taking the rest).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![
            self.method,
            self.target,
            self.app,
            self.command,
            self.sign,
            self.time_skew as u8,
            self.extras,
        ];
        for h in &self.headers {
            out.extend_from_slice(h);
        }
        out.push(self.size_hint);
        out.extend_from_slice(&self.chunks);
        out.extend_from_slice(&self.handler);
        out.push(self.config);
        out.push(self.config2);
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.rest);
        out
    }

    /// A signed `POST` of `command` with this body, in one chunk, by default.
    pub fn signed(command: Command, body: &[u8]) -> ServiceInput {
        ServiceInput {
            command: command_byte(command),
            extras: 0b0000_0111,
            headers: [[1, 0], [5, 0], [0, 0]],
            size_hint: 1,
            chunks: [63, 63, 63, 63],
            rest: RawBytes(body.to_vec()),
            ..ServiceInput::default()
        }
    }

    fn raw(&self) -> (&[u8], &[u8]) {
        let n = usize::from(self.raw_len).min(self.rest.len());
        self.rest.split_at(n)
    }
}

/// Runs one input.
pub fn run(input: ServiceInput) {
    install_panic_filter();
    let Some(plan) = Plan::new(&input) else {
        return;
    };
    if input.config & 0x80 != 0 {
        // No runtime: no deadline can run, and the handler may not sleep on tokio's timer.
        let mut fut = std::pin::pin!(plan.drive(false));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..100_000 {
            if fut.as_mut().poll(&mut cx).is_ready() {
                return;
            }
        }
        panic!("the service did not answer within 100000 polls without a runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            plan.drive(true).await;
            // Let after-events finishing in the background finish (the clock is paused, so this
            // takes no time), to see their failures reported and nothing escape, and leave the
            // runtime empty for the next input.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        })
    });
}

thread_local! {
    /// One runtime for all inputs (building one per input costs more than most inputs): a
    /// current-thread runtime with a paused clock, so that deadlines and sleeps take no time.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
}

/// What the input asks for, decoded once.
struct Plan {
    method: Method,
    uri: http::Uri,
    /// The query as sent (empty when none), for the model of authenticity and the secrets.
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
    size_hint: u8,
    chunks: [u8; 4],
    handler: [u8; 4],
    config: u8,
    config2: u8,
    max_skew: u64,
}

impl Plan {
    fn new(input: &ServiceInput) -> Option<Plan> {
        let (raw, body) = input.raw();
        let method = method(input.method);
        let path_and_query = match input.target & 3 {
            0 | 1 => format!("{PATH}?{}", build_query(input, raw)),
            2 => format!("{}?{}", raw_path(raw), build_query(input, &[])),
            _ => encode_raw(raw, true),
        };
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query
        } else {
            format!("/{path_and_query}")
        };
        let uri = if input.target & 4 != 0 {
            format!("http://webhook.example{path_and_query}")
        } else {
            path_and_query
        };
        let uri: http::Uri = uri.parse().ok()?;
        let query = uri.query().unwrap_or("").to_owned();
        let limit = body_limit(input.config);
        let mut headers = HeaderMap::new();
        for &[kind, arg] in &input.headers {
            add_header(&mut headers, kind, arg, body.len(), limit);
        }
        let max_skew = match input.config2 & 3 {
            1 => 0,
            2 => 3600,
            _ => DEFAULT_SKEW,
        };
        Some(Plan {
            method,
            uri,
            query,
            headers,
            body: body.to_vec(),
            size_hint: input.size_hint,
            chunks: input.chunks,
            handler: input.handler,
            config: input.config,
            config2: input.config2,
            max_skew,
        })
    }

    fn request(&self, body: ChunkedBody) -> Request<ChunkedBody> {
        let mut req = Request::new(body);
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }

    fn chunked_body(&self, with_runtime: bool) -> ChunkedBody {
        ChunkedBody::new(
            &self.body,
            self.chunks,
            self.size_hint,
            // A stall is only allowed where a deadline will end it.
            with_runtime && self.config & 4 == 0,
        )
    }

    /// Sends one request to the service (behind the layer when the input says so) and reads
    /// the answer.
    async fn send(
        &self,
        service: &WebhookService,
        req: Request<ChunkedBody>,
        inner_calls: &Arc<AtomicUsize>,
    ) -> Answer {
        if self.config2 & 0x10 != 0 {
            let inner = Inner(inner_calls.clone());
            let mut svc = WebhookLayer::new(PATH, service.clone()).layer(inner);
            let Ok(res) = guarded(svc.call(req)).await;
            let (parts, body) = res.into_parts();
            Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                outcome: body.outcome().cloned(),
                body: collect(body),
                extensions: parts.extensions,
            }
        } else {
            let mut svc = service.clone();
            let Ok(res) = guarded(svc.call(req)).await;
            let (parts, body) = res.into_parts();
            let bytes = body.as_bytes().to_vec();
            let outcome = body.outcome().cloned();
            assert_eq!(collect(body), bytes, "as_bytes and the frames differ");
            Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: bytes,
                outcome,
                extensions: parts.extensions,
            }
        }
    }

    async fn drive(&self, with_runtime: bool) {
        let calls = Arc::new(AtomicUsize::new(0));
        let reports = Arc::new(AtomicUsize::new(0));
        let service = self.service(with_runtime, &calls, &reports);
        let rounds = if self.config & 0x40 != 0 { 2 } else { 1 };
        let layered = self.config2 & 0x10 != 0;
        let inner_calls = Arc::new(AtomicUsize::new(0));
        let mut first: Option<Answer> = None;
        for round in 0..rounds {
            let req = self.request(self.chunked_body(with_runtime));
            let answer = self.send(&service, req, &inner_calls).await;
            let status = answer.status;
            if layered && self.uri.path() != PATH {
                assert_eq!(status, INNER_STATUS, "another path left the inner service");
                assert_eq!(inner_calls.load(Ordering::SeqCst), round + 1);
                continue;
            }
            assert_eq!(
                inner_calls.load(Ordering::SeqCst),
                0,
                "the webhook path reached the inner service"
            );
            self.check(
                status,
                &answer.headers,
                &answer.body,
                answer.outcome.as_ref(),
                &answer.extensions,
                round,
            );
            if trace() {
                let failure = answer
                    .extensions
                    .get::<tencent_chat_webhook::HandlerFailure>();
                let outcome = answer.outcome.as_ref();
                eprintln!(
                    "service: {} {} -> {status} {} | outcome {:?} | failure {:?} | handler calls {}",
                    self.method,
                    self.uri.path(),
                    String::from_utf8_lossy(&answer.body),
                    outcome.map(|o| o.answered()),
                    failure.map(|f| f.kind()),
                    calls.load(Ordering::SeqCst),
                );
            }
            if round == 0 {
                first = Some(answer);
            }
        }
        // How the body is cut into frames (pauses, empty frames, trailers) changes nothing: the
        // same request with its body in one frame, to a fresh service, gets the same answer.
        if let Some(first) =
            first.filter(|_| self.config2 & 0x40 != 0 && self.chunked_body(with_runtime).is_clean())
        {
            let (c, r) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let fresh = self.service(with_runtime, &c, &r);
            let whole = ChunkedBody::whole(&self.body, self.size_hint);
            let again = self.send(&fresh, self.request(whole), &inner_calls).await;
            assert!(
                (again.status, &again.body) == (first.status, &first.body),
                "the body in one frame is answered {} {}, in frames {} {}",
                again.status,
                String::from_utf8_lossy(&again.body),
                first.status,
                String::from_utf8_lossy(&first.body),
            );
        }
        let facts = QueryFacts::parse(&self.query);
        let handled = calls.load(Ordering::SeqCst);
        assert!(
            handled <= rounds,
            "the handler ran {handled} times for {rounds} requests"
        );
        if handled > 0 {
            assert!(
                facts.authentic(self.max_skew),
                "the handler was called for a request that is not authentic: {}",
                self.uri
            );
        }
        let _ = reports.load(Ordering::SeqCst);
    }

    fn check(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        outcome: Option<&Outcome>,
        extensions: &http::Extensions,
        round: usize,
    ) {
        let uri = &self.uri;
        let shown = || String::from_utf8_lossy(body).into_owned();
        assert!(
            DOCUMENTED.contains(&status),
            "{} {uri}: undocumented status {status}: {}",
            self.method,
            shown()
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(&b"application/json"[..]),
            "{status}: not answered as JSON"
        );
        let (action, code, _info) = crate::check_reply_json(status, body);
        if self.method != Method::POST {
            assert_eq!(status, 405, "{} {uri} answered {status}", self.method);
            assert_eq!(
                headers.get(header::ALLOW).map(HeaderValue::as_bytes),
                Some(&b"POST"[..])
            );
        }
        if status != 200 {
            assert_eq!(
                action,
                "FAIL",
                "{status} with ActionStatus {action}: {}",
                shown()
            );
            assert_eq!(
                code,
                u64::from(status),
                "{status} with ErrorCode {code}: {}",
                shown()
            );
        }
        match status {
            200 => {
                assert!(outcome.is_some(), "200 without an Outcome");
                if let Some(carried) = extensions.get::<Outcome>() {
                    assert_eq!(Some(carried), outcome, "two outcomes");
                }
            }
            500 => {}
            _ => {
                let rejection = extensions
                    .get::<Rejection>()
                    .unwrap_or_else(|| panic!("{status} without a Rejection: {}", shown()));
                assert_eq!(rejection.status().as_u16(), status);
            }
        }
        let facts = QueryFacts::parse(&self.query);
        if matches!(status, 200 | 408 | 413 | 500) {
            assert!(
                facts.authentic(self.max_skew),
                "{uri}: answered {status} (round {round}) without being authentic: {}",
                shown()
            );
        }
        let mut secrets = facts.secrets();
        secrets.push(INTERNAL.to_owned());
        if let Some(secret) = leaked(body, &self.body, &secrets) {
            panic!(
                "{uri}: the answer {status} contains {secret:?}: {}",
                shown()
            );
        }
        // A request's own `Sign` is a credential for the window: never echoed.
        for sign in facts.signs.iter().filter(|s| s.len() >= 16) {
            if let Some(s) = leaked(body, &self.body, std::slice::from_ref(sign)) {
                panic!("{uri}: the answer {status} echoes Sign {s:?}: {}", shown());
            }
        }
    }

    fn service(
        &self,
        with_runtime: bool,
        calls: &Arc<AtomicUsize>,
        reports: &Arc<AtomicUsize>,
    ) -> WebhookService {
        let c = self.config;
        let mut b = config_builder()
            .body_limit(body_limit(c))
            .max_skew(Duration::from_secs(self.max_skew))
            .failure_decision(match (c >> 3) & 3 {
                1 => FailureDecision::Deny,
                2 => FailureDecision::DeferToTencent,
                _ => FailureDecision::Allow,
            })
            .after_deadline(if c & 0x20 != 0 {
                AfterDeadline::Cancel
            } else {
                AfterDeadline::Finish {
                    max_in_background: 1,
                }
            });
        if c & 4 != 0 {
            b = b.no_deadline();
        } else if self.config2 & 0x20 != 0 {
            b = b.deadline(Duration::from_millis(50));
        }
        if c & 0x40 != 0 {
            b = b.dedup(MemoryDedup::new(16, Duration::from_secs(600)));
        }
        if self.config2 & 4 != 0 {
            let reports = reports.clone();
            let panics = self.config2 & 8 != 0;
            b = b.report_failures(move |failure| {
                reports.fetch_add(1, Ordering::SeqCst);
                let _ = (failure.command(), failure.kind(), failure.message());
                if panics {
                    panic_on_purpose("the failure reporter panics");
                }
            });
        }
        let config = b.build().expect("the fuzz configuration builds");
        WebhookService::new(
            config,
            FuzzHandler {
                behaviour: self.handler,
                with_runtime,
                calls: calls.clone(),
            },
        )
    }
}

/// Whether `TCW_FUZZ_TRACE` is set: then every answer is printed (status, body, outcome, failure),
/// to see what a corpus reaches: `TCW_FUZZ_TRACE=1 cargo +nightly fuzz run service corpus -- -runs=0`.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("TCW_FUZZ_TRACE").is_some())
}

/// An answer, read.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The body's [`Outcome`], read before the body.
    outcome: Option<Outcome>,
    extensions: http::Extensions,
}

/// Polls the service's future, turning a panic that escapes it into a crash with a clear name
/// (libFuzzer would abort anyway, without saying where).
async fn guarded<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(
        move |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                clear_panic_purpose();
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a non-string payload".to_owned());
                panic!("a panic escaped the service: {message}");
            }
        },
    )
    .await
}

/// Reads a response body that is ready at once (the service's bodies are one buffer).
fn collect<B: Body<Data = Bytes>>(body: B) -> Vec<u8>
where
    B::Error: std::fmt::Debug,
{
    let hint = body.size_hint();
    let mut body = std::pin::pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(e))) => panic!("a response body failed: {e:?}"),
            Poll::Ready(None) => break,
            Poll::Pending => panic!("a response body is not ready"),
        }
    }
    assert!(body.is_end_stream());
    assert!(
        hint.lower() <= out.len() as u64,
        "size hint {hint:?} for {} bytes",
        out.len()
    );
    assert!(
        hint.upper().is_none_or(|u| u >= out.len() as u64),
        "size hint {hint:?}"
    );
    out
}

fn method(b: u8) -> Method {
    if b < 224 {
        return Method::POST;
    }
    match b % 8 {
        0 => Method::GET,
        1 => Method::PUT,
        2 => Method::HEAD,
        3 => Method::DELETE,
        4 => Method::OPTIONS,
        5 => Method::PATCH,
        6 => Method::from_bytes(b"post").unwrap_or(Method::GET),
        _ => Method::from_bytes(b"FUZZ").unwrap_or(Method::GET),
    }
}

fn body_limit(config: u8) -> usize {
    match config & 3 {
        1 => 64,
        2 => 1024,
        3 => 4096,
        _ => 1024 * 1024,
    }
}

/// Raw bytes as URI text: kept where the URI grammar allows them, percent-encoded elsewhere.
fn encode_raw(raw: &[u8], keep_question_mark: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/%".contains(&b)
            || (keep_question_mark && b == b'?');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn raw_path(raw: &[u8]) -> String {
    let path = encode_raw(raw, false);
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// The special `CallbackCommand` values, from [`FIRST_SPECIAL`] up: an unknown before-event, an
/// unknown after-event, none, empty.
const SPECIAL_COMMANDS: u8 = 4;

/// The first `command` byte of a known command with its dot percent-encoded.
pub const FIRST_ENCODED: u8 = 0xC0;

/// The first `command` byte of the special values.
pub const FIRST_SPECIAL: u8 = 0xF0;

/// The `command` byte of special value `k` (0 to 3, in the order of [`SPECIAL_COMMANDS`]).
pub fn special_command(k: u8) -> u8 {
    FIRST_SPECIAL + k.min(SPECIAL_COMMANDS - 1)
}

/// The `command` byte of a known command, found by its name.
pub fn command_byte(command: Command) -> u8 {
    let i = Command::ALL.iter().position(|&c| c == command);
    i.and_then(|i| u8::try_from(i).ok()).filter(|&b| b < FIRST_ENCODED).unwrap_or(0)
}

/// The `CallbackCommand` a `command` byte names (`None`: no parameter).
pub fn command_value(b: u8) -> Option<String> {
    let known = |i: u8| Command::ALL[usize::from(i) % Command::ALL.len()].as_str();
    if b < FIRST_ENCODED {
        return Some(known(b).to_owned());
    }
    let Some(k) = b.checked_sub(FIRST_SPECIAL) else {
        return Some(known(b - FIRST_ENCODED).replace('.', "%2E"));
    };
    match k % SPECIAL_COMMANDS {
        0 => Some("Group.CallbackBeforeFuture".to_owned()),
        1 => Some("Future.Event".to_owned()),
        2 => None,
        _ => Some(String::new()),
    }
}

/// The query of a built target: the parameters Tencent sends, as the input chooses them.
fn build_query(input: &ServiceInput, raw: &[u8]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let app = match input.app & 7 {
        0 => Some(APP.to_string()),
        1 => Some(APP_ROTATING.to_string()),
        2 => Some(APP_UNSIGNED.to_string()),
        3 => Some(APP_UNKNOWN.to_string()),
        4 => None,
        5 => Some("abc".to_owned()),
        6 => Some(format!("%2B{APP}")),
        _ => Some(String::new()),
    };
    if let Some(app) = &app {
        pairs.push(("SdkAppid".into(), app.clone()));
        if input.app & 8 != 0 {
            pairs.push(("SdkAppid".into(), app.clone()));
        }
    }
    if let Some(cmd) = command_value(input.command) {
        pairs.push(("CallbackCommand".into(), cmd));
    }
    let x = input.extras;
    pairs.push((
        "contenttype".into(),
        if x & 4 != 0 { "json" } else { "xml" }.into(),
    ));
    if x & 1 != 0 {
        pairs.push(("ClientIP".into(), "127.0.0.1".into()));
    }
    if x & 2 != 0 {
        let platform = if x & 0x80 != 0 { "i%4FS+x" } else { "RESTAPI" };
        pairs.push(("OptPlatform".into(), platform.into()));
    }
    if x & 8 != 0 {
        pairs.push(("Extra".into(), "1".into()));
    }
    let token = TOKENS[usize::from(input.sign >> 3) % 4 % TOKENS.len()].1;
    let time = NOW.saturating_add_signed(i64::from(input.time_skew));
    let raw_time = time.to_string();
    let (sign, time) = match input.sign & 7 {
        0 => (Some(expected_sign(token, &raw_time)), Some(raw_time)),
        1 => (
            Some(expected_sign(token, &raw_time).to_ascii_uppercase()),
            Some(raw_time),
        ),
        2 => (None, Some(raw_time)),
        3 => (Some(expected_sign(token, &raw_time)), None),
        4 => (None, None),
        5 => (Some(expected_sign(token, "wrong")), Some(raw_time)),
        6 => {
            let padded = format!("0{raw_time}");
            (Some(expected_sign(token, &padded)), Some(padded))
        }
        _ => (
            Some(expected_sign(token, &raw_time)),
            Some(format!("%2B{raw_time}")),
        ),
    };
    let sign_name = if x & 0x10 != 0 { "Si%67n" } else { "Sign" };
    if let Some(sign) = sign {
        pairs.push((sign_name.into(), sign));
    }
    if let Some(time) = time {
        pairs.push(("RequestTime".into(), time));
    }
    if x & 0x40 != 0 {
        pairs.reverse();
    }
    let mut query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    if x & 0x20 != 0 {
        query.push('&');
    }
    if input.target & 8 != 0 && !raw.is_empty() {
        query.push('&');
        query.push_str(&encode_raw(raw, true));
    }
    query
}

fn add_header(headers: &mut HeaderMap, kind: u8, arg: u8, len: usize, limit: usize) {
    let arg_n = usize::from(arg);
    let value: String = match kind % 8 {
        0 => return,
        1 => len.to_string(),
        2 => (len + arg_n).to_string(),
        3 => (limit + 1 + arg_n).to_string(),
        4 => match arg % 6 {
            0 => "abc".into(),
            1 => "-1".into(),
            2 => "18446744073709551616".into(),
            3 => format!(" {len}"),
            4 => format!("+{len}"),
            _ => String::new(),
        },
        5 => {
            let ct = if arg & 1 == 0 {
                "application/json"
            } else {
                "text/plain; charset=gbk"
            };
            headers.append(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            return;
        }
        6 => {
            headers.append(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
            return;
        }
        _ => {
            // A second, different Content-Length.
            headers.append(header::CONTENT_LENGTH, HeaderValue::from(len));
            (arg_n * 97).to_string()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(HeaderName::from_static("content-length"), v);
    }
}

/// One step of the request body.
#[derive(Debug)]
enum Step {
    Data(Bytes),
    Pause,
    Trailers,
    Fail,
    Stall,
}

/// A request body that yields the input's bytes as the chunking pattern says.
pub struct ChunkedBody {
    steps: VecDeque<Step>,
    hint: SizeHint,
    stalled: bool,
}

impl ChunkedBody {
    fn new(body: &[u8], pattern: [u8; 4], hint_mode: u8, may_stall: bool) -> ChunkedBody {
        let mut steps = VecDeque::new();
        let mut at = 0;
        let mut i = 0;
        while at < body.len() {
            let p = pattern[i % pattern.len()];
            i += 1;
            let len = usize::from(p & 63) + 1;
            match p >> 6 {
                1 => steps.push_back(Step::Pause),
                2 => steps.push_back(Step::Trailers),
                3 if p & 63 == 63 => {
                    steps.push_back(Step::Fail);
                    break;
                }
                3 if p & 63 == 62 => {
                    steps.push_back(if may_stall { Step::Stall } else { Step::Pause });
                }
                3 => steps.push_back(Step::Data(Bytes::new())),
                _ => {}
            }
            let end = (at + len).min(body.len());
            steps.push_back(Step::Data(Bytes::copy_from_slice(&body[at..end])));
            at = end;
        }
        if hint_mode & 4 != 0 {
            steps.push_back(Step::Trailers);
        }
        let len = body.len() as u64;
        let mut hint = SizeHint::new();
        match hint_mode & 3 {
            1 => hint = SizeHint::with_exact(len),
            2 => hint.set_lower(len + 1 + u64::from(hint_mode >> 3) * 1000),
            3 => hint.set_upper(len / 2),
            _ => {}
        }
        ChunkedBody {
            steps,
            hint,
            stalled: false,
        }
    }
}

impl ChunkedBody {
    /// The body in one frame, with the size hint of `hint_mode` (and no trailers).
    fn whole(body: &[u8], hint_mode: u8) -> ChunkedBody {
        let mut b = ChunkedBody::new(&[], [0; 4], hint_mode & !4, false);
        b.hint = ChunkedBody::new(body, [63; 4], hint_mode & !4, false).hint;
        if !body.is_empty() {
            b.steps.push_back(Step::Data(Bytes::copy_from_slice(body)));
        }
        b
    }

    /// Whether every byte arrives: no read error, no stall.
    fn is_clean(&self) -> bool {
        !self
            .steps
            .iter()
            .any(|s| matches!(s, Step::Fail | Step::Stall))
    }
}

#[derive(Debug)]
pub struct ReadError;

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the connection broke ({INTERNAL})")
    }
}

impl std::error::Error for ReadError {}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = ReadError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ReadError>>> {
        if self.stalled {
            return Poll::Pending;
        }
        match self.steps.pop_front() {
            None => Poll::Ready(None),
            Some(Step::Data(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Some(Step::Pause) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Trailers) => {
                let mut trailers = HeaderMap::new();
                trailers.insert("x-fuzz", HeaderValue::from_static("1"));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Some(Step::Fail) => Poll::Ready(Some(Err(ReadError))),
            Some(Step::Stall) => {
                // Never woken: only the deadline ends this request.
                self.stalled = true;
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.steps.is_empty() && !self.stalled
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// The inner service behind the layer: answers 418 with a body of its own.
#[derive(Clone)]
struct Inner(Arc<AtomicUsize>);

impl Service<Request<ChunkedBody>> for Inner {
    type Response = Response<http_body_util_free::Full>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<ChunkedBody>) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut res = Response::new(http_body_util_free::Full(Some(Bytes::from_static(
            b"inner",
        ))));
        *res.status_mut() = http::StatusCode::from_u16(INNER_STATUS).unwrap_or_default();
        std::future::ready(Ok(res))
    }
}

/// A one-buffer body, without depending on `http-body-util`.
mod http_body_util_free {
    use super::*;

    pub struct Full(pub Option<Bytes>);

    impl Body for Full {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.take().map(|d| Ok(Frame::data(d))))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_none()
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(self.0.as_ref().map_or(0, |d| d.len() as u64))
        }
    }
}

/// The handler: its methods answer, fail, panic or sleep as the input's `handler` bytes say.
struct FuzzHandler {
    behaviour: [u8; 4],
    with_runtime: bool,
    calls: Arc<AtomicUsize>,
}

/// The hook groups, indexes into `FuzzHandler::behaviour`.
const AFTER: usize = 0;
const BEFORE: usize = 1;
const UNKNOWN: usize = 2;
const UNPARSED: usize = 3;

impl FuzzHandler {
    /// Runs the behaviour of `group`: `Ok(variant)` to answer with (0..8), or an error; panics
    /// and sleeps happen here.
    async fn act(&self, group: usize, what: &str) -> HandlerResult<u8> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let b = self.behaviour[group];
        let variant = (b >> 3) & 7;
        match b & 7 {
            0..=2 => Ok(variant),
            3 => Err(HandlerError::msg(format!(
                "{what}: the backend is down ({INTERNAL})"
            ))),
            4 => panic_on_purpose(&format!("{what}: a bug ({INTERNAL})")),
            5 => panic_on_purpose_opaque(),
            6 => {
                self.sleep(variant).await;
                Ok(variant)
            }
            _ => {
                self.sleep(variant).await;
                if variant & 1 == 0 {
                    Err(HandlerError::msg(format!(
                        "{what}: late and failed ({INTERNAL})"
                    )))
                } else {
                    panic_on_purpose(&format!("{what}: late and broken ({INTERNAL})"))
                }
            }
        }
    }

    /// Sleeps `n` × 400 ms on tokio's (paused) clock; without a runtime, yields `n` times.
    async fn sleep(&self, n: u8) {
        if self.with_runtime {
            tokio::time::sleep(Duration::from_millis(400) * u32::from(n)).await;
        } else {
            for _ in 0..n {
                YieldOnce(false).await;
            }
        }
    }

    fn send_decision<C: tencent_chat_webhook::CustomCode>(
        variant: u8,
        msg: &impl MessageEvent,
        code: impl Fn(u32) -> Option<C>,
        min: u32,
    ) -> tencent_chat_webhook::SendDecision<C> {
        use tencent_chat_webhook::SendDecision;
        let _ = (msg.sender(), msg.conversation(), msg.cloud_custom_data());
        match variant {
            0 => SendDecision::Allow,
            1 => SendDecision::Deny,
            2 => SendDecision::Drop,
            3 => match code(min) {
                Some(c) => SendDecision::deny_with(c, "refused by the fuzz handler"),
                None => SendDecision::Deny,
            },
            4 => match msg.rewrite_texts(|t| format!("[{t}]")) {
                Some(body) => SendDecision::rewrite_body(body),
                None => SendDecision::Allow,
            },
            5 => SendDecision::rewrite_cloud_custom_data("{\"fuzz\":true}"),
            6 => SendDecision::rewrite_body(msg.msg_body().to_vec()),
            _ => SendDecision::Allow,
        }
    }
}

/// Pending once (waking itself), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Handler for FuzzHandler {
    async fn on_after_event(&self, ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        let _ = (event.idempotency_key(ctx.app_id()), event.to_json());
        self.act(AFTER, event.command_name()).await.map(|_| ())
    }

    async fn on_unknown(&self, _ctx: &RequestContext, event: UnknownEvent) -> HandlerResult<Reply> {
        let variant = self.act(UNKNOWN, &event.command).await?;
        Ok(match variant {
            0 => Reply::ok(),
            1 => Reply::ok().with_error_code(1),
            2 => Reply::fail(90001, "unknown command refused"),
            3 => Reply::ok().with_field("RspData", serde_json::json!({"echo": event.command})),
            // A reserved key is not written.
            4 => Reply::ok().with_field("ActionStatus", serde_json::json!("HIJACKED")),
            5 => Reply::ok().with_field("ErrorCode", serde_json::json!("not a number")),
            6 => Reply::ok().with_error_info("é \u{0} \"quoted\" \\"),
            _ => Reply::fail(u32::MAX, ""),
        })
    }

    async fn on_unparsed(
        &self,
        _ctx: &RequestContext,
        event: UnparsedEvent,
    ) -> HandlerResult<Option<Reply>> {
        let what = format!("{} at {}", event.command, event.path);
        let variant = self.act(UNPARSED, &what).await?;
        Ok(match variant {
            0 | 1 => None,
            2 => Some(Reply::ok()),
            3 => Some(Reply::fail(1, "could not read the event")),
            _ => Some(Reply::ok().with_error_code(u32::from(variant))),
        })
    }

    async fn on_c2c_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        let variant = self.act(BEFORE, "c2c before send").await?;
        Ok(Self::send_decision(
            variant,
            &msg,
            tencent_chat_webhook::CustomErrorCode::new,
            120_001,
        ))
    }

    async fn on_group_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        let variant = self.act(BEFORE, "group before send").await?;
        Ok(Self::send_decision(
            variant,
            &msg,
            GroupErrorCode::new,
            10_100,
        ))
    }

    async fn on_group_before_invite_join(
        &self,
        _ctx: &RequestContext,
        invite: group::BeforeInviteJoin,
    ) -> HandlerResult<group::InviteDecision> {
        let variant = self.act(BEFORE, "group invite").await?;
        Ok(match variant {
            0 => group::InviteDecision::AllowAll,
            1 => group::InviteDecision::Reject,
            2 => group::InviteDecision::Refuse(invite.members().map(ImStr::from).collect()),
            3 => group::InviteDecision::Refuse(
                invite.members().step_by(2).map(ImStr::from).collect(),
            ),
            4 => match GroupErrorCode::new(10_150) {
                Some(code) => group::InviteDecision::reject_with(code, "no"),
                None => group::InviteDecision::Reject,
            },
            _ => group::InviteDecision::Refuse(vec!["not-in-the-request".into()]),
        })
    }

    async fn on_sns_prev_friend_add(
        &self,
        _ctx: &RequestContext,
        req: sns::PrevFriendAdd,
    ) -> HandlerResult<sns::FriendDecision> {
        let variant = self.act(BEFORE, "friend add").await?;
        let mut decision = sns::FriendDecision::allow_all();
        let code = tencent_chat_webhook::FriendErrorCode::new(38_000 + u32::from(variant));
        if let Some(code) = code {
            for target in req.targets().skip(usize::from(variant & 1)).step_by(2) {
                decision = decision.refuse(target, code, "refused by the fuzz handler");
            }
        }
        Ok(decision)
    }
}
