//! Every documented reply shape, byte for byte: each typed decision of every family against the
//! compact form of Tencent's published sample; and the friend decision, whose reply needs the
//! request's targets, through the service.

use tencent_chat_webhook::message::{CustomElem, MsgElement};
use tencent_chat_webhook::sns::{FriendDecision, PrevFriendAdd, PrevFriendResponse};
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{
    Command, CustomErrorCode, Event, FriendErrorCode, GroupErrorCode, Handler, HandlerResult,
    Reply, RequestContext, WebhookConfig, WebhookService, c2c, group, official_account as oa,
};
use tower::ServiceExt;

/// Removes the whitespace outside strings: the compact form of a published JSON sample.
fn minify(published: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in published.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/fixtures/replies/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    minify(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn custom(desc: &str, data: &str) -> MsgElement {
    let mut elem = CustomElem::default();
    elem.desc = Some(desc.into());
    elem.data = Some(data.into());
    elem.into()
}

#[test]
fn every_documented_reply_serialises_byte_for_byte() {
    let oa_code = CustomErrorCode::new(120_001).unwrap();
    let group_code = GroupErrorCode::new(10_100).unwrap();
    let level = || {
        Some(vec![
            MsgElement::text("red packet"),
            custom("CustomElement.MemberLevel", "LV1"),
        ])
    };
    let cases: Vec<(&str, Reply, String)> = vec![
        ("after-event", Reply::from(()), fixture("ok")),
        ("oa create: allow", oa::CreateDecision::Allow.into(), fixture("ok")),
        ("oa create: deny", oa::CreateDecision::Deny.into(), fixture("deny")),
        (
            "oa create: custom code",
            oa::CreateDecision::deny_with(oa_code, "no").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"no","ErrorCode":120001}"#.into(),
        ),
        ("oa subscribe: allow all", oa::AddSubscriberDecision::AllowAll.into(), fixture("ok")),
        (
            "oa subscribe: refuse some",
            oa::AddSubscriberDecision::Refuse(vec!["jared".into()]).into(),
            fixture("refuse_subscribers"),
        ),
        ("oa subscribe: reject", oa::AddSubscriberDecision::Reject.into(), fixture("deny")),
        ("oa send: allow", oa::SendMsgDecision::Allow.into(), fixture("ok")),
        ("oa send: deny", oa::SendMsgDecision::Deny.into(), fixture("deny")),
        ("oa send: drop", oa::SendMsgDecision::Drop.into(), fixture("drop")),
        (
            "oa send: custom code",
            oa::SendMsgDecision::deny_with(CustomErrorCode::new(130_000).unwrap(), "blocked").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"blocked","ErrorCode":130000}"#.into(),
        ),
        (
            "oa send: rewrite",
            oa::SendMsgDecision::Rewrite {
                msg_body: level(),
                cloud_custom_data: Some("your cloud custom data".into()),
            }
            .into(),
            fixture("rewrite_msg"),
        ),
        (
            "oa send: rewrite custom data only",
            oa::SendMsgDecision::rewrite_cloud_custom_data("x").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"CloudCustomData":"x"}"#.into(),
        ),
        ("c2c send: allow", c2c::SendMsgDecision::Allow.into(), fixture("ok")),
        ("c2c send: deny", c2c::SendMsgDecision::Deny.into(), fixture("deny")),
        ("c2c send: drop", c2c::SendMsgDecision::Drop.into(), fixture("drop")),
        (
            "c2c send: custom code",
            c2c::SendMsgDecision::deny_with(oa_code, "stop").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"stop","ErrorCode":120001}"#.into(),
        ),
        (
            "c2c send: rewrite",
            c2c::SendMsgDecision::Rewrite {
                msg_body: Some(vec![
                    MsgElement::text("red packet"),
                    custom(" CustomElement.MemberLevel ", " LV1"),
                ]),
                cloud_custom_data: Some("your new cloud custom data".into()),
            }
            .into(),
            fixture("c2c_rewrite"),
        ),
        ("group send: allow", group::SendMsgDecision::Allow.into(), fixture("ok")),
        ("group send: deny", group::SendMsgDecision::Deny.into(), fixture("deny")),
        ("group send: drop", group::SendMsgDecision::Drop.into(), fixture("drop")),
        (
            "group send: custom code",
            group::SendMsgDecision::deny_with(GroupErrorCode::new(10_200).unwrap(), "muted").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"muted","ErrorCode":10200}"#.into(),
        ),
        (
            "group send: rewrite",
            group::SendMsgDecision::Rewrite {
                msg_body: level(),
                cloud_custom_data: Some("your cloud custom data".into()),
            }
            .into(),
            fixture("rewrite_msg"),
        ),
        ("group create: allow", group::CreateDecision::Allow.into(), fixture("ok")),
        ("group create: deny", group::CreateDecision::Deny.into(), fixture("deny")),
        (
            "group create: custom code",
            group::CreateDecision::deny_with(group_code, "name").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"name","ErrorCode":10100}"#.into(),
        ),
        ("group apply: allow", group::ApplyJoinDecision::Allow.into(), fixture("ok")),
        ("group apply: deny", group::ApplyJoinDecision::Deny.into(), fixture("deny")),
        ("topic create: allow", group::CreateTopicDecision::Allow.into(), fixture("ok")),
        ("topic create: deny", group::CreateTopicDecision::Deny.into(), fixture("deny")),
        ("invite: allow all", group::InviteDecision::AllowAll.into(), fixture("ok")),
        (
            "invite: refuse some",
            group::InviteDecision::Refuse(vec!["jared".into()]).into(),
            fixture("refuse_members"),
        ),
        ("invite: refuse nobody", group::InviteDecision::Refuse(vec![]).into(), fixture("ok")),
        ("invite: reject", group::InviteDecision::Reject.into(), fixture("deny")),
        (
            "invite: reject with a code",
            group::InviteDecision::reject_with(group_code, "full").into(),
            r#"{"ActionStatus":"OK","ErrorInfo":"full","ErrorCode":10100}"#.into(),
        ),
        (
            "friend: allow every target",
            FriendDecision::allow_all().into_reply(["id1", "id2"]),
            fixture("friend_results"),
        ),
        (
            "friend: refuse one",
            FriendDecision::allow_all()
                .refuse("id2", FriendErrorCode::new(38_001).unwrap(), "no")
                .into_reply(["id1", "id2"]),
            r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","ResultItem":[{"To_Account":"id1","ResultCode":0,"ResultInfo":""},{"To_Account":"id2","ResultCode":38001,"ResultInfo":"no"}]}"#.into(),
        ),
    ];
    for (name, reply, want) in cases {
        assert_eq!(reply.to_json(), want, "{name}");
        // And the test kit reads it back to the same typed reply.
        assert_eq!(Reply::from_json(want.as_bytes()).unwrap(), reply, "{name}");
    }
}

