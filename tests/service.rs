//! The whole request path through `WebhookService`, without a network: every documented sample,
//! every documented reply, every rejection, handler failures, tolerance, and sharing.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tencent_chat_webhook::message::MsgContent;
use tencent_chat_webhook::official_account::{
    self as oa, AddSubscriberDecision, CreateDecision, SendMsgDecision,
};
use tencent_chat_webhook::test_util::{self, PUBLISHED_INFO_CHANGED_SAMPLE, SignedRequest};
use tencent_chat_webhook::{
    Command, Event, FailureDecision, FailureKind, Handler, HandlerError, HandlerFailure,
    HandlerResult, OptPlatform, Rejection, RejectionKind, Reply, RequestContext, UnknownEvent,
    UnparsedEvent, WebhookConfig, WebhookConfigBuilder, WebhookLayer, WebhookService, signature,
};
use tower::{Layer, ServiceExt, service_fn};

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "test-token-5f1c";
const NOW: u64 = 1_700_000_000;

fn builder() -> WebhookConfigBuilder {
    WebhookConfig::builder(APP)
        .token(TOKEN)
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
}

fn signed(command: Command) -> SignedRequest {
    SignedRequest::sample(command)
        .app_id(APP)
        .token(TOKEN)
        .request_time(NOW)
}

async fn send<S>(service: S, req: Request<String>) -> (StatusCode, Value, Response<()>)
where
    S: tower::Service<
            Request<String>,
            Response = Response<tencent_chat_webhook::service::ResponseBody>,
            Error = Infallible,
        >,
{
    let res = service.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "reply is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (parts.status, json, Response::from_parts(parts, ()))
}

// ---------------------------------------------------------------------------------------------
// Every documented sample reaches its typed hook with the right values.

/// One recorded call: the event and what the context said.
type Record = (
    Event,
    String,
    Option<String>,
    Option<OptPlatform>,
    Option<u64>,
);

/// Records every after-event and unknown command (through the two catch-all hooks) and the
/// Official Account before-events; answers with the defaults.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Record>>,
}

impl Recorder {
    fn record(&self, ctx: &RequestContext, seen: Event) {
        self.seen.lock().unwrap().push((
            seen,
            ctx.command().to_owned(),
            ctx.client_ip().map(str::to_owned),
            ctx.platform().cloned(),
            ctx.request_time(),
        ));
    }
    fn take(&self) -> Vec<Record> {
        std::mem::take(&mut self.seen.lock().unwrap())
    }
}

impl Handler for Recorder {
    async fn on_after_event(&self, ctx: &RequestContext, e: Event) -> HandlerResult<()> {
        self.record(ctx, e);
        Ok(())
    }
    async fn on_unknown(&self, ctx: &RequestContext, e: UnknownEvent) -> HandlerResult<Reply> {
        self.record(ctx, Event::Unknown(e));
        Ok(Reply::ok())
    }
    async fn on_official_account_before_create(
        &self,
        ctx: &RequestContext,
        e: oa::BeforeCreate,
    ) -> HandlerResult<CreateDecision> {
        self.record(ctx, Event::OfficialAccountBeforeCreate(e));
        Ok(Default::default())
    }
    async fn on_official_account_before_add_subscriber(
        &self,
        ctx: &RequestContext,
        e: oa::BeforeAddSubscriber,
    ) -> HandlerResult<AddSubscriberDecision> {
        self.record(ctx, Event::OfficialAccountBeforeAddSubscriber(e));
        Ok(Default::default())
    }
    async fn on_official_account_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: oa::BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        self.record(ctx, Event::OfficialAccountBeforeSendMsg(e));
        Ok(Default::default())
    }
}

const EVENT_TIME: Option<u64> = Some(1_670_574_414_123);

