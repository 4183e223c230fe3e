//! What every message event shares: the [`MessageEvent`] trait, the [`Conversation`] a message
//! goes to, and the macros that declare the message events of the one-to-one and group families
//! with their common fields.

use super::{MsgContent, MsgElement};

/// Where a message goes: the part of a [`MessageEvent`] that differs between families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conversation<'a> {
    /// A one-to-one message to this UserID.
    OneToOne {
        /// The recipient (`To_Account`).
        to: &'a str,
    },
    /// A group message.
    Group {
        /// The group (`GroupId`).
        group_id: &'a str,
        /// The topic, for topic-enabled communities (`TopicId`).
        topic_id: Option<&'a str>,
    },
    /// A message of an official account to its subscribers.
    OfficialAccount {
        /// The account (`Official_Account`).
        account: &'a str,
    },
}

/// What every message event has, whatever its family: one-to-one, group, Official Account and
/// chatbot messages, before or after sending. Write moderation once against this trait and it
/// serves every family; pair it with [`SendDecision`](crate::SendDecision), generic over the
/// family's code range, for the answer.
///
/// ```
/// use tencent_chat_webhook::message::MessageEvent;
/// use tencent_chat_webhook::{c2c, group, CustomCode, SendDecision};
///
/// fn moderate<C: CustomCode>(msg: &impl MessageEvent) -> SendDecision<C> {
///     if msg.texts().any(|t| t.to_lowercase().contains("spam")) {
///         return SendDecision::Drop;
///     }
///     match msg.rewrite_texts(|t| t.replace("badword", "***")) {
///         Some(body) => SendDecision::rewrite_body(body),
///         None => SendDecision::Allow,
///     }
/// }
///
/// let one: c2c::BeforeSendMsg = serde_json::from_str(
///     r#"{"From_Account":"a","To_Account":"b","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"SPAM"}}]}"#,
/// ).unwrap();
/// assert_eq!(moderate(&one), c2c::SendMsgDecision::Drop);
///
/// let many: group::BeforeSendMsg = serde_json::from_str(
///     r#"{"GroupId":"@TGS#1","From_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"a badword"}}]}"#,
/// ).unwrap();
/// let group::SendMsgDecision::Rewrite { msg_body: Some(body), .. } = moderate(&many) else { panic!() };
/// assert_eq!(body[0].as_text(), Some("a ***"));
/// assert_eq!(many.sender(), "a");
/// ```
pub trait MessageEvent {
    /// Who sent it: `From_Account`, or the account's id for an Official Account message.
    fn sender(&self) -> &str;

    /// Where it goes.
    fn conversation(&self) -> Conversation<'_>;

    /// The message body.
    fn msg_body(&self) -> &[MsgElement];

    /// The message's custom data (`CloudCustomData`), when present.
    fn cloud_custom_data(&self) -> Option<&str>;

    /// The text of every `TIMTextElem` in the body, in order.
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.msg_body().iter().filter_map(MsgElement::as_text)
    }

    /// The body with every text element passed through `f`, if that changed any of them; `None`
    /// when every text came back the same. Other elements are kept as they are.
    fn rewrite_texts(&self, mut f: impl FnMut(&str) -> String) -> Option<Vec<MsgElement>> {
        let mut changed = false;
        let body = self
            .msg_body()
            .iter()
            .map(|elem| match &elem.content {
                MsgContent::Text(t) => {
                    let new = f(&t.text);
                    if new == t.text {
                        return elem.clone();
                    }
                    changed = true;
                    let mut elem = elem.clone();
                    if let MsgContent::Text(t) = &mut elem.content {
                        t.text = new.into();
                    }
                    elem
                }
                _ => elem.clone(),
            })
            .collect();
        changed.then_some(body)
    }
}

/// Implements [`MessageEvent`] for event types with `msg_body` and `cloud_custom_data` fields,
/// and an inherent `texts()` so the common case needs no trait import.
macro_rules! message_event {
    ($($ty:ident { sender: |$s:ident| $sender:expr, conversation: |$c:ident| $conv:expr }),* $(,)?) => {$(
        impl $crate::protocol::message::MessageEvent for $ty {
            fn sender(&self) -> &str {
                let $s = self;
                $sender
            }
            fn conversation(&self) -> $crate::protocol::message::Conversation<'_> {
                let $c = self;
                $conv
            }
            fn msg_body(&self) -> &[$crate::protocol::message::MsgElement] {
                &self.msg_body
            }
            fn cloud_custom_data(&self) -> Option<&str> {
                self.cloud_custom_data.as_deref()
            }
        }

        impl $ty {
            /// The text of every `TIMTextElem` in the body, in order.
            pub fn texts(&self) -> impl Iterator<Item = &str> {
                $crate::protocol::message::MessageEvent::texts(self)
            }
        }
    )*};
}
pub(crate) use message_event;

