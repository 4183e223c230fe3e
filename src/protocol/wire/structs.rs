//! The [`wire_struct!`] macro, which declares every struct of the crate's events.

/// Declares a wire struct: public snake_case fields mapped to Tencent's keys, plus `extra`.
///
/// `Option<T>` fields may be absent; every other field is required (see the rule in the module
/// docs). A field may list other spellings after its key (`=> "Random" | "MsgRandom"`): any of
/// them fills the field, which is written back under the one it came with (the first when built
/// by hand); two spellings in one object are a duplicate. Generates `Debug`, `Clone`,
/// `PartialEq` (which ignores spelling), `Default`, `Deserialize`, `Serialize` and the crate's
/// `Wire`, and, for the tests, the struct's schema (`WIRE`: its keys and which are required).
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty => $key:literal $(| $alias:literal)*,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[doc = concat!("\n\nWire key: `", $key, "`", $(", also read as `", $alias, "`",)* ".")]
                pub $field: $ty,
            )*
            /// Keys this crate does not know, kept as sent and written back when serialised.
            pub extra: $crate::protocol::raw::Extra,
            /// How the fields above were spelled, to write them back so: nothing at all for a
            /// struct none of whose fields can be spelled another way.
            memo: <$crate::protocol::wire::MemoIf<{
                $(<$ty as $crate::protocol::wire::Wire>::NOTES
                    || !<[&str]>::is_empty(&[$($alias),*]) ||)* false
            }> as $crate::protocol::wire::SelectMemo>::Memo,
        }

        const _: () = {
            use ::serde::de::{self, DeserializeSeed, MapAccess, Visitor};
            use ::serde::ser::SerializeMap;
            use $crate::protocol::wire::{
                MemoView, NotedSeed, Recorder, Spelled, Spelling, Wire, WireMemo, WireSeed,
                other_spelling,
            };

            /// The fields, numbered for the memo.
            #[allow(non_camel_case_types, dead_code)]
            #[repr(u8)]
            enum __Field {
                $($field,)*
            }

            // A memo notes a field's key as a code below 4.
            $(const _: () = assert!(
                <[&str]>::len(&[$($alias),*]) < 4,
                "at most three other spellings"
            );)*

            /// A key: a field, or another key.
            #[allow(non_camel_case_types)]
            enum __Key {
                $($field,)*
                __other(String),
            }

            /// Reads a key, and writes which spelling of its field it is (0: the first, left
            /// as it is) to its `u8`.
            struct KeySeed<'a>(&'a mut u8);

            impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
                type Value = __Key;
                fn deserialize<D: ::serde::Deserializer<'de>>(self, d: D) -> Result<__Key, D::Error> {
                    d.deserialize_identifier(self)
                }
            }

            impl<'de> Visitor<'de> for KeySeed<'_> {
                type Value = __Key;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("a field name")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<__Key, E> {
                    Ok(match v {
                        $($key => __Key::$field,)*
                        _ => {
                            $(if let Some(i) = other_spelling(&[$($alias),*], v) {
                                *self.0 = i;
                                return Ok(__Key::$field);
                            })*
                            __Key::__other(v.to_owned())
                        }
                    })
                }
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    struct StructVisitor;
                    impl<'de> Visitor<'de> for StructVisitor {
                        type Value = $name;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str(concat!("a ", stringify!($name), " object"))
                        }
                        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                            $(let mut $field: Option<$ty> = None;)*
                            let mut extra = $crate::protocol::raw::ExtraBuilder::default();
                            let mut memo = WireMemo::default();
                            let mut spelling = 0;
                            while let Some(__k) = map.next_key_seed(KeySeed(&mut spelling))? {
                                match __k {
                                    $(__Key::$field => {
                                        if $field.is_some() {
                                            return Err(de::Error::duplicate_field($key));
                                        }
                                        // Only a type that notes spellings, or a key spelled
                                        // otherwise, needs the memo (both known when compiled,
                                        // but for the key).
                                        $field = Some(if <$ty as Wire>::NOTES || spelling != 0 {
                                            let mut rec = Recorder::field(&mut memo, __Field::$field as u8);
                                            rec.key(::std::mem::take(&mut spelling));
                                            map.next_value_seed(NotedSeed::<$ty>::new(&mut rec))?
                                        } else {
                                            map.next_value_seed(WireSeed::<$ty>::new())?
                                        });
                                    })*
                                    __Key::__other(k) => extra.next_value(&k, &mut map)?,
                                }
                            }
                            Ok($name {
                                $($field: match $field {
                                    Some(v) => v,
                                    None => <$ty as Wire>::missing($key)?,
                                },)*
                                extra: extra.finish()?,
                                memo: memo.into(),
                            })
                        }
                    }
                    d.deserialize_map(StructVisitor)
                }
            }

            impl ::serde::Serialize for $name {
                fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    #[cfg(test)]
                    $crate::protocol::wire::schema::seen(&$name::WIRE);
                    let memo = $crate::protocol::wire::Memo::view(&self.memo);
                    let mut m = s.serialize_map(None)?;
                    $({
                        let view = MemoView::field(memo, __Field::$field as u8);
                        if !Wire::is_absent(&self.$field) || view.spelling() == Spelling::NULL {
                            m.serialize_entry(
                                view.key($key, &[$($alias),*]),
                                &Spelled(&self.$field, view),
                            )?;
                        }
                    })*
                    self.extra.serialize_into(&mut m)?;
                    m.end()
                }
            }

            /// Compares what the fields say, not how they were spelled.
            impl PartialEq for $name {
                fn eq(&self, other: &Self) -> bool {
                    $(self.$field == other.$field &&)* self.extra == other.extra
                }
            }

            impl ::std::fmt::Debug for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(stringify!($name))
                        $(.field(stringify!($field), &self.$field))*
                        .field("extra", &self.extra)
                        .finish()
                }
            }

            impl Wire for $name {
                fn de<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    <$name as ::serde::Deserialize>::deserialize(d)
                }

                fn unknown_keys(&self, path: &str, out: &mut Vec<String>) {
                    $(Wire::unknown_keys(&self.$field, &$crate::protocol::wire::join_key(path, $key), out);)*
                    for k in self.extra.keys() {
                        out.push($crate::protocol::wire::join_key(path, &k));
                    }
                }

                #[cfg(test)]
                fn shape() -> $crate::protocol::wire::schema::Shape {
                    $crate::protocol::wire::schema::Shape::Struct(&$name::WIRE)
                }
            }

            #[cfg(test)]
            impl $name {
                /// The keys of this struct and which are required.
                pub(crate) const WIRE: $crate::protocol::wire::schema::StructInfo =
                    $crate::protocol::wire::schema::StructInfo {
                        name: concat!(module_path!(), "::", stringify!($name)),
                        fields: &[$($crate::protocol::wire::schema::FieldInfo {
                            key: $key,
                            others: &[$($alias),*],
                            required: !<$ty as Wire>::OPTIONAL,
                            shape: <$ty as Wire>::shape,
                        },)*],
                    };
            }
        };
    };
}
pub(crate) use wire_struct;
