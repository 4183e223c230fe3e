//! Test kit (feature `test-util`): webhook requests signed as Tencent signs them, built from
//! Tencent's documented samples or from typed events, and responses read back as typed
//! [`Reply`](crate::Reply) values, so a handler can be tested without a network, through
//! [`WebhookService`](crate::WebhookService) or through any router that mounts it.
//!
//! - [`SignedRequest`] builds the request. Its constructors: [`sample`](SignedRequest::sample)
//!   (Tencent's sample of a command), [`of`](SignedRequest::of) (a typed event, for the command
//!   its type names), [`event`](SignedRequest::event) (an [`Event`](crate::Event), known or
//!   not) and [`new`](SignedRequest::new) (any command name and body text). Every one takes the
//!   same options: token, app id, request time, unsigned, extra query parameters.
//! - [`typed_sample`], [`sample_event`] and [`sample`] give Tencent's samples as a typed event
//!   to change in Rust, as an `Event`, and as text.
//! - [`reply_of`] reads the reply of the crate's own service at once (its body is one buffer);
//!   [`read_reply`] reads the reply of any response body (axum's, hyper's, a layer's), bounded.
//!
//! Requests are signed with [`DEMO_TOKEN`] for [`DEMO_APP_ID`] unless told otherwise.
//!
//! # A changed sample, through the service
//!
//! Take a sample as its typed event, change what the test is about in Rust, and sign it:
//!
//! ```
//! use tencent_chat_webhook::message::MsgElement;
//! use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
//! use tencent_chat_webhook::{Command, Handler, HandlerResult, RequestContext, group};
//! use tencent_chat_webhook::{WebhookConfig, WebhookService};
//! use tower::ServiceExt;
//!
//! struct NoSpam;
//!
//! impl Handler for NoSpam {
//!     async fn on_group_before_send_msg(
//!         &self,
//!         _ctx: &RequestContext,
//!         event: group::BeforeSendMsg,
//!     ) -> HandlerResult<group::SendMsgDecision> {
//!         if event.texts().any(|t| t.contains("spam")) {
//!             return Ok(group::SendMsgDecision::Drop);
//!         }
//!         Ok(group::SendMsgDecision::Allow)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = WebhookConfig::builder(DEMO_APP_ID).token(DEMO_TOKEN).build().unwrap();
//! let service = WebhookService::new(config, NoSpam);
//!
//! // Tencent's sample as published ("red packet"): allowed.
//! let request = SignedRequest::sample(Command::GroupBeforeSendMsg).build();
//! let response = service.clone().oneshot(request).await.unwrap();
//! let (status, reply) = test_util::reply_of(&response);
//! assert_eq!((status.as_u16(), reply.error_code()), (200, 0));
//!
//! // The same message with its text changed: dropped (`ErrorCode` 2).
//! let mut event: group::BeforeSendMsg = test_util::typed_sample();
//! event.msg_body = vec![MsgElement::text("cheap spam")];
//! let response = service.oneshot(SignedRequest::of(&event).build()).await.unwrap();
//! let (status, reply) = test_util::reply_of(&response);
//! assert_eq!((status.as_u16(), reply.error_code()), (200, 2));
//! # }
//! ```
//!
//! # Through an axum router
//!
//! Mounted with `route_service`, the webhook answers with the router's body type;
//! [`read_reply`] reads any body:
//!
//! ```
//! use axum::Router;
//! use tencent_chat_webhook::common::Member;
//! use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
//! use tencent_chat_webhook::{Handler, HandlerResult, RequestContext, group};
//! use tencent_chat_webhook::{WebhookConfig, WebhookService};
//! use tower::ServiceExt;
//!
//! struct InviteGate;
//!
//! impl Handler for InviteGate {
//!     async fn on_group_before_invite_join(
//!         &self,
//!         _ctx: &RequestContext,
//!         event: group::BeforeInviteJoin,
//!     ) -> HandlerResult<group::InviteDecision> {
//!         let banned = event.destination_members.iter().map(|m| &m.member_account);
//!         let banned = banned.filter(|a| a.starts_with("banned_")).cloned().collect();
//!         Ok(group::InviteDecision::Refuse(banned))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = WebhookConfig::builder(DEMO_APP_ID).token(DEMO_TOKEN).build().unwrap();
//! let app = Router::new().route_service("/im", WebhookService::new(config, InviteGate));
//!
//! let mut invite: group::BeforeInviteJoin = test_util::typed_sample();
//! invite.destination_members = vec![Member::new("jared"), Member::new("banned_eve")];
//! let request = SignedRequest::of(&invite).path("/im").build();
//!
//! let response = app.oneshot(request).await.unwrap();
//! let (status, reply) = test_util::read_reply(response).await;
//! assert_eq!(status, 200);
//! assert_eq!(reply.refused_members(), Some(&["banned_eve".into()][..]));
//! # }
//! ```
//!
//! # One method alone
//!
//! A handler's method is an `async fn`: call it with a context built by hand.
//!
//! ```
//! use tencent_chat_webhook::test_util;
//! use tencent_chat_webhook::{Handler, HandlerResult, RequestContext, TypedEvent, group};
//!
//! struct Quiet;
//! impl Handler for Quiet {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let event: group::BeforeSendMsg = test_util::typed_sample();
//! let ctx = RequestContext::builder(1400000000, group::BeforeSendMsg::COMMAND.as_str()).build();
//! let decision = Quiet.on_group_before_send_msg(&ctx, event).await.unwrap();
//! assert_eq!(decision, group::SendMsgDecision::Allow);
//! # }
//! ```

mod reply;
mod request;
mod sample;

pub use reply::{read_reply, reply_of};
pub use request::SignedRequest;
pub use sample::{PUBLISHED_INFO_CHANGED_SAMPLE, sample, sample_event, typed_sample};

/// The app id [`SignedRequest`] uses unless told otherwise (the examples' default too).
pub const DEMO_APP_ID: u64 = 1_400_000_000;

/// The token [`SignedRequest`] signs with unless told otherwise (the examples' default too). It is
/// public: use it in tests, never in production.
pub const DEMO_TOKEN: &str = "demo-token-change-me";
