//! Profile webhooks: `Profile.CallbackPortraitSet`
//! ([1047/48733](https://www.tencentcloud.com/document/product/1047/48733)).
//!
//! Account ids are [`ImStr`](crate::ImStr)s, read as sent: any UserID form is accepted as sent.
//!
//! Spec ambiguities and how they are resolved:
//! - `ProfileItem[].Value` is typed "uint32/string" (numbers for fields such as
//!   `Tag_Profile_IM_BirthDay` or integer custom fields, strings for the rest). It is a
//!   [`ProfileValue`]: a string, an integer, or, for anything else (a float, an array, ...), the
//!   JSON value as sent. Each is written back as the same JSON type, so nothing is converted.
//! - `Operator_Account` and `From_Account` identify who changed whose profile and are required;
//!   `EventTime` (milliseconds, number or numeric string) is optional.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::protocol::imstr::ImStr;
use crate::protocol::raw::RawJson;

use super::wire::{Wire, wire_struct};

/// The new value of one profile field (`ProfileItem[].Value`, documented "uint32/string").
///
/// ```
/// use tencent_chat_webhook::profile::ProfileValue;
///
/// let v: ProfileValue = serde_json::from_str("19900101").unwrap();
/// assert_eq!(v.as_i64(), Some(19900101));
/// let v: ProfileValue = serde_json::from_str(r#""nick1""#).unwrap();
/// assert_eq!(v.as_str(), Some("nick1"));
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#""nick1""#);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ProfileValue {
    /// A JSON string.
    Text(ImStr),
    /// A JSON integer (that fits in an `i64`).
    Integer(i64),
    /// Any other JSON value (a float, an array, an object, a boolean, null, an integer beyond
    /// `i64`), kept as sent.
    Other(RawJson),
}

impl ProfileValue {
    /// The value when it was sent as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ProfileValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer: a JSON integer, or a string holding a decimal integer (this
    /// crate reads numbers from numeric strings everywhere).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ProfileValue::Integer(n) => Some(*n),
            ProfileValue::Text(s) => s.trim().parse().ok(),
            ProfileValue::Other(_) => None,
        }
    }
}

impl Default for ProfileValue {
    /// An empty string.
    fn default() -> Self {
        ProfileValue::Text(ImStr::new())
    }
}

impl From<Value> for ProfileValue {
    fn from(v: Value) -> Self {
        match v {
            Value::String(s) => ProfileValue::Text(ImStr::from(s)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => ProfileValue::Integer(i),
                None => ProfileValue::Other(Value::Number(n).into()),
            },
            other => ProfileValue::Other(other.into()),
        }
    }
}

impl Serialize for ProfileValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ProfileValue::Text(t) => s.serialize_str(t),
            ProfileValue::Integer(n) => s.serialize_i64(*n),
            ProfileValue::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ProfileValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as text first, so that an array or object is kept as sent (its text, not a
        // `Value` tree many times its size), then typed when it is a string or an integer.
        let raw = RawJson::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            return serde_json::from_str(text)
                .map(ProfileValue::Text)
                .map_err(de::Error::custom);
        }
        Ok(match serde_json::from_str::<i64>(text) {
            Ok(n) => ProfileValue::Integer(n),
            Err(_) => ProfileValue::Other(raw),
        })
    }
}

impl Wire for ProfileValue {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <ProfileValue as Deserialize>::deserialize(d)
    }
}

wire_struct! {
    /// One updated profile field (`ProfileItem[]`).
    pub struct ProfileItem {
        /// The field name (`Tag_Profile_IM_Nick`, custom `Tag_Profile_Custom_*`, ...).
        pub tag: ImStr => "Tag",
        /// The new value.
        pub value: ProfileValue => "Value",
    }
}

wire_struct! {
    /// `Profile.CallbackPortraitSet`: a user's profile was updated, by the client or through
    /// the REST API (1047/48733). Answered OK.
    pub struct PortraitSet {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID who made the update (an admin account for REST calls).
        pub operator_account: ImStr => "Operator_Account",
        /// UserID whose profile was updated.
        pub from_account: ImStr => "From_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
        /// The fields that were updated successfully.
        pub profile_item: Vec<ProfileItem> => "ProfileItem",
    }
}

