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
mod tests;
