//! [`Event`]: one webhook event as a value, one variant per row of the command table, and
//! [`TypedEvent`], which ties each event type to its command.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::command::{Command, CommandKind};
use super::commands::for_each_command;
use super::common::event_time;
use super::imstr::BodyRef;
use super::parse::{check_command, command_of, parse_checked, parse_raw};
use super::unparsed::{ParseError, UnknownEvent};
use super::wire::Wire;
#[allow(unused_imports)] // the table names its types through these paths
use super::{
    alert, bot, c2c, call, chatbot, follow, group, mic, moderation, official_account, profile,
    push, room, sns, state,
};

/// [`Event::event_system_time`] of one row's event `$e`.
macro_rules! event_time_of {
    (ms, $e:ident) => {
        $e.event_system_time()
    };
    (none, $e:ident) => {{
        let _ = $e;
        None
    }};
}

macro_rules! define_event {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $kind:ident, time $time:ident, key $key:ident,
        fn $method:ident($event:ty) -> $ret:ty;
    )*) => {
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
        /// assert_eq!(event.command(), Some(Command::GroupAfterFull));
        /// assert_eq!(event.kind(), CommandKind::After);
        /// let Event::GroupAfterFull(full) = &event else { panic!() };
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

            /// `EventTime` as a [`SystemTime`](std::time::SystemTime), for the commands whose
            /// events carry one (in milliseconds) and sent it; `None` for the others and for an
            /// unknown command.
            ///
            /// ```
            /// use std::time::{Duration, UNIX_EPOCH};
            /// use tencent_chat_webhook::Event;
            ///
            /// let body = br#"{"GroupId":"@TGS#1","EventTime":1670574414123}"#;
            /// let event = Event::parse("Group.CallbackAfterGroupFull", body).unwrap();
            /// assert_eq!(
            ///     event.event_system_time(),
            ///     Some(UNIX_EPOCH + Duration::from_millis(1670574414123))
            /// );
            /// ```
            pub fn event_system_time(&self) -> Option<std::time::SystemTime> {
                match self {
                    $(Event::$variant(e) => event_time_of!($time, e),)*
                    Event::Unknown(_) => None,
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
                        if let Ok(keys) = e.body.parse::<super::raw::Extra>() {
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

            event_time!($time: $event);
        )*
    };
}

for_each_command!(define_event);

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
