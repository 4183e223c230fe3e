//! [`Wire`] for numbers and flags: read from JSON values or from strings holding one, and
//! written back in the form they came in.

use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

use super::Wire;
use super::memo::{MemoView, Recorder, Spelling};

/// A string that does not fit, as an error message shows it: its start only, since serde's
/// message would quote the whole value (which may be most of the body).
fn unexpected_str(v: &str) -> de::Unexpected<'_> {
    const SHOWN: usize = 32;
    match v.char_indices().nth(SHOWN) {
        None => de::Unexpected::Str(v),
        Some(_) => de::Unexpected::Other("a long string"),
    }
}

/// Whether `v`, which reads (trimmed) as `n`, is how `n` writes itself: digits, and a `-` before a
/// value other than 0, no leading zero, sign `+` or space. Any of these makes the text longer than
/// `n`'s own, so comparing lengths is enough.
fn is_canonical_int(v: &str, n: i128) -> bool {
    // Every integer type read here fits: its magnitude in a `u64`, whose logarithm is cheap.
    let magnitude = u64::try_from(n.unsigned_abs()).unwrap_or(u64::MAX);
    let digits = magnitude.checked_ilog10().map_or(1, |d| d + 1);
    v.len() == digits as usize + usize::from(n < 0)
}

/// Integers arrive as JSON numbers or as decimal strings (`"EventTime":"1670574414123"` in several
/// of Tencent's samples); both are accepted, and each is written back in the form it came in: a
/// string as the same text, padded or not.
macro_rules! lenient_int {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::de_noted(d, &mut Recorder::ignore())
            }

            const NOTES: bool = true;

            fn de_noted<'de, D: Deserializer<'de>>(
                d: D,
                rec: &mut Recorder<'_>,
            ) -> Result<Self, D::Error> {
                struct IntVisitor<'r, 'a>(&'r mut Recorder<'a>);
                impl<'de> Visitor<'de> for IntVisitor<'_, '_> {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("an integer (", stringify!($ty), ") or a string holding one"))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        let n = v
                            .trim()
                            .parse()
                            .map_err(|_| E::invalid_value(unexpected_str(v), &self))?;
                        self.0.note_str(Spelling::QUOTED, v, is_canonical_int(v, i128::from(n)));
                        Ok(n)
                    }
                }
                d.deserialize_any(IntVisitor(rec))
            }

            fn ser<S: Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
                match memo.spelling() {
                    Spelling::QUOTED => s.collect_str(self),
                    // The text, while it still reads as the value.
                    Spelling::TEXT => match memo.text() {
                        Some(t) if t.trim().parse::<$ty>() == Ok(*self) => s.serialize_str(t),
                        _ => s.collect_str(self),
                    },
                    _ => self.serialize(s),
                }
            }
        }
    )*};
}
lenient_int!(u32, u64, i32, i64);

/// Floats arrive as JSON numbers, integers included, or as strings holding one; each is written
/// back in the form it came in: an integer as the same integer, a string as the same text.
impl Wire for f64 {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de_noted(d, &mut Recorder::ignore())
    }

    const NOTES: bool = true;

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn de_noted<'de, D: Deserializer<'de>>(d: D, rec: &mut Recorder<'_>) -> Result<Self, D::Error> {
        struct FloatVisitor<'r, 'a>(&'r mut Recorder<'a>);
        impl<'de> Visitor<'de> for FloatVisitor<'_, '_> {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string holding one")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                let f = v as f64;
                // Written back as the integer of the float, which is `v` up to 2^53.
                if f as u64 == v {
                    self.0.note(Spelling::INTEGER);
                } else {
                    self.0.keep(Spelling::INTEGER_TEXT, &v.to_string());
                }
                Ok(f)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                let f = v as f64;
                if f as i64 == v {
                    self.0.note(Spelling::INTEGER);
                } else {
                    self.0.keep(Spelling::INTEGER_TEXT, &v.to_string());
                }
                Ok(f)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                match v.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => {
                        // `Display` writes the shortest text that reads back as the same float.
                        self.0.note_str(Spelling::QUOTED, v, n.to_string() == v);
                        Ok(n)
                    }
                    _ => Err(E::invalid_value(unexpected_str(v), &self)),
                }
            }
        }
        d.deserialize_any(FloatVisitor(rec))
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn ser<S: Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
        let v = *self;
        let text = || memo.text();
        match memo.spelling() {
            Spelling::QUOTED => s.collect_str(&v),
            Spelling::TEXT => match text() {
                Some(t) if t.trim().parse::<f64>() == Ok(v) => s.serialize_str(t),
                _ => s.collect_str(&v),
            },
            Spelling::INTEGER_TEXT => match text() {
                Some(t) if t.parse::<u64>().is_ok_and(|n| n as f64 == v) => {
                    s.serialize_u64(t.parse().unwrap_or_default())
                }
                Some(t) if t.parse::<i64>().is_ok_and(|n| n as f64 == v) => {
                    s.serialize_i64(t.parse().unwrap_or_default())
                }
                _ => s.serialize_f64(v),
            },
            // Read from an integer, so integral and within the 64-bit range while unchanged.
            Spelling::INTEGER if v.fract() == 0.0 && v >= 0.0 && v <= u64::MAX as f64 => {
                s.serialize_u64(v as u64)
            }
            Spelling::INTEGER if v.fract() == 0.0 && v >= i64::MIN as f64 && v < 0.0 => {
                s.serialize_i64(v as i64)
            }
            _ => s.serialize_f64(v),
        }
    }
}

/// Flags arrive as JSON booleans, and in some samples as strings (`"IsCloudRecordingDisabled" :
/// "false"` on TUIRoomKit's page 647/60731); `true`/`false` and `1`/`0`, as JSON values or as
/// strings, are accepted, and each is written back in the form it came in. Any other value is
/// refused.
impl Wire for bool {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de_noted(d, &mut Recorder::ignore())
    }

    const NOTES: bool = true;

    fn de_noted<'de, D: Deserializer<'de>>(d: D, rec: &mut Recorder<'_>) -> Result<Self, D::Error> {
        struct BoolVisitor<'r, 'a>(&'r mut Recorder<'a>);
        impl<'de> Visitor<'de> for BoolVisitor<'_, '_> {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean, 0 or 1, or a string holding one")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
                let value = match v {
                    0 => false,
                    1 => true,
                    _ => return Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                };
                self.0.note(Spelling::FLAG_NUMBER);
                Ok(value)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                let (value, spelling) = match v.trim() {
                    "true" => (true, Spelling::FLAG_WORD),
                    "false" => (false, Spelling::FLAG_WORD),
                    "1" => (true, Spelling::FLAG_DIGIT),
                    "0" => (false, Spelling::FLAG_DIGIT),
                    _ => return Err(E::invalid_value(unexpected_str(v), &self)),
                };
                self.0.note_str(spelling, v, v.trim().len() == v.len());
                Ok(value)
            }
        }
        d.deserialize_any(BoolVisitor(rec))
    }

    fn ser<S: Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
        let word = if *self { "true" } else { "false" };
        match memo.spelling() {
            Spelling::FLAG_NUMBER => s.serialize_u64(u64::from(*self)),
            Spelling::FLAG_WORD => s.serialize_str(word),
            Spelling::FLAG_DIGIT => s.serialize_str(if *self { "1" } else { "0" }),
            // The padded text, while it still says the value.
            Spelling::TEXT => match memo.text() {
                Some(t) if matches!(t.trim(), "true" | "1") == *self => s.serialize_str(t),
                _ => s.serialize_str(word),
            },
            _ => s.serialize_bool(*self),
        }
    }
}
