use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use tower_service::Service;

use super::*;
use crate::protocol::command::CommandKind;
use crate::protocol::parse::command_from_body;
use crate::protocol::unparsed::ParseErrorKind;
use crate::test_util::{DEMO_TOKEN, SignedRequest};
use crate::{WebhookConfig, WebhookService};

/// Polls a future that completes without waiting on I/O.
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `snake_case` to `UpperCamelCase`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The names the naming rule gives a wire command `Family.Name`: variant, event type, method.
/// Drop a leading `Callback` from `Name`, then a leading `On`, then every occurrence of the
/// family's own name (as whole words, `C2C` written `C2c`); the module is the family in snake
/// case (`ContentCallback` is `moderation`), and the names are built from the module: variant
/// `ModuleRest`, event `module::Rest`, method `on_module_rest`.
fn by_rule(wire: &str) -> (String, String, String) {
    let (family, name) = wire.split_once('.').unwrap();
    let name = name.strip_prefix("Callback").unwrap_or(name);
    let name = match name.strip_prefix("On") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => rest,
        _ => name,
    };
    let module = match family {
        "ContentCallback" => "moderation".to_owned(),
        _ => snake(&family.replace("C2C", "C2c")),
    };
    let own = camel(&module);
    let mut rest = name.replace("C2C", "C2c");
    // Every occurrence of the family's name that is a whole word (followed by a capital or the
    // end): `Call` in `AfterStartCall`, not in `AfterCallerLeft`.
    while let Some(at) = (0..rest.len()).find(|&i| {
        rest[i..].starts_with(&own)
            && rest[i + own.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_uppercase())
    }) {
        rest.replace_range(at..at + own.len(), "");
    }
    let variant = format!("{own}{rest}");
    let method = format!("on_{module}_{}", snake(&rest));
    (variant, format!("{module}::{rest}"), method)
}

/// The commands with a fixture: the `*.json` files of `fixtures/events`, by name.
fn fixture_names() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/events");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn the_table_follows_the_naming_rule_and_the_kind_of_each_name() {
    // One fixture per command and no other: a row cannot be lost, nor a fixture left unused.
    let mut table: Vec<String> = Command::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    table.sort_unstable();
    assert_eq!(table, fixture_names());
    for &cmd in Command::ALL {
        assert_eq!(Command::from_wire(cmd.as_str()), Some(cmd));
        let row = cmd.row();
        let (variant, event, method) = by_rule(cmd.as_str());
        assert_eq!(row.variant, variant, "{cmd}");
        assert_eq!(row.event.replace(' ', ""), event, "{cmd}");
        assert_eq!(row.method, method, "{cmd}");
        // The one command whose name does not say its kind: its reply carries content back.
        if cmd != Command::ChatbotC2cSignalMessage {
            assert_eq!(cmd.kind(), CommandKind::from_name(cmd.as_str()), "{cmd}");
        }
        // Every before-event has an answer of its own; every after-event answers OK.
        assert_eq!(
            row.answer == "()",
            cmd.kind() == CommandKind::After,
            "{cmd}"
        );
    }
    let mut names: Vec<&str> = Command::ALL.iter().map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Command::ALL.len(), "duplicate wire names");
    assert_eq!(Command::from_wire("c2c.callbackbeforesendmsg"), None);
}

