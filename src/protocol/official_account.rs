//! Official Account (Official Channel, 公众号) webhooks: the 11 `OfficialAccount.*` events and the
//! decisions their before-events answer with.
//!
//! Source: Tencent's pages
//! [1047/60795](https://www.tencentcloud.com/document/product/1047/60795)–[60805](https://www.tencentcloud.com/document/product/1047/60805)
//! ([269/102315](https://cloud.tencent.com/document/product/269/102315)–[102325](https://cloud.tencent.com/document/product/269/102325)).
//! Wire keys kept the "Official Account" spelling when the English docs renamed the feature
//! "Official Channel".
//!
//! Fields that identify the event (account ids, subscriber lists, the message body, the key of a
//! recalled message) are required, as the crate's rule for required fields says (in the wire
//! module's docs); a payload without them goes to
//! [`Handler::on_unparsed`](crate::Handler::on_unparsed) with its JSON and the missing key.
//! Descriptive fields are `Option`, because Tencent leaves them out in some flows: the name of an
//! account about to be created (the operator and the owner say who asks), and the `MsgKey` of a
//! delivered message, which the event carries whole. `EventTime` is in milliseconds and read from a
//! number or a numeric string; `MsgTime` is in seconds.

use crate::protocol::imstr::ImStr;

use super::decision::{CustomErrorCode, GateDecision, SendDecision};
use super::message::{Conversation, MsgElement, message_event};
use super::reply::Reply;
use super::wire::wire_struct;

