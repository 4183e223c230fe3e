//! Chatbot webhooks: `Bot.OnC2CMessage` and `Bot.OnGroupMessage` (1047/68952, 68953), after a
//! message reached a chatbot account.

use super::common::{GroupType, event_time};
use super::message::{Conversation, MsgElement, message_event};
use super::wire::wire_struct;

wire_struct! {
    /// `Bot.OnC2CMessage`: a one-to-one message was delivered to a chatbot account (1047/68952).
    /// Answered OK.
    pub struct OnC2cMessage {
        /// The command, repeated in the body.
        pub callback_command: Option<String> => "CallbackCommand",
        /// The sender's UserID.
        pub from_account: String => "From_Account",
        /// The chatbot's UserID.
        pub to_account: String => "To_Account",
        /// Message sequence number (64 bits).
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Message random number. Legacy senders spell it `Random`.
        pub msg_random: Option<u64> => "MsgRandom" | "Random",
        /// Send time, Unix seconds.
        pub msg_time: Option<u64> => "MsgTime",
        /// Unique key of the message.
        pub msg_key: Option<String> => "MsgKey",
        /// `1` for an online-only message, else `0`.
        pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
        /// `0` when delivered; otherwise the error code.
        pub send_msg_result: Option<i64> => "SendMsgResult",
        /// The failure text; `send msg succeed` on success.
        pub error_info: Option<String> => "ErrorInfo",
        /// The message body.
        pub msg_body: Vec<MsgElement> => "MsgBody",
        /// Custom message data.
        pub cloud_custom_data: Option<String> => "CloudCustomData",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Bot.OnGroupMessage`: a user @-mentioned a chatbot in a group (not for @all) (1047/68953).
    /// Answered OK.
    pub struct OnGroupMessage {
        /// The command, repeated in the body.
        pub callback_command: Option<String> => "CallbackCommand",
        /// The group (any form of id; `GroupID` is read too).
        pub group_id: String => "GroupId" | "GroupID",
        /// The group's type.
        pub group_type: Option<GroupType> => "Type",
        /// The sender's UserID.
        pub from_account: String => "From_Account",
        /// Who made the request (differs from the sender for admin sends).
        pub operator_account: Option<String> => "Operator_Account",
        /// The send request's random number (`MsgRandom` is read too).
        pub random: Option<u64> => "Random" | "MsgRandom",
        /// Group message sequence number (64 bits).
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Send time, Unix seconds.
        pub msg_time: Option<u64> => "MsgTime",
        /// `1` for an online-only message, else `0`.
        pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
        /// The message body.
        pub msg_body: Vec<MsgElement> => "MsgBody",
        /// The chatbots mentioned (e.g. `@RBT#001`).
        pub at_robots_account: Option<Vec<String>> => "AtRobots_Account",
        /// Custom message data.
        pub cloud_custom_data: Option<String> => "CloudCustomData",
        /// The topic, in topic-enabled communities.
        pub topic_id: Option<String> => "TopicId",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

event_time!(ms: OnC2cMessage, OnGroupMessage);

message_event!(
    OnC2cMessage {
        sender: |e| &e.from_account,
        conversation: |e| Conversation::OneToOne { to: &e.to_account }
    },
    OnGroupMessage {
        sender: |e| &e.from_account,
        conversation: |e| Conversation::Group {
            group_id: &e.group_id,
            topic_id: e.topic_id.as_deref()
        }
    },
);

impl OnGroupMessage {
    /// The chatbots mentioned, in order.
    pub fn robots(&self) -> impl Iterator<Item = &str> {
        self.at_robots_account.iter().flatten().map(String::as_str)
    }
}