fn check_sample(command: Command, seen: &Event) {
    match (command, seen) {
        (Command::OfficialAccountBeforeCreate, Event::OfficialAccountBeforeCreate(e)) => {
            assert_eq!(
                (
                    e.operator_account.as_str(),
                    e.owner_account.as_str(),
                    e.name.as_deref()
                ),
                ("107867", "107867", Some("TestOfficialAccount"))
            );
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountAfterCreate, Event::OfficialAccountAfterCreate(e)) => {
            assert_eq!(e.official_account, "@TOA#_test_OA_for_penn");
            assert_eq!(
                (e.operator_account.as_str(), e.owner_account.as_str()),
                ("107867", "107867")
            );
            assert_eq!(e.name.as_deref(), Some("TestOfficialAccount"));
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountAfterInfoChanged, Event::OfficialAccountAfterInfoChanged(e)) => {
            assert_eq!(e.official_account, "@TOA#_test_OA_for_penn");
            assert_eq!(e.operator_account, "leckie");
            assert_eq!(e.introduction.as_deref(), Some("NewNotification"));
            assert_eq!(e.name.as_deref(), Some("NewName"));
            assert_eq!(e.face_url.as_deref(), Some("http://this.is.newface.url"));
            assert_eq!(e.organization.as_deref(), Some("NewOrganization"));
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountAfterDestroyed, Event::OfficialAccountAfterDestroyed(e)) => {
            assert_eq!(e.official_account, "@TOA#_test_OA_for_penn");
            assert_eq!(e.owner_account, "107867");
            assert_eq!(e.name.as_deref(), Some("TestOfficialAccount"));
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (
            Command::OfficialAccountBeforeAddSubscriber,
            Event::OfficialAccountBeforeAddSubscriber(e),
        ) => {
            assert_eq!(e.official_account, "@TOA#_test_for_penn");
            assert_eq!(e.operator_account, "107867");
            assert_eq!(e.subscribers().collect::<Vec<_>>(), ["jared", "leckie"]);
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (
            Command::OfficialAccountAfterAddSubscriber,
            Event::OfficialAccountAfterAddSubscriber(e),
        ) => {
            assert_eq!(e.official_account, "@TOA#_test_for_penn");
            assert_eq!(e.operator_account, "107867");
            assert_eq!(e.subscribers().collect::<Vec<_>>(), ["jared", "leckie"]);
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountAfterFull, Event::OfficialAccountAfterFull(e)) => {
            assert_eq!(e.official_account, "@TOA#_test_OA_for_penn");
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (
            Command::OfficialAccountAfterDeleteSubscriber,
            Event::OfficialAccountAfterDeleteSubscriber(e),
        ) => {
            assert_eq!(e.official_account, "@TOA#_test_OA_for_penn");
            assert_eq!(e.operator_account, "leckie");
            assert_eq!(e.subscribers().collect::<Vec<_>>(), ["jared", "leckie"]);
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountBeforeSendMsg, Event::OfficialAccountBeforeSendMsg(e)) => {
            assert_eq!(e.official_account, "@TOA#_2J4SZEAEL");
            assert_eq!(e.online_only_flag, Some(1));
            assert_eq!(e.texts().collect::<Vec<_>>(), ["red packet"]);
            assert_eq!(
                e.cloud_custom_data.as_deref(),
                Some("your cloud custom data")
            );
            assert_eq!(e.event_time, EVENT_TIME);
            assert_eq!(
                e.event_system_time(),
                Some(UNIX_EPOCH + Duration::from_millis(1_670_574_414_123))
            );
        }
        (Command::OfficialAccountAfterSendMsg, Event::OfficialAccountAfterSendMsg(e)) => {
            assert_eq!(e.official_account, "@TOA#_2J4SZEAEL");
            assert_eq!(e.msg_key.as_deref(), Some("71_1_1698741698"));
            assert_eq!(e.msg_time, Some(1_490_686_222));
            assert_eq!(e.online_only_flag, Some(1));
            assert_eq!(e.texts().collect::<Vec<_>>(), ["red packet"]);
            assert_eq!(
                e.cloud_custom_data.as_deref(),
                Some("your cloud custom data")
            );
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (Command::OfficialAccountAfterMsgWithDraw, Event::OfficialAccountAfterMsgWithDraw(e)) => {
            assert_eq!(e.official_account, "#TOA#_123");
            assert_eq!(e.withdraw_msg_list.len(), 1);
            assert_eq!(e.withdraw_msg_list[0].msg_key, "71_1_1698741698");
            assert_eq!(e.event_time, EVENT_TIME);
        }
        (command, seen) => panic!("{command} reached the wrong hook: {seen:?}"),
    }
}

#[tokio::test]
async fn every_documented_sample_reaches_its_typed_hook() {
    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    let official_account = Command::ALL
        .iter()
        .copied()
        .filter(|c| c.as_str().starts_with("OfficialAccount."));
    for command in official_account {
        let req = signed(command)
            .client_ip(Some("10.1.2.3"))
            .platform(Some("Android"))
            .build();
        let (status, reply, _) = send(service.clone(), req).await;
        assert_eq!(status, 200, "{command}: {reply}");
        assert_eq!(
            reply,
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}),
            "{command}"
        );
        let seen = recorder.take();
        assert_eq!(seen.len(), 1, "{command}");
        let (event, cmd, ip, platform, time) = &seen[0];
        check_sample(command, event);
        assert_eq!(cmd, command.as_str());
        assert_eq!(ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(platform, &Some(OptPlatform::Android));
        assert_eq!(*time, Some(NOW));
    }
}

// ---------------------------------------------------------------------------------------------
// Every documented reply shape, through the service, byte for byte.

// ---------------------------------------------------------------------------------------------
// Rejections: one case per kind of bad input.

/// A body that yields `chunk` forever, and counts how many chunks were taken.
struct Endless {
    chunk: Bytes,
    polled: Arc<AtomicUsize>,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A body whose connection breaks after the first chunk.
struct Broken(VecDeque<Result<Bytes, std::io::Error>>);

impl Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.0.pop_front().map(|r| r.map(Frame::data)))
    }
}

#[tokio::test]
async fn every_bad_input_gets_a_precise_status_and_json_reason() {
    let sample = || signed(Command::OfficialAccountBeforeSendMsg);
    // After-events whose body does not fit are refused naming the path; before-events answer
    // the failure decision (`a_body_that_does_not_fit_...` below).
    let bad_type = r#"{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg","Official_Account":"a","MsgKey":"k","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":42}}]}"#;
    let after = || signed(Command::OfficialAccountAfterSendMsg);
    let expected_sign = signature::sign(TOKEN, NOW);
    let with_method = |method: http::Method| {
        let mut req = sample().build();
        *req.method_mut() = method;
        req
    };
    let with_len = |len: &str| {
        let mut req = sample().build();
        req.headers_mut()
            .insert(http::header::CONTENT_LENGTH, len.parse().unwrap());
        req
    };
    let mut duplicated = sample().build();
    *duplicated.uri_mut() = format!("{}&Sign=00", sample().path_and_query())
        .parse()
        .unwrap();
    let mut no_query = sample().build();
    *no_query.uri_mut() = "/tencent/chat/webhook".parse().unwrap();

    let cases: Vec<(&str, Request<String>, StatusCode, RejectionKind, &str)> = vec![
        (
            "GET",
            with_method(http::Method::GET),
            StatusCode::METHOD_NOT_ALLOWED,
            RejectionKind::MethodNotAllowed,
            "method `GET` is not allowed",
        ),
        (
            "PUT",
            with_method(http::Method::PUT),
            StatusCode::METHOD_NOT_ALLOWED,
            RejectionKind::MethodNotAllowed,
            "POST",
        ),
        (
            "no query",
            no_query,
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`SdkAppid` is missing",
        ),
        (
            "duplicate Sign",
            duplicated,
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`Sign` is given more than once",
        ),
        (
            "app id not a number",
            sample().raw_app_id("abc").build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "not a decimal app id",
        ),
        (
            "other app",
            sample().app_id(1_400_000_001).build(),
            StatusCode::FORBIDDEN,
            RejectionKind::AppIdMismatch,
            "SdkAppid 1400000001",
        ),
        (
            "unsigned",
            SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
                .app_id(APP)
                .unsigned()
                .build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::MissingSignature,
            "`Sign` is missing",
        ),
        (
            "sign without time",
            SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
                .app_id(APP)
                .unsigned()
                .sign(expected_sign.clone())
                .build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::MissingSignature,
            "`RequestTime` is missing",
        ),
        (
            "wrong token",
            signed(Command::OfficialAccountBeforeSendMsg)
                .token("other-token")
                .build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::InvalidSignature,
            "signature does not match",
        ),
        (
            "garbage sign",
            sample().sign("not-hex").build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::InvalidSignature,
            "signature does not match",
        ),
        (
            "stale",
            sample().request_time(NOW - 61).build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::StaleRequest,
            "61 s away",
        ),
        (
            "from the future",
            sample().request_time(NOW + 3600).build(),
            StatusCode::UNAUTHORIZED,
            RejectionKind::StaleRequest,
            "3600 s away",
        ),
        (
            "declared too large",
            with_len("1048577"),
            StatusCode::PAYLOAD_TOO_LARGE,
            RejectionKind::BodyTooLarge,
            "limit of 1048576 bytes",
        ),
        (
            "published sample with missing commas",
            signed(Command::OfficialAccountAfterInfoChanged)
                .body(PUBLISHED_INFO_CHANGED_SAMPLE)
                .build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "expected `,` or `}` at line 8",
        ),
        (
            "field of the wrong type",
            after().body(bad_type).build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "at `MsgBody[0].MsgContent.Text`: invalid type: integer `42`, expected a string",
        ),
        (
            "required field missing",
            after().body(r#"{"MsgKey":"k","MsgBody":[]}"#).build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "missing field `Official_Account`",
        ),
        (
            "empty body",
            sample().body("").build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "EOF while parsing",
        ),
        (
            "command mismatch",
            sample()
                .body(test_util::sample(Command::OfficialAccountAfterSendMsg))
                .build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::CommandMismatch,
            "differs from the query",
        ),
    ];
    for (name, req, status, kind, reason) in cases {
        let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
        let res = service.oneshot(req).await.unwrap();
        assert_rejected(name, res, status, kind, reason, &expected_sign).await;
    }
}

async fn assert_rejected(
    name: &str,
    res: Response<tencent_chat_webhook::service::ResponseBody>,
    status: StatusCode,
    kind: RejectionKind,
    reason: &str,
    secret_sign: &str,
) {
    assert_eq!(res.status(), status, "{name}");
    assert_eq!(
        res.headers()[http::header::CONTENT_TYPE],
        "application/json",
        "{name}"
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        assert_eq!(res.headers()[http::header::ALLOW], "POST", "{name}");
    }
    let rejection = res
        .extensions()
        .get::<Rejection>()
        .cloned()
        .unwrap_or_else(|| panic!("{name}: no Rejection"));
    assert_eq!(rejection.kind(), kind, "{name}");
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["ActionStatus"], "FAIL", "{name}");
    assert_eq!(body["ErrorCode"], status.as_u16(), "{name}");
    let info = body["ErrorInfo"].as_str().unwrap();
    assert!(info.contains(reason), "{name}: {info}");
    assert_eq!(info, rejection.message(), "{name}");
    assert!(!text.contains(TOKEN), "{name} echoes the token: {text}");
    assert!(
        !text.contains(secret_sign),
        "{name} echoes the signature: {text}"
    );
}

#[tokio::test]
async fn malformed_request_time_is_a_bad_query() {
    let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
    let mut req = signed(Command::OfficialAccountBeforeSendMsg).build();
    let uri = req
        .uri()
        .to_string()
        .replace(&format!("RequestTime={NOW}"), "RequestTime=soon");
    *req.uri_mut() = uri.parse().unwrap();
    let res = service.oneshot(req).await.unwrap();
    assert_rejected(
        "time",
        res,
        StatusCode::BAD_REQUEST,
        RejectionKind::MalformedQuery,
        "`RequestTime` is not a decimal unix time",
        &signature::sign(TOKEN, NOW),
    )
    .await;
}

#[tokio::test]
async fn a_streamed_body_is_cut_off_at_the_limit() {
    let service = WebhookService::new(
        builder().body_limit(64 * 1024).build().unwrap(),
        Recorder::default(),
    );
    let polled = Arc::new(AtomicUsize::new(0));
    let endless = Endless {
        chunk: Bytes::from(vec![b' '; 8 * 1024]),
        polled: polled.clone(),
    };
    let req = signed(Command::OfficialAccountBeforeSendMsg)
        .build()
        .map(|_| endless);
    let res = service.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::BodyTooLarge
    );
    // 64 KiB is 8 chunks; the 9th crosses the limit, and nothing more is read.
    assert_eq!(polled.load(Ordering::SeqCst), 9);
}

