//! Shapes that several families share: member lists, key/value items, group types, platforms,
//! and event times. Written once here and reused by every family module.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Extra;

use super::wire::{open_str_enum, wire_struct};

wire_struct! {
    /// One entry of a member list (`MemberList`, `NewMemberList`, `DestinationMembers`, ...).
    pub struct Member {
        /// The member's UserID.
        pub member_account: String => "Member_Account",
    }
}

impl Member {
    /// An entry for this UserID.
    pub fn new(account: impl Into<String>) -> Self {
        Member {
            member_account: account.into(),
            extra: Extra::new(),
        }
    }
}

wire_struct! {
    /// A custom field given as `{"Key": ..., "Value": ...}` (`UserDefinedDataList`).
    pub struct KeyValue {
        /// The field name.
        pub key: String => "Key",
        /// The field value.
        pub value: String => "Value",
    }
}

open_str_enum! {
    /// A group type (`Type`), as Tencent's Group System page (1047/33529) lists them; any other
    /// value is kept in `Other`.
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
    /// `iPad` / `IPad`).
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

/// `event_system_time()` for events whose `EventTime` is in milliseconds (`ms`) or seconds
/// (`secs`).
macro_rules! event_time {
    (ms: $($ty:ident),* $(,)?) => {$(
        impl $ty {
            /// `EventTime` (Unix milliseconds) as a [`SystemTime`](std::time::SystemTime), when present.
            pub fn event_system_time(&self) -> Option<std::time::SystemTime> {
                $crate::protocol::common::from_millis(self.event_time)
            }
        }
    )*};
    (secs: $($ty:ident),* $(,)?) => {$(
        impl $ty {
            /// `EventTime` (Unix **seconds** for this command) as a
            /// [`SystemTime`](std::time::SystemTime), when present.
            pub fn event_system_time(&self) -> Option<std::time::SystemTime> {
                $crate::protocol::common::from_secs(self.event_time)
            }
        }
    )*};
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
        pub key: String => "Key",
        /// The value; empty when the key was deleted.
        pub value: Option<String> => "Value",
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
