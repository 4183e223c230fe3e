//! The [`open_str_enum!`] and [`open_int_enum!`] macros: enums of documented values that keep
//! any other value as sent.

/// Declares an open enum of string values: one variant per documented value, plus `Other`
/// holding any value this crate does not know, so nothing is lost and a new value never breaks
/// parsing. Values are matched exactly; list other documented spellings after the first
/// (`Mac = "Mac" | "macOS"`), which are read as the variant. A field of a wire struct writes its
/// value back in the spelling it came in; the enum alone ([`Display`](std::fmt::Display),
/// `Serialize`, `as_str`) writes the first.
macro_rules! open_str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("\n\nWire value: `", $wire, "`", $(", also read from `", $alias, "`",)* ".")]
                $variant,
            )*
            /// A value this crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Reads a value; never fails.
            pub fn parse(value: &str) -> Self {
                Self::parse_spelled(value).0
            }

            /// The documented spelling (`Other` gives back what was sent).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(s) => s,
                }
            }
        }

        const _: () = {
            use $crate::protocol::wire::{MemoView, Recorder, Spelling, Wire, other_spelling};

            /// The variants, numbered for the spelling code.
            #[allow(non_camel_case_types, dead_code)]
            #[repr(u8)]
            enum __Variant {
                $($variant,)*
            }

            // A spelling code is the variant's number times 4 plus its spelling's (1 to 3), below
            // `Spelling::NULL`.
            const _: () = assert!([$(stringify!($variant)),*].len() < 63);

            impl $name {
                /// The value of `value`, and its spelling code (0 for the first spelling).
                fn parse_spelled(value: &str) -> (Self, u8) {
                    match value {
                        $($wire => return ($name::$variant, 0),)*
                        _ => {}
                    }
                    $(if let Some(i) = other_spelling(&[$($alias),*], value) {
                        return ($name::$variant, __Variant::$variant as u8 * 4 + i);
                    })*
                    ($name::Other(value.to_owned()), 0)
                }

                /// The spelling of spelling code `code` if it is one of this value's, else the
                /// first.
                fn spelled(&self, code: u8) -> &str {
                    if code != 0 {
                        match self {
                            $($name::$variant if code / 4 == __Variant::$variant as u8 => {
                                let others: &[&'static str] = &[$($alias),*];
                                if let Some(s) = (code % 4).checked_sub(1).and_then(|i| others.get(usize::from(i))) {
                                    return s;
                                }
                            })*
                            _ => {}
                        }
                    }
                    self.as_str()
                }
            }

            impl Wire for $name {
                fn de<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    <$name as ::serde::Deserialize>::deserialize(d)
                }

                const NOTES: bool = true;

                fn de_noted<'de, D: ::serde::Deserializer<'de>>(
                    d: D,
                    rec: &mut Recorder<'_>,
                ) -> Result<Self, D::Error> {
                    struct V;
                    impl ::serde::de::Visitor<'_> for V {
                        type Value = ($name, u8);
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str("a string")
                        }
                        fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                            Ok($name::parse_spelled(v))
                        }
                    }
                    let (value, code) = d.deserialize_str(V)?;
                    rec.note(Spelling::new(code));
                    Ok(value)
                }

                fn ser<S: ::serde::Serializer>(&self, s: S, memo: MemoView<'_>) -> Result<S::Ok, S::Error> {
                    s.serialize_str(self.spelled(memo.spelling().code()))
                }
            }
        };

        impl Default for $name {
            /// `Other("")`: no value.
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use open_str_enum;

/// Declares an open enum of integer codes (read from numbers or numeric strings, as every
/// integer here): one variant per documented code, plus `Other` keeping any other code.
macro_rules! open_int_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("\n\nWire value: `", stringify!($code), "`.")]
                $variant,
            )*
            /// A code this crate does not know, kept as sent.
            Other(i64),
        }

        impl $name {
            /// Reads a code; never fails.
            pub fn from_code(code: i64) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    other => $name::Other(other),
                }
            }

            /// The numeric code.
            pub fn code(self) -> i64 {
                match self {
                    $($name::$variant => $code,)*
                    $name::Other(c) => c,
                }
            }
        }

        impl Default for $name {
            /// The variant of code 0 (or `Other(0)`).
            fn default() -> Self {
                $name::from_code(0)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.code())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <i64 as $crate::protocol::wire::Wire>::de(d).map($name::from_code)
            }
        }

        impl $crate::protocol::wire::Wire for $name {
            fn de<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$name as ::serde::Deserialize>::deserialize(d)
            }

            const NOTES: bool = true;

            /// A code sent as a string is written back as one.
            fn de_noted<'de, D: ::serde::Deserializer<'de>>(
                d: D,
                rec: &mut $crate::protocol::wire::Recorder<'_>,
            ) -> Result<Self, D::Error> {
                <i64 as $crate::protocol::wire::Wire>::de_noted(d, rec).map($name::from_code)
            }

            fn ser<S: ::serde::Serializer>(
                &self,
                s: S,
                memo: $crate::protocol::wire::MemoView<'_>,
            ) -> Result<S::Ok, S::Error> {
                $crate::protocol::wire::Wire::ser(&self.code(), s, memo)
            }
        }
    };
}
pub(crate) use open_int_enum;
