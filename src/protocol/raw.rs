//! JSON kept as sent: [`RawJson`] for one value (an unknown command's body, an unknown message
//! element's content), [`Extra`] for the keys a wire struct does not type.
//!
//! Both hold the JSON text itself, not a tree of `serde_json::Value`s: a value tree costs up to
//! 200 times its text (a node of 32 bytes for every `0,`, a B-tree node for every `{}`), so a
//! hostile 1 MiB body would cost hundreds of megabytes. Text costs its size, is written back
//! byte for byte, and parses into your own type, or into a `Value`, when you ask.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Index;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One JSON value, kept as the text that was sent.
///
/// Equality and hashing compare the text: `{"a":1}` and `{"a": 1}` differ. Serialised with
/// serde_json (to a string, a writer or a `Value`), it is written back exactly as it came; it is
/// serde_json's raw value, which other formats do not know.
///
/// ```
/// use serde_json::json;
/// use tencent_chat_webhook::RawJson;
///
/// let raw = RawJson::from_json(r#"{"Future": [1, 2]}"#).unwrap();
/// assert_eq!(raw.get(), r#"{"Future": [1, 2]}"#);
/// assert_eq!(raw.to_value()["Future"][1], 2);
/// assert_eq!(raw, json!({"Future": [1, 2]})); // compared as values
///
/// #[derive(serde::Deserialize)]
/// struct Mine {
///     #[serde(rename = "Future")]
///     future: Vec<u8>,
/// }
/// assert_eq!(raw.parse::<Mine>().unwrap().future, [1, 2]);
/// assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"Future": [1, 2]}"#);
/// ```
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The value of this JSON text, checked to be one JSON value.
    pub fn from_json(json: impl Into<String>) -> serde_json::Result<Self> {
        RawValue::from_string(json.into()).map(RawJson)
    }

    /// `value` written as compact JSON.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }

    /// The JSON text, as sent.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The same text as serde_json's borrowed raw value.
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// Parses the JSON into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.get())
    }

    /// The JSON as a [`Value`] tree (which costs many times the text's size: for small values).
    pub fn to_value(&self) -> Value {
        // The text is one valid JSON value, so this cannot fail.
        self.parse().unwrap_or(Value::Null)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        // Writing a `Value` cannot fail: its keys are strings.
        RawJson::from_serialize(&value).unwrap_or_else(|_| RawJson(RawValue::NULL.to_owned()))
    }
}

impl Default for RawJson {
    /// `null`.
    fn default() -> Self {
        RawJson(RawValue::NULL.to_owned())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl Hash for RawJson {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

/// Compares as values: the text is parsed.
impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Refuses JSON nested deeper than serde_json parses (128 levels), as a `Value` would: serde_json
/// skips over raw JSON without that limit, and such a value could not be parsed later.
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        check_depth(raw.get())?;
        Ok(RawJson(raw))
    }
}

/// The most nested arrays and objects a raw value may hold: serde_json's own limit.
const MAX_DEPTH: usize = 128;

/// An error if `json` nests arrays and objects deeper than [`MAX_DEPTH`].
fn check_depth<E: de::Error>(json: &str) -> Result<(), E> {
    let (mut depth, mut in_string, mut escaped) = (0_usize, false, false);
    for &b in json.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(E::custom("recursion limit exceeded"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The keys of a JSON object that this crate does not type, kept as sent, in the order sent.
///
/// Every wire struct and message element has one (`extra`). It holds the members' JSON text,
/// so that a body full of unknown keys costs its size, not a map of `Value`s many times larger;
/// it is written back as it came when the struct is serialised.
///
/// ```
/// use serde_json::json;
/// use tencent_chat_webhook::follow;
///
/// let event: follow::AfterAdd = serde_json::from_str(
///     r#"{"From_Account":"a","FollowList":[{"To_Account":"b"}],"Future":{"x":[1]},"Flag":true}"#,
/// ).unwrap();
/// let extra = &event.extra;
/// assert_eq!(extra.len(), 2);
/// assert_eq!(extra["Future"].get(), r#"{"x":[1]}"#);  // the JSON text, as sent
/// assert_eq!(extra.value("Future"), Some(json!({"x": [1]})));
/// assert_eq!(extra.get_as::<bool>("Flag"), Some(true));
/// assert!(extra.get("Missing").is_none());
/// assert_eq!(extra.keys().collect::<Vec<_>>(), ["Future", "Flag"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Extra {
    /// `""` when empty, else the object `{"Key":value,...}`.
    json: String,
}

impl Extra {
    /// No keys.
    pub fn new() -> Self {
        Extra::default()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        let mut n = 0;
        self.scan(|_, _| n += 1);
        n
    }

    /// The value of `key`, as the JSON text that was sent.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        member(&self.json, key)
    }

    /// Whether `key` is there.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key` read as a `T`; `None` if it is absent or is not a `T`.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.get(key)?.get()).ok()
    }

    /// The value of `key` as a [`Value`] tree.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.get_as(key)
    }

