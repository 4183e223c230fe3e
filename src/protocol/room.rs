//! TUIRoomKit (conference rooms) webhooks: `Room.*` (command list
//! [269/105401](https://cloud.tencent.com/document/product/269/105401) and
//! [647/104466](https://cloud.tencent.com/document/product/647/104466),
//! [647/60720](https://www.tencentcloud.com/document/product/647/60720); pages
//! [647/60731](https://www.tencentcloud.com/document/product/647/60731)–[60735](https://www.tencentcloud.com/document/product/647/60735)
//! in English, [647/104477](https://cloud.tencent.com/document/product/647/104477) and its siblings
//! in Chinese). The seat webhook, `Mic.CallbackAfterSeatInfoChanged`, is listed with them but also
//! sent by TUILiveKit: it is its own family, [`mic`](crate::mic).
//!
//! These callbacks come from the Room backend on Chat's envelope (`SdkAppid`, `CallbackCommand`,
//! `contenttype`, `ClientIP`, `OptPlatform` in the query), often to the same URL as Chat's. The
//! Chinese pages configure them through a REST API
//! ([647/104477](https://cloud.tencent.com/document/product/647/104477): "通过 REST API 配置回调 URL"),
//! the English ones through the console; neither says whether `Sign` and `RequestTime` are
//! appended. If yours arrive unsigned, do as [`call`](crate::call) says: a URL of their own, served
//! without the signature check, rather than turning the check off for Chat's URL. Every command is
//! a notification answered with the usual OK, whose result is ignored.
//!
//! Accounts are [`Id`]s, read from strings or numbers: the room pages' samples print strings, but
//! the seat webhook of the same backend prints `Member_Account` as a number. Room ids are strings
//! (TUIRoomKit's room ids are). Flags are read from booleans and from `"true"` / `"false"` (the
//! update sample sends `"IsCloudRecordingDisabled" : "false"`), times and counts from numbers or
//! numeric strings.
//!
//! Required fields, as the crate's rule (a field is required only when the event cannot be acted on without it; see [`Handler::on_unparsed`](crate::Handler::on_unparsed)) says for every family: the room
//! and the accounts acting or concerned (`Operator_Account`, `MemberList_Account`); everything
//! describing the room, counts and times included, is optional. A payload without them goes to
//! [`Handler::on_unparsed`](crate::Handler::on_unparsed).
//!
//! How the gaps and contradictions of the pages are resolved:
//! - The mainland command list
//!   ([269/105401](https://cloud.tencent.com/document/product/269/105401), April 2024) names the
//!   update webhook `Room.CallbackUpdateRoomInfo`; the later lists and the page itself say
//!   `Room.CallbackAfterUpdateRoomInfo`, which is the command typed here. A request naming the
//!   other goes to [`Handler::on_unknown`](crate::Handler::on_unknown), answered OK.
//! - [`AfterCreate`] and [`AfterUpdateInfo`] list the room's fields flat in their tables; the
//!   samples nest them in `RoomInfo` ([`RoomInfo`]), which the code follows. The create table lists
//!   `ScheduleStartTime` twice (the second is the end time) and calls `CreateTime` a scheduled
//!   start time; its sample also sends `ScheduleInviteeList_Account`, which the table does not list
//!   and which is read (optional). Times in `RoomInfo` are in seconds, as the samples' values show.
//! - The update page does not say whether `RoomInfo` carries every field or only the changed ones;
//!   every field but `RoomId` is optional. Its sample is not valid JSON (`//` comments, a trailing
//!   comma, no comma before `EventTime`); the fixture drops the comments and the comma and adds the
//!   other. It keeps the sample's `"IsCloudRecordingDisabled" : "false"`, a string.
//! - `MemberCount` of [`AfterMemberEnter`] and [`AfterMemberLeave`] is "room capacity" in the
//!   English tables and "房间人数" (members in the room) in the Chinese ones; the Chinese meaning is
//!   documented.
//! - The enter and leave samples carry `//` comments, which the fixtures drop.

use crate::protocol::imstr::ImStr;

use super::common::{Id, id_strs};
use super::wire::{open_str_enum, wire_struct};

open_str_enum! {
    /// The kind of room (`RoomType`); the pages document conference rooms only.
    pub enum RoomType {
        /// A conference room.
        Meeting = "Meeting",
    }
}

open_str_enum! {
    /// Whether a scheduled room has started (`RoomStatus`).
    pub enum RoomStatus {
        /// No status.
        Unset = "None",
        /// Scheduled, not started.
        NotStarted = "NotStarted",
        /// Running.
        Running = "Running",
    }
}

open_str_enum! {
    /// How members take a seat (`TakeSeatMode`).
    pub enum TakeSeatMode {
        /// Seats are off.
        Off = "None",
        /// Anyone takes a free seat.
        FreeToTake = "FreeToTake",
        /// Taking a seat needs the host's approval.
        ApplyToTake = "ApplyToTake",
    }
}

open_str_enum! {
    /// How members entered (`Type` of [`AfterMemberEnter`]).
    pub enum EnterType {
        /// They joined on their own.
        Enter = "Enter",
    }
}

