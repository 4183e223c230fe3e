#![allow(clippy::type_complexity)] // tables of (name, input, check) rows

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::message::MessageEvent;
use crate::protocol::message::Conversation;
use crate::protocol::test_support::{checked as fixture, de_value as de};

#[test]
fn tolerates_what_real_traffic_sends() {
    let cases: [(&str, fn()); 18] = [
        ("GroupID spelling", || {
            let e: AfterFull = de(json!({"GroupID": "@TGS#1"}));
            assert_eq!(e.group_id, "@TGS#1");
        }),
        ("EventTime as a number or a string", || {
            let a: AfterFull = de(json!({"GroupId": "g", "EventTime": 1670574414123u64}));
            let b: AfterFull = de(json!({"GroupId": "g", "EventTime": "1670574414123"}));
            assert_eq!(a.event_time, Some(1670574414123));
            assert_eq!(a, b);
            assert_eq!(
                a.event_system_time(),
                Some(UNIX_EPOCH + Duration::from_millis(1670574414123))
            );
        }),
        ("MsgRandom spelling above 2^32", || {
            let e: BeforeSendMsg = de(json!({"GroupId": "g", "From_Account": "a",
                "MsgRandom": 5_000_000_000u64, "MsgBody": []}));
            assert_eq!(e.msg_random, Some(5_000_000_000));
            // Written back under the key it came with.
            assert_eq!(
                serde_json::to_value(&e).unwrap()["MsgRandom"],
                5_000_000_000u64
            );
        }),
        ("MsgSeq as a string above 2^32", || {
            let e: AfterSendMsg = de(json!({"GroupId": "g", "From_Account": "a",
                "MsgSeq": "4294967297", "MsgBody": []}));
            assert_eq!(e.msg_seq, Some(4_294_967_297));
        }),
        ("legacy group type Private read as Work", || {
            let e: BeforeApplyJoin = de(json!({"GroupId": "g", "Type": "Private",
                "Requestor_Account": "a"}));
            assert_eq!(e.group_type, Some(GroupType::Work));
        }),
        ("unknown JoinType kept and written back", || {
            let v = json!({"GroupId": "g", "JoinType": "Approved", "Operator_Account": "a",
                "NewMemberList": []});
            let e: AfterNewMemberJoin = de(v.clone());
            assert_eq!(e.join_type, Some(JoinType::Other("Approved".into())));
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
        }),
        ("undocumented Owner role kept in Other", || {
            let e: AfterMemberFieldChanged = de(json!({"GroupId": "g", "Operator_Account": "a",
                "Member_Account": "b", "Role": "Owner"}));
            assert_eq!(e.role, Some(MemberRole::Other("Owner".into())));
        }),
        ("EventCause from the 2025 table", || {
            let e: MemberStateChange = de(json!({"GroupId": "g", "EventType": "Online",
                "EventCause": "HeartbeatRecover", "MemberList": [{"Member_Account": "a"}]}));
            assert_eq!(e.event_cause, Some(MemberStateEventCause::HeartbeatRecover));
            assert_eq!(e.members().collect::<Vec<_>>(), ["a"]);
        }),
        ("community destroyed without MemberList", || {
            let e: AfterDestroyed = de(json!({"GroupId": "g", "Type": "Community"}));
            assert_eq!(e.member_list, None);
            assert_eq!(e.members().count(), 0);
        }),
        ("BeforeCreateTopic with an undocumented GroupId", || {
            let e: BeforeCreateTopic = de(json!({"Operator_Account": "a", "GroupId": "@TGS#_g"}));
            assert_eq!(e.group_id.as_deref(), Some("@TGS#_g"));
        }),
        ("AfterTopicInfoChanged with an undocumented TopicId", || {
            let e: AfterTopicInfoChanged = de(json!({"GroupId": "g", "Operator_Account": "a",
                "TopicId": "t"}));
            assert_eq!(e.topic_id.as_deref(), Some("t"));
        }),
        (
            "SendMsgException code as a string, topic in conversation",
            || {
                let e: SendMsgException = de(json!({"GroupId": "g", "From_Account": "a",
                "MsgBody": [], "TopicId": "t", "ErrorCode": "10023"}));
                assert_eq!(e.error_code, Some(10023));
                assert_eq!(
                    e.conversation(),
                    Conversation::Group {
                        group_id: "g",
                        topic_id: Some("t")
                    }
                );
            },
        ),
        ("attribute deletion without values", || {
            let e: AfterAttrChanged = de(json!({"GroupId": "g", "Operator_Account": "a",
                "OptionType": "delete", "GroupAttr": [{"key": "k"}]}));
            assert_eq!(e.option_type, Some(GroupAttrOption::Delete));
            assert_eq!(e.group_attr.unwrap()[0].value, None);
        }),
        ("extension cleared without ExtensionList", || {
            let e: AfterMsgExtension = de(json!({"GroupId": "g", "MsgSeq": 1,
                "OperateType": 3}));
            assert_eq!(e.operate_type, Some(ExtensionOperation::Clear));
            assert_eq!(e.extension_list, None);
        }),
        ("create-group without initial members", || {
            let e: BeforeCreate = de(json!({"Operator_Account": "a", "Type": "Meeting"}));
            assert_eq!(e.members().count(), 0);
            assert_eq!(e.owner_account, None);
        }),
        ("edit in a topic, with the C2C edit's fields", || {
            let e: AfterModifyMsg = de(json!({"GroupId": "@TGS#_g", "TopicId": "t",
                "Operator_Account": "a", "MsgSeq": "4294967297", "MsgRandom": 7,
                "From_Account": "b", "CloudCustomData": "c", "MsgTime": 1}));
            assert_eq!(e.msg_seq, Some(4_294_967_297));
            assert_eq!(
                (e.msg_random, e.from_account.as_deref()),
                (Some(7), Some("b"))
            );
            assert_eq!(e.texts().count(), 0, "no body");
            assert_eq!(
                e.conversation(),
                Conversation::Group {
                    group_id: "@TGS#_g",
                    topic_id: Some("t")
                }
            );
            assert!(e.extra.is_empty());
        }),
        ("edit without its editor is an error", || {
            let err = serde_json::from_value::<AfterModifyMsg>(
                json!({"GroupId": "g", "MsgSeq": 1, "MsgBody": []}),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("missing field `Operator_Account`"), "{err}");
        }),
        ("missing GroupId is an error", || {
            let err = serde_json::from_value::<AfterFull>(json!({"EventTime": 1}))
                .unwrap_err()
                .to_string();
            assert!(err.contains("missing field `GroupId`"), "{err}");
        }),
    ];
    for (name, check) in cases {
        eprintln!("case: {name}");
        check();
    }
}

