use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::{Found, Identity, find};
use crate::Command;
use crate::protocol::event::Event;

const APP: u64 = 1_400_000_000;

fn parse(cmd: Command, json: &Value) -> Option<Event> {
    Event::parse(cmd.as_str(), json.to_string().as_bytes()).ok()
}

fn key(cmd: Command, json: &Value) -> String {
    parse(cmd, json)
        .unwrap_or_else(|| panic!("{cmd}: does not parse: {json}"))
        .idempotency_key(APP)
}

/// One step of a concrete JSON path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The concrete paths a table path names in `json`: `A[].B` is `A`, `i`, `B` for every item
/// `i` of `A`. A path whose last key is missing is still given (so that it can be added);
/// one through a missing list or object is not.
fn locate(json: &Value, path: &str) -> Vec<Vec<Step>> {
    let mut found = vec![(Vec::new(), json)];
    let segments: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    for (n, segment) in segments.iter().enumerate() {
        let last = n + 1 == segments.len();
        let (name, list) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*segment, false),
        };
        let mut next = Vec::new();
        for (mut at, value) in found {
            at.push(Step::Key(name.to_owned()));
            match (value.get(name), list) {
                (Some(Value::Array(items)), true) => {
                    for (i, item) in items.iter().enumerate() {
                        let mut at = at.clone();
                        at.push(Step::Index(i));
                        next.push((at, item));
                    }
                }
                (Some(v), false) if !last => next.push((at, v)),
                (_, false) if last => out.push(at),
                _ => {}
            }
        }
        found = next;
    }
    out
}

fn get<'a>(json: &'a Value, at: &[Step]) -> Option<&'a Value> {
    at.iter().try_fold(json, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

fn set(json: &mut Value, at: &[Step], value: Value) {
    let (last, parents) = at.split_last().unwrap();
    let mut v = json;
    for step in parents {
        v = match step {
            Step::Key(k) => &mut v[k.as_str()],
            Step::Index(i) => &mut v[*i],
        };
    }
    match last {
        Step::Key(k) => v[k.as_str()] = value,
        Step::Index(i) => v[*i] = value,
    }
}

fn remove(json: &mut Value, at: &[Step]) {
    let (Step::Key(last), parents) = at.split_last().unwrap() else {
        panic!("not a key: {at:?}")
    };
    let mut v = json;
    for step in parents {
        v = match step {
            Step::Key(k) => &mut v[k.as_str()],
            Step::Index(i) => &mut v[*i],
        };
    }
    v.as_object_mut().unwrap().remove(last);
}

/// Every scalar of `json`, by path.
fn leaves(json: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(Step::Key(k.clone()));
                leaves(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                leaves(v, at, out);
                at.pop();
            }
        }
        Value::Null => {}
        _ => out.push(at.clone()),
    }
}

/// Another value of the same kind: a number (or a numeric string) plus one, a string with a
/// letter more, a flipped boolean.
fn mutated(value: &Value) -> Value {
    match value {
        Value::String(s) => match s.parse::<u64>() {
            Ok(n) => json!((n + 1).to_string()),
            Err(_) => json!(format!("{s}x")),
        },
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => json!(u + 1),
            (None, Some(i)) => json!(i - 1),
            _ => json!(n.as_f64().unwrap() * 2.0),
        },
        Value::Bool(b) => json!(!b),
        other => panic!("not a scalar: {other}"),
    }
}

/// Mutates the first scalar at or under `at`.
fn mutate_under(json: &mut Value, at: &[Step]) {
    let mut under = Vec::new();
    leaves(get(json, at).unwrap(), &mut at.to_vec(), &mut under);
    let first = under
        .first()
        .unwrap_or_else(|| panic!("no scalar under {at:?}"));
    let value = mutated(get(json, first).unwrap());
    set(json, first, value);
}

#[test]
fn every_fixture_has_a_key_that_survives_a_round_trip_and_names_its_app() {
    let mut keys = HashSet::new();
    for &cmd in Command::ALL {
        let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
        let key = event.idempotency_key(APP);
        assert!(key.starts_with(&format!("{APP}:{cmd}:")), "{key}");
        let resent = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
        assert_eq!(resent.idempotency_key(APP), key, "{cmd}: resent");
        let again = Event::parse(cmd.as_str(), event.to_json().as_bytes()).unwrap();
        assert_eq!(again.idempotency_key(APP), key, "{cmd}: round trip");
        assert_ne!(event.idempotency_key(APP + 1), key, "{cmd}: another app");
        assert!(keys.insert(key), "{cmd}: key shared with another command");
    }
}