/// Tencent's name is findable in the docs of each command's method (its row's doc comment, which
/// starts with it) and event type (read from the source; the variant's docs are generated from
/// the wire name).
#[test]
fn the_docs_of_every_method_and_event_type_name_the_wire_command() {
    for &cmd in Command::ALL {
        let row = cmd.row();
        let wire = format!("`{cmd}`");
        assert!(
            row.doc.trim_start().starts_with(&wire),
            "{cmd}: {}",
            row.doc
        );
        let event = row.event.replace(' ', "");
        let (module, name) = event.split_once("::").unwrap();
        // The family's module, and the files of its submodules.
        let path = format!("{}/src/protocol/{module}", env!("CARGO_MANIFEST_DIR"));
        let mut source = std::fs::read_to_string(format!("{path}.rs")).unwrap();
        for file in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            source.push_str(&std::fs::read_to_string(file.path()).unwrap());
        }
        let at = source
            .find(&format!("pub struct {name} {{"))
            .unwrap_or_else(|| panic!("{cmd}: no struct {name} in {path}"));
        // The doc comment right above the struct.
        let docs: Vec<&str> = source[..at]
            .lines()
            .rev()
            .map(str::trim)
            .skip_while(|line| line.is_empty())
            .take_while(|line| line.starts_with("///") || line.starts_with("#["))
            .collect();
        assert!(
            docs.iter().any(|line| line.contains(&wire)),
            "{cmd}: the docs of {event} do not name it"
        );
    }
}

#[test]
fn every_command_parses_from_its_wire_name_and_nothing_else_does() {
    for &cmd in Command::ALL {
        assert_eq!(cmd.as_str().parse::<Command>(), Ok(cmd));
        assert_eq!(cmd.to_string().parse::<Command>(), Ok(cmd));
    }
    for name in [
        "",
        "c2c.callbackbeforesendmsg",
        "Group.CallbackFuture",
        "Group.",
        " State.StateChange",
    ] {
        let err = name.parse::<Command>().unwrap_err();
        assert_eq!(err.name(), name);
        assert_eq!(err.to_string(), format!("unknown CallbackCommand `{name}`"));
    }
}

#[test]
fn every_fixture_is_fully_typed_and_round_trips_as_an_event() {
    for &cmd in Command::ALL {
        let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes())
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert_eq!(event.command(), Some(cmd));
        assert_eq!(event.command_name(), cmd.as_str());
        assert_eq!(event.kind(), cmd.kind());
        assert_eq!(event.unknown_keys(), Vec::<String>::new(), "{cmd}");
        let again = Event::parse(cmd.as_str(), event.to_json().as_bytes())
            .unwrap_or_else(|e| panic!("{cmd} again: {e}"));
        assert_eq!(again, event, "{cmd}");
    }
}

