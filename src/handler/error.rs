//! Handler errors, and the failures the service reports.

use std::error::Error as StdError;
use std::fmt;

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

/// Anything that converts into a boxed error converts into a `HandlerError`: every
/// `std::error::Error`, strings, and `anyhow::Error` (which converts into a boxed error though it
/// is not one), so `?` works on them in a handler method.
impl<E: Into<Box<dyn StdError + Send + Sync>>> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError { inner: e.into() }
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
    /// The body of a known command did not fit its typed event (see
    /// [`Handler::on_unparsed`](crate::Handler::on_unparsed)).
    Unparsed,
    /// The method did not answer within the deadline. For a before-event, the failure decision
    /// was answered and the method cancelled; for an after-event, it is finishing in the
    /// background ([`AfterDeadline::Finish`](crate::AfterDeadline::Finish)).
    Timeout,
    /// An after-event's method did not answer within the deadline and was cancelled
    /// ([`AfterDeadline::Cancel`](crate::AfterDeadline::Cancel), or no room left in the
    /// background); the event was answered 500.
    Abandoned,
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
            FailureKind::Unparsed => "got a body that does not fit its event",
            FailureKind::Timeout => "timed out",
            FailureKind::Abandoned => "timed out and was cancelled",
        };
        write!(f, "handler for {} {what}: {}", self.command, self.message)
    }
}
