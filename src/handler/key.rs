//! Idempotency keys: what makes an event the same event when Tencent sends it twice, and what
//! tells two events apart.
//!
//! One table, [`Command::identity`], says for every command which fields identify one of its
//! events; [`Event::idempotency_key`] documents it, row by row, and the tests check both against
//! every command's fixture.

use std::fmt;
use std::io::Write as _;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{self, Impossible, Serializer};
use serde_json::value::RawValue;

use sha2::{Digest, Sha256};

use super::{Command, Event, UnparsedEvent};
use crate::protocol::commands::for_each_command;
use crate::protocol::raw::member;
use crate::signature::hex;
use Identity::{Content, Fields};

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
    /// | `UNDOCUMENTED` | the whole event | Neither an id nor an `EventTime` is documented, and the same body may well be a new event (an unfriend and a re-friend send the same `Sns.CallbackFriendAdd`): see below. |
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

/// What [`find`] found at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// The value (for a list path: the key in every item of the list).
    All,
    /// A list path's list, with the key missing from some items (written as `null`).
    Partly,
    /// Nothing (and nothing was written).
    Nothing,
}

/// Writes the JSON at `path` of what `value` serialises to into `out`: `Key` (a value of the
/// object), `Key.Rest` (`Rest` of the object at `Key`) or `Key[].Rest` (`Rest` of every item of
/// the list at `Key`, as a JSON array). Only the values on the path are serialised, as
/// serde_json writes them; the rest of the event is skipped.
fn find<T: Serialize + ?Sized>(value: &T, path: &str, out: &mut Vec<u8>) -> Found {
    let mut finder = Finder::new(Path::parse(path), false, out);
    match value.serialize(&mut finder) {
        Ok(()) => finder.found,
        Err(_) => Found::Nothing,
    }
}

/// A path of [`find`], split at its first step.
#[derive(Clone, Copy)]
struct Path<'p> {
    /// The key of the first step.
    key: &'p str,
    /// Whether the value at `key` is a list whose items hold `rest`.
    list: bool,
    /// The path under `key`.
    rest: Option<&'p str>,
}

impl<'p> Path<'p> {
    fn parse(path: &'p str) -> Self {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path, None),
        };
        match head.strip_suffix("[]") {
            Some(key) => Path {
                key,
                list: true,
                rest,
            },
            None => Path {
                key: head,
                list: false,
                rest,
            },
        }
    }
}

/// The serializer behind [`find`]: looks for its path in an object, or, for `items`, in every
/// item of a list.
struct Finder<'p, 'o> {
    path: Path<'p>,
    items: bool,
    out: &'o mut Vec<u8>,
    found: Found,
}

impl<'p, 'o> Finder<'p, 'o> {
    fn new(path: Path<'p>, items: bool, out: &'o mut Vec<u8>) -> Self {
        Finder {
            path,
            items,
            out,
            found: Found::Nothing,
        }
    }

    /// A value of the object being searched, under `key`.
    fn entry<K, V>(&mut self, key: &K, value: &V) -> Result<(), serde_json::Error>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        if self.items
            || self.found != Found::Nothing
            || !key.serialize(KeyIs(self.path.key)).unwrap_or(false)
        {
            return Ok(());
        }
        match self.path.rest {
            None => {
                serde_json::to_writer(&mut *self.out, value)?;
                self.found = Found::All;
            }
            Some(rest) => {
                let mut inner = Finder::new(Path::parse(rest), self.path.list, self.out);
                value.serialize(&mut inner)?;
                self.found = inner.found;
            }
        }
        Ok(())
    }

    /// An item of the list being searched.
    fn item<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), serde_json::Error> {
        if !self.items {
            return Ok(());
        }
        if self.found == Found::Nothing {
            self.found = Found::All;
        } else {
            self.out.push(b',');
        }
        let mut inner = Finder::new(self.path, false, self.out);
        value.serialize(&mut inner)?;
        match inner.found {
            Found::All => {}
            Found::Partly => self.found = Found::Partly,
            Found::Nothing => {
                self.out.extend_from_slice(b"null");
                self.found = Found::Partly;
            }
        }
        Ok(())
    }
}

