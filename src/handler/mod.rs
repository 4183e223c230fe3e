//! The user's side: the [`Handler`] trait, the [`Command`] table it is generated from, the
//! [`Event`] values, the request context, and handler errors.
//!
//! One table, [`commands!`], lists every command with its wire name, kind, event type, handler
//! method and answer type. It generates the [`Command`] enum, the [`Event`] enum, the
//! [`Handler`] methods with their defaults, the body parser and the dispatch `match`, so they
//! cannot drift apart.
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
mod unparsed;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub use context::{RequestContext, RequestContextBuilder};
pub use error::{FailureKind, HandlerError, HandlerFailure};
pub use queue::{EventSink, Queued};
pub use unparsed::{ParseError, ParseErrorKind, UnknownEvent, UnparsedEvent};

use crate::protocol::decision::{
    CustomCode, FriendDecision, GateDecision, InviteDecision, SendDecision,
};
use crate::protocol::imstr::{BodyRef, parse_shared};
use crate::protocol::official_account::AddSubscriberDecision;
use crate::protocol::raw::RawJson;
use crate::protocol::reply::Reply;
use crate::protocol::wire::Wire;
#[allow(unused_imports)] // the table names its types through these paths
use crate::protocol::{
    alert, bot, c2c, call, chatbot, follow, group, mic, moderation, official_account, profile,
    push, room, sns, state,
};

/// A boxed, sendable future, as the type-erased handler returns.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a handler method returns.
pub type HandlerResult<T> = Result<T, HandlerError>;

/// Whether a command lets the app decide (before) or only informs it (after).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// The reply decides whether, or how, the action happens (or, for
    /// `Chatbot.OnC2CSignalMessage`, carries content back).
    Before,
    /// A notification; Tencent ignores the reply's code.
    After,
}

impl CommandKind {
    /// The kind a command's name says: `Family.CallbackBefore…` and `Family.CallbackPrev…` are
    /// before-events, everything else is an after-event. This is how commands this crate does not
    /// know are classified.
    ///
    /// ```
    /// use tencent_chat_webhook::CommandKind;
    ///
    /// assert_eq!(CommandKind::from_name("Group.CallbackBeforeFuture"), CommandKind::Before);
    /// assert_eq!(CommandKind::from_name("Sns.CallbackPrevFuture"), CommandKind::Before);
    /// assert_eq!(CommandKind::from_name("Group.CallbackAfterFuture"), CommandKind::After);
    /// assert_eq!(CommandKind::from_name("Future.Event"), CommandKind::After);
    /// ```
    pub fn from_name(command: &str) -> CommandKind {
        let name = command.split_once('.').map_or(command, |(_, name)| name);
        if name.starts_with("CallbackBefore") || name.starts_with("CallbackPrev") {
            CommandKind::Before
        } else {
            CommandKind::After
        }
    }
}

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

