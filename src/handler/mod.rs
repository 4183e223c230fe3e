//! The user's side: the [`Handler`] trait, generated from the command table, the request
//! context, handler errors, idempotency keys and the queue adapter.
//!
//! The command table (`protocol/commands.rs`) lists every command with its wire name, kind,
//! event type, handler method and answer type. It generates the [`Command`] and [`Event`] enums
//! (in `protocol`), and here the [`Handler`] methods with their defaults and the dispatch
//! `match`, so they cannot drift apart.
//!
//! # The naming rule
//!
//! From a wire name `Family.Name`: drop a leading `Callback` from `Name`, then a leading `On`,
//! then every occurrence of the family's own name; what remains is `Rest`. The family's module
//! is the family in snake case (`C2C` is `c2c`; `ContentCallback` is
//! [`moderation`](crate::moderation)), and the names are built from the module: the command
//! variant is `ModuleRest`, the event type `module::Rest` and the handler method
//! `on_module_rest`. `Group.CallbackBeforeCreateGroup` gives `GroupBeforeCreate`,
//! `group::BeforeCreate` and `on_group_before_create`; `Bot.OnC2CMessage` gives `BotC2cMessage`,
//! `bot::C2cMessage` and `on_bot_c2c_message`; `ContentCallback.ResultNotify` gives
//! `ModerationResultNotify`, `moderation::ResultNotify` and `on_moderation_result_notify`. Every
//! variant, method and event type documents its exact `CallbackCommand`, so searching the docs
//! for Tencent's name finds it. A unit test checks every row against the rule.

pub(crate) mod context;
mod error;
mod key;
mod queue;
mod respond;
mod targets;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use context::{RequestContext, RequestContextBuilder};
pub use error::{FailureKind, HandlerError, HandlerFailure};
pub use queue::{EventSink, Queued};

use crate::protocol::command::Command;
use crate::protocol::commands::for_each_command;
use crate::protocol::event::Event;
use crate::protocol::parse::parse_checked;
use crate::protocol::reply::Reply;
use crate::protocol::unparsed::{ParseError, UnknownEvent, UnparsedEvent};
#[allow(unused_imports)] // the table names its types through these paths
use crate::protocol::{
    alert, bot, c2c, call, chatbot, follow, group, mic, moderation, official_account, profile,
    push, room, sns, state,
};
use respond::start;

/// A boxed, sendable future, as the type-erased handler returns.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a handler method returns.
pub type HandlerResult<T> = Result<T, HandlerError>;

/// The default of a table method: a before-event's answer type's default (allow); an after-event
/// goes on to [`Handler::on_after_event`].
macro_rules! default_hook {
    (Before, $self:ident, $ctx:ident, $event:ident, $variant:ident, $ret:ty) => {{
        let _ = ($self, $ctx, $event);
        async { Ok(<$ret>::default()) }
    }};
    (After, $self:ident, $ctx:ident, $event:ident, $variant:ident, $ret:ty) => {
        $self.on_after_event($ctx, Event::$variant($event))
    };
}

