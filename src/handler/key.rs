//! Idempotency keys: what makes an event the same event when Tencent sends it twice, and what
//! tells two events apart.
//!
//! The command table's `key` column names, for every command, an identity class below: which
//! fields identify one of its events. [`Event::idempotency_key`] documents each class, and the
//! tests check the classes against every command's fixture.

mod find;

use std::io::Write as _;

use sha2::{Digest, Sha256};

use crate::protocol::command::Command;
use crate::protocol::commands::for_each_command;
use crate::protocol::event::Event;
use crate::protocol::raw::member;
use crate::signature::hex;
use Identity::{Content, Fields};
use find::{Found, find};

/// What tells two events of one command apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Tencent documents what identifies an event: these fields, in this order. An event that
    /// lacks a required one is keyed by its [`Content`](Identity::Content) instead.
    Fields(&'static [Field]),
    /// Nothing documented: the whole event, digested.
    Content,
}

/// One field of an [`Identity`]: its path in the event's JSON (`Key`, `Key.Inner`, or
/// `List[].Key` for that key of every item of a list) and whether the event has an id without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) path: &'static str,
    pub(crate) required: bool,
}

/// A field an event has an id only with.
const fn req(path: &'static str) -> Field {
    Field {
        path,
        required: true,
    }
}

/// A field that is part of the id when sent.
const fn opt(path: &'static str) -> Field {
    Field {
        path,
        required: false,
    }
}

/// A one-to-one message: its key names it within its conversation only.
const C2C_MESSAGE: Identity = Fields(&[req("From_Account"), req("To_Account"), req("MsgKey")]);
/// An edit of a one-to-one message.
const C2C_EDIT: Identity = Fields(&[
    req("From_Account"),
    req("To_Account"),
    req("MsgKey"),
    req("EventTime"),
]);
/// A version of a one-to-one message's extension.
const C2C_EXTENSION: Identity = Fields(&[
    req("From_Account"),
    req("To_Account"),
    req("MsgKey"),
    req("Seq"),
]);
/// A group message: its number within the group, or within the community's topic.
const GROUP_MESSAGE: Identity = Fields(&[req("GroupId"), opt("TopicId"), req("MsgSeq")]);
/// A group message that mentions chatbots.
const BOT_GROUP_MESSAGE: Identity = Fields(&[
    req("GroupId"),
    opt("TopicId"),
    req("MsgSeq"),
    opt("AtRobots_Account"),
]);
/// A version of a group message's extension.
const GROUP_EXTENSION: Identity =
    Fields(&[req("GroupId"), opt("TopicId"), req("MsgSeq"), req("Seq")]);
/// A message of an official account.
const OFFICIAL_ACCOUNT_MESSAGE: Identity = Fields(&[req("Official_Account"), req("MsgKey")]);
/// An edit of a group message: the message, as for `GROUP_MESSAGE`, at the time of the edit.
const GROUP_EDIT: Identity = Fields(&[
    req("GroupId"),
    opt("TopicId"),
    req("MsgSeq"),
    req("EventTime"),
]);
/// A moderation request.
const MODERATION_RESULT: Identity = Fields(&[req("CtxcbRequestId")]);
/// Every report of a batch of message pushes.
const OFFLINE_PUSH: Identity = Fields(&[
    req("Events[].PushID"),
    req("Events[].To_Account"),
    opt("Events[].PushPlatform"),
    opt("Events[].PushStage"),
    opt("Events[].ErrCode"),
    opt("Events[].EventTime"),
]);
/// Every report of a batch of push-task pushes.
const ALL_MEMBER_PUSH: Identity = Fields(&[
    req("Events[].TaskId"),
    req("Events[].To_Account"),
    opt("Events[].EventType"),
    opt("Events[].PushPlatform"),
    opt("Events[].DeviceType"),
    opt("Events[].PushStage"),
    opt("Events[].ErrCode"),
    opt("Events[].EventTime"),
]);

/// A message that was recalled, in a list that may name it twice (see the table).
const RECALL: Identity = Content;
/// A read receipt, reported again as more members read.
const READ_RECEIPT: Identity = Content;
/// No id documented, an `EventTime` in milliseconds documented.
const TIMED: Identity = Content;
/// Neither an id nor an `EventTime` documented.
const UNDOCUMENTED: Identity = Content;