/// The table test: for every command's fixture, changing any field of its identity (or
/// adding an optional one it lacks) changes the key; changing any other field does not
/// (a delivery that differs only there is the same event); removing a required field falls
/// back to the whole event. For commands keyed by the whole event, changing any field
/// changes the key.
#[test]
fn every_identity_field_and_only_those_tell_events_apart() {
    for &cmd in Command::ALL {
        let fixture: Value = serde_json::from_str(cmd.sample()).unwrap();
        let base = key(cmd, &fixture);
        let mut all = Vec::new();
        leaves(&fixture, &mut Vec::new(), &mut all);
        all.retain(|at| at.first() != Some(&Step::Key("CallbackCommand".into())));
        let fields = match cmd.identity() {
            Identity::Fields(fields) => fields,
            Identity::Content => {
                for at in &all {
                    let mut changed = fixture.clone();
                    set(&mut changed, at, mutated(get(&fixture, at).unwrap()));
                    if let Some(event) = parse(cmd, &changed) {
                        assert_ne!(event.idempotency_key(APP), base, "{cmd}: {at:?}");
                    }
                }
                continue;
            }
        };
        assert!(!base.contains("sha256:"), "{cmd}: the fixture has its id");
        let mut covered = Vec::new();
        for field in fields {
            let places = locate(&fixture, field.path);
            assert!(!places.is_empty(), "{cmd}: {} not found", field.path);
            for at in places {
                covered.push(at.clone());
                let (json, key_with) = match get(&fixture, &at) {
                    Some(_) => (fixture.clone(), base.clone()),
                    None => {
                        // An optional field the fixture lacks: sent, it is part of the id.
                        let added = [json!("sent"), json!(7)].into_iter().find_map(|v| {
                            let mut json = fixture.clone();
                            set(&mut json, &at, v);
                            parse(cmd, &json).map(|_| json)
                        });
                        let json = added.unwrap_or_else(|| panic!("{cmd}: {at:?}"));
                        let key_with = key(cmd, &json);
                        assert_ne!(key_with, base, "{cmd}: {at:?} added");
                        (json, key_with)
                    }
                };
                let mut changed = json.clone();
                mutate_under(&mut changed, &at);
                assert_ne!(key(cmd, &changed), key_with, "{cmd}: {at:?} changed");
                if field.required {
                    let mut without = json.clone();
                    remove(&mut without, &at);
                    if let Some(event) = parse(cmd, &without) {
                        let fallback = event.idempotency_key(APP);
                        assert!(fallback.contains(":sha256:"), "{cmd}: {at:?} removed");
                    }
                }
            }
        }
        for at in &all {
            if covered.iter().any(|c| at.starts_with(c)) {
                continue;
            }
            let mut changed = fixture.clone();
            set(&mut changed, at, mutated(get(&fixture, at).unwrap()));
            if let Some(event) = parse(cmd, &changed) {
                assert_eq!(event.idempotency_key(APP), base, "{cmd}: {at:?} is no id");
            }
        }
    }
}