macro_rules! commands {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $kind:ident,
        fn $method:ident($event:ty) -> $ret:ty;
    )*) => {
        /// A webhook command this crate knows, by its `CallbackCommand` string.
        ///
        /// ```
        /// use tencent_chat_webhook::{Command, CommandKind};
        ///
        /// let cmd = Command::from_wire("C2C.CallbackBeforeSendMsg").unwrap();
        /// assert_eq!(cmd, Command::C2cBeforeSendMsg);
        /// assert_eq!(cmd.kind(), CommandKind::Before);
        /// assert_eq!(cmd.as_str(), "C2C.CallbackBeforeSendMsg");
        /// assert!(Command::ALL.contains(&cmd));
        /// assert_eq!(Command::from_wire("C2C.CallbackFuture"), None);
        /// ```
        ///
        #[doc = include_str!("commands.md")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Command {
            $(
                #[doc = concat!(
                    "`", $wire, "`: the event [`", stringify!($event), "`](crate::",
                    stringify!($event), "), the method [`", stringify!($method),
                    "`](Handler::", stringify!($method), ")."
                )]
                $variant,
            )*
        }

        impl Command {
            /// Every known command, in table order.
            pub const ALL: &'static [Command] = &[$(Command::$variant),*];

            /// The `CallbackCommand` string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Command::$variant => $wire,)*
                }
            }

            /// The command with this `CallbackCommand` string (exact, case-sensitive).
            pub fn from_wire(command: &str) -> Option<Command> {
                match command {
                    $($wire => Some(Command::$variant),)*
                    _ => None,
                }
            }

            /// Before or after.
            pub fn kind(self) -> CommandKind {
                match self {
                    $(Command::$variant => CommandKind::$kind,)*
                }
            }

            /// Tencent's documented sample body of this command (fixed up to valid JSON where the
            /// published one is not).
            #[cfg(any(test, feature = "test-util"))]
            pub(crate) fn sample(self) -> &'static str {
                match self {
                    $(Command::$variant => include_str!(concat!("../../fixtures/events/", $wire, ".json")),)*
                }
            }

            /// The names the table gives this command: variant, event type, handler method and
            /// answer type, as written in the source.
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) fn row(self) -> Row {
                match self {
                    $(Command::$variant => Row {
                        variant: stringify!($variant),
                        event: stringify!($event),
                        method: stringify!($method),
                        answer: stringify!($ret),
                        doc: concat!($($doc, "\n",)*),
                    },)*
                }
            }
        }

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

        /// One webhook event as a value: one variant per command, plus `Unknown`.
        ///
        /// Parse one with [`Event::parse`] (or [`construct_event`](crate::construct_event),
        /// which authenticates first); it serialises back to Tencent's JSON (unknown fields
        /// included), and that JSON parses again to an equal value, so events can be logged,
        /// stored, queued and replayed.
        ///
        /// ```
        /// use tencent_chat_webhook::{Command, CommandKind, Event};
        ///
        /// let body =
        /// br#"{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":"@TGS#1","EventTime":"1670574414123"}"#;
        /// let event = Event::parse("Group.CallbackAfterGroupFull", body).unwrap();
        /// assert_eq!(event.command(), Some(Command::GroupAfterFull)); assert_eq!(event.kind(),
        /// CommandKind::After); let Event::GroupAfterFull(full) = &event else { panic!() };
        /// assert_eq!(full.event_time, Some(1670574414123));
        ///
        /// let json = event.to_json();
        /// assert_eq!(Event::parse(event.command_name(), json.as_bytes()).unwrap(), event);
        /// ```
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)] // an event is built once per request and moved whole
        pub enum Event {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant($event),
            )*
            /// A command this crate does not know.
            Unknown(UnknownEvent),
        }

        impl Event {
            /// Parses `body` as the event of `command` (the query's `CallbackCommand`). A body
            /// whose own `CallbackCommand` differs is refused; a body without one (the push and
            /// moderation callbacks) is read as the command says.
            pub fn parse(command: &str, body: &[u8]) -> Result<Event, ParseError> {
                Self::parse_as(Command::from_wire(command), command, body)
            }

            /// [`parse`](Self::parse) for a command already looked up: `known` is
            /// `Command::from_wire(command)`.
            /// The strings of an event parsed from a request body's `Bytes` are slices of
            /// that buffer (see [`ImStr`](crate::ImStr)).
            pub(crate) fn parse_as<'b>(
                known: Option<Command>,
                command: &str,
                body: impl Into<BodyRef<'b>>,
            ) -> Result<Event, ParseError> {
                let body = body.into();
                match known {
                    $(Some(Command::$variant) => Ok(Event::$variant(parse_checked(
                        Command::$variant,
                        command,
                        body,
                        |e: &$event| e.callback_command.as_deref(),
                    )?)),)*
                    None => {
                        let body = parse_raw(body.bytes)?;
                        check_command(command, command_of(&body).as_deref())?;
                        Ok(Event::Unknown(UnknownEvent { command: command.to_owned(), body }))
                    }
                }
            }

            /// The command, if this crate knows it.
            pub fn command(&self) -> Option<Command> {
                match self {
                    $(Event::$variant(_) => Some(Command::$variant),)*
                    Event::Unknown(_) => None,
                }
            }

            /// The `CallbackCommand` string, known or not.
            pub fn command_name(&self) -> &str {
                match self {
                    $(Event::$variant(_) => $wire,)*
                    Event::Unknown(e) => &e.command,
                }
            }

            /// Before or after; for an unknown command, what its name says
            /// ([`CommandKind::from_name`]).
            pub fn kind(&self) -> CommandKind {
                match self.command() {
                    Some(command) => command.kind(),
                    None => CommandKind::from_name(self.command_name()),
                }
            }

            /// The JSON paths of every key this crate did not type (kept as sent in an `extra`
            /// in the order sent), and of every unknown message element. Empty for all of
            /// Tencent's documented samples. For an unknown command, its top-level keys.
            pub fn unknown_keys(&self) -> Vec<String> {
                let mut out = Vec::new();
                match self {
                    $(Event::$variant(e) => Wire::unknown_keys(e, "", &mut out),)*
                    Event::Unknown(e) => {
                        // An object's keys (a duplicate makes it no object to list).
                        if let Ok(keys) = e.body.parse::<crate::protocol::raw::Extra>() {
                            out.extend(keys.keys().map(Into::into));
                        }
                    }
                }
                out
            }

            /// The compact JSON of this event, as Tencent would send it. JSON this crate does
            /// not type (an unknown command's body, unknown keys and elements) is written as it
            /// was sent.
            pub fn to_json(&self) -> String {
                // Serialising typed fields and valid raw JSON cannot fail.
                serde_json::to_string(self).unwrap_or_default()
            }
        }

        impl Serialize for Event {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Event::$variant(e) => e.serialize(s),)*
                    Event::Unknown(e) => e.body.serialize(s),
                }
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

        $(
            impl sealed::Sealed for $event {}

            impl TypedEvent for $event {
                const COMMAND: Command = Command::$variant;
            }

            impl From<$event> for Event {
                fn from(event: $event) -> Event {
                    Event::$variant(event)
                }
            }
        )*

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