#[tokio::test]
async fn a_body_at_the_limit_is_accepted_and_one_byte_more_is_not() {
    let body = test_util::sample(Command::OfficialAccountBeforeSendMsg);
    let service = |limit| {
        WebhookService::new(
            builder().body_limit(limit).build().unwrap(),
            Recorder::default(),
        )
    };
    let req = || signed(Command::OfficialAccountBeforeSendMsg).build();
    assert_eq!(
        service(body.len()).oneshot(req()).await.unwrap().status(),
        200
    );
    assert_eq!(
        service(body.len() - 1)
            .oneshot(req())
            .await
            .unwrap()
            .status(),
        413
    );
}

#[tokio::test]
async fn an_unreadable_body_is_a_bad_request() {
    let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
    let broken = Broken(VecDeque::from([
        Ok(Bytes::from_static(b"{\"Official")),
        Err(std::io::Error::other("connection reset")),
    ]));
    let req = signed(Command::OfficialAccountBeforeSendMsg)
        .build()
        .map(|_| broken);
    let res = service.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::UnreadableBody
    );
}

// ---------------------------------------------------------------------------------------------
// Handler failures never block a user's action by accident.

struct Faulty {
    panic: bool,
}

impl Handler for Faulty {
    async fn on_official_account_before_send_msg(
        &self,
        _: &RequestContext,
        _: oa::BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        if self.panic {
            panic!("moderation backend exploded");
        }
        Err(HandlerError::msg("moderation backend unreachable"))
    }
    async fn on_official_account_after_send_msg(
        &self,
        _: &RequestContext,
        _: oa::AfterSendMsg,
    ) -> HandlerResult<()> {
        Err(HandlerError::msg("archive unreachable"))
    }
}

