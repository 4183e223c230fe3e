//! The user's side: the [`Handler`] trait, the [`Command`] table it is generated from, the request
//! context, and handler errors.
//!
//! One table, [`commands!`], lists every command with its wire name, kind, event type, handler
//! method and decision type. It generates the [`Command`] enum, the [`Handler`] methods with their
//! defaults, the body parser and the dispatch `match`, so they cannot drift apart.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::official_account::{self as oa};
use crate::protocol::query::OptPlatform;
use crate::protocol::reply::Reply;

/// A boxed, sendable future, as the type-erased handler returns.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a handler method returns.
pub type HandlerResult<T> = Result<T, HandlerError>;

/// Whether a command lets the app decide (before) or only informs it (after).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// The reply decides whether, or how, the action happens.
    Before,
    /// A notification; Tencent ignores the reply's code.
    After,
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
        /// let cmd = Command::from_wire("OfficialAccount.CallbackBeforeSendMsg").unwrap();
        /// assert_eq!(cmd, Command::OfficialAccountBeforeSendMsg);
        /// assert_eq!(cmd.kind(), CommandKind::Before);
        /// assert_eq!(cmd.as_str(), "OfficialAccount.CallbackBeforeSendMsg");
        /// assert_eq!(Command::from_wire("C2C.CallbackFuture"), None);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Command {
            $(
                #[doc = concat!("`", $wire, "`")]
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
        }

        /// Your webhook logic: one method per command, each with a default.
        ///
        /// Write the methods you need as plain `async fn`s; the others allow (before-events) or
        /// acknowledge (after-events). Commands this crate does not know go to
        /// [`on_unknown`](Handler::on_unknown), which answers OK, so a new Tencent command never
        /// breaks an app. The service holds one handler behind an `Arc<dyn ...>` shared by every
        /// connection, so methods take `&self`; keep shared state in fields (atomics, locks, pools).
        ///
        /// A method that returns an error or panics does not block the user's action by
        /// accident: see [`FailureDecision`](crate::FailureDecision).
        ///
        /// ```
        /// use tencent_chat_webhook::official_account::{BeforeSendMsg, SendMsgDecision};
        /// use tencent_chat_webhook::{Handler, HandlerResult, RequestContext};
        ///
        /// struct NoSpam;
        ///
        /// impl Handler for NoSpam {
        ///     async fn on_official_account_before_send_msg(
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
                fn $method(
                    &self,
                    ctx: &RequestContext,
                    event: $event,
                ) -> impl Future<Output = HandlerResult<$ret>> + Send {
                    let _ = (ctx, event);
                    async { Ok(<$ret>::default()) }
                }
            )*

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
        }

        /// A parsed body, ready for dispatch.
        pub(crate) enum Event {
            $($variant($event),)*
            Unknown(UnknownEvent),
        }

        impl Event {
            /// Parses `body` as the event of `command` (the query's, or else the body's).
            pub(crate) fn parse(command: &str, body: &[u8]) -> Result<Event, BodyError> {
                match Command::from_wire(command) {
                    $(Some(Command::$variant) => {
                        let event: $event = parse_json(body)?;
                        check_command(command, event.callback_command.as_deref())?;
                        Ok(Event::$variant(event))
                    })*
                    None => {
                        let body: Value = parse_json(body)?;
                        check_command(command, body.get("CallbackCommand").and_then(Value::as_str))?;
                        Ok(Event::Unknown(UnknownEvent { command: command.to_owned(), body }))
                    }
                }
            }
        }

        impl<H: Handler> ErasedHandler for H {
            fn dispatch<'a>(
                &'a self,
                ctx: &'a RequestContext,
                event: Event,
            ) -> BoxFuture<'a, HandlerResult<Reply>> {
                Box::pin(async move {
                    match event {
                        $(Event::$variant(e) => self.$method(ctx, e).await.map(Reply::from),)*
                        Event::Unknown(e) => self.on_unknown(ctx, e).await,
                    }
                })
            }
        }
    };
}