/// `Command::identity`, from the command table's `key` column.
macro_rules! define_identity {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $kind:ident, time $time:ident, key $key:ident,
        fn $method:ident($event:ty) -> $ret:ty;
    )*) => {
        impl Command {
            /// What identifies one event of this command: the table behind
            /// [`Event::idempotency_key`], whose documentation gives the reasons.
            pub(crate) const fn identity(self) -> Identity {
                match self {
                    $(Command::$variant => $key,)*
                }
            }
        }
    };
}
for_each_command!(define_identity);

/// The longest id written into a key as it is; a longer one (a push batch, ids of unusual
/// length) is digested, so that a key stays short whatever the body.
const MAX_PLAIN_ID: usize = 256;

impl Event {
    /// A key that is the same for every delivery of this event to app `app_id` and differs
    /// between events: `<app id>:<command>:<id>`.
    ///
    /// Where Tencent documents what identifies an event of the command, the id is the JSON
    /// array of those fields' values, in the order of the table below (`null` for one that is
    /// part of the id only when sent), or `sha256:<hex>` of that array when it is longer than
    /// 256 bytes. The app id is always part of the key: two apps served by one endpoint have
    /// their own groups, accounts and message numbers, which may well be equal.
    ///
    /// | Key | Fields | Why they name one event |
    /// | --- | --- | --- |
    /// | `C2C_MESSAGE` | `From_Account`, `To_Account`, `MsgKey` | A message is sent once. Its `MsgKey` is `MsgSeq_MsgRandom_MsgTime` (1047/34365) and names it within its conversation only (the recall API takes it with both accounts, 1047/35015): two conversations may each have a message with the same key. A recall (`C2C.CallbackAfterMsgWithDraw`) names the message, which is recalled once (1047/43466). |
    /// | `C2C_EDIT` | `From_Account`, `To_Account`, `MsgKey`, `EventTime` | The message, as above, may be edited again and again: each edit is an event of its own, at its own time (269/128224). |
    /// | `C2C_EXTENSION` | `From_Account`, `To_Account`, `MsgKey`, `Seq` | The message, as above; `Seq` is the version of its extension, raised by every change (1047/76006). |
    /// | `GROUP_MESSAGE` | `GroupId`, `TopicId` (if sent), `MsgSeq` | `MsgSeq` is unique in its group (1047/34375). Messages to the topics of a community carry the community's `GroupId`, and nothing says two topics never use the same `MsgSeq`, so the topic is part of the id. |
    /// | `BOT_GROUP_MESSAGE` | `GroupId`, `TopicId` (if sent), `MsgSeq`, `AtRobots_Account` (if sent) | The message, as above, and the chatbots it mentions: 1047/68953 does not say whether a message mentioning two chatbots makes one event or one per chatbot. |
    /// | `GROUP_EXTENSION` | `GroupId`, `TopicId` (if sent), `MsgSeq`, `Seq` | The message, as above (1047/76007 lists no `TopicId`; it is used when sent), and `Seq`, the version of its extension. |
    /// | `GROUP_EDIT` | `GroupId`, `TopicId` (if sent), `MsgSeq`, `EventTime` | The message, as for `GROUP_MESSAGE`, may be edited again and again: each edit is an event of its own, at its own time (269/129193). |
    /// | `OFFICIAL_ACCOUNT_MESSAGE` | `Official_Account`, `MsgKey` | `MsgKey` names a message of its account (`seq_random_time`, as for one-to-one messages; 1047/60804), which is sent once. |
    /// | `MODERATION_RESULT` | `CtxcbRequestId` | The id of one moderation request, which has one result (1047/78240). The body has no `EventTime`. |
    /// | `OFFLINE_PUSH` | `Events[].PushID`, `Events[].To_Account`, `Events[].PushPlatform` (if sent), `Events[].PushStage` (if sent), `Events[].ErrCode` (if sent), `Events[].EventTime` (if sent) | Every report of the batch, in order: a push (`PushID`) to a recipient (1047/67552 does not say that a `PushID` names one) on a vendor channel, reaching a stage (sent, delivered, clicked), with its result and time. Batches over quota are sent again (1047/67552), and the body has no top-level `EventTime`. |
    /// | `ALL_MEMBER_PUSH` | `Events[].TaskId`, `Events[].To_Account`, `Events[].EventType` (if sent), `Events[].PushPlatform` (if sent), `Events[].DeviceType` (if sent), `Events[].PushStage` (if sent), `Events[].ErrCode` (if sent), `Events[].EventTime` (if sent) | Every report of the batch, in order: a task reaches each recipient, online or offline, on each vendor channel and device, in stages, each with its result and time (1047/67551). |
    /// | `RECALL` | the whole event | A message is recalled once, but 1047/60805 and 1047/46979 do not say whether a message that failed to be recalled is listed, so one message may be in two events: their `EventTime` tells them apart. |
    /// | `READ_RECEIPT` | the whole event | The receipts of the same messages are reported again as more members read them (1047/60395): the counts, the readers and the `EventTime` tell them apart. |
    /// | `TIMED` | the whole event | No id is documented (a call's `CallId` and a room's `RoomId` name the call or room, not one of its events, 269/129102, 269/105401), but an `EventTime` in milliseconds is: two events differ in their time or in what they say. Two with the same content in the same millisecond are taken for one. |
    /// | `UNDOCUMENTED` | the whole event | Neither an id nor an `EventTime` is documented, and the same body may well be a new event (an unfriend and a re-friend send the same `Sns.CallbackFriendAdd`): see below. Some of these events have an `EventTime` field all the same (the topic events share the group events' header); one that sends it is de-duplicated as below. |
    ///
    /// The four classes of the whole event (`RECALL`, `READ_RECEIPT`, `TIMED`, `UNDOCUMENTED`)
    /// key an event the same way; they differ in what Tencent documents, which is why they are
    /// kept apart. Whether such an event is de-duplicated depends on what it carries, below, not
    /// on its class; a unit test checks that every `TIMED` command's table row gives the unit of
    /// its `EventTime`.
    ///
    /// For the whole event (and for an event that lacks a field its command's id requires, or a
    /// command this crate does not know), the id is `sha256:<hex>` of the command and the event's
    /// JSON in its canonical form: every field under its first key (`GroupId`, not `GroupID`),
    /// numbers as numbers, flags as booleans, enums by their documented name (`Work`, not
    /// `Private`), ids as strings, no `null` for an absent field. [`to_json`](Event::to_json)
    /// writes the event as it was sent instead; a retry from Tencent is the same bytes either way,
    /// but the canonical form also makes one key of the same event sent in two spellings, and is
    /// stable across a serialise/parse round trip. The ids are read from the canonical form too,
    /// so `"MsgSeq":"123"` and `"MsgSeq":123`, or `GroupId` and `GroupID`, give one key. An event
    /// without a field its id requires (a message of an older live-streaming group, which has no
    /// `MsgSeq`) is keyed by its content.
    ///
    /// The service's de-duplication ([`WebhookConfigBuilder::dedup`](crate::WebhookConfigBuilder::dedup))
    /// and the Redis workers use this key for after-events with an id, or with an `EventTime`
    /// (an event stamped to the millisecond is unlikely to be repeated as a new one). An event with
    /// neither is never de-duplicated, and neither is a before-event: each is a decision Tencent
    /// waits for.
    ///
    /// ```
    /// use tencent_chat_webhook::Event;
    ///
    /// let body = br#"{"From_Account":"a","To_Account":"b","MsgKey":"1_2_3","MsgBody":[]}"#;
    /// let event = Event::parse("C2C.CallbackAfterSendMsg", body).unwrap();
    /// assert_eq!(
    ///     event.idempotency_key(1400000000),
    ///     r#"1400000000:C2C.CallbackAfterSendMsg:["a","b","1_2_3"]"#
    /// );
    /// // The same message number in another app is another event.
    /// assert_ne!(event.idempotency_key(1400000001), event.idempotency_key(1400000000));
    ///
    /// // So is the same message number in another topic of the community.
    /// let in_topic = |topic: &str| {
    ///     let body = format!(
    ///         r#"{{"GroupId":"@TGS#_1","TopicId":"{topic}","From_Account":"a","MsgSeq":7,"MsgBody":[]}}"#
    ///     );
    ///     let event = Event::parse("Group.CallbackAfterSendMsg", body.as_bytes()).unwrap();
    ///     event.idempotency_key(1400000000)
    /// };
    /// assert_eq!(in_topic("t1"), r#"1400000000:Group.CallbackAfterSendMsg:["@TGS#_1","t1",7]"#);
    /// assert_ne!(in_topic("t1"), in_topic("t2"));
    ///
    /// let full = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":"@TGS#1"}"#).unwrap();
    /// assert!(full.idempotency_key(1400000000).starts_with("1400000000:Group.CallbackAfterGroupFull:sha256:"));
    /// ```
    pub fn idempotency_key(&self, app_id: u64) -> String {
        self.key(app_id, false).unwrap_or_default()
    }

