//! One-to-one (C2C) message webhooks: `C2C.*`
//! ([1047/34364](https://www.tencentcloud.com/document/product/1047/34364),
//! [34365](https://www.tencentcloud.com/document/product/1047/34365),
//! [43465](https://www.tencentcloud.com/document/product/1047/43465),
//! [43466](https://www.tencentcloud.com/document/product/1047/43466),
//! [76006](https://www.tencentcloud.com/document/product/1047/76006); the edit webhook only on the
//! mainland Chinese page [269/128224](https://cloud.tencent.com/document/product/269/128224)).
//!
//! Required fields follow the crate's rule (a field is required only when the event cannot be acted on without it; see [`Handler::on_unparsed`](crate::Handler::on_unparsed)): the two accounts, and the
//! body of a message event; the `MsgSeq`, `MsgRandom` (or `Random`), `MsgTime` and `MsgKey` of a
//! message the event carries are optional. The `MsgKey` of a recalled message and of a message
//! whose extension changed is required: it names the message the event is about, which the event
//! does not carry.

use super::common::{ExtensionItem, ExtensionOperation};
use super::decision::{CustomErrorCode, SendDecision};
use super::message::c2c_message;
use super::wire::wire_struct;
use crate::protocol::imstr::ImStr;

/// The answer to [`BeforeSendMsg`]: allow, deny (the sender gets 20006), drop silently, deny with
/// a code in [120001, 130000], or rewrite `MsgBody` and/or `CloudCustomData` (1047/34364).
pub type SendMsgDecision = SendDecision<CustomErrorCode>;

c2c_message! {
    /// `C2C.CallbackBeforeSendMsg`: a one-to-one message (from a client, or the REST `sendmsg`)
    /// is about to be delivered (1047/34364). Answer with a [`SendMsgDecision`]. Tencent waits at
    /// most 2 seconds; if the answer blocks the message, `C2C.CallbackAfterSendMsg` does not fire,
    /// and if it rewrites the message, the after-event carries the rewritten one.
    pub struct BeforeSendMsg {
        /// Client-side message id (listed on the Chinese page only).
        pub msg_id: Option<ImStr> => "MsgId",
    }
}

c2c_message! {
    /// `C2C.CallbackAfterSendMsg`: Tencent tried to deliver a one-to-one message, whether or not
    /// it succeeded (see [`send_msg_result`](Self::send_msg_result)) (1047/34365). Answered OK.
    pub struct AfterSendMsg {
        /// Client-side message id (listed on the Chinese page only).
        pub msg_id: Option<ImStr> => "MsgId",
        /// `0` when delivered; otherwise the error code.
        pub send_msg_result: Option<i64> => "SendMsgResult",
        /// The failure text; `send msg succeed` on success.
        pub error_info: Option<ImStr> => "ErrorInfo",
        /// The recipient's unread one-to-one messages over all conversations; `-1` when delivery
        /// failed.
        pub unread_msg_num: Option<i64> => "UnreadMsgNum",
    }
}

wire_struct! {
    /// `C2C.CallbackAfterMsgReport`: a one-to-one conversation was marked read (1047/43465).
    /// Answered OK.
    pub struct AfterMsgReport {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The user who read.
        pub report_account: ImStr => "Report_Account",
        /// The other side of the conversation.
        pub peer_account: ImStr => "Peer_Account",
        /// When it was read, Unix seconds (as the sample's value shows).
        pub last_read_time: Option<u64> => "LastReadTime",
        /// The reader's unread one-to-one messages after the report.
        pub unread_msg_num: Option<i64> => "UnreadMsgNum",
        /// Event time, Unix milliseconds (not in the documented sample).
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `C2C.CallbackAfterMsgWithDraw`: a one-to-one message was recalled (1047/43466). Answered
    /// OK.
    pub struct AfterMsgWithDraw {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The sender of the recalled message.
        pub from_account: ImStr => "From_Account",
        /// The recipient of the recalled message.
        pub to_account: ImStr => "To_Account",
        /// Key of the recalled message.
        pub msg_key: ImStr => "MsgKey",
        /// The recipient's unread one-to-one messages.
        pub unread_msg_num: Option<i64> => "UnreadMsgNum",
        /// Event time, Unix milliseconds (not in the documented sample).
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `C2C.CallbackAfterC2CMsgExtension`: keys of a one-to-one message's extension were set,
    /// deleted or cleared (1047/76006). Answered OK.
    pub struct AfterMsgExtension {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The message's sender.
        pub from_account: ImStr => "From_Account",
        /// The message's recipient.
        pub to_account: ImStr => "To_Account",
        /// Key of the message.
        pub msg_key: ImStr => "MsgKey",
        /// Set, delete or clear.
        pub operate_type: ExtensionOperation => "OperateType",
        /// The items concerned (empty when cleared).
        pub extension_list: Vec<ExtensionItem> => "ExtensionList",
        /// The latest version of the whole extension.
        pub seq: Option<u64> => "Seq",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

c2c_message! {
    /// `C2C.CallbackAfterModifyMsg`: a one-to-one message was edited, from a client or the REST
    /// API (269/128224, mainland Chinese page only). Answered OK; the page's reply section was not
    /// captured, so the usual OK is assumed.
    pub struct AfterModifyMsg {
        /// Who edited (meaning inferred: the field's description was not captured).
        pub operator_account: Option<ImStr> => "Operator_Account",
    }
}

impl AfterSendMsg {
    /// Whether the message was delivered (`SendMsgResult` 0, or absent).
    pub fn delivered(&self) -> bool {
        self.send_msg_result.unwrap_or(0) == 0
    }
}
