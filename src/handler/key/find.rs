//! Finding the values at a path of an event, by serialising only what lies on that path.

use serde::Serialize;
use serde::ser::{self, Impossible, Serializer};

/// What [`find`] found at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// The value (for a list path: the key in every item of the list).
    All,
    /// A list path's list, with the key missing from some items (written as `null`).
    Partly,
    /// Nothing (and nothing was written).
    Nothing,
}

/// Writes the JSON at `path` of what `value` serialises to into `out`: `Key` (a value of the
/// object), `Key.Rest` (`Rest` of the object at `Key`) or `Key[].Rest` (`Rest` of every item of
/// the list at `Key`, as a JSON array). Only the values on the path are serialised, as
/// serde_json writes them; the rest of the event is skipped.
pub(super) fn find<T: Serialize + ?Sized>(value: &T, path: &str, out: &mut Vec<u8>) -> Found {
    let mut finder = Finder::new(Path::parse(path), false, out);
    match value.serialize(&mut finder) {
        Ok(()) => finder.found,
        Err(_) => Found::Nothing,
    }
}

/// A path of [`find`], split at its first step.
#[derive(Clone, Copy)]
struct Path<'p> {
    /// The key of the first step.
    key: &'p str,
    /// Whether the value at `key` is a list whose items hold `rest`.
    list: bool,
    /// The path under `key`.
    rest: Option<&'p str>,
}

impl<'p> Path<'p> {
    fn parse(path: &'p str) -> Self {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path, None),
        };
        match head.strip_suffix("[]") {
            Some(key) => Path {
                key,
                list: true,
                rest,
            },
            None => Path {
                key: head,
                list: false,
                rest,
            },
        }
    }
}

/// The serializer behind [`find`]: looks for its path in an object, or, for `items`, in every
/// item of a list.
struct Finder<'p, 'o> {
    path: Path<'p>,
    items: bool,
    out: &'o mut Vec<u8>,
    found: Found,
}

impl<'p, 'o> Finder<'p, 'o> {
    fn new(path: Path<'p>, items: bool, out: &'o mut Vec<u8>) -> Self {
        Finder {
            path,
            items,
            out,
            found: Found::Nothing,
        }
    }

    /// A value of the object being searched, under `key`.
    fn entry<K, V>(&mut self, key: &K, value: &V) -> Result<(), serde_json::Error>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        if self.items
            || self.found != Found::Nothing
            || !key.serialize(KeyIs(self.path.key)).unwrap_or(false)
        {
            return Ok(());
        }
        match self.path.rest {
            None => {
                serde_json::to_writer(&mut *self.out, value)?;
                self.found = Found::All;
            }
            Some(rest) => {
                let mut inner = Finder::new(Path::parse(rest), self.path.list, self.out);
                value.serialize(&mut inner)?;
                self.found = inner.found;
            }
        }
        Ok(())
    }

    /// An item of the list being searched.
    fn item<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), serde_json::Error> {
        if !self.items {
            return Ok(());
        }
        if self.found == Found::Nothing {
            self.found = Found::All;
        } else {
            self.out.push(b',');
        }
        let mut inner = Finder::new(self.path, false, self.out);
        value.serialize(&mut inner)?;
        match inner.found {
            Found::All => {}
            Found::Partly => self.found = Found::Partly,
            Found::Nothing => {
                self.out.extend_from_slice(b"null");
                self.found = Found::Partly;
            }
        }
        Ok(())
    }
}

/// The methods the two serializers of this module share: a scalar holds nothing to look into
/// (`Ok($ok)`), an option or a newtype is looked into, and tuples and enum variants, which no
/// event holds, are not searched.
macro_rules! searcher_methods {
    ($ok:expr) => {
        searcher_methods!($ok;
            serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
            serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
            serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
            serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str)
        );

        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Self::Error> {
            Ok($ok)
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
            not_searched()
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            not_searched()
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            not_searched()
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            not_searched()
        }
    };
    ($ok:expr; $($method:ident($($arg:ty),*)),*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Ok($ok)
        }
    )*};
}

/// What the serializers do not look into.
fn not_searched<T>() -> Result<T, serde_json::Error> {
    Err(ser::Error::custom("not searched"))
}

impl Serializer for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    searcher_methods!(());

    fn serialize_str(self, _: &str) -> Result<(), serde_json::Error> {
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, serde_json::Error> {
        if self.items {
            self.out.push(b'[');
        }
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, serde_json::Error> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, serde_json::Error> {
        Ok(self)
    }
}

impl ser::SerializeSeq for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        if self.items {
            if self.found == Found::Nothing {
                // An empty list: every one of its (no) items has the key.
                self.found = Found::All;
            }
            self.out.push(b']');
        }
        Ok(())
    }
}

impl ser::SerializeMap for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), serde_json::Error> {
        // Every map of an event is written by `serialize_entry`.
        not_searched()
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), serde_json::Error> {
        not_searched()
    }

    fn serialize_entry<K, V>(&mut self, key: &K, value: &V) -> Result<(), serde_json::Error>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        self.entry(key, value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Finder<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.entry(key, value)
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// A serializer that says whether a map key is the string it holds.
struct KeyIs<'a>(&'a str);

impl Serializer for KeyIs<'_> {
    type Ok = bool;
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<bool, serde_json::Error>;
    type SerializeTuple = Impossible<bool, serde_json::Error>;
    type SerializeTupleStruct = Impossible<bool, serde_json::Error>;
    type SerializeTupleVariant = Impossible<bool, serde_json::Error>;
    type SerializeMap = Impossible<bool, serde_json::Error>;
    type SerializeStruct = Impossible<bool, serde_json::Error>;
    type SerializeStructVariant = Impossible<bool, serde_json::Error>;

    searcher_methods!(false);

    fn serialize_str(self, key: &str) -> Result<bool, serde_json::Error> {
        Ok(key == self.0)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        not_searched()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        not_searched()
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        not_searched()
    }
}
