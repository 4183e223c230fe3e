//! Property tests: every event of every command survives a serialise/parse round trip, written
//! back as it was sent (keys under the spelling they came with, legacy names, numbers as strings,
//! flags as numbers or strings, `null`s, unknown keys and elements); the
//! verifier accepts exactly the signatures it should within the window and rejects the rest;
//! arbitrary query strings never panic the parser nor show a token in a rejection; every typed
//! decision's reply reads back as it was written.
//!
//! Each property runs a modest number of cases so that the file stays fast in the normal suite.
//! `PROPTEST_CASES=N` runs N cases of each property instead (for the round trip: N per command).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestCaseResult, TestRunner,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tencent_chat_webhook::group::InviteDecision;
use tencent_chat_webhook::message::MsgElement;
use tencent_chat_webhook::official_account::AddSubscriberDecision;
use tencent_chat_webhook::signature::{SignatureError, Verifier, sign};
use tencent_chat_webhook::sns::FriendDecision;
use tencent_chat_webhook::{
    ActionStatus, CodeOutOfRange, Command, CustomCode, CustomErrorCode, Event, FriendErrorCode,
    GateDecision, GroupErrorCode, ImStr, ParseErrorKind, Reply, SendDecision, WebhookConfig,
    construct_event, test_util,
};

/// `default` cases of a property (`PROPTEST_CASES` if set); failures are kept in
/// `tests/properties.proptest-regressions` and tried first on the next run.
fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        // ChaCha, the default, takes a third of the time of a debug build; any generator will do.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::with_cases(cases)
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

// ---------------------------------------------------------------------------------------------
// Arbitrary text and JSON
// ---------------------------------------------------------------------------------------------