    /// The keys and their JSON, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, &RawValue)> {
        let mut all = Vec::new();
        self.scan(|k, v| all.push((k, v)));
        all.into_iter()
    }

    /// The keys, in the order sent.
    pub fn keys(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.iter().map(|(k, _)| k)
    }

    /// Sets `key` to `value` (replacing its value if it is there), at the end.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: &(impl Serialize + ?Sized),
    ) -> serde_json::Result<()> {
        let key = key.into();
        let value = serde_json::value::to_raw_value(value)?;
        let mut next = ExtraBuilder::default();
        for (k, v) in self.iter().filter(|(k, _)| *k != key) {
            next.push(&k, v.get());
        }
        next.push(&key, value.get());
        *self = next.finish_unchecked();
        Ok(())
    }

    /// The members as one JSON object, `{}` when there is none.
    pub fn as_json(&self) -> &str {
        if self.json.is_empty() {
            "{}"
        } else {
            &self.json
        }
    }

    /// The keys and values as a [`Map`] of [`Value`] trees.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| {
                (
                    k.into_owned(),
                    serde_json::from_str(v.get()).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// Writes every member into `map`, as sent.
    pub(crate) fn serialize_into<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let mut result = Ok(());
        self.scan(|k, v| {
            if result.is_ok() {
                result = map.serialize_entry(&*k, v);
            }
        });
        result
    }

    fn scan<'a>(&'a self, f: impl FnMut(Cow<'a, str>, &'a RawValue)) {
        if !self.json.is_empty() {
            // The text was written by `ExtraBuilder`: one valid object.
            let _ = scan_object(&self.json, f);
        }
    }
}

/// Calls `f` with every member of the JSON object `json`, in order, without allocating (but
/// for a key with escapes); an error if `json` is not an object.
fn scan_object<'a>(
    json: &'a str,
    f: impl FnMut(Cow<'a, str>, &'a RawValue),
) -> serde_json::Result<()> {
    struct Scan<F>(F);
    impl<'a, F: FnMut(Cow<'a, str>, &'a RawValue)> Visitor<'a> for Scan<F> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'a>>(mut self, mut map: A) -> Result<(), A::Error> {
            while let Some(Key(k)) = map.next_key()? {
                let v: &'a RawValue = map.next_value()?;
                (self.0)(k, v);
            }
            Ok(())
        }
    }
    serde_json::Deserializer::from_str(json).deserialize_map(Scan(f))
}

/// The value of `key` in the JSON `json`, if it is an object that has it.
pub(crate) fn member<'a>(json: &'a str, key: &str) -> Option<&'a RawValue> {
    let mut found = None;
    scan_object(json, |k, v| {
        if found.is_none() && k == key {
            found = Some(v);
        }
    })
    .ok()?;
    found
}

/// A key, borrowed from the text when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'a> Deserialize<'a> for Key<'a> {
    fn deserialize<D: Deserializer<'a>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'a> Visitor<'a> for KeyVisitor {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Reads any JSON object.
impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Extra;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extra, A::Error> {
                let mut extra = ExtraBuilder::default();
                while let Some(key) = map.next_key::<Cow<'_, str>>()? {
                    extra.next_value(&key, &mut map)?;
                }
                extra.finish()
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// Written as the object it holds, as sent.
impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.serialize_into(&mut map)?;
        map.end()
    }
}

/// Shown as the object it holds.
impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Panics if `key` is not there, like a map; [`Extra::get`] does not.
impl Index<&str> for Extra {
    type Output = RawValue;
    fn index(&self, key: &str) -> &RawValue {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no key `{key}` in extra"),
        }
    }
}

/// Collects the unknown members of an object as it is read.
#[derive(Default)]
pub(crate) struct ExtraBuilder {
    json: String,
    /// Where each key (as written, quotes included) is in `json`, to find duplicates.
    keys: Vec<(u32, u32)>,
}

