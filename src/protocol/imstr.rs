//! [`ImStr`]: the string type of the wire structs' text fields.

use std::borrow::{Borrow, Cow};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::str::FromStr;

use bytes::Bytes;
use bytestring::ByteString;
use compact_str::CompactString;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::wire::Wire;

/// An immutable string: what the events' text fields (account and group ids, message keys,
/// message text, custom data) are, so that reading them costs no allocation per field.
///
/// It is used like a `&str` (it derefs to one), compares, orders and hashes exactly like the
/// `str` it holds (so a `HashMap<ImStr, _>` is looked up with a `&str`), and converts from and
/// into `String`:
///
/// ```
/// use std::collections::HashMap;
/// use tencent_chat_webhook::ImStr;
///
/// let id = ImStr::from("@TGS#2J4SZEAEL");
/// assert!(id.starts_with("@TGS#"));          // every `str` method, through `Deref`
/// assert_eq!(id, "@TGS#2J4SZEAEL");          // compared with `&str`, `str` and `String`
/// assert_eq!("@TGS#2J4SZEAEL", id);
/// assert_eq!(id.to_string(), "@TGS#2J4SZEAEL");
///
/// let mut groups = HashMap::new();
/// groups.insert(id.clone(), 3);
/// assert_eq!(groups.get("@TGS#2J4SZEAEL"), Some(&3));
///
/// // A `HashMap<String, _>` is looked up with `as_str()` (a `String` cannot borrow as an
/// // `ImStr`), and a `&ImStr` converts into an `ImStr` (a clone) or a `String` (a copy).
/// let mut by_name: HashMap<String, u32> = HashMap::new();
/// by_name.insert(String::from(&id), 1);
/// assert_eq!(by_name.get(id.as_str()), Some(&1));
/// let again: ImStr = (&id).into();
/// assert_eq!(again, id);
///
/// // An `Option<ImStr>` is compared through `as_deref()`.
/// let topic: Option<ImStr> = Some("t1".into());
/// assert_eq!(topic.as_deref(), Some("t1"));
///
/// let owned: String = id.into();
/// assert_eq!(owned, "@TGS#2J4SZEAEL");
/// ```
///
/// Serialised and deserialised as a JSON string.
///
/// # Cost and memory
///
/// An `ImStr` takes 32 bytes (a `String` 24). A text of up to 24 bytes (an account or group id,
/// a message key) is kept inline: no allocation, and a clone is a copy. A longer text that the
/// service read from a request body (a message text, custom data, a topic id) is a slice of the
/// body's own buffer: no copy and no allocation, and a clone is a reference count. Such a slice
/// keeps that whole buffer alive for as long as it lives: the body at least, and with hyper the
/// read buffer the body was split from (some kilobytes). To keep a long text well past the
/// request (in a cache, a queue), keep [`detached`](Self::detached) (a copy of its own) or a
/// `String`. Texts made any other way (`From<&str>`, `From<String>`, a parse of a `&str` with
/// serde_json) own their bytes, as do texts with JSON escapes (`\n`, `\u00e9`).
pub struct ImStr(Repr);

/// The representation: a text of up to 24 bytes inline (`compact_str`, which never allocates
/// here); a longer one in a `bytes` buffer, which is a slice of the body's own buffer when the
/// text was read from a request body (no copy, no allocation: a reference count), else a buffer
/// of its own. A short text (an id, a key) thus never keeps a body alive.
#[derive(Clone)]
enum Repr {
    Inline(CompactString),
    Buffer(ByteString),
}

/// The longest text kept inline.
const INLINE: usize = 24;

impl Repr {
    const EMPTY: Repr = Repr::Buffer(ByteString::new());

    const fn from_static(text: &'static str) -> Repr {
        Repr::Buffer(ByteString::from_static(text))
    }

    fn copy(text: &str) -> Repr {
        if text.len() <= INLINE {
            Repr::Inline(CompactString::new(text))
        } else {
            Repr::Buffer(ByteString::from(text))
        }
    }

    fn from_string(text: String) -> Repr {
        if text.len() <= INLINE {
            Repr::Inline(CompactString::new(&text))
        } else {
            Repr::Buffer(ByteString::from(text))
        }
    }

    /// A string the parser lent for the duration of the parse: a slice of the body being parsed
    /// (see [`parse_shared`]) when it is long and lies within it, else a copy.
    fn borrowed(text: &str) -> Repr {
        if text.len() <= INLINE {
            return Repr::Inline(CompactString::new(text));
        }
        BODY.with_borrow(|body| match body {
            Some(body) if within(body, text) => Repr::Buffer(body.slice_ref(text)),
            _ => Repr::Buffer(ByteString::from(text)),
        })
    }

    fn as_str(&self) -> &str {
        match self {
            Repr::Inline(text) => text,
            Repr::Buffer(text) => text,
        }
    }

    fn into_string(self) -> String {
        match self {
            Repr::Inline(text) => text.into_string(),
            Repr::Buffer(text) => String::from(text),
        }
    }

    fn detached(&self) -> Repr {
        match self {
            Repr::Inline(_) => self.clone(),
            Repr::Buffer(text) => Repr::Buffer(ByteString::from(&**text)),
        }
    }
}

thread_local! {
    /// The body [`parse_shared`] is parsing on this thread, if any.
    static BODY: RefCell<Option<ByteString>> = const { RefCell::new(None) };
}

/// Whether `part` lies within `whole`'s memory.
fn within(whole: &str, part: &str) -> bool {
    let (start, at) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    at >= start && at + part.len() <= start + whole.len()
}