commands! {
    // Official Account (Official Channel), trtc.io 60795–60805.

    /// `OfficialAccount.CallbackBeforeCreateOfficialAccount`: allow, deny, or deny with a code.
    /// Default: allow.
    OfficialAccountBeforeCreate = "OfficialAccount.CallbackBeforeCreateOfficialAccount", Before,
    fn on_official_account_before_create(official_account::BeforeCreate) -> official_account::CreateDecision;

    /// `OfficialAccount.CallbackAfterCreateOfficialAccount`: an official account was created.
    OfficialAccountAfterCreate = "OfficialAccount.CallbackAfterCreateOfficialAccount", After,
    fn on_official_account_after_create(official_account::AfterCreate) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountInfoChanged`: the account's profile changed.
    OfficialAccountAfterInfoChanged = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged", After,
    fn on_official_account_after_info_changed(official_account::AfterInfoChanged) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountDestroyed`: an official account was destroyed.
    OfficialAccountAfterDestroyed = "OfficialAccount.CallbackAfterOfficialAccountDestroyed", After,
    fn on_official_account_after_destroyed(official_account::AfterDestroyed) -> ();

    /// `OfficialAccount.CallbackBeforeAddSubscriber`: allow all, refuse some users, or reject.
    /// Default: allow all.
    OfficialAccountBeforeAddSubscriber = "OfficialAccount.CallbackBeforeAddSubscriber", Before,
    fn on_official_account_before_add_subscriber(official_account::BeforeAddSubscriber) -> official_account::AddSubscriberDecision;

    /// `OfficialAccount.CallbackAfterAddSubscriber`: users subscribed.
    OfficialAccountAfterAddSubscriber = "OfficialAccount.CallbackAfterAddSubscriber", After,
    fn on_official_account_after_add_subscriber(official_account::AfterAddSubscriber) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountFull`: the account reached its subscriber
    /// limit.
    OfficialAccountAfterFull = "OfficialAccount.CallbackAfterOfficialAccountFull", After,
    fn on_official_account_after_full(official_account::AfterFull) -> ();

    /// `OfficialAccount.CallbackAfterDeleteSubscriber`: users unsubscribed or were removed.
    OfficialAccountAfterDeleteSubscriber = "OfficialAccount.CallbackAfterDeleteSubscriber", After,
    fn on_official_account_after_delete_subscriber(official_account::AfterDeleteSubscriber) -> ();

    /// `OfficialAccount.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or
    /// rewrite the body and custom data. Default: allow. Tencent waits at most 2 seconds.
    OfficialAccountBeforeSendMsg = "OfficialAccount.CallbackBeforeSendMsg", Before,
    fn on_official_account_before_send_msg(official_account::BeforeSendMsg) -> official_account::SendMsgDecision;

    /// `OfficialAccount.CallbackAfterSendMsg`: a message was delivered to the subscribers.
    OfficialAccountAfterSendMsg = "OfficialAccount.CallbackAfterSendMsg", After,
    fn on_official_account_after_send_msg(official_account::AfterSendMsg) -> ();

    /// `OfficialAccount.CallbackAfterMsgWithDraw`: messages were recalled.
    OfficialAccountAfterMsgWithDraw = "OfficialAccount.CallbackAfterMsgWithDraw", After,
    fn on_official_account_after_msg_with_draw(official_account::AfterMsgWithDraw) -> ();

    // Online status, 1047/34357.

    /// `State.StateChange`: a user logged in, out, or dropped.
    StateChange = "State.StateChange", After,
    fn on_state_change(state::Change) -> ();

    // Profile, 1047/48733.

    /// `Profile.CallbackPortraitSet`: a user's profile changed.
    ProfilePortraitSet = "Profile.CallbackPortraitSet", After,
    fn on_profile_portrait_set(profile::PortraitSet) -> ();

    // Relationship chain, 1047/43468, 43467, 34359–34362.

    /// `Sns.CallbackPrevFriendAdd`: a client asks to add friends; a result per target.
    /// Default: allow every target.
    SnsPrevFriendAdd = "Sns.CallbackPrevFriendAdd", Before,
    fn on_sns_prev_friend_add(sns::PrevFriendAdd) -> sns::FriendDecision;

    /// `Sns.CallbackPrevFriendResponse`: a client answers friend requests; a result per target.
    /// Default: allow every target.
    SnsPrevFriendResponse = "Sns.CallbackPrevFriendResponse", Before,
    fn on_sns_prev_friend_response(sns::PrevFriendResponse) -> sns::FriendDecision;

    /// `Sns.CallbackFriendAdd`: friendships were created.
    SnsFriendAdd = "Sns.CallbackFriendAdd", After,
    fn on_sns_friend_add(sns::FriendAdd) -> ();

    /// `Sns.CallbackFriendDelete`: friendships were deleted.
    SnsFriendDelete = "Sns.CallbackFriendDelete", After,
    fn on_sns_friend_delete(sns::FriendDelete) -> ();

    /// `Sns.CallbackBlackListAdd`: users were added to a blocklist.
    SnsBlackListAdd = "Sns.CallbackBlackListAdd", After,
    fn on_sns_black_list_add(sns::BlackListAdd) -> ();

    /// `Sns.CallbackBlackListDelete`: users were removed from a blocklist.
    SnsBlackListDelete = "Sns.CallbackBlackListDelete", After,
    fn on_sns_black_list_delete(sns::BlackListDelete) -> ();

    // Follow, 1047/70355, 70356.

    /// `Follow.CallbackAfterFollowAdd`: a user followed others.
    FollowAfterAdd = "Follow.CallbackAfterFollowAdd", After,
    fn on_follow_after_add(follow::AfterAdd) -> ();

    /// `Follow.CallbackAfterFollowDelete`: a user unfollowed others.
    FollowAfterDelete = "Follow.CallbackAfterFollowDelete", After,
    fn on_follow_after_delete(follow::AfterDelete) -> ();

    // One-to-one messages, 1047/34364, 34365, 43465, 43466, 76006; 269/128224.

    /// `C2C.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or rewrite.
    /// Default: allow. Tencent waits at most 2 seconds.
    C2cBeforeSendMsg = "C2C.CallbackBeforeSendMsg", Before,
    fn on_c2c_before_send_msg(c2c::BeforeSendMsg) -> c2c::SendMsgDecision;

    /// `C2C.CallbackAfterSendMsg`: a one-to-one message was delivered, or failed to be.
    C2cAfterSendMsg = "C2C.CallbackAfterSendMsg", After,
    fn on_c2c_after_send_msg(c2c::AfterSendMsg) -> ();

    /// `C2C.CallbackAfterMsgReport`: a conversation was marked read.
    C2cAfterMsgReport = "C2C.CallbackAfterMsgReport", After,
    fn on_c2c_after_msg_report(c2c::AfterMsgReport) -> ();

    /// `C2C.CallbackAfterMsgWithDraw`: a one-to-one message was recalled.
    C2cAfterMsgWithDraw = "C2C.CallbackAfterMsgWithDraw", After,
    fn on_c2c_after_msg_with_draw(c2c::AfterMsgWithDraw) -> ();

    /// `C2C.CallbackAfterC2CMsgExtension`: a one-to-one message's extension changed.
    C2cAfterMsgExtension = "C2C.CallbackAfterC2CMsgExtension", After,
    fn on_c2c_after_msg_extension(c2c::AfterMsgExtension) -> ();

    /// `C2C.CallbackAfterModifyMsg`: a one-to-one message was edited.
    C2cAfterModifyMsg = "C2C.CallbackAfterModifyMsg", After,
    fn on_c2c_after_modify_msg(c2c::AfterModifyMsg) -> ();

    // Chatbots, 1047/68952, 59057, 68953.

    /// `Bot.OnC2CMessage`: a one-to-one message reached a chatbot.
    BotC2cMessage = "Bot.OnC2CMessage", After,
    fn on_bot_c2c_message(bot::C2cMessage) -> ();

    /// `Chatbot.OnC2CSignalMessage`: custom pass-through content for a chatbot. Its reply shape
    /// is not documented: answer with any [`Reply`]. Default: OK.
    ChatbotC2cSignalMessage = "Chatbot.OnC2CSignalMessage", Before,
    fn on_chatbot_c2c_signal_message(chatbot::C2cSignalMessage) -> Reply;

    /// `Bot.OnGroupMessage`: a chatbot was @-mentioned in a group.
    BotGroupMessage = "Bot.OnGroupMessage", After,
    fn on_bot_group_message(bot::GroupMessage) -> ();

    // Groups, communities and topics, 1047/34368–34378, 46979, 48734, 49462–49466, 57455,
    // 60393–60396, 76007; 269/129193.

    /// `Group.CallbackBeforeCreateGroup`: allow, deny, or deny with a code. Default: allow.
    GroupBeforeCreate = "Group.CallbackBeforeCreateGroup", Before,
    fn on_group_before_create(group::BeforeCreate) -> group::CreateDecision;

    /// `Group.CallbackAfterCreateGroup`: a group was created.
    GroupAfterCreate = "Group.CallbackAfterCreateGroup", After,
    fn on_group_after_create(group::AfterCreate) -> ();

    /// `Group.CallbackBeforeApplyJoinGroup`: allow, deny, or deny with a code. Default: allow.
    GroupBeforeApplyJoin = "Group.CallbackBeforeApplyJoinGroup", Before,
    fn on_group_before_apply_join(group::BeforeApplyJoin) -> group::ApplyJoinDecision;

    /// `Group.CallbackBeforeInviteJoinGroup`: allow all, refuse some users, reject, or reject
    /// with a code. Default: allow all.
    GroupBeforeInviteJoin = "Group.CallbackBeforeInviteJoinGroup", Before,
    fn on_group_before_invite_join(group::BeforeInviteJoin) -> group::InviteDecision;

    /// `Group.CallbackAfterNewMemberJoin`: members joined, by approved application, invitation or
    /// the REST API.
    GroupAfterNewMemberJoin = "Group.CallbackAfterNewMemberJoin", After,
    fn on_group_after_new_member_join(group::AfterNewMemberJoin) -> ();

    /// `Group.CallbackAfterMemberExit`: members quit or were removed.
    GroupAfterMemberExit = "Group.CallbackAfterMemberExit", After,
    fn on_group_after_member_exit(group::AfterMemberExit) -> ();

    /// `Group.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or rewrite.
    /// Default: allow. Tencent waits at most 2 seconds.
    GroupBeforeSendMsg = "Group.CallbackBeforeSendMsg", Before,
    fn on_group_before_send_msg(group::BeforeSendMsg) -> group::SendMsgDecision;

    /// `Group.CallbackAfterSendMsg`: a group message was delivered.
    GroupAfterSendMsg = "Group.CallbackAfterSendMsg", After,
    fn on_group_after_send_msg(group::AfterSendMsg) -> ();

    /// `Group.CallbackAfterGroupFull`: the group became full, or a join failed because it is.
    GroupAfterFull = "Group.CallbackAfterGroupFull", After,
    fn on_group_after_full(group::AfterFull) -> ();

    /// `Group.CallbackAfterGroupDestroyed`: a group was disbanded.
    GroupAfterDestroyed = "Group.CallbackAfterGroupDestroyed", After,
    fn on_group_after_destroyed(group::AfterDestroyed) -> ();

    /// `Group.CallbackAfterGroupInfoChanged`: the group's name, introduction, notice or avatar
    /// changed; only the changed fields are sent.
    GroupAfterInfoChanged = "Group.CallbackAfterGroupInfoChanged", After,
    fn on_group_after_info_changed(group::AfterInfoChanged) -> ();

    /// `Group.CallbackOnMemberStateChange`: audio-video group members went on- or offline.
    GroupMemberStateChange = "Group.CallbackOnMemberStateChange", After,
    fn on_group_member_state_change(group::MemberStateChange) -> ();

    /// `Group.CallbackSendMsgException`: a group message could not be delivered.
    GroupSendMsgException = "Group.CallbackSendMsgException", After,
    fn on_group_send_msg_exception(group::SendMsgException) -> ();

    /// `Group.CallbackAfterRecallMsg`: group messages were recalled, from a client or the REST API.
    GroupAfterRecallMsg = "Group.CallbackAfterRecallMsg", After,
    fn on_group_after_recall_msg(group::AfterRecallMsg) -> ();

    /// `Group.CallbackBeforeCreateTopic`: allow, deny, or deny with a code. Default: allow.
    GroupBeforeCreateTopic = "Group.CallbackBeforeCreateTopic", Before,
    fn on_group_before_create_topic(group::BeforeCreateTopic) -> group::CreateTopicDecision;

    /// `Group.CallbackAfterCreateTopic`: a topic was created in a community.
    GroupAfterCreateTopic = "Group.CallbackAfterCreateTopic", After,
    fn on_group_after_create_topic(group::AfterCreateTopic) -> ();

    /// `Group.CallbackAfterTopicDestroyed`: topics of a community were deleted.
    GroupAfterTopicDestroyed = "Group.CallbackAfterTopicDestroyed", After,
    fn on_group_after_topic_destroyed(group::AfterTopicDestroyed) -> ();

    /// `Group.CallbackAfterTopicInfoChanged`: a topic's name, introduction, notice or avatar
    /// changed.
    GroupAfterTopicInfoChanged = "Group.CallbackAfterTopicInfoChanged", After,
    fn on_group_after_topic_info_changed(group::AfterTopicInfoChanged) -> ();

    /// `Group.CallbackAfterMemberFieldChanged`: a member's role or name card changed.
    GroupAfterMemberFieldChanged = "Group.CallbackAfterMemberFieldChanged", After,
    fn on_group_after_member_field_changed(group::AfterMemberFieldChanged) -> ();

    /// `Group.CallbackAfterGroupAttrChanged`: custom group attributes changed.
    GroupAfterAttrChanged = "Group.CallbackAfterGroupAttrChanged", After,
    fn on_group_after_attr_changed(group::AfterAttrChanged) -> ();

    /// `Group.CallbackAfterReadReceipt`: group messages were read.
    GroupAfterReadReceipt = "Group.CallbackAfterReadReceipt", After,
    fn on_group_after_read_receipt(group::AfterReadReceipt) -> ();

    /// `Group.CallbackAfterChangeGroupOwner`: the group's ownership was transferred.
    GroupAfterChangeOwner = "Group.CallbackAfterChangeGroupOwner", After,
    fn on_group_after_change_owner(group::AfterChangeOwner) -> ();

    /// `Group.CallbackOnDailyGroupQuotaAlarm`: the day's new groups passed 70 % of the quota.
    GroupDailyQuotaAlarm = "Group.CallbackOnDailyGroupQuotaAlarm", After,
    fn on_group_daily_quota_alarm(group::DailyQuotaAlarm) -> ();

    /// `Group.CallbackAfterGroupMsgExtension`: a group message's extension changed.
    GroupAfterMsgExtension = "Group.CallbackAfterGroupMsgExtension", After,
    fn on_group_after_msg_extension(group::AfterMsgExtension) -> ();

    /// `Group.CallbackAfterModifyMsg`: a group or topic message was edited.
    GroupAfterModifyMsg = "Group.CallbackAfterModifyMsg", After,
    fn on_group_after_modify_msg(group::AfterModifyMsg) -> ();

    // Moderation and operations, 1047/78240, 60256.

    /// `ContentCallback.ResultNotify`: a cloud moderation result. Its body has no
    /// `CallbackCommand`: it is read as the query says.
    ModerationResultNotify = "ContentCallback.ResultNotify", After,
    fn on_moderation_result_notify(moderation::ResultNotify) -> ();

    /// `Alert.RequestOverLimit`: a REST API passed 80 % of its rate limit.
    AlertRequestOverLimit = "Alert.RequestOverLimit", After,
    fn on_alert_request_over_limit(alert::RequestOverLimit) -> ();

    // Push service, 1047/67552, 67551.

    /// `Push.OfflinePush`: push results of messages, a batch of 1 to 100 events.
    PushOffline = "Push.OfflinePush", After,
    fn on_push_offline(push::Offline) -> ();

    /// `Push.AllMemberPush`: push-task results (all users, tags, UserIDs), a batch of 1 to 100.
    PushAllMember = "Push.AllMemberPush", After,
    fn on_push_all_member(push::AllMember) -> ();

    // TUICallKit calls, on Chat's envelope: 269/129102; 647/116423, 116424, 117872.

    /// `Call.CallbackAfterStartCall`: a call was started.
    CallAfterStart = "Call.CallbackAfterStartCall", After,
    fn on_call_after_start(call::AfterStart) -> ();

    /// `Call.CallbackAfterEndCall`: a call ended.
    CallAfterEnd = "Call.CallbackAfterEndCall", After,
    fn on_call_after_end(call::AfterEnd) -> ();

    /// `Call.CallbackAfterMemberChanged`: call members answered, declined, hung up, joined or
    /// dropped.
    CallAfterMemberChanged = "Call.CallbackAfterMemberChanged", After,
    fn on_call_after_member_changed(call::AfterMemberChanged) -> ();

    // TUIRoomKit rooms and seats, on Chat's envelope: 269/105401; 647/60731–60736.

    /// `Room.CallbackAfterCreateRoom`: a room was created.
    RoomAfterCreate = "Room.CallbackAfterCreateRoom", After,
    fn on_room_after_create(room::AfterCreate) -> ();

    /// `Room.CallbackAfterDestroyRoom`: a room was dissolved.
    RoomAfterDestroy = "Room.CallbackAfterDestroyRoom", After,
    fn on_room_after_destroy(room::AfterDestroy) -> ();

    /// `Room.CallbackAfterUpdateRoomInfo`: a room's settings changed.
    RoomAfterUpdateInfo = "Room.CallbackAfterUpdateRoomInfo", After,
    fn on_room_after_update_info(room::AfterUpdateInfo) -> ();

    /// `Room.CallbackAfterMemberEnter`: members entered a room.
    RoomAfterMemberEnter = "Room.CallbackAfterMemberEnter", After,
    fn on_room_after_member_enter(room::AfterMemberEnter) -> ();

    /// `Room.CallbackAfterMemberLeave`: members left a room.
    RoomAfterMemberLeave = "Room.CallbackAfterMemberLeave", After,
    fn on_room_after_member_leave(room::AfterMemberLeave) -> ();

    /// `Mic.CallbackAfterSeatInfoChanged`: seats of a room (TUIRoomKit) or live room
    /// (TUILiveKit) changed.
    MicAfterSeatInfoChanged = "Mic.CallbackAfterSeatInfoChanged", After,
    fn on_mic_after_seat_info_changed(mic::AfterSeatInfoChanged) -> ();
}

