//! [`Command`]: the webhook commands this crate knows, generated from the command table
//! ([`for_each_command!`](super::commands::for_each_command)), with their kind and wire names.

use std::fmt;

use super::commands::for_each_command;

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

/// A row's kind, as the command table in the docs writes it.
macro_rules! kind_text {
    (Before) => {
        "before"
    };
    (After) => {
        "after"
    };
}

/// A row's answer, as the command table in the docs writes it: a before-event's answer type,
/// linked; an after-event is answered OK.
macro_rules! answer_text {
    (Before, $ret:ty) => {
        concat!("[`", stringify!($ret), "`](crate::", stringify!($ret), ")")
    };
    (After, $ret:ty) => {
        "OK"
    };
}

macro_rules! define_command {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $kind:ident, time $time:ident, key $key:ident,
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
        #[doc = "| Command | Kind | Handler method | Event type | Answer | Key |"]
        #[doc = "| --- | --- | --- | --- | --- | --- |"]
        $(#[doc = concat!(
            "| [`", $wire, "`](Command::", stringify!($variant), ") | ", kind_text!($kind),
            " | [`", stringify!($method), "`](crate::Handler::", stringify!($method), ") | [`",
            stringify!($event), "`](crate::", stringify!($event), ") | ",
            answer_text!($kind, $ret), " | `", stringify!($key), "` |"
        )])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Command {
            $(
                #[doc = concat!(
                    "`", $wire, "`: the event [`", stringify!($event), "`](crate::",
                    stringify!($event), "), the method [`", stringify!($method),
                    "`](crate::Handler::", stringify!($method), ")."
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

            /// The names the table gives this command, as written in the source.
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) fn row(self) -> Row {
                match self {
                    $(Command::$variant => Row {
                        variant: stringify!($variant),
                        event: stringify!($event),
                        method: stringify!($method),
                        answer: stringify!($ret),
                        time: stringify!($time),
                        key: stringify!($key),
                        doc: concat!($($doc, "\n",)*),
                    },)*
                }
            }
        }
    };
}

for_each_command!(define_command);

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
/// (an unknown command still reaches a service's
/// [`Handler::on_unknown`](crate::Handler::on_unknown); this error is only for code that parses
/// names itself).
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
    /// The unit of `EventTime` (`ms`), or `none`.
    pub(crate) time: &'static str,
    /// The identity class (`handler/key.rs`).
    pub(crate) key: &'static str,
    /// The row's doc comment, which its handler method shows.
    pub(crate) doc: &'static str,
}
