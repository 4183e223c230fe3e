//! Deadlines that hold when a handler blocks its thread (`std::thread::sleep` here; synchronous
//! I/O or CPU work alike): a real server on 127.0.0.1 on a multi-thread runtime, a real HTTP
//! client on a runtime of its own, wall-clock time.
//!
//! What holds: on a multi-thread runtime the handler runs on a task of its own, so the request's
//! task answers at the deadline while the handler's thread is still blocked, and a worker that is
//! not blocked serves everyone else. What cannot hold: a blocking handler takes a worker thread
//! until it returns, so with every worker blocked nothing answers (the servers here have one
//! worker more than the handlers they block); on a current-thread runtime the one thread is
//! blocked, and the answer leaves late, with a warning.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Captured, Reports};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    AfterDeadline, Answered, Command, Event, FailureDecision, FailureKind, Handler, HandlerFailure,
    HandlerResult, MemoryDedup, Outcome, RequestContext, WebhookConfig, WebhookConfigBuilder,
    WebhookService, c2c, group, sns,
};
use tower::ServiceExt;

/// How long a blocking handler holds its thread.
const BLOCK: Duration = Duration::from_secs(3);
/// The servers' deadline: shorter than the default 1.5 s, for a wider margin under Tencent's
/// 2 s on a loaded machine. The path is the same whatever its length.
const DEADLINE: Duration = Duration::from_secs(1);
/// How long Tencent waits for an answer.
const TENCENT_WAITS: Duration = Duration::from_secs(2);

/// Blocks its thread in the group before-send hook and in every after-event; the one-to-one
/// before-send answers at once (the default: allow).
#[derive(Default)]
struct Blocking {
    entered: AtomicUsize,
    finished: AtomicUsize,
}

