//! How a wire value was spelled, and what a wire struct remembers of it: the [`Spelling`]
//! codes, the packed [`WireMemo`], the [`Recorder`] that fills it as a struct is read, the
//! [`MemoView`] that reads it as the struct is written, and the switch to the canonical form.

use std::cell::Cell;

/// How one value was spelled on the wire, as a code whose meaning is its type's (0: the
/// canonical spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spelling(u8);

impl Spelling {
    /// The canonical spelling: nothing to remember.
    pub(crate) const CANONICAL: Spelling = Spelling(0);
    /// `null`, for an optional value that has none.
    pub(crate) const NULL: Spelling = Spelling(u8::MAX);
    /// A number sent as a string.
    pub(super) const QUOTED: Spelling = Spelling(1);
    /// A float sent as an integer.
    pub(super) const INTEGER: Spelling = Spelling(2);
    /// A flag sent as `0` or `1`.
    pub(super) const FLAG_NUMBER: Spelling = Spelling(1);
    /// A flag sent as `"true"` or `"false"`.
    pub(super) const FLAG_WORD: Spelling = Spelling(2);
    /// A flag sent as `"1"` or `"0"`.
    pub(super) const FLAG_DIGIT: Spelling = Spelling(3);
    /// A number sent as a string other than its canonical one (`" 7"`, `"007"`), or a flag sent
    /// as a padded string: the text is kept.
    pub(super) const TEXT: Spelling = Spelling(4);
    /// A float sent as an integer that it does not hold exactly (beyond 2^53): the integer's
    /// digits are kept.
    pub(super) const INTEGER_TEXT: Spelling = Spelling(5);

    pub(crate) const fn new(code: u8) -> Spelling {
        Spelling(code)
    }

    pub(crate) const fn code(self) -> u8 {
        self.0
    }
}

/// One thing remembered of how a struct was sent: under which key a field came (0: its first),
/// and how its value, or the value of one item of its list, was spelled (a [`Spelling`] code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MemoEntry {
    item: u32,
    field: u8,
    key: u8,
    value: u8,
}

/// `item` of an entry about the field itself, not an item of its list.
const NO_ITEM: u32 = u32::MAX;

/// What a wire struct remembers of how it was sent.
///
/// Empty when every field came under its first key and in its canonical spelling. Up to four
/// entries about fields (not items of lists) are packed into `inline`, 16 bits each, so that the
/// usual deviations (an `EventTime` sent as a string, a legacy key or group type) cost no
/// allocation; more, entries about items of lists, and the texts of numbers sent in a form
/// their value does not give back, go to `spilled`.
#[derive(Clone, Default)]
pub(crate) struct WireMemo {
    /// Four slots of `(field + 1) << 10 | key << 8 | value`, filled from the lowest; 0 is free.
    inline: u64,
    pub(super) spilled: Option<Box<Spilled>>,
}

/// The entries that do not fit inline, and the texts kept.
#[derive(Clone, Default)]
pub(super) struct Spilled {
    entries: Vec<MemoEntry>,
    /// `(field, item, text)`.
    texts: Vec<(u8, u32, Box<str>)>,
}

/// How many inline slots there are, and their width.
const SLOTS: u32 = 4;
const SLOT_BITS: u32 = 16;

impl WireMemo {
    /// Whether nothing is remembered.
    pub(crate) fn is_empty(&self) -> bool {
        self.inline == 0 && self.spilled.is_none()
    }

    /// The memo to write with: none when it is empty, or when the canonical form is written.
    fn memo_view(&self) -> Option<&WireMemo> {
        if self.is_empty() || CANONICAL.with(Cell::get) {
            None
        } else {
            Some(self)
        }
    }

    fn slot(&self, i: u32) -> u16 {
        // Truncation is the point: one slot of the packed word.
        #[allow(clippy::cast_possible_truncation)]
        let slot = (self.inline >> (i * SLOT_BITS)) as u16;
        slot
    }

    /// The key and value codes noted for `field` (and `item`).
    fn get(&self, field: u8, item: u32) -> Option<(u8, u8)> {
        if item == NO_ITEM {
            for i in 0..SLOTS {
                let slot = self.slot(i);
                if slot == 0 {
                    break;
                }
                if slot >> 10 == u16::from(field) + 1 {
                    #[allow(clippy::cast_possible_truncation)]
                    return Some((((slot >> 8) & 3) as u8, slot as u8));
                }
            }
        }
        self.spilled.as_ref().and_then(|spilled| {
            spilled
                .entries
                .iter()
                .find(|e| e.field == field && e.item == item)
                .map(|e| (e.key, e.value))
        })
    }

