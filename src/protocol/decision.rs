//! The answers before-events take, shared by the families that answer alike, and the custom error
//! codes each family lets through to the client, one type per range.
//!
//! - [`SendDecision`]: before a message is sent (Official Account, one-to-one, group): allow,
//!   deny, drop silently, deny with a code, or rewrite. One type for all three, generic over the
//!   family's code range, so one moderation function serves all three (see [`MessageEvent`]).
//! - [`GateDecision`]: allow, deny, or deny with a code (creating an official account, a group or
//!   a topic; applying to join a group).
//! - [`InviteDecision`]: group invitations (allow all, refuse some, reject).
//! - [`FriendDecision`]: friend requests and responses, one result per target.
//!
//! Each is written as a [`Reply`](crate::Reply) by the reply module, which imports this one.
//!
//! [`MessageEvent`]: crate::message::MessageEvent

use std::fmt;

use crate::protocol::imstr::ImStr;

use super::message::MsgElement;

mod sealed {
    pub trait Sealed {}
}

/// A custom error code of one family's range: Tencent passes such a code and its `ErrorInfo`
/// through to the client that made the request. Implemented by [`CustomErrorCode`],
/// [`GroupErrorCode`] and [`FriendErrorCode`] only.
pub trait CustomCode: sealed::Sealed + Copy + fmt::Debug + Send + Sync + 'static {
    /// The smallest code of the range.
    const MIN: u32;
    /// The largest code of the range.
    const MAX: u32;
    /// The numeric code.
    fn get(self) -> u32;
}

macro_rules! custom_code {
    ($(#[$meta:meta])* $name:ident, $min:literal, $max:literal, $ok:literal, $below:literal, $above:literal) => {
        $(#[$meta])*
        ///
        /// A code outside the range cannot be built:
        ///
        /// ```
        #[doc = concat!("use tencent_chat_webhook::", stringify!($name), ";")]
        ///
        #[doc = concat!("assert_eq!(", stringify!($name), "::new(", stringify!($ok), ").map(|c| c.get()), Some(", stringify!($ok), "));")]
        #[doc = concat!("assert!(", stringify!($name), "::new(", stringify!($min), ").is_some());")]
        #[doc = concat!("assert!(", stringify!($name), "::new(", stringify!($max), ").is_some());")]
        #[doc = concat!("assert!(", stringify!($name), "::new(", stringify!($below), ").is_none());")]
        #[doc = concat!("assert!(", stringify!($name), "::new(", stringify!($above), ").is_none());")]
        #[doc = concat!("assert!(", stringify!($name), "::try_from(1).is_err());")]
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// The smallest code Tencent passes through.
            pub const MIN: u32 = $min;
            /// The largest code Tencent passes through.
            pub const MAX: u32 = $max;

            /// The code, if it is in [`MIN`](Self::MIN)..=[`MAX`](Self::MAX).
            pub const fn new(code: u32) -> Option<Self> {
                if code >= Self::MIN && code <= Self::MAX {
                    Some($name(code))
                } else {
                    None
                }
            }

            /// The numeric code.
            pub const fn get(self) -> u32 {
                self.0
            }
        }

        impl sealed::Sealed for $name {}

        impl CustomCode for $name {
            const MIN: u32 = $min;
            const MAX: u32 = $max;
            fn get(self) -> u32 {
                self.0
            }
        }

        impl TryFrom<u32> for $name {
            type Error = CodeOutOfRange;

            fn try_from(code: u32) -> Result<Self, CodeOutOfRange> {
                $name::new(code).ok_or(CodeOutOfRange { code, min: $min, max: $max })
            }
        }
    };
}

custom_code!(
    /// An `ErrorCode` in [120001, 130000]: the range Tencent passes through for Official Account
    /// and one-to-one message before-events (1047/34364, trtc.io 60795 and 60803).
    CustomErrorCode, 120_001, 130_000, 120_001, 120_000, 130_001
);

custom_code!(
    /// An `ErrorCode` in [10100, 10200]: the range Tencent passes through for group before-events
    /// (creating a group or topic, joining, inviting, sending; 1047/34368–34374, 1047/49463).
    GroupErrorCode, 10_100, 10_200, 10_150, 10_099, 10_201
);

custom_code!(
    /// A `ResultCode` in [38000, 39000]: the range for refusing a friend request or response
    /// (1047/43468, 1047/43467).
    FriendErrorCode, 38_000, 39_000, 38_001, 37_999, 39_001
);

/// A custom error code outside its range.
///
/// ```
/// use tencent_chat_webhook::GroupErrorCode;
///
/// let err = GroupErrorCode::try_from(120_001).unwrap_err();
/// assert_eq!(err.to_string(), "custom error code 120001 is outside [10100, 10200]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeOutOfRange {
    code: u32,
    min: u32,
    max: u32,
}

