//! The test kit as an app's tests use it: typed events changed in Rust and signed, answered
//! through `WebhookService`, through an axum `Router` that mounts it with `route_service`, and
//! through that router served on a loopback socket to a real HTTP client; replies read back as
//! typed values from each of their body types (`service::ResponseBody`, `axum::body::Body`,
//! `hyper::body::Incoming`) without `http-body-util`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use http::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tencent_chat_webhook::common::Member;
use tencent_chat_webhook::message::MsgElement;
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{
    Event, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService, group, state,
};
use tokio::net::TcpListener;
use tower::ServiceExt;

const APP: u64 = 1_400_000_123;
const TOKEN: &str = "kit-token-3e9a";
const PATH: &str = "/im/webhook";

/// What the handler saw: the event and the query of its request.
type Seen = (Event, Option<String>);

/// A moderation and invite-gate handler that records every event it is given: messages with
/// "spam" are dropped, invited `banned_*` users refused, notifications acknowledged.
#[derive(Default)]
struct Moderator {
    seen: Mutex<Vec<Seen>>,
}

impl Moderator {
    fn record(&self, ctx: &RequestContext, event: impl Into<Event>) {
        let query = ctx.uri().query().map(str::to_owned);
        self.seen.lock().unwrap().push((event.into(), query));
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut self.seen.lock().unwrap())
    }

    fn take_events(&self) -> Vec<Event> {
        self.take().into_iter().map(|(event, _)| event).collect()
    }
}

impl Handler for Moderator {
    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        event: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        let spam = event.texts().any(|t| t.contains("spam"));
        self.record(ctx, event);
        Ok(if spam {
            group::SendMsgDecision::Drop
        } else {
            group::SendMsgDecision::Allow
        })
    }

    async fn on_group_before_invite_join(
        &self,
        ctx: &RequestContext,
        event: group::BeforeInviteJoin,
    ) -> HandlerResult<group::InviteDecision> {
        let banned = event.destination_members.iter().map(|m| &m.member_account);
        let banned = banned
            .filter(|a| a.starts_with("banned_"))
            .cloned()
            .collect();
        self.record(ctx, event);
        Ok(group::InviteDecision::Refuse(banned))
    }

    async fn on_after_event(&self, ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        self.record(ctx, event);
        Ok(())
    }
}

fn webhook(handler: &Arc<Moderator>) -> WebhookService {
    let config = WebhookConfig::builder(APP).token(TOKEN).build().unwrap();
    WebhookService::from_arc(config, handler.clone())
}

/// `event` signed for this app with its token, on the webhook's path.
fn signed<E: tencent_chat_webhook::TypedEvent>(event: &E) -> SignedRequest {
    SignedRequest::of(event).app_id(APP).token(TOKEN).path(PATH)
}

/// Tencent's group message sample with its text changed in Rust, and its topic removed.
fn spam_message() -> group::BeforeSendMsg {
    let mut message: group::BeforeSendMsg = test_util::typed_sample();
    assert_eq!(message.texts().collect::<Vec<_>>(), ["red packet"]);
    message.msg_body = vec![MsgElement::text("cheap spam"), MsgElement::text("here")];
    message.topic_id = None;
    message
}

/// The app: its own routes, and the webhook mounted as a service.
fn app(handler: &Arc<Moderator>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service(PATH, webhook(handler))
}