impl Blocking {
    fn block(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(BLOCK);
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

impl Handler for Blocking {
    async fn on_group_before_send_msg(
        &self,
        _: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        self.block();
        Ok(group::SendMsgDecision::Drop)
    }

    async fn on_after_event(&self, _: &RequestContext, _: Event) -> HandlerResult<()> {
        self.block();
        Ok(())
    }
}

/// The demo app's configuration with the servers' deadline, as `apply` changes it, reporting
/// its failures.
fn config(
    apply: impl FnOnce(WebhookConfigBuilder) -> WebhookConfigBuilder,
) -> (WebhookConfig, Reports) {
    common::config(|b| apply(b.deadline(DEADLINE)))
}

fn kinds(reports: &Reports) -> Vec<(String, FailureKind)> {
    let reports = reports.lock().unwrap();
    reports
        .iter()
        .map(|f| (f.command().to_owned(), f.kind()))
        .collect()
}

/// A webhook server on an ephemeral port of 127.0.0.1, on a multi-thread runtime of `workers`
/// threads of its own, served as `examples/hyper.rs` serves it. Dropped, it stops at once
/// (threads still blocked in a handler end when their handler returns).
struct Server {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start(workers: usize, webhook: WebhookService) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            common::serve(listener, webhook).await;
        });
        Server {
            addr,
            runtime: Some(runtime),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// What an answer said, and how long it took.
#[derive(Debug)]
struct Answer {
    status: u16,
    error_code: Option<i64>,
    took: Duration,
}

/// Sends `command`'s signed sample to `addr` on a connection of its own.
async fn send(client: &HttpClient, addr: SocketAddr, command: Command) -> Answer {
    let signed = SignedRequest::sample(command);
    let req = Request::post(format!("http://{addr}{}", signed.path_and_query()))
        .body(Full::new(Bytes::from(signed.body_text().to_owned())))
        .unwrap();
    let sent = Instant::now();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let took = sent.elapsed();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    Answer {
        status,
        error_code: json["ErrorCode"].as_i64(),
        took,
    }
}

/// Waits (up to 5 s) until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_handler_that_blocks_its_thread_is_answered_at_the_deadline() {
    let group_send = Command::GroupBeforeSendMsg;
    let after = Command::C2cAfterSendMsg;
    // (name, failure decision, after-deadline policy, command, status, ErrorCode, reported as)
    let cases = [
        (
            "before-event, Deny",
            FailureDecision::Deny,
            AfterDeadline::default(),
            group_send,
            200,
            Some(1),
            FailureKind::Timeout,
        ),
        (
            "before-event, Allow",
            FailureDecision::Allow,
            AfterDeadline::default(),
            group_send,
            200,
            Some(0),
            FailureKind::Timeout,
        ),
        (
            "after-event, finished in the background",
            FailureDecision::Allow,
            AfterDeadline::default(),
            after,
            200,
            Some(0),
            FailureKind::Timeout,
        ),
        (
            "after-event, cancelled",
            FailureDecision::Allow,
            AfterDeadline::Cancel,
            after,
            500,
            Some(500),
            FailureKind::Abandoned,
        ),
    ];
    let client = client();
    for (name, decision, after_deadline, command, status, error_code, kind) in cases {
        let (config, reports) =
            config(|b| b.failure_decision(decision).after_deadline(after_deadline));
        let handler = Arc::new(Blocking::default());
        let server = Server::start(2, WebhookService::from_arc(config, handler.clone()));
        let answer = send(&client, server.addr, command).await;
        assert_eq!(
            (answer.status, answer.error_code),
            (status, error_code),
            "{name}"
        );
        assert!(
            answer.took >= DEADLINE && answer.took < TENCENT_WAITS,
            "{name}: answered in {:?}",
            answer.took
        );
        assert_eq!(
            kinds(&reports),
            [(command.as_str().to_owned(), kind)],
            "{name}"
        );
        // The handler was still blocked when the answer left.
        assert_eq!(handler.entered.load(Ordering::SeqCst), 1, "{name}");
        assert_eq!(handler.finished.load(Ordering::SeqCst), 0, "{name}");
    }
}

/// Two handlers block two of the three workers; the third serves everyone else, and answers the
/// two blocked requests at their deadline. (With two workers, both blocked, nothing could.)
#[tokio::test]
async fn while_two_handlers_block_other_requests_are_answered_in_time() {
    let (config, reports) = config(|b| b.failure_decision(FailureDecision::Deny));
    let handler = Arc::new(Blocking::default());
    let server = Server::start(3, WebhookService::from_arc(config, handler.clone()));
    let addr = server.addr;
    let client = client();
    let blocked: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { send(&client, addr, Command::GroupBeforeSendMsg).await })
        })
        .collect();
    until(|| handler.entered.load(Ordering::SeqCst) == 2).await;

    for i in 0..10 {
        let answer = send(&client, addr, Command::C2cBeforeSendMsg).await;
        assert_eq!((answer.status, answer.error_code), (200, Some(0)), "{i}");
        assert!(
            answer.took < DEADLINE,
            "request {i} took {:?} while two handlers blocked",
            answer.took
        );
    }
    for task in blocked {
        let answer = task.await.unwrap();
        assert_eq!((answer.status, answer.error_code), (200, Some(1)));
        assert!(answer.took < TENCENT_WAITS, "answered in {:?}", answer.took);
    }
    assert_eq!(handler.finished.load(Ordering::SeqCst), 0);
    assert_eq!(
        kinds(&reports),
        vec![
            (
                "Group.CallbackBeforeSendMsg".to_owned(),
                FailureKind::Timeout
            );
            2
        ]
    );
}