mod sealed {
    pub trait Sealed {}
}

/// The typed event of one known command: `group::BeforeSendMsg` is the event of
/// [`Command::GroupBeforeSendMsg`], and so on for every row of the table, which generates this
/// mapping and the conversion into an [`Event`]. Implemented by the event types of this crate
/// only.
///
/// A generic test or tool can name a command by its event type: the test kit's
/// `SignedRequest::of` (feature `test-util`) signs a typed event for its command this way.
///
/// ```
/// use tencent_chat_webhook::{Command, Event, TypedEvent, group};
///
/// fn command_of<E: TypedEvent>(_: &E) -> Command {
///     E::COMMAND
/// }
///
/// let mut event = group::AfterFull::default();
/// event.group_id = "@TGS#1".into();
/// assert_eq!(command_of(&event), Command::GroupAfterFull);
///
/// let event = Event::from(event);
/// assert_eq!(event.command(), Some(group::AfterFull::COMMAND));
/// let Event::GroupAfterFull(full) = &event else { panic!("{event:?}") };
/// assert_eq!(full.group_id, "@TGS#1");
/// ```
pub trait TypedEvent:
    sealed::Sealed
    + Serialize
    + DeserializeOwned
    + Into<Event>
    + Clone
    + fmt::Debug
    + PartialEq
    + Default
    + Send
    + Sync
    + 'static
{
    /// The command whose event this is.
    const COMMAND: Command;
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a `CallbackCommand` string, exactly as [`Command::from_wire`] does (case-sensitive).
///
/// ```
/// use tencent_chat_webhook::{Command, UnknownCommand};
///
/// let cmd: Command = "Group.CallbackAfterGroupFull".parse().unwrap();
/// assert_eq!(cmd, Command::GroupAfterFull);
///
/// let err: UnknownCommand = "Group.CallbackFuture".parse::<Command>().unwrap_err();
/// assert_eq!(err.name(), "Group.CallbackFuture");
/// assert_eq!(err.to_string(), "unknown CallbackCommand `Group.CallbackFuture`");
/// ```
impl std::str::FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(name: &str) -> Result<Command, UnknownCommand> {
        Command::from_wire(name).ok_or_else(|| UnknownCommand {
            name: name.to_owned(),
        })
    }
}

