//! Group webhooks, communities and topics included: `Group.*`
//! ([1047/34368](https://www.tencentcloud.com/document/product/1047/34368)–[34378](https://www.tencentcloud.com/document/product/1047/34378),
//! [46979](https://www.tencentcloud.com/document/product/1047/46979),
//! [48734](https://www.tencentcloud.com/document/product/1047/48734),
//! [49462](https://www.tencentcloud.com/document/product/1047/49462)–[49466](https://www.tencentcloud.com/document/product/1047/49466),
//! [57455](https://www.tencentcloud.com/document/product/1047/57455),
//! [60393](https://www.tencentcloud.com/document/product/1047/60393)–[60396](https://www.tencentcloud.com/document/product/1047/60396),
//! [76007](https://www.tencentcloud.com/document/product/1047/76007); the edit webhook only on the
//! mainland Chinese page [269/129193](https://cloud.tencent.com/document/product/269/129193)).
//!
//! Source: Tencent's English pages `1047/<id>`, cross-checked with the Chinese pages of the same
//! id. Group ids (`@TGS#...`, plain numbers, community ids `@TGS#_...`) and account ids (any
//! UserID, including sentinel accounts such as `@TLS#NOT_FOUND`) are [`ImStr`](crate::ImStr)s, read as sent; no form is
//! assumed. `EventTime` is in Unix milliseconds and read from a number or a numeric string (most
//! samples print it as a string); `MsgTime` is in seconds.
//!
//! Required fields follow the crate's rule (a field is required only when the event cannot be acted on without it; see [`Handler::on_unparsed`](crate::Handler::on_unparsed)): the ids that identify the
//! event (the group, the acting user, the users or the messages concerned) and the message body are
//! required; a payload without them goes to [`Handler::on_unparsed`](crate::Handler::on_unparsed)
//! with its JSON and the missing key. Descriptive fields (`Type`, names, counts, flags,
//! `EventTime`) and the numbers, times and randoms of the messages an event carries are `Option`.
//! `Type` is the open [`GroupType`]: legacy names (`Private` for `Work`, `ChatRoom` for `Meeting`)
//! match the modern variant and are written back as sent; unknown types are kept.
//!
//! Older traffic of live-streaming groups (`AVChatRoom`) sends its group messages without the
//! `MsgSeq`, `MsgTime` and `Random` the pages list. Such an [`AfterSendMsg`] is typed all the same:
//! its [`msg_seq`](AfterSendMsg::msg_seq) is `None`, its
//! [`conversation`](crate::message::MessageEvent::conversation) is the group's, its
//! [`sent_time`](AfterSendMsg::sent_time) falls back to `EventTime`, and its
//! [`idempotency_key`](crate::Event::idempotency_key) is read from its content. The sequence
//! numbers that name the message an event is about without carrying it (a recalled message, a read
//! receipt, an extension change) stay required: without them the event says nothing.
//!
//! How the gaps and contradictions of the docs are resolved:
//! - `GroupId` is also read as `GroupID` (the push callbacks' spelling) in every command, and as
//!   `groupID` in [`AfterCreate`], whose English field table spells it so (its sample says
//!   `GroupId`).
//! - The message random is documented as `Random` in the group message commands (`MsgRandom` in
//!   other families and in relayed messages); both are read, and written back as they came. Its
//!   field is `msg_random`, as in every family. It is 64-bit although the table says "32-bit".
//! - `Operator_Account` is required wherever it names the actor of the event; in the three message
//!   commands the actor is `From_Account` and `Operator_Account` (the request initiator, which
//!   differs only for admin sends) is optional.
//! - `Owner_Account` is optional everywhere: groups created through the REST API may have no owner.
//! - The initial `MemberList` of the create-group commands is optional (a group can be created with
//!   no members besides its owner); the member lists that *are* the event (joins, exits,
//!   invitations, state changes) are required. `MemberList` of [`AfterDestroyed`] is omitted for
//!   communities, so it is optional.
//! - `MsgId` of [`AfterSendMsg`] appears only on the Chinese page; it is optional. The live-room
//!   copy of the before-send page
//!   ([647/74347](https://www.tencentcloud.com/document/product/647/74347)) also shows it, so
//!   [`BeforeSendMsg`] reads it too.
//! - [`SendMsgException`] carries the failure as `ErrorCode` / `ErrorInfo` in the request body (not
//!   the reply); its table lists no `TopicId`, which is read anyway (optional) so community
//!   messages give the right [`Conversation`](crate::message::Conversation). Its sample misses a
//!   comma; the fixture adds it.
//! - The topic commands
//!   ([1047/49463](https://www.tencentcloud.com/document/product/1047/49463)–[49466](https://www.tencentcloud.com/document/product/1047/49466))
//!   were documented without `EventTime`; every sibling command has it, so it is read when present.
//!   [`BeforeCreateTopic`] documents no `GroupId`: it is optional. [`AfterTopicInfoChanged`]
//!   documents no `TopicId` (only the community's `GroupId`): `TopicId` is read when present.
//! - `OptionType` of [`AfterAttrChanged`] is only in the sample (`set`); the page's prose gives the
//!   four values. `GroupAttr` (lower-case `key`/`value`) is optional, as a `clear` may carry none,
//!   and an item's `value` is optional, as a `delete` may carry only keys.
//! - `Role` of [`AfterMemberFieldChanged`] is documented as `Admin` / `Member` only; any other
//!   value (e.g. an owner) is kept in `Other`.
//! - `EventCause` of [`MemberStateChange`] is in the 2025 field table but not in the sample.
//! - `ExtensionList` of [`AfterMsgExtension`] is optional, as a "clear all" may carry none.
//! - The sample of [`AfterReadReceipt`] misses a comma; the fixture adds it.
//! - [`AfterModifyMsg`] ([269/129193](https://cloud.tencent.com/document/product/269/129193),
//!   [2026](https://cloud.tencent.com/document/product/269/2026)) documents `GroupId`, `TopicId`,
//!   `Operator_Account` (who edited), `MsgSeq`, the new `MsgBody` and `EventTime`, and no
//!   `From_Account`. Its required fields are the group and the editor: the sequence number is
//!   optional like every sequence number of the families added since, and so is the body (the edit
//!   can be acted on from `GroupId` and `MsgSeq` alone). Its sample sends `"TopicId": ""` for a
//!   group without topics, which [`AfterModifyMsg::conversation`] reads as no topic.
//!   `From_Account`, `CloudCustomData`, `MsgTime` and `Random` (or `MsgRandom`), which the
//!   one-to-one edit webhook carries, are typed as optional but unconfirmed for this one. The reply
//!   is the usual OK (`ErrorCode` 0 processed, 1 error; it changes nothing). The fixture is the
//!   page's sample as printed.