/// The methods the two serializers of this module share: a scalar holds nothing to look into
/// (`Ok($ok)`), an option or a newtype is looked into, and tuples and enum variants, which no
/// event holds, are not searched.
macro_rules! searcher_methods {
    ($ok:expr) => {
        searcher_methods!($ok;
            serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
            serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
            serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
            serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str)
        );

        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Self::Error> {
            Ok($ok)
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
            not_searched()
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            not_searched()
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            not_searched()
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            not_searched()
        }
    };
    ($ok:expr; $($method:ident($($arg:ty),*)),*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Ok($ok)
        }
    )*};
}

/// What the serializers do not look into.
fn not_searched<T>() -> Result<T, serde_json::Error> {
    Err(ser::Error::custom("not searched"))
}

impl Serializer for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    searcher_methods!(());

    fn serialize_str(self, _: &str) -> Result<(), serde_json::Error> {
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, serde_json::Error> {
        if self.items {
            self.out.push(b'[');
        }
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, serde_json::Error> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, serde_json::Error> {
        Ok(self)
    }
}

impl ser::SerializeSeq for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        if self.items {
            if self.found == Found::Nothing {
                // An empty list: every one of its (no) items has the key.
                self.found = Found::All;
            }
            self.out.push(b']');
        }
        Ok(())
    }
}

impl ser::SerializeMap for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), serde_json::Error> {
        // Every map of an event is written by `serialize_entry`.
        not_searched()
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), serde_json::Error> {
        not_searched()
    }

    fn serialize_entry<K, V>(&mut self, key: &K, value: &V) -> Result<(), serde_json::Error>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        self.entry(key, value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.entry(key, value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// A serializer that says whether a map key is the string it holds.
struct KeyIs<'a>(&'a str);

impl Serializer for KeyIs<'_> {
    type Ok = bool;
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<bool, serde_json::Error>;
    type SerializeTuple = Impossible<bool, serde_json::Error>;
    type SerializeTupleStruct = Impossible<bool, serde_json::Error>;
    type SerializeTupleVariant = Impossible<bool, serde_json::Error>;
    type SerializeMap = Impossible<bool, serde_json::Error>;
    type SerializeStruct = Impossible<bool, serde_json::Error>;
    type SerializeStructVariant = Impossible<bool, serde_json::Error>;

    searcher_methods!(false);

    fn serialize_str(self, key: &str) -> Result<bool, serde_json::Error> {
        Ok(key == self.0)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        not_searched()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        not_searched()
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        not_searched()
    }
}