wire_struct! {
    /// `OfficialAccount.CallbackBeforeCreateOfficialAccount`: an admin is about to create an
    /// official account through the REST API. Answer with a [`CreateDecision`].
    pub struct BeforeCreate {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of the operator who asked for the account.
        pub operator_account: ImStr => "Operator_Account",
        /// The creator, who becomes the owner.
        pub owner_account: ImStr => "Owner_Account",
        /// Name of the account to be created.
        pub name: Option<ImStr> => "Name",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterCreateOfficialAccount`: an official account was created.
    pub struct AfterCreate {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the new official account (`@TOA#_...`).
        pub official_account: ImStr => "Official_Account",
        /// UserID of the operator who created it.
        pub operator_account: ImStr => "Operator_Account",
        /// The creator and owner.
        pub owner_account: ImStr => "Owner_Account",
        /// Name of the account.
        pub name: Option<ImStr> => "Name",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterOfficialAccountInfoChanged`: the account's profile changed.
    /// The docs do not say whether unchanged attributes are sent, so all four are optional.
    pub struct AfterInfoChanged {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the official account.
        pub official_account: ImStr => "Official_Account",
        /// UserID of the operator who made the change.
        pub operator_account: ImStr => "Operator_Account",
        /// Introduction after the change.
        pub introduction: Option<ImStr> => "Introduction",
        /// Name after the change.
        pub name: Option<ImStr> => "Name",
        /// Avatar URL after the change.
        pub face_url: Option<ImStr> => "FaceUrl",
        /// Organization after the change.
        pub organization: Option<ImStr> => "Organization",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterOfficialAccountDestroyed`: an official account was destroyed.
    pub struct AfterDestroyed {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the destroyed account.
        pub official_account: ImStr => "Official_Account",
        /// The creator and owner.
        pub owner_account: ImStr => "Owner_Account",
        /// Name of the account.
        pub name: Option<ImStr> => "Name",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// One entry of `SubscribeAccountList`.
    pub struct Subscriber {
        /// The subscriber's UserID.
        pub subscriber_account: ImStr => "Subscriber_Account",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackBeforeAddSubscriber`: users are about to subscribe (from a client,
    /// or up to 100 at once through the REST API). Answer with an [`AddSubscriberDecision`].
    pub struct BeforeAddSubscriber {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the account being subscribed to.
        pub official_account: ImStr => "Official_Account",
        /// UserID of the operator who issued the request.
        pub operator_account: ImStr => "Operator_Account",
        /// The users to be added.
        pub subscribe_account_list: Vec<Subscriber> => "SubscribeAccountList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterAddSubscriber`: users subscribed.
    pub struct AfterAddSubscriber {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the account subscribed to.
        pub official_account: ImStr => "Official_Account",
        /// UserID of the operator who issued the request.
        pub operator_account: ImStr => "Operator_Account",
        /// The users added.
        pub subscribe_account_list: Vec<Subscriber> => "SubscribeAccountList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterOfficialAccountFull`: the account reached its subscriber limit.
    pub struct AfterFull {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the full account.
        pub official_account: ImStr => "Official_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterDeleteSubscriber`: users unsubscribed or were removed.
    pub struct AfterDeleteSubscriber {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the account unsubscribed from.
        pub official_account: ImStr => "Official_Account",
        /// UserID of the operator who issued the request.
        pub operator_account: ImStr => "Operator_Account",
        /// The users who left.
        pub subscribe_account_list: Vec<Subscriber> => "SubscribeAccountList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackBeforeSendMsg`: a message is about to go to the account's
    /// subscribers. Answer with a [`SendMsgDecision`]: allow, deny, drop, or rewrite.
    pub struct BeforeSendMsg {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the sending account.
        pub official_account: ImStr => "Official_Account",
        /// `1` for an online-only message, else `0`.
        pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
        /// The message body.
        pub msg_body: Vec<MsgElement> => "MsgBody",
        /// Custom message data.
        pub cloud_custom_data: Option<ImStr> => "CloudCustomData",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterSendMsg`: a message was delivered to the subscribers.
    pub struct AfterSendMsg {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the sending account.
        pub official_account: ImStr => "Official_Account",
        /// Unique key of the message; recall it with this.
        pub msg_key: Option<ImStr> => "MsgKey",
        /// Message time, Unix **seconds**.
        pub msg_time: Option<u64> => "MsgTime",
        /// `1` for an online-only message, else `0`.
        pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
        /// The message body as delivered.
        pub msg_body: Vec<MsgElement> => "MsgBody",
        /// Custom message data.
        pub cloud_custom_data: Option<ImStr> => "CloudCustomData",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// One entry of `WithdrawMsgList`.
    pub struct WithdrawnMsg {
        /// Key of the recalled message.
        pub msg_key: ImStr => "MsgKey",
    }
}

wire_struct! {
    /// `OfficialAccount.CallbackAfterMsgWithDraw`: messages were recalled.
    pub struct AfterMsgWithDraw {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the account. (Tencent's sample shows `#TOA#_123`, a typo for `@TOA#_`; any
        /// string is accepted.)
        pub official_account: ImStr => "Official_Account",
        /// The recalled messages.
        pub withdraw_msg_list: Vec<WithdrawnMsg> => "WithdrawMsgList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

macro_rules! subscribers_accessor {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The UserIDs in `SubscribeAccountList`.
            pub fn subscribers(&self) -> impl Iterator<Item = &str> {
                self.subscribe_account_list.iter().map(|s| s.subscriber_account.as_str())
            }
        }
    )*};
}
subscribers_accessor!(
    BeforeAddSubscriber,
    AfterAddSubscriber,
    AfterDeleteSubscriber
);

message_event!(
    BeforeSendMsg {
        sender: |e| &e.official_account,
        conversation: |e| Conversation::OfficialAccount {
            account: &e.official_account
        }
    },
    AfterSendMsg {
        sender: |e| &e.official_account,
        conversation: |e| Conversation::OfficialAccount {
            account: &e.official_account
        }
    },
);

impl Subscriber {
    /// An entry for this UserID.
    pub fn new(account: impl Into<ImStr>) -> Self {
        Subscriber {
            subscriber_account: account.into(),
            ..Subscriber::default()
        }
    }
}

/// The answer to [`BeforeCreate`]: allow, deny (the caller gets 20006), or deny
/// with a code in [120001, 130000].
///
/// ```
/// use tencent_chat_webhook::official_account::CreateDecision;
/// use tencent_chat_webhook::{CustomErrorCode, Reply};
///
/// let deny = Reply::from(CreateDecision::Deny);
/// assert_eq!(deny.to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":1}"#);
///
/// let code = CustomErrorCode::new(120_001).unwrap();
/// let custom = Reply::from(CreateDecision::deny_with(code, "name not allowed"));
/// assert_eq!(
///     custom.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"name not allowed","ErrorCode":120001}"#
/// );
/// ```
pub type CreateDecision = GateDecision<CustomErrorCode>;

/// The answer to [`BeforeAddSubscriber`].
///
/// ```
/// use tencent_chat_webhook::official_account::AddSubscriberDecision;
/// use tencent_chat_webhook::Reply;
///
/// let some = Reply::from(AddSubscriberDecision::Refuse(vec!["jared".into()]));
/// assert_eq!(
///     some.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum AddSubscriberDecision {
    /// Let every user in the request subscribe (`ErrorCode` 0).
    #[default]
    AllowAll,
    /// Let the request go on without these users (`ErrorCode` 0 with
    /// `RefusedSubscribers_Account`). An empty list is the same as [`AllowAll`](Self::AllowAll).
    ///
    /// Tencent's prose also names the field `RefusedMembers_Account`, a leftover of the group
    /// webhook; its JSON sample and field table say `RefusedSubscribers_Account`, which is sent.
    Refuse(Vec<ImStr>),
    /// Reject the whole request (`ErrorCode` 1).
    Reject,
}

impl From<AddSubscriberDecision> for Reply {
    fn from(d: AddSubscriberDecision) -> Reply {
        match d {
            AddSubscriberDecision::AllowAll => Reply::ok(),
            AddSubscriberDecision::Refuse(users) if users.is_empty() => Reply::ok(),
            AddSubscriberDecision::Refuse(users) => Reply::ok().with_refused_subscribers(users),
            AddSubscriberDecision::Reject => Reply::ok().with_error_code(1),
        }
    }
}

/// The answer to [`BeforeSendMsg`]: allow, deny, drop silently, deny with a code in
/// [120001, 130000], or rewrite the body and custom data.
///
/// ```
/// use tencent_chat_webhook::message::MsgElement;
/// use tencent_chat_webhook::official_account::SendMsgDecision;
/// use tencent_chat_webhook::Reply;
///
/// let drop = Reply::from(SendMsgDecision::Drop);
/// assert_eq!(drop.to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":2}"#);
///
/// let rewrite = Reply::from(SendMsgDecision::rewrite_body(vec![MsgElement::text("***")]));
/// assert_eq!(
///     rewrite.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"***"}}]}"#
/// );
/// ```
pub type SendMsgDecision = SendDecision<CustomErrorCode>;
