//! The chatbot pass-through webhook: `Chatbot.OnC2CSignalMessage`
//! ([1047/59057](https://www.tencentcloud.com/document/product/1047/59057)).
//!
//! Tencent's page confirms the command and that the app "can respond by sending customized message
//! content back to the chatbot", but publishes neither a sample request nor a reply shape. The
//! request fields below come from a third-party SDK's model (unconfirmed); every one is optional
//! but the two accounts, and anything else is kept in `extra`. The reply is a free-form
//! [`Reply`](crate::Reply): OK by default, with any fields your chatbot protocol needs added with
//! [`Reply::with_field`](crate::Reply::with_field).

use crate::protocol::imstr::ImStr;

use super::wire::wire_struct;

wire_struct! {
    /// `Chatbot.OnC2CSignalMessage`: an app sent custom pass-through content to a chatbot
    /// (1047/59057). Answered with a [`Reply`](crate::Reply), OK by default.
    pub struct C2cSignalMessage {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The sender's UserID.
        pub from_account: ImStr => "From_Account",
        /// The chatbot's UserID.
        pub to_account: ImStr => "To_Account",
        /// Message sequence number.
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Message random number.
        pub msg_random: Option<u64> => "MsgRandom" | "Random",
        /// Unique key of the message.
        pub msg_key: Option<ImStr> => "MsgKey",
        /// The pass-through payload (`data` of the signal protocol).
        pub data: Option<ImStr> => "Data",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}