#[test]
fn every_custom_code_type_refuses_codes_outside_its_range() {
    fn check(name: &str, new: fn(u32) -> Option<u32>, min: u32, max: u32) {
        for code in [0, 1, 2, min - 1, max + 1, u32::MAX] {
            assert_eq!(new(code), None, "{name}: {code}");
        }
        for code in [min, min + 1, (min + max) / 2, max] {
            assert_eq!(new(code), Some(code), "{name}: {code}");
        }
    }
    check(
        "message",
        |c| CustomErrorCode::new(c).map(|c| c.get()),
        120_001,
        130_000,
    );
    check(
        "group",
        |c| GroupErrorCode::new(c).map(|c| c.get()),
        10_100,
        10_200,
    );
    check(
        "friend",
        |c| FriendErrorCode::new(c).map(|c| c.get()),
        38_000,
        39_000,
    );
}

/// Refuses the friend targets whose id starts with `banned_`, and says nothing of the others.
struct Friends;

fn refuse_banned<'a>(targets: impl Iterator<Item = &'a str>) -> FriendDecision {
    let code = FriendErrorCode::new(38_500).unwrap();
    targets
        .filter(|t| t.starts_with("banned_"))
        .fold(FriendDecision::allow_all(), |d, t| {
            d.refuse(t, code, "banned")
        })
}

impl Handler for Friends {
    async fn on_sns_prev_friend_add(
        &self,
        _: &RequestContext,
        e: PrevFriendAdd,
    ) -> HandlerResult<FriendDecision> {
        Ok(refuse_banned(e.targets()))
    }
    async fn on_sns_prev_friend_response(
        &self,
        _: &RequestContext,
        e: PrevFriendResponse,
    ) -> HandlerResult<FriendDecision> {
        Ok(refuse_banned(e.targets()))
    }
}

#[tokio::test]
async fn a_friend_reply_has_one_result_per_target_in_request_order() {
    let config = WebhookConfig::builder(test_util::DEMO_APP_ID)
        .token(test_util::DEMO_TOKEN)
        .build()
        .unwrap();
    let service = WebhookService::new(config, Friends);
    for command in [Command::SnsPrevFriendAdd, Command::SnsPrevFriendResponse] {
        // The sample's targets are id1 and id2: both allowed, as the documented reply.
        let res = service
            .clone()
            .oneshot(SignedRequest::sample(command).build())
            .await
            .unwrap();
        let (status, reply) = test_util::reply_of(&res);
        assert_eq!(status, 200, "{command}");
        assert_eq!(reply.to_json(), fixture("friend_results"), "{command}");

        // The sample with its second target renamed, in Rust.
        let mut banned = test_util::sample_event(command);
        let second = match &mut banned {
            Event::SnsPrevFriendAdd(e) => &mut e.friend_item[1].to_account,
            Event::SnsPrevFriendResponse(e) => &mut e.response_friend_item[1].to_account,
            other => unreachable!("{other:?}"),
        };
        assert_eq!(second, "id2");
        *second = "banned_2".into();
        let res = service
            .clone()
            .oneshot(SignedRequest::event(&banned).build())
            .await
            .unwrap();
        let (_, reply) = test_util::reply_of(&res);
        let items = reply.result_items().unwrap();
        let got: Vec<(&str, u32)> = items
            .iter()
            .map(|i| (i.to_account.as_str(), i.result_code))
            .collect();
        assert_eq!(got, [("id1", 0), ("banned_2", 38_500)], "{command}");
        assert_eq!(items[1].result_info, "banned");
    }
}