/// The error of [`Command`]'s `FromStr`: the string is no `CallbackCommand` this crate knows
/// (an unknown command still reaches a service's [`Handler::on_unknown`]; this error is only
/// for code that parses names itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand {
    name: String,
}

impl UnknownCommand {
    /// The string that was parsed.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown CallbackCommand `{}`", self.name)
    }
}

impl std::error::Error for UnknownCommand {}

/// The names of one table row, as written in the source.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub(crate) variant: &'static str,
    pub(crate) event: &'static str,
    pub(crate) method: &'static str,
    pub(crate) answer: &'static str,
    /// The row's doc comment, which its handler method shows.
    pub(crate) doc: &'static str,
}

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

/// The boxed future of handler method `method` on `event`, its answer turned into the reply.
/// The method is called inside the future, so that one that panics before returning its future
/// is caught like one that panics while running.
fn start<'a, H, E, R, F>(
    handler: &'a H,
    ctx: &'a RequestContext,
    event: E,
    method: impl FnOnce(&'a H, &'a RequestContext, E) -> F + Send + 'a,
) -> BoxFuture<'a, HandlerResult<Reply>>
where
    H: Sync,
    E: Send + 'a,
    R: Respond<E>,
    R::Memo: 'a,
    F: Future<Output = HandlerResult<R>> + Send + 'a,
{
    let memo = R::memo(&event);
    Box::pin(async move {
        method(handler, ctx, event)
            .await
            .map(|answer| answer.respond(memo))
    })
}

