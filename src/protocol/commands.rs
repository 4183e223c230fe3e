//! The command table: one row per webhook command this crate types. Everything that differs
//! between commands is a column of its row, and every place that lists the commands is generated
//! from it through [`for_each_command!`], so adding a command is one row here, its event type in
//! its family's module, and its sample in `fixtures/events/`.
//!
//! A row:
//!
//! ```text
//! /// Docs, shown on the handler method.
//! Variant = "Family.CallbackName", Before | After, time ms | none, key IDENTITY,
//! fn on_method(family::Event) -> Answer;
//! ```
//!
//! - `time`: the unit of the event's `EventTime` field (`ms`), or `none` for an event type without
//!   one; it generates `event_system_time()`, and a row whose event has no `event_time` field
//!   fails to compile with `ms`.
//! - `key`: what identifies one event of the command, a class of `handler/key.rs` (whose docs,
//!   on `Event::idempotency_key`, give each class's fields and why they name one event).
//! - The names follow the naming rule (see `Command`), which a unit test checks on every row.

/// Calls `$callback! { rows }` with every row of the table; each consumer (the `Command` and
/// `Event` enums, the `Handler` trait, the identity table) is a `macro_rules!` that takes the rows.
macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            // Official Account (Official Channel), trtc.io 60795–60805.

            /// `OfficialAccount.CallbackBeforeCreateOfficialAccount`: allow, deny, or deny with a code.
            /// Default: allow.
            OfficialAccountBeforeCreate = "OfficialAccount.CallbackBeforeCreateOfficialAccount", Before, time ms, key TIMED,
            fn on_official_account_before_create(official_account::BeforeCreate) -> official_account::CreateDecision;

            /// `OfficialAccount.CallbackAfterCreateOfficialAccount`: an official account was created.
            OfficialAccountAfterCreate = "OfficialAccount.CallbackAfterCreateOfficialAccount", After, time ms, key TIMED,
            fn on_official_account_after_create(official_account::AfterCreate) -> ();

            /// `OfficialAccount.CallbackAfterOfficialAccountInfoChanged`: the account's profile changed.
            OfficialAccountAfterInfoChanged = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged", After, time ms, key TIMED,
            fn on_official_account_after_info_changed(official_account::AfterInfoChanged) -> ();

            /// `OfficialAccount.CallbackAfterOfficialAccountDestroyed`: an official account was destroyed.
            OfficialAccountAfterDestroyed = "OfficialAccount.CallbackAfterOfficialAccountDestroyed", After, time ms, key TIMED,
            fn on_official_account_after_destroyed(official_account::AfterDestroyed) -> ();

            /// `OfficialAccount.CallbackBeforeAddSubscriber`: allow all, refuse some users, or reject.
            /// Default: allow all.
            OfficialAccountBeforeAddSubscriber = "OfficialAccount.CallbackBeforeAddSubscriber", Before, time ms, key TIMED,
            fn on_official_account_before_add_subscriber(official_account::BeforeAddSubscriber) -> official_account::AddSubscriberDecision;

            /// `OfficialAccount.CallbackAfterAddSubscriber`: users subscribed.
            OfficialAccountAfterAddSubscriber = "OfficialAccount.CallbackAfterAddSubscriber", After, time ms, key TIMED,
            fn on_official_account_after_add_subscriber(official_account::AfterAddSubscriber) -> ();

            /// `OfficialAccount.CallbackAfterOfficialAccountFull`: the account reached its subscriber
            /// limit.
            OfficialAccountAfterFull = "OfficialAccount.CallbackAfterOfficialAccountFull", After, time ms, key TIMED,
            fn on_official_account_after_full(official_account::AfterFull) -> ();

            /// `OfficialAccount.CallbackAfterDeleteSubscriber`: users unsubscribed or were removed.
            OfficialAccountAfterDeleteSubscriber = "OfficialAccount.CallbackAfterDeleteSubscriber", After, time ms, key TIMED,
            fn on_official_account_after_delete_subscriber(official_account::AfterDeleteSubscriber) -> ();

            /// `OfficialAccount.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or
            /// rewrite the body and custom data. Default: allow. Tencent waits at most 2 seconds.
            OfficialAccountBeforeSendMsg = "OfficialAccount.CallbackBeforeSendMsg", Before, time ms, key TIMED,
            fn on_official_account_before_send_msg(official_account::BeforeSendMsg) -> official_account::SendMsgDecision;

            /// `OfficialAccount.CallbackAfterSendMsg`: a message was delivered to the subscribers.
            OfficialAccountAfterSendMsg = "OfficialAccount.CallbackAfterSendMsg", After, time ms, key OFFICIAL_ACCOUNT_MESSAGE,
            fn on_official_account_after_send_msg(official_account::AfterSendMsg) -> ();

            /// `OfficialAccount.CallbackAfterMsgWithDraw`: messages were recalled.
            OfficialAccountAfterMsgWithDraw = "OfficialAccount.CallbackAfterMsgWithDraw", After, time ms, key RECALL,
            fn on_official_account_after_msg_with_draw(official_account::AfterMsgWithDraw) -> ();

            // Online status, 1047/34357.

            /// `State.StateChange`: a user logged in, out, or dropped.
            StateChange = "State.StateChange", After, time ms, key TIMED,
            fn on_state_change(state::Change) -> ();

            // Profile, 1047/48733.

            /// `Profile.CallbackPortraitSet`: a user's profile changed.
            ProfilePortraitSet = "Profile.CallbackPortraitSet", After, time ms, key TIMED,
            fn on_profile_portrait_set(profile::PortraitSet) -> ();

            // Relationship chain, 1047/43468, 43467, 34359–34362.

            /// `Sns.CallbackPrevFriendAdd`: a client asks to add friends; a result per target.
            /// Default: allow every target.
            SnsPrevFriendAdd = "Sns.CallbackPrevFriendAdd", Before, time ms, key TIMED,
            fn on_sns_prev_friend_add(sns::PrevFriendAdd) -> sns::FriendDecision;

            /// `Sns.CallbackPrevFriendResponse`: a client answers friend requests; a result per target.
            /// Default: allow every target.
            SnsPrevFriendResponse = "Sns.CallbackPrevFriendResponse", Before, time ms, key TIMED,
            fn on_sns_prev_friend_response(sns::PrevFriendResponse) -> sns::FriendDecision;

            /// `Sns.CallbackFriendAdd`: friendships were created.
            SnsFriendAdd = "Sns.CallbackFriendAdd", After, time none, key UNDOCUMENTED,
            fn on_sns_friend_add(sns::FriendAdd) -> ();

            /// `Sns.CallbackFriendDelete`: friendships were deleted.
            SnsFriendDelete = "Sns.CallbackFriendDelete", After, time none, key UNDOCUMENTED,
            fn on_sns_friend_delete(sns::FriendDelete) -> ();

            /// `Sns.CallbackBlackListAdd`: users were added to a blocklist.
            SnsBlackListAdd = "Sns.CallbackBlackListAdd", After, time none, key UNDOCUMENTED,
            fn on_sns_black_list_add(sns::BlackListAdd) -> ();

            /// `Sns.CallbackBlackListDelete`: users were removed from a blocklist.
            SnsBlackListDelete = "Sns.CallbackBlackListDelete", After, time none, key UNDOCUMENTED,
            fn on_sns_black_list_delete(sns::BlackListDelete) -> ();

            // Follow, 1047/70355, 70356.

            /// `Follow.CallbackAfterFollowAdd`: a user followed others.
            FollowAfterAdd = "Follow.CallbackAfterFollowAdd", After, time ms, key TIMED,
            fn on_follow_after_add(follow::AfterAdd) -> ();

            /// `Follow.CallbackAfterFollowDelete`: a user unfollowed others.
            FollowAfterDelete = "Follow.CallbackAfterFollowDelete", After, time ms, key TIMED,
            fn on_follow_after_delete(follow::AfterDelete) -> ();

            // One-to-one messages, 1047/34364, 34365, 43465, 43466, 76006; 269/128224.

            /// `C2C.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or rewrite.
            /// Default: allow. Tencent waits at most 2 seconds.
            C2cBeforeSendMsg = "C2C.CallbackBeforeSendMsg", Before, time ms, key C2C_MESSAGE,
            fn on_c2c_before_send_msg(c2c::BeforeSendMsg) -> c2c::SendMsgDecision;

            /// `C2C.CallbackAfterSendMsg`: a one-to-one message was delivered, or failed to be.
            C2cAfterSendMsg = "C2C.CallbackAfterSendMsg", After, time ms, key C2C_MESSAGE,
            fn on_c2c_after_send_msg(c2c::AfterSendMsg) -> ();

            /// `C2C.CallbackAfterMsgReport`: a conversation was marked read.
            C2cAfterMsgReport = "C2C.CallbackAfterMsgReport", After, time ms, key UNDOCUMENTED,
            fn on_c2c_after_msg_report(c2c::AfterMsgReport) -> ();

            /// `C2C.CallbackAfterMsgWithDraw`: a one-to-one message was recalled.
            C2cAfterMsgWithDraw = "C2C.CallbackAfterMsgWithDraw", After, time ms, key C2C_MESSAGE,
            fn on_c2c_after_msg_with_draw(c2c::AfterMsgWithDraw) -> ();

            /// `C2C.CallbackAfterC2CMsgExtension`: a one-to-one message's extension changed.
            C2cAfterMsgExtension = "C2C.CallbackAfterC2CMsgExtension", After, time ms, key C2C_EXTENSION,
            fn on_c2c_after_msg_extension(c2c::AfterMsgExtension) -> ();

            /// `C2C.CallbackAfterModifyMsg`: a one-to-one message was edited.
            C2cAfterModifyMsg = "C2C.CallbackAfterModifyMsg", After, time ms, key C2C_EDIT,
            fn on_c2c_after_modify_msg(c2c::AfterModifyMsg) -> ();

            // Chatbots, 1047/68952, 59057, 68953.

            /// `Bot.OnC2CMessage`: a one-to-one message reached a chatbot.
            BotC2cMessage = "Bot.OnC2CMessage", After, time ms, key C2C_MESSAGE,
            fn on_bot_c2c_message(bot::C2cMessage) -> ();

            /// `Chatbot.OnC2CSignalMessage`: custom pass-through content for a chatbot. Its reply shape
            /// is not documented: answer with any [`Reply`]. Default: OK.
            ChatbotC2cSignalMessage = "Chatbot.OnC2CSignalMessage", Before, time ms, key C2C_MESSAGE,
            fn on_chatbot_c2c_signal_message(chatbot::C2cSignalMessage) -> Reply;

            /// `Bot.OnGroupMessage`: a chatbot was @-mentioned in a group.
            BotGroupMessage = "Bot.OnGroupMessage", After, time ms, key BOT_GROUP_MESSAGE,
            fn on_bot_group_message(bot::GroupMessage) -> ();

            // Groups, communities and topics, 1047/34368–34378, 46979, 48734, 49462–49466, 57455,
            // 60393–60396, 76007; 269/129193.

            /// `Group.CallbackBeforeCreateGroup`: allow, deny, or deny with a code. Default: allow.
            GroupBeforeCreate = "Group.CallbackBeforeCreateGroup", Before, time ms, key TIMED,
            fn on_group_before_create(group::BeforeCreate) -> group::CreateDecision;

            /// `Group.CallbackAfterCreateGroup`: a group was created.
            GroupAfterCreate = "Group.CallbackAfterCreateGroup", After, time ms, key TIMED,
            fn on_group_after_create(group::AfterCreate) -> ();

            /// `Group.CallbackBeforeApplyJoinGroup`: allow, deny, or deny with a code. Default: allow.
            GroupBeforeApplyJoin = "Group.CallbackBeforeApplyJoinGroup", Before, time ms, key TIMED,
            fn on_group_before_apply_join(group::BeforeApplyJoin) -> group::ApplyJoinDecision;

            /// `Group.CallbackBeforeInviteJoinGroup`: allow all, refuse some users, reject, or reject
            /// with a code. Default: allow all.
            GroupBeforeInviteJoin = "Group.CallbackBeforeInviteJoinGroup", Before, time ms, key TIMED,
            fn on_group_before_invite_join(group::BeforeInviteJoin) -> group::InviteDecision;

            /// `Group.CallbackAfterNewMemberJoin`: members joined, by approved application, invitation or
            /// the REST API.
            GroupAfterNewMemberJoin = "Group.CallbackAfterNewMemberJoin", After, time ms, key TIMED,
            fn on_group_after_new_member_join(group::AfterNewMemberJoin) -> ();

            /// `Group.CallbackAfterMemberExit`: members quit or were removed.
            GroupAfterMemberExit = "Group.CallbackAfterMemberExit", After, time ms, key TIMED,
            fn on_group_after_member_exit(group::AfterMemberExit) -> ();

            /// `Group.CallbackBeforeSendMsg`: allow, deny, drop silently, deny with a code, or rewrite.
            /// Default: allow. Tencent waits at most 2 seconds.
            GroupBeforeSendMsg = "Group.CallbackBeforeSendMsg", Before, time ms, key TIMED,
            fn on_group_before_send_msg(group::BeforeSendMsg) -> group::SendMsgDecision;

            /// `Group.CallbackAfterSendMsg`: a group message was delivered.
            GroupAfterSendMsg = "Group.CallbackAfterSendMsg", After, time ms, key GROUP_MESSAGE,
            fn on_group_after_send_msg(group::AfterSendMsg) -> ();

            /// `Group.CallbackAfterGroupFull`: the group became full, or a join failed because it is.
            GroupAfterFull = "Group.CallbackAfterGroupFull", After, time ms, key TIMED,
            fn on_group_after_full(group::AfterFull) -> ();

            /// `Group.CallbackAfterGroupDestroyed`: a group was disbanded.
            GroupAfterDestroyed = "Group.CallbackAfterGroupDestroyed", After, time ms, key TIMED,
            fn on_group_after_destroyed(group::AfterDestroyed) -> ();

            /// `Group.CallbackAfterGroupInfoChanged`: the group's name, introduction, notice or avatar
            /// changed; only the changed fields are sent.
            GroupAfterInfoChanged = "Group.CallbackAfterGroupInfoChanged", After, time ms, key TIMED,
            fn on_group_after_info_changed(group::AfterInfoChanged) -> ();

            /// `Group.CallbackOnMemberStateChange`: audio-video group members went on- or offline.
            GroupMemberStateChange = "Group.CallbackOnMemberStateChange", After, time none, key UNDOCUMENTED,
            fn on_group_member_state_change(group::MemberStateChange) -> ();

            /// `Group.CallbackSendMsgException`: a group message could not be delivered.
            GroupSendMsgException = "Group.CallbackSendMsgException", After, time ms, key TIMED,
            fn on_group_send_msg_exception(group::SendMsgException) -> ();

            /// `Group.CallbackAfterRecallMsg`: group messages were recalled, from a client or the REST API.
            GroupAfterRecallMsg = "Group.CallbackAfterRecallMsg", After, time ms, key RECALL,
            fn on_group_after_recall_msg(group::AfterRecallMsg) -> ();

            /// `Group.CallbackBeforeCreateTopic`: allow, deny, or deny with a code. Default: allow.
            GroupBeforeCreateTopic = "Group.CallbackBeforeCreateTopic", Before, time ms, key UNDOCUMENTED,
            fn on_group_before_create_topic(group::BeforeCreateTopic) -> group::CreateTopicDecision;

            /// `Group.CallbackAfterCreateTopic`: a topic was created in a community.
            GroupAfterCreateTopic = "Group.CallbackAfterCreateTopic", After, time ms, key UNDOCUMENTED,
            fn on_group_after_create_topic(group::AfterCreateTopic) -> ();

            /// `Group.CallbackAfterTopicDestroyed`: topics of a community were deleted.
            GroupAfterTopicDestroyed = "Group.CallbackAfterTopicDestroyed", After, time ms, key UNDOCUMENTED,
            fn on_group_after_topic_destroyed(group::AfterTopicDestroyed) -> ();

            /// `Group.CallbackAfterTopicInfoChanged`: a topic's name, introduction, notice or avatar
            /// changed.
            GroupAfterTopicInfoChanged = "Group.CallbackAfterTopicInfoChanged", After, time ms, key UNDOCUMENTED,
            fn on_group_after_topic_info_changed(group::AfterTopicInfoChanged) -> ();

            /// `Group.CallbackAfterMemberFieldChanged`: a member's role or name card changed.
            GroupAfterMemberFieldChanged = "Group.CallbackAfterMemberFieldChanged", After, time ms, key TIMED,
            fn on_group_after_member_field_changed(group::AfterMemberFieldChanged) -> ();

            /// `Group.CallbackAfterGroupAttrChanged`: custom group attributes changed.
            GroupAfterAttrChanged = "Group.CallbackAfterGroupAttrChanged", After, time ms, key TIMED,
            fn on_group_after_attr_changed(group::AfterAttrChanged) -> ();

            /// `Group.CallbackAfterReadReceipt`: group messages were read.
            GroupAfterReadReceipt = "Group.CallbackAfterReadReceipt", After, time ms, key READ_RECEIPT,
            fn on_group_after_read_receipt(group::AfterReadReceipt) -> ();

            /// `Group.CallbackAfterChangeGroupOwner`: the group's ownership was transferred.
            GroupAfterChangeOwner = "Group.CallbackAfterChangeGroupOwner", After, time ms, key TIMED,
            fn on_group_after_change_owner(group::AfterChangeOwner) -> ();

            /// `Group.CallbackOnDailyGroupQuotaAlarm`: the day's new groups passed 70 % of the quota.
            GroupDailyQuotaAlarm = "Group.CallbackOnDailyGroupQuotaAlarm", After, time ms, key TIMED,
            fn on_group_daily_quota_alarm(group::DailyQuotaAlarm) -> ();

            /// `Group.CallbackAfterGroupMsgExtension`: a group message's extension changed.
            GroupAfterMsgExtension = "Group.CallbackAfterGroupMsgExtension", After, time ms, key GROUP_EXTENSION,
            fn on_group_after_msg_extension(group::AfterMsgExtension) -> ();

            /// `Group.CallbackAfterModifyMsg`: a group or topic message was edited.
            GroupAfterModifyMsg = "Group.CallbackAfterModifyMsg", After, time ms, key GROUP_EDIT,
            fn on_group_after_modify_msg(group::AfterModifyMsg) -> ();

            // Moderation and operations, 1047/78240, 60256.

            /// `ContentCallback.ResultNotify`: a cloud moderation result. Its body has no
            /// `CallbackCommand`: it is read as the query says.
            ModerationResultNotify = "ContentCallback.ResultNotify", After, time none, key MODERATION_RESULT,
            fn on_moderation_result_notify(moderation::ResultNotify) -> ();

            /// `Alert.RequestOverLimit`: a REST API passed 80 % of its rate limit.
            AlertRequestOverLimit = "Alert.RequestOverLimit", After, time none, key UNDOCUMENTED,
            fn on_alert_request_over_limit(alert::RequestOverLimit) -> ();

            // Push service, 1047/67552, 67551.

            /// `Push.OfflinePush`: push results of messages, a batch of 1 to 100 events.
            PushOffline = "Push.OfflinePush", After, time none, key OFFLINE_PUSH,
            fn on_push_offline(push::Offline) -> ();

            /// `Push.AllMemberPush`: push-task results (all users, tags, UserIDs), a batch of 1 to 100.
            PushAllMember = "Push.AllMemberPush", After, time none, key ALL_MEMBER_PUSH,
            fn on_push_all_member(push::AllMember) -> ();

            // TUICallKit calls, on Chat's envelope: 269/129102; 647/116423, 116424, 117872.

            /// `Call.CallbackAfterStartCall`: a call was started.
            CallAfterStart = "Call.CallbackAfterStartCall", After, time ms, key TIMED,
            fn on_call_after_start(call::AfterStart) -> ();

            /// `Call.CallbackAfterEndCall`: a call ended.
            CallAfterEnd = "Call.CallbackAfterEndCall", After, time ms, key TIMED,
            fn on_call_after_end(call::AfterEnd) -> ();

            /// `Call.CallbackAfterMemberChanged`: call members answered, declined, hung up, joined or
            /// dropped.
            CallAfterMemberChanged = "Call.CallbackAfterMemberChanged", After, time ms, key TIMED,
            fn on_call_after_member_changed(call::AfterMemberChanged) -> ();

            // TUIRoomKit rooms and seats, on Chat's envelope: 269/105401; 647/60731–60736.

            /// `Room.CallbackAfterCreateRoom`: a room was created.
            RoomAfterCreate = "Room.CallbackAfterCreateRoom", After, time ms, key TIMED,
            fn on_room_after_create(room::AfterCreate) -> ();

            /// `Room.CallbackAfterDestroyRoom`: a room was dissolved.
            RoomAfterDestroy = "Room.CallbackAfterDestroyRoom", After, time ms, key TIMED,
            fn on_room_after_destroy(room::AfterDestroy) -> ();

            /// `Room.CallbackAfterUpdateRoomInfo`: a room's settings changed.
            RoomAfterUpdateInfo = "Room.CallbackAfterUpdateRoomInfo", After, time ms, key TIMED,
            fn on_room_after_update_info(room::AfterUpdateInfo) -> ();

            /// `Room.CallbackAfterMemberEnter`: members entered a room.
            RoomAfterMemberEnter = "Room.CallbackAfterMemberEnter", After, time ms, key TIMED,
            fn on_room_after_member_enter(room::AfterMemberEnter) -> ();

            /// `Room.CallbackAfterMemberLeave`: members left a room.
            RoomAfterMemberLeave = "Room.CallbackAfterMemberLeave", After, time ms, key TIMED,
            fn on_room_after_member_leave(room::AfterMemberLeave) -> ();

            /// `Mic.CallbackAfterSeatInfoChanged`: seats of a room (TUIRoomKit) or live room
            /// (TUILiveKit) changed.
            MicAfterSeatInfoChanged = "Mic.CallbackAfterSeatInfoChanged", After, time ms, key TIMED,
            fn on_mic_after_seat_info_changed(mic::AfterSeatInfoChanged) -> ();
        }
    };
}
pub(crate) use for_each_command;