impl ExtraBuilder {
    /// Reads the value of `key` (already read from `map`) and keeps both.
    pub(crate) fn next_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value: RawJson = map.next_value()?;
        self.push(key, value.get());
        Ok(())
    }

    fn push(&mut self, key: &str, value: &str) {
        // Room for the separator, the key's quotes, the colon and the closing brace: one large
        // value is held in a string of its size, not in one grown to twice it.
        self.json.reserve(key.len() + value.len() + 5);
        self.json.push(if self.json.is_empty() { '{' } else { ',' });
        let start = self.json.len();
        // A key is written with serde_json's escapes, so that two spellings of one key are
        // the same text, and a duplicate is found by comparing texts.
        self.json
            .push_str(&serde_json::to_string(key).unwrap_or_default());
        self.keys.push((offset(start), offset(self.json.len())));
        self.json.push(':');
        self.json.push_str(value);
    }

    /// The members read, or an error naming a key that came twice.
    pub(crate) fn finish<E: de::Error>(mut self) -> Result<Extra, E> {
        let json = &self.json;
        let key = |&(start, end): &(u32, u32)| &json[start as usize..end as usize];
        self.keys.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        if let Some(pair) = self.keys.windows(2).find(|w| key(&w[0]) == key(&w[1])) {
            let name: String = serde_json::from_str(key(&pair[0])).unwrap_or_default();
            return Err(E::custom(format_args!("duplicate field `{name}`")));
        }
        Ok(self.finish_unchecked())
    }

    fn finish_unchecked(mut self) -> Extra {
        if !self.json.is_empty() {
            self.json.push('}');
        }
        Extra { json: self.json }
    }
}

/// A position in a body: bodies are far below 4 GiB (the service's limit is 1 MiB by default).
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn built(members: &[(&str, &str)]) -> Extra {
        let mut b = ExtraBuilder::default();
        for (k, v) in members {
            b.push(k, v);
        }
        b.finish::<serde_json::Error>().unwrap()
    }

    #[test]
    fn keeps_members_in_order_and_as_sent() {
        let extra = built(&[("z", "[1, 2]"), ("a\"b", "{\"x\": null}"), ("m", "1.50")]);
        assert_eq!(
            extra.as_json(),
            r#"{"z":[1, 2],"a\"b":{"x": null},"m":1.50}"#
        );
        assert_eq!(extra.len(), 3);
        assert_eq!(extra["m"].get(), "1.50");
        assert_eq!(extra.get("a\"b").map(RawValue::get), Some("{\"x\": null}"));
        assert_eq!(extra.keys().collect::<Vec<_>>(), ["z", "a\"b", "m"]);
        assert_eq!(extra.to_map()["z"], json!([1, 2]));
        assert!(Extra::new().is_empty());
        assert_eq!(Extra::new().as_json(), "{}");
    }

    #[test]
    fn finds_duplicates_however_spelled() {
        let mut b = ExtraBuilder::default();
        b.push("a", "1");
        b.push("b", "2");
        b.push("a", "3");
        let err = b.finish::<serde_json::Error>().unwrap_err().to_string();
        assert_eq!(err, "duplicate field `a`");
    }

    #[test]
    fn insert_replaces_or_appends() {
        let mut extra = built(&[("a", "1"), ("b", "2")]);
        extra.insert("a", &json!("x")).unwrap();
        extra.insert("c", &3).unwrap();
        assert_eq!(extra.as_json(), r#"{"b":2,"a":"x","c":3}"#);
    }

    #[test]
    fn raw_json_compares_text_and_values() {
        let a = RawJson::from_json("[1, 2]").unwrap();
        assert_eq!(a, json!([1, 2]));
        assert_ne!(a, RawJson::from_json("[1,2]").unwrap());
        assert_eq!(RawJson::from(json!([1, 2])).get(), "[1,2]");
        assert!(RawJson::from_json("[1,").is_err());
        assert_eq!(RawJson::default().get(), "null");
    }

    #[test]
    fn raw_json_nests_as_deep_as_serde_json_parses() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(serde_json::from_str::<RawJson>(&nested(128)).is_ok());
        let err = serde_json::from_str::<RawJson>(&nested(129)).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        let quoted = format!(r#"["{}\\", "[[[", {{"a":"}}}}"}}]"#, "[".repeat(200));
        assert!(
            serde_json::from_str::<RawJson>(&quoted).is_ok(),
            "brackets in strings"
        );
    }
}
