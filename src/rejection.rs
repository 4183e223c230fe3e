//! Requests the service refuses: what was wrong, and the message their responses carry (the
//! service writes those responses, in `service/response.rs`).

use std::fmt;

use http::StatusCode;

use crate::protocol::parse::truncated;

/// What was wrong with a refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// Not a `POST` (405).
    MethodNotAllowed,
    /// A query parameter is missing, repeated or malformed (400).
    MalformedQuery,
    /// `SdkAppid` is not the configured app id (403).
    AppIdMismatch,
    /// `Sign` or `RequestTime` is missing while signature checks are on (401).
    MissingSignature,
    /// `Sign` matches no configured token (401).
    InvalidSignature,
    /// `RequestTime` is outside the freshness window (401).
    StaleRequest,
    /// The body is larger than the limit (413).
    BodyTooLarge,
    /// The body could not be read from the connection (400).
    UnreadableBody,
    /// The body is not valid JSON, or a field has the wrong type or is missing (400).
    InvalidBody,
    /// The body's `CallbackCommand` differs from the query's, or neither has one (400).
    CommandMismatch,
    /// The body did not arrive within the deadline (408).
    BodyTimeout,
}

impl RejectionKind {
    /// The HTTP status this kind is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            RejectionKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RejectionKind::AppIdMismatch => StatusCode::FORBIDDEN,
            RejectionKind::MissingSignature
            | RejectionKind::InvalidSignature
            | RejectionKind::StaleRequest => StatusCode::UNAUTHORIZED,
            RejectionKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RejectionKind::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            RejectionKind::MalformedQuery
            | RejectionKind::UnreadableBody
            | RejectionKind::InvalidBody
            | RejectionKind::CommandMismatch => StatusCode::BAD_REQUEST,
        }
    }
}

/// A refused request: its kind and a message that says what is wrong without echoing secrets.
///
/// The response carries it in its extensions, so outer middleware can log or count rejections.
/// Its body is `{"ActionStatus":"FAIL","ErrorInfo":"<message>","ErrorCode":<HTTP status>}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    message: String,
}

impl Rejection {
    /// The most of a message a rejection keeps: a message may quote what the caller sent (a
    /// method, a value of the wrong type), and no answer echoes more than a short piece of it.
    pub const MAX_MESSAGE: usize = 256;

    pub(crate) fn new(kind: RejectionKind, message: impl fmt::Display) -> Self {
        Rejection {
            kind,
            message: truncated(message.to_string(), Self::MAX_MESSAGE),
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The message put in `ErrorInfo`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_on_a_character_boundary() {
        let cases = [
            ("short", "abc".to_owned(), "abc".to_owned()),
            ("exact", "a".repeat(256), "a".repeat(256)),
            ("long", "a".repeat(60_000), format!("{}…", "a".repeat(253))),
            (
                "multibyte",
                "é".repeat(200),
                format!("{}…", "é".repeat(126)),
            ),
        ];
        for (name, input, want) in cases {
            let got = Rejection::new(RejectionKind::MethodNotAllowed, input).message;
            assert!(got.len() <= Rejection::MAX_MESSAGE, "{name}: {}", got.len());
            assert_eq!(got, want, "{name}");
        }
    }
}
