//! The shape of every wire struct (its keys, which are required, and the structs they hold), for
//! the tests that check the required-field rule against every command.

use std::cell::Cell;

use serde::Serialize;

/// A wire struct: its name (with its module) and its keys.
#[derive(Debug)]
pub(crate) struct StructInfo {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [FieldInfo],
}

impl StructInfo {
    /// The first keys of its required fields.
    pub(crate) fn required(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().filter(|f| f.required).map(|f| f.key)
    }

    /// The field read from `key`, under any of its spellings.
    pub(crate) fn field(&self, key: &str) -> Option<&'static FieldInfo> {
        self.fields
            .iter()
            .find(|f| f.key == key || f.others.contains(&key))
    }

    /// The name without the crate's module path (`group::AfterSendMsg`).
    pub(crate) fn short_name(&self) -> &'static str {
        self.name
            .strip_prefix("tencent_chat_webhook::protocol::")
            .unwrap_or(self.name)
    }
}

/// One field: its key, its other spellings, whether it is required, and its type's shape.
#[derive(Debug)]
pub(crate) struct FieldInfo {
    pub(crate) key: &'static str,
    pub(crate) others: &'static [&'static str],
    pub(crate) required: bool,
    pub(crate) shape: fn() -> Shape,
}

/// What a field holds (through `Option` and `Vec`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// A value with no keys of its own.
    Leaf,
    /// A `String`: a text copied out of the body (the crate's events hold
    /// [`ImStr`](crate::ImStr)s, which are not).
    Copied,
    /// A wire struct.
    Struct(&'static StructInfo),
    /// A message element: `MsgType`, and `MsgContent`, the struct of its type (`None` for a
    /// type this crate does not know).
    Element(fn(&str) -> Option<&'static StructInfo>),
}

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static SEEN: Cell<Option<&'static StructInfo>> = const { Cell::new(None) };
}

/// Called by every wire struct as it is serialised.
pub(crate) fn seen(info: &'static StructInfo) {
    if WATCHING.with(Cell::get) && SEEN.with(Cell::get).is_none() {
        SEEN.with(|s| s.set(Some(info)));
    }
}

/// The wire struct `value` is written as (the outermost one), if any.
pub(crate) fn of(value: &impl Serialize) -> Option<&'static StructInfo> {
    WATCHING.with(|w| w.set(true));
    SEEN.with(|s| s.set(None));
    let _ = serde_json::to_writer(std::io::sink(), value);
    WATCHING.with(|w| w.set(false));
    SEEN.with(Cell::take)
}

/// Every wire struct `root` holds, itself included, once each.
pub(crate) fn reachable(root: &'static StructInfo) -> Vec<&'static StructInfo> {
    fn walk(shape: Shape, out: &mut Vec<&'static StructInfo>) {
        let structs: Vec<&'static StructInfo> = match shape {
            Shape::Leaf | Shape::Copied => Vec::new(),
            Shape::Struct(info) => vec![info],
            Shape::Element(content) => crate::protocol::message::KNOWN
                .iter()
                .filter_map(|t| content(t))
                .collect(),
        };
        for info in structs {
            if out
                .iter()
                .any(|seen| std::ptr::eq(*seen, info) || seen.name == info.name)
            {
                continue;
            }
            out.push(info);
            for field in info.fields {
                walk((field.shape)(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Shape::Struct(root), &mut out);
    out
}
