//! Receive [Tencent Cloud Chat](https://www.tencentcloud.com/products/im) (即时通信 IM) webhooks
//! safely, with typed events and typed replies, from any tower-based Rust web stack.
//!
//! Tencent POSTs a JSON event to your URL with `SdkAppid`, `CallbackCommand`, `Sign` and
//! `RequestTime` (and a few more) in the query string, and waits at most 2 seconds. For
//! *before* events your reply decides what happens: allow, deny, deny with your own code, drop
//! silently, refuse some users, or rewrite the message. *After* events are notifications.
//!
//! [`WebhookService`] does the whole exchange:
//!
//! 1. authenticates from the URL alone, before reading the body: the app id, then
//!    `Sign = hex(sha256(token + RequestTime))` compared in constant time against one or more
//!    tokens, with `RequestTime` within a window of now (60 s by default);
//! 2. reads the body up to a limit (1 MiB by default) and parses it into the typed event of its
//!    command, tolerating unknown fields (kept in `extra`), numbers sent as strings, and unknown
//!    message element types (kept whole);
//! 3. calls your [`Handler`], one `async fn` per command, each with a sensible default;
//! 4. serialises the typed decision into exactly the JSON Tencent expects.
//!
//! Bad requests get a precise status (400, 401, 403, 405, 408, 413) and a JSON body saying what is
//! wrong; a handler error or panic never blocks a user's action by accident ([`FailureDecision`]).
//!
//! ```
//! use tencent_chat_webhook::official_account::{BeforeSendMsg, SendMsgDecision};
//! use tencent_chat_webhook::{Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService};
//!
//! struct Moderation;
//!
//! impl Handler for Moderation {
//!     async fn on_official_account_before_send_msg(
//!         &self,
//!         _ctx: &RequestContext,
//!         msg: BeforeSendMsg,
//!     ) -> HandlerResult<SendMsgDecision> {
//!         Ok(if msg.texts().any(|t| t.contains("spam")) {
//!             SendMsgDecision::Drop
//!         } else {
//!             SendMsgDecision::Allow
//!         })
//!     }
//! }
//!
//! let config = WebhookConfig::builder(1400000000)
//!     .token("the token from Tencent's console")
//!     .build()
//!     .unwrap();
//! let service = WebhookService::new(config, Moderation);
//! // axum: Router::new().route_service("/tencent/chat/webhook", service)
//! # let _ = service;
//! ```
//!
//! # What is covered
//!
//! Every Tencent Chat webhook is typed, and so are those of TUICallKit ([`call`]) and TUIRoomKit
//! ([`room`], [`mic`]), which use Chat's envelope and often reach the same URL: every command
//! is in [`Command::ALL`]. [The command table](Command#the-command-table) gives each one's kind,
//! handler method, event type and answer type. Every event is also a value, [`Event`], that
//! serialises back to Tencent's JSON; [`construct_event`] authenticates and parses without the
//! service.
//!
//! # Feature flags
//!
//! - `tracing` (default): one span per request; rejections and failures logged at warn,
//!   bounded; [`http_span`] for request logs without `Sign`.
//! - `tokio` (default): the request deadline ([`WebhookConfig::DEFAULT_DEADLINE`]) and
//!   finishing timed-out after-events in the background.
//! - `metrics`: counters and a latency histogram through the `metrics` facade.
//! - `test-util`: [`test_util`]: requests signed as Tencent signs them, built from Tencent's
//!   documented samples or from typed events, and replies read back typed.
//! - `server`: [`server::serve`], a hardened HTTP/1.1 and HTTP/2 server (hyper on tokio) for the
//!   webhook or any tower service, whose limits keep cheap clients from starving it.
//! - `redis`: the `redis` module, which queues after-events on a Redis stream ([`Queued`] with
//!   a `RedisSink`) and processes them with a pool of workers.
//! - `tls`: [`server::serve_tls`], the same server over HTTPS (rustls) that requires a client
//!   certificate from a CA file: Tencent's mutual authentication of callbacks
//!   ([`server::TlsConfig`]).
//! - `cli`: the `tencent-chat-webhook` command-line tool: send signed webhooks, load-test,
//!   sign.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod clock;
mod config;
#[cfg(feature = "server")]
mod connection;
mod dedup;
mod handler;
#[cfg(feature = "tracing")]
mod http_span;
mod protocol;
// The middleware's file sits with the service's; its public path is `crate::layer`, as
// tower-http scopes a middleware's types.
pub mod layer;
#[cfg(feature = "redis")]
pub mod redis;
mod rejection;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
pub mod service;
// The file keeps its name until the files are rearranged; the module is the signature's.
pub mod signature;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use clock::{Clock, SystemClock};
pub use config::{
    AfterDeadline, ConfigError, FailureDecision, WebhookConfig, WebhookConfigBuilder,
};
pub use dedup::{Dedup, MemoryDedup, Seen};
pub use handler::{
    EventSink, FailureKind, Handler, HandlerError, HandlerFailure, HandlerResult, Queued,
    RequestContext, RequestContextBuilder,
};
#[cfg(feature = "tracing")]
pub use http_span::http_span;
pub use layer::WebhookLayer;
pub use protocol::command::{Command, CommandKind, UnknownCommand};
pub use protocol::common::{GroupType, Platform};
pub use protocol::decision::{
    CodeOutOfRange, CustomCode, CustomErrorCode, FriendErrorCode, GateDecision, GroupErrorCode,
    SendDecision,
};
pub use protocol::event::{Event, TypedEvent};
pub use protocol::imstr::ImStr;
pub use protocol::query::OptPlatform;
pub use protocol::raw::{Extra, RawJson};
pub use protocol::reply::{ActionStatus, Reply};
pub use protocol::unparsed::{ParseError, ParseErrorKind, UnknownEvent, UnparsedEvent};
// The families' modules, public with their own docs: what Tencent's pages leave ambiguous and
// how this crate resolves it.
pub use auth::construct_event;
pub use protocol::{
    alert, bot, c2c, call, chatbot, follow, group, message, mic, moderation, official_account,
    profile, push, room, sns, state,
};
pub use rejection::{Rejection, RejectionKind};
pub use service::WebhookService;
pub use service::observe::{Answered, Outcome};

// The README's Rust code, compiled (and, where it is not `no_run`, run) as doctests. Its Redis
// example needs the `redis` feature, so the whole README is checked with it
// (`cargo test --all-features`).
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Shapes several families share: member lists, custom key/values, message extensions, and ids
/// sent as strings or numbers.
pub mod common {
    pub use crate::protocol::common::{ExtensionItem, ExtensionOperation, Id, KeyValue, Member};
}