/// The table in `idempotency_key`'s documentation names every command once, with the
/// fields of its identity (`(if sent)` marking the optional ones) or `the whole event`.
#[test]
fn the_documented_table_is_the_identity_table() {
    let source = include_str!("../key.rs");
    let mut documented: HashMap<&str, &str> = HashMap::new();
    for row in source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("/// | `"))
    {
        let cells: Vec<&str> = row.split(" | ").collect();
        let class = cells[0].trim_matches('`');
        assert!(documented.insert(class, cells[1]).is_none(), "{class}");
    }
    let mut used = std::collections::HashSet::new();
    for &cmd in Command::ALL {
        let class = cmd.row().key;
        used.insert(class);
        let cell = documented
            .get(class)
            .unwrap_or_else(|| panic!("{cmd}: key class {class} is not documented"));
        let expected = match cmd.identity() {
            Identity::Content => "the whole event".to_owned(),
            Identity::Fields(fields) => fields
                .iter()
                .map(|f| match f.required {
                    true => format!("`{}`", f.path),
                    false => format!("`{}` (if sent)", f.path),
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        assert_eq!(*cell, expected, "{cmd}");
    }
    let unused: Vec<_> = documented.keys().filter(|c| !used.contains(*c)).collect();
    assert!(
        unused.is_empty(),
        "documented but no command's class: {unused:?}"
    );
}

#[test]
fn events_that_collide_on_one_field_have_keys_of_their_own() {
    type Case = (&'static str, &'static str, &'static str, &'static str);
    let cases: [Case; 5] = [
        (
            "two conversations, one message key",
            "C2C.CallbackAfterSendMsg",
            r#"{"From_Account":"a","To_Account":"b","MsgKey":"1_2_3","MsgBody":[]}"#,
            r#"{"From_Account":"a","To_Account":"c","MsgKey":"1_2_3","MsgBody":[]}"#,
        ),
        (
            "two topics, one message number",
            "Group.CallbackAfterSendMsg",
            r#"{"GroupId":"@TGS#_g","TopicId":"t1","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
            r#"{"GroupId":"@TGS#_g","TopicId":"t2","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
        ),
        (
            "a community and one of its topics",
            "Group.CallbackAfterSendMsg",
            r#"{"GroupId":"@TGS#_g","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
            r#"{"GroupId":"@TGS#_g","TopicId":"t1","From_Account":"a","MsgSeq":5,"MsgBody":[]}"#,
        ),
        (
            "two edits of one message",
            "C2C.CallbackAfterModifyMsg",
            r#"{"From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":[],"EventTime":1}"#,
            r#"{"From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":[],"EventTime":2}"#,
        ),
        (
            "one push to two recipients",
            "Push.OfflinePush",
            r#"{"Events":[{"From_Account":"a","To_Account":"b","PushID":"p","PushStage":1}]}"#,
            r#"{"Events":[{"From_Account":"a","To_Account":"c","PushID":"p","PushStage":1}]}"#,
        ),
    ];
    for (name, command, one, other) in cases {
        let one = Event::parse(command, one.as_bytes()).unwrap();
        let other = Event::parse(command, other.as_bytes()).unwrap();
        assert_ne!(one.dedup_key(APP), other.dedup_key(APP), "{name}");
        assert!(one.dedup_key(APP).is_some(), "{name}");
    }
    // Two fields whose values run into each other are still told apart.
    let group = |g: &str, t: &str| {
        let body =
            json!({"GroupId": g, "TopicId": t, "From_Account": "a", "MsgSeq": 5, "MsgBody": []});
        let event = Event::parse("Group.CallbackAfterSendMsg", body.to_string().as_bytes());
        event.unwrap().idempotency_key(APP)
    };
    assert_ne!(group("g,\"t", "x"), group("g", "t\",x"));
}

#[test]
fn the_same_id_written_differently_is_one_key() {
    let string = br#"{"GroupId":"g","From_Account":"a","MsgSeq":"4294967297","MsgBody":[]}"#;
    let number = br#"{ "GroupID" : "g", "From_Account":"b", "MsgSeq": 4294967297, "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"edited?"}}]}"#;
    let a = Event::parse("Group.CallbackAfterSendMsg", string).unwrap();
    let b = Event::parse("Group.CallbackAfterSendMsg", number).unwrap();
    assert_eq!(a.idempotency_key(APP), b.idempotency_key(APP));
    assert_eq!(
        a.idempotency_key(APP),
        r#"1400000000:Group.CallbackAfterSendMsg:["g",null,4294967297]"#
    );
}

/// The whole-event digest is of the canonical form: the same event in another spelling (keys,
/// numbers as strings, legacy names, ids as numbers, `null`s) has the same key, which
/// `to_json`, written as sent, would not give.
#[test]
fn a_digest_does_not_depend_on_spelling() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "Group.CallbackAfterGroupFull",
            r#"{"GroupId":"g","EventTime":1670574414123}"#,
            r#"{"GroupID":"g","EventTime":"1670574414123"}"#,
        ),
        (
            "Group.CallbackAfterNewMemberJoin",
            r#"{"GroupId":"g","Type":"Work","Operator_Account":"a","NewMemberList":[],"EventTime":1}"#,
            r#"{"GroupId":"g","Type":"Private","Operator_Account":"a","NewMemberList":[],"EventTime":" 1","JoinType":null}"#,
        ),
        (
            "Call.CallbackAfterMemberChanged",
            r#"{"CallId":"c","ChangedUserList":[{"User_Account":"7","ActionType":"Accept"}],"EventTime":1}"#,
            r#"{"CallId":"c","ChangedUserList":[{"User_Account":7,"ActionType":"Answer"}],"EventTime":1}"#,
        ),
        (
            "Room.CallbackAfterUpdateRoomInfo",
            r#"{"Operator_Account":"a","RoomInfo":{"RoomId":"r","IsVideoDisabled":false},"EventTime":1}"#,
            r#"{"Operator_Account":"a","RoomInfo":{"RoomId":"r","IsVideoDisabled":"0"},"EventTime":1}"#,
        ),
    ];
    for (command, canonical, spelled) in cases {
        let canonical = Event::parse(command, canonical.as_bytes()).unwrap();
        let spelled = Event::parse(command, spelled.as_bytes()).unwrap();
        assert_ne!(canonical.to_json(), spelled.to_json(), "{command}: as sent");
        assert_eq!(canonical, spelled, "{command}");
        let key = canonical.idempotency_key(APP);
        assert!(key.contains(":sha256:"), "{key}");
        assert_eq!(spelled.idempotency_key(APP), key, "{command}");
    }
}