/// Strings matching a regular expression, compiled once (a `&str` strategy compiles its
/// expression again for every value).
fn re(pattern: &str) -> BoxedStrategy<String> {
    proptest::string::string_regex(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .boxed()
}

/// Any text: arbitrary Unicode (controls and NUL included), the characters JSON and query strings
/// treat specially, and long runs.
fn any_text() -> BoxedStrategy<String> {
    prop_oneof![
        5 => vec(any::<char>(), 0..16).prop_map(|cs| cs.into_iter().collect()),
        2 => re("[a-zA-Z0-9 _@#.%&=+-]{0,12}"),
        2 => select(vec![
            "", "\0", "\"", "\\", "\"\\/\u{8}\u{c}\n\r\t", "\u{2028}\u{2029}", "\u{feff}",
            "\u{ffff}", "\u{7f}", "😀", "𝄞", "红包", "a\0b", "</script>", "%", "&", "=", "+",
        ])
        .prop_map(str::to_owned),
        1 => (any::<char>(), 200usize..2_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

fn finite_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        -180.0..180.0f64,
        select(vec![
            0.0,
            -0.0,
            1.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            5e-324
        ]),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        finite_f64().prop_map(Value::from),
        any_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(any_text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Integers as Tencent sends them: mostly small or 32-bit, sometimes any 64-bit value, and the
/// edges of each width.
fn any_u64() -> BoxedStrategy<u64> {
    prop_oneof![
        4 => 0u64..=1_000,
        3 => 0u64..=u64::from(u32::MAX),
        2 => any::<u64>(),
        1 => select(vec![
            0,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ]),
    ]
    .boxed()
}

/// An integer leaf: a JSON number, or a decimal string holding one (as several of Tencent's
/// samples send `EventTime`); now and then a negative one, or a string the crate reads but that
/// is not how the number writes itself (padded, with leading zeros or a sign).
fn any_int_json() -> BoxedStrategy<Value> {
    prop_oneof![
        5 => (any_u64(), any::<bool>()).prop_map(|(n, quoted)| {
            if quoted { Value::String(n.to_string()) } else { Value::from(n) }
        }),
        1 => (any::<i64>(), any::<bool>()).prop_map(|(n, quoted)| {
            if quoted { Value::String(n.to_string()) } else { Value::from(n) }
        }),
        1 => (0u64..=u64::from(u32::MAX), select(vec![" {}", "{} ", " {} ", "0{}", "00{}", "+{}"]))
            .prop_map(|(n, form)| Value::String(form.replace("{}", &n.to_string()))),
    ]
    .boxed()
}

/// A leaf for a float field: a float, as a number or a string, or any integer leaf.
fn any_float_json() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => finite_f64().prop_map(Value::from),
        1 => finite_f64().prop_map(|f| Value::String(f.to_string())),
        1 => any_int_json(),
    ]
    .boxed()
}

/// A flag in every form the crate reads: a boolean, `0`/`1`, or a string of either.
fn any_flag_json() -> BoxedStrategy<Value> {
    select(vec![
        Value::from(true),
        Value::from(false),
        Value::from(0),
        Value::from(1),
        Value::from("true"),
        Value::from("false"),
        Value::from("1"),
        Value::from("0"),
    ])
    .boxed()
}

/// The other spellings of a key that real traffic or the docs use, which the crate reads into the
/// same field.
fn key_spellings(key: &str) -> &'static [&'static str] {
    match key {
        "GroupId" => &["GroupID"],
        "GroupID" => &["GroupId"],
        "Random" => &["MsgRandom"],
        "MsgRandom" => &["Random"],
        "MsgID" => &["MsgId"],
        "CallMediaType" => &["MediaType"],
        "MediaType" => &["CallMediaType"],
        _ => &[],
    }
}

/// The documented spellings, legacy ones included, of the open enum under `key`.
fn value_spellings(key: &str) -> &'static [&'static str] {
    match key {
        "Type" => &[
            "Private",
            "Work",
            "ChatRoom",
            "Meeting",
            "Public",
            "AVChatRoom",
            "Community",
        ],
        "Platform" => &["iOS", "IOS", "Mac", "macOS", "iPad", "IPad", "Android"],
        "ClientCmd" => &[
            "friend_add",
            "FriendAdd",
            "friend_response",
            "FriendResponse",
        ],
        "ActionType" => &[
            "Accept", "Answer", "Hangup", "HangUp", "Hang Up", "Invite", "Invited",
        ],
        _ => &[],
    }
}

/// Whether a key could be one Tencent defines: every documented key is ASCII letters, digits and
/// `_`. Added keys are never of that shape (but for a `Future` prefix, which no key has), so
/// that they cannot land on a typed field and must be kept as unknown.
fn tencent_like(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with("Future")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn extra_key() -> BoxedStrategy<String> {
    prop_oneof![
        1 => re("Future[A-Za-z0-9_]{0,12}"),
        3 => any_text(),
    ]
    .prop_filter("a key Tencent could define", |k| !tencent_like(k))
    .boxed()
}

const KNOWN_ELEMENTS: [&str; 9] = [
    "TIMTextElem",
    "TIMLocationElem",
    "TIMFaceElem",
    "TIMCustomElem",
    "TIMSoundElem",
    "TIMImageElem",
    "TIMFileElem",
    "TIMVideoFileElem",
    "TIMRelayElem",
];

/// A message element of a type this crate does not know: the JSON text (with `MsgType` before
/// or after `MsgContent`, which may be absent, and extra keys), and its value.
fn unknown_element() -> BoxedStrategy<(String, Value)> {
    let msg_type = prop_oneof![re("TIM[A-Za-z]{0,12}Elem"), any_text()]
        .prop_filter("a known element type", |t| {
            !KNOWN_ELEMENTS.contains(&t.as_str())
        });
    (
        msg_type,
        proptest::option::of(any_json()),
        btree_map(extra_key(), any_json(), 0..2),
        any::<bool>(),
    )
        .prop_map(|(msg_type, content, extra, type_first)| {
            let mut entries = vec![("MsgType".to_owned(), Value::String(msg_type))];
            if let Some(content) = content {
                let entry = ("MsgContent".to_owned(), content);
                if type_first {
                    entries.push(entry);
                } else {
                    entries.insert(0, entry);
                }
            }
            entries.extend(extra);
            let text = entries
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                .collect::<Vec<_>>()
                .join(",");
            let value = Value::Object(entries.into_iter().collect());
            (format!("{{{text}}}"), value)
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Events: every command's fixture, mutated
// ---------------------------------------------------------------------------------------------

/// One step of a path into a JSON value.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn lookup<'a>(mut v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.as_object()?.get(k)?,
            Seg::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    Some(v)
}

/// A mutated fixture: its JSON text (keys in the order chosen), the JSON the event it parses to
/// must be written back as, and everything added to it that the JSON written back must keep:
/// each extra key's value, and each unknown message element.
#[derive(Clone)]
struct Mutated {
    json: String,
    expect: Value,
    added: Vec<(Vec<Seg>, Value)>,
}

impl fmt::Debug for Mutated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutated")
            .field("json", &format_args!("{}", self.json))
            .field(
                "added",
                &self.added.iter().map(|(path, _)| path).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Mutated {
    fn leaf(v: Value) -> Self {
        Mutated {
            json: v.to_string(),
            expect: v,
            added: Vec::new(),
        }
    }

    fn added(json: String, v: Value) -> Self {
        Mutated {
            json,
            expect: v.clone(),
            added: vec![(Vec::new(), v)],
        }
    }

    /// This value's text and what it is written back as, its added things moved under `seg`.
    fn under(self, seg: &Seg, out: &mut Vec<(Vec<Seg>, Value)>) -> (String, Value) {
        for (mut path, v) in self.added {
            path.insert(0, seg.clone());
            out.push((path, v));
        }
        (self.json, self.expect)
    }
}

/// How hard a fixture is mutated: the odds of keeping a leaf against changing it, and the
/// chance (in 16) that an object loses one of its keys.
#[derive(Clone, Copy)]
struct Dose {
    keep: u32,
    change: u32,
    drop_in_16: u32,
}

const LIGHT: Dose = Dose {
    keep: 6,
    change: 1,
    drop_in_16: 1,
};

const HEAVY: Dose = Dose {
    keep: 1,
    change: 1,
    drop_in_16: 3,
};

/// `orig` kept, changed, or, rarely (most leaves are required), `null`, which an optional field
/// writes back.
fn leaf(
    orig: &Value,
    changed: BoxedStrategy<Value>,
    keep: u32,
    change: u32,
) -> BoxedStrategy<Mutated> {
    prop_oneof![16 * keep => Just(orig.clone()), 16 * change => changed, 1 => Just(Value::Null)]
        .prop_map(Mutated::leaf)
        .boxed()
}

/// A strategy of values like `v` (found under `key`): leaves replaced (in any form the crate
/// reads: numbers as strings, flags as numbers, legacy names), keys dropped, added, reordered
/// and spelled as the docs also spell them, unknown elements put into `MsgBody` arrays.
fn mutate(v: &Value, key: Option<&str>, dose: Dose) -> BoxedStrategy<Mutated> {
    let Dose { keep, change, .. } = dose;
    let spellings = key.map_or(&[][..], value_spellings);
    match v {
        Value::Null => Just(Mutated::leaf(Value::Null)).boxed(),
        Value::Bool(_) => leaf(v, any_flag_json(), keep, change),
        Value::Number(n) if n.is_f64() => leaf(v, any_float_json(), keep, change),
        Value::Number(_) => leaf(v, any_int_json(), keep, change),
        Value::String(_) if !spellings.is_empty() => {
            let changed = prop_oneof![
                3 => select(spellings).prop_map(Value::from),
                1 => any_text().prop_map(Value::from),
            ];
            leaf(v, changed.boxed(), keep, change)
        }
        // Mostly kept: a changed command is a mismatch, which ends the case early.
        Value::String(_) if key == Some("CallbackCommand") => {
            leaf(v, any_text().prop_map(Value::from).boxed(), 40, 1)
        }
        Value::String(s) if s.parse::<u64>().is_ok() || s.parse::<i64>().is_ok() => {
            let changed = prop_oneof![
                4 => any_int_json(),
                1 => any_text().prop_map(Value::from),
            ];
            leaf(v, changed.boxed(), keep, change)
        }
        Value::String(_) => leaf(v, any_text().prop_map(Value::from).boxed(), keep, change),
        Value::Array(items) => array(items, key, dose),
        Value::Object(map) => object(map, dose),
    }
}

fn array(items: &[Value], key: Option<&str>, dose: Dose) -> BoxedStrategy<Mutated> {
    let children: Vec<_> = items.iter().map(|item| mutate(item, None, dose)).collect();
    let unknown = if key == Some("MsgBody") {
        vec((any::<Index>(), unknown_element()), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (children, unknown)
        .prop_map(|(mut children, unknown)| {
            for (at, (json, value)) in unknown {
                let at = at.index(children.len() + 1);
                children.insert(at, Mutated::added(json, value));
            }
            let mut added = Vec::new();
            let (parts, expect): (Vec<String>, Vec<Value>) = children
                .into_iter()
                .enumerate()
                .map(|(i, child)| child.under(&Seg::Index(i), &mut added))
                .unzip();
            Mutated {
                json: format!("[{}]", parts.join(",")),
                expect: Value::Array(expect),
                added,
            }
        })
        .boxed()
}

fn object(map: &Map<String, Value>, dose: Dose) -> BoxedStrategy<Mutated> {
    // A key keeps its spelling, or takes another the docs use (one the crate reads into the same
    // field, or keeps as an unknown key where the struct does not read it).
    let fields: Vec<_> = map
        .iter()
        .map(|(k, v)| {
            let key = match key_spellings(k) {
                [] => Just(k.clone()).boxed(),
                others => prop_oneof![
                    3 => Just(k.clone()),
                    1 => select(others).prop_map(str::to_owned),
                ]
                .boxed(),
            };
            (key, mutate(v, Some(k), dose))
        })
        .collect();
    // At most one key dropped per object: most keys are required, and one missing is enough.
    let dropped = proptest::option::weighted(f64::from(dose.drop_in_16) / 16.0, any::<Index>());
    let extras = prop_oneof![
        3 => Just(BTreeMap::new()),
        1 => btree_map(extra_key(), any_json(), 1..3),
    ];
    (fields, dropped, extras)
        .prop_map(|(mut fields, dropped, extras)| {
            if let Some(i) = dropped.filter(|_| !fields.is_empty()) {
                fields.remove(i.index(fields.len()));
            }
            let mut entries: Vec<(String, Mutated)> = fields;
            entries.extend(
                extras
                    .into_iter()
                    .map(|(k, v)| (k, Mutated::added(v.to_string(), v))),
            );
            entries
        })
        .prop_shuffle()
        .prop_map(|entries| {
            let mut added = Vec::new();
            let mut expect = Map::new();
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, child)| {
                    let name = Value::from(k.as_str()).to_string();
                    let (json, written) = child.under(&Seg::Key(k.clone()), &mut added);
                    expect.insert(k, written);
                    format!("{name}:{json}")
                })
                .collect();
            Mutated {
                json: format!("{{{}}}", parts.join(",")),
                expect: Value::Object(expect),
                added,
            }
        })
        .boxed()
}

fn sample_value(cmd: Command) -> Value {
    serde_json::from_str(test_util::sample(cmd)).unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn mutated_sample(cmd: Command) -> BoxedStrategy<Mutated> {
    let sample = sample_value(cmd);
    prop_oneof![mutate(&sample, None, LIGHT), mutate(&sample, None, HEAVY),].boxed()
}

#[derive(Default)]
struct Tally {
    total: u32,
    parsed: u32,
    shape: u32,
    mismatch: u32,
}

fn round_trip(cmd: Command, input: &Mutated, tally: &RefCell<Tally>) -> TestCaseResult {
    tally.borrow_mut().total += 1;
    let event = match Event::parse(cmd.as_str(), input.json.as_bytes()) {
        Ok(event) => event,
        Err(e) => {
            match e.kind() {
                ParseErrorKind::Shape => {
                    prop_assert!(
                        e.path().is_some_and(|p| !p.is_empty()),
                        "a shape error names where: {}",
                        e
                    );
                    tally.borrow_mut().shape += 1;
                }
                ParseErrorKind::CommandMismatch => tally.borrow_mut().mismatch += 1,
                kind => {
                    return Err(TestCaseError::fail(format!(
                        "{kind:?} error for a JSON body: {e}"
                    )));
                }
            }
            return Ok(());
        }
    };
    tally.borrow_mut().parsed += 1;
    prop_assert_eq!(event.command(), Some(cmd));
    let written = event.to_json();
    let again = Event::parse(cmd.as_str(), written.as_bytes()).map_err(|e| {
        TestCaseError::fail(format!(
            "the JSON written does not parse back: {e}\nwritten: {written}"
        ))
    })?;
    prop_assert_eq!(&again, &event, "written: {}", written);
    prop_assert_eq!(
        again.idempotency_key(1_400_000_000),
        event.idempotency_key(1_400_000_000)
    );
    prop_assert_eq!(
        again.to_json(),
        written.as_str(),
        "writing again changes the JSON"
    );
    let tree: Value = serde_json::from_str(&written)
        .map_err(|e| TestCaseError::fail(format!("written JSON is not JSON: {e}")))?;
    prop_assert_eq!(
        &tree,
        &input.expect,
        "not written back as sent\nsent:    {}\nwritten: {}",
        input.json,
        written
    );
    for (path, value) in &input.added {
        prop_assert_eq!(
            lookup(&tree, path),
            Some(value),
            "what was added at {:?} is not written back as it was\nwritten: {}",
            path,
            written
        );
    }
    Ok(())
}

/// Found by the round trip below: `serde_json` without `float_roundtrip` reads some numbers to
/// a neighbour of the nearest float, so the shortest form it writes back reads as yet another
/// one, and an event's JSON and idempotency key change with every round trip.
#[test]
fn floats_survive_a_round_trip() {
    // A typed float (a location's latitude and longitude), and one kept in `extra`.
    let body = r#"{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b",
        "MsgBody":[{"MsgType":"TIMLocationElem","MsgContent":{"Desc":"here",
        "Latitude":7.710974791576171e-150,"Longitude":1.305877318323951e266}}],
        "Future":{"":7.710974791576171e-150}}"#;
    let event = Event::parse("C2C.CallbackAfterSendMsg", body.as_bytes()).unwrap();
    let written = event.to_json();
    let again = Event::parse("C2C.CallbackAfterSendMsg", written.as_bytes()).unwrap();
    assert_eq!(again, event, "{written}");
    assert_eq!(again.to_json(), written);
    assert_eq!(
        again.idempotency_key(1_400_000_000),
        event.idempotency_key(1_400_000_000)
    );

    let reply = Reply::ok().with_field("Future", serde_json::json!([1.305877318323951e266]));
    assert_eq!(Reply::from_json(reply.to_json().as_bytes()).unwrap(), reply);
}

#[test]
fn every_event_of_every_command_survives_a_round_trip() {
    let mut failures = Vec::new();
    for &cmd in Command::ALL {
        let mut config = cases(64);
        // One runner per command: a failure is reported below with the command and the minimal
        // input proptest found.
        config.failure_persistence = None;
        let tally = RefCell::new(Tally::default());
        let mut runner = TestRunner::new(config);
        match runner.run(&mutated_sample(cmd), |input| {
            round_trip(cmd, &input, &tally)
        }) {
            Err(e) => failures.push(format!("{cmd}: {e}")),
            Ok(()) => {
                let t = tally.borrow();
                // The generator must reach the round trip, not only the error paths.
                if t.parsed * 4 < t.total {
                    failures.push(format!(
                        "{cmd}: only {} of {} mutated samples parsed ({} shape errors, {} mismatches)",
                        t.parsed, t.total, t.shape, t.mismatch
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// The verifier
// ---------------------------------------------------------------------------------------------

/// 1 to 64 printable characters: ASCII, or any printable Unicode.
fn token() -> BoxedStrategy<String> {
    prop_oneof![re("[ -~]{1,64}"), re("\\PC{1,64}")].boxed()
}

fn tokens() -> BoxedStrategy<Vec<String>> {
    vec(token(), 1..=4).boxed()
}

fn window() -> BoxedStrategy<u64> {
    prop_oneof![Just(0u64), Just(60), 0u64..=300, 0u64..=1_000_000].boxed()
}

fn now() -> BoxedStrategy<u64> {
    prop_oneof![1_600_000_000u64..2_000_000_000, 0u64..=(1 << 40)].boxed()
}

/// A window, a time now, and an offset of a request time from now, up to twice the window
/// away (and 2 s) either way.
fn window_now_offset() -> BoxedStrategy<(u64, u64, i64)> {
    (window(), now())
        .prop_flat_map(|(w, now)| {
            let reach = i64::try_from(2 * w + 2).unwrap_or(i64::MAX);
            (Just(w), Just(now), -reach..=reach)
        })
        .boxed()
}

fn hex_sha256(token: &str, time_digits: &str) -> String {
    Sha256::digest(format!("{token}{time_digits}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `Verifier::verify` is documented to answer, written out from the spec: `Sign` and
/// `RequestTime` present, the time decimal digits, the signature the hex (either case) of
/// `sha256(token + digits)` for some token, then the time within the window of now.
fn model(
    tokens: &[String],
    window: u64,
    sign: Option<&str>,
    time: Option<&str>,
    now: u64,
) -> Result<u64, SignatureError> {
    let sign = sign.ok_or(SignatureError::MissingSign)?;
    let digits = time.ok_or(SignatureError::MissingRequestTime)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedRequestTime);
    }
    let time: u64 = digits
        .parse()
        .map_err(|_| SignatureError::MalformedRequestTime)?;
    if !tokens
        .iter()
        .any(|t| hex_sha256(t, digits).eq_ignore_ascii_case(sign))
    {
        return Err(SignatureError::Mismatch);
    }
    match now.abs_diff(time) {
        skew if skew > window => Err(SignatureError::Stale { skew_secs: skew }),
        _ => Ok(time),
    }
}

fn verifier(tokens: &[String], window: u64) -> Verifier {
    Verifier::new(tokens)
        .unwrap()
        .with_max_skew(Duration::from_secs(window))
}

/// Ways to spoil a valid signature, and two that must not spoil it.
#[derive(Clone, Debug)]
enum SignEdit {
    /// One hex digit replaced by another of a different value (either case).
    OtherDigit(Index, u8, bool),
    /// One hex digit replaced by a character that is not hex.
    NotHex(Index, char),
    /// Cut to fewer than 64 characters.
    Truncate(usize),
    /// Hex digits appended.
    Extend(String),
    /// All upper case: accepted (hex is read in either case).
    Upper,
    /// Each letter's case chosen at random: accepted.
    MixedCase(Vec<bool>),
}

fn sign_edit() -> BoxedStrategy<SignEdit> {
    prop_oneof![
        (any::<Index>(), 0u8..16, any::<bool>())
            .prop_map(|(i, d, up)| SignEdit::OtherDigit(i, d, up)),
        (
            any::<Index>(),
            any::<char>().prop_filter("hex", |c| !c.is_ascii_hexdigit())
        )
            .prop_map(|(i, c)| SignEdit::NotHex(i, c)),
        (0usize..64).prop_map(SignEdit::Truncate),
        re("[0-9a-fA-F]{1,4}").prop_map(SignEdit::Extend),
        Just(SignEdit::Upper),
        vec(any::<bool>(), 64).prop_map(SignEdit::MixedCase),
    ]
    .boxed()
}

/// The edited signature, and whether it must still be accepted.
fn apply(edit: &SignEdit, sig: &str) -> (String, bool) {
    let mut chars: Vec<char> = sig.chars().collect();
    match edit {
        SignEdit::OtherDigit(i, d, up) => {
            let i = i.index(chars.len());
            let old = chars[i].to_digit(16).unwrap();
            // Any other value: shift by 1..=15.
            let new = (old + 1 + u32::from(*d) % 15) % 16;
            let c = char::from_digit(new, 16).unwrap();
            chars[i] = if *up { c.to_ascii_uppercase() } else { c };
            (chars.into_iter().collect(), false)
        }
        SignEdit::NotHex(i, c) => {
            let i = i.index(chars.len());
            chars[i] = *c;
            (chars.into_iter().collect(), false)
        }
        SignEdit::Truncate(n) => (chars[..*n].iter().collect(), false),
        SignEdit::Extend(more) => (format!("{sig}{more}"), false),
        SignEdit::Upper => (sig.to_ascii_uppercase(), true),
        SignEdit::MixedCase(up) => (
            chars
                .iter()
                .zip(up)
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { *c })
                .collect(),
            true,
        ),
    }
}

/// `Sign` and `RequestTime` as a request might carry them, valid or not.
fn raw_sign() -> BoxedStrategy<String> {
    prop_oneof![
        any_text(),
        re("[0-9a-fA-F]{64}"),
        re("[0-9a-fA-F]{60,68}"),
        re("[0-9a-fA-F\u{e9}\u{ff10}]{62,64}"),
    ]
    .boxed()
}

fn raw_time() -> BoxedStrategy<String> {
    prop_oneof![
        re("[0-9]{0,25}"),
        re("[+-]?[0-9]{1,20}"),
        re("[ 0-9]{1,12}"),
        re("[0-9\u{0660}-\u{0669}\u{ff10}-\u{ff19}]{1,12}"),
        any_text(),
        select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "00000000000000000000001"
        ])
        .prop_map(str::to_owned),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(cases(256))]

    /// Signed with any configured token for time t: accepted iff |now - t| <= window, else
    /// stale by exactly |now - t|. The clock's fraction of a second does not count: `RequestTime`
    /// is in whole seconds.
    #[test]
    fn a_signature_of_any_configured_token_verifies_iff_within_the_window(
        tokens in tokens(),
        which in any::<Index>(),
        (window, now, offset) in window_now_offset(),
        nanos in 0u32..1_000_000_000,
    ) {
        let Some(t) = now.checked_add_signed(offset) else {
            return Err(TestCaseError::reject("request time before 1970"));
        };
        let v = verifier(&tokens, window);
        let sig = sign(which.get::<String>(&tokens), t);
        let digits = t.to_string();
        let want = if offset.unsigned_abs() <= window {
            Ok(t)
        } else {
            Err(SignatureError::Stale { skew_secs: offset.unsigned_abs() })
        };
        prop_assert_eq!(v.verify(Some(&sig), Some(&digits), at(now)), want);
        let later_in_the_second = at(now) + Duration::from_nanos(u64::from(nanos));
        prop_assert_eq!(v.verify(Some(&sig), Some(&digits), later_in_the_second), want);
    }

    /// The exact edges, for every configured token: `window` seconds either way is accepted,
    /// `window + 1` is not.
    #[test]
    fn the_window_edges_are_exact(tokens in tokens(), window in window(), now in now()) {
        let now = now.max(window + 1);
        let v = verifier(&tokens, window);
        for token in &tokens {
            for t in [now - window, now + window] {
                prop_assert_eq!(v.verify(Some(&sign(token, t)), Some(&t.to_string()), at(now)), Ok(t));
            }
            for t in [now - window - 1, now + window + 1] {
                prop_assert_eq!(
                    v.verify(Some(&sign(token, t)), Some(&t.to_string()), at(now)),
                    Err(SignatureError::Stale { skew_secs: window + 1 })
                );
            }
        }
    }

    /// A signature made with any other token never verifies, in the window or out of it: the
    /// time is judged only once the signature matches.
    #[test]
    fn a_signature_of_another_token_never_verifies(
        tokens in tokens(),
        other in token(),
        (window, now, offset) in window_now_offset(),
    ) {
        prop_assume!(!tokens.contains(&other));
        let Some(t) = now.checked_add_signed(offset) else {
            return Err(TestCaseError::reject("request time before 1970"));
        };
        let v = verifier(&tokens, window);
        prop_assert_eq!(
            v.verify(Some(&sign(&other, t)), Some(&t.to_string()), at(now)),
            Err(SignatureError::Mismatch)
        );
    }

    /// A changed digit, a non-hex character, a cut or a longer signature is a mismatch; the same
    /// hex in upper or mixed case is accepted (hex is read in either case).
    #[test]
    fn an_edited_signature_verifies_only_if_just_its_case_changed(
        tokens in tokens(),
        which in any::<Index>(),
        (window, now, offset) in window_now_offset(),
        edit in sign_edit(),
    ) {
        let offset = offset.clamp(-i64::try_from(window).unwrap(), i64::try_from(window).unwrap());
        let Some(t) = now.checked_add_signed(offset) else {
            return Err(TestCaseError::reject("request time before 1970"));
        };
        let v = verifier(&tokens, window);
        let (sig, still_valid) = apply(&edit, &sign(which.get::<String>(&tokens), t));
        let want = if still_valid { Ok(t) } else { Err(SignatureError::Mismatch) };
        prop_assert_eq!(v.verify(Some(&sig), Some(&t.to_string()), at(now)), want, "sign {}", sig);
    }

    /// A signature is for the exact digits sent: another time, or the same time zero-padded,
    /// is a mismatch; a signature over the padded digits is accepted for that time.
    #[test]
    fn a_signature_is_for_the_exact_digits_sent(
        tokens in tokens(),
        which in any::<Index>(),
        (window, now, offset) in window_now_offset(),
        other_time in prop_oneof![any::<u64>(), 0u64..=(1 << 40)],
        zeros in 1usize..4,
    ) {
        let Some(t) = now.checked_add_signed(offset) else {
            return Err(TestCaseError::reject("request time before 1970"));
        };
        prop_assume!(other_time != t);
        let v = verifier(&tokens, window);
        let token = which.get::<String>(&tokens);
        let sig = sign(token, t);
        prop_assert_eq!(
            v.verify(Some(&sig), Some(&other_time.to_string()), at(now)),
            Err(SignatureError::Mismatch)
        );
        let padded = format!("{}{t}", "0".repeat(zeros));
        prop_assert_eq!(v.verify(Some(&sig), Some(&padded), at(now)), Err(SignatureError::Mismatch));
        let padded_sig = hex_sha256(token, &padded);
        prop_assert_eq!(
            v.verify(Some(&padded_sig), Some(&padded), at(now)),
            model(&tokens, window, Some(&padded_sig), Some(&padded), now)
        );
        prop_assert_eq!(
            v.verify(Some(&padded_sig), Some(&padded), at(now)).is_ok(),
            offset.unsigned_abs() <= window
        );
    }

    /// Any `Sign` and `RequestTime`, present or not, valid or not: never a panic, and always the
    /// answer the spec gives.
    #[test]
    fn any_sign_and_time_get_the_documented_answer(
        tokens in tokens(),
        which in any::<Index>(),
        window in window(),
        now in now(),
        sign in proptest::option::of(raw_sign()),
        time in proptest::option::of(raw_time()),
        signed in any::<bool>(),
    ) {
        // Half the time, sign the digits sent with a configured token (the time may be malformed).
        let sign = match (&time, signed) {
            (Some(time), true) => Some(hex_sha256(which.get::<String>(&tokens), time)),
            _ => sign,
        };
        let v = verifier(&tokens, window);
        prop_assert_eq!(
            v.verify(sign.as_deref(), time.as_deref(), at(now)),
            model(&tokens, window, sign.as_deref(), time.as_deref(), now)
        );
    }

    /// One verifier (and its clone) answering a run of requests, with times repeated so that its
    /// cache of digests is hit and missed, answers each as the spec does.
    #[test]
    fn the_digest_cache_never_changes_a_verdict(
        tokens in tokens(),
        others in vec(token(), 1..3),
        window in window(),
        now in now(),
        requests in vec((any::<Index>(), any::<bool>(), 0u64..4, any::<bool>(), any::<bool>()), 1..24),
    ) {
        let v = verifier(&tokens, window);
        let clone = v.clone();
        let times = [now, now.saturating_sub(1), now + window, now + window + 1];
        for (i, (which, configured, time, padded, use_clone)) in requests.into_iter().enumerate() {
            let token = if configured { which.get::<String>(&tokens) } else { which.get::<String>(&others) };
            let digits = times[usize::try_from(time).unwrap()].to_string();
            let digits = if padded { format!("0{digits}") } else { digits };
            let sig = hex_sha256(token, &digits);
            let verifier = if use_clone { &clone } else { &v };
            prop_assert_eq!(
                verifier.verify(Some(&sig), Some(&digits), at(now)),
                model(&tokens, window, Some(&sig), Some(&digits), now),
                "request {}", i
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query strings through `construct_event`
// ---------------------------------------------------------------------------------------------

const APP: u64 = 1_400_000_000;
const OPEN_APP: u64 = 1_400_000_001;
const NOW: u64 = 1_700_000_000;
const PARAMS: [&str; 7] = [
    "SdkAppid",
    "CallbackCommand",
    "contenttype",
    "ClientIP",
    "OptPlatform",
    "Sign",
    "RequestTime",
];

/// An endpoint with a signed app (these tokens) and an app whose signature check is off.
fn endpoint(tokens: &[String]) -> WebhookConfig {
    let mut builder = WebhookConfig::builder(APP);
    for token in tokens {
        builder = builder.token(token.as_str());
    }
    builder
        .app(OPEN_APP)
        .without_signature_check()
        .clock(|| at(NOW))
        .build()
        .unwrap()
}

/// Long, distinctive tokens: one showing in a message would be a leak, not a coincidence. Not
/// beginning or ending with a space, which the configuration refuses.
fn secret_tokens() -> BoxedStrategy<Vec<String>> {
    vec(re("[!-~][ -~]{14,38}[!-~]"), 1..=3).boxed()
}

/// Bytes percent-encoded, in either case, with a malformed escape now and then.
fn percent_encoded() -> BoxedStrategy<String> {
    let byte = prop_oneof![
        8 => (any::<u8>(), any::<bool>()).prop_map(|(b, up)| {
            if up { format!("%{b:02X}") } else { format!("%{b:02x}") }
        }),
        2 => re("[a-zA-Z0-9+&=]"),
        1 => select(vec!["%", "%4", "%G0", "%%", "%zz", "%0"]).prop_map(str::to_owned),
    ];
    vec(byte, 0..24).prop_map(|parts| parts.concat()).boxed()
}

/// Arbitrary bytes as a query string can carry them unencoded (invalid UTF-8 replaced).
fn raw_bytes() -> BoxedStrategy<String> {
    vec(any::<u8>(), 0..48)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
        .boxed()
}

fn param_key() -> BoxedStrategy<String> {
    prop_oneof![
        8 => select(PARAMS.to_vec()).prop_map(str::to_owned),
        2 => select(vec![
            "sdkappid", "SIGN", "requesttime", "Sign ", " Sign", "Si%67n", "%53ign", "Sign%00",
            "Request+Time", "Callback%43ommand", "", "=", "%3D", "&",
        ])
        .prop_map(str::to_owned),
        1 => any_text(),
        1 => percent_encoded(),
        1 => raw_bytes(),
    ]
    .boxed()
}

fn param_value(tokens: &[String]) -> BoxedStrategy<String> {
    let signs: Vec<String> = tokens
        .iter()
        .flat_map(|t| {
            [
                sign(t, NOW),
                sign(t, NOW - 60),
                sign(t, NOW + 61),
                sign(t, NOW).to_ascii_uppercase(),
            ]
        })
        .collect();
    let commands: Vec<String> = Command::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .chain(["Group.CallbackFuture".to_owned(), "%20".to_owned()])
        .collect();
    prop_oneof![
        2 => Just(String::new()),
        2 => select(vec![
            APP.to_string(), OPEN_APP.to_string(), "1400000002".into(), "%2B1400000000".into(),
            "-1".into(), "18446744073709551616".into(), "1400000000%20".into(), "0x5".into(),
        ]),
        2 => select(commands),
        2 => select(signs),
        2 => select(vec![
            NOW.to_string(), (NOW - 60).to_string(), (NOW + 61).to_string(), format!("0{NOW}"),
            "0".into(), u64::MAX.to_string(), "%2B1700000000".into(), "1.7e9".into(),
        ]),
        2 => any_text(),
        2 => percent_encoded(),
        1 => raw_bytes(),
        1 => any_text().prop_map(|t| form_urlencoded::byte_serialize(t.as_bytes()).collect()),
        1 => (re("[a-zA-Z0-9%+&=]"), 1_000usize..100_000).prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

/// One `&`-separated part of a query: `key=value`, a bare key, or nothing.
fn part(tokens: &[String]) -> BoxedStrategy<String> {
    prop_oneof![
        6 => (param_key(), param_value(tokens)).prop_map(|(k, v)| format!("{k}={v}")),
        1 => param_key(),
        1 => Just(String::new()),
    ]
    .boxed()
}

/// A query as Tencent sends it, signed with one of the tokens (or for the open app), at a time
/// in or near the window.
fn signed_parts(tokens: &[String]) -> BoxedStrategy<Vec<String>> {
    (
        select(tokens.to_vec()),
        prop_oneof![Just(APP), Just(OPEN_APP)],
        select(Command::ALL.to_vec()),
        NOW - 90..NOW + 90,
    )
        .prop_map(|(token, app, cmd, t)| {
            vec![
                format!("SdkAppid={app}"),
                format!("CallbackCommand={cmd}"),
                "contenttype=json".to_owned(),
                "ClientIP=127.0.0.1".to_owned(),
                "OptPlatform=RESTAPI".to_owned(),
                format!("Sign={}", sign(&token, t)),
                format!("RequestTime={t}"),
            ]
        })
        .boxed()
}

/// The parts of a query: arbitrary ones, or a signed query with arbitrary parts mixed in (which
/// may repeat a parameter), in any order.
fn query_parts(tokens: &[String]) -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        vec(part(tokens), 0..10),
        (signed_parts(tokens), vec(part(tokens), 0..4))
            .prop_map(|(mut signed, more)| {
                signed.extend(more);
                signed
            })
            .prop_shuffle(),
    ]
    .boxed()
}

fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => select(Command::ALL.to_vec()).prop_map(|c| test_util::sample(c).as_bytes().to_vec()),
        1 => Just(b"{}".to_vec()),
        1 => Just(Vec::new()),
        1 => vec(any::<u8>(), 0..64),
        1 => any_text().prop_map(String::into_bytes),
        1 => any_text().prop_map(|t| format!("{{\"CallbackCommand\":{}}}", Value::from(t)).into_bytes()),
    ]
    .boxed()
}

/// What the request itself carries, raw and decoded: a token found in there may be echoed back
/// without being a leak.
fn carried(query: &str, body: &[u8]) -> Vec<String> {
    let mut texts = vec![query.to_owned(), String::from_utf8_lossy(body).into_owned()];
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        texts.push(k.into_owned());
        texts.push(v.into_owned());
    }
    texts
}

/// The value of a known parameter as the crate reads it: decoded, an empty value absent.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .next_back()
}

/// `items` in an order drawn from `seed` (a small xorshift).
fn shuffled<T>(mut items: Vec<T>, mut seed: u64) -> Vec<T> {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
    items
}

/// Every byte percent-encoded, in either case.
fn encode_all(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn check_query(tokens: &[String], query: &str, body: &[u8]) -> TestCaseResult {
    let config = endpoint(tokens);
    match construct_event(&config, query, body) {
        Err(rejection) => {
            let status = rejection.status().as_u16();
            prop_assert!(matches!(status, 400 | 401 | 403), "status {}", status);
            let carried = carried(query, body);
            let debug = format!("{rejection:?}");
            for token in tokens {
                if carried.iter().any(|c| c.contains(token.as_str())) {
                    continue;
                }
                prop_assert!(
                    !rejection.message().contains(token.as_str()),
                    "{}",
                    rejection
                );
                prop_assert!(!debug.contains(token.as_str()), "{}", debug);
            }
        }
        Ok(_) => {
            // Accepted: the open app, or a right and fresh signature for the signed app (the
            // console check, naming no app, too).
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let app = param(&pairs, "SdkAppid").and_then(|a| a.parse::<u64>().ok());
            if app != Some(OPEN_APP) {
                prop_assert_eq!(app.unwrap_or(APP), APP);
                let verdict = model(
                    tokens,
                    60,
                    param(&pairs, "Sign"),
                    param(&pairs, "RequestTime"),
                    NOW,
                );
                prop_assert!(verdict.is_ok(), "accepted with {:?}", verdict);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary query strings never panic the parser, a rejection never shows a token the
    /// request did not carry, and only an authenticated request is accepted.
    #[test]
    fn arbitrary_queries_never_panic_nor_show_a_token(
        (tokens, query, body) in secret_tokens()
            .prop_flat_map(|t| (Just(t.clone()), vec(part(&t), 0..12).prop_map(|p| p.join("&")), body())),
    ) {
        check_query(&tokens, &query, &body)?;
    }

    /// The same for arbitrary text and bytes as the whole query.
    #[test]
    fn arbitrary_text_as_a_query_never_panics(
        tokens in secret_tokens(),
        query in prop_oneof![any_text(), raw_bytes(), percent_encoded()],
        body in body(),
    ) {
        check_query(&tokens, &query, &body)?;
    }

    /// A signed, fresh query with a sample body is accepted however it is written: with unknown
    /// parameters mixed in, in any order, any key or value percent-encoded.
    #[test]
    fn a_signed_fresh_query_is_accepted_however_it_is_written(
        tokens in secret_tokens(),
        which in any::<Index>(),
        signed_app in any::<bool>(),
        cmd in select(Command::ALL.to_vec()),
        offset in -60i64..=60,
        encodings in vec((any::<bool>(), any::<bool>(), any::<bool>()), 7),
        noise in vec(
            (any_text(), any_text()).prop_filter("a known parameter", |(k, _)| !PARAMS.contains(&k.as_str())),
            0..4,
        ),
        order in any::<u64>(),
    ) {
        let t = NOW.checked_add_signed(offset).unwrap();
        let app = if signed_app { APP } else { OPEN_APP };
        let pairs = [
            ("SdkAppid", app.to_string()),
            ("CallbackCommand", cmd.as_str().to_owned()),
            ("contenttype", "json".to_owned()),
            ("ClientIP", "127.0.0.1".to_owned()),
            ("OptPlatform", "RESTAPI".to_owned()),
            ("Sign", sign(which.get::<String>(&tokens), t)),
            ("RequestTime", t.to_string()),
        ];
        let mut parts: Vec<String> = pairs
            .iter()
            .zip(&encodings)
            .map(|((k, v), &(key, value, upper))| {
                let k = if key { encode_all(k, upper) } else { (*k).to_owned() };
                let v = if value { encode_all(v, upper) } else { v.clone() };
                format!("{k}={v}")
            })
            .collect();
        parts.extend(noise.iter().map(|(k, v)| {
            let k: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
            let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={v}")
        }));
        let query = shuffled(parts, order).join("&");
        let body = test_util::sample(cmd).as_bytes();
        let want = Event::parse(cmd.as_str(), body).unwrap();
        prop_assert_eq!(construct_event(&endpoint(&tokens), &query, body), Ok(want), "{}", query);
    }

    /// Signed queries with arbitrary parts mixed in: the checks above hold, and parameters are
    /// read by name, so their order never changes the verdict.
    #[test]
    fn the_order_of_parameters_never_changes_the_verdict(
        (tokens, parts, order, body) in secret_tokens().prop_flat_map(|t| {
            let parts = query_parts(&t);
            (Just(t), parts, any::<u64>(), body())
        }),
    ) {
        let query = parts.join("&");
        check_query(&tokens, &query, &body)?;
        let reordered = shuffled(parts, order).join("&");
        let config = endpoint(&tokens);
        prop_assert_eq!(
            construct_event(&config, &query, &body).map_err(|r| r.kind()),
            construct_event(&config, &reordered, &body).map_err(|r| r.kind()),
            "{} against {}", query, reordered
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/// Every `MsgBody` element of every fixture.
fn sample_elements() -> Vec<Value> {
    fn walk(v: &Value, key: Option<&str>, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => {
                if key == Some("MsgBody") {
                    out.extend(items.iter().cloned());
                }
                for item in items {
                    walk(item, None, out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, Some(k), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for &cmd in Command::ALL {
        walk(&sample_value(cmd), None, &mut out);
    }
    out
}

fn msg_element() -> BoxedStrategy<MsgElement> {
    let samples = sample_elements();
    assert!(!samples.is_empty());
    prop_oneof![
        any_text().prop_map(MsgElement::text),
        select(samples).prop_map(|v| serde_json::from_value(v).unwrap()),
        unknown_element().prop_map(|(json, _)| serde_json::from_str(&json).unwrap()),
    ]
    .boxed()
}

fn code_in<C: CustomCode>(new: fn(u32) -> Option<C>) -> BoxedStrategy<C> {
    (C::MIN..=C::MAX).prop_map(move |c| new(c).unwrap()).boxed()
}

fn send_decision<C: CustomCode>(code: BoxedStrategy<C>) -> BoxedStrategy<SendDecision<C>> {
    prop_oneof![
        Just(SendDecision::Allow),
        Just(SendDecision::Deny),
        Just(SendDecision::Drop),
        (code, any_text()).prop_map(|(c, m)| SendDecision::deny_with(c, m)),
        (
            proptest::option::of(vec(msg_element(), 0..4)),
            proptest::option::of(any_text())
        )
            .prop_map(|(msg_body, cloud_custom_data)| SendDecision::Rewrite {
                msg_body,
                cloud_custom_data
            }),
    ]
    .boxed()
}

fn gate_decision<C: CustomCode>(code: BoxedStrategy<C>) -> BoxedStrategy<GateDecision<C>> {
    prop_oneof![
        Just(GateDecision::Allow),
        Just(GateDecision::Deny),
        (code, any_text()).prop_map(|(c, m)| GateDecision::deny_with(c, m)),
    ]
    .boxed()
}

fn users() -> BoxedStrategy<Vec<ImStr>> {
    vec(any_text().prop_map(ImStr::from), 0..5).boxed()
}

/// The reply reads back from its JSON as it was.
fn reads_back(reply: &Reply) -> TestCaseResult {
    let json = reply.to_json();
    let back = Reply::from_json(json.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&back, reply, "{}", json);
    Ok(())
}

fn check_send<C: CustomCode>(d: SendDecision<C>) -> TestCaseResult {
    let reply = Reply::from(d.clone());
    prop_assert_eq!(reply.action_status(), ActionStatus::Ok);
    match &d {
        SendDecision::Allow => prop_assert_eq!(reply.error_code(), 0),
        SendDecision::Deny => prop_assert_eq!(reply.error_code(), 1),
        SendDecision::Drop => prop_assert_eq!(reply.error_code(), 2),
        SendDecision::DenyWithCode { code, message } => {
            prop_assert_eq!(reply.error_code(), code.get());
            prop_assert_eq!(reply.error_info(), message.as_str());
        }
        SendDecision::Rewrite {
            msg_body,
            cloud_custom_data,
        } => {
            prop_assert_eq!(reply.error_code(), 0);
            prop_assert_eq!(reply.msg_body(), msg_body.as_deref());
            prop_assert_eq!(reply.cloud_custom_data(), cloud_custom_data.as_deref());
        }
        _ => {}
    }
    reads_back(&reply)
}

fn check_gate<C: CustomCode>(d: GateDecision<C>) -> TestCaseResult {
    let reply = Reply::from(d.clone());
    prop_assert_eq!(reply.action_status(), ActionStatus::Ok);
    match &d {
        GateDecision::Allow => prop_assert_eq!(reply.error_code(), 0),
        GateDecision::Deny => prop_assert_eq!(reply.error_code(), 1),
        GateDecision::DenyWithCode { code, message } => {
            prop_assert_eq!(reply.error_code(), code.get());
            prop_assert_eq!(reply.error_info(), message.as_str());
        }
        _ => {}
    }
    reads_back(&reply)
}

/// Outside its range a code cannot be built; inside it, it is that code.
fn check_range<C: CustomCode + PartialEq>(
    code: u32,
    new: fn(u32) -> Option<C>,
    try_from: fn(u32) -> Result<C, CodeOutOfRange>,
) -> TestCaseResult {
    let inside = (C::MIN..=C::MAX).contains(&code);
    prop_assert_eq!(new(code).map(CustomCode::get), inside.then_some(code));
    match try_from(code) {
        Ok(c) => prop_assert!(inside && c.get() == code),
        Err(e) => {
            prop_assert!(!inside);
            prop_assert_eq!(e.code(), code);
            prop_assert_eq!(
                e.to_string(),
                format!(
                    "custom error code {code} is outside [{}, {}]",
                    C::MIN,
                    C::MAX
                )
            );
        }
    }
    Ok(())
}

fn near_the_edges() -> BoxedStrategy<u32> {
    let edges: Vec<u32> = [
        CustomErrorCode::MIN,
        CustomErrorCode::MAX,
        GroupErrorCode::MIN,
        GroupErrorCode::MAX,
        FriendErrorCode::MIN,
        FriendErrorCode::MAX,
    ]
    .into_iter()
    .collect();
    prop_oneof![
        any::<u32>(),
        Just(0u32),
        Just(u32::MAX),
        (select(edges), -3i64..=3)
            .prop_map(|(edge, d)| u32::try_from(i64::from(edge) + d).unwrap()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(cases(256))]

    /// `SendMsgDecision` of one-to-one and Official Account messages ([120001, 130000]) and of
    /// group messages ([10100, 10200]).
    #[test]
    fn send_decisions_read_back(
        custom in send_decision(code_in(CustomErrorCode::new)),
        group in send_decision(code_in(GroupErrorCode::new)),
    ) {
        check_send(custom)?;
        check_send(group)?;
    }

    /// `CreateDecision` ([120001, 130000]); `CreateDecision`,
    /// `ApplyJoinDecision`, `CreateTopicDecision` ([10100, 10200]).
    #[test]
    fn gate_decisions_read_back(
        custom in gate_decision(code_in(CustomErrorCode::new)),
        group in gate_decision(code_in(GroupErrorCode::new)),
    ) {
        check_gate(custom)?;
        check_gate(group)?;
    }

    #[test]
    fn invite_decisions_read_back(
        d in prop_oneof![
            Just(InviteDecision::AllowAll),
            users().prop_map(InviteDecision::Refuse),
            Just(InviteDecision::Reject),
            (code_in(GroupErrorCode::new), any_text()).prop_map(|(c, m)| InviteDecision::reject_with(c, m)),
        ],
    ) {
        let reply = Reply::from(d.clone());
        match &d {
            InviteDecision::Refuse(users) if !users.is_empty() => {
                prop_assert_eq!(reply.refused_members(), Some(users.as_slice()));
            }
            InviteDecision::RejectWithCode { code, message } => {
                prop_assert_eq!(reply.error_code(), code.get());
                prop_assert_eq!(reply.error_info(), message.as_str());
            }
            _ => prop_assert_eq!(reply.refused_members(), None),
        }
        reads_back(&reply)?;
    }

    #[test]
    fn add_subscriber_decisions_read_back(
        d in prop_oneof![
            Just(AddSubscriberDecision::AllowAll),
            users().prop_map(AddSubscriberDecision::Refuse),
            Just(AddSubscriberDecision::Reject),
        ],
    ) {
        let reply = Reply::from(d.clone());
        match &d {
            AddSubscriberDecision::Refuse(users) if !users.is_empty() => {
                prop_assert_eq!(reply.refused_subscribers(), Some(users.as_slice()));
            }
            AddSubscriberDecision::Reject => prop_assert_eq!(reply.error_code(), 1),
            _ => prop_assert_eq!(reply.refused_subscribers(), None),
        }
        reads_back(&reply)?;
    }

    /// A friend decision answers every target of the request, in order: refused ones with their
    /// code ([38000, 39000]) and message, the rest with 0.
    #[test]
    fn friend_decisions_read_back(
        targets in users(),
        refusals in vec((any_text(), code_in(FriendErrorCode::new), any_text()), 0..5),
        refuse_targets in vec((any::<Index>(), code_in(FriendErrorCode::new), any_text()), 0..3),
    ) {
        let mut d = FriendDecision::allow_all();
        for (account, code, message) in refusals {
            d = d.refuse(account, code, message);
        }
        if !targets.is_empty() {
            for (which, code, message) in refuse_targets {
                d = d.refuse(which.get::<ImStr>(&targets).clone(), code, message);
            }
        }
        let reply = d.clone().into_reply(targets.iter().map(ImStr::as_str));
        let items = reply.result_items().unwrap_or_default();
        prop_assert_eq!(items.len(), targets.len());
        for (item, target) in items.iter().zip(&targets) {
            prop_assert_eq!(&item.to_account, target);
            let (code, info) = d.refusal(target).map_or((0, ""), |(c, m)| (c.get(), m));
            prop_assert_eq!((item.result_code, item.result_info.as_str()), (code, info));
        }
        reads_back(&reply)?;
    }

    /// Any reply built by hand (the chatbot signal's, an unknown command's): any status, code,
    /// message and extra fields.
    #[test]
    fn hand_built_replies_read_back(
        fail in any::<bool>(),
        code in any::<u32>(),
        info in any_text(),
        fields in btree_map(extra_key(), any_json(), 0..4),
    ) {
        let mut reply = if fail { Reply::fail(code, info) } else { Reply::ok().with_error_code(code).with_error_info(info) };
        for (k, v) in fields {
            reply = reply.with_field(k, v);
        }
        reads_back(&reply)?;
    }

    #[test]
    fn codes_outside_each_range_cannot_be_built(code in near_the_edges()) {
        check_range(code, CustomErrorCode::new, CustomErrorCode::try_from)?;
        check_range(code, GroupErrorCode::new, GroupErrorCode::try_from)?;
        check_range(code, FriendErrorCode::new, FriendErrorCode::try_from)?;
    }
}
