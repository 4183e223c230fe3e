//! Chatbot webhooks: `Bot.OnC2CMessage` and `Bot.OnGroupMessage`
//! ([1047/68952](https://www.tencentcloud.com/document/product/1047/68952),
//! [68953](https://www.tencentcloud.com/document/product/1047/68953)), after a message reached a
//! chatbot account.
//!
//! As for the messages of the other families, the accounts, the group and the body are required,
//! and the sequence numbers, randoms, keys and times of the message are optional.

use crate::protocol::imstr::ImStr;

use super::message::{c2c_message, group_message};

c2c_message! {
    /// `Bot.OnC2CMessage`: a one-to-one message was delivered to a chatbot account (1047/68952).
    /// Answered OK.
    pub struct C2cMessage {
        /// `0` when delivered; otherwise the error code.
        pub send_msg_result: Option<i64> => "SendMsgResult",
        /// The failure text; `send msg succeed` on success.
        pub error_info: Option<ImStr> => "ErrorInfo",
    }
}

group_message! {
    /// `Bot.OnGroupMessage`: a user @-mentioned a chatbot in a group (not for @all) (1047/68953).
    /// Answered OK.
    pub struct GroupMessage {
        /// Group message sequence number (64 bits).
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Send time, Unix seconds.
        pub msg_time: Option<u64> => "MsgTime",
        /// The chatbots mentioned (e.g. `@RBT#001`).
        pub at_robots_account: Option<Vec<ImStr>> => "AtRobots_Account",
    }
}

impl GroupMessage {
    /// The chatbots mentioned, in order.
    pub fn robots(&self) -> impl Iterator<Item = &str> {
        self.at_robots_account.iter().flatten().map(ImStr::as_str)
    }
}
