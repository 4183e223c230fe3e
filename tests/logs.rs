//! The crate's log lines as log pipelines read them: every event it emits (each kind of
//! rejection, each kind of handler failure, the deadline, duplicates, unknown commands, a runtime
//! without a timer) through `tracing-subscriber`'s JSON formatter, nested and flattened, and no
//! object in any line has a key twice. A pipeline that meets a key twice keeps one of them, and
//! the one lost was the warning that explains a wrong token.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::convert::Infallible;
use std::fmt;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body::{Body, Frame};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tencent_chat_webhook::test_util::{DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    AfterDeadline, Command, Handler, HandlerError, HandlerResult, MemoryDedup, RequestContext,
    WebhookConfig, WebhookConfigBuilder, WebhookService, c2c, group, official_account,
};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

// ---------------------------------------------------------------------------------------------
// A JSON value with no key twice in any object.

/// Any JSON value, refused if an object in it has a key twice: `serde_json::Value` would keep
/// the last one silently, as a log pipeline does.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("key `{key}` twice")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

#[test]
fn the_key_check_finds_a_key_twice_at_any_depth() {
    let cases = [
        ("flat", r#"{"message":"a","kind":1}"#, true),
        ("twice", r#"{"message":"a","message":"b"}"#, false),
        (
            "nested",
            r#"{"fields":{"message":"a","message":"b"}}"#,
            false,
        ),
        ("in an array", r#"{"spans":[{"a":1},{"a":1,"a":2}]}"#, false),
        (
            "same key, sibling objects",
            r#"{"x":{"a":1},"y":{"a":1}}"#,
            true,
        ),
    ];
    for (name, line, unique) in cases {
        assert_eq!(
            serde_json::from_str::<UniqueKeys>(line).is_ok(),
            unique,
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Traffic that makes the service emit every event it has.

/// Everything a formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
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

/// A handler that fails in every way a handler can, one command each.
struct Troubled;

const SLOW: Duration = Duration::from_secs(60);

impl Handler for Troubled {
    async fn on_group_before_send_msg(
        &self,
        _: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Err(HandlerError::msg("the moderation backend said no"))
    }

    async fn on_c2c_before_send_msg(
        &self,
        _: &RequestContext,
        _: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        panic!("a bug in the handler")
    }

    async fn on_official_account_before_send_msg(
        &self,
        _: &RequestContext,
        _: official_account::BeforeSendMsg,
    ) -> HandlerResult<official_account::SendMsgDecision> {
        tokio::time::sleep(SLOW).await;
        Ok(official_account::SendMsgDecision::Allow)
    }

    async fn on_group_after_send_msg(
        &self,
        _: &RequestContext,
        _: group::AfterSendMsg,
    ) -> HandlerResult<()> {
        tokio::time::sleep(SLOW).await;
        Ok(())
    }

    /// Blocks its thread (on the test's current-thread runtime, the whole runtime) past the
    /// slow-poll warning and the deadline, so the answer leaves late.
    async fn on_group_before_create(
        &self,
        _: &RequestContext,
        _: group::BeforeCreate,
    ) -> HandlerResult<group::CreateDecision> {
        std::thread::sleep(BLOCKED);
        Ok(group::CreateDecision::Allow)
    }
}

/// Longer than the slow-poll warning's threshold and the late answer's, with the deadline.
const BLOCKED: Duration = Duration::from_millis(300);

/// A body that fails after its first bytes.
struct Broken(bool);

impl Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"Group")))))
        }
    }
}

/// A body that never arrives.
struct Stalled;

impl Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// Text in a body that no log line may show.
const BODY_TEXT: &str = "a private message 7d41";

fn config() -> WebhookConfigBuilder {
    WebhookConfig::builder(tencent_chat_webhook::test_util::DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .body_limit(4096)
}

/// `req`'s request without `CallbackCommand` in its query.
fn without_command(req: &SignedRequest) -> Request<String> {
    let mut built = req.build();
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "CallbackCommand")
        .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    *built.uri_mut() = format!("/tencent/chat/webhook?{query}").parse().unwrap();
    built
}

