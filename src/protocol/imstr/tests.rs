use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;

use super::*;

/// Texts of every length around the inline limits, escapes and multi-byte characters.
fn texts() -> Vec<String> {
    let mut all: Vec<String> = (0..=40).map(|n| "x".repeat(n)).collect();
    all.extend(
        [
            "@TGS#2J4SZEAEL",
            "48374_2837546_1557481126",
            "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
            "中文消息",
            "emoji 😀 and \"quotes\" and \\ and \n",
            "\u{0}",
        ]
        .map(String::from),
    );
    all
}

#[test]
fn is_its_text_by_every_conversion() {
    for text in texts() {
        let made = [
            ("from &str", ImStr::from(text.as_str())),
            ("from String", ImStr::from(text.clone())),
            ("from Box<str>", ImStr::from(text.clone().into_boxed_str())),
            ("from Cow", ImStr::from(Cow::Borrowed(text.as_str()))),
            ("parsed", text.parse().unwrap()),
            ("cloned", ImStr::from(text.as_str()).clone()),
            ("detached", ImStr::from(text.as_str()).detached()),
        ];
        for (name, s) in made {
            assert_eq!(s.as_str(), text, "{name}");
            assert_eq!(&*s, text, "{name}");
            assert_eq!(s.len(), text.len(), "{name}");
            assert_eq!(s.to_string(), text, "{name}: Display");
            assert_eq!(format!("{s:?}"), format!("{text:?}"), "{name}: Debug");
            assert_eq!(String::from(s.clone()), text, "{name}: into String");
            assert_eq!(s.into_string(), text, "{name}: into_string");
        }
    }
}

#[test]
fn compares_with_every_string_type_both_ways() {
    /// `a == b` through the impl for exactly these types.
    fn eq<A: PartialEq<B> + ?Sized, B: ?Sized>(a: &A, b: &B) -> bool {
        a == b
    }
    let s = ImStr::from("jared");
    for (other, want) in [
        ("jared", true),
        ("John", false),
        ("jare", false),
        ("", false),
    ] {
        let string = other.to_owned();
        let cow: Cow<'_, str> = Cow::Borrowed(other);
        let results = [
            ("str", eq(&s, other), eq(other, &s)),
            ("&str", eq(&s, &other), eq(&other, &s)),
            ("String", eq(&s, &string), eq(&string, &s)),
            ("Cow", eq(&s, &cow), eq(&cow, &s)),
            (
                "ImStr",
                eq(&s, &ImStr::from(other)),
                eq(&ImStr::from(other), &s),
            ),
        ];
        for (name, left, right) in results {
            assert_eq!((left, right), (want, want), "{name} {other:?}");
        }
    }
    assert_eq!(ImStr::default(), "");
    assert_eq!(ImStr::new(), ImStr::from(String::new()));
    assert_eq!(ImStr::from_static("jared"), s);
}