impl PortraitSet {
    /// The new value of field `tag`, if it was updated.
    pub fn value(&self, tag: &str) -> Option<&ProfileValue> {
        self.profile_item
            .iter()
            .find(|i| i.tag == tag)
            .map(|i| &i.value)
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support;
    use serde_json::json;

    fn de(json: &str) -> PortraitSet {
        test_support::de(json)
    }

    #[test]
    fn values_keep_their_json_type() {
        let cases = [
            ("string", json!("nick1"), ProfileValue::Text("nick1".into())),
            (
                "uint32",
                json!(19_900_101),
                ProfileValue::Integer(19_900_101),
            ),
            ("negative", json!(-3), ProfileValue::Integer(-3)),
            (
                "above 2^32",
                json!(5_000_000_000_u64),
                ProfileValue::Integer(5_000_000_000),
            ),
            (
                "beyond i64",
                json!(u64::MAX),
                ProfileValue::Other(json!(u64::MAX).into()),
            ),
            ("float", json!(1.5), ProfileValue::Other(json!(1.5).into())),
            (
                "array",
                json!(["a", 1]),
                ProfileValue::Other(json!(["a", 1]).into()),
            ),
            (
                "object",
                json!({"k": "v"}),
                ProfileValue::Other(json!({"k": "v"}).into()),
            ),
            ("null", Value::Null, ProfileValue::Other(Value::Null.into())),
        ];
        for (name, input, want) in cases {
            let item = json!({"Tag": "Tag_Profile_Custom_X", "Value": input});
            let got: ProfileItem = serde_json::from_value(item.clone()).unwrap();
            assert_eq!(got.value, want, "{name}");
            assert_eq!(
                serde_json::to_value(&got).unwrap(),
                item,
                "{name}: written back"
            );
            assert_eq!(ProfileValue::from(input), want, "{name}: from Value");
        }
    }

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&PortraitSet) -> bool); 4] = [
            (
                "EventTime as a numeric string",
                r#"{"Operator_Account":"a","From_Account":"b","EventTime":"1656921052497","ProfileItem":[]}"#,
                |e| e.event_time == Some(1_656_921_052_497),
            ),
            (
                "numeric string stays a string but reads as an integer",
                r#"{"Operator_Account":"a","From_Account":"b","ProfileItem":[{"Tag":"Tag_Profile_IM_Level","Value":"7"}]}"#,
                |e| {
                    let v = e.value("Tag_Profile_IM_Level").unwrap();
                    v.as_str() == Some("7") && v.as_i64() == Some(7)
                },
            ),
            (
                "integer has no string view",
                r#"{"Operator_Account":"a","From_Account":"b","ProfileItem":[{"Tag":"Tag_Profile_IM_BirthDay","Value":19900101}]}"#,
                |e| {
                    let v = e.value("Tag_Profile_IM_BirthDay").unwrap();
                    v.as_str().is_none() && v.as_i64() == Some(19_900_101)
                },
            ),
            (
                "absent EventTime",
                r#"{"Operator_Account":"admin","From_Account":"b","ProfileItem":[{"Tag":"T","Value":"v"}]}"#,
                |e| e.event_system_time().is_none() && e.value("missing").is_none(),
            ),
        ];
        for (name, json, check) in cases {
            let e = de(json);
            assert!(check(&e), "{name}: {e:?}");
        }
    }

    #[test]
    fn fixture_parses_fully_typed_and_round_trips() {
        let e: PortraitSet = test_support::fixture("Profile.CallbackPortraitSet");
        assert_eq!(
            (e.operator_account.as_str(), e.from_account.as_str()),
            ("id1", "id1")
        );
        assert_eq!(e.profile_item.len(), 4);
        assert_eq!(
            e.value("Tag_Profile_IM_Gender")
                .and_then(ProfileValue::as_str),
            Some("Gender_Type_Male")
        );
        assert_eq!(e.event_time, Some(1_656_921_052_497));
    }
}
