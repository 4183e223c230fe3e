//! The required-field rule (the wire module's docs) and the canonical form, checked for every
//! command of the table, [`Command::ALL`], against its wire structs and its fixture.

use serde_json::{Map, Value};

use super::wire::canonical;
use super::wire::schema::{self, Shape, StructInfo};
use crate::{Command, Event};

/// Whether the rule lets field `key` of struct `owner` (`family::Struct`) be required: the ids
/// that say who and what, the list or object that is the event, the kinds that are the whole
/// news, the content, and the number or key of the message an event is about without carrying
/// it. Everything else must be optional.
fn may_require(owner: &str, key: &str) -> bool {
    /// The message an event is about, when the event does not carry it.
    const SUBJECTS: [(&str, &str); 6] = [
        ("group::RecalledMsg", "MsgSeq"),
        ("group::MsgReceipt", "MsgSeq"),
        ("group::AfterMsgExtension", "MsgSeq"),
        ("c2c::AfterMsgWithDraw", "MsgKey"),
        ("c2c::AfterMsgExtension", "MsgKey"),
        ("official_account::WithdrawnMsg", "MsgKey"),
    ];
    let id = key.ends_with("_Account")
        || matches!(
            key,
            "GroupId"
                | "TopicId"
                | "RoomId"
                | "CallId"
                | "TaskId"
                | "Index"
                | "ServiceName"
                | "Command"
                | "Key"
                | "key"
                | "Tag"
        );
    let the_event = matches!(
        key,
        "MemberList"
            | "NewMemberList"
            | "ExitMemberList"
            | "DestinationMembers"
            | "FollowList"
            | "SubscribeAccountList"
            | "WithdrawMsgList"
            | "MsgSeqList"
            | "GroupMsgReceiptList"
            | "TopicIdList"
            | "PairList"
            | "FriendItem"
            | "ResponseFriendItem"
            | "ProfileItem"
            | "Events"
            | "SeatList"
            | "UserList"
            | "ChangedUserList"
            | "ExtensionList"
            | "Info"
            | "CallInfo"
            | "CallRecord"
            | "RoomInfo"
    );
    let kind = matches!(key, "Action" | "OperateType" | "ContactType");
    let content = matches!(
        key,
        "MsgBody"
            | "MsgType"
            | "MsgContent"
            | "Text"
            | "Latitude"
            | "Longitude"
            | "Value"
            | "value"
    );
    id || the_event || kind || content || SUBJECTS.contains(&(owner, key))
}

/// The wire struct of `command`'s events, read from its fixture.
fn root(command: Command) -> &'static StructInfo {
    let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
    schema::of(&event).unwrap_or_else(|| panic!("{command}: no wire struct"))
}