mod topic;

use crate::protocol::imstr::ImStr;

use super::common::{ExtensionItem, ExtensionOperation, GroupType, KeyValue, Member, members};
use super::decision::{GateDecision, GroupErrorCode, SendDecision};
use super::message::{MsgElement, group_message};
use super::wire::{open_str_enum, wire_struct};

pub use super::decision::InviteDecision;
pub use topic::{
    AfterCreateTopic, AfterTopicDestroyed, AfterTopicInfoChanged, BeforeCreateTopic,
    CreateTopicDecision,
};

/// Declares a group event: the fields most group webhooks share (the command, `GroupId` in
/// either spelling, `Type`, `EventTime`), then the struct's own, as a [`wire_struct!`].
macro_rules! group_event {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        wire_struct! {
            $(#[$meta])*
            pub struct $name {
                /// The command, repeated in the body.
                pub callback_command: Option<ImStr> => "CallbackCommand",
                /// The group (any form of id; `GroupID` is read too).
                pub group_id: ImStr => "GroupId" | "GroupID",
                /// The group type.
                pub group_type: Option<GroupType> => "Type",
                /// Event time, Unix milliseconds (a numeric string in most samples).
                pub event_time: Option<u64> => "EventTime",
                $($own)*
            }
        }
    };
}

open_str_enum! {
    /// How members joined (`JoinType` of [`AfterNewMemberJoin`]).
    pub enum JoinType {
        /// They applied (and were approved where the group needs it).
        Apply = "Apply",
        /// They were invited, or added by an admin.
        Invited = "Invited",
    }
}

