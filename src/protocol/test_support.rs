//! What the family modules' tests share: parsing a JSON text, and checking a fixture.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::Wire;

/// Parses `json`, panicking with the text and the error.
pub(crate) fn de<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Reads `value` as `T`, panicking with the value and the error.
pub(crate) fn de_value<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

/// Tencent's sample of `command` (`fixtures/events/<command>.json`) parsed as `T`, after checking
/// that every key of it is typed and that it round-trips without loss.
pub(crate) fn fixture<T: DeserializeOwned + Serialize + Wire + PartialEq + Debug>(
    command: &str,
) -> T {
    let path = format!(
        "{}/fixtures/events/{command}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    checked(command, &json)
}

/// `json` parsed as `T`, after checking that every key of it is typed and that it round-trips
/// without loss.
pub(crate) fn checked<T: DeserializeOwned + Serialize + Wire + PartialEq + Debug>(
    command: &str,
    json: &str,
) -> T {
    let event: T = de(json);
    let mut unknown = Vec::new();
    event.unknown_keys("", &mut unknown);
    assert!(unknown.is_empty(), "{command}: untyped keys {unknown:?}");
    let written = serde_json::to_value(&event).unwrap();
    assert_eq!(
        serde_json::from_value::<T>(written).unwrap(),
        event,
        "{command}: round trip"
    );
    event
}
