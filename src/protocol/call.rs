//! TUICallKit (audio and video calls) webhooks: `Call.*` (command list
//! [269/129102](https://cloud.tencent.com/document/product/269/129102) and
//! [647/68934](https://www.tencentcloud.com/document/product/647/68934); pages
//! [647/116423](https://cloud.tencent.com/document/product/647/116423),
//! [647/116424](https://cloud.tencent.com/document/product/647/116424),
//! [647/117872](https://cloud.tencent.com/document/product/647/117872) in Chinese,
//! [647/68941](https://www.tencentcloud.com/document/product/647/68941),
//! [647/68940](https://www.tencentcloud.com/document/product/647/68940),
//! [647/69215](https://www.tencentcloud.com/document/product/647/69215) in English).
//!
//! These callbacks come from the Call backend, not from Chat, but on Chat's envelope (`SdkAppid`,
//! `CallbackCommand`, `contenttype`, `ClientIP`, `OptPlatform` in the query) and often to the same
//! URL. They are not configured in the Chat console but through a REST API
//! (`v4/call_config/set_callback`,
//! [647/68938](https://www.tencentcloud.com/document/product/647/68938)) that takes a URL and a
//! command list and no token: whether Tencent appends `Sign` and `RequestTime` to them is not
//! documented. They carry the same `SdkAppid` as Chat's, so if yours arrive unsigned, give them a
//! URL of their own, served by a [`WebhookService`](crate::WebhookService) whose app is configured
//! [`without_signature_check`](crate::WebhookConfigBuilder::without_signature_check) (behind
//! another control), and keep Chat's callbacks on the signed URL. All three commands are
//! notifications: the documented reply is the usual OK, whose result is ignored.
//!
//! Accounts and room ids are [`Id`]s: the pages type them as strings, but the English sample of
//! [`AfterStart`] prints `User_Account` as numbers (`144115212830834855`), while the Chinese one
//! prints `"user1"`; both are read, exactly, and written back as they came. Every time is read from
//! a number or a numeric string, as everywhere in this crate.
//!
//! Required fields, as the crate's rule (a field is required only when the event cannot be acted on without it; see [`Handler::on_unparsed`](crate::Handler::on_unparsed)) says for every family: the ids
//! that say which call and who (`CallId`, the call's members, the caller); the rest, media types,
//! statuses, times and room details, is optional. A payload without them goes to
//! [`Handler::on_unparsed`](crate::Handler::on_unparsed).
//!
//! How the gaps and contradictions of the pages are resolved:
//! - [`AfterStart`]'s field table lists `CallId`, `MediaType`, `ChatGroupId`, `RoomId` and
//!   `RoomIdType` at the top level; both samples (English and Chinese) nest them in `CallInfo`, and
//!   spell the media type `CallMediaType`. The code follows the samples ([`CallInfo`]) and reads
//!   either spelling of the media type (writing back the one that came).
//! - [`AfterEnd`]'s Chinese table types `CallResult` as Integer; its sample, its English table and
//!   the value list are strings. It is read as the string enum [`CallResult`]. Its sample misses
//!   the comma after `CallRecord` (both languages); the fixture adds it.
//! - [`AfterMemberChanged`] spells its actions four ways: the Chinese sample `Accept` and `Hangup`,
//!   the Chinese table `HangUp`, the English sample `Answer`, `Invite` and `Cancel_Invite`, the
//!   English table `Accept`, `Hang Up`, `Invited` and `Canncel_Invite`. [`MemberAction`] reads
//!   every one of them as one variant, and an event writes back the spelling it came with (the
//!   Chinese sample's when built by hand). Its sample carries a `//` comment and misses the comma
//!   after `ChangedUserList`; the fixture (the Chinese page's sample) drops the comment and adds
//!   the comma.
//! - `RoomIdType` says whether the TRTC room id is a number (1) or a string (2); the samples send
//!   `RoomId` as a string either way (`""` when there is none), which is read as sent.
//! - `AcceptTime` is `0` for a call that never connected (the sample's `NotAnswer`).
//!
//! A different, older TUICallKit callback
//! ([647/96214](https://www.tencentcloud.com/document/product/647/96214), 1640/105734:
//! `command=call_end` in a lower-case query, no `CallbackCommand`) is not this envelope and is not
//! typed here.