#[test]
fn every_fixture_reaches_its_typed_hook_through_the_service() {
    const NOW: u64 = 1_700_000_000;
    let recorder = Arc::new(Recorder::default());
    let config = WebhookConfig::builder(crate::test_util::DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
        .build()
        .unwrap();
    let mut service = WebhookService::from_arc(config, recorder.clone());
    for &cmd in Command::ALL {
        let req = SignedRequest::sample(cmd).request_time(NOW).build();
        let res = run(service.call(req)).unwrap();
        assert_eq!(res.status(), 200, "{cmd}");
        let reply = crate::Reply::from_json(res.body().as_bytes()).unwrap();
        assert_eq!(reply.error_code(), 0, "{cmd}: the defaults allow");
        let seen = recorder.0.lock().unwrap().pop();
        let expected = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
        assert_eq!(seen.as_ref(), Some(&expected), "{cmd}");
    }
    assert!(recorder.0.lock().unwrap().is_empty());
}

#[test]
fn body_errors_name_the_failing_path() {
    let cases = [
        (
            "wrong type deep inside",
            r#"{"Official_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":5}}]}"#,
            Some("MsgBody[0].MsgContent.Text"),
            ParseErrorKind::Shape,
        ),
        (
            "missing field",
            r#"{"MsgBody":[]}"#,
            Some("."),
            ParseErrorKind::Shape,
        ),
        ("not an object", r#"[1]"#, Some("."), ParseErrorKind::Shape),
        (
            "syntax error",
            r#"{"Official_Account": "#,
            None,
            ParseErrorKind::Syntax,
        ),
        (
            "trailing garbage",
            r#"{"Official_Account":"a","MsgBody":[]} x"#,
            None,
            ParseErrorKind::Syntax,
        ),
        (
            "wrong number",
            r#"{"Official_Account":"a","MsgBody":[],"OnlineOnlyFlag":"yes"}"#,
            Some("OnlineOnlyFlag"),
            ParseErrorKind::Shape,
        ),
    ];
    for (name, body, path, kind) in cases {
        let err = Event::parse("OfficialAccount.CallbackBeforeSendMsg", body.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("{name}: parsed"));
        assert_eq!(err.kind(), kind, "{name}: {err}");
        assert_eq!(err.path(), path, "{name}: {err}");
        if let Some(unparsed) = err.clone().into_unparsed() {
            assert_eq!(unparsed.command, Command::OfficialAccountBeforeSendMsg);
            assert_eq!(unparsed.body.get(), body, "{name}: the JSON is kept whole");
        }
        assert!(!err.to_string().is_empty(), "{name}");
    }
}

/// The typed parse reads a body that is UTF-8 as a `str` (checked once, whole) and any other as
/// bytes: either way, text outside ASCII parses, and a byte that is not UTF-8 is a syntax error
/// at its position, not a shape error and not a panic.
#[test]
fn bodies_are_utf8_checked_once_with_the_error_where_it_is() {
    let command = "OfficialAccount.CallbackBeforeSendMsg";
    let text = |t: &[u8]| {
        let mut body = br#"{"Official_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":""#.to_vec();
        body.extend_from_slice(t);
        body.extend_from_slice(br#""}}]}"#);
        body
    };
    for (name, raw) in [
        ("Chinese", "你好".as_bytes()),
        ("emoji", "😀".as_bytes()),
        ("ASCII", b"hi"),
    ] {
        let Ok(Event::OfficialAccountBeforeSendMsg(msg)) = Event::parse(command, &text(raw)) else {
            panic!("{name}: not parsed")
        };
        assert_eq!(
            msg.texts().collect::<Vec<_>>(),
            [std::str::from_utf8(raw).unwrap()],
            "{name}"
        );
    }
    for (name, raw) in [
        ("a lone continuation byte", &[0x80][..]),
        ("a truncated sequence", &[0xe4, 0xbd]),
        ("an overlong encoding", &[0xc0, 0xaf]),
        ("a surrogate", &[0xed, 0xa0, 0x80]),
    ] {
        let err = Event::parse(command, &text(raw)).expect_err(name);
        assert_eq!(err.kind(), ParseErrorKind::Syntax, "{name}: {err}");
        assert!(err.to_string().contains("line 1"), "{name}: {err}");
    }
}

#[test]
fn body_command_must_agree_with_the_query() {
    let body = br#"{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg","Official_Account":"a","MsgBody":[]}"#;
    let err = Event::parse("OfficialAccount.CallbackBeforeSendMsg", body).unwrap_err();
    assert_eq!(err.kind(), ParseErrorKind::CommandMismatch);
    assert!(
        err.to_string()
            .contains("`OfficialAccount.CallbackAfterSendMsg`")
    );
    let unknown = Event::parse("X.New", br#"{"CallbackCommand":"X.Old"}"#).unwrap_err();
    assert_eq!(unknown.kind(), ParseErrorKind::CommandMismatch);
}

#[test]
fn unknown_commands_keep_their_body_and_are_classified_by_name() {
    let Ok(event) = Event::parse(
        "X.CallbackBeforeNew",
        br#"{"CallbackCommand":"X.CallbackBeforeNew","A":[1]}"#,
    ) else {
        panic!("not parsed")
    };
    assert_eq!(event.kind(), CommandKind::Before);
    assert_eq!(event.unknown_keys(), ["CallbackCommand", "A"]); // in the order sent
    let Event::Unknown(e) = &event else {
        panic!("not unknown")
    };
    assert_eq!(e.body.to_value()["A"][0], 1);
    assert_eq!(
        Event::parse(&e.command, event.to_json().as_bytes()).unwrap(),
        event
    );
}

#[test]
fn unknown_keys_are_reported_by_path() {
    let body = br#"{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"a","To_Account":"b","New":1,
        "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x","Bold":true}},{"MsgType":"TIMFutureElem"}]}"#;
    let event = Event::parse("C2C.CallbackBeforeSendMsg", body).unwrap();
    assert_eq!(
        event.unknown_keys(),
        [
            "MsgBody[0].MsgContent.Bold",
            "MsgBody[1].MsgType=TIMFutureElem",
            "New"
        ]
    );
}