/// On a current-thread runtime the blocked thread is the one that would answer: the answer
/// leaves late, and the log and the metrics say so, naming the command, as they name the
/// handler whose poll held the thread.
#[test]
fn on_a_current_thread_runtime_a_blocking_handler_is_warned_about() {
    struct BlocksBriefly;
    impl Handler for BlocksBriefly {
        async fn on_group_before_send_msg(
            &self,
            _: &RequestContext,
            _: group::BeforeSendMsg,
        ) -> HandlerResult<group::SendMsgDecision> {
            std::thread::sleep(Duration::from_millis(600));
            Ok(group::SendMsgDecision::Drop)
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();

    let config = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .deadline(Duration::from_millis(200))
        .build()
        .unwrap();
    let service = WebhookService::new(config, BlocksBriefly);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let res = metrics::with_local_recorder(&recorder, || {
        runtime
            .block_on(service.oneshot(SignedRequest::sample(Command::GroupBeforeSendMsg).build()))
    })
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(600));
    // The handler's answer came before the deadline could be looked at: it stands.
    assert_eq!(res.status(), 200);

    let log = captured.text();
    let warned = |what: &str| {
        log.lines().any(|l| {
            l.contains("WARN") && l.contains(what) && l.contains("Group.CallbackBeforeSendMsg")
        })
    };
    assert!(warned("blocked its thread"), "no slow-poll warning:\n{log}");
    assert!(
        warned("after the deadline"),
        "no late-answer warning:\n{log}"
    );
    // One snapshot: taking one resets the counters.
    let snapshot = snapshotter.snapshot().into_vec();
    let counted = |name: &str| {
        snapshot.iter().any(|(key, _, _, value)| {
            let key = key.key();
            key.name() == name
                && key
                    .labels()
                    .any(|l| l.key() == "command" && l.value() == "Group.CallbackBeforeSendMsg")
                && *value == DebugValue::Counter(1)
        })
    };
    for name in [
        "tencent_chat_webhook_slow_polls_total",
        "tencent_chat_webhook_late_answers_total",
    ] {
        assert!(counted(name), "{name} not counted once: {snapshot:?}");
    }
}

/// The idempotency key of `command`'s sample event.
fn key_of(command: Command) -> String {
    Event::parse(command.as_str(), test_util::sample(command).as_bytes())
        .unwrap()
        .idempotency_key(test_util::DEMO_APP_ID)
}

/// Counts the handlers dropped before they ended.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// An after-event acknowledged at the deadline, to finish in the background, and cancelled at
/// its time bound is reported both times with its idempotency key: the event that was
/// acknowledged and never handled can be found and replayed.
#[tokio::test]
async fn an_event_dropped_in_the_background_is_reported_with_its_key() {
    #[derive(Default)]
    struct NeverEnds {
        dropped: Arc<AtomicUsize>,
    }
    impl Handler for NeverEnds {
        async fn on_after_event(&self, _: &RequestContext, _: Event) -> HandlerResult<()> {
            let _guard = DropCount(self.dropped.clone());
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    }
    let (config, reports) = config(|b| {
        b.deadline(Duration::from_millis(300))
            .background_limit(Duration::from_millis(500))
    });
    let handler = Arc::new(NeverEnds::default());
    let server = Server::start(2, WebhookService::from_arc(config, handler.clone()));
    let command = Command::C2cAfterSendMsg;
    let answer = send(&client(), server.addr, command).await;
    assert_eq!((answer.status, answer.error_code), (200, Some(0)));
    assert!(answer.took < TENCENT_WAITS, "answered in {:?}", answer.took);

    until(|| reports.lock().unwrap().len() == 2).await;
    until(|| handler.dropped.load(Ordering::SeqCst) == 1).await;
    let key = key_of(command);
    let reports = reports.lock().unwrap();
    let kinds: Vec<_> = reports.iter().map(|f| f.kind()).collect();
    assert_eq!(kinds, [FailureKind::Timeout, FailureKind::Abandoned]);
    for report in reports.iter() {
        assert_eq!(report.command(), command.as_str());
        assert!(report.message().contains(&key), "{report:?} lacks {key}");
    }
}

/// Answers every command with its default.
struct Defaults;

impl Handler for Defaults {}

/// What a request was answered: status, body, what the service answered, and the failure.
type Reaction = (u16, Bytes, Option<Answered>, Option<FailureKind>);

/// Fails in every way a handler can, by command: an error, a panic, a blocked thread (shorter
/// than the deadline); and notes the threads its after-events ran on.
#[derive(Default)]
struct Troubled {
    threads: Mutex<Vec<std::thread::ThreadId>>,
}

impl Handler for Troubled {
    async fn on_group_before_send_msg(
        &self,
        _: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Err("the moderation service is down".into())
    }

    async fn on_c2c_before_send_msg(
        &self,
        _: &RequestContext,
        _: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        panic!("a bug in the handler")
    }

    async fn on_sns_prev_friend_add(
        &self,
        _: &RequestContext,
        _: sns::PrevFriendAdd,
    ) -> HandlerResult<sns::FriendDecision> {
        Err("the friend service is down".into())
    }

    async fn on_after_event(&self, _: &RequestContext, event: Event) -> HandlerResult<()> {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        match event.command() {
            Some(Command::GroupAfterFull) => Err("the queue is down".into()),
            Some(Command::GroupAfterDestroyed) => {
                std::thread::sleep(Duration::from_millis(50));
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Every request of the table, through a fresh service with `handler` and a de-duplication
/// store, each command's sample sent twice (the second an after-event's duplicate), then the
/// bodies that do not parse.
async fn answers(handler: Arc<impl Handler>) -> Vec<Reaction> {
    let config = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .failure_decision(FailureDecision::Deny)
        .dedup(MemoryDedup::new(1024, Duration::from_secs(600)))
        .build()
        .unwrap();
    let service = WebhookService::from_arc(config, handler);
    let mut requests: Vec<SignedRequest> = Command::ALL
        .iter()
        .flat_map(|&c| [SignedRequest::sample(c), SignedRequest::sample(c)])
        .collect();
    requests.extend([
        // JSON that does not fit: to `on_unparsed`, then the failure policy.
        SignedRequest::sample(Command::GroupBeforeSendMsg)
            .body(r#"{"CallbackCommand":"Group.CallbackBeforeSendMsg","MsgBody":7}"#),
        // Not JSON.
        SignedRequest::sample(Command::GroupAfterFull).body("{"),
        // A command this crate does not know.
        SignedRequest::new(
            "X.CallbackBeforeY",
            r#"{"CallbackCommand":"X.CallbackBeforeY"}"#,
        ),
    ]);
    let mut out = Vec::new();
    for req in requests {
        let res = service.clone().oneshot(req.build()).await.unwrap();
        out.push((
            res.status().as_u16(),
            Bytes::copy_from_slice(res.body().as_bytes()),
            res.body().outcome().map(Outcome::answered),
            res.extensions()
                .get::<HandlerFailure>()
                .map(HandlerFailure::kind),
        ));
    }
    out
}

/// On a multi-thread runtime the handler runs on a task of its own, parsing the body there;
/// on a current-thread runtime, on the request's. Only where it runs differs: every command's
/// sample, its duplicate, a handler's error, panic and blocked thread, and bodies that do not
/// parse are answered the same on both.
#[test]
fn the_handler_on_its_own_task_answers_as_on_the_requests() {
    let here = std::thread::current().id();
    for troubled in [false, true] {
        let run = |runtime: tokio::runtime::Runtime| {
            runtime.block_on(async {
                if !troubled {
                    return answers(Arc::new(Defaults)).await;
                }
                let handler = Arc::new(Troubled::default());
                let answered = answers(handler.clone()).await;
                // Where the handlers ran: here, or on the runtime's workers.
                let threads = handler.threads.lock().unwrap();
                let elsewhere = threads.iter().all(|&thread| thread != here);
                assert!(!threads.is_empty());
                let flavor = tokio::runtime::Handle::current().runtime_flavor();
                let multi = flavor != tokio::runtime::RuntimeFlavor::CurrentThread;
                assert_eq!(elsewhere, multi, "{flavor:?}");
                answered
            })
        };
        let current = run(tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap());
        let multi = run(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap());
        assert_eq!(current.len(), Command::ALL.len() * 2 + 3);
        for (i, (a, b)) in current.iter().zip(&multi).enumerate() {
            assert_eq!(a, b, "request {i} (troubled handler: {troubled})");
        }
    }
}