open_str_enum! {
    /// How members left (`ExitType` of [`AfterMemberExit`]).
    pub enum ExitType {
        /// Removed by the owner, an admin or the REST API.
        Kicked = "Kicked",
        /// They quit.
        Quit = "Quit",
    }
}

open_str_enum! {
    /// The new state of audio-video group members (`EventType` of [`MemberStateChange`]).
    pub enum MemberStateEventType {
        /// Went offline.
        Offline = "Offline",
        /// Came online.
        Online = "Online",
    }
}

open_str_enum! {
    /// Why the state changed (`EventCause` of [`MemberStateChange`], 2025 pages).
    pub enum MemberStateEventCause {
        /// No heartbeat for more than 20 seconds (`Offline`).
        HeartbeatInterrupt = "HeartbeatInterrupt",
        /// Heartbeats came back (`Online`).
        HeartbeatRecover = "HeartbeatRecover",
        /// First entry into the group (a user on several devices counts once).
        Join = "Join",
        /// Last exit from the group.
        Quit = "Quit",
    }
}

open_str_enum! {
    /// A member's new role (`Role` of [`AfterMemberFieldChanged`]). Only these two values are
    /// documented; any other is kept in `Other`.
    pub enum MemberRole {
        /// Made an admin.
        Admin = "Admin",
        /// Admin role revoked.
        Member = "Member",
    }
}

open_str_enum! {
    /// What was done to the group attributes (`OptionType` of [`AfterAttrChanged`]).
    pub enum GroupAttrOption {
        /// Every attribute was reset to the given ones.
        Set = "set",
        /// The given attributes were modified.
        Modify = "modify",
        /// Every attribute was cleared.
        Clear = "clear",
        /// The given attributes were deleted.
        Delete = "delete",
    }
}