/// How a command's answer becomes its reply. Most answers need nothing of the event; a friend
/// decision needs the request's targets, taken (`memo`) before the event moves into the handler.
pub(crate) trait Respond<E>: Sized {
    type Memo: Send;
    fn memo(event: &E) -> Self::Memo;
    fn respond(self, memo: Self::Memo) -> Reply;
}

macro_rules! respond_by_from {
    ($($ty:ty),*) => {$(
        impl<E> Respond<E> for $ty {
            type Memo = ();
            fn memo(_: &E) {}
            fn respond(self, (): ()) -> Reply {
                Reply::from(self)
            }
        }
    )*};
}
respond_by_from!((), Reply, AddSubscriberDecision, InviteDecision);

impl<E, C: CustomCode> Respond<E> for SendDecision<C> {
    type Memo = ();
    fn memo(_: &E) {}
    fn respond(self, (): ()) -> Reply {
        Reply::from(self)
    }
}

impl<E, C: CustomCode> Respond<E> for GateDecision<C> {
    type Memo = ();
    fn memo(_: &E) {}
    fn respond(self, (): ()) -> Reply {
        Reply::from(self)
    }
}

macro_rules! respond_per_target {
    ($($event:ty),*) => {$(
        impl Respond<$event> for FriendDecision {
            type Memo = Vec<String>;
            fn memo(event: &$event) -> Vec<String> {
                event.targets().map(str::to_owned).collect()
            }
            fn respond(self, targets: Vec<String>) -> Reply {
                self.into_reply(targets.iter().map(String::as_str))
            }
        }
    )*};
}
respond_per_target!(sns::PrevFriendAdd, sns::PrevFriendResponse);

