//! De-duplication end to end, over real sockets: the crate's hardened server
//! (`server::serve`) with the webhook service, two apps and a `MemoryDedup`, on an ephemeral
//! loopback port, talked to with a real HTTP/1.1 client. A handler counts its calls per app and
//! event.
//!
//! What is attacked: events that share the id a single field would give (a group message of
//! another app with the same `GroupId` and `MsgSeq`, of another topic of the same community, a
//! one-to-one message of another conversation with the same `MsgKey`) are each handled, and a
//! true duplicate, sent again byte for byte, is not.
#![allow(clippy::duplicate_mod)]

#[path = "common/loopback.rs"]
mod loopback;
#[path = "common/tally.rs"]
mod tally;

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use tencent_chat_webhook::test_util::{DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{MemoryDedup, WebhookConfig};

use loopback::send;
use tally::Tally;

/// A second app behind the same endpoint, with its own token.
const OTHER_APP: u64 = 1_400_000_001;
const OTHER_TOKEN: &str = "other-app-token-3f9b";

/// The webhook for both apps, with an in-memory de-duplication store, served on a loopback port.
async fn start(tally: Tally) -> SocketAddr {
    let config = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .app(OTHER_APP)
        .token(OTHER_TOKEN)
        .dedup(MemoryDedup::new(1000, Duration::from_secs(600)))
        .build()
        .unwrap();
    loopback::start(config, tally).await
}

/// An after-event of `command` with `body`, signed for `app`.
fn request(app: u64, command: &str, body: Value) -> SignedRequest {
    let token = if app == DEMO_APP_ID {
        DEMO_TOKEN
    } else {
        OTHER_TOKEN
    };
    SignedRequest::new(command, body.to_string())
        .app_id(app)
        .token(token)
}

fn group_message(app: u64, topic: Option<&str>) -> SignedRequest {
    let mut body = json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg",
        "GroupId": "@TGS#_@TGS#cQVLVHIM62CJ",
        "Type": "Community",
        "From_Account": "jared",
        "Random": 123456,
        "MsgSeq": 7,
        "MsgTime": 1490686222,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
        "EventTime": 1670574414123_u64
    });
    if let Some(topic) = topic {
        body["TopicId"] = json!(topic);
    }
    request(app, "Group.CallbackAfterSendMsg", body)
}

fn c2c_message(to: &str) -> SignedRequest {
    let body = json!({
        "CallbackCommand": "C2C.CallbackAfterSendMsg",
        "From_Account": "jared",
        "To_Account": to,
        "MsgSeq": 48374,
        "MsgRandom": 2837546,
        "MsgTime": 1557481126,
        "MsgKey": "48374_2837546_1557481126",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]
    });
    request(DEMO_APP_ID, "C2C.CallbackAfterSendMsg", body)
}

#[tokio::test]
async fn events_that_share_one_field_of_their_id_are_each_handled_and_a_duplicate_once() {
    let tally = Tally::default();
    let addr = start(tally.clone()).await;
    let client = loopback::client();
    let topic = |t: &str| format!("@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_{t}");
    let events = [
        ("a group message", group_message(DEMO_APP_ID, None)),
        (
            "the other app's message with the same GroupId and MsgSeq",
            group_message(OTHER_APP, None),
        ),
        (
            "a topic's message with the same GroupId and MsgSeq",
            group_message(DEMO_APP_ID, Some(&topic("news"))),
        ),
        (
            "another topic's message with the same GroupId and MsgSeq",
            group_message(DEMO_APP_ID, Some(&topic("chat"))),
        ),
        ("a one-to-one message", c2c_message("John")),
        (
            "another conversation's message with the same MsgKey",
            c2c_message("Mary"),
        ),
    ];
    let ok = json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0});
    // Each event, then each again byte for byte, as Tencent's retry sends it.
    for round in ["first delivery", "retry"] {
        for (name, req) in &events {
            let (status, reply) = send(&client, addr, req).await;
            assert_eq!(status, StatusCode::OK, "{round}: {name}");
            assert_eq!(reply, ok, "{round}: {name}");
        }
    }
    let calls = tally.calls();
    assert_eq!(
        calls.len(),
        events.len(),
        "every event handled: {:#?}",
        calls.keys()
    );
    assert!(
        calls.values().all(|&n| n == 1),
        "each handled once: {calls:#?}"
    );
    let apps: Vec<u64> = calls.keys().map(|(app, _)| *app).collect();
    assert_eq!(apps.iter().filter(|&&a| a == OTHER_APP).count(), 1);
}
