//! Push-service delivery reports: `Push.OfflinePush` and `Push.AllMemberPush`
//! ([1047/67552](https://www.tencentcloud.com/document/product/1047/67552),
//! [67551](https://www.tencentcloud.com/document/product/1047/67551);
//! [269/102567](https://cloud.tencent.com/document/product/269/102567),
//! [102568](https://cloud.tencent.com/document/product/269/102568)).
//!
//! Both are answered OK. Their shape differs from every other Chat webhook:
//! - the body is a batch, `{"Events": [...]}`, of 1 to 100 events, with no top-level
//!   `CallbackCommand` (each event repeats it; the command is in the query string). The batch size
//!   is documented, not enforced: any length is read;
//! - `EventTime`, `MsgTime` and `TaskTime` are Unix **seconds**, read from numbers or numeric
//!   strings;
//! - the group id is `GroupID` (capital D); `GroupId` is read too;
//! - pushes over the QPS quota are retried later, so the same event can arrive twice.
//!
//! Account and group ids are [`ImStr`](crate::ImStr)s, read as sent: any form is accepted as sent. `TaskId` and `PushID`
//! are opaque strings (their segments vary in width).
//!
//! Spec ambiguities and how they are resolved:
//! - `EventType` means different things in the two commands (message kind for `Push.OfflinePush`,
//!   offline/online push for `Push.AllMemberPush`): two enums, [`OfflinePushEventType`] and
//!   [`AllMemberPushEventType`].
//! - `DeviceType` uses the vendor table of `PushPlatform` (the English page mislabels its values
//!   "PushPlatform = ..."): both are [`PushPlatform`].
//! - `ErrInfo` is not in `Push.OfflinePush`'s field table but is in its sample; it is optional in
//!   both (it may be empty or `null`). `ErrCode` is an `i64`: vendor codes may be passed on.
//! - `MsgKey` is "empty for group" messages and `GroupID` is for group messages only: both
//!   optional. `MsgRandom` is documented "empty for group chats" although the group sample carries
//!   one: optional.
//! - Only the ids that tie an event to its push are required: `From_Account` / `To_Account` of an
//!   offline push, `TaskId` / `To_Account` of a push task.

use crate::protocol::imstr::ImStr;

use super::common::{event_time, from_secs};
use super::wire::{open_int_enum, wire_struct};

open_int_enum! {
    /// The vendor channel of a push (`PushPlatform`), and the vendor of the device
    /// (`DeviceType`).
    pub enum PushPlatform {
        /// Unknown (and always the value of `PushPlatform` for an online push).
        Unknown = 0,
        /// Apple Push Notification service.
        Apns = 1,
        /// Xiaomi.
        Xiaomi = 2,
        /// Huawei.
        Huawei = 3,
        /// Google Firebase Cloud Messaging.
        Fcm = 4,
        /// Meizu.
        Meizu = 5,
        /// OPPO.
        Oppo = 6,
        /// vivo.
        Vivo = 7,
        /// Honor.
        Honor = 8,
    }
}

open_int_enum! {
    /// How far the push got (`PushStage`).
    pub enum PushStage {
        /// Sent to the vendor.
        Sent = 1,
        /// Delivered to (reached) the device.
        Delivered = 2,
        /// Clicked by the user.
        Clicked = 3,
    }
}

open_int_enum! {
    /// The kind of message pushed (`EventType` of `Push.OfflinePush`).
    pub enum OfflinePushEventType {
        /// A one-to-one message (`MsgKey` is set).
        C2c = 1,
        /// A group message (`GroupID` is set).
        Group = 2,
    }
}

open_int_enum! {
    /// The kind of push (`EventType` of `Push.AllMemberPush`).
    pub enum AllMemberPushEventType {
        /// An offline (vendor) push.
        Offline = 1,
        /// An online push.
        Online = 2,
    }
}

wire_struct! {
    /// One event of a `Push.OfflinePush` batch: the offline push of one IM message to one user
    /// reached a stage.
    pub struct OfflinePushEvent {
        /// `Push.OfflinePush`.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// One-to-one or group message.
        pub event_type: Option<OfflinePushEventType> => "EventType",
        /// Event time, Unix **seconds**.
        pub event_time: Option<u64> => "EventTime",
        /// The sender.
        pub from_account: ImStr => "From_Account",
        /// The recipient.
        pub to_account: ImStr => "To_Account",
        /// The vendor channel.
        pub push_platform: Option<PushPlatform> => "PushPlatform",
        /// How far the push got.
        pub push_stage: Option<PushStage> => "PushStage",
        /// Key of a one-to-one message; empty for a group message.
        pub msg_key: Option<ImStr> => "MsgKey",
        /// The group, for a group message.
        pub group_id: Option<ImStr> => "GroupID" | "GroupId",
        /// Sequence number of the message.
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Random number of the message.
        pub msg_random: Option<u64> => "MsgRandom",
        /// Message time, Unix seconds.
        pub msg_time: Option<u64> => "MsgTime",
        /// Id of the push, for the console's push troubleshooting tool.
        pub push_id: Option<ImStr> => "PushID",
        /// `0` on success, else a failure code.
        pub err_code: Option<i64> => "ErrCode",
        /// Error text; may be empty.
        pub err_info: Option<ImStr> => "ErrInfo",
    }
}

