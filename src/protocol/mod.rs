//! Wire formats: the query string, message bodies, events by Tencent family, decisions, and
//! replies.

pub(crate) mod alert;
pub(crate) mod bot;
pub(crate) mod c2c;
pub(crate) mod call;
pub(crate) mod chatbot;
pub(crate) mod common;
pub(crate) mod decision;
pub(crate) mod follow;
pub(crate) mod group;
pub(crate) mod imstr;
pub(crate) mod message;
pub(crate) mod mic;
pub(crate) mod moderation;
pub(crate) mod official_account;
pub(crate) mod profile;
pub(crate) mod push;
pub(crate) mod query;
pub(crate) mod raw;
pub(crate) mod reply;
pub(crate) mod room;
#[cfg(test)]
mod rule_tests;
pub(crate) mod sns;
pub(crate) mod state;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod wire;