#[tokio::test]
async fn a_sample_changed_in_rust_reaches_the_handler_through_the_service() {
    let handler = Arc::new(Moderator::default());
    let service = webhook(&handler);

    // The sample as published: allowed, and seen with its own text.
    let sample: group::BeforeSendMsg = test_util::typed_sample();
    let res = service
        .clone()
        .oneshot(signed(&sample).build())
        .await
        .unwrap();
    assert_eq!(test_util::reply_of(&res).1.error_code(), 0);
    assert_eq!(handler.take_events(), [Event::from(sample.clone())]);

    // Changed: dropped (ErrorCode 2), and seen exactly as changed.
    let spam = spam_message();
    let res = service.oneshot(signed(&spam).build()).await.unwrap();
    let (status, reply) = test_util::reply_of(&res);
    assert_eq!((status, reply.error_code()), (StatusCode::OK, 2));
    let seen = handler.take_events();
    assert_eq!(seen, [Event::from(spam.clone())]);
    let Event::GroupBeforeSendMsg(seen) = &seen[0] else {
        unreachable!()
    };
    assert_eq!(seen.texts().collect::<Vec<_>>(), ["cheap spam", "here"]);
    assert_eq!(
        (seen.topic_id.as_deref(), &seen.group_id),
        (None, &sample.group_id)
    );
}

#[tokio::test]
async fn the_webhook_in_an_axum_router_answers_typed_replies() {
    let handler = Arc::new(Moderator::default());
    let app = app(&handler);

    // An invite gate: the typed sample with its members replaced.
    let mut invite: group::BeforeInviteJoin = test_util::typed_sample();
    invite.destination_members = ["jared", "banned_eve", "leckie"].map(Member::new).into();
    let res = app.clone().oneshot(signed(&invite).build()).await.unwrap();
    let (status, reply) = test_util::read_reply(res).await;
    assert_eq!((status, reply.error_code()), (StatusCode::OK, 0));
    assert_eq!(reply.refused_members(), Some(&["banned_eve".into()][..]));
    assert_eq!(handler.take_events(), [Event::from(invite)]);

    // Presence, as an `Event`, with a parameter of the app's own URL that the handler reads.
    let mut change: state::Change = test_util::typed_sample();
    change.info.to_account = "presence-user-7".into();
    let event = Event::from(change);
    let req = SignedRequest::event(&event)
        .app_id(APP)
        .token(TOKEN)
        .path(PATH)
        .query_param("tenant", "blue");
    let res = app.clone().oneshot(req.build()).await.unwrap();
    let (status, reply) = test_util::read_reply(res).await;
    assert_eq!((status, reply.error_code()), (StatusCode::OK, 0));
    let seen = handler.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, event);
    let query = seen[0].1.as_deref().unwrap();
    assert!(query.contains("&tenant=blue&Sign="), "{query}");

    // Signed with another token: refused before the handler, with a JSON reason.
    let forged = signed(&spam_message()).token("not-the-token").build();
    let res = app.clone().oneshot(forged).await.unwrap();
    let (status, reply) = test_util::read_reply(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.error_info().contains("signature"),
        "{}",
        reply.error_info()
    );
    assert!(!reply.error_info().contains(TOKEN));
    assert!(handler.take().is_empty());

    // The router's own answers are no webhook replies, and `read_reply` says so.
    let res = app.oneshot(get_request("/nowhere")).await.unwrap();
    let panic = tokio::spawn(test_util::read_reply(res)).await.unwrap_err();
    let message = panic.into_panic().downcast::<String>().unwrap();
    assert!(
        message.contains("404 Not Found response's body is not a webhook reply"),
        "{message}"
    );
}

#[tokio::test]
async fn over_a_socket_a_typed_event_is_sent_and_its_reply_read_from_hyper() {
    let handler = Arc::new(Moderator::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(&handler))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    // `String` is an HTTP body: no body crate is needed to send what `build` returns.
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();

    let spam = spam_message();
    let res = client
        .request(to(addr, signed(&spam).build()))
        .await
        .unwrap();
    let (status, reply) = test_util::read_reply(res).await;
    assert_eq!((status, reply.error_code()), (StatusCode::OK, 2));
    assert_eq!(handler.take_events(), [Event::from(spam)]);

    let health = client
        .request(to(addr, get_request("/health")))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    drop(client);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

fn get_request(path: &str) -> Request<String> {
    Request::get(path).body(String::new()).unwrap()
}

/// `req` addressed to the server at `addr`, as a client needs it.
fn to(addr: SocketAddr, mut req: Request<String>) -> Request<String> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    *req.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    req
}
