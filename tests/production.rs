//! Running in production: the deadline (with tokio's paused clock, never real sleeps), several
//! apps behind one endpoint, duplicates, the console check, and the signals the service emits.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Reports, config};
use http::{Request, Response, StatusCode};
use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    AfterDeadline, Answered, Command, CommandKind, Event, FailureDecision, FailureKind, Handler,
    HandlerFailure, HandlerResult, ImStr, MemoryDedup, Rejection, RejectionKind, Reply,
    RequestContext, UnknownEvent, WebhookConfig, WebhookService, c2c, group, service::ResponseBody,
    signature,
};
use tokio::time::Instant;
use tower::ServiceExt;

/// Sets a flag when dropped: shows whether a handler's future was cancelled or ran to its end.
struct Guard {
    finished: bool,
    dropped_early: Arc<AtomicUsize>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.dropped_early.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Takes `delay` in every hook it has, counting the calls that finished and those cancelled.
#[derive(Default)]
struct Slow {
    delay: Duration,
    fail_after: bool,
    finished: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    apps: Mutex<Vec<u64>>,
}

impl Slow {
    fn new(delay: Duration) -> Self {
        Slow {
            delay,
            ..Slow::default()
        }
    }

    async fn work(&self, ctx: &RequestContext) {
        self.apps.lock().unwrap().push(ctx.app_id());
        let mut guard = Guard {
            finished: false,
            dropped_early: self.cancelled.clone(),
        };
        tokio::time::sleep(self.delay).await;
        guard.finished = true;
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

impl Handler for Slow {
    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        self.work(ctx).await;
        Ok(group::SendMsgDecision::Drop)
    }

    async fn on_after_event(&self, ctx: &RequestContext, _: Event) -> HandlerResult<()> {
        self.work(ctx).await;
        if self.fail_after {
            return Err("the database is down".into());
        }
        Ok(())
    }

    async fn on_unknown(&self, ctx: &RequestContext, _: UnknownEvent) -> HandlerResult<Reply> {
        self.work(ctx).await;
        Ok(Reply::ok())
    }
}

async fn call(service: &WebhookService, req: Request<String>) -> (Response<ResponseBody>, Reply) {
    let res = service.clone().oneshot(req).await.unwrap();
    let reply = test_util::reply_of(&res).1;
    (res, reply)
}

/// Now in Unix seconds, to sign a query by hand.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn kinds(reports: &Reports) -> Vec<FailureKind> {
    reports.lock().unwrap().iter().map(|f| f.kind()).collect()
}

#[cfg(feature = "tokio")]
const DEADLINE: Duration = WebhookConfig::DEFAULT_DEADLINE;

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_slow_before_event_is_answered_with_the_failure_decision_at_the_deadline() {
    for (decision, code) in [(FailureDecision::Allow, 0), (FailureDecision::Deny, 1)] {
        let (config, reports) = config(|b| b.failure_decision(decision));
        let handler = Arc::new(Slow::new(Duration::from_secs(30)));
        let service = WebhookService::from_arc(config, handler.clone());
        let start = Instant::now();
        let (res, reply) = call(
            &service,
            SignedRequest::sample(Command::GroupBeforeSendMsg).build(),
        )
        .await;
        assert_eq!(start.elapsed(), DEADLINE, "answered at the deadline");
        assert_eq!((res.status(), reply.error_code()), (StatusCode::OK, code));
        assert_eq!(kinds(&reports), [FailureKind::Timeout]);
        assert_eq!(
            res.extensions().get::<HandlerFailure>().unwrap().kind(),
            FailureKind::Timeout
        );
        // The handler was cancelled, and its resources released, not left running.
        assert_eq!(handler.cancelled.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(handler.finished.load(Ordering::SeqCst), 0);
    }
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_slow_after_event_is_answered_at_the_deadline_and_finishes_in_the_background() {
    let (config, reports) = config(|b| b);
    let handler = Arc::new(Slow::new(Duration::from_secs(5)));
    let service = WebhookService::from_arc(config, handler.clone());
    let start = Instant::now();
    let (res, reply) = call(
        &service,
        SignedRequest::sample(Command::C2cAfterSendMsg).build(),
    )
    .await;
    assert_eq!(start.elapsed(), DEADLINE);
    assert_eq!((res.status(), reply.error_code()), (StatusCode::OK, 0));
    assert_eq!(
        kinds(&reports),
        [FailureKind::Timeout],
        "reported, not lost"
    );
    assert_eq!(handler.finished.load(Ordering::SeqCst), 0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        handler.finished.load(Ordering::SeqCst),
        1,
        "finished in the background"
    );
    assert_eq!(handler.cancelled.load(Ordering::SeqCst), 0);
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_background_failure_is_reported_too() {
    let (config, reports) = config(|b| b);
    let handler = Arc::new(Slow {
        fail_after: true,
        ..Slow::new(Duration::from_secs(5))
    });
    let service = WebhookService::from_arc(config, handler.clone());
    call(
        &service,
        SignedRequest::sample(Command::C2cAfterSendMsg).build(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(kinds(&reports), [FailureKind::Timeout, FailureKind::Error]);
    assert!(
        reports.lock().unwrap()[1]
            .message()
            .contains("database is down")
    );
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn the_background_is_bounded_and_cancel_answers_500() {
    let cases = [
        (
            "cancel",
            AfterDeadline::Cancel,
            vec![FailureKind::Abandoned, FailureKind::Abandoned],
            [500, 500],
        ),
        (
            "room for one",
            AfterDeadline::Finish {
                max_in_background: 1,
            },
            vec![FailureKind::Timeout, FailureKind::Abandoned],
            [200, 500],
        ),
    ];
    for (name, policy, want, statuses) in cases {
        let (config, reports) = config(|b| b.after_deadline(policy));
        let handler = Arc::new(Slow::new(Duration::from_secs(30)));
        let service = WebhookService::from_arc(config, handler.clone());
        let a = call(
            &service,
            SignedRequest::sample(Command::GroupAfterFull).build(),
        );
        let b = call(
            &service,
            SignedRequest::sample(Command::GroupAfterFull).build(),
        );
        let ((ra, _), (rb, _)) = tokio::join!(a, b);
        let mut got = [ra.status().as_u16(), rb.status().as_u16()];
        got.sort_unstable();
        assert_eq!(got, statuses, "{name}");
        let mut kinds = kinds(&reports);
        kinds.sort_by_key(|k| *k == FailureKind::Abandoned);
        assert_eq!(kinds, want, "{name}");
        tokio::time::sleep(Duration::from_secs(60)).await;
        let (done, dropped) = (
            handler.finished.load(Ordering::SeqCst),
            handler.cancelled.load(Ordering::SeqCst),
        );
        assert_eq!(
            done + dropped,
            2,
            "{name}: every handler ended, none is left hanging"
        );
    }
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn unknown_commands_follow_the_policy_of_the_kind_their_name_says() {
    let cases = [
        (
            "X.CallbackBeforeFuture",
            StatusCode::OK,
            1,
            FailureKind::Timeout,
        ),
        (
            "X.CallbackAfterFuture",
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            FailureKind::Abandoned,
        ),
    ];
    for (command, status, code, kind) in cases {
        let (config, reports) = config(|b| {
            b.failure_decision(FailureDecision::Deny)
                .after_deadline(AfterDeadline::Cancel)
        });
        let service = WebhookService::new(config, Slow::new(Duration::from_secs(30)));
        let body = format!(r#"{{"CallbackCommand":"{command}"}}"#);
        let (res, reply) = call(&service, SignedRequest::new(command, body).build()).await;
        assert_eq!(
            (res.status(), reply.error_code()),
            (status, code),
            "{command}"
        );
        assert_eq!(kinds(&reports), [kind], "{command}");
    }
}

/// A body that sends a few bytes, then nothing, forever.
#[cfg(feature = "tokio")]
struct Trickle(bool);

#[cfg(feature = "tokio")]
impl http_body::Body for Trickle {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.0 {
            return std::task::Poll::Pending;
        }
        self.0 = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"{\"GroupId\"",
        )))))
    }
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_body_that_never_ends_is_answered_408_at_the_deadline() {
    let (config, _) = config(|b| b);
    let service = WebhookService::new(config, Slow::new(Duration::ZERO));
    let req = SignedRequest::sample(Command::GroupBeforeSendMsg)
        .build()
        .map(|_| Trickle(false));
    let start = Instant::now();
    let res = service.oneshot(req).await.unwrap();
    assert_eq!(start.elapsed(), DEADLINE);
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::BodyTimeout
    );
    let reply = test_util::reply_of(&res).1;
    assert_eq!(reply.error_code(), 408);
}

#[tokio::test(start_paused = true)]
async fn without_a_deadline_the_answer_waits_for_the_handler() {
    let (config, reports) = config(|b| b.no_deadline());
    let service = WebhookService::new(config, Slow::new(Duration::from_secs(30)));
    let start = Instant::now();
    let (_, reply) = call(
        &service,
        SignedRequest::sample(Command::GroupBeforeSendMsg).build(),
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(reply.error_code(), 2, "the handler's own answer");
    assert!(kinds(&reports).is_empty());
}

/// Without the crate's `tokio` feature a configured deadline is not enforced, as
/// `WebhookConfig::deadline` says: every answer waits for its handler, as with `no_deadline()`.
#[cfg(not(feature = "tokio"))]
#[tokio::test(start_paused = true)]
async fn without_the_tokio_feature_a_configured_deadline_is_not_enforced() {
    let (config, reports) = config(|b| b);
    assert_eq!(config.deadline(), Some(WebhookConfig::DEFAULT_DEADLINE));
    let service = WebhookService::new(config, Slow::new(Duration::from_secs(30)));
    let cases = [
        ("a before-event", Command::GroupBeforeSendMsg, 2),
        ("an after-event", Command::GroupAfterFull, 0),
    ];
    for (name, command, code) in cases {
        let start = Instant::now();
        let (res, reply) = call(&service, SignedRequest::sample(command).build()).await;
        assert_eq!(start.elapsed(), Duration::from_secs(30), "{name}");
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(reply.error_code(), code, "{name}: the handler's own answer");
    }
    assert!(kinds(&reports).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Several apps behind one endpoint.

#[tokio::test]
async fn each_app_has_its_own_tokens_and_the_handler_sees_which_app() {
    let (config, _) = config(|b| {
        b.app(1_400_000_001)
            .token("b-new")
            .token("b-old")
            .app(1_400_000_002)
            .without_signature_check()
    });
    let handler = Arc::new(Slow::new(Duration::ZERO));
    let service = WebhookService::from_arc(config, handler.clone());
    let req = |app: u64, token: Option<&str>| {
        let r = SignedRequest::sample(Command::GroupAfterFull).app_id(app);
        match token {
            Some(t) => r.token(t).build(),
            None => r.unsigned().build(),
        }
    };
    let cases = [
        (
            "first app, its token",
            req(DEMO_APP_ID, Some(DEMO_TOKEN)),
            200,
        ),
        (
            "second app, new token",
            req(1_400_000_001, Some("b-new")),
            200,
        ),
        (
            "second app, old token",
            req(1_400_000_001, Some("b-old")),
            200,
        ),
        (
            "second app, first app's token",
            req(1_400_000_001, Some(DEMO_TOKEN)),
            401,
        ),
        (
            "first app, second app's token",
            req(DEMO_APP_ID, Some("b-new")),
            401,
        ),
        ("opted-out app, unsigned", req(1_400_000_002, None), 200),
        ("first app, unsigned", req(DEMO_APP_ID, None), 401),
        (
            "an app not configured",
            req(1_400_000_009, Some(DEMO_TOKEN)),
            403,
        ),
    ];
    let mut served = Vec::new();
    for (name, request, status) in cases {
        let (res, _) = call(&service, request).await;
        assert_eq!(res.status().as_u16(), status, "{name}");
        if status == 200 {
            served.push(res.body().outcome().unwrap().app_id());
        }
    }
    let seen = handler.apps.lock().unwrap().clone();
    assert_eq!(
        seen,
        [DEMO_APP_ID, 1_400_000_001, 1_400_000_001, 1_400_000_002]
    );
    assert_eq!(served, seen);
}

// ---------------------------------------------------------------------------------------------
// Duplicates.

#[derive(Default)]
struct Counts {
    after: AtomicUsize,
    before: AtomicUsize,
    fail_first: bool,
}

impl Handler for Counts {
    async fn on_after_event(&self, _: &RequestContext, _: Event) -> HandlerResult<()> {
        if self.after.fetch_add(1, Ordering::SeqCst) == 0 && self.fail_first {
            return Err("not yet".into());
        }
        Ok(())
    }

    async fn on_c2c_before_send_msg(
        &self,
        _: &RequestContext,
        _: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        self.before.fetch_add(1, Ordering::SeqCst);
        Ok(c2c::SendMsgDecision::Allow)
    }
}

#[tokio::test]
async fn a_repeated_after_event_reaches_the_handler_once_and_before_events_always() {
    // Under `Finish` an after-event's handler may go on in the background; under `Cancel` it
    // runs on the request's own future: the service takes different paths, with the same result.
    for policy in [AfterDeadline::default(), AfterDeadline::Cancel] {
        let (config, _) = config(|b| {
            b.dedup(MemoryDedup::new(1000, Duration::from_secs(600)))
                .after_deadline(policy)
        });
        let handler = Arc::new(Counts::default());
        let service = WebhookService::from_arc(config, handler.clone());
        let mut decisions = Vec::new();
        for command in [Command::C2cAfterSendMsg, Command::PushOffline] {
            for _ in 0..3 {
                let (res, reply) = call(&service, SignedRequest::sample(command).build()).await;
                assert_eq!(reply.error_code(), 0, "{policy:?}");
                decisions.push(res.body().outcome().unwrap().answered());
            }
        }
        assert_eq!(
            handler.after.load(Ordering::SeqCst),
            2,
            "{policy:?}: once per event"
        );
        use Answered::{Acknowledged as A, Duplicate as D};
        assert_eq!(decisions, [A, D, D, A, D, D], "{policy:?}");
        for _ in 0..3 {
            call(
                &service,
                SignedRequest::sample(Command::C2cBeforeSendMsg).build(),
            )
            .await;
        }
        assert_eq!(
            handler.before.load(Ordering::SeqCst),
            3,
            "{policy:?}: before-events are never skipped"
        );
    }
}

#[tokio::test]
async fn an_event_whose_handler_failed_is_handled_again_when_retried() {
    let (config, _) = config(|b| b.dedup(MemoryDedup::new(1000, Duration::from_secs(600))));
    let handler = Arc::new(Counts {
        fail_first: true,
        ..Counts::default()
    });
    let service = WebhookService::from_arc(config, handler.clone());
    let (first, _) = call(
        &service,
        SignedRequest::sample(Command::C2cAfterSendMsg).build(),
    )
    .await;
    assert_eq!(first.status(), 500);
    let (second, _) = call(
        &service,
        SignedRequest::sample(Command::C2cAfterSendMsg).build(),
    )
    .await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.body().outcome().unwrap().answered(),
        Answered::Acknowledged
    );
    assert_eq!(handler.after.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// The console check, and what responses carry.

#[tokio::test]
async fn a_signed_check_request_without_app_or_command_passes_without_the_handler() {
    let (config, _) = config(|b| b);
    let handler = Arc::new(Counts::default());
    let service = WebhookService::from_arc(config, handler.clone());
    let now = unix_now();
    let check = |query: String, body: &str| {
        Request::post(format!("/tencent/chat/webhook?{query}"))
            .body(body.to_owned())
            .unwrap()
    };
    let signed = format!(
        "Sign={}&RequestTime={now}",
        signature::sign(DEMO_TOKEN, now)
    );
    let cases = [
        ("signed, nothing else", check(signed.clone(), ""), 200),
        ("signed, empty object", check(signed.clone(), "{}"), 200),
        (
            "signed, with a test command",
            check(format!("CallbackCommand=Console.Check&{signed}"), ""),
            200,
        ),
        (
            "with the app, no command",
            check(format!("SdkAppid={DEMO_APP_ID}&{signed}"), ""),
            200,
        ),
        (
            "wrong token",
            check(
                format!("Sign={}&RequestTime={now}", signature::sign("guess", now)),
                "",
            ),
            401,
        ),
        ("unsigned", check(String::new(), ""), 400),
        (
            "a body without any command",
            check(
                format!("SdkAppid={DEMO_APP_ID}&{signed}"),
                r#"{"GroupId":"x"}"#,
            ),
            400,
        ),
    ];
    for (name, req, status) in cases {
        let res = service.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{name}");
        if status == 200 {
            let outcome = res.body().outcome().unwrap();
            assert_eq!(outcome.answered(), Answered::ConsoleCheck, "{name}");
            assert_eq!(test_util::reply_of(&res).1, Reply::ok(), "{name}");
        }
    }
    assert_eq!(handler.after.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn successful_responses_say_what_was_decided() {
    struct Decides;
    impl Handler for Decides {
        async fn on_group_before_send_msg(
            &self,
            _: &RequestContext,
            _: group::BeforeSendMsg,
        ) -> HandlerResult<group::SendMsgDecision> {
            Ok(group::SendMsgDecision::Drop)
        }
        async fn on_group_before_invite_join(
            &self,
            _: &RequestContext,
            e: group::BeforeInviteJoin,
        ) -> HandlerResult<group::InviteDecision> {
            Ok(group::InviteDecision::Refuse(
                e.invited().take(1).map(ImStr::from).collect(),
            ))
        }
    }
    let (config, _) = config(|b| b);
    let service = WebhookService::new(config, Decides);
    let cases = [
        (
            Command::GroupBeforeSendMsg,
            CommandKind::Before,
            Answered::Drop,
        ),
        (
            Command::GroupBeforeInviteJoin,
            CommandKind::Before,
            Answered::RefuseSome,
        ),
        (
            Command::GroupBeforeCreate,
            CommandKind::Before,
            Answered::Allow,
        ),
        (
            Command::GroupAfterFull,
            CommandKind::After,
            Answered::Acknowledged,
        ),
    ];
    for (command, kind, decision) in cases {
        let (res, _) = call(&service, SignedRequest::sample(command).build()).await;
        let outcome = res.body().outcome().unwrap();
        assert_eq!(
            (
                outcome.command(),
                outcome.kind(),
                outcome.answered(),
                outcome.app_id()
            ),
            (command.as_str(), kind, decision, DEMO_APP_ID),
            "{command}"
        );
    }
}

#[tokio::test]
async fn a_body_of_another_command_is_named_as_such_even_when_it_does_not_fit() {
    let (config, _) = config(|b| b);
    let service = WebhookService::new(config, Counts::default());
    let req = SignedRequest::new(
        "Group.CallbackAfterGroupFull",
        test_util::sample(Command::C2cAfterMsgReport),
    )
    .build();
    let (res, reply) = call(&service, req).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::CommandMismatch
    );
    assert!(
        reply.error_info().contains("C2C.CallbackAfterMsgReport"),
        "{}",
        reply.error_info()
    );
}

#[tokio::test]
async fn question_mark_works_on_anyhow_in_a_handler() {
    struct Anyhow;
    impl Handler for Anyhow {
        async fn on_after_event(&self, _: &RequestContext, _: Event) -> HandlerResult<()> {
            fn lookup() -> anyhow::Result<()> {
                anyhow::bail!("no such row")
            }
            lookup()?;
            Ok(())
        }
    }
    let (config, reports) = config(|b| b);
    let service = WebhookService::new(config, Anyhow);
    let (res, _) = call(
        &service,
        SignedRequest::sample(Command::GroupAfterFull).build(),
    )
    .await;
    assert_eq!(res.status(), 500);
    assert_eq!(reports.lock().unwrap()[0].message(), "no such row");
}

// ---------------------------------------------------------------------------------------------
// Found in review: each of these failed before its fix.

#[test]
fn a_runtime_without_a_timer_gets_no_deadline_instead_of_a_panic() {
    struct Drops;
    impl Handler for Drops {
        async fn on_group_before_send_msg(
            &self,
            _: &RequestContext,
            _: group::BeforeSendMsg,
        ) -> HandlerResult<group::SendMsgDecision> {
            Ok(group::SendMsgDecision::Drop)
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (config, reports) = config(|b| b);
    let service = WebhookService::new(config, Drops);
    for _ in 0..2 {
        let res = rt
            .block_on(
                service
                    .clone()
                    .oneshot(SignedRequest::sample(Command::GroupBeforeSendMsg).build()),
            )
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            test_util::reply_of(&res).1.error_code(),
            2,
            "the handler's answer"
        );
    }
    assert!(kinds(&reports).is_empty());
}

#[tokio::test]
async fn a_deadline_too_far_away_is_no_deadline() {
    let (config, _) = config(|b| b.deadline(Duration::MAX));
    let service = WebhookService::new(config, Slow::new(Duration::ZERO));
    let (res, reply) = call(
        &service,
        SignedRequest::sample(Command::GroupBeforeSendMsg).build(),
    )
    .await;
    assert_eq!((res.status().as_u16(), reply.error_code()), (200, 2));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_request_forgets_its_key_and_a_retry_during_handling_is_not_acknowledged() {
    let (config, _) = config(|b| {
        b.no_deadline()
            .dedup(MemoryDedup::new(100, Duration::from_secs(600)))
    });
    let handler = Arc::new(Slow::new(Duration::from_secs(10)));
    let service = WebhookService::from_arc(config, handler.clone());
    let req = || SignedRequest::sample(Command::C2cAfterSendMsg).build();
    // A first delivery in flight: a retry now is answered 500, not acknowledged.
    let first = tokio::spawn(service.clone().oneshot(req()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (retry, _) = call(&service, req()).await;
    assert_eq!(retry.status(), 500);
    // The first one's request is dropped (a client gone): its key is forgotten.
    first.abort();
    let _ = first.await;
    let (again, _) = call(&service, req()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.body().outcome().unwrap().answered(),
        Answered::Acknowledged
    );
    assert_eq!(
        handler.finished.load(Ordering::SeqCst),
        1,
        "handled once, by the retry"
    );
    assert_eq!(
        handler.cancelled.load(Ordering::SeqCst),
        1,
        "the dropped one"
    );
}

#[tokio::test]
async fn identical_events_without_an_id_or_a_time_are_not_taken_for_duplicates() {
    let (config, _) = config(|b| b.dedup(MemoryDedup::new(100, Duration::from_secs(600))));
    let handler = Arc::new(Counts::default());
    let service = WebhookService::from_arc(config, handler.clone());
    // An unfriend and a re-friend send the same body twice.
    for _ in 0..2 {
        call(
            &service,
            SignedRequest::sample(Command::SnsFriendAdd).build(),
        )
        .await;
    }
    assert_eq!(handler.after.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_friend_request_that_fails_is_refused_per_target_under_deny() {
    struct Fails;
    impl Handler for Fails {
        async fn on_sns_prev_friend_add(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::sns::PrevFriendAdd,
        ) -> HandlerResult<tencent_chat_webhook::sns::FriendDecision> {
            Err("the graph store is down".into())
        }

        async fn on_sns_prev_friend_response(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::sns::PrevFriendResponse,
        ) -> HandlerResult<tencent_chat_webhook::sns::FriendDecision> {
            panic!("the graph store is down")
        }
    }
    let (config, _) = config(|b| b.failure_decision(FailureDecision::Deny));
    let service = WebhookService::new(config, Fails);
    let unparsed_add = r#"{"From_Account":"a","FriendItem":[{"To_Account":"x","AddWording":5},{"To_Account":"y"}]}"#;
    let unparsed_response = r#"{"From_Account":"a","ResponseFriendItem":[{"To_Account":"x","Remark":5},{"To_Account":"y"}]}"#;
    for (name, req, targets) in [
        (
            "add: handler error",
            SignedRequest::sample(Command::SnsPrevFriendAdd).build(),
            ["id1", "id2"],
        ),
        (
            "add: unparsed body",
            SignedRequest::new(Command::SnsPrevFriendAdd.as_str(), unparsed_add).build(),
            ["x", "y"],
        ),
        (
            "response: handler panic",
            SignedRequest::sample(Command::SnsPrevFriendResponse).build(),
            ["id1", "id2"],
        ),
        (
            "response: unparsed body",
            SignedRequest::new(Command::SnsPrevFriendResponse.as_str(), unparsed_response).build(),
            ["x", "y"],
        ),
    ] {
        let (res, reply) = call(&service, req).await;
        assert_eq!(res.status(), 200, "{name}");
        let items = reply
            .result_items()
            .unwrap_or_else(|| panic!("{name}: no ResultItem"));
        let got: Vec<(&str, u32)> = items
            .iter()
            .map(|i| (i.to_account.as_str(), i.result_code))
            .collect();
        assert_eq!(got, [(targets[0], 38_000), (targets[1], 38_000)], "{name}");
    }
}

#[tokio::test]
async fn a_panic_before_on_unparsed_returns_its_future_is_caught() {
    struct Eager;
    impl Handler for Eager {
        #[allow(clippy::manual_async_fn)]
        fn on_unparsed(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::UnparsedEvent,
        ) -> impl std::future::Future<Output = HandlerResult<Option<Reply>>> + Send {
            panic!("eager");
            #[allow(unreachable_code)]
            async {
                Ok(None)
            }
        }
    }
    let (config, reports) = config(|b| b);
    let service = WebhookService::new(config, Eager);
    let req = SignedRequest::new(Command::GroupAfterFull.as_str(), r#"{"GroupId":1}"#).build();
    let (res, _) = call(&service, req).await;
    assert_eq!(res.status(), 400);
    assert_eq!(kinds(&reports), [FailureKind::Unparsed, FailureKind::Panic]);
}

#[tokio::test]
async fn a_panic_before_a_handler_method_returns_its_future_is_caught() {
    // Methods written as plain functions returning a future, which panic before they return
    // it: a typed before-event (parsed straight into its handler's future), a typed after-event
    // (which may finish in the background) and unknown commands of both kinds.
    struct Eager;
    #[allow(clippy::manual_async_fn, unreachable_code)]
    impl Handler for Eager {
        fn on_official_account_before_send_msg(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::official_account::BeforeSendMsg,
        ) -> impl std::future::Future<
            Output = HandlerResult<tencent_chat_webhook::official_account::SendMsgDecision>,
        > + Send {
            panic!("eager");
            async { Ok(tencent_chat_webhook::official_account::SendMsgDecision::Allow) }
        }

        fn on_group_after_full(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::group::AfterFull,
        ) -> impl std::future::Future<Output = HandlerResult<()>> + Send {
            panic!("eager");
            async { Ok(()) }
        }

        fn on_unknown(
            &self,
            _: &RequestContext,
            _: tencent_chat_webhook::UnknownEvent,
        ) -> impl std::future::Future<Output = HandlerResult<Reply>> + Send {
            panic!("eager");
            async { Ok(Reply::ok()) }
        }
    }
    let (config, reports) = config(|b| b.failure_decision(FailureDecision::Deny));
    let service = WebhookService::new(config, Eager);
    for (name, req, status, error_code) in [
        (
            "typed before-event",
            SignedRequest::sample(Command::OfficialAccountBeforeSendMsg).build(),
            200,
            1,
        ),
        (
            "typed after-event",
            SignedRequest::sample(Command::GroupAfterFull).build(),
            500,
            500,
        ),
        (
            "unknown before-event",
            SignedRequest::new("Group.CallbackBeforeFuture", r#"{"GroupId":"@TGS#1"}"#).build(),
            200,
            1,
        ),
        (
            "unknown after-event",
            SignedRequest::new("Group.CallbackAfterFuture", r#"{"GroupId":"@TGS#1"}"#).build(),
            500,
            500,
        ),
    ] {
        reports.lock().unwrap().clear();
        let (res, reply) = call(&service, req).await;
        assert_eq!(res.status(), status, "{name}");
        assert_eq!(reply.error_code(), error_code, "{name}");
        assert_eq!(kinds(&reports), [FailureKind::Panic], "{name}");
    }
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_background_slot_is_given_back_when_its_handler_ends() {
    let (config, reports) = config(|b| {
        b.after_deadline(AfterDeadline::Finish {
            max_in_background: 1,
        })
    });
    let service = WebhookService::new(config, Slow::new(Duration::from_secs(5)));
    for _ in 0..3 {
        let (res, _) = call(
            &service,
            SignedRequest::sample(Command::GroupAfterFull).build(),
        )
        .await;
        assert_eq!(
            res.status(),
            200,
            "each goes to the background once the last one ended"
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    assert_eq!(kinds(&reports), [FailureKind::Timeout; 3]);
}

// The deadline needs the crate's `tokio` feature.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_handler_that_never_ends_in_the_background_is_cancelled_after_a_minute() {
    let (config, reports) = config(|b| b);
    let handler = Arc::new(Slow::new(Duration::from_secs(3600)));
    let service = WebhookService::from_arc(config, handler.clone());
    call(
        &service,
        SignedRequest::sample(Command::GroupAfterFull).build(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        kinds(&reports),
        [FailureKind::Timeout, FailureKind::Abandoned]
    );
    assert_eq!(handler.cancelled.load(Ordering::SeqCst), 1);
    // The event acknowledged but never handled is named, by its key, in both reports: an
    // operator can find it and replay it.
    let key = idempotency_key(Command::GroupAfterFull);
    for report in reports.lock().unwrap().iter() {
        assert!(report.message().contains(&key), "{report:?} lacks {key}");
    }
}

/// The idempotency key of `command`'s sample event.
fn idempotency_key(command: Command) -> String {
    Event::parse(command.as_str(), test_util::sample(command).as_bytes())
        .unwrap()
        .idempotency_key(DEMO_APP_ID)
}

#[tokio::test]
async fn a_known_command_without_an_app_is_refused_and_an_opted_out_app_passes_the_check() {
    let (config, _) = config(|b| b);
    let handler = Arc::new(Counts::default());
    let service = WebhookService::from_arc(config, handler.clone());
    let now = unix_now();
    let signed = format!(
        "Sign={}&RequestTime={now}",
        signature::sign(DEMO_TOKEN, now)
    );
    let req = Request::post(format!(
        "/tencent/chat/webhook?CallbackCommand=C2C.CallbackAfterSendMsg&{signed}"
    ))
    .body(test_util::sample(Command::C2cAfterSendMsg).to_owned())
    .unwrap();
    let res = service.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        handler.after.load(Ordering::SeqCst),
        0,
        "not handled as some app's event"
    );

    let open = WebhookConfig::builder(DEMO_APP_ID)
        .without_signature_check()
        .build()
        .unwrap();
    let service = WebhookService::new(open, Counts::default());
    let check = Request::post("/tencent/chat/webhook")
        .body(String::new())
        .unwrap();
    let res = service.oneshot(check).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.body().outcome().unwrap().answered(),
        Answered::ConsoleCheck
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_not_quoted_in_answers_or_reports() {
    let (config, reports) = config(|b| b);
    let service = WebhookService::new(config, Counts::default());
    let body = r#"{"From_Account":"a","To_Account":"b","MsgBody":"my secret love letter"}"#;
    let (res, reply) = call(
        &service,
        SignedRequest::new(Command::C2cAfterSendMsg.as_str(), body).build(),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        reply.error_info().contains("MsgBody"),
        "{}",
        reply.error_info()
    );
    assert!(
        !reply.error_info().contains("love letter"),
        "{}",
        reply.error_info()
    );
    assert!(!reports.lock().unwrap()[0].message().contains("love letter"));
}