open_str_enum! {
    /// How members left (`Type` of [`AfterMemberLeave`]).
    pub enum LeaveType {
        /// They left.
        Leave = "Leave",
        /// They were removed.
        Kicked = "Kicked",
        /// Their heartbeat expired.
        Expired = "Expired",
    }
}

wire_struct! {
    /// A room's settings (`RoomInfo`).
    pub struct RoomInfo {
        /// The room's id.
        pub room_id: ImStr => "RoomId",
        /// Its name.
        pub room_name: Option<ImStr> => "RoomName",
        /// Its kind.
        pub room_type: Option<RoomType> => "RoomType",
        /// UserID of the host.
        pub owner_account: Option<Id> => "Owner_Account",
        /// The most members it admits.
        pub max_member_count: Option<u64> => "MaxMemberCount",
        /// The most seats it has.
        pub max_seat_count: Option<u64> => "MaxSeatCount",
        /// Everyone's video is disabled.
        pub is_video_disabled: Option<bool> => "IsVideoDisabled",
        /// Everyone's audio is disabled.
        pub is_audio_disabled: Option<bool> => "IsAudioDisabled",
        /// Text messages are disabled for every member.
        pub is_message_disabled: Option<bool> => "IsMessageDisabled",
        /// Screen sharing is disabled.
        pub is_screen_sharing_disabled: Option<bool> => "IsScreenSharingDisabled",
        /// Cloud recording is disabled.
        pub is_cloud_recording_disabled: Option<bool> => "IsCloudRecordingDisabled",
        /// The app's custom data.
        pub custom_info: Option<ImStr> => "CustomInfo",
        /// Scheduled start, Unix seconds.
        pub schedule_start_time: Option<u64> => "ScheduleStartTime",
        /// Scheduled end, Unix seconds.
        pub schedule_end_time: Option<u64> => "ScheduleEndTime",
        /// Whether a scheduled room has started.
        pub room_status: Option<RoomStatus> => "RoomStatus",
        /// Whether the room has seats.
        pub is_seat_enabled: Option<bool> => "IsSeatEnabled",
        /// How members take a seat.
        pub take_seat_mode: Option<TakeSeatMode> => "TakeSeatMode",
        /// When the room was created, Unix seconds.
        pub create_time: Option<u64> => "CreateTime",
    }
}