async fn status<B>(service: &WebhookService, req: Request<B>) -> u16
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    service
        .clone()
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sends requests that make the service emit each of its events, and checks each answer.
async fn traffic() {
    let service = WebhookService::new(config().build().unwrap(), Troubled);
    let sample = SignedRequest::sample;

    // One rejection of each kind.
    let mut get = sample(Command::GroupBeforeSendMsg).build();
    *get.method_mut() = http::Method::GET;
    let stale_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let requests = [
        (get, 405),
        (
            sample(Command::GroupBeforeSendMsg)
                .raw_app_id("abc")
                .build(),
            400,
        ),
        (sample(Command::GroupBeforeSendMsg).app_id(7).build(), 403),
        (sample(Command::GroupBeforeSendMsg).unsigned().build(), 401),
        (
            sample(Command::GroupBeforeSendMsg).token("guess").build(),
            401,
        ),
        (
            sample(Command::GroupBeforeSendMsg)
                .request_time(stale_time)
                .build(),
            401,
        ),
        (
            sample(Command::GroupBeforeSendMsg)
                .body(" ".repeat(5000))
                .build(),
            413,
        ),
        (
            without_command(&sample(Command::GroupAfterSendMsg).body("{not json")),
            400,
        ),
        (
            without_command(&sample(Command::GroupAfterSendMsg).body(r#"{"a":1}"#)),
            400,
        ),
    ];
    for (req, want) in requests {
        let uri = req.uri().clone();
        assert_eq!(status(&service, req).await, want, "{uri}");
    }
    let broken = sample(Command::GroupBeforeSendMsg)
        .build()
        .map(|_| Broken(false));
    assert_eq!(status(&service, broken).await, 400);
    if cfg!(feature = "tokio") {
        let stalled = sample(Command::GroupBeforeSendMsg).build().map(|_| Stalled);
        assert_eq!(status(&service, stalled).await, 408);
    }

    // Handler failures: an error, a panic, a body that does not fit, the deadline (a before-event
    // answered at it, an after-event finishing in the background, one cancelled).
    let failing = [
        (sample(Command::GroupBeforeSendMsg), 200),
        (sample(Command::C2cBeforeSendMsg), 200),
        (
            sample(Command::GroupAfterFull).body(format!(
                r#"{{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":["{BODY_TEXT}"]}}"#
            )),
            400,
        ),
    ];
    for (req, want) in failing {
        assert_eq!(
            status(&service, req.build()).await,
            want,
            "{}",
            req.command()
        );
    }
    if cfg!(feature = "tokio") {
        let oa = sample(Command::OfficialAccountBeforeSendMsg).build();
        assert_eq!(status(&service, oa).await, 200);
        let after = sample(Command::GroupAfterSendMsg).build();
        assert_eq!(status(&service, after).await, 200);
        let cancelling = WebhookService::new(
            config()
                .after_deadline(AfterDeadline::Cancel)
                .build()
                .unwrap(),
            Troubled,
        );
        let after = sample(Command::GroupAfterSendMsg).build();
        assert_eq!(status(&cancelling, after).await, 500);
        // A handler that blocks its thread: warned about, and its answer leaves late.
        let blocking = WebhookService::new(
            config()
                .deadline(Duration::from_millis(50))
                .build()
                .unwrap(),
            Troubled,
        );
        let create = sample(Command::GroupBeforeCreate).build();
        assert_eq!(status(&blocking, create).await, 200);
    }

    // A duplicate after-event.
    let deduplicating = WebhookService::new(
        config()
            .dedup(MemoryDedup::new(16, Duration::from_secs(600)))
            .build()
            .unwrap(),
        Troubled,
    );
    for _ in 0..2 {
        let full = sample(Command::GroupAfterFull).build();
        assert_eq!(status(&deduplicating, full).await, 200);
    }

    // Unknown commands: one line for the first of each name, the name cut, never the body.
    let body = format!(r#"{{"CallbackCommand":"X.CallbackAfterNew","Text":"{BODY_TEXT}"}}"#);
    for _ in 0..3 {
        let unknown = SignedRequest::new("X.CallbackAfterNew", body.clone()).build();
        assert_eq!(status(&service, unknown).await, 200);
    }
    let long = format!("X.Callback{}", "Long".repeat(200));
    let unknown = SignedRequest::new(
        "",
        format!(r#"{{"CallbackCommand":"{long}","Text":"{BODY_TEXT}"}}"#),
    );
    assert_eq!(status(&service, without_command(&unknown)).await, 200);
    // Up to the 64 names remembered, then one line for the next name, and none after it.
    let more = (0..UNKNOWN_REMEMBERED - 2).map(|i| format!("X.CallbackAfter{i}"));
    for name in more.chain(["X.CallbackOneTooMany".into(), "X.CallbackTwoTooMany".into()]) {
        let unknown = SignedRequest::new(name, "{}").build();
        assert_eq!(status(&service, unknown).await, 200);
    }
}

/// How many unknown command names are logged.
const UNKNOWN_REMEMBERED: usize = 64;

/// The warning of a tokio runtime without a timer, where a deadline is configured.
fn no_timer() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let service = WebhookService::new(config().build().unwrap(), Troubled);
        let req = SignedRequest::sample(Command::GroupAfterFull).build();
        assert_eq!(status(&service, req).await, 200);
    });
}

// ---------------------------------------------------------------------------------------------
// The check.

/// Every event call of the crate's source: its file (relative to `src/`) and its arguments, for
/// each `tracing::<level>!(...)` call under `src/` and each call of the server's own level macros
/// (`debug!(...)` and the like in `src/server/`, which forward to `tracing`).
fn event_calls_in_source() -> Vec<(String, String)> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let file = path.strip_prefix(root).unwrap().display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for level in ["trace", "debug", "info", "warn", "error"] {
                let calls = [format!("tracing::{level}!("), format!(" {level}!(")];
                for call in &calls {
                    for (at, _) in text.match_indices(call.as_str()) {
                        let args = call_args(&text[at + call.len()..]);
                        // A macro that forwards its arguments (`tracing::warn!($($t)*)`) is no
                        // event.
                        if args.contains('"') {
                            found.push((file.clone(), args.to_owned()));
                        }
                    }
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found
}

/// The arguments of a macro call, given the text after its opening parenthesis: up to the
/// parenthesis that closes it (string literals may hold parentheses).
fn call_args(after_open: &str) -> &str {
    let (mut depth, mut in_string, mut escaped) = (1, false, false);
    for (i, c) in after_open.char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') | (false, '"') => in_string = !in_string,
            (false, '(') => depth += 1,
            (false, ')') => {
                depth -= 1;
                if depth == 0 {
                    return &after_open[..i];
                }
            }
            _ => {}
        }
    }
    after_open
}