impl CodeOutOfRange {
    /// The code that was refused.
    pub fn code(&self) -> u32 {
        self.code
    }
}

impl fmt::Display for CodeOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "custom error code {} is outside [{}, {}]",
            self.code, self.min, self.max
        )
    }
}

impl std::error::Error for CodeOutOfRange {}

/// The answer to a before-send event: [`official_account::SendMsgDecision`],
/// [`c2c::SendMsgDecision`] and [`group::SendMsgDecision`] are this type with their family's code
/// range, so a function generic over `C` decides for all three.
///
/// ```
/// use tencent_chat_webhook::message::MsgElement;
/// use tencent_chat_webhook::{c2c, group, Reply};
///
/// let drop = Reply::from(c2c::SendMsgDecision::Drop);
/// assert_eq!(drop.to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":2}"#);
///
/// let rewrite = Reply::from(group::SendMsgDecision::rewrite_body(vec![MsgElement::text("***")]));
/// assert_eq!(
///     rewrite.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"***"}}]}"#
/// );
///
/// let code = tencent_chat_webhook::GroupErrorCode::new(10_100).unwrap();
/// let deny = Reply::from(group::SendMsgDecision::deny_with(code, "muted"));
/// assert_eq!(deny.to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"muted","ErrorCode":10100}"#);
/// ```
///
/// [`official_account::SendMsgDecision`]: crate::official_account::SendMsgDecision
/// [`c2c::SendMsgDecision`]: crate::c2c::SendMsgDecision
/// [`group::SendMsgDecision`]: crate::group::SendMsgDecision
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SendDecision<C> {
    /// Deliver the message unchanged (`ErrorCode` 0).
    Allow,
    /// Do not deliver; the sender gets the family's refusal error (`ErrorCode` 1: 20006 for
    /// one-to-one and Official Account messages, 10016 for group messages).
    Deny,
    /// Do not deliver, but tell the sender it was delivered (`ErrorCode` 2).
    Drop,
    /// Do not deliver; the sender gets this code and message.
    DenyWithCode {
        /// The code passed to the sender.
        code: C,
        /// The message passed to the sender.
        message: String,
    },
    /// Deliver a changed message (`ErrorCode` 0, which Tencent requires for a rewrite). A field
    /// left `None` keeps the sender's original.
    Rewrite {
        /// The body to deliver instead of the sender's.
        msg_body: Option<Vec<MsgElement>>,
        /// The custom data to deliver instead of the sender's.
        cloud_custom_data: Option<String>,
    },
}

// By hand: a derive would ask `C: Default`, which code types are not.
#[allow(clippy::derivable_impls)]
impl<C> Default for SendDecision<C> {
    fn default() -> Self {
        SendDecision::Allow
    }
}

impl<C> SendDecision<C> {
    /// [`DenyWithCode`](Self::DenyWithCode) with this code and message.
    pub fn deny_with(code: C, message: impl Into<String>) -> Self {
        SendDecision::DenyWithCode {
            code,
            message: message.into(),
        }
    }

    /// Deliver this body instead of the sender's.
    pub fn rewrite_body(msg_body: Vec<MsgElement>) -> Self {
        SendDecision::Rewrite {
            msg_body: Some(msg_body),
            cloud_custom_data: None,
        }
    }

    /// Deliver the sender's body with this custom data.
    pub fn rewrite_cloud_custom_data(data: impl Into<String>) -> Self {
        SendDecision::Rewrite {
            msg_body: None,
            cloud_custom_data: Some(data.into()),
        }
    }

    /// Whether the message is delivered (as sent or rewritten).
    pub fn delivers(&self) -> bool {
        matches!(self, SendDecision::Allow | SendDecision::Rewrite { .. })
    }
}

