//! Parsing a body into its command's typed event, and saying precisely why one does not fit.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::command::Command;
use super::imstr::{BodyRef, parse_shared};
use super::raw::RawJson;
use super::unparsed::{ParseError, UnparsedEvent};

/// Parses JSON quickly into `T`; on failure, says why: not JSON at all, or JSON that does not fit
/// (then with the path, found by a second parse that tracks it, and the JSON itself).
///
/// The body's UTF-8 is checked once, whole, so that the parse does not check every string
/// again (serde_json does when it reads bytes, not when it reads a `str`). A body that is not
/// UTF-8 is parsed as bytes, which gives the same error, with its position, as before.
///
/// A body given with its `Bytes` is parsed so that the event's [`ImStr`](crate::ImStr)s are
/// slices of that buffer.
pub(crate) fn parse_typed<T: DeserializeOwned>(
    command: Command,
    body: BodyRef<'_>,
) -> Result<T, ParseError> {
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
                truncated(e.path().to_string(), 128),
                truncated(without_quoted_values(&e.inner().to_string()), 128),
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

pub(crate) fn parse_raw(body: &[u8]) -> Result<RawJson, ParseError> {
    serde_json::from_slice(body).map_err(|e| ParseError::syntax(&e))
}

/// The `CallbackCommand` string of a JSON object, if it has one (any other JSON has none).
pub(crate) fn command_of(body: &RawJson) -> Option<String> {
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
pub(crate) fn parse_checked<T: DeserializeOwned>(
    command: Command,
    name: &str,
    body: BodyRef<'_>,
    carried: impl FnOnce(&T) -> Option<&str>,
) -> Result<T, ParseError> {
    let event: T = parse_typed(command, body)?;
    check_command(name, carried(&event))?;
    Ok(event)
}

pub(crate) fn check_command(query: &str, body: Option<&str>) -> Result<(), ParseError> {
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

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub(crate) fn truncated(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}