/// The text of an event call's arguments: their last string literal.
fn event_text(args: &str) -> String {
    let end = args.rfind('"').unwrap();
    let start = args[..end].rfind('"').unwrap() + 1;
    args[start..end].to_owned()
}

/// The text of every event the request pipeline emits (everything but the server's and the Redis
/// queue's, which need a server or a Redis outage: see [`NOT_DRIVEN_DIRS`]).
fn events_in_source() -> BTreeSet<String> {
    event_calls_in_source()
        .into_iter()
        .filter(|(file, _)| !NOT_DRIVEN_DIRS.iter().any(|(dir, _)| file.starts_with(dir)))
        .map(|(_, args)| event_text(&args))
        .collect()
}

/// Folders of `src/` whose events this test does not drive, and why. Their fields are still
/// checked, by [`no_event_has_a_field_the_formatter_writes_itself`].
const NOT_DRIVEN_DIRS: [(&str, &str); 2] = [
    (
        "redis",
        "feature `redis`, and a Redis server with an outage (tests/redis.rs drives them)",
    ),
    (
        "server",
        "the crate's server, with connections to evict and refuse (tests/server_limits.rs)",
    ),
];

/// A field named `message` is written beside the event's own message by JSON formatters, so a
/// line would carry the key twice; the same for the keys the formatters add (`timestamp`,
/// `level`, `target`, `fields`, `span`, `spans`). No event of the source, driven here or not,
/// has one.
#[test]
fn no_event_has_a_field_the_formatter_writes_itself() {
    let reserved = [
        "message",
        "timestamp",
        "level",
        "target",
        "fields",
        "span",
        "spans",
    ];
    let calls = event_calls_in_source();
    assert!(
        calls.iter().any(|(file, _)| file.starts_with("redis"))
            && calls.iter().any(|(file, _)| file.starts_with("server")),
        "the scan finds the queue's and the server's events too"
    );
    for (file, args) in calls {
        // The fields are the arguments before the message literal.
        let fields = &args[..args.find('"').unwrap()];
        for field in fields.split(',') {
            let name = field
                .split('=')
                .next()
                .unwrap()
                .trim()
                .trim_start_matches(['%', '?']);
            assert!(
                !reserved.contains(&name),
                "{file}: an event has a field `{name}`, which JSON formatters write themselves: {args}"
            );
        }
    }
}

