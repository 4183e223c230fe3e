//! The `body` target: `Event::parse` of every command on any bytes.
//!
//! Input: the first byte picks the command (from [`FIRST_UNKNOWN`] up, one of two commands the
//! crate does not know, one before-event and one after-event; below it, `Command::ALL`); the
//! rest is the body. The unknown commands' bytes do not depend on the table's length, so a kept
//! input (a seed, a regression) keeps its meaning when a command is added.

use tencent_chat_webhook::{Command, Event, ParseErrorKind};

use crate::APP;

/// Commands the crate does not know, parsed as `Event::Unknown`.
pub const UNKNOWN_COMMANDS: [&str; 2] = ["Group.CallbackBeforeFuture", "Future.Event"];

/// The first selector byte of the unknown commands: `FIRST_UNKNOWN + i` (and every byte above,
/// in turn) names `UNKNOWN_COMMANDS[i]`.
pub const FIRST_UNKNOWN: u8 = 0xF0;

/// The command the first byte picks.
pub fn command_name(selector: u8) -> &'static str {
    match selector.checked_sub(FIRST_UNKNOWN) {
        Some(k) => UNKNOWN_COMMANDS[usize::from(k) % UNKNOWN_COMMANDS.len()],
        None => Command::ALL[usize::from(selector) % Command::ALL.len()].as_str(),
    }
}

/// The selector byte of a command's name, known or one of [`UNKNOWN_COMMANDS`] (the inverse of
/// [`command_name`], for seeds, which choose their commands by name).
pub fn selector(name: &str) -> u8 {
    if let Some(i) = UNKNOWN_COMMANDS.iter().position(|&u| u == name) {
        return FIRST_UNKNOWN + u8::try_from(i).unwrap_or(0);
    }
    let i = Command::ALL.iter().position(|c| c.as_str() == name);
    i.and_then(|i| u8::try_from(i).ok()).filter(|&b| b < FIRST_UNKNOWN).unwrap_or(0)
}

pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let name = command_name(selector);
    let event = match Event::parse(name, body) {
        Ok(event) => event,
        Err(e) => {
            // A body that is JSON but does not fit comes back whole, for `on_unparsed`.
            let kind = e.kind();
            let path = e.path().map(str::to_owned);
            let _ = e.to_string();
            if kind == ParseErrorKind::Shape {
                let unparsed = e
                    .into_unparsed()
                    .unwrap_or_else(|| panic!("{name}: a shape error without its event"));
                assert_eq!(unparsed.command.as_str(), name);
                assert_eq!(path.as_deref(), Some(unparsed.path.as_str()));
            }
            return;
        }
    };
    assert_eq!(event.command_name(), name);
    assert_eq!(
        event.command().map(Command::as_str),
        Command::from_wire(name).map(Command::as_str)
    );
    let _ = event.kind();
    let unknown_keys = event.unknown_keys();

    // It serialises to Tencent's JSON, which parses again to an equal event.
    let json = event.to_json();
    let again = Event::parse(name, json.as_bytes()).unwrap_or_else(|e| {
        panic!(
            "{name}: its own JSON does not parse again: {e}\n  body: {}\n  json: {json}",
            String::from_utf8_lossy(body)
        )
    });
    assert!(
        again == event,
        "{name}: the round trip changed the event\n  body: {}\n  json: {json}\n  first:  {event:?}\n  second: {again:?}",
        String::from_utf8_lossy(body)
    );
    assert_eq!(again.to_json(), json, "{name}: the JSON is not stable");
    assert_eq!(
        again.unknown_keys(),
        unknown_keys,
        "{name}: unknown keys changed"
    );

    // The idempotency key is stable: twice the same, and the same after the round trip.
    let key = event.idempotency_key(APP);
    assert_eq!(
        event.idempotency_key(APP),
        key,
        "{name}: key not deterministic"
    );
    assert_eq!(
        again.idempotency_key(APP),
        key,
        "{name}: key changed by the round trip"
    );
    let prefix = format!("{APP}:{name}:");
    assert!(
        key.starts_with(&prefix),
        "{name}: key {key:?} does not start with the app and the command"
    );
    assert_ne!(
        event.idempotency_key(APP + 1),
        key,
        "{name}: key does not name the app"
    );
}