    /// The text kept for `field` (and `item`).
    fn text(&self, field: u8, item: u32) -> Option<&str> {
        let spilled = self.spilled.as_ref()?;
        spilled
            .texts
            .iter()
            .find(|(f, i, _)| *f == field && *i == item)
            .map(|(_, _, text)| &**text)
    }

    /// Notes `key` and `value` codes (`None`: keep what is noted) for `field` (and `item`).
    /// A key code is below 4: a wire struct gives a field at most three other spellings.
    fn set(&mut self, field: u8, item: u32, key: Option<u8>, value: Option<u8>) {
        if item == NO_ITEM && field < 63 {
            let tag = (u16::from(field) + 1) << 10;
            for i in 0..SLOTS {
                let slot = self.slot(i);
                if slot == 0 || slot & 0xFC00 == tag {
                    // The slot's codes: none if it is free.
                    #[allow(clippy::cast_possible_truncation)]
                    let (old_key, old_value) = (((slot >> 8) & 3) as u8, slot as u8);
                    let key = key.unwrap_or(old_key) & 3;
                    let value = value.unwrap_or(old_value);
                    let packed = tag | u16::from(key) << 8 | u16::from(value);
                    let shift = i * SLOT_BITS;
                    self.inline = (self.inline & !(0xFFFF << shift)) | u64::from(packed) << shift;
                    return;
                }
            }
        }
        self.spill(field, item, key, value);
    }

    /// [`set`](Self::set) for what does not fit inline.
    #[cold]
    fn spill(&mut self, field: u8, item: u32, key: Option<u8>, value: Option<u8>) {
        let (old_key, old_value) = self.get(field, item).unwrap_or((0, 0));
        let (key, value) = (key.unwrap_or(old_key), value.unwrap_or(old_value));
        let entries = &mut self.spilled.get_or_insert_with(Box::default).entries;
        match entries
            .iter_mut()
            .find(|e| e.field == field && e.item == item)
        {
            Some(e) => (e.key, e.value) = (key, value),
            None => entries.push(MemoEntry {
                item,
                field,
                key,
                value,
            }),
        }
    }
}

/// The memo of a wire struct: a [`WireMemo`], or, for a struct none of whose fields can be
/// spelled another way (`Member`, `TextElem`: one string under one key), [`NoMemo`], which costs
/// no byte, so that lists of many small items stay as small as they were.
pub(crate) trait Memo: Clone + Default + From<WireMemo> {
    /// The memo to write with, if any.
    fn view(&self) -> Option<&WireMemo>;
}

impl Memo for WireMemo {
    fn view(&self) -> Option<&WireMemo> {
        self.memo_view()
    }
}

/// The memo of a struct that has nothing to remember.
#[derive(Clone, Copy, Default)]
pub(crate) struct NoMemo;

impl From<WireMemo> for NoMemo {
    /// Nothing was noted: the struct has no field that notes.
    fn from(_: WireMemo) -> NoMemo {
        NoMemo
    }
}

impl Memo for NoMemo {
    fn view(&self) -> Option<&WireMemo> {
        None
    }
}

/// Picks a struct's memo type: [`WireMemo`] if `NEEDED`, else [`NoMemo`].
pub(crate) struct MemoIf<const NEEDED: bool>;

/// The memo type [`MemoIf`] picks.
pub(crate) trait SelectMemo {
    type Memo: Memo;
}

impl SelectMemo for MemoIf<true> {
    type Memo = WireMemo;
}

impl SelectMemo for MemoIf<false> {
    type Memo = NoMemo;
}

thread_local! {
    /// Whether wire values are being written in their canonical form (see [`canonical`]).
    static CANONICAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every wire value it serialises written in its canonical form: each field under
/// its first key, numbers as numbers, flags as booleans, enums by their documented name, ids
/// as strings, and no `null` for an absent value. Idempotency keys are read so, so that they do
/// not depend on how an event was spelled.
pub(crate) fn canonical<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CANONICAL.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CANONICAL.with(|c| c.replace(true)));
    f()
}

