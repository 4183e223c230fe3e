//! The targets of a friend request, which its answer lists one by one, read from the typed event
//! or, for a body that did not fit, from its JSON as far as it goes.

use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::respond::FriendRequest;

use crate::protocol::command::Command;
use crate::protocol::event::Event;
use crate::protocol::raw::member;
use crate::protocol::unparsed::UnparsedEvent;

impl Event {
    /// The targets of a friend request (`Sns.CallbackPrevFriendAdd`, `…Response`), in order.
    pub(crate) fn friend_targets(&self) -> Option<Vec<String>> {
        match self {
            Event::SnsPrevFriendAdd(e) => Some(e.target_list()),
            Event::SnsPrevFriendResponse(e) => Some(e.target_list()),
            _ => None,
        }
    }
}

impl Command {
    /// Whether an event of this command is answered per target (a friend request), so that a
    /// failure's answer needs the targets ([`Event::friend_targets`]).
    pub(crate) fn answers_per_target(self) -> bool {
        matches!(
            self,
            Command::SnsPrevFriendAdd | Command::SnsPrevFriendResponse
        )
    }
}

impl UnparsedEvent {
    /// The targets of a friend request whose body did not fit, read from its JSON as far as it
    /// goes (`FriendItem[].To_Account`, `ResponseFriendItem[].To_Account`).
    pub(crate) fn friend_targets(&self) -> Option<Vec<String>> {
        let list = match self.command {
            Command::SnsPrevFriendAdd => "FriendItem",
            Command::SnsPrevFriendResponse => "ResponseFriendItem",
            _ => return None,
        };
        Some(
            member(self.body.get(), list).map_or_else(Vec::new, |items| {
                serde_json::from_str::<Targets>(items.get()).map_or_else(|_| Vec::new(), |t| t.0)
            }),
        )
    }
}

/// The `To_Account` strings of a list of JSON values, skipping the items without one.
struct Targets(Vec<String>);

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Targets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Targets, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    let to = member(item.get(), "To_Account");
                    if let Some(to) = to.and_then(|to| serde_json::from_str(to.get()).ok()) {
                        out.push(to);
                    }
                }
                Ok(Targets(out))
            }
        }
        d.deserialize_seq(ListVisitor)
    }
}
