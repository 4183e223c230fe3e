#![allow(unreachable_pub)]

use serde_json::json;

use super::wire_struct;

wire_struct! {
    /// A struct for the tests.
    pub struct Probe {
        /// Required.
        pub name: String => "Name",
        /// Optional number.
        pub count: Option<u64> => "Count",
        /// Required list.
        pub items: Vec<u32> => "Items",
        /// Float.
        pub lat: Option<f64> => "Lat",
        /// Flag.
        pub on: Option<bool> => "On",
        /// Three spellings of a key.
        pub id: Option<String> => "Id" | "ID" | "id",
        /// An open enum with legacy names.
        pub kind: Option<crate::GroupType> => "Type",
        /// A signed number.
        pub code: Option<i64> => "Code",
    }
}

fn probe(json: &serde_json::Value) -> Probe {
    serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn every_spelling_is_written_back_as_it_came() {
    // Each case is a Probe: `Name` and `Items` are added where the case has none.
    let cases = [
        (
            "canonical",
            json!({"Items": [1], "Count": 7, "Lat": 1.5, "On": true}),
        ),
        ("a number as a string", json!({"Count": "7"})),
        ("a negative number as a string", json!({"Code": "-7"})),
        (
            "u64::MAX as a string",
            json!({"Count": "18446744073709551615"}),
        ),
        (
            "items as strings and numbers",
            json!({"Items": ["2", 3, "4"]}),
        ),
        ("a float as a string", json!({"Lat": "29.340656774469956"})),
        ("a float as an integer", json!({"Lat": 29})),
        ("a float as a negative integer", json!({"Lat": -116})),
        ("a float with an exponent", json!({"Lat": 1.5e300})),
        ("a flag as a number", json!({"On": 0})),
        ("a padded flag", json!({"On": "0 "})),
        ("a padded number", json!({"Count": " 7 "})),
        (
            "a number with leading zeros",
            json!({"Items": ["007"], "Count": "+7"}),
        ),
        ("minus zero", json!({"Code": "-0"})),
        ("a float as a long string", json!({"Lat": "1.50"})),
        (
            "a float as a string with an exponent",
            json!({"Lat": "1e3"}),
        ),
        (
            "an integer beyond 2^53 for a float",
            json!({"Lat": 9007199254740993u64}),
        ),
        (
            "u64::MAX - 1 for a float",
            json!({"Lat": 18446744073709551614u64}),
        ),
        ("u64::MAX for a float", json!({"Lat": u64::MAX})),
        ("i64::MIN + 1 for a float", json!({"Lat": i64::MIN + 1})),
        ("a second key spelling", json!({"ID": "x"})),
        ("a third key spelling", json!({"id": "x"})),
        ("a legacy name", json!({"Type": "Private"})),
        ("another legacy name", json!({"Type": "ChatRoom"})),
        ("an unknown name", json!({"Type": "Future"})),
        ("null", json!({"Count": null, "Type": null, "On": null})),
        (
            "everything at once",
            json!({"Items": ["1"], "Count": "7", "Lat": 2, "On": "true", "id": "x",
                "Type": "Private", "Code": null, "Future": [1, "2"]}),
        ),
    ];
    for (name, mut sent) in cases {
        let map = sent.as_object_mut().unwrap();
        map.entry("Name").or_insert(json!("a"));
        map.entry("Items").or_insert(json!([]));
        let p = probe(&sent);
        let written = serde_json::to_value(&p).unwrap();
        assert_eq!(written, sent, "{name}");
        assert_eq!(probe(&written), p, "{name}: round trip");
    }
}

#[test]
fn equality_and_the_canonical_form_ignore_spelling() {
    let spelled = probe(&json!({"Name": "a", "Items": ["1"], "Count": "7", "Lat": 2,
        "On": "1", "ID": "x", "Type": "Private", "Code": null}));
    let canonical = json!({"Name": "a", "Items": [1], "Count": 7, "Lat": 2.0, "On": true,
        "Id": "x", "Type": "Work"});
    assert_eq!(
        spelled,
        probe(&canonical),
        "the same values, spelled otherwise"
    );
    let written = super::canonical(|| serde_json::to_value(&spelled).unwrap());
    assert_eq!(written, canonical);
    assert_eq!(written["Lat"].as_f64(), Some(2.0));
    assert!(written["Lat"].is_f64(), "a float, written as one");
    // And only inside `canonical`: the spelling is back afterwards.
    assert_eq!(serde_json::to_value(&spelled).unwrap()["Count"], "7");
}

#[test]
fn a_changed_field_keeps_its_spelling_where_it_still_applies() {
    use crate::GroupType;
    let mut p = probe(&json!({"Name": "a", "Items": [], "Type": "Private", "Count": "7"}));
    p.count = Some(8);
    p.kind = Some(GroupType::Meeting);
    let written = serde_json::to_value(&p).unwrap();
    assert_eq!(written["Count"], "8", "still a string");
    assert_eq!(
        written["Type"], "Meeting",
        "`Private` names Work, not Meeting"
    );
    p.kind = Some(GroupType::Work);
    assert_eq!(serde_json::to_value(&p).unwrap()["Type"], "Private");
    p.count = None;
    assert!(serde_json::to_value(&p).unwrap().get("Count").is_none());

    // A kept text is written while it reads as the value; otherwise the value, still quoted.
    let mut p = probe(
        &json!({"Name": "a", "Items": [], "Count": " 7", "Lat": "1.50",
        "On": " true", "Code": 9007199254740993u64}),
    );
    let written = serde_json::to_value(&p).unwrap();
    assert_eq!(
        (&written["Count"], &written["Lat"], &written["On"]),
        (&json!(" 7"), &json!("1.50"), &json!(" true"))
    );
    p.count = Some(8);
    p.lat = Some(2.5);
    p.on = Some(false);
    let written = serde_json::to_value(&p).unwrap();
    assert_eq!(
        (&written["Count"], &written["Lat"], &written["On"]),
        (&json!("8"), &json!("2.5"), &json!("false"))
    );
}

#[test]
fn structs_with_nothing_to_remember_carry_no_memo() {
    use std::mem::size_of;
    let one_text = size_of::<crate::protocol::imstr::ImStr>() + size_of::<crate::Extra>();
    assert_eq!(size_of::<crate::common::Member>(), one_text);
    assert_eq!(size_of::<crate::message::TextElem>(), one_text);
    assert_eq!(
        size_of::<crate::message::MsgElement>(),
        80,
        "as the message module documents"
    );
    assert_eq!(size_of::<super::WireMemo>(), 16);
    assert_eq!(
        size_of::<crate::group::RecalledMsg>(),
        size_of::<u64>() + size_of::<crate::Extra>() + 16,
        "a number can come as a string"
    );
}

#[test]
fn the_memo_allocates_nothing_for_up_to_four_spellings() {
    let canonical = probe(&json!({"Name": "a", "Items": [1], "Count": 7}));
    assert!(canonical.memo.is_empty());
    let four = probe(&json!({"Name": "a", "Items": [], "Count": "7", "ID": "x",
        "Type": "Private", "On": 1}));
    assert!(!four.memo.is_empty());
    assert!(four.memo.spilled.is_none(), "four fields fit inline");
    let five = probe(&json!({"Name": "a", "Items": [], "Count": "7", "ID": "x",
        "Type": "Private", "On": 1, "Code": "1"}));
    assert!(five.memo.spilled.is_some());
    let item = probe(&json!({"Name": "a", "Items": ["1"]}));
    assert!(item.memo.spilled.is_some(), "items of lists are spilled");
    // An alias key and a quoted value of one field are one entry.
    let both = probe(
        &json!({"Name": "a", "Items": [], "ID": "x", "Count": "1", "On": 1,
        "Type": "Private"}),
    );
    assert!(both.memo.spilled.is_none());
    assert_eq!(
        serde_json::to_value(&both).unwrap(),
        json!({"Name": "a", "Items": [], "ID": "x", "Count": "1", "On": 1, "Type": "Private"})
    );
}

#[test]
fn reads_flags_from_booleans_numbers_and_strings() {
    // (name, the value of `On`, read as, written back as)
    let cases = [
        ("true", "true", Some(true), json!(true)),
        ("false", "false", Some(false), json!(false)),
        ("string false", r#""false""#, Some(false), json!("false")),
        (
            "string true, padded",
            r#"" true ""#,
            Some(true),
            json!(" true "),
        ),
        ("one", "1", Some(true), json!(1)),
        ("string zero", r#""0""#, Some(false), json!("0")),
        ("null", "null", None, json!(null)),
    ];
    for (name, on, want, back) in cases {
        let input = format!(r#"{{"Name":"a","Items":[],"On":{on}}}"#);
        let p: Probe = serde_json::from_str(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.on, want, "{name}");
        // Written back in the form it came in.
        let written = serde_json::to_value(&p).unwrap();
        assert_eq!(written["On"], back, "{name}");
        // The canonical form is a JSON boolean, whatever form it came in.
        let canonical = super::canonical(|| serde_json::to_value(&p).unwrap());
        assert_eq!(
            canonical.get("On").and_then(|v| v.as_bool()),
            want,
            "{name}"
        );
    }
    for (name, input) in [
        ("two", r#"{"Name":"a","Items":[],"On":2}"#),
        ("minus one", r#"{"Name":"a","Items":[],"On":-1}"#),
        ("yes", r#"{"Name":"a","Items":[],"On":"yes"}"#),
        ("float", r#"{"Name":"a","Items":[],"On":1.0}"#),
        ("array", r#"{"Name":"a","Items":[],"On":[true]}"#),
    ] {
        let err = serde_json::from_str::<Probe>(input)
            .expect_err(name)
            .to_string();
        assert!(err.contains("a boolean, 0 or 1"), "{name}: {err}");
    }
}

#[test]
fn reads_numbers_from_numbers_and_strings() {
    let cases = [
        ("number", r#"{"Name":"a","Count":7,"Items":[1]}"#, Some(7)),
        ("string", r#"{"Name":"a","Count":"7","Items":[1]}"#, Some(7)),
        (
            "padded string",
            r#"{"Name":"a","Count":" 7 ","Items":[1]}"#,
            Some(7),
        ),
        ("null", r#"{"Name":"a","Count":null,"Items":[1]}"#, None),
        ("absent", r#"{"Name":"a","Items":[1]}"#, None),
    ];
    for (name, input, want) in cases {
        let p: Probe = serde_json::from_str(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.count, want, "{name}");
    }
    let p: Probe = serde_json::from_str(r#"{"Name":"a","Items":["2",3],"Lat":"1.5"}"#).unwrap();
    assert_eq!(p.items, vec![2, 3]);
    assert_eq!(p.lat, Some(1.5));
}

#[test]
fn rejects_what_cannot_be_read_without_loss() {
    let cases = [
        (
            "missing required",
            r#"{"Items":[]}"#,
            "missing field `Name`",
        ),
        (
            "negative into unsigned",
            r#"{"Name":"a","Items":[-1]}"#,
            "invalid value",
        ),
        (
            "non-numeric string",
            r#"{"Name":"a","Items":["x"]}"#,
            "invalid value",
        ),
        (
            "fraction into integer",
            r#"{"Name":"a","Items":[1.5]}"#,
            "invalid type",
        ),
        (
            "duplicate known",
            r#"{"Name":"a","Name":"b","Items":[]}"#,
            "duplicate field `Name`",
        ),
        (
            "duplicate unknown",
            r#"{"Name":"a","X":1,"X":2,"Items":[]}"#,
            "duplicate field `X`",
        ),
        (
            "overflow u32",
            r#"{"Name":"a","Items":[4294967296]}"#,
            "invalid value",
        ),
        (
            "infinite float string",
            r#"{"Name":"a","Items":[],"Lat":"inf"}"#,
            "invalid value",
        ),
    ];
    for (name, input, want) in cases {
        let err = serde_json::from_str::<Probe>(input)
            .expect_err(name)
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn keeps_unknown_keys_and_writes_them_back() {
    let input = json!({"Name": "a", "Items": [1], "Future": {"x": [1, 2]}, "Flag": true});
    let p: Probe = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(p.extra.value("Future"), Some(json!({"x": [1, 2]})));
    assert_eq!(serde_json::to_value(&p).unwrap(), input);
}

#[test]
fn absent_options_stay_absent_when_written() {
    let p: Probe = serde_json::from_str(r#"{"Name":"a","Items":[]}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"Name":"a","Items":[]}"#
    );
}