    /// The key the de-duplication step uses: the [`idempotency_key`](Event::idempotency_key)
    /// of an event with an id, or with an `EventTime` (a millisecond stamp makes two different
    /// events differ). An event with neither (for instance `Sns.CallbackFriendAdd`,
    /// `Group.CallbackOnMemberStateChange`, `Alert.RequestOverLimit`: the same body may well be
    /// a new event, an unfriend and a re-friend) is never de-duplicated.
    pub(crate) fn dedup_key(&self, app_id: u64) -> Option<String> {
        self.key(app_id, true)
    }

    /// The key; `None` when `dedup_only` and the event is not de-duplicated.
    fn key(&self, app_id: u64, dedup_only: bool) -> Option<String> {
        // Read from the canonical form, so that the key does not depend on spelling.
        crate::protocol::wire::canonical(|| self.canonical_key(app_id, dedup_only))
    }

    /// [`key`](Self::key), with the event written in its canonical form.
    fn canonical_key(&self, app_id: u64, dedup_only: bool) -> Option<String> {
        let mut key = Vec::with_capacity(128);
        let _ = write!(key, "{app_id}:{}:", self.command_name());
        if !self.write_id(&mut key) {
            if dedup_only && !self.has_event_time() {
                return None;
            }
            self.write_digest(&mut key);
        }
        // A command name, then JSON written by serde_json or hex digits: UTF-8.
        String::from_utf8(key).ok()
    }