macro_rules! file {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../fixtures/events/", $name, ".json")),
        )
    };
}

#[test]
fn every_fixture_parses_fully_typed() {
    type Check = fn(&str, &str);
    let cases: [((&str, &str), Check); 25] = [
        (file!("Group.CallbackBeforeCreateGroup"), |n, s| {
            let e: BeforeCreate = fixture(n, s);
            assert_eq!(e.create_group_num, Some(123));
            assert_eq!(e.members().collect::<Vec<_>>(), ["bob", "peter"]);
            assert_eq!(e.group_type, Some(GroupType::Public));
        }),
        (file!("Group.CallbackAfterCreateGroup"), |n, s| {
            let e: AfterCreate = fixture(n, s);
            assert_eq!(e.group_id, "@TGS#2J4SZEAEL");
            assert_eq!(e.user_defined_data_list.unwrap()[1].value, "world");
        }),
        (file!("Group.CallbackBeforeApplyJoinGroup"), |n, s| {
            let e: BeforeApplyJoin = fixture(n, s);
            assert_eq!(e.requestor_account, "jared");
            assert_eq!(e.event_time, Some(1670574414123));
        }),
        (file!("Group.CallbackBeforeInviteJoinGroup"), |n, s| {
            let e: BeforeInviteJoin = fixture(n, s);
            assert_eq!(e.invited().collect::<Vec<_>>(), ["jared", "leckie"]);
            assert_eq!(e.operator_account, "leckie");
        }),
        (file!("Group.CallbackAfterNewMemberJoin"), |n, s| {
            let e: AfterNewMemberJoin = fixture(n, s);
            assert_eq!(e.join_type, Some(JoinType::Apply));
            assert_eq!(e.members().collect::<Vec<_>>(), ["jared", "tommy"]);
        }),
        (file!("Group.CallbackAfterMemberExit"), |n, s| {
            let e: AfterMemberExit = fixture(n, s);
            assert_eq!(e.exit_type, Some(ExitType::Kicked));
            assert_eq!(e.members().count(), 2);
        }),
        (file!("Group.CallbackBeforeSendMsg"), |n, s| {
            let e: BeforeSendMsg = fixture(n, s);
            assert_eq!(e.msg_random, Some(123456));
            assert_eq!(e.texts().collect::<Vec<_>>(), ["red packet"]);
            assert_eq!(
                e.conversation(),
                Conversation::Group {
                    group_id: "@TGS#2J4SZEAEL",
                    topic_id: Some("@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic")
                }
            );
        }),
        (file!("Group.CallbackAfterSendMsg"), |n, s| {
            let e: AfterSendMsg = fixture(n, s);
            assert_eq!((e.msg_seq, e.msg_time), (Some(123), Some(1490686222)));
            assert_eq!(e.sender(), "jared");
            assert_eq!(e.operator_account.as_deref(), Some("admin"));
        }),
        (file!("Group.CallbackAfterGroupFull"), |n, s| {
            let e: AfterFull = fixture(n, s);
            assert_eq!(e.group_id, "@TGS#2J4SZEAEL");
        }),
        (file!("Group.CallbackAfterGroupDestroyed"), |n, s| {
            let e: AfterDestroyed = fixture(n, s);
            assert_eq!(e.members().collect::<Vec<_>>(), ["leckie", "peter", "bob"]);
            assert_eq!(e.name.as_deref(), Some("MyFirstGroup"));
        }),
        (file!("Group.CallbackAfterGroupInfoChanged"), |n, s| {
            let e: AfterInfoChanged = fixture(n, s);
            assert_eq!(e.notification.as_deref(), Some("NewNotification"));
            assert_eq!(e.name, None);
        }),
        (file!("Group.CallbackOnMemberStateChange"), |n, s| {
            let e: MemberStateChange = fixture(n, s);
            assert_eq!(e.event_type, Some(MemberStateEventType::Offline));
            assert_eq!(e.event_cause, None);
            assert_eq!(e.members().count(), 2);
        }),
        (file!("Group.CallbackSendMsgException"), |n, s| {
            let e: SendMsgException = fixture(n, s);
            assert_eq!(e.error_code, Some(10023));
            assert_eq!(
                e.error_info.as_deref(),
                Some("msg count exceeds limit,please retry later")
            );
            assert_eq!(e.sender(), "jared");
        }),
        (file!("Group.CallbackAfterRecallMsg"), |n, s| {
            let e: AfterRecallMsg = fixture(n, s);
            assert_eq!(e.msg_seqs().collect::<Vec<_>>(), [130]);
            assert_eq!(e.group_id, "1213456");
            assert_eq!(e.group_type, Some(GroupType::Community));
        }),
        (file!("Group.CallbackBeforeCreateTopic"), |n, s| {
            let e: BeforeCreateTopic = fixture(n, s);
            assert_eq!(e.name.as_deref(), Some("MyFirstTopic"));
            assert_eq!(e.group_id, None);
        }),
        (file!("Group.CallbackAfterCreateTopic"), |n, s| {
            let e: AfterCreateTopic = fixture(n, s);
            assert_eq!(
                e.topic_id,
                "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_@TOPIC#cRTE3HIM62C5"
            );
            assert_eq!(e.user_defined_data_list.unwrap().len(), 2);
        }),
        (file!("Group.CallbackAfterTopicDestroyed"), |n, s| {
            let e: AfterTopicDestroyed = fixture(n, s);
            assert_eq!(e.topic_id_list.len(), 2);
            assert_eq!(e.group_id, "@TGS#_@TGS#cQVLVHIM62CJ");
        }),
        (file!("Group.CallbackAfterTopicInfoChanged"), |n, s| {
            let e: AfterTopicInfoChanged = fixture(n, s);
            assert_eq!(e.face_url.as_deref(), Some("http://this.is.face.url"));
            assert_eq!(e.topic_id, None);
        }),
        (file!("Group.CallbackAfterMemberFieldChanged"), |n, s| {
            let e: AfterMemberFieldChanged = fixture(n, s);
            assert_eq!(e.role, Some(MemberRole::Admin));
            assert_eq!(e.member_account, "123456");
            assert_eq!(e.name_card.as_deref(), Some("jacky"));
        }),
        (file!("Group.CallbackAfterGroupAttrChanged"), |n, s| {
            let e: AfterAttrChanged = fixture(n, s);
            assert_eq!(e.option_type, Some(GroupAttrOption::Set));
            let attrs = e.group_attr.unwrap();
            assert_eq!(
                (attrs[1].key.as_str(), attrs[1].value.as_deref()),
                ("key2", Some("values"))
            );
        }),
        (file!("Group.CallbackAfterReadReceipt"), |n, s| {
            let e: AfterReadReceipt = fixture(n, s);
            let r = &e.group_msg_receipt_list[1];
            assert_eq!((r.msg_seq, r.read_num, r.unread_num), (2, Some(1), Some(6)));
            assert_eq!(r.members().collect::<Vec<_>>(), ["user0"]);
        }),
        (file!("Group.CallbackAfterChangeGroupOwner"), |n, s| {
            let e: AfterChangeOwner = fixture(n, s);
            assert_eq!(e.old_owner_account.as_deref(), Some("user1"));
            assert_eq!(e.new_owner_account, "user2");
        }),
        (file!("Group.CallbackOnDailyGroupQuotaAlarm"), |n, s| {
            let e: DailyQuotaAlarm = fixture(n, s);
            assert_eq!((e.quota_used, e.quota), (Some(7321), Some(10000)));
        }),
        (file!("Group.CallbackAfterGroupMsgExtension"), |n, s| {
            let e: AfterMsgExtension = fixture(n, s);
            assert_eq!(e.operate_type, Some(ExtensionOperation::Set));
            let items = e.extension_list.unwrap();
            assert_eq!((items[1].key.as_str(), items[1].seq), ("key3", Some(56)));
            assert_eq!(e.event_time, Some(1764688294360));
        }),
        (file!("Group.CallbackAfterModifyMsg"), |n, s| {
            let e: AfterModifyMsg = fixture(n, s);
            assert_eq!(e.operator_account, "oper-user");
            assert_eq!((e.group_id.as_str(), e.msg_seq), ("group-test-2", Some(53)));
            assert_eq!(e.texts().collect::<Vec<_>>(), ["2026-03-06T02:09:35.302Z"]);
            assert_eq!(e.topic_id.as_deref(), Some(""), "kept as sent");
            assert_eq!(
                e.conversation(),
                Conversation::Group {
                    group_id: "group-test-2",
                    topic_id: None
                },
                "an empty TopicId is no topic"
            );
            assert_eq!(e.event_time, Some(1772762975589));
        }),
    ];
    for ((name, json), check) in cases {
        eprintln!("fixture: {name}");
        check(name, json);
    }
}