wire_struct! {
    /// `Group.CallbackBeforeCreateGroup`: a group is about to be created, from a client or the
    /// REST API (1047/34368). Answer with a [`CreateDecision`].
    pub struct BeforeCreate {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who asked to create the group.
        pub operator_account: ImStr => "Operator_Account",
        /// The requested owner.
        pub owner_account: Option<ImStr> => "Owner_Account",
        /// The group type.
        pub group_type: Option<GroupType> => "Type",
        /// The requested group name.
        pub name: Option<ImStr> => "Name",
        /// How many groups of this type the operator has already created.
        pub create_group_num: Option<u64> => "CreateGroupNum",
        /// The initial members.
        pub member_list: Option<Vec<Member>> => "MemberList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterCreateGroup`: a group was created (1047/34369). Answered OK.
    pub struct AfterCreate {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Id of the new group. (The English field table spells it `groupID`.)
        pub group_id: ImStr => "GroupId" | "GroupID" | "groupID",
        /// UserID of who created it.
        pub operator_account: ImStr => "Operator_Account",
        /// The owner.
        pub owner_account: Option<ImStr> => "Owner_Account",
        /// The group type.
        pub group_type: Option<GroupType> => "Type",
        /// The group name.
        pub name: Option<ImStr> => "Name",
        /// The initial members.
        pub member_list: Option<Vec<Member>> => "MemberList",
        /// Custom group fields given at creation; only present when custom fields are enabled.
        pub user_defined_data_list: Option<Vec<KeyValue>> => "UserDefinedDataList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackBeforeApplyJoinGroup`: a user applies to join, before Chat adds them or
    /// asks the admins (1047/34370). Answer with an [`ApplyJoinDecision`].
    pub struct BeforeApplyJoin {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The group applied to.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// The group type.
        pub group_type: Option<GroupType> => "Type",
        /// UserID of the applicant.
        pub requestor_account: ImStr => "Requestor_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

group_event! {
    /// `Group.CallbackBeforeInviteJoinGroup`: users are about to be added by invitation or by
    /// the REST API (1047/34371). Answer with an [`InviteDecision`]: all, all but some, or none.
    pub struct BeforeInviteJoin {
        /// UserID of the inviter.
        pub operator_account: ImStr => "Operator_Account",
        /// The users to be added.
        pub destination_members: Vec<Member> => "DestinationMembers",
    }
}

group_event! {
    /// `Group.CallbackAfterNewMemberJoin`: members joined, by approved application, invitation
    /// or the REST API (1047/34372). Answered OK.
    pub struct AfterNewMemberJoin {
        /// How they joined.
        pub join_type: Option<JoinType> => "JoinType",
        /// UserID of who made the request.
        pub operator_account: ImStr => "Operator_Account",
        /// The new members.
        pub new_member_list: Vec<Member> => "NewMemberList",
    }
}

group_event! {
    /// `Group.CallbackAfterMemberExit`: members quit or were removed (1047/34373). Answered OK.
    pub struct AfterMemberExit {
        /// How they left.
        pub exit_type: Option<ExitType> => "ExitType",
        /// UserID of the leaver (`Quit`) or of the remover (`Kicked`).
        pub operator_account: ImStr => "Operator_Account",
        /// The members who left.
        pub exit_member_list: Vec<Member> => "ExitMemberList",
    }
}

group_message! {
    /// `Group.CallbackBeforeSendMsg`: a group message is about to be delivered, from a client or
    /// the REST API (1047/34374). Answer with a [`SendMsgDecision`]: allow, deny, drop, or
    /// rewrite.
    pub struct BeforeSendMsg {
        /// Client-side unique id of the message; documented only by the live-room copy of this
        /// page (647/74347).
        pub msg_id: Option<ImStr> => "MsgId",
    }
}

group_message! {
    /// `Group.CallbackAfterSendMsg`: a group message was delivered (1047/34375). Answered OK.
    pub struct AfterSendMsg {
        /// Sequence number of the message, unique in the group: its ordering key. Absent from
        /// older messages of live-streaming groups (`AVChatRoom`), which have no ordering key but
        /// their time.
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Send time on the server, Unix **seconds**.
        pub msg_time: Option<u64> => "MsgTime",
        /// Client-side unique id of the message (on the Chinese page only).
        pub msg_id: Option<ImStr> => "MsgId",
    }
}

wire_struct! {
    /// `Group.CallbackAfterGroupFull`: the group became full, or a join failed because it is
    /// (1047/34376). Answered OK.
    pub struct AfterFull {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The full group.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterGroupDestroyed`: a group was disbanded (1047/34377). Answered OK.
    pub struct AfterDestroyed {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The disbanded group.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// The group type.
        pub group_type: Option<GroupType> => "Type",
        /// The owner.
        pub owner_account: Option<ImStr> => "Owner_Account",
        /// The group name (in the sample, not in the field table).
        pub name: Option<ImStr> => "Name",
        /// The members at disband time; omitted for communities.
        pub member_list: Option<Vec<Member>> => "MemberList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

group_event! {
    /// `Group.CallbackAfterGroupInfoChanged`: the group's name, introduction, notice or avatar
    /// changed; only the changed fields are sent (1047/34378). Answered OK.
    pub struct AfterInfoChanged {
        /// UserID of who made the change.
        pub operator_account: ImStr => "Operator_Account",
        /// The new name, if changed.
        pub name: Option<ImStr> => "Name",
        /// The new introduction, if changed.
        pub introduction: Option<ImStr> => "Introduction",
        /// The new notice, if changed.
        pub notification: Option<ImStr> => "Notification",
        /// The new avatar URL, if changed.
        pub face_url: Option<ImStr> => "FaceUrl",
    }
}

wire_struct! {
    /// `Group.CallbackOnMemberStateChange`: members of an audio-video group (`AVChatRoom`) went
    /// offline or came back (1047/48734). Answered OK. No `EventTime` is documented.
    pub struct MemberStateChange {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The group.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// The new state.
        pub event_type: Option<MemberStateEventType> => "EventType",
        /// Why (2025 pages; not in the sample).
        pub event_cause: Option<MemberStateEventCause> => "EventCause",
        /// The members concerned.
        pub member_list: Vec<Member> => "MemberList",
    }
}

group_message! {
    /// `Group.CallbackSendMsgException`: a group message could not be delivered (bad parameters,
    /// frequency limit, content filter, muted sender) (1047/49462). Answered OK.
    pub struct SendMsgException {
        /// The failure's error code (e.g. 10023, frequency limit).
        pub error_code: Option<i64> => "ErrorCode",
        /// The failure's detail.
        pub error_info: Option<ImStr> => "ErrorInfo",
    }
}

wire_struct! {
    /// One entry of `MsgSeqList`: a recalled message.
    pub struct RecalledMsg {
        /// Sequence number of the recalled message.
        pub msg_seq: u64 => "MsgSeq",
    }
}

group_event! {
    /// `Group.CallbackAfterRecallMsg`: group messages were recalled, from a client or the REST
    /// API (1047/46979). Answered OK.
    pub struct AfterRecallMsg {
        /// UserID of who recalled them.
        pub operator_account: ImStr => "Operator_Account",
        /// The recalled messages.
        pub msg_seq_list: Vec<RecalledMsg> => "MsgSeqList",
        /// The topic, for topic-enabled communities only.
        pub topic_id: Option<ImStr> => "TopicId",
    }
}

group_event! {
    /// `Group.CallbackAfterMemberFieldChanged`: a member's role or name card changed
    /// (1047/60393). Answered OK.
    pub struct AfterMemberFieldChanged {
        /// UserID of who made the change.
        pub operator_account: ImStr => "Operator_Account",
        /// UserID of the member whose data changed.
        pub member_account: ImStr => "Member_Account",
        /// The new role, if it changed.
        pub role: Option<MemberRole> => "Role",
        /// The new group name card, if it changed.
        pub name_card: Option<ImStr> => "NameCard",
    }
}

wire_struct! {
    /// One group attribute (`GroupAttr`); the keys are lower case on the wire.
    pub struct GroupAttr {
        /// The attribute name.
        pub key: ImStr => "key",
        /// The attribute value (may be absent for a deletion).
        pub value: Option<ImStr> => "value",
    }
}

group_event! {
    /// `Group.CallbackAfterGroupAttrChanged`: group custom attributes were set, modified,
    /// cleared or deleted (1047/60394). Answered OK.
    pub struct AfterAttrChanged {
        /// UserID of who made the change.
        pub operator_account: ImStr => "Operator_Account",
        /// What was done (in the sample only, not in the field table).
        pub option_type: Option<GroupAttrOption> => "OptionType",
        /// The attributes concerned.
        pub group_attr: Option<Vec<GroupAttr>> => "GroupAttr",
    }
}

wire_struct! {
    /// One entry of `GroupMsgReceiptList`: the read state of one message.
    pub struct MsgReceipt {
        /// Sequence number of the message.
        pub msg_seq: u64 => "MsgSeq",
        /// How many members have read it.
        pub read_num: Option<u64> => "ReadNum",
        /// How many members have not.
        pub unread_num: Option<u64> => "UnreadNum",
        /// The members who have read it.
        pub read_receipt_members: Option<Vec<Member>> => "ReadReceiptMembers",
    }
}

group_event! {
    /// `Group.CallbackAfterReadReceipt`: group messages were acknowledged as read (not for
    /// communities) (1047/60395). Answered OK.
    pub struct AfterReadReceipt {
        /// One entry per message.
        pub group_msg_receipt_list: Vec<MsgReceipt> => "GroupMsgReceiptList",
    }
}

group_event! {
    /// `Group.CallbackAfterChangeGroupOwner`: the group's ownership was transferred
    /// (1047/60396). Answered OK.
    pub struct AfterChangeOwner {
        /// UserID of who made the transfer.
        pub operator_account: ImStr => "Operator_Account",
        /// The previous owner (a group may have had none).
        pub old_owner_account: Option<ImStr> => "OldOwner_Account",
        /// The new owner.
        pub new_owner_account: ImStr => "NewOwner_Account",
    }
}

wire_struct! {
    /// `Group.CallbackOnDailyGroupQuotaAlarm`: today's net new groups (created minus dissolved)
    /// passed 70 % of the app's daily limit (1047/57455). Answered OK.
    pub struct DailyQuotaAlarm {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Net groups created today.
        pub quota_used: Option<u64> => "QuotaUsed",
        /// The daily limit.
        pub quota: Option<u64> => "Quota",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterGroupMsgExtension`: extension keys of a group message were set,
    /// deleted or cleared (1047/76007). Answered OK.
    pub struct AfterMsgExtension {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The group.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// Sequence number of the message.
        pub msg_seq: u64 => "MsgSeq",
        /// What was done.
        pub operate_type: Option<ExtensionOperation> => "OperateType",
        /// The items concerned.
        pub extension_list: Option<Vec<ExtensionItem>> => "ExtensionList",
        /// The message's latest extension version.
        pub seq: Option<u64> => "Seq",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

group_event! {
    /// `Group.CallbackAfterModifyMsg`: a group or topic message was edited, from a client or
    /// through the REST API that modifies group history messages (269/129193, mainland Chinese
    /// page only). Answered OK.
    pub struct AfterModifyMsg {
        /// UserID of who edited the message.
        pub operator_account: ImStr => "Operator_Account",
        /// The topic whose message was edited, for topic-enabled communities; the sample sends
        /// `""` for a plain group (see [`conversation`](Self::conversation)).
        pub topic_id: Option<ImStr> => "TopicId",
        /// Sequence number of the edited message.
        pub msg_seq: Option<u64> => "MsgSeq",
        /// The message body after the edit.
        pub msg_body: Option<Vec<MsgElement>> => "MsgBody",
        /// The sender of the message (unconfirmed for this command: the one-to-one edit
        /// webhook carries it).
        pub from_account: Option<ImStr> => "From_Account",
        /// Custom message data after the edit (unconfirmed for this command).
        pub cloud_custom_data: Option<ImStr> => "CloudCustomData",
        /// Send time of the message, Unix **seconds** (unconfirmed for this command).
        pub msg_time: Option<u64> => "MsgTime",
        /// The message random (`MsgRandom` is read too; unconfirmed for this command).
        pub msg_random: Option<u64> => "Random" | "MsgRandom",
    }
}

members!(
    BeforeCreate.member_list,
    AfterCreate.member_list,
    BeforeInviteJoin.destination_members,
    AfterNewMemberJoin.new_member_list,
    AfterMemberExit.exit_member_list,
    AfterDestroyed.member_list,
    MemberStateChange.member_list,
    MsgReceipt.read_receipt_members,
);

impl BeforeInviteJoin {
    /// The UserIDs to be added (`DestinationMembers`), in order; the same as
    /// [`members`](Self::members). Refuse some of them with [`InviteDecision::Refuse`].
    pub fn invited(&self) -> impl Iterator<Item = &str> {
        self.members()
    }
}

impl AfterModifyMsg {
    /// The text of every `TIMTextElem` of the edited body, in order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.msg_body
            .iter()
            .flatten()
            .filter_map(MsgElement::as_text)
    }

    /// The group, and the topic when `TopicId` names one (an empty `TopicId` is no topic).
    pub fn conversation(&self) -> crate::protocol::message::Conversation<'_> {
        crate::protocol::message::Conversation::Group {
            group_id: &self.group_id,
            topic_id: self.topic_id.as_deref().filter(|t| !t.is_empty()),
        }
    }
}

impl AfterSendMsg {
    /// When the message was sent: `MsgTime` (Unix seconds), or, when the message has none (older
    /// messages of live-streaming groups), `EventTime` (Unix milliseconds).
    pub fn sent_time(&self) -> Option<std::time::SystemTime> {
        super::common::from_secs(self.msg_time).or_else(|| self.event_system_time())
    }
}

impl AfterRecallMsg {
    /// The sequence numbers of the recalled messages, in order.
    pub fn msg_seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.msg_seq_list.iter().map(|m| m.msg_seq)
    }
}

/// The answer to [`BeforeSendMsg`]: allow, deny (the sender gets 10016), drop silently, deny with
/// a code in [10100, 10200], or rewrite `MsgBody` and/or `CloudCustomData` (1047/34374).
pub type SendMsgDecision = SendDecision<GroupErrorCode>;

/// The answer to [`BeforeCreate`]: allow, deny (10016), or deny with a code in
/// [10100, 10200] (1047/34368).
pub type CreateDecision = GateDecision<GroupErrorCode>;

/// The answer to [`BeforeApplyJoin`]: let the application go on (admin approval still
/// applies where the group needs it), deny (10016), or deny with a code in [10100, 10200]
/// (1047/34370).
pub type ApplyJoinDecision = GateDecision<GroupErrorCode>;

#[cfg(test)]
mod tests;