/// Allow, deny, or deny with a code: the answer to creating an official account
/// ([`official_account::CreateDecision`](crate::official_account::CreateDecision)), a group, a
/// topic, or applying to join a group ([`group::CreateDecision`](crate::group::CreateDecision),
/// [`CreateTopicDecision`], [`ApplyJoinDecision`]).
///
/// ```
/// use tencent_chat_webhook::group::CreateDecision;
/// use tencent_chat_webhook::{GroupErrorCode, Reply};
///
/// let deny = Reply::from(CreateDecision::Deny);
/// assert_eq!(deny.to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":1}"#);
///
/// let code = GroupErrorCode::new(10_100).unwrap();
/// let custom = Reply::from(CreateDecision::deny_with(code, "name not allowed"));
/// assert_eq!(
///     custom.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"name not allowed","ErrorCode":10100}"#
/// );
/// ```
///
/// [`CreateTopicDecision`]: crate::group::CreateTopicDecision
/// [`ApplyJoinDecision`]: crate::group::ApplyJoinDecision
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GateDecision<C> {
    /// Go ahead (`ErrorCode` 0).
    Allow,
    /// Refuse; the caller gets the family's refusal error (`ErrorCode` 1).
    Deny,
    /// Refuse; the caller gets this code and message.
    DenyWithCode {
        /// The code passed to the caller.
        code: C,
        /// The message passed to the caller.
        message: String,
    },
}

// By hand: a derive would ask `C: Default`, which code types are not.
#[allow(clippy::derivable_impls)]
impl<C> Default for GateDecision<C> {
    fn default() -> Self {
        GateDecision::Allow
    }
}

impl<C> GateDecision<C> {
    /// [`DenyWithCode`](Self::DenyWithCode) with this code and message.
    pub fn deny_with(code: C, message: impl Into<String>) -> Self {
        GateDecision::DenyWithCode {
            code,
            message: message.into(),
        }
    }
}

/// The answer to `Group.CallbackBeforeInviteJoinGroup` (1047/34371).
///
/// ```
/// use tencent_chat_webhook::group::InviteDecision;
/// use tencent_chat_webhook::Reply;
///
/// let some = Reply::from(InviteDecision::Refuse(vec!["jared".into()]));
/// assert_eq!(
///     some.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedMembers_Account":["jared"]}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum InviteDecision {
    /// Add every invited user (`ErrorCode` 0).
    #[default]
    AllowAll,
    /// Add the others, not these users (`ErrorCode` 0 with `RefusedMembers_Account`). An empty
    /// list is the same as [`AllowAll`](Self::AllowAll).
    Refuse(Vec<ImStr>),
    /// Reject the whole invitation (`ErrorCode` 1).
    Reject,
    /// Reject the whole invitation; the inviter gets this code and message.
    RejectWithCode {
        /// The code passed to the inviter.
        code: GroupErrorCode,
        /// The message passed to the inviter.
        message: String,
    },
}

impl InviteDecision {
    /// [`RejectWithCode`](Self::RejectWithCode) with this code and message.
    pub fn reject_with(code: GroupErrorCode, message: impl Into<String>) -> Self {
        InviteDecision::RejectWithCode {
            code,
            message: message.into(),
        }
    }
}

/// The answer to `Sns.CallbackPrevFriendAdd` and `Sns.CallbackPrevFriendResponse` (1047/43468,
/// 1047/43467): a result per target. Targets the decision says nothing about are allowed, so
/// the default allows everyone; the reply lists every target of the request, in its order.
///
/// ```
/// use tencent_chat_webhook::sns::FriendDecision;
/// use tencent_chat_webhook::FriendErrorCode;
///
/// let code = FriendErrorCode::new(38_001).unwrap();
/// let decision = FriendDecision::allow_all().refuse("id2", code, "not now");
/// assert_eq!(decision.refusal("id2").map(|r| r.0.get()), Some(38_001));
/// assert!(decision.refusal("id1").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FriendDecision {
    refused: Vec<(ImStr, FriendErrorCode, ImStr)>,
}

impl FriendDecision {
    /// Allow every target.
    pub fn allow_all() -> Self {
        FriendDecision::default()
    }

    /// Refuse this target with a code and a message; others stay allowed. A target that is not
    /// in the request is not written to the reply.
    pub fn refuse(
        mut self,
        account: impl Into<ImStr>,
        code: FriendErrorCode,
        message: impl Into<ImStr>,
    ) -> Self {
        self.refused.push((account.into(), code, message.into()));
        self
    }

    /// The code and message this decision refuses `account` with, if any.
    pub fn refusal(&self, account: &str) -> Option<(FriendErrorCode, &str)> {
        self.refused
            .iter()
            .find(|(a, _, _)| a == account)
            .map(|(_, code, message)| (*code, message.as_str()))
    }
}