/// A body to parse: its bytes, and the `Bytes` buffer they are, when the event's strings may
/// share it.
#[derive(Clone, Copy)]
pub(crate) struct BodyRef<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) buffer: Option<&'a Bytes>,
}

impl<'a> From<&'a [u8]> for BodyRef<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        BodyRef {
            bytes,
            buffer: None,
        }
    }
}

impl<'a> From<&'a Bytes> for BodyRef<'a> {
    fn from(buffer: &'a Bytes) -> Self {
        BodyRef {
            bytes: buffer,
            buffer: Some(buffer),
        }
    }
}

/// Parses `body` (JSON) as a `T`, whose [`ImStr`]s read from it (strings without escapes) are
/// slices of `body`'s buffer rather than copies. `None` when `body` is not UTF-8.
pub(crate) fn parse_shared<T: DeserializeOwned>(body: &Bytes) -> Option<serde_json::Result<T>> {
    /// Puts back the body of an enclosing parse (none, in practice), even if the parse panics.
    struct Restore(Option<ByteString>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            BODY.set(outer);
        }
    }
    let text = ByteString::try_from(body.clone()).ok()?;
    let _restore = Restore(BODY.replace(Some(text.clone())));
    Some(serde_json::from_str(&text))
}

impl ImStr {
    /// The empty string.
    pub const fn new() -> ImStr {
        ImStr(Repr::EMPTY)
    }

    /// A string of static text, without copying it.
    ///
    /// ```
    /// use tencent_chat_webhook::ImStr;
    ///
    /// const ADMIN: ImStr = ImStr::from_static("administrator");
    /// assert_eq!(ADMIN, "administrator");
    /// ```
    pub const fn from_static(text: &'static str) -> ImStr {
        ImStr(Repr::from_static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The text as a `String`.
    pub fn into_string(self) -> String {
        self.0.into_string()
    }

    /// A string a deserializer lent for as long as it reads its input: a slice of the body
    /// being parsed by [`parse_shared`] when it is longer than the inline limit and lies within
    /// that body, else a copy. For `visit_borrowed_str` of the crate's own string types.
    pub(crate) fn lent(text: &str) -> ImStr {
        ImStr(Repr::borrowed(text))
    }

    /// The decimal digits of an integer, inline (an `i64` or a `u64` has at most 20).
    pub(crate) fn digits(n: impl Into<i128>) -> ImStr {
        use compact_str::ToCompactString;
        ImStr(Repr::Inline(n.into().to_compact_string()))
    }

    /// The same text, holding on to nothing but itself: a copy to keep for long, which does not
    /// keep alive the buffer of the request it was read from.
    pub fn detached(&self) -> ImStr {
        ImStr(self.0.detached())
    }
}

impl Deref for ImStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ImStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for ImStr {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for ImStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Clone for ImStr {
    fn clone(&self) -> ImStr {
        ImStr(self.0.clone())
    }
}

impl Default for ImStr {
    /// The empty string.
    fn default() -> ImStr {
        ImStr::new()
    }
}

impl fmt::Debug for ImStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ImStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for ImStr {
    fn eq(&self, other: &ImStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ImStr {}

impl PartialOrd for ImStr {
    fn partial_cmp(&self, other: &ImStr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ImStr {
    fn cmp(&self, other: &ImStr) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// The same as the `str`'s hash, as [`Borrow<str>`] requires.
impl Hash for ImStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Equality with the string types, both ways.
macro_rules! eq_str {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for ImStr {
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == &other[..]
            }
        }

        impl PartialEq<ImStr> for $other {
            fn eq(&self, other: &ImStr) -> bool {
                &self[..] == other.as_str()
            }
        }
    )*};
}
eq_str!(str, &str, String, Cow<'_, str>);

impl From<&str> for ImStr {
    fn from(text: &str) -> ImStr {
        ImStr(Repr::copy(text))
    }
}

impl From<&String> for ImStr {
    fn from(text: &String) -> ImStr {
        ImStr(Repr::copy(text))
    }
}

impl From<String> for ImStr {
    fn from(text: String) -> ImStr {
        ImStr(Repr::from_string(text))
    }
}

impl From<Box<str>> for ImStr {
    fn from(text: Box<str>) -> ImStr {
        ImStr::from(String::from(text))
    }
}

impl From<Cow<'_, str>> for ImStr {
    fn from(text: Cow<'_, str>) -> ImStr {
        match text {
            Cow::Borrowed(text) => ImStr::from(text),
            Cow::Owned(text) => ImStr::from(text),
        }
    }
}

impl From<&ImStr> for ImStr {
    /// A clone: a copy of an inline text, a reference to a shared one.
    fn from(text: &ImStr) -> ImStr {
        text.clone()
    }
}

impl From<&ImStr> for String {
    fn from(text: &ImStr) -> String {
        text.as_str().to_owned()
    }
}

impl From<ImStr> for String {
    fn from(text: ImStr) -> String {
        text.into_string()
    }
}

impl FromStr for ImStr {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<ImStr, Self::Err> {
        Ok(ImStr::from(text))
    }
}

impl Serialize for ImStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ImStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ImStr, D::Error> {
        struct ImStrVisitor;
        impl<'de> Visitor<'de> for ImStrVisitor {
            type Value = ImStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<ImStr, E> {
                Ok(ImStr::lent(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImStr, E> {
                Ok(ImStr::from(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ImStr, E> {
                Ok(ImStr::from(v))
            }
        }
        d.deserialize_str(ImStrVisitor)
    }
}

impl Wire for ImStr {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ImStr::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
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
        use crate::handler::Command;
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
        use crate::handler::Command;
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
}