    /// Appends the id its command's [`Identity`] names, if the event has every required field.
    fn write_id(&self, key: &mut Vec<u8>) -> bool {
        let Some(Identity::Fields(fields)) = self.command().map(Command::identity) else {
            return false;
        };
        let start = key.len();
        key.push(b'[');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                key.push(b',');
            }
            let at = key.len();
            match find(self, field.path, key) {
                Found::All => {}
                Found::Partly if !field.required => {}
                Found::Nothing if !field.required => {
                    key.truncate(at);
                    key.extend_from_slice(b"null");
                }
                Found::Partly | Found::Nothing => {
                    key.truncate(start);
                    return false;
                }
            }
        }
        key.push(b']');
        if key.len() - start > MAX_PLAIN_ID {
            let digest = Sha256::digest(&key[start..]);
            key.truncate(start);
            key.extend_from_slice(b"sha256:");
            key.extend_from_slice(hex(&digest).as_bytes());
        }
        true
    }

    /// Appends `sha256:<hex>` of the command and the event's JSON.
    fn write_digest(&self, key: &mut Vec<u8>) {
        let mut hasher = Sha256::new();
        hasher.update(self.command_name().as_bytes());
        hasher.update(b"\n");
        // Streamed into the digest: the JSON of a large event is never held whole.
        let _ = serde_json::to_writer(Digested(&mut hasher), self);
        key.extend_from_slice(b"sha256:");
        key.extend_from_slice(hex(&hasher.finalize()).as_bytes());
    }

    /// Whether the event carries an `EventTime` at its top level.
    fn has_event_time(&self) -> bool {
        match self {
            // Raw JSON serialises as serde_json's private token, not as an object.
            Event::Unknown(e) => member(e.body.get(), "EventTime").is_some(),
            _ => find(self, "EventTime", &mut Vec::new()) == Found::All,
        }
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
mod tests;