/// Whether the canonical form is being written.
pub(crate) fn is_canonical() -> bool {
    CANONICAL.with(Cell::get)
}

/// Where the spellings of one field are noted as it is read.
pub(crate) struct Recorder<'a> {
    memo: Option<&'a mut WireMemo>,
    field: u8,
    item: u32,
}

impl<'a> Recorder<'a> {
    /// Notes into `memo`, for field number `field`.
    pub(crate) fn field(memo: &'a mut WireMemo, field: u8) -> Recorder<'a> {
        Recorder {
            memo: Some(memo),
            field,
            item: NO_ITEM,
        }
    }

    /// Notes nothing: for values read outside a wire struct.
    pub(crate) fn ignore() -> Recorder<'static> {
        Recorder {
            memo: None,
            field: 0,
            item: NO_ITEM,
        }
    }

    /// Notes that the field came under its key number `key` (0: its first).
    #[inline]
    pub(crate) fn key(&mut self, key: u8) {
        if key != 0
            && let Some(memo) = &mut self.memo
        {
            memo.set(self.field, self.item, Some(key), None);
        }
    }

    /// Notes how the value was spelled.
    #[inline]
    pub(crate) fn note(&mut self, spelling: Spelling) {
        if spelling != Spelling::CANONICAL
            && let Some(memo) = &mut self.memo
        {
            memo.set(self.field, self.item, None, Some(spelling.0));
        }
    }

    /// Notes a value read from the string `text`: `spelling` when `text` is how that spelling
    /// writes the value (`as_written`), else the text itself.
    #[inline]
    pub(super) fn note_str(&mut self, spelling: Spelling, text: &str, as_written: bool) {
        if as_written {
            self.note(spelling);
        } else {
            self.keep(Spelling::TEXT, text);
        }
    }

    /// Notes `spelling` and keeps `text`, which that spelling needs.
    #[cold]
    pub(super) fn keep(&mut self, spelling: Spelling, text: &str) {
        self.note(spelling);
        if let Some(memo) = &mut self.memo {
            let spilled = memo.spilled.get_or_insert_with(Box::default);
            spilled
                .texts
                .retain(|(f, i, _)| (*f, *i) != (self.field, self.item));
            spilled.texts.push((self.field, self.item, text.into()));
        }
    }

    /// Notes for item `item` of the field's list.
    pub(super) fn item(&mut self, item: usize) -> Recorder<'_> {
        Recorder {
            memo: self.memo.as_deref_mut(),
            field: self.field,
            item: u32::try_from(item).unwrap_or(NO_ITEM - 1),
        }
    }
}

/// The spellings of one field (or of one item of its list) as they were read.
#[derive(Clone, Copy)]
pub(crate) struct MemoView<'a> {
    memo: Option<&'a WireMemo>,
    field: u8,
    item: u32,
}

impl<'a> MemoView<'a> {
    /// The spellings of field number `field` in `memo` (none: every spelling canonical).
    pub(crate) fn field(memo: Option<&'a WireMemo>, field: u8) -> MemoView<'a> {
        MemoView {
            memo,
            field,
            item: NO_ITEM,
        }
    }

    fn codes(self) -> (u8, u8) {
        self.memo
            .and_then(|m| m.get(self.field, self.item))
            .unwrap_or((0, 0))
    }

    /// How the value was spelled.
    pub(crate) fn spelling(self) -> Spelling {
        Spelling(self.codes().1)
    }

    /// The text kept of the value.
    pub(super) fn text(self) -> Option<&'a str> {
        self.memo.and_then(|m| m.text(self.field, self.item))
    }

    /// The key the field came under: `first`, or one of `others`.
    pub(crate) fn key(self, first: &'static str, others: &[&'static str]) -> &'static str {
        match self.codes().0 {
            0 => first,
            k => others.get(usize::from(k) - 1).copied().unwrap_or(first),
        }
    }

    /// The spellings of item `item` of the field's list.
    pub(super) fn item(self, item: usize) -> MemoView<'a> {
        MemoView {
            item: u32::try_from(item).unwrap_or(NO_ITEM - 1),
            ..self
        }
    }
}

/// The position (from 1) of `value` among `others`, the other spellings of a key or a value.
pub(crate) fn other_spelling(others: &[&str], value: &str) -> Option<u8> {
    others
        .iter()
        .position(|o| *o == value)
        .and_then(|i| u8::try_from(i + 1).ok())
}
