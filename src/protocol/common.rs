//! Shapes that several families share: member lists, key/value items, group types, platforms,
//! and event times. Written once here and reused by every family module.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::imstr::ImStr;

use super::wire::{open_str_enum, wire_struct};

wire_struct! {
    /// One entry of a member list (`MemberList`, `NewMemberList`, `DestinationMembers`, ...).
    pub struct Member {
        /// The member's UserID.
        pub member_account: ImStr => "Member_Account",
    }
}

impl Member {
    /// An entry for this UserID.
    pub fn new(account: impl Into<ImStr>) -> Self {
        Member {
            member_account: account.into(),
            ..Member::default()
        }
    }
}

wire_struct! {
    /// A custom field given as `{"Key": ..., "Value": ...}` (`UserDefinedDataList`).
    pub struct KeyValue {
        /// The field name.
        pub key: ImStr => "Key",
        /// The field value.
        pub value: ImStr => "Value",
    }
}

open_str_enum! {
    /// A group type (`Type`), as Tencent's Group System page (1047/33529) lists them; any other
    /// value is kept in `Other`. The legacy names match the modern variant, and an event writes
    /// back the name it came with:
    ///
    /// ```
    /// use tencent_chat_webhook::{group, GroupType};
    ///
    /// let json = r#"{"GroupId":"@TGS#1","Type":"Private","Requestor_Account":"a"}"#;
    /// let event: group::BeforeApplyJoin = serde_json::from_str(json).unwrap();
    /// assert!(matches!(event.group_type, Some(GroupType::Work)));
    /// assert_eq!(serde_json::to_string(&event).unwrap(), json);
    /// assert_eq!(GroupType::Work.as_str(), "Work"); // the enum alone says the modern name
    /// ```
    pub enum GroupType {
        /// A public group (users apply to join).
        Public = "Public",
        /// A work group (legacy name `Private`).
        Work = "Work" | "Private",
        /// A meeting group (legacy name `ChatRoom`).
        Meeting = "Meeting" | "ChatRoom",
        /// An audio-video (live broadcast) group.
        AvChatRoom = "AVChatRoom",
        /// A community (with topics).
        Community = "Community",
    }
}

open_str_enum! {
    /// The platform of a device (`KickedDevice[].Platform` of the online-status webhook). Both
    /// documented spellings of Apple platforms are read (`iOS` / `IOS`, `Mac` / `macOS`,
    /// `iPad` / `IPad`), and an event writes back the one it came with.
    pub enum Platform {
        /// `iOS`.
        Ios = "iOS" | "IOS",
        /// `Android`.
        Android = "Android",
        /// `Web`.
        Web = "Web",
        /// `Windows`.
        Windows = "Windows",
        /// `iPad`.
        IPad = "iPad" | "IPad",
        /// `Mac`.
        Mac = "Mac" | "macOS",
        /// `Linux`.
        Linux = "Linux",
    }
}

/// A time in Unix milliseconds (`EventTime` of most commands) as a [`SystemTime`].
pub(crate) fn from_millis(ms: Option<u64>) -> Option<SystemTime> {
    ms.and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
}

/// A time in Unix seconds (`MsgTime`, and `EventTime` of the push callbacks) as a [`SystemTime`].
pub(crate) fn from_secs(secs: Option<u64>) -> Option<SystemTime> {
    secs.and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

/// `event_system_time()` for types whose `EventTime` is in milliseconds (`ms`, every event whose
/// command table row says `time ms`) or seconds (`secs`, the push reports' items); `none` adds
/// nothing.
macro_rules! event_time {
    (ms: $($ty:ty),* $(,)?) => {$(
        impl $ty {
            /// `EventTime` (Unix milliseconds) as a [`SystemTime`](std::time::SystemTime), when
            /// present.
            pub fn event_system_time(&self) -> Option<std::time::SystemTime> {
                $crate::protocol::common::from_millis(self.event_time)
            }
        }
    )*};
    (secs: $($ty:ty),* $(,)?) => {$(
        impl $ty {
            /// `EventTime` (Unix **seconds** for this command) as a
            /// [`SystemTime`](std::time::SystemTime), when present.
            pub fn event_system_time(&self) -> Option<std::time::SystemTime> {
                $crate::protocol::common::from_secs(self.event_time)
            }
        }
    )*};
    (none: $($ty:ty),* $(,)?) => {};
}
pub(crate) use event_time;

/// `members()`: the UserIDs of a member-list field.
macro_rules! members {
    ($($ty:ident . $field:ident),* $(,)?) => {$(
        impl $ty {
            #[doc = concat!("The UserIDs in `", stringify!($field), "`, in order.")]
            pub fn members(&self) -> impl Iterator<Item = &str> {
                $crate::protocol::common::MemberSlice::as_members(&self.$field)
                    .iter()
                    .map(|m| m.member_account.as_str())
            }
        }
    )*};
}
pub(crate) use members;

/// A member list that may be required or optional.
pub(crate) trait MemberSlice {
    fn as_members(&self) -> &[Member];
}

impl MemberSlice for Vec<Member> {
    fn as_members(&self) -> &[Member] {
        self
    }
}

impl MemberSlice for Option<Vec<Member>> {
    fn as_members(&self) -> &[Member] {
        self.as_deref().unwrap_or_default()
    }
}

wire_struct! {
    /// One item of a message extension (`ExtensionList`): a key, its value (empty when deleted)
    /// and its version.
    pub struct ExtensionItem {
        /// The key.
        pub key: ImStr => "Key",
        /// The value; empty when the key was deleted.
        pub value: Option<ImStr> => "Value",
        /// The item's version.
        pub seq: Option<u64> => "Seq",
    }
}

super::wire::open_int_enum! {
    /// What happened to a message's extension (`OperateType`).
    pub enum ExtensionOperation {
        /// Keys were set.
        Set = 1,
        /// Keys were deleted.
        Delete = 2,
        /// Every key was cleared.
        Clear = 3,
    }
}

/// An id (a UserID, a TRTC room id) as Tencent sent it: a JSON string, or a JSON integer.
///
/// The TUICallKit and TUIRoomKit pages type their accounts as strings, but some of their
/// samples print them as numbers (`"User_Account":144115212830834855` in 647/68941,
/// `"Member_Account":144115233775727695` in 647/60736), so both are read, exactly (no integer
/// goes through a float). The id reads as its text ([`as_str`](Self::as_str), `Deref<Target =
/// str>`, comparisons with `str`) and is written back in the form it came in, so an event
/// serialises to the JSON it was parsed from. Like every spelling, the form does not take part in
/// equality or hashing: `10001` and `"10001"` are one id (and one idempotency key).
///
/// ```
/// use tencent_chat_webhook::common::Id;
///
/// let sent_as_number: Id = serde_json::from_str("144115212830834855").unwrap();
/// assert_eq!(sent_as_number, "144115212830834855");
/// assert!(sent_as_number.is_numeric());
/// assert_eq!(serde_json::to_string(&sent_as_number).unwrap(), "144115212830834855");
///
/// let sent_as_string: Id = serde_json::from_str(r#""alice""#).unwrap();
/// assert_eq!(sent_as_string.as_str(), "alice");
/// assert_eq!(serde_json::to_string(&sent_as_string).unwrap(), r#""alice""#);
///
/// let digits: Id = serde_json::from_str(r#""144115212830834855""#).unwrap();
/// assert_eq!(digits, sent_as_number, "one id, two spellings");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Id {
    text: ImStr,
    numeric: bool,
}