use std::time::Duration;

use crate::protocol::imstr::ImStr;

use super::common::{Id, id_strs};
use super::wire::{open_int_enum, open_str_enum, wire_struct};

open_str_enum! {
    /// Audio or video (`CallMediaType` / `MediaType`).
    pub enum MediaType {
        /// A video call.
        Video = "Video",
        /// An audio call.
        Audio = "Audio",
    }
}

open_int_enum! {
    /// The form of the TRTC room id (`RoomIdType`).
    pub enum RoomIdType {
        /// A numeric room id.
        Numeric = 1,
        /// A string room id.
        Text = 2,
    }
}

open_str_enum! {
    /// A member's state in the call (`UserList[].Status`).
    pub enum MemberStatus {
        /// In the call.
        Calling = "Calling",
        /// Invited, not yet connected.
        Waiting = "Waiting",
    }
}

open_str_enum! {
    /// One-to-one or group (`CallType`).
    pub enum CallType {
        /// A one-to-one call.
        SingleCall = "SingleCall",
        /// A group call.
        MultiCall = "MultiCall",
    }
}

open_str_enum! {
    /// How a call ended (`CallResult`).
    pub enum CallResult {
        /// The caller cancelled before it connected.
        Cancel = "Cancel",
        /// The callee declined.
        Reject = "Reject",
        /// The callee did not answer in time.
        NotAnswer = "NotAnswer",
        /// Connected, then ended normally.
        NormalEnd = "NormalEnd",
        /// The callee was busy.
        CallBusy = "CallBusy",
        /// Interrupted (network or other failures).
        Interrupt = "Interrupt",
        /// Ended by the server on a heartbeat timeout.
        Offline = "Offline",
    }
}

open_str_enum! {
    /// What changed a member's state (`ChangedUserList[].ActionType`). Every spelling the pages
    /// use is read; an event writes back the one it came with, the enum alone writes the Chinese
    /// sample's.
    pub enum MemberAction {
        /// Answered.
        Accept = "Accept" | "Answer",
        /// Declined.
        Reject = "Reject",
        /// Did not answer.
        NotAnswer = "NotAnswer",
        /// Hung up.
        Hangup = "Hangup" | "HangUp" | "Hang Up",
        /// Joined the call on their own.
        Join = "Join",
        /// Went offline (heartbeat timeout).
        Offline = "Offline",
        /// Invited by the caller.
        Invite = "Invite" | "Invited",
        /// The caller withdrew the invitation.
        CancelInvite = "Cancel_Invite" | "Canncel_Invite",
    }
}

wire_struct! {
    /// One member of a call (`UserList[]`).
    pub struct CallMember {
        /// The member's UserID.
        pub user_account: Id => "User_Account",
        /// In the call or waiting.
        pub status: Option<MemberStatus> => "Status",
    }
}

wire_struct! {
    /// The call of an [`AfterStart`] (`CallInfo`).
    pub struct CallInfo {
        /// The call's id.
        pub call_id: ImStr => "CallId",
        /// Audio or video (the field table spells it `MediaType`).
        pub media_type: Option<MediaType> => "CallMediaType" | "MediaType",
        /// The Chat group of a group call; empty otherwise.
        pub chat_group_id: Option<ImStr> => "ChatGroupId",
        /// The TRTC room; empty when not given.
        pub room_id: Option<Id> => "RoomId",
        /// Whether the room id is numeric or a string.
        pub room_id_type: Option<RoomIdType> => "RoomIdType",
    }
}

