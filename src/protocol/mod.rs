//! Wire formats: the query string, message bodies, events by Tencent family, decisions, and
//! replies.

pub mod alert;
pub mod bot;
pub mod c2c;
pub mod call;
pub mod chatbot;
pub(crate) mod command;
pub(crate) mod commands;
pub(crate) mod common;
pub(crate) mod decision;
pub(crate) mod event;
pub mod follow;
pub mod group;
pub(crate) mod imstr;
pub mod message;
pub mod mic;
pub mod moderation;
pub mod official_account;
pub(crate) mod parse;
pub mod profile;
pub mod push;
pub(crate) mod query;
pub(crate) mod raw;
pub(crate) mod reply;
pub mod room;
#[cfg(test)]
mod rule_tests;
pub mod sns;
pub mod state;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod unparsed;
pub(crate) mod wire;