wire_struct! {
    /// `Room.CallbackAfterCreateRoom`: a room was created, from a client or the REST API
    /// (647/60733). Answered OK.
    pub struct AfterCreate {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who created it.
        pub operator_account: Id => "Operator_Account",
        /// The new room.
        pub room_info: RoomInfo => "RoomInfo",
        /// UserIDs invited to a scheduled room (in the sample, not in the field table).
        pub schedule_invitee_list_account: Option<Vec<Id>> => "ScheduleInviteeList_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Room.CallbackAfterDestroyRoom`: a room was dissolved, from a client or the REST API
    /// (647/60732). Answered OK.
    pub struct AfterDestroy {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who dissolved it.
        pub operator_account: Id => "Operator_Account",
        /// The room.
        pub room_id: ImStr => "RoomId",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Room.CallbackAfterUpdateRoomInfo`: a room's settings changed, from a client or the REST
    /// API (647/60731). Answered OK. Which settings `RoomInfo` carries (all, or the changed
    /// ones) is not documented.
    pub struct AfterUpdateInfo {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who made the change.
        pub operator_account: Id => "Operator_Account",
        /// The room's settings.
        pub room_info: RoomInfo => "RoomInfo",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Room.CallbackAfterMemberEnter`: members entered a room (647/60735, 647/104477). Answered
    /// OK.
    pub struct AfterMemberEnter {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who made the request.
        pub operator_account: Id => "Operator_Account",
        /// The room.
        pub room_id: ImStr => "RoomId",
        /// Members in the room ("room capacity" in the English table).
        pub member_count: Option<u64> => "MemberCount",
        /// How they entered.
        pub enter_type: Option<EnterType> => "Type",
        /// UserIDs of who entered.
        pub member_list_account: Vec<Id> => "MemberList_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Room.CallbackAfterMemberLeave`: members left a room, on their own, removed, or on a
    /// heartbeat timeout (647/60734). Answered OK.
    pub struct AfterMemberLeave {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who made the request.
        pub operator_account: Id => "Operator_Account",
        /// The room.
        pub room_id: ImStr => "RoomId",
        /// Members in the room ("room capacity" in the English table).
        pub member_count: Option<u64> => "MemberCount",
        /// How they left.
        pub leave_type: Option<LeaveType> => "Type",
        /// UserIDs of who left.
        pub member_list_account: Vec<Id> => "MemberList_Account",
        /// Why, as free text.
        pub reason: Option<ImStr> => "Reason",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

/// `members()`: the UserIDs of a `MemberList_Account`.
macro_rules! member_ids {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The UserIDs in `MemberList_Account`, in order.
            pub fn members(&self) -> impl Iterator<Item = &str> {
                id_strs(&self.member_list_account)
            }
        }
    )*};
}
member_ids!(AfterMemberEnter, AfterMemberLeave);

impl AfterCreate {
    /// The UserIDs invited to a scheduled room, in order (none when not given).
    pub fn invitees(&self) -> impl Iterator<Item = &str> {
        id_strs(
            self.schedule_invitee_list_account
                .as_deref()
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::test_support::{de_value as de, fixture};

    #[test]
    fn every_fixture_parses_fully_typed() {
        let created: AfterCreate = fixture("Room.CallbackAfterCreateRoom");
        let room = &created.room_info;
        assert_eq!(room.room_id, "tandy-test-rest");
        assert_eq!(room.room_type, Some(RoomType::Meeting));
        assert_eq!(room.room_status, Some(RoomStatus::Running));
        assert_eq!(room.take_seat_mode, Some(TakeSeatMode::ApplyToTake));
        assert_eq!(
            (room.schedule_start_time, room.schedule_end_time),
            (Some(1703589922), Some(1703593522))
        );
        assert_eq!(room.is_cloud_recording_disabled, Some(true));
        assert_eq!(
            created.invitees().collect::<Vec<_>>(),
            ["user2", "user3", "user3"]
        );

        let destroyed: AfterDestroy = fixture("Room.CallbackAfterDestroyRoom");
        assert_eq!(
            (
                destroyed.operator_account.as_str(),
                destroyed.room_id.as_str()
            ),
            ("admin", "tandy-test-rest")
        );

        let updated: AfterUpdateInfo = fixture("Room.CallbackAfterUpdateRoomInfo");
        assert_eq!(updated.room_info.owner_account.as_deref(), Some("jack"));
        assert_eq!(
            updated.room_info.take_seat_mode,
            Some(TakeSeatMode::FreeToTake)
        );
        assert_eq!(
            updated.room_info.is_cloud_recording_disabled,
            Some(false),
            "the sample's string \"false\""
        );
        assert_eq!(updated.room_info.max_seat_count, None);

        let entered: AfterMemberEnter = fixture("Room.CallbackAfterMemberEnter");
        assert_eq!(entered.members().collect::<Vec<_>>(), ["user1"]);
        assert_eq!(entered.enter_type, Some(EnterType::Enter));
        assert_eq!(entered.member_count, Some(20));

        let left: AfterMemberLeave = fixture("Room.CallbackAfterMemberLeave");
        assert_eq!(left.leave_type, Some(LeaveType::Leave));
        assert_eq!(left.reason.as_deref(), Some("xxxx"));
        assert_eq!(left.event_time, Some(1670574414123));
    }

    #[test]
    fn tolerates_what_real_traffic_may_send() {
        let cases: [(&str, fn()); 5] = [
            ("numeric accounts, as the seat webhook sends them", || {
                let e: AfterMemberLeave = de(json!({"Operator_Account": 144115233775727695u64,
                    "RoomId": "r", "Type": "Expired",
                    "MemberList_Account": [144115233775727695u64, "b"]}));
                assert_eq!(e.members().collect::<Vec<_>>(), ["144115233775727695", "b"]);
                assert!(e.operator_account.is_numeric());
                assert_eq!(e.leave_type, Some(LeaveType::Expired));
            }),
            ("flags and counts as strings", || {
                let e: AfterUpdateInfo = de(json!({"Operator_Account": "a",
                    "RoomInfo": {"RoomId": "r", "IsVideoDisabled": "true",
                    "MaxMemberCount": "300"}}));
                assert_eq!(e.room_info.is_video_disabled, Some(true));
                assert_eq!(e.room_info.max_member_count, Some(300));
            }),
            ("unknown values kept and written back", || {
                let v = json!({"Operator_Account": "a", "RoomInfo": {"RoomId": "r",
                    "RoomType": "Webinar", "TakeSeatMode": "Lottery", "RoomStatus": "Ended"}});
                let e: AfterCreate = de(v.clone());
                assert_eq!(
                    e.room_info.room_type,
                    Some(RoomType::Other("Webinar".into()))
                );
                assert_eq!(e.invitees().count(), 0);
                assert_eq!(serde_json::to_value(&e).unwrap(), v);
            }),
            ("a flag that is no flag is an error", || {
                let err = serde_json::from_value::<AfterUpdateInfo>(json!({
                    "Operator_Account": "a", "RoomInfo": {"RoomId": "r",
                    "IsAudioDisabled": "muted"}}))
                .unwrap_err()
                .to_string();
                assert!(err.contains("a boolean, 0 or 1"), "{err}");
            }),
            ("a room event without its room is an error", || {
                let err = serde_json::from_value::<AfterMemberEnter>(json!({
                    "Operator_Account": "a", "MemberList_Account": ["a"]}))
                .unwrap_err()
                .to_string();
                assert!(err.contains("missing field `RoomId`"), "{err}");
            }),
        ];
        for (name, check) in cases {
            eprintln!("case: {name}");
            check();
        }
    }
}