/// The end of a table method's generated docs: an after-event's default.
macro_rules! after_default {
    (Before) => {
        "."
    };
    (After) => {
        "; by default, it goes to [`on_after_event`](Handler::on_after_event), which \
         acknowledges it."
    };
}
/// The [`Handler`] trait, its type-erased twin's implementation, and the queue adapter, from the
/// command table.
macro_rules! define_handler {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $kind:ident, time $time:ident, key $key:ident,
        fn $method:ident($event:ty) -> $ret:ty;
    )*) => {
        /// Your webhook logic: one method per command, each with a default.
        ///
        /// Which method each command calls, with its event and answer types, is in
        /// [the command table](Command#the-command-table).
        ///
        /// Write the methods you need as plain `async fn`s. The defaults:
        /// - a before-event allows (its answer type's `Default`);
        /// - an after-event goes to [`on_after_event`](Handler::on_after_event) as an [`Event`],
        ///   which acknowledges it: override that one method to see every notification in one
        ///   place (to log or queue them), and the typed method of the ones you treat apart;
        /// - a command this crate does not know goes to [`on_unknown`](Handler::on_unknown), which
        ///   answers OK, so a new Tencent command never breaks an app;
        /// - a known command whose body does not fit its type goes to
        ///   [`on_unparsed`](Handler::on_unparsed), with its JSON and the path that did not fit.
        ///
        /// The service holds one handler behind an `Arc<dyn ...>` shared by every connection, so
        /// methods take `&self`; keep shared state in fields (atomics, locks, pools). To keep a handle
        /// on the handler (a test reading what it recorded), give the service an `Arc` of it with
        /// [`WebhookService::from_arc`](crate::WebhookService::from_arc).
        ///
        /// A method that returns an error or panics does not block the user's action by
        /// accident: see [`FailureDecision`](crate::FailureDecision).
        ///
        /// # Sending messages from a method
        ///
        /// A method that sends a message through Tencent's REST API (a bot's reply, a notice)
        /// makes Tencent call the send webhooks again for that message: a bot answering every
        /// after-send event answers its own answers. Send such messages with
        /// `ForbidCallbackControl` (`ForbidBeforeSendMsgCallback`, `ForbidAfterSendMsgCallback`;
        /// pages [269/2282](https://cloud.tencent.com/document/product/269/2282) and
        /// [269/1629](https://cloud.tencent.com/document/product/269/1629)), or from a dedicated
        /// account whose events the method returns early for.
        ///
        /// # Blocking work
        ///
        /// A method runs on the async runtime, which can only take the thread back when the method
        /// awaits. Work that holds the thread (synchronous I/O, `std::thread::sleep`, a lock held
        /// for long, heavy CPU work) belongs in
        /// [`tokio::task::spawn_blocking`](https://docs.rs/tokio/1/tokio/task/fn.spawn_blocking.html)
        /// (awaited: the method yields meanwhile), or, on a multi-thread runtime,
        /// [`tokio::task::block_in_place`](https://docs.rs/tokio/1/tokio/task/fn.block_in_place.html).
        /// A poll that holds its thread longer than
        /// [`WebhookConfig::SLOW_POLL_WARNING`](crate::WebhookConfig::SLOW_POLL_WARNING) is logged
        /// at warn, naming the command.
        ///
        /// The [deadline](crate::WebhookConfigBuilder::deadline) holds even for a method that
        /// blocks, on a multi-thread runtime: there the method runs on a task of its own, and
        /// the request is answered at the deadline by another worker thread, while the method's
        /// thread is still blocked. Each blocked method holds a worker thread until it returns,
        /// so with every worker blocked nothing can answer. On a current-thread runtime (and
        /// without a deadline) the method runs on the request's own task: one that blocks
        /// delays the answer, and everything else on that thread, until it returns.
        ///
        /// ```
        /// use tencent_chat_webhook::group::{BeforeSendMsg, SendMsgDecision};
        /// use tencent_chat_webhook::{Handler, HandlerResult, RequestContext};
        ///
        /// /// Looks words up in a blocking store.
        /// struct Blocklist;
        ///
        /// fn blocked(text: &str) -> bool {
        ///     // Synchronous I/O, say.
        ///     text.contains("spam")
        /// }
        ///
        /// impl Handler for Blocklist {
        ///     async fn on_group_before_send_msg(
        ///         &self,
        ///         _ctx: &RequestContext,
        ///         msg: BeforeSendMsg,
        ///     ) -> HandlerResult<SendMsgDecision> {
        ///         let texts: Vec<String> = msg.texts().map(str::to_owned).collect();
        ///         let blocked =
        ///             tokio::task::spawn_blocking(move || texts.iter().any(|t| blocked(t))).await?;
        ///         Ok(if blocked { SendMsgDecision::Drop } else { SendMsgDecision::Allow })
        ///     }
        /// }
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() {
        /// #     use tencent_chat_webhook::{test_util, Command};
        /// #     let event: BeforeSendMsg =
        /// #         serde_json::from_str(test_util::sample(Command::GroupBeforeSendMsg)).unwrap();
        /// #     let ctx = RequestContext::builder(1, "Group.CallbackBeforeSendMsg").build();
        /// #     let decision = Blocklist.on_group_before_send_msg(&ctx, event).await.unwrap();
        /// #     assert_eq!(decision, SendMsgDecision::Allow);
        /// # }
        /// ```
        ///
        /// ```
        /// use tencent_chat_webhook::c2c::{BeforeSendMsg, SendMsgDecision};
        /// use tencent_chat_webhook::{Handler, HandlerResult, RequestContext};
        ///
        /// struct NoSpam;
        ///
        /// impl Handler for NoSpam {
        ///     async fn on_c2c_before_send_msg(
        ///         &self,
        ///         _ctx: &RequestContext,
        ///         event: BeforeSendMsg,
        ///     ) -> HandlerResult<SendMsgDecision> {
        ///         if event.texts().any(|t| t.contains("spam")) {
        ///             return Ok(SendMsgDecision::Drop);
        ///         }
        ///         Ok(SendMsgDecision::Allow)
        ///     }
        /// }
        /// # let _ = tencent_chat_webhook::WebhookService::new(
        /// #     tencent_chat_webhook::WebhookConfig::builder(1).token("t").build().unwrap(), NoSpam);
        /// ```
        pub trait Handler: Send + Sync + 'static {
            $(
                $(#[doc = $doc])*
                #[doc = ""]
                #[doc = concat!(
                    "The event: [`", stringify!($event), "`](crate::", stringify!($event), ")",
                    after_default!($kind),
                )]
                fn $method(
                    &self,
                    ctx: &RequestContext,
                    event: $event,
                ) -> impl Future<Output = HandlerResult<$ret>> + Send {
                    default_hook!($kind, self, ctx, event, $variant, $ret)
                }
            )*

            /// Every after-event whose typed method is not overridden, as an [`Event`]. Default:
            /// acknowledge (OK).
            fn on_after_event(
                &self,
                ctx: &RequestContext,
                event: Event,
            ) -> impl Future<Output = HandlerResult<()>> + Send {
                let _ = (ctx, event);
                async { Ok(()) }
            }

            /// Any command this crate does not know, with its body as JSON. Default: OK, which
            /// for a before-event allows the action.
            fn on_unknown(
                &self,
                ctx: &RequestContext,
                event: UnknownEvent,
            ) -> impl Future<Output = HandlerResult<Reply>> + Send {
                let _ = (ctx, event);
                async { Ok(Reply::ok()) }
            }

            /// A known command whose body is JSON but does not fit its typed event (a field of an
            /// unexpected type, a required field missing), with its JSON and where it failed. No
            /// event is lost to a shape surprise: whatever this returns, the failure is also
            /// reported like a handler failure ([`FailureKind::Unparsed`]).
            ///
            /// Return `Some(reply)` to answer it yourself (HTTP 200). The default, `None`,
            /// answers a before-event with the configured
            /// [`FailureDecision`](crate::FailureDecision), so a strict app that configured
            /// `Deny` is not bypassed by a malformed body, and an after-event with HTTP 400
            /// naming the path, so it shows in Tencent's callback statistics.
            fn on_unparsed(
                &self,
                ctx: &RequestContext,
                event: UnparsedEvent,
            ) -> impl Future<Output = HandlerResult<Option<Reply>>> + Send {
                let _ = (ctx, event);
                async { Ok(None) }
            }
        }

        impl<H: Handler> ErasedHandler for H {
            fn dispatch<'a>(
                &'a self,
                ctx: &'a RequestContext,
                event: Event,
            ) -> BoxFuture<'a, HandlerResult<Reply>> {
                // Matched outside the future, so that each command boxes a future of its own
                // size: one `async` block around the whole match would hold the largest event
                // and the largest handler future of all the commands, and be allocated at that
                // size (past the allocator's per-thread cache) for every request.
                match event {
                    $(Event::$variant(e) => start(self, ctx, e, H::$method),)*
                    // Called inside the future, as `start` calls the typed methods: see there.
                    Event::Unknown(e) => Box::pin(async move { self.on_unknown(ctx, e).await }),
                }
            }

            fn parse_dispatch<'a>(
                &'a self,
                command: Command,
                ctx: &'a RequestContext,
                body: &Bytes,
            ) -> Result<BoxFuture<'a, HandlerResult<Reply>>, ParseError> {
                match command {
                    $(Command::$variant => parse_checked(
                        Command::$variant,
                        &ctx.command,
                        body.into(),
                        |e: &$event| e.callback_command.as_deref(),
                    )
                    .map(|e| start(self, ctx, e, H::$method)),)*
                }
            }

            fn unparsed<'a>(
                &'a self,
                ctx: &'a RequestContext,
                event: UnparsedEvent,
            ) -> BoxFuture<'a, HandlerResult<Option<Reply>>> {
                // Called inside the future, so that a method that panics before returning its
                // future is caught like one that panics while running.
                Box::pin(async move { self.on_unparsed(ctx, event).await })
            }
        }

        queue::queued_handler! { $($variant, $kind, fn $method($event) -> $ret;)* }

        /// A handler that records every typed event it gets and answers with the defaults.
        #[cfg(test)]
        #[derive(Default)]
        pub(crate) struct Recorder(pub(crate) std::sync::Mutex<Vec<Event>>);

        #[cfg(test)]
        impl Handler for Recorder {
            $(
                async fn $method(&self, _ctx: &RequestContext, e: $event) -> HandlerResult<$ret> {
                    self.0.lock().unwrap().push(Event::$variant(e));
                    Ok(<$ret>::default())
                }
            )*
        }
    };
}
for_each_command!(define_handler);

/// The object-safe twin of [`Handler`], which the service stores as `Arc<dyn ErasedHandler>`.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn dispatch<'a>(
        &'a self,
        ctx: &'a RequestContext,
        event: Event,
    ) -> BoxFuture<'a, HandlerResult<Reply>>;

    /// [`Event::parse_as`] then [`dispatch`](Self::dispatch) for `command` (the known command
    /// of `ctx`), without an [`Event`] in between: the body is parsed into the command's type
    /// and moved once, into the handler's future (built, not polled).
    fn parse_dispatch<'a>(
        &'a self,
        command: Command,
        ctx: &'a RequestContext,
        body: &Bytes,
    ) -> Result<BoxFuture<'a, HandlerResult<Reply>>, ParseError>;

    fn unparsed<'a>(
        &'a self,
        ctx: &'a RequestContext,
        event: UnparsedEvent,
    ) -> BoxFuture<'a, HandlerResult<Option<Reply>>>;
}

#[cfg(test)]
mod tests;