wire_struct! {
    /// `Call.CallbackAfterStartCall`: a user started a call from a client (647/116423,
    /// 647/68941). Answered OK.
    pub struct AfterStart {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The call.
        pub call_info: CallInfo => "CallInfo",
        /// Its members: the caller (`Calling`) and the callees (`Waiting`).
        pub user_list: Vec<CallMember> => "UserList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// The record of an ended call (`CallRecord`).
    pub struct CallRecord {
        /// The call's id.
        pub call_id: ImStr => "CallId",
        /// UserID of the caller.
        pub caller_account: Id => "Caller_Account",
        /// Audio or video (`CallMediaType` is read too).
        pub media_type: Option<MediaType> => "MediaType" | "CallMediaType",
        /// One-to-one or group.
        pub call_type: Option<CallType> => "CallType",
        /// When the call was started, Unix **seconds**.
        pub start_time: Option<u64> => "StartTime",
        /// When it ended, Unix seconds.
        pub end_time: Option<u64> => "EndTime",
        /// When it connected, Unix seconds; `0` if it never did.
        pub accept_time: Option<u64> => "AcceptTime",
        /// How it ended.
        pub call_result: Option<CallResult> => "CallResult",
        /// UserIDs of the call's members.
        pub callee_list_account: Vec<Id> => "CalleeList_Account",
        /// The TRTC room.
        pub room_id: Option<Id> => "RoomId",
        /// Whether the room id is numeric or a string.
        pub room_id_type: Option<RoomIdType> => "RoomIdType",
    }
}

wire_struct! {
    /// `Call.CallbackAfterEndCall`: a call ended, once one member or none was left in it
    /// (647/116424, 647/68940). Answered OK. The call's details can be queried 5 seconds later.
    pub struct AfterEnd {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The call.
        pub call_record: CallRecord => "CallRecord",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// One member whose state changed (`ChangedUserList[]`).
    pub struct ChangedMember {
        /// The member's UserID.
        pub user_account: Id => "User_Account",
        /// What changed it.
        pub action_type: Option<MemberAction> => "ActionType",
    }
}

wire_struct! {
    /// `Call.CallbackAfterMemberChanged`: members of a call answered, declined, hung up, joined,
    /// dropped, or were invited or uninvited (647/117872, 647/69215). Answered OK.
    pub struct AfterMemberChanged {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The call's id.
        pub call_id: ImStr => "CallId",
        /// The call's members after the change, with their states.
        pub user_list: Option<Vec<CallMember>> => "UserList",
        /// The members whose state changed, and why.
        pub changed_user_list: Vec<ChangedMember> => "ChangedUserList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

impl AfterStart {
    /// The UserIDs of the call's members, in order.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.user_list.iter().map(|m| m.user_account.as_str())
    }
}

impl CallRecord {
    /// The UserIDs of the call's members (`CalleeList_Account`), in order.
    pub fn callees(&self) -> impl Iterator<Item = &str> {
        id_strs(&self.callee_list_account)
    }

    /// How long the call was connected: from `AcceptTime` to `EndTime`. `None` when it never
    /// connected (`AcceptTime` 0 or absent) or either time is missing.
    pub fn talk_time(&self) -> Option<Duration> {
        let accepted = self.accept_time.filter(|&t| t > 0)?;
        Some(Duration::from_secs(self.end_time?.saturating_sub(accepted)))
    }
}

impl AfterMemberChanged {
    /// The UserIDs of the members whose state changed, in order.
    pub fn changed(&self) -> impl Iterator<Item = &str> {
        self.changed_user_list
            .iter()
            .map(|m| m.user_account.as_str())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::test_support::{de_value as de, fixture};

    #[test]
    fn every_fixture_parses_fully_typed() {
        let start: AfterStart = fixture("Call.CallbackAfterStartCall");
        assert_eq!(
            start.call_info.call_id,
            "055662e1-bc8a-469c-a334-1126c8c17d58"
        );
        assert_eq!(start.call_info.media_type, Some(MediaType::Audio));
        assert_eq!(start.call_info.room_id_type, Some(RoomIdType::Numeric));
        assert_eq!(
            start.members().collect::<Vec<_>>(),
            ["144115212830834855", "144115212948889925"]
        );
        assert!(start.user_list[0].user_account.is_numeric());
        assert_eq!(start.user_list[1].status, Some(MemberStatus::Waiting));
        assert_eq!(start.event_time, Some(1740464128807));

        let end: AfterEnd = fixture("Call.CallbackAfterEndCall");
        let record = &end.call_record;
        assert_eq!(record.caller_account, "10001");
        assert_eq!(record.call_type, Some(CallType::SingleCall));
        assert_eq!(record.call_result, Some(CallResult::NotAnswer));
        assert_eq!(record.callees().collect::<Vec<_>>(), ["10001", "user2"]);
        assert_eq!(record.room_id_type, Some(RoomIdType::Text));
        assert_eq!(record.talk_time(), None, "never connected");

        let changed: AfterMemberChanged = fixture("Call.CallbackAfterMemberChanged");
        assert_eq!(changed.changed().collect::<Vec<_>>(), ["user2"]);
        assert_eq!(
            changed.changed_user_list[0].action_type,
            Some(MemberAction::Accept)
        );
        assert_eq!(changed.user_list.map(|l| l.len()), Some(2));
    }

    #[test]
    fn every_documented_spelling_of_an_action_is_read() {
        let cases = [
            ("Accept", MemberAction::Accept),
            ("Answer", MemberAction::Accept),
            ("Hangup", MemberAction::Hangup),
            ("HangUp", MemberAction::Hangup),
            ("Hang Up", MemberAction::Hangup),
            ("Invite", MemberAction::Invite),
            ("Invited", MemberAction::Invite),
            ("Cancel_Invite", MemberAction::CancelInvite),
            ("Canncel_Invite", MemberAction::CancelInvite),
            ("NotAnswer", MemberAction::NotAnswer),
            ("Kicked", MemberAction::Other("Kicked".into())),
        ];
        for (sent, want) in cases {
            let e: AfterMemberChanged = de(json!({"CallId": "c",
                "ChangedUserList": [{"User_Account": "u", "ActionType": sent}]}));
            assert_eq!(e.changed_user_list[0].action_type, Some(want), "{sent}");
        }
    }

    #[test]
    fn tolerates_what_the_pages_disagree_on() {
        let cases: [(&str, fn()); 6] = [
            ("the field table's flat MediaType spelling", || {
                let e: AfterStart = de(json!({"CallInfo": {"CallId": "c",
                    "MediaType": "Video"}, "UserList": []}));
                assert_eq!(e.call_info.media_type, Some(MediaType::Video));
                // Written back under the key it came with.
                assert_eq!(
                    serde_json::to_value(&e).unwrap()["CallInfo"]["MediaType"],
                    "Video"
                );
            }),
            ("string accounts, as in the Chinese sample", || {
                let e: AfterStart = de(json!({"CallInfo": {"CallId": "c"},
                    "UserList": [{"User_Account": "user1", "Status": "Calling"}]}));
                assert_eq!(e.members().collect::<Vec<_>>(), ["user1"]);
                assert!(!e.user_list[0].user_account.is_numeric());
            }),
            ("times as strings; a connected call's talk time", || {
                let e: AfterEnd = de(json!({"CallRecord": {"CallId": "c",
                    "Caller_Account": 7, "CalleeList_Account": [7, "b"],
                    "AcceptTime": "100", "EndTime": "160", "CallResult": "NormalEnd"},
                    "EventTime": "1703589922780"}));
                assert_eq!(e.call_record.talk_time(), Some(Duration::from_secs(60)));
                assert_eq!(e.call_record.callees().collect::<Vec<_>>(), ["7", "b"]);
                assert_eq!(e.event_time, Some(1703589922780));
            }),
            ("an unknown call result is kept", || {
                let v = json!({"CallRecord": {"CallId": "c", "Caller_Account": "a",
                    "CalleeList_Account": [], "CallResult": "Transferred"}});
                let e: AfterEnd = de(v.clone());
                assert_eq!(
                    e.call_record.call_result,
                    Some(CallResult::Other("Transferred".into()))
                );
                assert_eq!(serde_json::to_value(&e).unwrap(), v);
            }),
            ("a call without CallId is an error", || {
                let err =
                    serde_json::from_value::<AfterMemberChanged>(json!({"ChangedUserList": []}))
                        .unwrap_err()
                        .to_string();
                assert!(err.contains("missing field `CallId`"), "{err}");
            }),
            ("an ended call without its caller is an error", || {
                let err = serde_json::from_value::<AfterEnd>(
                    json!({"CallRecord": {"CallId": "c", "CalleeList_Account": []}}),
                )
                .unwrap_err()
                .to_string();
                assert!(err.contains("missing field `Caller_Account`"), "{err}");
            }),
        ];
        for (name, check) in cases {
            eprintln!("case: {name}");
            check();
        }
    }
}