commands! {
    /// `OfficialAccount.CallbackBeforeCreateOfficialAccount`: allow, deny, or deny with a code.
    /// Default: allow.
    OfficialAccountBeforeCreateOfficialAccount = "OfficialAccount.CallbackBeforeCreateOfficialAccount", Before,
    fn on_official_account_before_create_official_account(oa::BeforeCreateOfficialAccount) -> oa::CreateOfficialAccountDecision;

    /// `OfficialAccount.CallbackAfterCreateOfficialAccount`.
    OfficialAccountAfterCreateOfficialAccount = "OfficialAccount.CallbackAfterCreateOfficialAccount", After,
    fn on_official_account_after_create_official_account(oa::AfterCreateOfficialAccount) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountInfoChanged`.
    OfficialAccountAfterOfficialAccountInfoChanged = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged", After,
    fn on_official_account_after_info_changed(oa::AfterOfficialAccountInfoChanged) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountDestroyed`.
    OfficialAccountAfterOfficialAccountDestroyed = "OfficialAccount.CallbackAfterOfficialAccountDestroyed", After,
    fn on_official_account_after_destroyed(oa::AfterOfficialAccountDestroyed) -> ();

    /// `OfficialAccount.CallbackBeforeAddSubscriber`: allow all, refuse some users, or reject.
    /// Default: allow all.
    OfficialAccountBeforeAddSubscriber = "OfficialAccount.CallbackBeforeAddSubscriber", Before,
    fn on_official_account_before_add_subscriber(oa::BeforeAddSubscriber) -> oa::AddSubscriberDecision;

    /// `OfficialAccount.CallbackAfterAddSubscriber`.
    OfficialAccountAfterAddSubscriber = "OfficialAccount.CallbackAfterAddSubscriber", After,
    fn on_official_account_after_add_subscriber(oa::AfterAddSubscriber) -> ();

    /// `OfficialAccount.CallbackAfterOfficialAccountFull`.
    OfficialAccountAfterOfficialAccountFull = "OfficialAccount.CallbackAfterOfficialAccountFull", After,
    fn on_official_account_after_full(oa::AfterOfficialAccountFull) -> ();

    /// `OfficialAccount.CallbackAfterDeleteSubscriber`.
    OfficialAccountAfterDeleteSubscriber = "OfficialAccount.CallbackAfterDeleteSubscriber", After,
    fn on_official_account_after_delete_subscriber(oa::AfterDeleteSubscriber) -> ();

    /// `OfficialAccount.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or
    /// rewrite the body and custom data. Default: allow. Tencent waits at most 2 seconds.
    OfficialAccountBeforeSendMsg = "OfficialAccount.CallbackBeforeSendMsg", Before,
    fn on_official_account_before_send_msg(oa::BeforeSendMsg) -> oa::SendMsgDecision;

    /// `OfficialAccount.CallbackAfterSendMsg`.
    OfficialAccountAfterSendMsg = "OfficialAccount.CallbackAfterSendMsg", After,
    fn on_official_account_after_send_msg(oa::AfterSendMsg) -> ();

    /// `OfficialAccount.CallbackAfterMsgWithDraw`: messages were recalled.
    OfficialAccountAfterMsgWithDraw = "OfficialAccount.CallbackAfterMsgWithDraw", After,
    fn on_official_account_after_msg_withdraw(oa::AfterMsgWithDraw) -> ();
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object-safe twin of [`Handler`], which the service stores as `Arc<dyn ErasedHandler>`.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn dispatch<'a>(
        &'a self,
        ctx: &'a RequestContext,
        event: Event,
    ) -> BoxFuture<'a, HandlerResult<Reply>>;
}

/// A command this crate does not know, with its body.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The `CallbackCommand`.
    pub command: String,
    /// The whole body as sent.
    pub body: Value,
}

/// A body that could not be turned into an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    Json { path: String, message: String },
    CommandMismatch { query: String, body: String },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Json { path, message } => write!(f, "invalid body at `{path}`: {message}"),
            BodyError::CommandMismatch { query, body } => write!(
                f,
                "CallbackCommand in the body (`{body}`) differs from the query (`{query}`)"
            ),
        }
    }
}