#[test]
fn orders_and_hashes_as_its_str() {
    let hasher = std::collections::hash_map::RandomState::new();
    let all = texts();
    for a in &all {
        let ia = ImStr::from(a.as_str());
        assert_eq!(hasher.hash_one(&ia), hasher.hash_one(a.as_str()), "{a:?}");
        for b in &all {
            let ib = ImStr::from(b.as_str());
            assert_eq!(ia.cmp(&ib), a.as_str().cmp(b.as_str()), "{a:?} {b:?}");
            assert_eq!(ia == ib, a == b, "{a:?} {b:?}");
        }
    }
    let mut map: HashMap<ImStr, usize> = HashMap::new();
    for (i, t) in all.iter().enumerate() {
        map.insert(ImStr::from(t.as_str()), i);
    }
    for (i, t) in all.iter().enumerate() {
        assert_eq!(map.get(t.as_str()), Some(&i), "{t:?}");
    }
    let sorted: Vec<String> = all
        .iter()
        .map(|t| ImStr::from(t.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(String::from)
        .collect();
    let mut want = all.clone();
    want.sort();
    want.dedup();
    assert_eq!(sorted, want);
}

#[test]
fn reads_and_writes_json_strings() {
    for text in texts() {
        let json = serde_json::to_string(&text).unwrap();
        // Borrowed from the input (no escape), or unescaped into a buffer.
        let from_str: ImStr = serde_json::from_str(&json).unwrap();
        assert_eq!(from_str, text, "{json}");
        // From a reader: always copied.
        let from_reader: ImStr = serde_json::from_reader(json.as_bytes()).unwrap();
        assert_eq!(from_reader, text, "{json}");
        // From a `Value`: given as a `String`.
        let from_value: ImStr = serde_json::from_value(text.clone().into()).unwrap();
        assert_eq!(from_value, text, "{json}");
        assert_eq!(serde_json::to_string(&from_str).unwrap(), json);
    }
    for not_a_string in ["1", "null", "[]", "{}", "true"] {
        let err = serde_json::from_str::<ImStr>(not_a_string).unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }
}

/// Where each string of a parsed element lives: `true` when within `body`'s memory.
fn shares(body: &Bytes, text: &str) -> bool {
    within(std::str::from_utf8(body).unwrap(), text)
}

#[test]
fn strings_read_from_a_body_are_slices_of_it_unless_escaped() {
    use crate::message::CustomElem;
    let body = Bytes::from(
        r#"{"Desc":"plain text that is longer than twenty-four bytes","Data":"tab\there","Ext":"","Sound":"é\u00e9"}"#,
    );
    let elem: CustomElem = parse_shared(&body).expect("UTF-8").expect("JSON");
    let cases = [
        (
            "plain",
            &elem.desc,
            "plain text that is longer than twenty-four bytes",
            true,
        ),
        ("escaped", &elem.data, "tab\there", false),
        ("empty", &elem.ext, "", false),
        ("escaped after a character", &elem.sound, "éé", false),
    ];
    for (name, field, want, shared) in cases {
        let field = field.as_ref().expect(name);
        assert_eq!(field, want, "{name}");
        assert_eq!(shares(&body, field), shared, "{name}");
        // A detached copy holds on to nothing of the body.
        assert!(!shares(&body, &field.detached()), "{name}");
    }
    // The strings outlive the caller's handle on the body.
    let desc = elem.desc.clone().unwrap();
    drop((elem, body));
    assert_eq!(desc, "plain text that is longer than twenty-four bytes");
    // Nothing is lent once the parse is over.
    assert!(BODY.with_borrow(Option::is_none));
}

#[test]
fn an_event_parsed_from_the_request_buffer_shares_it_for_long_texts_only() {
    use crate::Event;
    use crate::protocol::command::Command;
    let command = Command::GroupBeforeSendMsg;
    let body = Bytes::from_static(command.sample().as_bytes());
    let from_buffer = Event::parse_as(Some(command), command.as_str(), &body).unwrap();
    let from_slice = Event::parse(command.as_str(), &body).unwrap();
    for (name, event, shared) in [("buffer", from_buffer, true), ("slice", from_slice, false)] {
        let Event::GroupBeforeSendMsg(e) = event else {
            panic!("{name}: another event")
        };
        let topic = e.topic_id.as_ref().unwrap();
        assert_eq!(topic, "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic");
        assert_eq!(shares(&body, topic), shared, "{name}: a long text");
        // Ids of up to 24 bytes are inline, from either: they keep no body alive.
        assert_eq!(e.group_id, "@TGS#2J4SZEAEL");
        assert!(!shares(&body, &e.group_id), "{name}: a short text");
    }
}

#[test]
fn no_field_of_any_event_is_a_string() {
    use crate::Event;
    use crate::protocol::command::Command;
    use crate::protocol::wire::schema::{self, Shape};
    let mut strings = Vec::new();
    let mut structs = 0;
    for &command in Command::ALL {
        let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
        let root = schema::of(&event).unwrap_or_else(|| panic!("{command}: no wire struct"));
        for info in schema::reachable(root) {
            structs += 1;
            for field in info.fields {
                if let Shape::Copied = (field.shape)() {
                    strings.push(format!("{}.{}", info.short_name(), field.key));
                }
            }
        }
    }
    assert!(structs > Command::ALL.len(), "nested structs are reached");
    assert!(strings.is_empty(), "String fields: {strings:?}");
}

#[test]
fn a_parse_of_other_memory_copies_even_while_a_body_is_lent() {
    #[derive(Debug)]
    struct Nested(ImStr, ImStr);
    impl<'de> Deserialize<'de> for Nested {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Nested, D::Error> {
            let outer = ImStr::deserialize(d)?;
            // The same text, in memory of its own, parsed while the body is lent.
            let copy = outer.to_string();
            let inner: ImStr = serde_json::from_str(&format!("{copy:?}")).unwrap();
            Ok(Nested(outer, inner))
        }
    }
    let body = Bytes::from(r#""a text of more than twenty-four bytes""#);
    let Nested(outer, inner) = parse_shared(&body).unwrap().unwrap();
    assert_eq!(outer, inner);
    assert!(shares(&body, &outer));
    assert!(!shares(&body, &inner));
}

#[test]
fn a_panicking_parse_lends_nothing_afterwards() {
    struct Boom;
    impl<'de> Deserialize<'de> for Boom {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Boom, D::Error> {
            ImStr::deserialize(d)?;
            assert!(BODY.with_borrow(Option::is_some));
            panic!("boom")
        }
    }
    let body = Bytes::from(r#""x""#);
    let caught = std::panic::catch_unwind(|| parse_shared::<Boom>(&body).map(|r| r.is_ok()));
    assert!(caught.is_err());
    assert!(BODY.with_borrow(Option::is_none));
}

#[test]
fn a_body_that_is_not_utf8_is_not_parsed_here() {
    let body = Bytes::from_static(b"\"\xff\"");
    assert!(parse_shared::<ImStr>(&body).is_none());
}

#[test]
fn costs_the_room_of_a_buffer() {
    // A `String` is 24 bytes; the inline text and the buffer share the room of a `Bytes`,
    // and an `Option` takes a word more (the tag used the buffer's only spare value).
    assert_eq!(size_of::<ImStr>(), size_of::<Bytes>());
    assert!(size_of::<Option<ImStr>>() <= size_of::<Bytes>() + size_of::<usize>());
}