#[tokio::test]
async fn handler_failures_answer_with_the_failure_decision_and_are_reported() {
    let cases = [
        (
            "error, default",
            false,
            None,
            Command::OfficialAccountBeforeSendMsg,
            200,
            Some(0),
            FailureKind::Error,
            "moderation backend unreachable",
        ),
        (
            "panic, default",
            true,
            None,
            Command::OfficialAccountBeforeSendMsg,
            200,
            Some(0),
            FailureKind::Panic,
            "moderation backend exploded",
        ),
        (
            "error, deny",
            false,
            Some(FailureDecision::Deny),
            Command::OfficialAccountBeforeSendMsg,
            200,
            Some(1),
            FailureKind::Error,
            "unreachable",
        ),
        (
            "panic, defer",
            true,
            Some(FailureDecision::DeferToTencent),
            Command::OfficialAccountBeforeSendMsg,
            500,
            None,
            FailureKind::Panic,
            "exploded",
        ),
        (
            "after-event error",
            false,
            Some(FailureDecision::Allow),
            Command::OfficialAccountAfterSendMsg,
            500,
            None,
            FailureKind::Error,
            "archive unreachable",
        ),
    ];
    for (name, panic, decision, command, status, code, kind, message) in cases {
        let reported: Arc<Mutex<Vec<HandlerFailure>>> = Arc::default();
        let sink = reported.clone();
        let mut b = builder().report_failures(move |f| sink.lock().unwrap().push(f.clone()));
        if let Some(d) = decision {
            b = b.failure_decision(d);
        }
        let service = WebhookService::new(b.build().unwrap(), Faulty { panic });
        let (got, reply, res) = send(service.clone(), signed(command).build()).await;
        assert_eq!(got, status, "{name}: {reply}");
        match code {
            Some(code) => assert_eq!(
                reply,
                json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": code}),
                "{name}"
            ),
            None => assert_eq!(
                reply,
                json!({"ActionStatus": "FAIL", "ErrorInfo": "webhook handler failed", "ErrorCode": 500}),
                "{name}"
            ),
        }
        let failure = res
            .extensions()
            .get::<HandlerFailure>()
            .unwrap_or_else(|| panic!("{name}: no HandlerFailure"));
        assert_eq!(failure.kind(), kind, "{name}");
        assert_eq!(failure.command(), command.as_str(), "{name}");
        assert!(failure.message().contains(message), "{name}: {failure}");
        assert_eq!(
            reported.lock().unwrap().as_slice(),
            std::slice::from_ref(failure),
            "{name}"
        );
        // The service keeps serving after the failure.
        let (again, _, _) = send(service, signed(Command::OfficialAccountAfterFull).build()).await;
        assert_eq!(again, 200, "{name}");
    }
}

