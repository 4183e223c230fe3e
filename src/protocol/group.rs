//! Group webhooks, communities and topics included: `Group.*` (1047/34368–34378, 46979,
//! 48734, 49462–49466, 57455, 60393–60396, 76007).

use super::decision::{GateDecision, GroupErrorCode, SendDecision};

pub use super::decision::InviteDecision;

/// The answer to [`BeforeSendMsg`]: allow, deny (the sender gets 10016), drop silently, deny with
/// a code in [10100, 10200], or rewrite `MsgBody` and/or `CloudCustomData` (1047/34374).
pub type SendMsgDecision = SendDecision<GroupErrorCode>;

/// The answer to [`BeforeCreateGroup`]: allow, deny (10016), or deny with a code in
/// [10100, 10200] (1047/34368).
pub type CreateGroupDecision = GateDecision<GroupErrorCode>;

/// The answer to [`BeforeApplyJoinGroup`]: let the application go on (admin approval still
/// applies where the group needs it), deny (10016), or deny with a code in [10100, 10200]
/// (1047/34370).
pub type ApplyJoinGroupDecision = GateDecision<GroupErrorCode>;

/// The answer to [`BeforeCreateTopic`]: allow, deny (10016), or deny with a code in
/// [10100, 10200] (1047/49463).
pub type CreateTopicDecision = GateDecision<GroupErrorCode>;