/// Parses JSON quickly; on failure, parses again while tracking the path, to say where it failed.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    serde_json::from_slice(body).map_err(|first| {
        let mut de = serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => BodyError::Json {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            },
            // The value itself was fine; what failed came after it (trailing characters).
            Ok(_) => BodyError::Json {
                path: ".".to_owned(),
                message: first.to_string(),
            },
        }
    })
}

fn check_command(query: &str, body: Option<&str>) -> Result<(), BodyError> {
    match body {
        Some(body) if body != query => Err(BodyError::CommandMismatch {
            query: query.to_owned(),
            body: body.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Reads only `CallbackCommand` from a body, for requests whose query leaves it out.
pub(crate) fn command_from_body(body: &[u8]) -> Result<Option<String>, BodyError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "CallbackCommand")]
        command: Option<String>,
    }
    parse_json::<Probe>(body).map(|p| p.command)
}

/// What a handler method sees of the request besides the event: the query's values, and the
/// HTTP request parts (headers, extensions such as axum's `ConnectInfo`).
pub struct RequestContext {
    pub(crate) app_id: u64,
    pub(crate) command: Cow<'static, str>,
    pub(crate) client_ip: Option<String>,
    pub(crate) platform: Option<OptPlatform>,
    pub(crate) request_time: Option<u64>,
    pub(crate) content_type: Option<Cow<'static, str>>,
    pub(crate) parts: http::request::Parts,
}

impl RequestContext {
    /// The `SdkAppid`, already checked against the configured one.
    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The `CallbackCommand`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The command, if this crate knows it.
    pub fn known_command(&self) -> Option<Command> {
        Command::from_wire(&self.command)
    }

    /// `ClientIP`: the address of the client that triggered the event, as sent.
    pub fn client_ip(&self) -> Option<&str> {
        self.client_ip.as_deref()
    }

    /// `ClientIP` parsed as an address, when it is one.
    pub fn client_ip_addr(&self) -> Option<IpAddr> {
        self.client_ip.as_deref()?.parse().ok()
    }

    /// `OptPlatform`.
    pub fn platform(&self) -> Option<&OptPlatform> {
        self.platform.as_ref()
    }

    /// `RequestTime` in Unix seconds, verified when signature checks are on.
    pub fn request_time(&self) -> Option<u64> {
        self.request_time
    }

    /// `contenttype` (documented as always `json`).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.parts.headers
    }

    /// The request extensions, such as those set by outer middleware.
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }

    /// The request URI. Its query holds `Sign`, a credential valid for the freshness window:
    /// do not log it.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI is left out: its query carries `Sign`.
        f.debug_struct("RequestContext")
            .field("app_id", &self.app_id)
            .field("command", &self.command)
            .field("client_ip", &self.client_ip)
            .field("platform", &self.platform)
            .field("request_time", &self.request_time)
            .field("path", &self.parts.uri.path())
            .finish_non_exhaustive()
    }
}

/// An error from a handler method. Any `std::error::Error` converts into it with `?`.
///
/// ```
/// use tencent_chat_webhook::HandlerError;
///
/// fn lookup() -> Result<u32, HandlerError> {
///     let n: u32 = "12".parse()?;
///     if n > 10 {
///         return Err(HandlerError::msg(format!("{n} is too many")));
///     }
///     Ok(n)
/// }
/// assert_eq!(lookup().unwrap_err().to_string(), "12 is too many");
/// ```
pub struct HandlerError {
    inner: Box<dyn StdError + Send + Sync>,
}

impl HandlerError {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        HandlerError {
            inner: message.to_string().into(),
        }
    }

    /// Wraps a boxed error (or a `String` / `&str`).
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        HandlerError {
            inner: error.into(),
        }
    }

    /// The underlying error.
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.inner
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError { inner: Box::new(e) }
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// How a handler failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The method returned `Err`.
    Error,
    /// The method panicked.
    Panic,
}

