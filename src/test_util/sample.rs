//! Tencent's documented samples: as text, as an [`Event`], as a typed event.

use crate::protocol::command::Command;
use crate::protocol::event::{Event, TypedEvent};

/// Tencent's documented request sample for `command`: one fixture per command, fixed up to valid
/// JSON where the published sample is not (a missing comma, comments), quirks kept (numbers as
/// strings, odd ids).
///
/// The Official Account modify-profile sample is published with two commas missing; the original
/// is [`PUBLISHED_INFO_CHANGED_SAMPLE`].
pub fn sample(command: Command) -> &'static str {
    command.sample()
}

/// The modify-profile sample exactly as Tencent publishes it: not valid JSON (two commas are
/// missing), useful to check how a server answers a broken body.
pub const PUBLISHED_INFO_CHANGED_SAMPLE: &str = include_str!(
    "../../fixtures/events/OfficialAccount.CallbackAfterOfficialAccountInfoChanged.published.txt"
);

/// Tencent's sample of `command` as an [`Event`]: the typed event of the command, parsed from
/// [`sample`], which every command's sample is (a test of this crate checks each).
///
/// ```
/// use tencent_chat_webhook::test_util::{self, SignedRequest};
/// use tencent_chat_webhook::{Command, Event};
///
/// let event = test_util::sample_event(Command::StateChange);
/// let Event::StateChange(change) = &event else { panic!("{event:?}") };
/// assert_eq!(change.info.to_account, "testuser316");
///
/// // Signed as it is, for its command:
/// let request = SignedRequest::event(&event);
/// assert_eq!(request.command(), "State.StateChange");
/// ```
///
/// # Panics
///
/// Never for a command of this crate's table.
pub fn sample_event(command: Command) -> Event {
    Event::parse(command.as_str(), sample(command).as_bytes())
        .unwrap_or_else(|e| panic!("the sample of {command} does not parse: {e}"))
}

/// Tencent's sample of the command of `E`, as that typed event: change the fields a test is
/// about in Rust, then sign it with [`SignedRequest::of`](super::SignedRequest::of).
///
/// ```
/// use tencent_chat_webhook::test_util;
/// use tencent_chat_webhook::sns;
///
/// let mut add: sns::PrevFriendAdd = test_util::typed_sample();
/// assert_eq!(add.friend_item.len(), 2);
/// add.friend_item[1].to_account = "banned_bob".into();
/// ```
///
/// # Panics
///
/// Never: every type of this crate's table reads its command's sample.
pub fn typed_sample<E: TypedEvent>() -> E {
    serde_json::from_str(sample(E::COMMAND))
        .unwrap_or_else(|e| panic!("the sample of {} does not parse: {e}", E::COMMAND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_sample_that_names_it() {
        for &cmd in Command::ALL {
            let v: serde_json::Value =
                serde_json::from_str(sample(cmd)).unwrap_or_else(|e| panic!("{cmd}: {e}"));
            // The push batches name the command in each event, the moderation result nowhere.
            let named: Vec<&serde_json::Value> = match v.get("Events") {
                Some(serde_json::Value::Array(events)) => {
                    events.iter().map(|e| &e["CallbackCommand"]).collect()
                }
                _ => vec![&v["CallbackCommand"]],
            };
            for name in named {
                if cmd == Command::ModerationResultNotify {
                    assert!(name.is_null(), "{cmd}");
                } else {
                    assert_eq!(name, cmd.as_str(), "{cmd}");
                }
            }
        }
        assert!(serde_json::from_str::<serde_json::Value>(PUBLISHED_INFO_CHANGED_SAMPLE).is_err());
    }

    #[test]
    fn a_typed_sample_is_the_event_of_its_command() {
        use crate::protocol::{group, push};
        let typed: group::BeforeSendMsg = typed_sample();
        assert_eq!(
            Event::from(typed),
            sample_event(Command::GroupBeforeSendMsg)
        );
        let batch: push::Offline = typed_sample();
        assert_eq!(Event::from(batch), sample_event(Command::PushOffline));
    }
}