#[test]
fn every_required_field_of_every_event_is_one_the_rule_requires() {
    let mut failures = Vec::new();
    let mut structs = Vec::new();
    for &command in Command::ALL {
        for info in schema::reachable(root(command)) {
            if structs.iter().any(|s: &&StructInfo| s.name == info.name) {
                continue;
            }
            structs.push(info);
            for key in info.required() {
                if !may_require(info.short_name(), key) {
                    failures.push(format!("{}.{key}", info.short_name()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "required, but the rule makes them optional: {failures:?}"
    );
    // The message elements' contents and the relayed messages are reached too.
    for name in [
        "message::TextElem",
        "message::RelayMsg",
        "message::ImageInfo",
    ] {
        assert!(structs.iter().any(|s| s.short_name() == name), "{name}");
    }
}

/// One step of a path into a fixture.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// A key of a fixture the wire structs type: where its object is, the key, its struct and
/// whether the struct requires it.
#[derive(Debug)]
struct Site {
    at: Vec<Step>,
    key: String,
    owner: &'static str,
    required: bool,
}

/// Every typed key of `value`, read as `shape`, at every nesting level.
fn sites(value: &Value, shape: Shape, at: &mut Vec<Step>, out: &mut Vec<Site>) {
    match (value, shape) {
        (Value::Array(items), _) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::Index(i));
                sites(item, shape, at, out);
                at.pop();
            }
        }
        (Value::Object(map), Shape::Struct(info)) => {
            for (key, v) in map {
                let Some(field) = info.field(key) else {
                    continue;
                };
                out.push(Site {
                    at: at.clone(),
                    key: key.clone(),
                    owner: info.short_name(),
                    required: field.required,
                });
                at.push(Step::Key(key.clone()));
                sites(v, (field.shape)(), at, out);
                at.pop();
            }
        }
        (Value::Object(map), Shape::Element(content)) => {
            for key in ["MsgType", "MsgContent"] {
                out.push(Site {
                    at: at.clone(),
                    key: key.to_owned(),
                    owner: "message::MsgElement",
                    required: true,
                });
            }
            let info = map.get("MsgType").and_then(Value::as_str).and_then(content);
            if let (Some(info), Some(v)) = (info, map.get("MsgContent")) {
                at.push(Step::Key("MsgContent".into()));
                sites(v, Shape::Struct(info), at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn object_at<'a>(json: &'a mut Value, at: &[Step]) -> &'a mut Map<String, Value> {
    let mut v = json;
    for step in at {
        v = match step {
            Step::Key(k) => &mut v[k.as_str()],
            Step::Index(i) => &mut v[*i],
        };
    }
    v.as_object_mut().unwrap()
}

fn parses_typed(command: Command, json: &Value) -> Result<(), String> {
    match Event::parse(command.as_str(), json.to_string().as_bytes()) {
        Ok(event) if event.command() == Some(command) => Ok(()),
        Ok(event) => Err(format!("parsed as {:?}", event.command())),
        Err(e) => Err(e.to_string()),
    }
}

/// For every fixture and every key its structs type, at every level: removing it reaches the
/// typed event exactly when its struct makes it optional, which the rule demands of every key it
/// does not let be required. Removing every such key at once reaches the typed event too.
#[test]
fn every_field_the_rule_makes_optional_can_be_left_out_of_every_fixture() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for &command in Command::ALL {
        let fixture: Value = serde_json::from_str(command.sample()).unwrap();
        let mut all = Vec::new();
        sites(
            &fixture,
            Shape::Struct(root(command)),
            &mut Vec::new(),
            &mut all,
        );
        assert!(!all.is_empty(), "{command}");
        for site in &all {
            checked += 1;
            let mut without = fixture.clone();
            object_at(&mut without, &site.at).remove(&site.key);
            let parsed = parses_typed(command, &without);
            let name = format!("{command}: {:?} {} ({})", site.at, site.key, site.owner);
            match (site.required, parsed) {
                (false, Err(e)) => failures.push(format!("{name}: optional, but {e}")),
                (true, Ok(())) => failures.push(format!("{name}: required, but parses without")),
                (true, Err(e)) if !e.contains("missing field") => {
                    failures.push(format!("{name}: {e}"));
                }
                _ => {}
            }
            if site.required && !may_require(site.owner, &site.key) {
                failures.push(format!("{name}: required against the rule"));
            }
        }
        // Every key the rule makes optional, gone at once (the deepest first, so that the paths
        // of the others stay valid).
        let mut stripped = fixture.clone();
        for site in all.iter().rev() {
            if !may_require(site.owner, &site.key) {
                object_at(&mut stripped, &site.at).remove(&site.key);
            }
        }
        if let Err(e) = parses_typed(command, &stripped) {
            failures.push(format!(
                "{command}: without every optional key: {e}\n{stripped}"
            ));
        }
    }
    assert!(checked > 500, "{checked} keys checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every tolerance case of `fixtures/tolerance/`, as (command, body).
fn tolerance_cases() -> Vec<(Command, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tolerance");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let command = name.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        let command = Command::from_wire(&command).unwrap_or_else(|| panic!("{name}"));
        out.push((command, std::fs::read_to_string(&path).unwrap()));
    }
    out
}

/// The canonical form of every fixture and tolerance case parses to an equal event with the same
/// idempotency key, and is its own canonical form; the legacy spellings differ from it.
#[test]
fn the_canonical_form_and_the_keys_do_not_depend_on_spelling() {
    let samples = Command::ALL.iter().map(|&c| (c, c.sample().to_owned()));
    let mut spelled_otherwise = 0;
    for (command, body) in samples.chain(tolerance_cases()) {
        let event = Event::parse(command.as_str(), body.as_bytes()).unwrap();
        let canonical_json = canonical(|| event.to_json());
        let again = Event::parse(command.as_str(), canonical_json.as_bytes()).unwrap();
        assert_eq!(again, event, "{command}: {canonical_json}");
        assert_eq!(
            again.idempotency_key(1_400_000_000),
            event.idempotency_key(1_400_000_000),
            "{command}"
        );
        assert_eq!(again.to_json(), canonical_json, "{command}");
        let sent: Value = serde_json::from_str(&body).unwrap();
        let canonical_value: Value = serde_json::from_str(&canonical_json).unwrap();
        if canonical_value != sent {
            spelled_otherwise += 1;
        }
    }
    assert!(spelled_otherwise >= 20, "{spelled_otherwise}");
}