wire_struct! {
    /// `Push.OfflinePush`: a batch of 1 to 100 reports on offline pushes of IM messages
    /// (1047/67552). Answered OK.
    pub struct Offline {
        /// Absent from the documented body (each event carries it).
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The reports.
        pub events: Vec<OfflinePushEvent> => "Events",
    }
}

wire_struct! {
    /// One event of a `Push.AllMemberPush` batch: a push of an all-member, tag or UserID push
    /// task to one user reached a stage.
    pub struct AllMemberPushEvent {
        /// `Push.AllMemberPush`.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Offline or online push.
        pub event_type: Option<AllMemberPushEventType> => "EventType",
        /// The `TaskId` returned by the push API.
        pub task_id: ImStr => "TaskId",
        /// The custom business id passed in the push request.
        pub data_id: Option<ImStr> => "DataId",
        /// Start of the task, Unix seconds.
        pub task_time: Option<u64> => "TaskTime",
        /// Event time, Unix **seconds**.
        pub event_time: Option<u64> => "EventTime",
        /// The recipient (a UserID, or a RegistrationID).
        pub to_account: ImStr => "To_Account",
        /// The vendor channel; always [`PushPlatform::Unknown`] for an online push.
        pub push_platform: Option<PushPlatform> => "PushPlatform",
        /// The vendor of the device; [`PushPlatform::Unknown`] for an offline push.
        pub device_type: Option<PushPlatform> => "DeviceType",
        /// How far the push got.
        pub push_stage: Option<PushStage> => "PushStage",
        /// `0` on success, else a failure code.
        pub err_code: Option<i64> => "ErrCode",
        /// Error text; may be empty.
        pub err_info: Option<ImStr> => "ErrInfo",
    }
}

wire_struct! {
    /// `Push.AllMemberPush`: a batch of 1 to 100 reports on all-member, tag and UserID pushes
    /// (1047/67551). Answered OK.
    pub struct AllMember {
        /// Absent from the documented body (each event carries it).
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The reports.
        pub events: Vec<AllMemberPushEvent> => "Events",
    }
}

event_time!(secs: OfflinePushEvent, AllMemberPushEvent);

impl OfflinePushEvent {
    /// `MsgTime` (Unix seconds) as a [`SystemTime`](std::time::SystemTime), when present.
    pub fn msg_system_time(&self) -> Option<std::time::SystemTime> {
        from_secs(self.msg_time)
    }

    /// Whether the push succeeded (`ErrCode` 0 or absent).
    pub fn is_success(&self) -> bool {
        self.err_code.unwrap_or(0) == 0
    }
}

impl AllMemberPushEvent {
    /// `TaskTime` (Unix seconds) as a [`SystemTime`](std::time::SystemTime), when present.
    pub fn task_system_time(&self) -> Option<std::time::SystemTime> {
        from_secs(self.task_time)
    }