/// A handler failure, as reported to [`report_failures`](crate::WebhookConfigBuilder::report_failures)
/// and put in the response's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerFailure {
    pub(crate) command: String,
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
}

impl HandlerFailure {
    /// The command whose handler failed.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Error or panic.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The error's text, or the panic message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FailureKind::Error => "failed",
            FailureKind::Panic => "panicked",
        };
        write!(f, "handler for {} {what}: {}", self.command, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        assert_eq!(Command::ALL.len(), 11);
        for &cmd in Command::ALL {
            assert_eq!(Command::from_wire(cmd.as_str()), Some(cmd));
            let before = cmd.as_str().contains(".CallbackBefore");
            assert_eq!(cmd.kind() == CommandKind::Before, before, "{cmd}");
        }
        assert_eq!(
            Command::from_wire("officialaccount.callbackbeforesendmsg"),
            None
        );
    }

    #[test]
    fn body_errors_name_the_failing_path() {
        let cases = [
            (
                "wrong type deep inside",
                r#"{"Official_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":5}}]}"#,
                "MsgBody[0].MsgContent.Text",
            ),
            ("missing field", r#"{"MsgBody":[]}"#, "."),
            ("not an object", r#"[1]"#, "."),
            (
                "syntax error",
                r#"{"Official_Account": "#,
                "Official_Account",
            ),
            (
                "trailing garbage",
                r#"{"Official_Account":"a","MsgBody":[]} x"#,
                ".",
            ),
            (
                "wrong number",
                r#"{"Official_Account":"a","MsgBody":[],"OnlineOnlyFlag":"yes"}"#,
                "OnlineOnlyFlag",
            ),
        ];
        for (name, body, path) in cases {
            match Event::parse("OfficialAccount.CallbackBeforeSendMsg", body.as_bytes()) {
                Err(BodyError::Json { path: got, message }) => {
                    assert_eq!(got, path, "{name}: {message}");
                    assert!(!message.is_empty(), "{name}");
                }
                Err(other) => panic!("{name}: {other}"),
                Ok(_) => panic!("{name}: parsed"),
            }
        }
    }

    #[test]
    fn body_command_must_agree_with_the_query() {
        let body = br#"{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg","Official_Account":"a","MsgBody":[]}"#;
        let err = Event::parse("OfficialAccount.CallbackBeforeSendMsg", body)
            .err()
            .unwrap();
        assert_eq!(
            err,
            BodyError::CommandMismatch {
                query: "OfficialAccount.CallbackBeforeSendMsg".into(),
                body: "OfficialAccount.CallbackAfterSendMsg".into()
            }
        );
        let unknown = Event::parse("X.New", br#"{"CallbackCommand":"X.Old"}"#)
            .err()
            .unwrap();
        assert!(matches!(unknown, BodyError::CommandMismatch { .. }));
    }

    #[test]
    fn unknown_commands_keep_their_body() {
        let Ok(Event::Unknown(e)) =
            Event::parse("X.New", br#"{"CallbackCommand":"X.New","A":[1]}"#)
        else {
            panic!("not unknown")
        };
        assert_eq!(e.command, "X.New");
        assert_eq!(e.body["A"][0], 1);
    }

    #[test]
    fn command_can_come_from_the_body() {
        assert_eq!(
            command_from_body(br#"{"CallbackCommand":"A.B","x":{"y":[]}}"#)
                .unwrap()
                .as_deref(),
            Some("A.B")
        );
        assert_eq!(command_from_body(br#"{"x":1}"#).unwrap(), None);
        assert!(command_from_body(b"nope").is_err());
    }

    #[test]
    fn handler_error_converts_from_std_errors() {
        fn fails() -> HandlerResult<()> {
            let _: u8 = "300".parse()?;
            Ok(())
        }
        let err = fails().unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(err.get_ref().is::<std::num::ParseIntError>());
        assert_eq!(HandlerError::new("plain").to_string(), "plain");
    }
}