#[test]
fn keys_stay_short_whatever_the_body() {
    let long = "k".repeat(100_000);
    let body = format!(r#"{{"From_Account":"a","To_Account":"b","MsgKey":"{long}","MsgBody":[]}}"#);
    let event = Event::parse("C2C.CallbackAfterSendMsg", body.as_bytes()).unwrap();
    let key = event.idempotency_key(APP);
    assert!(key.len() < 128, "{key}");
    assert!(key.contains(":sha256:"), "{key}");
    let shorter = body.replacen(&long, &long[1..], 1);
    let shorter = Event::parse("C2C.CallbackAfterSendMsg", shorter.as_bytes()).unwrap();
    assert_ne!(shorter.idempotency_key(APP), key);

    let events: Vec<_> = (0..100)
        .map(|i| json!({"From_Account":"a","To_Account":format!("u{i}"),"PushID":format!("p{i}")}))
        .collect();
    let batch = json!({ "Events": events }).to_string();
    let event = Event::parse("Push.OfflinePush", batch.as_bytes()).unwrap();
    let key = event.dedup_key(APP).unwrap();
    assert!(key.len() < 128, "{key}");
}

#[test]
fn only_events_with_an_id_or_a_time_are_de_duplicated() {
    let cases: [(&str, &str, bool); 7] = [
        (
            "Sns.CallbackFriendAdd",
            Command::SnsFriendAdd.sample(),
            false,
        ),
        (
            "Alert.RequestOverLimit",
            Command::AlertRequestOverLimit.sample(),
            false,
        ),
        ("Group.CallbackAfterGroupFull", r#"{"GroupId":"g"}"#, false),
        (
            "Group.CallbackAfterGroupFull",
            r#"{"GroupId":"g","EventTime":"1"}"#,
            true,
        ),
        // An id command without its id falls back to its time, when it has one.
        (
            "C2C.CallbackAfterSendMsg",
            r#"{"From_Account":"a","To_Account":"b","MsgBody":[]}"#,
            false,
        ),
        (
            "C2C.CallbackAfterSendMsg",
            r#"{"From_Account":"a","To_Account":"b","MsgBody":[],"EventTime":1}"#,
            true,
        ),
        ("Future.Event", r#"{"EventTime":1,"Whatever":[]}"#, true),
    ];
    for (command, body, deduplicated) in cases {
        let event = Event::parse(command, body.as_bytes()).unwrap();
        let key = event.dedup_key(APP);
        assert_eq!(key.is_some(), deduplicated, "{command} {body}");
        if let Some(key) = key {
            assert_eq!(key, event.idempotency_key(APP));
        }
    }
}

#[test]
fn a_path_finds_values_in_objects_and_lists() {
    let value = json!({"A": {"B": 1}, "L": [{"K": "x"}, {"J": 2}, {"K": true}], "S": "s"});
    let cases: [(&str, &str, Found); 6] = [
        ("S", r#""s""#, Found::All),
        ("A", r#"{"B":1}"#, Found::All),
        ("A.B", "1", Found::All),
        ("L[].K", r#"["x",null,true]"#, Found::Partly),
        ("L[].J", "[null,2,null]", Found::Partly),
        ("Z", "", Found::Nothing),
    ];
    for (path, written, found) in cases {
        let mut out = Vec::new();
        assert_eq!(find(&value, path, &mut out), found, "{path}");
        assert_eq!(String::from_utf8(out).unwrap(), written, "{path}");
    }
}

/// The service skips the targets of events whose command is not answered per target
/// (`answers_per_target`): that list and the events that have targets are the same.
#[test]
fn the_commands_answered_per_target_are_those_whose_events_have_targets() {
    for &cmd in Command::ALL {
        let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
        assert_eq!(
            event.friend_targets().is_some(),
            cmd.answers_per_target(),
            "{cmd}"
        );
    }
}

/// A class that says `EventTime` is documented is given only to commands whose table row says
/// the event has one, in milliseconds.
#[test]
fn the_timed_classes_are_those_of_events_with_a_time() {
    for &cmd in Command::ALL {
        let row = cmd.row();
        if matches!(row.key, "TIMED" | "RECALL" | "READ_RECEIPT") {
            assert_eq!(row.time, "ms", "{cmd}: class {} without `time ms`", row.key);
        }
    }
}