    /// Whether the push succeeded (`ErrCode` 0 or absent).
    pub fn is_success(&self) -> bool {
        self.err_code.unwrap_or(0) == 0
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support::{checked as fixture, de};

    use std::time::{Duration, UNIX_EPOCH};

    const OFFLINE: &str = r#"{"CallbackCommand":"Push.OfflinePush","EventType":1,"EventTime":1557481128,"From_Account":"a","To_Account":"b","PushPlatform":4,"PushStage":3,"MsgKey":"1_2_3","MsgSeq":1,"MsgRandom":2,"MsgTime":1557481126,"PushID":"p","ErrCode":0,"ErrInfo":""}"#;

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, String, fn(&str) -> bool); 8] = [
            (
                "EventTime as a numeric string, in seconds",
                r#"{"Events":[{"EventTime":"1557481128","From_Account":"a","To_Account":"b"}]}"#.into(),
                |j| {
                    let e = &de::<Offline>(j).events[0];
                    e.event_time == Some(1_557_481_128)
                        && e.event_system_time()
                            == Some(UNIX_EPOCH + Duration::from_secs(1_557_481_128))
                },
            ),
            (
                "a batch of 100 events",
                format!(r#"{{"Events":[{}]}}"#, vec![OFFLINE; 100].join(",")),
                |j| {
                    let b: Offline = de(j);
                    b.events.len() == 100
                        && b.callback_command.is_none()
                        && b.events.iter().all(|e| {
                            e.push_platform == Some(PushPlatform::Fcm)
                                && e.push_stage == Some(PushStage::Clicked)
                                && e.is_success()
                        })
                },
            ),
            (
                "MsgSeq and MsgRandom above 2^32",
                r#"{"Events":[{"From_Account":"a","To_Account":"b","MsgSeq":"4294967296","MsgRandom":18446744073709551615}]}"#.into(),
                |j| {
                    let e = &de::<Offline>(j).events[0];
                    e.msg_seq == Some(4_294_967_296) && e.msg_random == Some(u64::MAX)
                },
            ),
            (
                "GroupId spelling",
                r#"{"Events":[{"EventType":2,"From_Account":"a","To_Account":"b","GroupId":"@TGS#1"}]}"#.into(),
                |j| {
                    let e = &de::<Offline>(j).events[0];
                    e.group_id.as_deref() == Some("@TGS#1")
                        && e.event_type == Some(OfflinePushEventType::Group)
                },
            ),
            (
                "null and empty ErrInfo",
                r#"{"Events":[{"TaskId":"t","To_Account":"b","ErrInfo":null},{"TaskId":"t","To_Account":"c","ErrInfo":""}]}"#.into(),
                |j| {
                    let b: AllMember = de(j);
                    b.events[0].err_info.is_none() && b.events[1].err_info.as_deref() == Some("")
                },
            ),
            (
                "unknown platform, device and stage kept and written back",
                r#"{"Events":[{"EventType":2,"TaskId":"t","To_Account":"b","PushPlatform":0,"DeviceType":12,"PushStage":9,"ErrCode":-1}]}"#.into(),
                |j| {
                    let b: AllMember = de(j);
                    let e = &b.events[0];
                    let v = serde_json::to_value(&b).unwrap();
                    e.event_type == Some(AllMemberPushEventType::Online)
                        && e.push_platform == Some(PushPlatform::Unknown)
                        && e.device_type == Some(PushPlatform::Other(12))
                        && e.push_stage == Some(PushStage::Other(9))
                        && !e.is_success()
                        && v["Events"][0]["DeviceType"] == 12
                        && v["Events"][0]["PushStage"] == 9
                },
            ),
            (
                "DataId and TaskTime as a string",
                r#"{"Events":[{"TaskId":"657bf434_537529d8_2000005e80aa873_2780d131_9","DataId":"biz-1","TaskTime":"1557481127","To_Account":"b"}]}"#.into(),
                |j| {
                    let e = &de::<AllMember>(j).events[0];
                    e.data_id.as_deref() == Some("biz-1")
                        && e.task_system_time()
                            == Some(UNIX_EPOCH + Duration::from_secs(1_557_481_127))
                },
            ),
            (
                "top-level CallbackCommand sent anyway",
                r#"{"CallbackCommand":"Push.AllMemberPush","Events":[]}"#.into(),
                |j| de::<AllMember>(j).callback_command.as_deref() == Some("Push.AllMemberPush"),
            ),
        ];
        for (name, json, check) in cases {
            assert!(check(&json), "{name}");
        }
        let err = serde_json::from_str::<Offline>(r#"{"Events":[{"From_Account":"a"}]}"#)
            .expect_err("missing To_Account");
        assert!(err.to_string().contains("To_Account"), "{err}");
    }

    #[test]
    fn fixtures_parse_fully_typed_and_round_trip() {
        let cases: [(&str, &str, fn(&str, &str)); 2] = [
            (
                "Push.OfflinePush",
                include_str!("../../fixtures/events/Push.OfflinePush.json"),
                |n, j| {
                    let b: Offline = fixture(n, j);
                    let [c2c, group] = &b.events[..] else {
                        panic!("{n}: two events")
                    };
                    assert_eq!(c2c.event_type, Some(OfflinePushEventType::C2c), "{n}");
                    assert_eq!(c2c.msg_key.as_deref(), Some("48374_2837546_1557481126"));
                    assert_eq!(c2c.push_platform, Some(PushPlatform::Apns), "{n}");
                    assert_eq!(group.event_type, Some(OfflinePushEventType::Group), "{n}");
                    assert_eq!(group.group_id.as_deref(), Some("@TGS#12DEVUDHQ"), "{n}");
                    assert_eq!(group.msg_random, Some(2_837_546), "{n}");
                    assert_eq!(
                        group.msg_system_time(),
                        Some(UNIX_EPOCH + Duration::from_secs(1_557_481_126))
                    );
                },
            ),
            (
                "Push.AllMemberPush",
                include_str!("../../fixtures/events/Push.AllMemberPush.json"),
                |n, j| {
                    let b: AllMember = fixture(n, j);
                    let e = &b.events[0];
                    assert_eq!(
                        e.task_id,
                        "657bf434_537529d8_2000005e80aa873_2780d131_bc614e"
                    );
                    assert_eq!(e.event_type, Some(AllMemberPushEventType::Offline), "{n}");
                    assert_eq!(e.push_stage, Some(PushStage::Sent), "{n}");
                    assert_eq!(
                        e.event_system_time(),
                        Some(UNIX_EPOCH + Duration::from_secs(1_557_481_128))
                    );
                },
            ),
        ];
        for (name, json, check) in cases {
            check(name, json);
        }
    }
}