/// Declares a one-to-one message event: the fields every one-to-one message webhook shares
/// (1047/34364, 34365, 68952; 269/128224), then the struct's own, as a [`wire_struct!`]; and
/// implements [`MessageEvent`] for it.
///
/// [`wire_struct!`]: crate::protocol::wire::wire_struct
macro_rules! c2c_message {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $crate::protocol::wire::wire_struct! {
            $(#[$meta])*
            pub struct $name {
                /// The command, repeated in the body.
                pub callback_command: Option<$crate::protocol::imstr::ImStr> => "CallbackCommand",
                /// The sender's UserID.
                pub from_account: $crate::protocol::imstr::ImStr => "From_Account",
                /// The recipient's UserID.
                pub to_account: $crate::protocol::imstr::ImStr => "To_Account",
                /// Message sequence number (64 bits: values above 2^32 occur).
                pub msg_seq: Option<u64> => "MsgSeq",
                /// Message random number. Legacy senders spell it `Random`.
                pub msg_random: Option<u64> => "MsgRandom" | "Random",
                /// Send time, Unix **seconds**.
                pub msg_time: Option<u64> => "MsgTime",
                /// Unique key of the message (recall it with this).
                pub msg_key: Option<$crate::protocol::imstr::ImStr> => "MsgKey",
                /// `1` for an online-only message, else `0`.
                pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
                /// The message body.
                pub msg_body: Vec<$crate::protocol::message::MsgElement> => "MsgBody",
                /// Custom message data.
                pub cloud_custom_data: Option<$crate::protocol::imstr::ImStr> => "CloudCustomData",
                /// Event time, Unix milliseconds (absent from some documented samples).
                pub event_time: Option<u64> => "EventTime",
                $($own)*
            }
        }

        $crate::protocol::message::message_event!($name {
            sender: |e| &e.from_account,
            conversation: |e| $crate::protocol::message::Conversation::OneToOne { to: &e.to_account }
        });
    };
}
pub(crate) use c2c_message;

/// Declares a group message event: the fields every group message webhook shares (1047/34374,
/// 34375, 49462, 68953), then the struct's own, as a [`wire_struct!`]; and implements
/// [`MessageEvent`] for it. `MsgSeq` is the struct's own: required once the message is sent,
/// absent before.
///
/// [`wire_struct!`]: crate::protocol::wire::wire_struct
macro_rules! group_message {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $crate::protocol::wire::wire_struct! {
            $(#[$meta])*
            pub struct $name {
                /// The command, repeated in the body.
                pub callback_command: Option<$crate::protocol::imstr::ImStr> => "CallbackCommand",
                /// The group (any form of id; `GroupID` is read too).
                pub group_id: $crate::protocol::imstr::ImStr => "GroupId" | "GroupID",
                /// The group type.
                pub group_type: Option<$crate::protocol::common::GroupType> => "Type",
                /// UserID of the sender.
                pub from_account: $crate::protocol::imstr::ImStr => "From_Account",
                /// UserID of who made the request (differs from the sender for admin sends).
                pub operator_account: Option<$crate::protocol::imstr::ImStr> => "Operator_Account",
                /// The random of the send request (`MsgRandom` is read too; 64 bits).
                pub msg_random: Option<u64> => "Random" | "MsgRandom",
                /// `1` for an online-only message, else `0` (always `0` in audio-video groups).
                pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
                /// The message body.
                pub msg_body: Vec<$crate::protocol::message::MsgElement> => "MsgBody",
                /// Custom message data.
                pub cloud_custom_data: Option<$crate::protocol::imstr::ImStr> => "CloudCustomData",
                /// The topic, for topic-enabled communities only.
                pub topic_id: Option<$crate::protocol::imstr::ImStr> => "TopicId",
                /// Event time, Unix milliseconds.
                pub event_time: Option<u64> => "EventTime",
                $($own)*
            }
        }

        $crate::protocol::message::message_event!($name {
            sender: |e| &e.from_account,
            conversation: |e| $crate::protocol::message::Conversation::Group {
                group_id: &e.group_id,
                topic_id: e.topic_id.as_deref(),
            }
        });
    };
}
pub(crate) use group_message;
