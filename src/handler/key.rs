//! Idempotency keys: what makes an event the same event when Tencent sends it twice.

use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use sha2::{Digest, Sha256};

use super::{Command, Event, UnparsedEvent};
use crate::auth::hex;
use crate::protocol::raw::member;

impl Event {
    /// A key that is the same for every delivery of this event and differs between events:
    /// `<command>:<id>`. The id is what Tencent documents as unique for the command, where it
    /// documents one:
    ///
    /// | Commands | Id |
    /// | --- | --- |
    /// | `OfficialAccount.CallbackAfterSendMsg`, `C2C.CallbackBeforeSendMsg`, `C2C.CallbackAfterSendMsg`, `C2C.CallbackAfterMsgWithDraw`, `Bot.OnC2CMessage` | `MsgKey` |
    /// | `C2C.CallbackAfterModifyMsg` | `MsgKey` and `EventTime` (a message may be edited again) |
    /// | `C2C.CallbackAfterC2CMsgExtension` | `MsgKey` and the extension's `Seq` |
    /// | `Group.CallbackAfterSendMsg`, `Bot.OnGroupMessage` | `GroupId` and `MsgSeq` |
    /// | `Group.CallbackAfterGroupMsgExtension` | `GroupId`, `MsgSeq` and `Seq` |
    /// | `ContentCallback.ResultNotify` | `CtxcbRequestId` |
    /// | `Push.OfflinePush` | every event's `PushID` and `PushStage`, digested |
    /// | `Push.AllMemberPush` | every event's `TaskId`, `To_Account`, `EventType` and `PushStage`, digested |
    ///
    /// Every other command (and any of the above without its id) gets `sha256:<hex>` of its
    /// command and its JSON as [`to_json`](Event::to_json) writes it: the same for a delivery
    /// repeated byte for byte, and stable across a serialise/parse round trip, since the JSON is
    /// written from the typed event.
    ///
    /// ```
    /// use tencent_chat_webhook::Event;
    ///
    /// let body = br#"{"From_Account":"a","To_Account":"b","MsgKey":"1_2_3","MsgBody":[]}"#;
    /// let event = Event::parse("C2C.CallbackAfterSendMsg", body).unwrap();
    /// assert_eq!(event.idempotency_key(), "C2C.CallbackAfterSendMsg:1_2_3");
    ///
    /// let full = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":"@TGS#1"}"#).unwrap();
    /// assert!(full.idempotency_key().starts_with("Group.CallbackAfterGroupFull:sha256:"));
    /// ```
    pub fn idempotency_key(&self) -> String {
        let id = self.documented_id().unwrap_or_else(|| {
            let mut hasher = Sha256::new();
            hasher.update(self.command_name().as_bytes());
            hasher.update(b"\n");
            // Streamed into the digest: the JSON of a large event is never held whole.
            let _ = serde_json::to_writer(Digested(&mut hasher), self);
            format!("sha256:{}", hex(&hasher.finalize()))
        });
        format!("{}:{id}", self.command_name())
    }

    /// The key the de-duplication step uses: the [`idempotency_key`](Event::idempotency_key)
    /// when it comes from a documented id, or from a digest of an event that carries an
    /// `EventTime` (a millisecond stamp makes two different events differ). An event with
    /// neither (for instance `Sns.CallbackFriendAdd`, `Group.CallbackOnMemberStateChange`,
    /// `Alert.RequestOverLimit`: the same body may well be a new event, an unfriend and a
    /// re-friend) is never de-duplicated.
    pub(crate) fn dedup_key(&self) -> Option<String> {
        if self.documented_id().is_some() {
            return Some(self.idempotency_key());
        }
        let json = serde_json::to_value(self).ok()?;
        json.get("EventTime")?;
        Some(self.idempotency_key())
    }

    /// The targets of a friend request (`Sns.CallbackPrevFriendAdd`, `…Response`), in order.
    pub(crate) fn friend_targets(&self) -> Option<Vec<String>> {
        match self {
            Event::SnsPrevFriendAdd(e) => Some(e.targets().map(str::to_owned).collect()),
            Event::SnsPrevFriendResponse(e) => Some(e.targets().map(str::to_owned).collect()),
            _ => None,
        }
    }

