//! Inputs the fuzz targets under `fuzz/` found, kept as tests. Each names its target and the
//! crash file it was reduced from (kept in `fuzz/regressions/<target>/`).
//!
//! The float bug below was fixed by serde_json's `float_roundtrip` feature; the tests keep it
//! fixed.

use tencent_chat_webhook::Event;

/// Parses `body` as `command`, writes it back with `to_json`, parses that again, and checks that
/// the event, its JSON and its idempotency key are unchanged, as `Event` and
/// `Event::idempotency_key` document.
fn round_trip(command: &str, body: &[u8]) {
    let event = Event::parse(command, body).expect("the body parses");
    let json = event.to_json();
    let again = Event::parse(event.command_name(), json.as_bytes()).expect("its JSON parses");
    assert_eq!(
        again, event,
        "the round trip changed the event (JSON {json})"
    );
    assert_eq!(again.to_json(), json, "the JSON changed");
    assert_eq!(
        again.idempotency_key(1_400_000_000),
        event.idempotency_key(1_400_000_000),
        "the key changed"
    );
}

/// Target `body`, `fuzz/regressions/body/future-event-79-digit-number` (found as
/// `crash-f66ad577dc3ae28e10ba6d9dfaf6dca6054964d7`): an unknown command whose body is the
/// number 666…6 (79 digits). It parses to 6.666666666666667e78,
/// is written as `6.666666666666667e+78`, and that text parses to the next double,
/// 6.6666666666666675e78: serde_json's default float parser is not correctly rounded (its
/// `float_roundtrip` feature is), so a number written from a parsed event can read back as
/// another.
#[test]
fn the_fuzzers_number_survives_the_round_trip() {
    round_trip("Future.Event", "6".repeat(79).as_bytes());
}

/// The same bug on a typed field of a known command: a `TIMLocationElem` latitude with 17
/// significant digits, as a client that prints doubles in full sends it. The event read back
/// from its own JSON has another latitude, and, this message having no `MsgKey`, another
/// idempotency key (a digest of the JSON); a rewritten body would carry the changed latitude.
#[test]
fn a_location_survives_the_round_trip() {
    let body = br#"{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b",
        "MsgBody":[{"MsgType":"TIMLocationElem",
                    "MsgContent":{"Desc":"here","Latitude":13.975207275866178,"Longitude":113.5}}]}"#;
    round_trip("C2C.CallbackAfterSendMsg", body);
}

/// What does survive: numbers that serde_json reads exactly (integers, short decimals).
#[test]
fn ordinary_numbers_survive_the_round_trip() {
    round_trip(
        "Future.Event",
        br#"{"A":1670574414123,"B":-7,"C":0.5,"D":22.54,"E":1e300}"#,
    );
    let body =
        br#"{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b",
        "MsgBody":[{"MsgType":"TIMLocationElem",
                    "MsgContent":{"Desc":"here","Latitude":22.540539,"Longitude":113.934456}}]}"#;
    round_trip("C2C.CallbackAfterSendMsg", body);
}
