//! Relationship-chain webhooks: friends and blocklists, `Sns.*` (1047/43468, 43467,
//! 34359–34362).

pub use super::decision::{FriendDecision, FriendResult};