    fn documented_id(&self) -> Option<String> {
        match self {
            Event::OfficialAccountAfterSendMsg(e) => Some(e.msg_key.clone()),
            Event::C2cBeforeSendMsg(e) => e.msg_key.clone(),
            Event::C2cAfterSendMsg(e) => e.msg_key.clone(),
            Event::C2cAfterMsgWithDraw(e) => Some(e.msg_key.clone()),
            Event::BotOnC2cMessage(e) => e.msg_key.clone(),
            Event::C2cAfterModifyMsg(e) => {
                Some(format!("{}@{}", e.msg_key.as_ref()?, e.event_time?))
            }
            Event::C2cAfterC2cMsgExtension(e) => Some(format!("{}#{}", e.msg_key, e.seq?)),
            Event::GroupAfterSendMsg(e) => Some(format!("{}/{}", e.group_id, e.msg_seq)),
            Event::BotOnGroupMessage(e) => Some(format!("{}/{}", e.group_id, e.msg_seq?)),
            Event::GroupAfterGroupMsgExtension(e) => {
                Some(format!("{}/{}#{}", e.group_id, e.msg_seq, e.seq?))
            }
            Event::ContentCallbackResultNotify(e) => e.ctxcb_request_id.clone(),
            Event::PushOfflinePush(p) => {
                let mut ids = String::new();
                for e in &p.events {
                    let stage = e.push_stage.map(|s| s.code());
                    let _ = write!(ids, "{}:{stage:?};", e.push_id.as_deref()?);
                }
                Some(format!("push:{}", hex(&Sha256::digest(ids.as_bytes()))))
            }
            Event::PushAllMemberPush(p) => {
                let mut ids = String::new();
                for e in &p.events {
                    let kind = e.event_type.map(|t| t.code());
                    let stage = e.push_stage.map(|s| s.code());
                    let _ = write!(ids, "{}:{}:{kind:?}:{stage:?};", e.task_id, e.to_account);
                }
                Some(format!("task:{}", hex(&Sha256::digest(ids.as_bytes()))))
            }
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

/// Feeds what is written into a digest.
struct Digested<'a>(&'a mut Sha256);

impl std::io::Write for Digested<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Command;
    use crate::handler::Event;

    #[test]
    fn every_fixture_has_a_key_that_survives_a_round_trip() {
        let mut keys = std::collections::HashSet::new();
        for &cmd in Command::ALL {
            let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
            let key = event.idempotency_key();
            assert!(key.starts_with(&format!("{cmd}:")), "{key}");
            let again = Event::parse(cmd.as_str(), event.to_json().as_bytes()).unwrap();
            assert_eq!(again.idempotency_key(), key, "{cmd}");
            assert!(keys.insert(key), "{cmd}: key shared with another command");
        }
    }

    /// The service skips the targets of events whose command is not answered per target
    /// (`answers_per_target`): that list and the events that have targets are the same.
    #[test]
    fn the_commands_answered_per_target_are_those_whose_events_have_targets() {
        for &cmd in Command::ALL {
            let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
            assert_eq!(
                event.friend_targets().is_some(),
                cmd.answers_per_target(),
                "{cmd}"
            );
        }
    }

    #[test]
    fn documented_ids_are_used_and_other_events_differ_by_content() {
        let cases = [
            (
                "C2C.CallbackAfterSendMsg",
                r#"{"From_Account":"a","To_Account":"b","MsgKey":"k1","MsgBody":[]}"#,
                "C2C.CallbackAfterSendMsg:k1",
            ),
            (
                "Group.CallbackAfterSendMsg",
                r#"{"GroupId":"@TGS#1","From_Account":"a","MsgSeq":"4294967297","MsgBody":[]}"#,
                "Group.CallbackAfterSendMsg:@TGS#1/4294967297",
            ),
            (
                "ContentCallback.ResultNotify",
                r#"{"CtxcbRequestId":"r-1","Scene":"C2C"}"#,
                "ContentCallback.ResultNotify:r-1",
            ),
        ];
        for (command, body, key) in cases {
            let event = Event::parse(command, body.as_bytes()).unwrap();
            assert_eq!(event.idempotency_key(), key);
        }
        let a = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":"@TGS#1"}"#).unwrap();
        let b = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":"@TGS#2"}"#).unwrap();
        let a_spaced = Event::parse(
            "Group.CallbackAfterGroupFull",
            br#"{ "GroupId" : "@TGS#1" }"#,
        )
        .unwrap();
        assert_ne!(a.idempotency_key(), b.idempotency_key());
        assert_eq!(a.idempotency_key(), a_spaced.idempotency_key());
    }
}