/// Parses JSON quickly into `T`; on failure, says why: not JSON at all, or JSON that does not fit
/// (then with the path, found by a second parse that tracks it, and the JSON itself).
///
/// The body's UTF-8 is checked once, whole, so that the parse does not check every string
/// again (serde_json does when it reads bytes, not when it reads a `str`). A body that is not
/// UTF-8 is parsed as bytes, which gives the same error, with its position, as before.
///
/// A body given with its `Bytes` is parsed so that the event's [`ImStr`](crate::ImStr)s are
/// slices of that buffer.
fn parse_typed<T: DeserializeOwned>(command: Command, body: BodyRef<'_>) -> Result<T, ParseError> {
    let shared = body.buffer.and_then(parse_shared);
    let body = body.bytes;
    let parsed = match shared {
        Some(parsed) => parsed,
        None => match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(body),
        },
    };
    parsed.map_err(|first| {
        // The JSON is kept as its text: a `Value` tree of a hostile body costs many times its
        // size.
        let Ok(value) = serde_json::from_slice::<RawJson>(body) else {
            return ParseError::syntax(&first);
        };
        // A body of another command fails to fit for that reason first: say so.
        if let Some(named) = command_of(&value)
            && named != command.as_str()
        {
            return ParseError::mismatch(command.as_str(), &named);
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        // serde's message may quote the value (a whole string of the wrong type): keep a short
        // piece, for logs and answers; the handler gets the whole body anyway.
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => (
                crate::rejection::truncated(e.path().to_string(), 128),
                crate::rejection::truncated(without_quoted_values(&e.inner().to_string()), 128),
            ),
            // Cannot happen (the value parsed as JSON, and the typed parse failed); kept total.
            Ok(_) => (".".to_owned(), first.to_string()),
        };
        ParseError::shape(UnparsedEvent {
            command,
            body: value,
            path,
            message,
        })
    })
}

