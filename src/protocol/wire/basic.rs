//! [`Wire`] for the types read as serde reads them (texts, JSON values, raw JSON), and for
//! `Option` and `Vec` of any wire type, which note the spellings of their values.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};

use crate::protocol::raw::RawJson;

use super::memo::{MemoView, Recorder, Spelling};
#[cfg(test)]
use super::schema;
use super::{NotedSeed, Spelled, Wire};

impl Wire for String {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    #[cfg(test)]
    fn shape() -> schema::Shape {
        schema::Shape::Copied
    }
}

impl Wire for serde_json::Value {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de_noted(d, &mut Recorder::ignore())
    }

    const NOTES: bool = true;

    /// `null` is noted, so that it is written back.
    fn de_noted<'de, D: Deserializer<'de>>(d: D, rec: &mut Recorder<'_>) -> Result<Self, D::Error> {
        struct OptVisitor<'r, 'a, T>(&'r mut Recorder<'a>, PhantomData<T>);
        impl<'de, T: Wire> Visitor<'de> for OptVisitor<'_, '_, T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an optional value")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                self.0.note(Spelling::NULL);
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                self.visit_none()
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                T::de_noted(d, self.0).map(Some)
            }
        }
        d.deserialize_option(OptVisitor(rec, PhantomData))
    }

    fn ser<S: Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => v.ser(s, memo),
            None => s.serialize_none(),
        }
    }

    #[cfg(test)]
    const OPTIONAL: bool = true;

    fn missing<E: de::Error>(_field: &'static str) -> Result<Self, E> {
        Ok(None)
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }

    fn unknown_keys(&self, path: &str, out: &mut Vec<String>) {
        if let Some(v) = self {
            v.unknown_keys(path, out);
        }
    }

    #[cfg(test)]
    fn shape() -> schema::Shape {
        T::shape()
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de_noted(d, &mut Recorder::ignore())
    }

    const NOTES: bool = T::NOTES;

    /// The spelling of each item is noted under its index.
    fn de_noted<'de, D: Deserializer<'de>>(d: D, rec: &mut Recorder<'_>) -> Result<Self, D::Error> {
        struct SeqVisitor<'r, 'a, T>(&'r mut Recorder<'a>, PhantomData<T>);
        impl<'de, T: Wire> Visitor<'de> for SeqVisitor<'_, '_, T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The hint comes from the peer: cap it so a lying length cannot allocate much.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) =
                    seq.next_element_seed(NotedSeed::<T>::new(&mut self.0.item(out.len())))?
                {
                    out.push(item);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(SeqVisitor(rec, PhantomData))
    }

    fn ser<S: Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for (i, item) in self.iter().enumerate() {
            seq.serialize_element(&Spelled(item, memo.item(i)))?;
        }
        seq.end()
    }

    fn unknown_keys(&self, path: &str, out: &mut Vec<String>) {
        for (i, item) in self.iter().enumerate() {
            item.unknown_keys(&format!("{path}[{i}]"), out);
        }
    }

    #[cfg(test)]
    fn shape() -> schema::Shape {
        T::shape()
    }
}

impl Wire for RawJson {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawJson::deserialize(d)
    }
}
