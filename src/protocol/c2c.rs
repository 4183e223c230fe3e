//! One-to-one (C2C) message webhooks: `C2C.*` (1047/34364, 34365, 43465, 43466, 76006; the edit
//! webhook only on the mainland Chinese page 269/128224).

use super::decision::{CustomErrorCode, SendDecision};

/// The answer to [`BeforeSendMsg`]: allow, deny (the sender gets 20006), drop silently, deny with
/// a code in [120001, 130000], or rewrite `MsgBody` and/or `CloudCustomData` (1047/34364).
pub type SendMsgDecision = SendDecision<CustomErrorCode>;