/// serde's message with any quoted string value left out: `invalid type: string "…", expected
/// u64`. A value of the wrong type may be message text, which must not reach logs or answers.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(128));
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        let (head, tail) = rest.split_at(start + "string \"".len());
        out.push_str(head);
        // The value ends at the last quote before the explanation serde appends.
        let end = tail
            .rfind("\", expected")
            .or_else(|| tail.rfind('"'))
            .unwrap_or(tail.len());
        out.push('…');
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn parse_raw(body: &[u8]) -> Result<RawJson, ParseError> {
    serde_json::from_slice(body).map_err(|e| ParseError::syntax(&e))
}

/// The `CallbackCommand` string of a JSON object, if it has one (any other JSON has none).
fn command_of(body: &RawJson) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "CallbackCommand", borrow)]
        command: Option<&'a RawValue>,
    }
    if !body.get().trim_start().starts_with('{') {
        return None;
    }
    let probe: Probe<'_> = serde_json::from_str(body.get()).ok()?;
    serde_json::from_str(probe.command?.get()).ok()
}

/// The body parsed as command `command`'s type, refused when the `CallbackCommand` it carries
/// (`carried`) is not the one the request named (`name`).
fn parse_checked<T: DeserializeOwned>(
    command: Command,
    name: &str,
    body: BodyRef<'_>,
    carried: impl FnOnce(&T) -> Option<&str>,
) -> Result<T, ParseError> {
    let event: T = parse_typed(command, body)?;
    check_command(name, carried(&event))?;
    Ok(event)
}

fn check_command(query: &str, body: Option<&str>) -> Result<(), ParseError> {
    match body {
        Some(body) if body != query => Err(ParseError::mismatch(query, body)),
        _ => Ok(()),
    }
}

/// Reads only `CallbackCommand` from a body, for requests whose query leaves it out.
pub(crate) fn command_from_body(body: &[u8]) -> Result<Option<String>, ParseError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "CallbackCommand")]
        command: Option<String>,
    }
    serde_json::from_slice::<Probe>(body)
        .map(|p| p.command)
        .map_err(|e| ParseError::syntax(&e))
}

#[cfg(test)]
mod tests;
