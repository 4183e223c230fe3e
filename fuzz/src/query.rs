//! The `query` target: `construct_event` with any query string and a valid body.
//!
//! Input: the query string (without `?`), as bytes, read as UTF-8 with replacement. The body is
//! fixed by the query: Tencent's sample of the command it names, if the crate knows it, and
//! otherwise a small body that names no command.

use tencent_chat_webhook::test_util::sample;
use tencent_chat_webhook::{Command, Event, construct_event};

use crate::{DEFAULT_SKEW, QueryFacts, config_builder, leaked};

/// The body when the query names no command the crate knows.
pub const OTHER_BODY: &[u8] = br#"{"GroupId":"@TGS#fuzz","EventTime":1700000000000}"#;

pub fn run(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let facts = QueryFacts::parse(&query);
    let body = facts
        .commands
        .first()
        .and_then(|c| Command::from_wire(c))
        .map_or(OTHER_BODY, |c| sample(c).as_bytes());
    let config = config_builder()
        .build()
        .expect("the fuzz configuration builds");

    let first = construct_event(&config, &query, body);
    // The second call reuses the verifier's cached digests: same answer.
    let second = construct_event(&config, &query, body);
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{query}"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{query}"),
        _ => panic!("{query}: two calls disagree: {first:?} / {second:?}"),
    }

    match first {
        Ok(event) => accepted(&query, &facts, event),
        Err(rejection) => {
            let status = rejection.status().as_u16();
            assert!(
                matches!(status, 400 | 401 | 403),
                "{query}: construct_event refused with {status} ({:?})",
                rejection.kind()
            );
            let message = rejection.message();
            let _ = rejection.to_string();
            if let Some(secret) = leaked(message.as_bytes(), body, &facts.secrets()) {
                panic!("{query}: the rejection {message:?} contains the secret {secret}");
            }
        }
    }
}

fn accepted(query: &str, facts: &QueryFacts, event: Event) {
    assert!(
        facts.authentic(DEFAULT_SKEW),
        "{query}: accepted without a valid signature: {}",
        event.command_name()
    );
    // The command is the query's (the body's only when the query has none).
    if let Some(named) = facts.commands.first() {
        assert_eq!(event.command_name(), named, "{query}");
    }
}
