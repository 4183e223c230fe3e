//! Every webhook as sent: each command's documented sample and each tolerance case
//! (`fixtures/tolerance/<command>.<case>.json`: real traffic's spellings, gaps and unknowns)
//! reaches its typed event and is written back as the JSON it came as, compared as
//! `serde_json::Value`s (which ignore the order of keys and the layout). And over HTTP, an
//! after-event of a live-streaming group without `MsgSeq`, `MsgTime` or `Random` is answered 200
//! and reaches `on_group_after_send_msg` typed.
#![allow(clippy::duplicate_mod)]

#[path = "common/loopback.rs"]
mod loopback;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http::StatusCode;
use serde_json::Value;
use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    Command, Event, GroupType, Handler, HandlerResult, RequestContext, WebhookConfig, group,
};

/// The tolerance cases: (command, case name, body).
fn tolerance_cases() -> Vec<(Command, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tolerance");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            // `Family.Callback.case`: the command is the first two parts.
            let mut parts = name.splitn(3, '.');
            let command = format!("{}.{}", parts.next().unwrap(), parts.next().unwrap());
            let case = parts
                .next()
                .unwrap_or_else(|| panic!("{name}: no case name"));
            let command = Command::from_wire(&command)
                .unwrap_or_else(|| panic!("{name}: {command} is no known command"));
            let body = std::fs::read_to_string(&path).unwrap();
            (command, case.to_owned(), body)
        })
        .collect()
}

/// Parses `body` as `command`, checks that it is typed and written back as sent, and returns it.
fn written_back_as_sent(command: Command, name: &str, body: &str) -> Result<Event, String> {
    let event = Event::parse(command.as_str(), body.as_bytes())
        .map_err(|e| format!("{name}: does not reach its typed event: {e}"))?;
    if event.command() != Some(command) {
        return Err(format!("{name}: parsed as {:?}", event.command()));
    }
    let sent: Value = serde_json::from_str(body).unwrap();
    let written = event.to_json();
    let back: Value = serde_json::from_str(&written).unwrap();
    if back != sent {
        return Err(format!(
            "{name}: not written back as sent\n sent:    {sent}\n written: {back}"
        ));
    }
    let again = Event::parse(command.as_str(), written.as_bytes()).unwrap();
    if again != event || again.to_json() != written {
        return Err(format!("{name}: does not survive a second round trip"));
    }
    Ok(event)
}

#[test]
fn every_sample_is_written_back_as_sent() {
    let failures: Vec<String> = Command::ALL
        .iter()
        .filter_map(|&cmd| written_back_as_sent(cmd, cmd.as_str(), test_util::sample(cmd)).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_tolerance_case_reaches_its_typed_event_and_is_written_back_as_sent() {
    let cases = tolerance_cases();
    assert!(cases.len() >= 19, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (command, case, body) in &cases {
        let name = format!("{command}.{case}");
        match written_back_as_sent(*command, &name, body) {
            Err(e) => failures.push(e),
            Ok(event) => {
                // Unknown keys and elements are the only untyped things, and only where the
                // case says so.
                let unknown = event.unknown_keys();
                let expected = case.starts_with("unknown-");
                if unknown.is_empty() == expected {
                    failures.push(format!("{name}: untyped keys {unknown:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn legacy_names_match_the_modern_variant_and_stay_legacy_on_the_wire() {
    let cases = [
        ("Private", GroupType::Work),
        ("Work", GroupType::Work),
        ("ChatRoom", GroupType::Meeting),
        ("Meeting", GroupType::Meeting),
        ("AVChatRoom", GroupType::AvChatRoom),
        ("Future", GroupType::Other("Future".into())),
    ];
    for (sent, variant) in cases {
        let body = format!(r#"{{"GroupId":"g","Type":"{sent}","Requestor_Account":"a"}}"#);
        let Event::GroupBeforeApplyJoin(event) =
            Event::parse("Group.CallbackBeforeApplyJoinGroup", body.as_bytes()).unwrap()
        else {
            panic!("{sent}: not typed");
        };
        assert_eq!(event.group_type.as_ref(), Some(&variant), "{sent}");
        match event.group_type {
            Some(GroupType::Work) => assert!(matches!(sent, "Private" | "Work")),
            Some(GroupType::Meeting) => assert!(matches!(sent, "ChatRoom" | "Meeting")),
            _ => {}
        }
        assert_eq!(serde_json::to_string(&event).unwrap(), body, "{sent}");
    }
}

/// Records the typed group after-send events it gets.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<group::AfterSendMsg>>>);

impl Handler for Recorder {
    async fn on_group_after_send_msg(
        &self,
        _ctx: &RequestContext,
        event: group::AfterSendMsg,
    ) -> HandlerResult<()> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

#[tokio::test]
async fn an_avchatroom_message_without_seq_time_or_random_reaches_its_typed_hook_over_http() {
    let (command, _, body) = tolerance_cases()
        .into_iter()
        .find(|(_, case, _)| case == "avchatroom-without-seq")
        .unwrap();
    assert_eq!(command, Command::GroupAfterSendMsg);
    let sent: Value = serde_json::from_str(&body).unwrap();
    for key in ["MsgSeq", "MsgTime", "Random", "MsgRandom"] {
        assert!(sent.get(key).is_none(), "the capture has no {key}");
    }

    let handler = Recorder::default();
    let config = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .build()
        .unwrap();
    let addr = loopback::start(config, handler.clone()).await;
    let request = SignedRequest::new(command.as_str(), body.clone());
    let (status, reply) = loopback::send(&loopback::client(), addr, &request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["ActionStatus"], "OK", "{reply}");
    assert_eq!(reply["ErrorCode"], 0, "{reply}");

    let events = handler.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "the typed hook is called once");
    let event = &events[0];
    assert_eq!(event.group_id, "@TGS#aJRGLDHM6");
    assert_eq!(event.group_type, Some(GroupType::AvChatRoom));
    assert_eq!(
        (event.msg_seq, event.msg_time, event.msg_random),
        (None, None, None)
    );
    assert_eq!(event.texts().collect::<Vec<_>>(), ["666"]);
    // No MsgTime: the time it was sent is the event's.
    assert_eq!(event.sent_time(), event.event_system_time());
    assert!(event.sent_time().is_some());
    let written: Value = serde_json::from_str(&serde_json::to_string(event).unwrap()).unwrap();
    assert_eq!(written, sent, "written back as sent");
}
