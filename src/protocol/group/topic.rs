//! The topics of a community (`Group.*Topic*`): created, destroyed, changed
//! ([1047/49463](https://www.tencentcloud.com/document/product/1047/49463) and the pages each
//! event cites).

use crate::protocol::common::{GroupType, KeyValue};
use crate::protocol::decision::{GateDecision, GroupErrorCode};
use crate::protocol::imstr::ImStr;
use crate::protocol::wire::wire_struct;

/// The answer to [`BeforeCreateTopic`]: allow, deny (10016), or deny with a code in
/// [10100, 10200] (1047/49463).
pub type CreateTopicDecision = GateDecision<GroupErrorCode>;

wire_struct! {
    /// `Group.CallbackBeforeCreateTopic`: a topic is about to be created in a community
    /// (1047/49463). Answer with a [`CreateTopicDecision`].
    pub struct BeforeCreateTopic {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who asked to create the topic.
        pub operator_account: ImStr => "Operator_Account",
        /// The group type, always `Community`.
        pub group_type: Option<GroupType> => "Type",
        /// The requested topic name.
        pub name: Option<ImStr> => "Name",
        /// The community; not documented, read when present.
        pub group_id: Option<ImStr> => "GroupId" | "GroupID",
        /// Event time, Unix milliseconds; not documented, read when present.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterCreateTopic`: a topic was created in a community (1047/49464).
    /// Answered OK.
    pub struct AfterCreateTopic {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The community.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// Id of the new topic.
        pub topic_id: ImStr => "TopicId",
        /// UserID of who created it.
        pub operator_account: ImStr => "Operator_Account",
        /// The community's owner.
        pub owner_account: Option<ImStr> => "Owner_Account",
        /// The group type, `Community`.
        pub group_type: Option<GroupType> => "Type",
        /// The topic name.
        pub name: Option<ImStr> => "Name",
        /// Custom topic fields, when custom fields are enabled.
        pub user_defined_data_list: Option<Vec<KeyValue>> => "UserDefinedDataList",
        /// Event time, Unix milliseconds; not documented, read when present.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterTopicDestroyed`: topics of a community were deleted (1047/49465).
    /// Answered OK.
    pub struct AfterTopicDestroyed {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The community.
        pub group_id: ImStr => "GroupId" | "GroupID",
        /// The group type, `Community`.
        pub group_type: Option<GroupType> => "Type",
        /// Ids of the deleted topics.
        pub topic_id_list: Vec<ImStr> => "TopicIdList",
        /// Event time, Unix milliseconds; not documented, read when present.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Group.CallbackAfterTopicInfoChanged`: a topic's name, introduction, notice or avatar
    /// changed (1047/49466). Answered OK.
    pub struct AfterTopicInfoChanged {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The community of the changed topic.
        pub group_id: ImStr => "GroupId" | "GroupID",
        // The page documents no `TopicId` (only the community's `GroupId`); a topic id is
        // plausible in real traffic, so it is typed, and optional.
        /// The changed topic; not documented, read when present.
        pub topic_id: Option<ImStr> => "TopicId",
        /// The group type, `Community`.
        pub group_type: Option<GroupType> => "Type",
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
        /// Event time, Unix milliseconds; not documented, read when present.
        pub event_time: Option<u64> => "EventTime",
    }
}
