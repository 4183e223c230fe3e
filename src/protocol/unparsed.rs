//! Events the typed handler methods do not take: a command this crate does not know, and a body
//! that does not fit its command's event (with what was wrong with it).

use std::error::Error as StdError;
use std::fmt;

use super::command::Command;
use super::raw::RawJson;

/// A command this crate does not know, with its body.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The `CallbackCommand`.
    pub command: String,
    /// The whole body as sent: parse it into your own type with
    /// [`RawJson::parse`], or into a `Value` with [`RawJson::to_value`].
    pub body: RawJson,
}

/// A known command whose body is JSON but does not fit its typed event, kept whole: the JSON, and
/// where and why it did not fit.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnparsedEvent {
    /// The command.
    pub command: Command,
    /// The whole body as sent.
    pub body: RawJson,
    /// The JSON path that did not fit, e.g. `MsgBody[0].MsgContent.Text` (`.` for the top level).
    pub path: String,
    /// What was wrong there.
    pub message: String,
}

/// Why a body could not be turned into an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The body is not JSON.
    Syntax,
    /// The body is JSON that does not fit the command's event.
    Shape,
    /// The body's `CallbackCommand` differs from the command it was parsed as.
    CommandMismatch,
}

/// A body that could not be turned into an event.
///
/// ```
/// use tencent_chat_webhook::{Event, ParseErrorKind};
///
/// let err = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":5}"#).unwrap_err();
/// assert_eq!(err.kind(), ParseErrorKind::Shape);
/// assert_eq!(err.path(), Some("GroupId"));
/// let unparsed = err.into_unparsed().unwrap();
/// assert_eq!(unparsed.body.get(), r#"{"GroupId":5}"#);
///
/// let err = Event::parse("Group.CallbackAfterGroupFull", b"{").unwrap_err();
/// assert_eq!(err.kind(), ParseErrorKind::Syntax);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    repr: Repr,
}

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    Shape(Box<UnparsedEvent>),
    Mismatch {
        query: String,
        body: String,
    },
}

impl ParseError {
    pub(crate) fn syntax(e: &serde_json::Error) -> Self {
        // serde_json's message ends with " at line L column C"; keep the cause only, and the
        // position apart.
        let full = e.to_string();
        let message = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(cause, _)| cause)
            .to_owned();
        ParseError {
            repr: Repr::Syntax {
                line: e.line(),
                column: e.column(),
                message,
            },
        }
    }

    pub(crate) fn shape(event: UnparsedEvent) -> Self {
        ParseError {
            repr: Repr::Shape(Box::new(event)),
        }
    }

    pub(crate) fn mismatch(query: &str, body: &str) -> Self {
        ParseError {
            repr: Repr::Mismatch {
                query: query.to_owned(),
                body: body.to_owned(),
            },
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ParseErrorKind {
        match self.repr {
            Repr::Syntax { .. } => ParseErrorKind::Syntax,
            Repr::Shape(_) => ParseErrorKind::Shape,
            Repr::Mismatch { .. } => ParseErrorKind::CommandMismatch,
        }
    }

    /// The JSON path that did not fit, for a [`Shape`](ParseErrorKind::Shape) error.
    pub fn path(&self) -> Option<&str> {
        match &self.repr {
            Repr::Shape(e) => Some(&e.path),
            _ => None,
        }
    }

    /// The body and where it did not fit, for a [`Shape`](ParseErrorKind::Shape) error.
    pub fn into_unparsed(self) -> Option<UnparsedEvent> {
        match self.repr {
            Repr::Shape(e) => Some(*e),
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Syntax {
                line,
                column,
                message,
            } => write!(
                f,
                "body is not JSON: {message} at line {line} column {column}"
            ),
            Repr::Shape(e) => write!(
                f,
                "body of {} does not fit at `{}`: {}",
                e.command, e.path, e.message
            ),
            Repr::Mismatch { query, body } => write!(
                f,
                "CallbackCommand in the body (`{body}`) differs from the query (`{query}`)"
            ),
        }
    }
}

impl StdError for ParseError {}
