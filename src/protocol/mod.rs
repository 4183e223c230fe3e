//! Wire formats: the query string, message bodies, events by Tencent family, and replies.

pub(crate) mod message;
pub(crate) mod official_account;
pub(crate) mod query;
pub(crate) mod reply;
pub(crate) mod wire;