#[test]
fn command_can_come_from_the_body() {
    assert_eq!(
        command_from_body(br#"{"CallbackCommand":"A.B","x":{"y":[]}}"#)
            .unwrap()
            .as_deref(),
        Some("A.B")
    );
    assert_eq!(command_from_body(br#"{"x":1}"#).unwrap(), None);
    assert!(command_from_body(b"nope").is_err());
}

#[test]
fn handler_error_converts_from_std_errors() {
    fn fails() -> HandlerResult<()> {
        let _: u8 = "300".parse()?;
        Ok(())
    }
    let err = fails().unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(err.get_ref().is::<std::num::ParseIntError>());
    assert_eq!(HandlerError::new("plain").to_string(), "plain");
}

/// The features `Cargo.toml` declares, `default` aside.
fn cargo_features() -> Vec<String> {
    let manifest = include_str!("../../Cargo.toml");
    let section = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("Cargo.toml has [features]");
    let section = section.split("\n[").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, _)| name.trim().to_owned())
        .filter(|name| name != "default" && !name.starts_with('#'))
        .collect()
}

/// Every feature is named in the crate docs and in the README, which list them for users.
#[test]
fn the_crate_docs_and_the_readme_name_every_feature() {
    let features = cargo_features();
    assert!(features.len() >= 7, "{features:?}");
    let docs = include_str!("../lib.rs");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for feature in features {
        let item = format!("- `{feature}`");
        assert!(
            docs.contains(&format!("//! {item}")),
            "src/lib.rs does not list `{feature}`"
        );
        assert!(
            readme.contains(&item),
            "README.md does not list `{feature}`"
        );
    }
}

/// Every answer type of a before-event is described in `Command`'s docs, whose generated table
/// links to it.
#[test]
fn the_command_docs_describe_every_answer_type() {
    let docs = include_str!("../protocol/commands.md");
    for &cmd in Command::ALL {
        let answer = cmd.row().answer.replace(' ', "");
        if cmd.kind() == CommandKind::Before {
            let link = format!("[`{answer}`](crate::{answer})");
            assert!(
                docs.contains(&link),
                "{cmd}: commands.md does not describe {link}"
            );
        } else {
            assert_eq!(answer, "()", "{cmd}: an after-event is answered OK");
        }
    }
}

/// The table's `time` column: every command whose sample carries a top-level `EventTime` says
/// `ms`, and its event gives that time back; `none` is for events without one.
#[test]
fn the_time_column_says_which_events_carry_event_time() {
    for &cmd in Command::ALL {
        let sample: serde_json::Value = serde_json::from_str(cmd.sample()).unwrap();
        let event = Event::parse(cmd.as_str(), cmd.sample().as_bytes()).unwrap();
        let sent = sample.get("EventTime").map(|t| match t {
            serde_json::Value::String(s) => s.parse::<u64>().unwrap(),
            other => other.as_u64().unwrap(),
        });
        match (cmd.row().time, sent) {
            ("ms", Some(ms)) => assert_eq!(
                event.event_system_time(),
                Some(UNIX_EPOCH + Duration::from_millis(ms)),
                "{cmd}"
            ),
            ("ms", None) => assert_eq!(event.event_system_time(), None, "{cmd}"),
            ("none", None) => assert_eq!(event.event_system_time(), None, "{cmd}"),
            (time, sent) => panic!("{cmd}: time {time} in the table, EventTime {sent:?} sent"),
        }
    }
}