/// Events this test does not drive, and why.
const NOT_DRIVEN: [(&str, &str); 1] = [(
    "redis queue trouble",
    "feature `redis`, and a Redis outage (tests/redis.rs); its fields are `what`, `error`, \
     `held_back`",
)];

#[test]
fn every_event_is_json_with_each_key_once() {
    let (nested, flat) = (Captured::default(), Captured::default());
    let (nested_writer, flat_writer) = (nested.clone(), flat.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || nested_writer.clone()),
        )
        // Everything a JSON line can carry, with the event's fields at the top level beside
        // `timestamp`, `level`, `target` and the spans.
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .with_file(true)
                .with_line_number(true)
                .with_thread_ids(true)
                .with_thread_names(true)
                .with_writer(move || flat_writer.clone()),
        );
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(traffic());
    drop(runtime);
    no_timer();

    let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, log) in [("nested", nested.text()), ("flattened", flat.text())] {
        for line in log.lines() {
            if let Err(e) = serde_json::from_str::<UniqueKeys>(line) {
                panic!("{name}: {e} in\n{line}");
            }
            let line: Value = serde_json::from_str(line).unwrap();
            if name == "nested" {
                let text = line["fields"]["message"].as_str().unwrap().to_owned();
                events.entry(text).or_default().push(line["fields"].clone());
            }
        }
        for secret in [DEMO_TOKEN, "Sign=", BODY_TEXT] {
            assert!(!log.contains(secret), "{name} shows `{secret}`:\n{log}");
        }
        // No signature, the expected or the given: no run of 64 hex digits.
        let longest_hex = log
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max();
        assert!(longest_hex < Some(64), "{name} shows a signature:\n{log}");
    }

    // Every event of the source was seen (but those listed, with their reason).
    let not_driven: BTreeSet<&str> = NOT_DRIVEN.iter().map(|(text, _)| *text).collect();
    for text in events_in_source() {
        if not_driven.contains(text.as_str()) {
            continue;
        }
        let deadline_only = text.contains("tokio runtime has no timer");
        if deadline_only && !cfg!(feature = "tokio") {
            continue;
        }
        assert!(
            events.contains_key(&text),
            "the traffic does not make the service log `{text}`; seen: {:#?}",
            events.keys()
        );
    }

    // Each kind of rejection and of failure, with what explains it.
    let values = |text: &str, field: &str| -> BTreeSet<String> {
        events[text]
            .iter()
            .map(|fields| fields[field].as_str().unwrap().to_owned())
            .collect()
    };
    let mut rejections = vec![
        "method_not_allowed",
        "malformed_query",
        "app_id_mismatch",
        "missing_signature",
        "invalid_signature",
        "stale_request",
        "body_too_large",
        "unreadable_body",
        "invalid_body",
        "command_mismatch",
    ];
    let mut failures = vec!["error", "panic", "unparsed"];
    if cfg!(feature = "tokio") {
        rejections.push("body_timeout");
        failures.extend(["timeout", "abandoned"]);
    }
    let rejected = "webhook request rejected";
    assert_eq!(
        values(rejected, "kind"),
        rejections.iter().map(|k| k.to_string()).collect()
    );
    for fields in &events[rejected] {
        assert!(fields["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let failed = "webhook handler failed";
    assert_eq!(
        values(failed, "kind"),
        failures.iter().map(|k| k.to_string()).collect()
    );

    // The unknown command: once, with its app; the long name cut.
    let unknown =
        "unknown webhook command, answered by `Handler::on_unknown` (logged once per name)";
    let commands = values(unknown, "command");
    assert_eq!(events[unknown].len(), UNKNOWN_REMEMBERED);
    assert_eq!(commands.len(), UNKNOWN_REMEMBERED, "{commands:?}");
    assert!(commands.contains("X.CallbackAfterNew"), "{commands:?}");
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("X.CallbackLong") && c.len() <= 64),
        "{commands:?}"
    );
    let past = "more unknown webhook commands than are remembered; no more of them are logged";
    assert_eq!(
        values(past, "command"),
        BTreeSet::from(["X.CallbackOneTooMany".into()])
    );
    assert_eq!(events[past].len(), 1);
    assert!(
        events[unknown]
            .iter()
            .chain(&events[past])
            .all(|f| f["app_id"] == tencent_chat_webhook::test_util::DEMO_APP_ID)
    );
}