impl Event {
    /// The targets of a friend request (`Sns.CallbackPrevFriendAdd`, `…Response`), in order.
    pub(crate) fn friend_targets(&self) -> Option<Vec<String>> {
        match self {
            Event::SnsPrevFriendAdd(e) => Some(e.targets().map(str::to_owned).collect()),
            Event::SnsPrevFriendResponse(e) => Some(e.targets().map(str::to_owned).collect()),
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
    use std::collections::{HashMap, HashSet};

    use serde_json::{Value, json};

    use super::{Found, Identity, find};
    use crate::Command;
    use crate::handler::Event;

    const APP: u64 = 1_400_000_000;

    fn parse(cmd: Command, json: &Value) -> Option<Event> {
        Event::parse(cmd.as_str(), json.to_string().as_bytes()).ok()
    }

    fn key(cmd: Command, json: &Value) -> String {
        parse(cmd, json)
            .unwrap_or_else(|| panic!("{cmd}: does not parse: {json}"))
            .idempotency_key(APP)
    }

    /// One step of a concrete JSON path.
    #[derive(Clone, Debug, PartialEq)]
    enum Step {
        Key(String),
        Index(usize),
    }

    /// The concrete paths a table path names in `json`: `A[].B` is `A`, `i`, `B` for every item
    /// `i` of `A`. A path whose last key is missing is still given (so that it can be added);
    /// one through a missing list or object is not.
    fn locate(json: &Value, path: &str) -> Vec<Vec<Step>> {
        let mut found = vec![(Vec::new(), json)];
        let segments: Vec<&str> = path.split('.').collect();
        let mut out = Vec::new();
        for (n, segment) in segments.iter().enumerate() {
            let last = n + 1 == segments.len();
            let (name, list) = match segment.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (*segment, false),
            };
            let mut next = Vec::new();
            for (mut at, value) in found {
                at.push(Step::Key(name.to_owned()));
                match (value.get(name), list) {
                    (Some(Value::Array(items)), true) => {
                        for (i, item) in items.iter().enumerate() {
                            let mut at = at.clone();
                            at.push(Step::Index(i));
                            next.push((at, item));
                        }
                    }
                    (Some(v), false) if !last => next.push((at, v)),
                    (_, false) if last => out.push(at),
                    _ => {}
                }
            }
            found = next;
        }
        out
    }

    fn get<'a>(json: &'a Value, at: &[Step]) -> Option<&'a Value> {
        at.iter().try_fold(json, |v, step| match step {
            Step::Key(k) => v.get(k),
            Step::Index(i) => v.get(i),
        })
    }

    fn set(json: &mut Value, at: &[Step], value: Value) {
        let (last, parents) = at.split_last().unwrap();
        let mut v = json;
        for step in parents {
            v = match step {
                Step::Key(k) => &mut v[k.as_str()],
                Step::Index(i) => &mut v[*i],
            };
        }
        match last {
            Step::Key(k) => v[k.as_str()] = value,
            Step::Index(i) => v[*i] = value,
        }
    }

    fn remove(json: &mut Value, at: &[Step]) {
        let (Step::Key(last), parents) = at.split_last().unwrap() else {
            panic!("not a key: {at:?}")
        };
        let mut v = json;
        for step in parents {
            v = match step {
                Step::Key(k) => &mut v[k.as_str()],
                Step::Index(i) => &mut v[*i],
            };
        }
        v.as_object_mut().unwrap().remove(last);
    }

    /// Every scalar of `json`, by path.
    fn leaves(json: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match json {
            Value::Object(map) => {
                for (k, v) in map {
                    at.push(Step::Key(k.clone()));
                    leaves(v, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    leaves(v, at, out);
                    at.pop();
                }
            }
            Value::Null => {}
            _ => out.push(at.clone()),
        }
    }

    /// Another value of the same kind: a number (or a numeric string) plus one, a string with a
    /// letter more, a flipped boolean.
    fn mutated(value: &Value) -> Value {
        match value {
            Value::String(s) => match s.parse::<u64>() {
                Ok(n) => json!((n + 1).to_string()),
                Err(_) => json!(format!("{s}x")),
            },
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => json!(u + 1),
                (None, Some(i)) => json!(i - 1),
                _ => json!(n.as_f64().unwrap() * 2.0),
            },
            Value::Bool(b) => json!(!b),
            other => panic!("not a scalar: {other}"),
        }
    }

    /// Mutates the first scalar at or under `at`.
    fn mutate_under(json: &mut Value, at: &[Step]) {
        let mut under = Vec::new();
        leaves(get(json, at).unwrap(), &mut at.to_vec(), &mut under);
        let first = under
            .first()
            .unwrap_or_else(|| panic!("no scalar under {at:?}"));
        let value = mutated(get(json, first).unwrap());
        set(json, first, value);
    }

    #[test]
    fn every_fixture_has_a_key_that_survives_a_round_trip_and_names_its_app() {
        let mut keys = HashSet::new();
        for &cmd in Command::ALL {
            let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
            let key = event.idempotency_key(APP);
            assert!(key.starts_with(&format!("{APP}:{cmd}:")), "{key}");
            let resent = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
            assert_eq!(resent.idempotency_key(APP), key, "{cmd}: resent");
            let again = Event::parse(cmd.as_str(), event.to_json().as_bytes()).unwrap();
            assert_eq!(again.idempotency_key(APP), key, "{cmd}: round trip");
            assert_ne!(event.idempotency_key(APP + 1), key, "{cmd}: another app");
            assert!(keys.insert(key), "{cmd}: key shared with another command");
        }
    }

    /// The table test: for every command's fixture, changing any field of its identity (or
    /// adding an optional one it lacks) changes the key; changing any other field does not
    /// (a delivery that differs only there is the same event); removing a required field falls
    /// back to the whole event. For commands keyed by the whole event, changing any field
    /// changes the key.
    #[test]
    fn every_identity_field_and_only_those_tell_events_apart() {
        for &cmd in Command::ALL {
            let fixture: Value = serde_json::from_str(cmd.sample()).unwrap();
            let base = key(cmd, &fixture);
            let mut all = Vec::new();
            leaves(&fixture, &mut Vec::new(), &mut all);
            all.retain(|at| at.first() != Some(&Step::Key("CallbackCommand".into())));
            let fields = match cmd.identity() {
                Identity::Fields(fields) => fields,
                Identity::Content => {
                    for at in &all {
                        let mut changed = fixture.clone();
                        set(&mut changed, at, mutated(get(&fixture, at).unwrap()));
                        if let Some(event) = parse(cmd, &changed) {
                            assert_ne!(event.idempotency_key(APP), base, "{cmd}: {at:?}");
                        }
                    }
                    continue;
                }
            };
            assert!(!base.contains("sha256:"), "{cmd}: the fixture has its id");
            let mut covered = Vec::new();
            for field in fields {
                let places = locate(&fixture, field.path);
                assert!(!places.is_empty(), "{cmd}: {} not found", field.path);
                for at in places {
                    covered.push(at.clone());
                    let (json, key_with) = match get(&fixture, &at) {
                        Some(_) => (fixture.clone(), base.clone()),
                        None => {
                            // An optional field the fixture lacks: sent, it is part of the id.
                            let added = [json!("sent"), json!(7)].into_iter().find_map(|v| {
                                let mut json = fixture.clone();
                                set(&mut json, &at, v);
                                parse(cmd, &json).map(|_| json)
                            });
                            let json = added.unwrap_or_else(|| panic!("{cmd}: {at:?}"));
                            let key_with = key(cmd, &json);
                            assert_ne!(key_with, base, "{cmd}: {at:?} added");
                            (json, key_with)
                        }
                    };
                    let mut changed = json.clone();
                    mutate_under(&mut changed, &at);
                    assert_ne!(key(cmd, &changed), key_with, "{cmd}: {at:?} changed");
                    if field.required {
                        let mut without = json.clone();
                        remove(&mut without, &at);
                        if let Some(event) = parse(cmd, &without) {
                            let fallback = event.idempotency_key(APP);
                            assert!(fallback.contains(":sha256:"), "{cmd}: {at:?} removed");
                        }
                    }
                }
            }
            for at in &all {
                if covered.iter().any(|c| at.starts_with(c)) {
                    continue;
                }
                let mut changed = fixture.clone();
                set(&mut changed, at, mutated(get(&fixture, at).unwrap()));
                if let Some(event) = parse(cmd, &changed) {
                    assert_eq!(event.idempotency_key(APP), base, "{cmd}: {at:?} is no id");
                }
            }
        }
    }

    /// The table in `idempotency_key`'s documentation names every command once, with the
    /// fields of its identity (`(if sent)` marking the optional ones) or `the whole event`.
    #[test]
    fn the_documented_table_is_the_identity_table() {
        let source = include_str!("key.rs");
        let mut documented: HashMap<&str, &str> = HashMap::new();
        for row in source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("/// | `"))
        {
            let cells: Vec<&str> = row.split(" | ").collect();
            let class = cells[0].trim_matches('`');
            assert!(documented.insert(class, cells[1]).is_none(), "{class}");
        }
        let mut used = std::collections::HashSet::new();
        for &cmd in Command::ALL {
            let class = cmd.row().key;
            used.insert(class);
            let cell = documented
                .get(class)
                .unwrap_or_else(|| panic!("{cmd}: key class {class} is not documented"));
            let expected = match cmd.identity() {
                Identity::Content => "the whole event".to_owned(),
                Identity::Fields(fields) => fields
                    .iter()
                    .map(|f| match f.required {
                        true => format!("`{}`", f.path),
                        false => format!("`{}` (if sent)", f.path),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            assert_eq!(*cell, expected, "{cmd}");
        }
        let unused: Vec<_> = documented.keys().filter(|c| !used.contains(*c)).collect();
        assert!(
            unused.is_empty(),
            "documented but no command's class: {unused:?}"
        );
    }

    #[test]
    fn events_that_collide_on_one_field_have_keys_of_their_own() {
        type Case = (&'static str, &'static str, &'static str, &'static str);
        let cases: [Case; 5] = [
            (
                "two conversations, one message key",
                "C2C.CallbackAfterSendMsg",
                r#"{"From_Account":"a","To_Account":"b","MsgKey":"1_2_3","MsgBody":[]}"#,
                r#"{"From_Account":"a","To_Account":"c","MsgKey":"1_2_3","MsgBody":[]}"#,
            ),
            (
                "two topics, one message number",
                "Group.CallbackAfterSendMsg",
                r#"{"GroupId":"@TGS#_g","TopicId":"t1","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
                r#"{"GroupId":"@TGS#_g","TopicId":"t2","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
            ),
            (
                "a community and one of its topics",
                "Group.CallbackAfterSendMsg",
                r#"{"GroupId":"@TGS#_g","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
                r#"{"GroupId":"@TGS#_g","TopicId":"t1","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
            ),
            (
                "two edits of one message",
                "C2C.CallbackAfterModifyMsg",
                r#"{"From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":[],"EventTime":1}"#,
                r#"{"From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":[],"EventTime":2}"#,
            ),
            (
                "one push to two recipients",
                "Push.OfflinePush",
                r#"{"Events":[{"From_Account":"a","To_Account":"b","PushID":"p","PushStage":1}]}"#,
                r#"{"Events":[{"From_Account":"a","To_Account":"c","PushID":"p","PushStage":1}]}"#,
            ),
        ];
        for (name, command, one, other) in cases {
            let one = Event::parse(command, one.as_bytes()).unwrap();
            let other = Event::parse(command, other.as_bytes()).unwrap();
            assert_ne!(one.dedup_key(APP), other.dedup_key(APP), "{name}");
            assert!(one.dedup_key(APP).is_some(), "{name}");
        }
        // Two fields whose values run into each other are still told apart.
        let group = |g: &str, t: &str| {
            let body = json!({"GroupId": g, "TopicId": t, "From_Account": "a", "MsgSeq": 5, "MsgBody": []});
            let event = Event::parse("Group.CallbackAfterSendMsg", body.to_string().as_bytes());
            event.unwrap().idempotency_key(APP)
        };
        assert_ne!(group("g,\"t", "x"), group("g", "t\",x"));
    }

    #[test]
    fn the_same_id_written_differently_is_one_key() {
        let string = br#"{"GroupId":"g","From_Account":"a","MsgSeq":"4294967297","MsgBody":[]}"#;
        let number = br#"{ "GroupID" : "g", "From_Account":"b", "MsgSeq": 4294967297, "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"edited?"}}]}"#;
        let a = Event::parse("Group.CallbackAfterSendMsg", string).unwrap();
        let b = Event::parse("Group.CallbackAfterSendMsg", number).unwrap();
        assert_eq!(a.idempotency_key(APP), b.idempotency_key(APP));
        assert_eq!(
            a.idempotency_key(APP),
            r#"1400000000:Group.CallbackAfterSendMsg:["g",null,4294967297]"#
        );
    }

    /// The whole-event digest is of the canonical form: the same event in another spelling (keys,
    /// numbers as strings, legacy names, ids as numbers, `null`s) has the same key, which
    /// `to_json`, written as sent, would not give.
    #[test]
    fn a_digest_does_not_depend_on_spelling() {
        let cases: [(&str, &str, &str); 4] = [
            (
                "Group.CallbackAfterGroupFull",
                r#"{"GroupId":"g","EventTime":1670574414123}"#,
                r#"{"GroupID":"g","EventTime":"1670574414123"}"#,
            ),
            (
                "Group.CallbackAfterNewMemberJoin",
                r#"{"GroupId":"g","Type":"Work","Operator_Account":"a","NewMemberList":[],"EventTime":1}"#,
                r#"{"GroupId":"g","Type":"Private","Operator_Account":"a","NewMemberList":[],"EventTime":" 1","JoinType":null}"#,
            ),
            (
                "Call.CallbackAfterMemberChanged",
                r#"{"CallId":"c","ChangedUserList":[{"User_Account":"7","ActionType":"Accept"}],"EventTime":1}"#,
                r#"{"CallId":"c","ChangedUserList":[{"User_Account":7,"ActionType":"Answer"}],"EventTime":1}"#,
            ),
            (
                "Room.CallbackAfterUpdateRoomInfo",
                r#"{"Operator_Account":"a","RoomInfo":{"RoomId":"r","IsVideoDisabled":false},"EventTime":1}"#,
                r#"{"Operator_Account":"a","RoomInfo":{"RoomId":"r","IsVideoDisabled":"0"},"EventTime":1}"#,
            ),
        ];
        for (command, canonical, spelled) in cases {
            let canonical = Event::parse(command, canonical.as_bytes()).unwrap();
            let spelled = Event::parse(command, spelled.as_bytes()).unwrap();
            assert_ne!(canonical.to_json(), spelled.to_json(), "{command}: as sent");
            assert_eq!(canonical, spelled, "{command}");
            let key = canonical.idempotency_key(APP);
            assert!(key.contains(":sha256:"), "{key}");
            assert_eq!(spelled.idempotency_key(APP), key, "{command}");
        }
    }

    #[test]
    fn keys_stay_short_whatever_the_body() {
        let long = "k".repeat(100_000);
        let body =
            format!(r#"{{"From_Account":"a","To_Account":"b","MsgKey":"{long}","MsgBody":[]}}"#);
        let event = Event::parse("C2C.CallbackAfterSendMsg", body.as_bytes()).unwrap();
        let key = event.idempotency_key(APP);
        assert!(key.len() < 128, "{key}");
        assert!(key.contains(":sha256:"), "{key}");
        let shorter = body.replacen(&long, &long[1..], 1);
        let shorter = Event::parse("C2C.CallbackAfterSendMsg", shorter.as_bytes()).unwrap();
        assert_ne!(shorter.idempotency_key(APP), key);

        let events: Vec<_> = (0..100)
            .map(|i| json!({"From_Account":"a","To_Account":format!("u{i}"),"PushID":format!("p{i}")}))
            .collect();
        let batch = json!({ "Events": events }).to_string();
        let event = Event::parse("Push.OfflinePush", batch.as_bytes()).unwrap();
        let key = event.dedup_key(APP).unwrap();
        assert!(key.len() < 128, "{key}");
    }

    #[test]
    fn only_events_with_an_id_or_a_time_are_de_duplicated() {
        let cases: [(&str, &str, bool); 7] = [
            (
                "Sns.CallbackFriendAdd",
                Command::SnsFriendAdd.sample(),
                false,
            ),
            (
                "Alert.RequestOverLimit",
                Command::AlertRequestOverLimit.sample(),
                false,
            ),
            ("Group.CallbackAfterGroupFull", r#"{"GroupId":"g"}"#, false),
            (
                "Group.CallbackAfterGroupFull",
                r#"{"GroupId":"g","EventTime":"1"}"#,
                true,
            ),
            // An id command without its id falls back to its time, when it has one.
            (
                "C2C.CallbackAfterSendMsg",
                r#"{"From_Account":"a","To_Account":"b","MsgBody":[]}"#,
                false,
            ),
            (
                "C2C.CallbackAfterSendMsg",
                r#"{"From_Account":"a","To_Account":"b","MsgBody":[],"EventTime":1}"#,
                true,
            ),
            ("Future.Event", r#"{"EventTime":1,"Whatever":[]}"#, true),
        ];
        for (command, body, deduplicated) in cases {
            let event = Event::parse(command, body.as_bytes()).unwrap();
            let key = event.dedup_key(APP);
            assert_eq!(key.is_some(), deduplicated, "{command} {body}");
            if let Some(key) = key {
                assert_eq!(key, event.idempotency_key(APP));
            }
        }
    }

    #[test]
    fn a_path_finds_values_in_objects_and_lists() {
        let value = json!({"A": {"B": 1}, "L": [{"K": "x"}, {"J": 2}, {"K": true}], "S": "s"});
        let cases: [(&str, &str, Found); 6] = [
            ("S", r#""s""#, Found::All),
            ("A", r#"{"B":1}"#, Found::All),
            ("A.B", "1", Found::All),
            ("L[].K", r#"["x",null,true]"#, Found::Partly),
            ("L[].J", "[null,2,null]", Found::Partly),
            ("Z", "", Found::Nothing),
        ];
        for (path, written, found) in cases {
            let mut out = Vec::new();
            assert_eq!(find(&value, path, &mut out), found, "{path}");
            assert_eq!(String::from_utf8(out).unwrap(), written, "{path}");
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
}