#[tokio::test]
async fn a_panicking_reporter_does_not_take_the_reply_down() {
    let config = builder()
        .report_failures(|_| panic!("reporter bug"))
        .build()
        .unwrap();
    let service = WebhookService::new(config, Faulty { panic: false });
    let (status, reply, _) = send(
        service,
        signed(Command::OfficialAccountBeforeSendMsg).build(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reply["ErrorCode"], 0);
}

// ---------------------------------------------------------------------------------------------
// Tolerance of what real traffic does.

#[tokio::test]
async fn unknown_commands_reach_on_unknown_with_their_body_and_default_to_ok() {
    let body = r#"{"CallbackCommand":"C2C.CallbackBeforeFutureThing","From_Account":"jared","MsgBody":[]}"#;
    let req = || {
        SignedRequest::new("C2C.CallbackBeforeFutureThing", body)
            .app_id(APP)
            .token(TOKEN)
            .request_time(NOW)
            .build()
    };

    struct Default;
    impl Handler for Default {}
    let service = WebhookService::new(builder().build().unwrap(), Default);
    let (status, reply, _) = send(service, req()).await;
    assert_eq!(
        (status.as_u16(), reply),
        (
            200,
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
        )
    );

    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    send(service, req()).await;
    let seen = recorder.take();
    let Event::Unknown(e) = &seen[0].0 else {
        panic!("{:?}", seen[0].0)
    };
    assert_eq!(e.command, "C2C.CallbackBeforeFutureThing");
    assert_eq!(e.body.to_value()["From_Account"], "jared");
}

#[tokio::test]
async fn real_traffic_quirks_are_tolerated_and_unknown_data_kept() {
    // Numbers as strings, unknown fields, an unknown element type, no ClientIP or OptPlatform,
    // and an unknown OptPlatform.
    let body = json!({
        "CallbackCommand": "OfficialAccount.CallbackBeforeSendMsg",
        "Official_Account": "@TOA#_x",
        "OnlineOnlyFlag": "0",
        "EventTime": "1670574414123",
        "MsgBody": [
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi", "Style": "bold"}},
            {"MsgType": "TIMHologramElem", "MsgContent": {"Frames": [1, 2]}}
        ],
        "FutureField": {"a": 1}
    });
    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    for (ip, platform, want_platform) in [
        (None, None, None),
        (
            Some("::1"),
            Some("Harmony"),
            Some(OptPlatform::Other("Harmony".into())),
        ),
    ] {
        let req = signed(Command::OfficialAccountBeforeSendMsg)
            .body(body.to_string())
            .client_ip(ip)
            .platform(platform)
            .build();
        let (status, reply, _) = send(service.clone(), req).await;
        assert_eq!(status, 200, "{reply}");
        let seen = recorder.take();
        let (Event::OfficialAccountBeforeSendMsg(e), _, got_ip, got_platform, _) = &seen[0] else {
            panic!()
        };
        assert_eq!(got_ip.as_deref(), ip);
        assert_eq!(got_platform, &want_platform);
        assert_eq!(e.online_only_flag, Some(0));
        assert_eq!(e.event_time, Some(1_670_574_414_123));
        assert_eq!(e.extra.value("FutureField"), Some(json!({"a": 1})));
        let MsgContent::Unknown { msg_type, content } = &e.msg_body[1].content else {
            panic!()
        };
        assert_eq!(msg_type, "TIMHologramElem");
        assert_eq!(
            content.as_ref().map(|c| c.get()),
            Some(r#"{"Frames":[1,2]}"#)
        );
        // Echoing the body back as a rewrite keeps what the crate does not know.
        let echoed = serde_json::to_value(&e.msg_body).unwrap();
        assert_eq!(echoed, body["MsgBody"]);
    }
}

#[tokio::test]
async fn the_command_may_come_from_the_body_alone() {
    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    let mut req = signed(Command::OfficialAccountAfterFull).build();
    let uri = req.uri().to_string().replace(
        "&CallbackCommand=OfficialAccount.CallbackAfterOfficialAccountFull",
        "",
    );
    *req.uri_mut() = uri.parse().unwrap();
    let (status, _, _) = send(service.clone(), req).await;
    assert_eq!(status, 200);
    assert!(matches!(
        recorder.take()[0].0,
        Event::OfficialAccountAfterFull(_)
    ));

    // Neither has one: refused.
    let mut req = SignedRequest::new("X", r#"{"Official_Account":"a"}"#)
        .app_id(APP)
        .token(TOKEN)
        .request_time(NOW)
        .build();
    let uri = req.uri().to_string().replace("&CallbackCommand=X", "");
    *req.uri_mut() = uri.parse().unwrap();
    let res = service.oneshot(req).await.unwrap();
    assert_rejected(
        "no command",
        res,
        StatusCode::BAD_REQUEST,
        RejectionKind::CommandMismatch,
        "neither the query nor the body",
        &signature::sign(TOKEN, NOW),
    )
    .await;
}

#[tokio::test]
async fn signature_checks_can_be_turned_off_only_explicitly() {
    let config = WebhookConfig::builder(APP)
        .without_signature_check()
        .build()
        .unwrap();
    let service = WebhookService::new(config, Recorder::default());
    let unsigned = SignedRequest::sample(Command::OfficialAccountAfterFull)
        .app_id(APP)
        .unsigned()
        .build();
    assert_eq!(
        service.clone().oneshot(unsigned).await.unwrap().status(),
        200
    );
    // The app id is still checked.
    let other = SignedRequest::sample(Command::OfficialAccountAfterFull)
        .app_id(1)
        .build();
    assert_eq!(service.oneshot(other).await.unwrap().status(), 403);
}

#[tokio::test]
async fn token_rotation_accepts_old_and_new() {
    let config = builder().token("next-token").build().unwrap();
    let service = WebhookService::new(config, Recorder::default());
    for token in [TOKEN, "next-token"] {
        let req = signed(Command::OfficialAccountAfterFull)
            .token(token)
            .build();
        assert_eq!(
            service.clone().oneshot(req).await.unwrap().status(),
            200,
            "{token}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One handler object, shared by every request.

struct Gate {
    calls: AtomicUsize,
    addresses: Mutex<Vec<usize>>,
    all_in: tokio::sync::Barrier,
}

impl Handler for Gate {
    async fn on_official_account_before_send_msg(
        &self,
        _: &RequestContext,
        _: oa::BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.addresses
            .lock()
            .unwrap()
            .push(self as *const Gate as usize);
        // Every request waits here until all 100 are inside the handler at once.
        self.all_in.wait().await;
        Ok(SendMsgDecision::Drop)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_requests_share_one_handler() {
    const N: usize = 100;
    let gate = Arc::new(Gate {
        calls: AtomicUsize::new(0),
        addresses: Mutex::default(),
        all_in: tokio::sync::Barrier::new(N),
    });
    let service = WebhookService::from_arc(builder().build().unwrap(), gate.clone());
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                send(
                    service,
                    signed(Command::OfficialAccountBeforeSendMsg).build(),
                )
                .await
                .1
            })
        })
        .collect();
    for task in tasks {
        let reply = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("requests did not run concurrently")
            .unwrap();
        assert_eq!(reply["ErrorCode"], 2);
    }
    assert_eq!(gate.calls.load(Ordering::SeqCst), N);
    let addresses = gate.addresses.lock().unwrap();
    assert_eq!(addresses.len(), N);
    assert!(addresses.iter().all(|&a| a == Arc::as_ptr(&gate) as usize));
}

// ---------------------------------------------------------------------------------------------
// The layer routes by path.

#[tokio::test]
async fn the_layer_answers_its_path_and_passes_everything_else_through() {
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let counter = inner_calls.clone();
    let inner = service_fn(move |req: Request<String>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Infallible>(Response::new(format!("inner saw {}", req.uri().path()))) }
    });
    let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
    let app = WebhookLayer::new("/tencent/chat/webhook", service).layer(inner);

    let res = app
        .clone()
        .oneshot(Request::get("/health").body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "inner saw /health"
    );
    // A sibling path is not the webhook either.
    let res = app
        .clone()
        .oneshot(
            Request::post("/tencent/chat/webhook/")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "inner saw /tencent/chat/webhook/"
    );
    assert_eq!(inner_calls.load(Ordering::SeqCst), 2);

    let res = app
        .clone()
        .oneshot(signed(Command::OfficialAccountBeforeSendMsg).build())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
    );
    let res = app
        .oneshot(
            signed(Command::OfficialAccountBeforeSendMsg)
                .token("bad")
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        inner_calls.load(Ordering::SeqCst),
        2,
        "webhook requests must not reach the inner service"
    );
}

// ---------------------------------------------------------------------------------------------
// A known command whose body does not fit: never lost, never silently allowed past a strict app.

/// Answers `on_unparsed` with `answer`, and records what it was given.
struct Unparsed {
    answer: Option<Reply>,
    seen: Mutex<Vec<UnparsedEvent>>,
}

impl Handler for Unparsed {
    async fn on_unparsed(
        &self,
        _ctx: &RequestContext,
        e: UnparsedEvent,
    ) -> HandlerResult<Option<Reply>> {
        self.seen.lock().unwrap().push(e);
        Ok(self.answer.clone())
    }
}

#[tokio::test]
async fn a_body_that_does_not_fit_reaches_on_unparsed_and_fails_as_configured() {
    let before = (
        Command::GroupBeforeSendMsg,
        r#"{"GroupId":"@TGS#1","From_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":["x"]}}]}"#,
        "MsgBody[0].MsgContent.Text",
    );
    let after = (
        Command::C2cAfterSendMsg,
        r#"{"From_Account":"a","To_Account":"b","MsgSeq":"many","MsgBody":[]}"#,
        "MsgSeq",
    );
    let custom = Reply::ok().with_error_code(2);
    // (name, command, body, path, decision, hook's answer, status, ErrorCode)
    let cases = [
        (
            "before, allow",
            before,
            FailureDecision::Allow,
            None,
            200,
            0,
        ),
        ("before, deny", before, FailureDecision::Deny, None, 200, 1),
        (
            "before, defer",
            before,
            FailureDecision::DeferToTencent,
            None,
            500,
            500,
        ),
        (
            "before, hook answers",
            before,
            FailureDecision::Deny,
            Some(custom.clone()),
            200,
            2,
        ),
        ("after", after, FailureDecision::Deny, None, 400, 400),
        (
            "after, hook answers",
            after,
            FailureDecision::Allow,
            Some(custom),
            200,
            2,
        ),
    ];
    for (name, (command, body, path), decision, answer, status, code) in cases {
        let reported = Arc::new(Mutex::new(Vec::<HandlerFailure>::new()));
        let sink = reported.clone();
        let config = builder()
            .failure_decision(decision)
            .report_failures(move |f| sink.lock().unwrap().push(f.clone()))
            .build()
            .unwrap();
        let handler = Arc::new(Unparsed {
            answer,
            seen: Mutex::default(),
        });
        let service = WebhookService::from_arc(config, handler.clone());
        let req = signed(command).body(body).build();
        let (got_status, reply, res) = send(service, req).await;
        assert_eq!(got_status.as_u16(), status, "{name}: {reply}");
        assert_eq!(reply["ErrorCode"], code, "{name}: {reply}");
        if status == 400 {
            assert!(
                reply["ErrorInfo"].as_str().unwrap().contains(path),
                "{name}: {reply}"
            );
        }
        // The hook got the whole body and the path.
        let seen = handler.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{name}");
        assert_eq!(seen[0].command, command, "{name}");
        assert_eq!(seen[0].path, path, "{name}");
        assert_eq!(
            seen[0].body,
            serde_json::from_str::<Value>(body).unwrap(),
            "{name}"
        );
        // And it was reported like a handler failure, in the hook and the extensions.
        let reported = reported.lock().unwrap();
        assert_eq!(reported.len(), 1, "{name}");
        assert_eq!(reported[0].kind(), FailureKind::Unparsed, "{name}");
        assert!(reported[0].message().contains(path), "{name}");
        let failure = res.extensions().get::<HandlerFailure>().unwrap();
        assert_eq!(failure.kind(), FailureKind::Unparsed, "{name}");
    }
}

#[tokio::test]
async fn push_batches_of_one_and_a_hundred_events_are_read_as_the_query_says() {
    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    for command in [Command::PushOffline, Command::PushAllMember] {
        let sample: Value = serde_json::from_str(test_util::sample(command)).unwrap();
        let one = sample["Events"][0].clone();
        for n in [1, 100] {
            let body = json!({ "Events": vec![one.clone(); n] });
            let req = signed(command).body(body.to_string()).build();
            let (status, reply, _) = send(service.clone(), req).await;
            assert_eq!(
                (status.as_u16(), &reply["ErrorCode"]),
                (200, &json!(0)),
                "{command} x{n}"
            );
            let seen = recorder.take();
            let events = match &seen[0].0 {
                Event::PushOffline(p) => p.events.len(),
                Event::PushAllMember(p) => p.events.len(),
                other => panic!("{command} reached {other:?}"),
            };
            assert_eq!(events, n, "{command}");
            // Without the query's command, a body with no top-level command is refused.
            let mut req = signed(command).body(body.to_string()).build();
            let uri = req
                .uri()
                .to_string()
                .replace(&format!("&CallbackCommand={command}"), "");
            *req.uri_mut() = uri.parse().unwrap();
            let (status, _, _) = send(service.clone(), req).await;
            assert_eq!(status, 400, "{command} without a query command");
        }
    }
}

/// A request for `command` whose query is `query` with the signed pair appended.
fn with_query(command: Command, query: &str) -> Request<String> {
    let mut req = signed(command).build();
    let signed_pair = format!("Sign={}&RequestTime={NOW}", signature::sign(TOKEN, NOW));
    *req.uri_mut() = format!("/tencent/chat/webhook?{query}&{signed_pair}")
        .parse()
        .unwrap();
    req
}

#[tokio::test]
async fn bad_input_widened_gets_precise_answers_that_echo_little() {
    let after = Command::GroupAfterFull;
    let cmd = format!("CallbackCommand={after}");
    let app = format!("SdkAppid={APP}&{cmd}");
    let body = |text: String| signed(after).body(text).build();
    let mut long_method = signed(after).build();
    *long_method.method_mut() = http::Method::from_bytes("X".repeat(60_000).as_bytes()).unwrap();
    let deep = format!(
        r#"{{"GroupId":"g","Deep":{}{}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let huge_value = format!(r#"{{"GroupId":"{}"}}"#, "x".repeat(900_000)).replacen(
        r#""GroupId":""#,
        r#""GroupId":5,"Other":""#,
        1,
    );
    let cases: Vec<(&str, Request<String>, StatusCode, RejectionKind, &str)> = vec![
        (
            "an app id given twice, once empty",
            with_query(after, &format!("SdkAppid=&{app}")),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`SdkAppid` is given more than once",
        ),
        (
            "a signature given twice, once empty",
            {
                let mut req = signed(after).build();
                let q = signed(after).query_string().replace("Sign=", "Sign=&Sign=");
                *req.uri_mut() = format!("/tencent/chat/webhook?{q}").parse().unwrap();
                req
            },
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`Sign` is given more than once",
        ),
        (
            "an app id with a sign",
            with_query(after, &format!("SdkAppid=%2B{APP}&{cmd}")),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "not a decimal app id",
        ),
        (
            "an app id with a leading zero",
            with_query(after, &format!("SdkAppid=0{APP}&{cmd}")),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "not a decimal app id",
        ),
        (
            "invalid UTF-8 in a parameter",
            with_query(after, &format!("{app}&ClientIP=%FF%FE")),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`ClientIP` is not UTF-8",
        ),
        (
            "a control character in a parameter",
            with_query(after, &format!("{app}&OptPlatform=iOS%0D%0AX")),
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedQuery,
            "`OptPlatform` holds a control character",
        ),
        (
            "a 60,000-byte method",
            long_method,
            StatusCode::METHOD_NOT_ALLOWED,
            RejectionKind::MethodNotAllowed,
            "is not allowed",
        ),
        (
            "JSON nested 5,000 deep",
            body(deep),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "recursion limit",
        ),
        (
            "a number beyond 64 bits",
            signed(Command::GroupAfterSendMsg)
                .body(r#"{"GroupId":"g","From_Account":"a","MsgSeq":123456789012345678901234567890,"MsgBody":[]}"#)
                .build(),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "`MsgSeq`",
        ),
        (
            "a duplicate key",
            body(r#"{"GroupId":"a","GroupId":"b"}"#.into()),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "duplicate field `GroupId`",
        ),
        (
            "0.9 MB of a wrong value",
            body(huge_value),
            StatusCode::BAD_REQUEST,
            RejectionKind::InvalidBody,
            "`GroupId`",
        ),
    ];
    for (name, req, status, kind, reason) in cases {
        let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
        let res = service.oneshot(req).await.unwrap();
        let len = res.body().as_bytes().len();
        assert!(len < 512, "{name}: a {len}-byte answer");
        assert_rejected(
            name,
            res,
            status,
            kind,
            reason,
            &signature::sign(TOKEN, NOW),
        )
        .await;
    }
}

#[tokio::test]
async fn nul_bytes_are_kept_and_the_window_edges_are_exact() {
    let recorder = Arc::new(Recorder::default());
    let service = WebhookService::from_arc(builder().build().unwrap(), recorder.clone());
    let req = signed(Command::GroupAfterFull)
        .body(r#"{"GroupId":"a\u0000b"}"#)
        .build();
    let (status, _, _) = send(service.clone(), req).await;
    assert_eq!(status, 200);
    let Event::GroupAfterFull(e) = &recorder.take()[0].0 else {
        panic!()
    };
    assert_eq!(e.group_id, "a\0b");
    for (offset, status) in [(-61, 401), (-60, 200), (0, 200), (60, 200), (61, 401)] {
        let time = NOW.checked_add_signed(offset).unwrap();
        let req = signed(Command::GroupAfterFull).request_time(time).build();
        let (got, reply, _) = send(service.clone(), req).await;
        assert_eq!(got.as_u16(), status, "RequestTime now{offset:+}: {reply}");
    }
}

/// The response is built in the request's own header map and extensions, emptied once the
/// handler is done: the handler still sees every request header and extension, and none of
/// them comes back in the response.
#[tokio::test]
async fn request_headers_and_extensions_reach_the_handler_and_never_the_response() {
    #[derive(Clone, Debug, PartialEq)]
    struct Marker(&'static str);

    struct Peek(Arc<Mutex<Vec<String>>>);
    impl Handler for Peek {
        async fn on_official_account_before_send_msg(
            &self,
            ctx: &RequestContext,
            _msg: oa::BeforeSendMsg,
        ) -> HandlerResult<SendMsgDecision> {
            let mut seen = self.0.lock().unwrap();
            for name in ["x-forwarded-for", "authorization"] {
                if let Some(v) = ctx.headers().get(name) {
                    seen.push(format!("{name}={}", v.to_str().unwrap_or("?")));
                }
            }
            if let Some(Marker(m)) = ctx.extensions().get::<Marker>() {
                seen.push(format!("marker={m}"));
            }
            Ok(SendMsgDecision::Allow)
        }
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = WebhookService::new(builder().build().unwrap(), Peek(seen.clone()));
    let mut req = signed(Command::OfficialAccountBeforeSendMsg).build();
    req.headers_mut()
        .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    req.headers_mut()
        .insert("authorization", "Bearer not-for-the-reply".parse().unwrap());
    req.extensions_mut().insert(Marker("from the request"));
    let res = service.oneshot(req).await.unwrap();

    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "x-forwarded-for=203.0.113.7",
            "authorization=Bearer not-for-the-reply",
            "marker=from the request",
        ]
    );
    let names: Vec<&str> = res.headers().keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["content-type"]);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.extensions().get::<Marker>(), None);
    let outcome = res
        .extensions()
        .get::<tencent_chat_webhook::Outcome>()
        .expect("the outcome is in the response's extensions");
    assert_eq!(outcome.app_id(), APP);
}

/// Every handled answer carries its outcome on its body; the extensions carry it too exactly
/// when the request brought some (a server's, a router's), so that a request without any is
/// answered without allocating a map, and middleware outside an axum router, which sees a body
/// of axum's type, still finds it there.
#[tokio::test]
async fn the_outcome_is_on_the_body_and_in_the_extensions_a_request_brought() {
    #[derive(Clone)]
    struct Marker;
    let service = WebhookService::new(builder().build().unwrap(), Recorder::default());
    let command = Command::OfficialAccountBeforeSendMsg;
    let want = |outcome: &tencent_chat_webhook::Outcome| {
        assert_eq!(
            (outcome.app_id(), outcome.command(), outcome.kind()),
            (APP, command.as_str(), command.kind())
        );
    };
    for with_extensions in [false, true] {
        let mut req = signed(command).build();
        if with_extensions {
            req.extensions_mut().insert(Marker);
        }
        let res = service.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let on_body = res.body().outcome().expect("the body's outcome").clone();
        want(&on_body);
        let in_extensions = res.extensions().get::<tencent_chat_webhook::Outcome>();
        assert_eq!(
            in_extensions,
            with_extensions.then_some(&on_body),
            "with extensions: {with_extensions}"
        );
        if !with_extensions {
            assert!(res.extensions().is_empty(), "no map is made");
        }
    }
    // Behind the crate's layer, on its body; the inner service's answers carry none.
    let inner = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::from("inner")))
    });
    let layered = WebhookLayer::new("/im", service.clone()).layer(inner);
    // The signed sample, at `/im`.
    let at_im = || {
        let req = signed(command).build();
        let uri = format!("/im?{}", req.uri().query().unwrap());
        let (mut parts, body) = req.into_parts();
        parts.uri = uri.parse().unwrap();
        Request::from_parts(parts, body)
    };
    let res = layered.clone().oneshot(at_im()).await.unwrap();
    want(res.body().outcome().expect("the layer's body's outcome"));
    let res = layered
        .oneshot(Request::get("/health").body(String::new()).unwrap())
        .await
        .unwrap();
    assert!(res.body().outcome().is_none(), "the inner service's answer");
    // Behind an axum router, whose response body is axum's own.
    let app = axum::Router::new().route_service("/im", service);
    let req = at_im().map(axum::body::Body::from);
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    want(
        res.extensions()
            .get::<tencent_chat_webhook::Outcome>()
            .expect("in the extensions behind a router"),
    );
}