impl Id {
    /// An id sent as a string.
    pub fn new(text: impl Into<ImStr>) -> Id {
        Id {
            text: text.into(),
            numeric: false,
        }
    }

    /// The id's text (the decimal digits of one sent as a number).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it was sent as a JSON number.
    pub fn is_numeric(&self) -> bool {
        self.numeric
    }

    /// The id's text.
    pub fn into_string(self) -> String {
        self.text.into_string()
    }
}

/// Compares the text: the form an id was sent in is its spelling.
impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.text == other.text
    }
}

impl Eq for Id {}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl std::ops::Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for Id {
    fn from(text: String) -> Id {
        Id::new(text)
    }
}

impl From<&str> for Id {
    fn from(text: &str) -> Id {
        Id::new(text)
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.text == *other
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The canonical form (idempotency keys) writes every id as its text.
        if self.numeric && !super::wire::is_canonical() {
            // Made from an integer when read; a hand-built numeric id is only ever made so too.
            if let Ok(n) = self.text.parse::<u64>() {
                return s.serialize_u64(n);
            }
            if let Ok(n) = self.text.parse::<i64>() {
                return s.serialize_i64(n);
            }
        }
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct IdVisitor;
        impl<'de> serde::de::Visitor<'de> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id (a string or an integer)")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Id, E> {
                Ok(Id::new(ImStr::lent(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id::new(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id {
                    text: ImStr::digits(v),
                    numeric: true,
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id {
                    text: ImStr::digits(v),
                    numeric: true,
                })
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

impl super::wire::Wire for Id {
    fn de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <Id as serde::Deserialize>::deserialize(d)
    }
}

/// The texts of a list of ids, in order.
pub(crate) fn id_strs(ids: &[Id]) -> impl Iterator<Item = &str> {
    ids.iter().map(Id::as_str)
}

#[cfg(test)]
mod tests {
    use super::Id;

    #[test]
    fn ids_keep_their_text_and_their_form() {
        let cases = [
            ("string", r#""user1""#, "user1", false),
            ("empty string", r#""""#, "", false),
            ("digits in a string", r#""10001""#, "10001", false),
            (
                "integer past 2^53",
                "144115212830834855",
                "144115212830834855",
                true,
            ),
            (
                "u64::MAX",
                "18446744073709551615",
                "18446744073709551615",
                true,
            ),
            ("negative", "-7", "-7", true),
        ];
        for (name, json, text, numeric) in cases {
            let id: Id = serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(id.as_str(), text, "{name}");
            assert_eq!(id.is_numeric(), numeric, "{name}");
            assert_eq!(serde_json::to_string(&id).unwrap(), json, "{name}");
        }
        let number: Id = serde_json::from_str("10001").unwrap();
        let string: Id = serde_json::from_str(r#""10001""#).unwrap();
        assert_eq!(
            number, string,
            "the form is a spelling, not part of the value"
        );
        assert!(number.is_numeric() && !string.is_numeric());
        assert_eq!(number.as_str(), string.as_str());
        for (name, json) in [
            ("float", "1.5"),
            ("bool", "true"),
            ("null", "null"),
            ("object", "{}"),
        ] {
            let err = serde_json::from_str::<Id>(json)
                .expect_err(name)
                .to_string();
            assert!(
                err.contains("an id (a string or an integer)"),
                "{name}: {err}"
            );
        }
    }
}
