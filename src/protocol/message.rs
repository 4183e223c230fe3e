//! Message bodies: `MsgBody` arrays of `TIM*Elem` elements.
//!
//! Source: Tencent's "Message Formats" page (1047/33527, 269/2720). Element types this crate does
//! not know are kept whole, so a message can be read, rewritten and sent back without losing
//! anything.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::imstr::ImStr;
use super::raw::{Extra, ExtraBuilder, RawJson};
use super::wire::{Wire, wire_struct};

/// One element of a message body: `{"MsgType": "...", "MsgContent": {...}}`.
///
/// ```
/// use tencent_chat_webhook::message::{MsgContent, MsgElement};
///
/// let json = r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}"#;
/// let elem: MsgElement = serde_json::from_str(json).unwrap();
/// assert_eq!(elem.as_text(), Some("hi"));
/// assert!(matches!(elem.content, MsgContent::Text(_)));
/// assert_eq!(serde_json::to_string(&elem).unwrap(), json);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MsgElement {
    /// The element's content, typed by its `MsgType`.
    pub content: MsgContent,
    /// Keys beside `MsgType` and `MsgContent`, kept as sent.
    pub extra: Extra,
}

/// The content of a [`MsgElement`], one variant per documented `MsgType`.
///
/// Every element type but text is boxed, so that an element costs 80 bytes, not the size of the
/// largest content (about 250 bytes): a body may carry a great many of them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MsgContent {
    /// `TIMTextElem`.
    Text(TextElem),
    /// `TIMLocationElem`.
    Location(Box<LocationElem>),
    /// `TIMFaceElem`.
    Face(Box<FaceElem>),
    /// `TIMCustomElem`.
    Custom(Box<CustomElem>),
    /// `TIMSoundElem`.
    Sound(Box<SoundElem>),
    /// `TIMImageElem`.
    Image(Box<ImageElem>),
    /// `TIMFileElem`.
    File(Box<FileElem>),
    /// `TIMVideoFileElem`.
    VideoFile(Box<VideoFileElem>),
    /// `TIMRelayElem` (combined, forwarded messages).
    Relay(Box<RelayElem>),
    /// A `MsgType` this crate does not know, kept as sent.
    Unknown {
        /// The `MsgType` as sent.
        msg_type: ImStr,
        /// The `MsgContent` as sent, if there was one.
        content: Option<RawJson>,
    },
}

impl MsgElement {
    /// A `TIMTextElem` with this text.
    pub fn text(text: impl Into<ImStr>) -> Self {
        TextElem::new(text).into()
    }

    /// The `MsgType` string of this element.
    pub fn msg_type(&self) -> &str {
        match &self.content {
            MsgContent::Text(_) => TEXT,
            MsgContent::Location(_) => LOCATION,
            MsgContent::Face(_) => FACE,
            MsgContent::Custom(_) => CUSTOM,
            MsgContent::Sound(_) => SOUND,
            MsgContent::Image(_) => IMAGE,
            MsgContent::File(_) => FILE,
            MsgContent::VideoFile(_) => VIDEO_FILE,
            MsgContent::Relay(_) => RELAY,
            MsgContent::Unknown { msg_type, .. } => msg_type,
        }
    }

    /// The text of a `TIMTextElem`, `None` for any other element.
    pub fn as_text(&self) -> Option<&str> {
        match &self.content {
            MsgContent::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

impl From<MsgContent> for MsgElement {
    fn from(content: MsgContent) -> Self {
        MsgElement {
            content,
            extra: Extra::new(),
        }
    }
}

macro_rules! element_from {
    ($($variant:ident($ty:ident)),*) => {$(
        impl From<$ty> for MsgElement {
            fn from(elem: $ty) -> Self {
                MsgContent::$variant(Box::new(elem)).into()
            }
        }
    )*};
}

impl From<TextElem> for MsgElement {
    fn from(elem: TextElem) -> Self {
        MsgContent::Text(elem).into()
    }
}

element_from!(
    Location(LocationElem),
    Face(FaceElem),
    Custom(CustomElem),
    Sound(SoundElem),
    Image(ImageElem),
    File(FileElem),
    VideoFile(VideoFileElem),
    Relay(RelayElem)
);

const TEXT: &str = "TIMTextElem";
const LOCATION: &str = "TIMLocationElem";
const FACE: &str = "TIMFaceElem";
const CUSTOM: &str = "TIMCustomElem";
const SOUND: &str = "TIMSoundElem";
const IMAGE: &str = "TIMImageElem";
const FILE: &str = "TIMFileElem";
const VIDEO_FILE: &str = "TIMVideoFileElem";
const RELAY: &str = "TIMRelayElem";
pub(crate) const KNOWN: [&str; 9] = [
    TEXT, LOCATION, FACE, CUSTOM, SOUND, IMAGE, FILE, VIDEO_FILE, RELAY,
];

wire_struct! {
    /// `TIMTextElem` content.
    pub struct TextElem {
        /// The text; also the offline-push text.
        pub text: ImStr => "Text",
    }
}

impl TextElem {
    /// Text content with this text.
    pub fn new(text: impl Into<ImStr>) -> Self {
        TextElem {
            text: text.into(),
            ..TextElem::default()
        }
    }
}

wire_struct! {
    /// `TIMLocationElem` content.
    pub struct LocationElem {
        /// Description of the place.
        pub desc: Option<ImStr> => "Desc",
        /// Latitude.
        pub latitude: f64 => "Latitude",
        /// Longitude.
        pub longitude: f64 => "Longitude",
    }
}

wire_struct! {
    /// `TIMFaceElem` content (an app-defined emoji).
    pub struct FaceElem {
        /// Emoji index, defined by the app.
        pub index: i64 => "Index",
        /// Extra data.
        pub data: Option<ImStr> => "Data",
    }
}

wire_struct! {
    /// `TIMCustomElem` content. A message carries at most one.
    ///
    /// ```
    /// use tencent_chat_webhook::message::{CustomElem, MsgElement};
    ///
    /// let mut level = CustomElem::default();
    /// level.desc = Some("CustomElement.MemberLevel".into());
    /// level.data = Some("LV1".into());
    /// let json = serde_json::to_string(&MsgElement::from(level)).unwrap();
    /// assert_eq!(
    ///     json,
    ///     r#"{"MsgType":"TIMCustomElem","MsgContent":{"Desc":"CustomElement.MemberLevel","Data":"LV1"}}"#
    /// );
    /// ```
    pub struct CustomElem {
        // `Desc` before `Data`, as in the before-send reply sample, so a rewrite built with this
        // type serialises exactly like Tencent's documented reply.
        /// Description, used as the offline-push text.
        pub desc: Option<ImStr> => "Desc",
        /// The custom payload.
        pub data: Option<ImStr> => "Data",
        /// Extension, delivered as the APNs `ext` key.
        pub ext: Option<ImStr> => "Ext",
        /// Custom APNs sound.
        pub sound: Option<ImStr> => "Sound",
    }
}

wire_struct! {
    /// `TIMSoundElem` content (voice). Legacy 2.x/3.x senders omit `Url` and `Download_Flag`.
    pub struct SoundElem {
        /// Download URL.
        pub url: Option<ImStr> => "Url",
        /// Unique id of the audio.
        pub uuid: Option<ImStr> => "UUID",
        /// Size in bytes.
        pub size: Option<u64> => "Size",
        /// Duration in seconds.
        pub second: Option<u64> => "Second",
        /// Download method; `2` means download from `Url`.
        pub download_flag: Option<u32> => "Download_Flag",
    }
}

wire_struct! {
    /// `TIMImageElem` content.
    pub struct ImageElem {
        /// Unique id of the image.
        pub uuid: Option<ImStr> => "UUID",
        /// JPG = 1, GIF = 2, PNG = 3, BMP = 4, other = 255.
        pub image_format: Option<u32> => "ImageFormat",
        /// One entry per size variant.
        pub image_info_array: Option<Vec<ImageInfo>> => "ImageInfoArray",
    }
}

wire_struct! {
    /// One size variant of a [`ImageElem`].
    pub struct ImageInfo {
        /// 1 original, 2 large, 3 thumbnail.
        pub kind: Option<u32> => "Type",
        /// Size in bytes.
        pub size: Option<u64> => "Size",
        /// Width in pixels.
        pub width: Option<u32> => "Width",
        /// Height in pixels.
        pub height: Option<u32> => "Height",
        /// Download URL (upper-case `URL` on the wire, unlike sound and file).
        pub url: Option<ImStr> => "URL",
    }
}

wire_struct! {
    /// `TIMFileElem` content.
    pub struct FileElem {
        /// Download URL.
        pub url: Option<ImStr> => "Url",
        /// Unique id of the file.
        pub uuid: Option<ImStr> => "UUID",
        /// Size in bytes.
        pub file_size: Option<u64> => "FileSize",
        /// File name.
        pub file_name: Option<ImStr> => "FileName",
        /// Download method; `2` means download from `Url`.
        pub download_flag: Option<u32> => "Download_Flag",
    }
}

wire_struct! {
    /// `TIMVideoFileElem` content.
    pub struct VideoFileElem {
        /// Video download URL.
        pub video_url: Option<ImStr> => "VideoUrl",
        /// Unique id of the video.
        pub video_uuid: Option<ImStr> => "VideoUUID",
        /// Size in bytes.
        pub video_size: Option<u64> => "VideoSize",
        /// Duration in seconds (0 from Web clients).
        pub video_second: Option<u64> => "VideoSecond",
        /// Container format, e.g. `mp4`.
        pub video_format: Option<ImStr> => "VideoFormat",
        /// Download method of the video; `2` means download from the URL.
        pub video_download_flag: Option<u32> => "VideoDownloadFlag",
        /// Thumbnail download URL.
        pub thumb_url: Option<ImStr> => "ThumbUrl",
        /// Unique id of the thumbnail.
        pub thumb_uuid: Option<ImStr> => "ThumbUUID",
        /// Thumbnail size in bytes.
        pub thumb_size: Option<u64> => "ThumbSize",
        /// Thumbnail width in pixels.
        pub thumb_width: Option<u32> => "ThumbWidth",
        /// Thumbnail height in pixels.
        pub thumb_height: Option<u32> => "ThumbHeight",
        /// Thumbnail format, e.g. `JPG`.
        pub thumb_format: Option<ImStr> => "ThumbFormat",
        /// Download method of the thumbnail; `2` means download from the URL.
        pub thumb_download_flag: Option<u32> => "ThumbDownloadFlag",
    }
}

wire_struct! {
    /// `TIMRelayElem` content: several messages forwarded as one.
    pub struct RelayElem {
        /// Title of the combined message.
        pub title: Option<ImStr> => "Title",
        /// Number of forwarded messages.
        pub msg_num: Option<u32> => "MsgNum",
        /// Fallback text for SDKs that cannot show combined messages.
        pub compatible_text: Option<ImStr> => "CompatibleText",
        /// Summary lines.
        pub abstract_list: Option<Vec<ImStr>> => "AbstractList",
        /// The forwarded messages, when they total at most 12 KB.
        pub msg_list: Option<Vec<RelayMsg>> => "MsgList",
        /// Key of the stored message list, when the messages total more than 12 KB.
        pub json_msg_key: Option<ImStr> => "JsonMsgKey",
    }
}

wire_struct! {
    /// One forwarded message inside a [`RelayElem`].
    pub struct RelayMsg {
        /// Sender.
        pub from_account: Option<ImStr> => "From_Account",
        /// Receiver (one-to-one messages only).
        pub to_account: Option<ImStr> => "To_Account",
        /// Group (group messages only).
        pub group_id: Option<ImStr> => "GroupId",
        /// Message sequence number (64 bits: values above 2^32 occur).
        pub msg_seq: Option<u64> => "MsgSeq",
        /// Message random number (64 bits, like `MsgSeq`).
        pub msg_random: Option<u64> => "MsgRandom" | "Random",
        /// Send time, Unix seconds.
        pub msg_time_stamp: Option<u64> => "MsgTimeStamp",
        /// The forwarded message's body.
        pub msg_body: Option<Vec<MsgElement>> => "MsgBody",
        /// The forwarded message's custom data.
        pub cloud_custom_data: Option<ImStr> => "CloudCustomData",
    }
}

/// Reads `MsgContent` once its `MsgType` is known.
struct ContentSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for ContentSeed<'_> {
    type Value = MsgContent;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MsgContent, D::Error> {
        Ok(match self.0 {
            TEXT => MsgContent::Text(Wire::de(d)?),
            LOCATION => MsgContent::Location(Box::new(Wire::de(d)?)),
            FACE => MsgContent::Face(Box::new(Wire::de(d)?)),
            CUSTOM => MsgContent::Custom(Box::new(Wire::de(d)?)),
            SOUND => MsgContent::Sound(Box::new(Wire::de(d)?)),
            IMAGE => MsgContent::Image(Box::new(Wire::de(d)?)),
            FILE => MsgContent::File(Box::new(Wire::de(d)?)),
            VIDEO_FILE => MsgContent::VideoFile(Box::new(Wire::de(d)?)),
            RELAY => MsgContent::Relay(Box::new(Wire::de(d)?)),
            other => MsgContent::Unknown {
                msg_type: ImStr::from(other),
                content: Some(RawJson::deserialize(d)?),
            },
        })
    }
}

/// The keys of an element envelope, read without allocating for the two known ones.
enum ElemKey {
    MsgType,
    MsgContent,
    Other(String),
}

impl<'de> Deserialize<'de> for ElemKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = ElemKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ElemKey, E> {
                Ok(match v {
                    "MsgType" => ElemKey::MsgType,
                    "MsgContent" => ElemKey::MsgContent,
                    other => ElemKey::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A `MsgType` value: a known type is the table's `&'static str`, so no allocation.
struct TypeName(Cow<'static, str>);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = TypeName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a MsgType string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TypeName, E> {
                Ok(TypeName(match KNOWN.iter().find(|k| **k == v) {
                    Some(known) => Cow::Borrowed(*known),
                    None => Cow::Owned(v.to_owned()),
                }))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

impl<'de> Deserialize<'de> for MsgElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ElemVisitor;

        impl<'de> Visitor<'de> for ElemVisitor {
            type Value = MsgElement;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message element object with MsgType and MsgContent")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MsgElement, A::Error> {
                let mut msg_type: Option<Cow<'static, str>> = None;
                let mut content: Option<MsgContent> = None;
                // `MsgContent` may come before `MsgType` (Tencent's relay sample does that):
                // then it is held as its JSON text until the type is known.
                let mut early: Option<Box<RawValue>> = None;
                let mut extra = ExtraBuilder::default();
                while let Some(key) = map.next_key::<ElemKey>()? {
                    match key {
                        ElemKey::MsgType => {
                            if msg_type.is_some() {
                                return Err(de::Error::duplicate_field("MsgType"));
                            }
                            msg_type = Some(map.next_value::<TypeName>()?.0);
                        }
                        ElemKey::MsgContent => {
                            if content.is_some() || early.is_some() {
                                return Err(de::Error::duplicate_field("MsgContent"));
                            }
                            match &msg_type {
                                Some(t) => content = Some(map.next_value_seed(ContentSeed(t))?),
                                None => early = Some(map.next_value()?),
                            }
                        }
                        ElemKey::Other(key) => extra.next_value(&key, &mut map)?,
                    }
                }
                let msg_type = msg_type.ok_or_else(|| de::Error::missing_field("MsgType"))?;
                let content = match (content, early) {
                    (Some(c), _) => c,
                    (None, Some(v)) => ContentSeed(&msg_type)
                        .deserialize(&*v)
                        .map_err(|e| de::Error::custom(format_args!("MsgContent: {e}")))?,
                    (None, None) if KNOWN.contains(&&*msg_type) => {
                        return Err(de::Error::missing_field("MsgContent"));
                    }
                    (None, None) => MsgContent::Unknown {
                        msg_type: ImStr::from(msg_type),
                        content: None,
                    },
                };
                Ok(MsgElement {
                    content,
                    extra: extra.finish()?,
                })
            }
        }

        d.deserialize_map(ElemVisitor)
    }
}

impl Wire for MsgElement {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MsgElement::deserialize(d)
    }

    fn unknown_keys(&self, path: &str, out: &mut Vec<String>) {
        let content = super::wire::join_key(path, "MsgContent");
        match &self.content {
            MsgContent::Text(c) => c.unknown_keys(&content, out),
            MsgContent::Location(c) => c.unknown_keys(&content, out),
            MsgContent::Face(c) => c.unknown_keys(&content, out),
            MsgContent::Custom(c) => c.unknown_keys(&content, out),
            MsgContent::Sound(c) => c.unknown_keys(&content, out),
            MsgContent::Image(c) => c.unknown_keys(&content, out),
            MsgContent::File(c) => c.unknown_keys(&content, out),
            MsgContent::VideoFile(c) => c.unknown_keys(&content, out),
            MsgContent::Relay(c) => c.unknown_keys(&content, out),
            MsgContent::Unknown { msg_type, .. } => {
                out.push(format!(
                    "{}={msg_type}",
                    super::wire::join_key(path, "MsgType")
                ));
            }
        }
        for k in self.extra.keys() {
            out.push(super::wire::join_key(path, &k));
        }
    }

    #[cfg(test)]
    fn shape() -> super::wire::schema::Shape {
        use super::wire::schema::StructInfo;
        super::wire::schema::Shape::Element(|msg_type| -> Option<&'static StructInfo> {
            Some(match msg_type {
                TEXT => &TextElem::WIRE,
                LOCATION => &LocationElem::WIRE,
                FACE => &FaceElem::WIRE,
                CUSTOM => &CustomElem::WIRE,
                SOUND => &SoundElem::WIRE,
                IMAGE => &ImageElem::WIRE,
                FILE => &FileElem::WIRE,
                VIDEO_FILE => &VideoFileElem::WIRE,
                RELAY => &RelayElem::WIRE,
                _ => return None,
            })
        })
    }
}

impl Serialize for MsgElement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("MsgType", self.msg_type())?;
        match &self.content {
            MsgContent::Text(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Location(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Face(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Custom(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Sound(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Image(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::File(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::VideoFile(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Relay(c) => m.serialize_entry("MsgContent", c)?,
            MsgContent::Unknown {
                content: Some(c), ..
            } => m.serialize_entry("MsgContent", c)?,
            MsgContent::Unknown { content: None, .. } => {}
        }
        self.extra.serialize_into(&mut m)?;
        m.end()
    }
}

/// Where a message goes: the part of a [`MessageEvent`] that differs between families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conversation<'a> {
    /// A one-to-one message to this UserID.
    OneToOne {
        /// The recipient (`To_Account`).
        to: &'a str,
    },
    /// A group message.
    Group {
        /// The group (`GroupId`).
        group_id: &'a str,
        /// The topic, for topic-enabled communities (`TopicId`).
        topic_id: Option<&'a str>,
    },
    /// A message of an official account to its subscribers.
    OfficialAccount {
        /// The account (`Official_Account`).
        account: &'a str,
    },
}

/// What every message event has, whatever its family: one-to-one, group, Official Account and
/// chatbot messages, before or after sending. Write moderation once against this trait and it
/// serves every family; pair it with [`SendDecision`](crate::SendDecision), generic over the
/// family's code range, for the answer.
///
/// ```
/// use tencent_chat_webhook::message::MessageEvent;
/// use tencent_chat_webhook::{c2c, group, CustomCode, SendDecision};
///
/// fn moderate<C: CustomCode>(msg: &impl MessageEvent) -> SendDecision<C> {
///     if msg.texts().any(|t| t.to_lowercase().contains("spam")) {
///         return SendDecision::Drop;
///     }
///     match msg.rewrite_texts(|t| t.replace("badword", "***")) {
///         Some(body) => SendDecision::rewrite_body(body),
///         None => SendDecision::Allow,
///     }
/// }
///
/// let one: c2c::BeforeSendMsg = serde_json::from_str(
///     r#"{"From_Account":"a","To_Account":"b","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"SPAM"}}]}"#,
/// ).unwrap();
/// assert_eq!(moderate(&one), c2c::SendMsgDecision::Drop);
///
/// let many: group::BeforeSendMsg = serde_json::from_str(
///     r#"{"GroupId":"@TGS#1","From_Account":"a","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"a badword"}}]}"#,
/// ).unwrap();
/// let group::SendMsgDecision::Rewrite { msg_body: Some(body), .. } = moderate(&many) else { panic!() };
/// assert_eq!(body[0].as_text(), Some("a ***"));
/// assert_eq!(many.sender(), "a");
/// ```
pub trait MessageEvent {
    /// Who sent it: `From_Account`, or the account's id for an Official Account message.
    fn sender(&self) -> &str;

    /// Where it goes.
    fn conversation(&self) -> Conversation<'_>;

    /// The message body.
    fn msg_body(&self) -> &[MsgElement];

    /// The message's custom data (`CloudCustomData`), when present.
    fn cloud_custom_data(&self) -> Option<&str>;

    /// The text of every `TIMTextElem` in the body, in order.
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.msg_body().iter().filter_map(MsgElement::as_text)
    }

    /// The body with every text element passed through `f`, if that changed any of them; `None`
    /// when every text came back the same. Other elements are kept as they are.
    fn rewrite_texts(&self, mut f: impl FnMut(&str) -> String) -> Option<Vec<MsgElement>> {
        let mut changed = false;
        let body = self
            .msg_body()
            .iter()
            .map(|elem| match &elem.content {
                MsgContent::Text(t) => {
                    let new = f(&t.text);
                    if new == t.text {
                        return elem.clone();
                    }
                    changed = true;
                    let mut elem = elem.clone();
                    if let MsgContent::Text(t) = &mut elem.content {
                        t.text = new.into();
                    }
                    elem
                }
                _ => elem.clone(),
            })
            .collect();
        changed.then_some(body)
    }
}

/// Implements [`MessageEvent`] for event types with `msg_body` and `cloud_custom_data` fields,
/// and an inherent `texts()` so the common case needs no trait import.
macro_rules! message_event {
    ($($ty:ident { sender: |$s:ident| $sender:expr, conversation: |$c:ident| $conv:expr }),* $(,)?) => {$(
        impl $crate::protocol::message::MessageEvent for $ty {
            fn sender(&self) -> &str {
                let $s = self;
                $sender
            }
            fn conversation(&self) -> $crate::protocol::message::Conversation<'_> {
                let $c = self;
                $conv
            }
            fn msg_body(&self) -> &[$crate::protocol::message::MsgElement] {
                &self.msg_body
            }
            fn cloud_custom_data(&self) -> Option<&str> {
                self.cloud_custom_data.as_deref()
            }
        }

        impl $ty {
            /// The text of every `TIMTextElem` in the body, in order.
            pub fn texts(&self) -> impl Iterator<Item = &str> {
                $crate::protocol::message::MessageEvent::texts(self)
            }
        }
    )*};
}
pub(crate) use message_event;

/// Declares a one-to-one message event: the fields every one-to-one message webhook shares
/// (1047/34364, 34365, 68952; 269/128224), then the struct's own, as a [`wire_struct!`]; and
/// implements [`MessageEvent`] for it.
///
/// [`wire_struct!`]: super::wire::wire_struct
macro_rules! c2c_message {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $crate::protocol::wire::wire_struct! {
            $(#[$meta])*
            pub struct $name {
                /// The command, repeated in the body.
                pub callback_command: Option<$crate::protocol::imstr::ImStr> => "CallbackCommand",
                /// The sender's UserID.
                pub from_account: $crate::protocol::imstr::ImStr => "From_Account",
                /// The recipient's UserID.
                pub to_account: $crate::protocol::imstr::ImStr => "To_Account",
                /// Message sequence number (64 bits: values above 2^32 occur).
                pub msg_seq: Option<u64> => "MsgSeq",
                /// Message random number. Legacy senders spell it `Random`.
                pub msg_random: Option<u64> => "MsgRandom" | "Random",
                /// Send time, Unix **seconds**.
                pub msg_time: Option<u64> => "MsgTime",
                /// Unique key of the message (recall it with this).
                pub msg_key: Option<$crate::protocol::imstr::ImStr> => "MsgKey",
                /// `1` for an online-only message, else `0`.
                pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
                /// The message body.
                pub msg_body: Vec<$crate::protocol::message::MsgElement> => "MsgBody",
                /// Custom message data.
                pub cloud_custom_data: Option<$crate::protocol::imstr::ImStr> => "CloudCustomData",
                /// Event time, Unix milliseconds (absent from some documented samples).
                pub event_time: Option<u64> => "EventTime",
                $($own)*
            }
        }

        $crate::protocol::message::message_event!($name {
            sender: |e| &e.from_account,
            conversation: |e| $crate::protocol::message::Conversation::OneToOne { to: &e.to_account }
        });
    };
}
pub(crate) use c2c_message;

/// Declares a group message event: the fields every group message webhook shares (1047/34374,
/// 34375, 49462, 68953), then the struct's own, as a [`wire_struct!`]; and implements
/// [`MessageEvent`] for it. `MsgSeq` is the struct's own: required once the message is sent,
/// absent before.
///
/// [`wire_struct!`]: super::wire::wire_struct
macro_rules! group_message {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $crate::protocol::wire::wire_struct! {
            $(#[$meta])*
            pub struct $name {
                /// The command, repeated in the body.
                pub callback_command: Option<$crate::protocol::imstr::ImStr> => "CallbackCommand",
                /// The group (any form of id; `GroupID` is read too).
                pub group_id: $crate::protocol::imstr::ImStr => "GroupId" | "GroupID",
                /// The group type.
                pub group_type: Option<$crate::protocol::common::GroupType> => "Type",
                /// UserID of the sender.
                pub from_account: $crate::protocol::imstr::ImStr => "From_Account",
                /// UserID of who made the request (differs from the sender for admin sends).
                pub operator_account: Option<$crate::protocol::imstr::ImStr> => "Operator_Account",
                /// The random of the send request (`MsgRandom` is read too; 64 bits).
                pub msg_random: Option<u64> => "Random" | "MsgRandom",
                /// `1` for an online-only message, else `0` (always `0` in audio-video groups).
                pub online_only_flag: Option<u32> => "OnlineOnlyFlag",
                /// The message body.
                pub msg_body: Vec<$crate::protocol::message::MsgElement> => "MsgBody",
                /// Custom message data.
                pub cloud_custom_data: Option<$crate::protocol::imstr::ImStr> => "CloudCustomData",
                /// The topic, for topic-enabled communities only.
                pub topic_id: Option<$crate::protocol::imstr::ImStr> => "TopicId",
                /// Event time, Unix milliseconds.
                pub event_time: Option<u64> => "EventTime",
                $($own)*
            }
        }

        $crate::protocol::message::message_event!($name {
            sender: |e| &e.from_account,
            conversation: |e| $crate::protocol::message::Conversation::Group {
                group_id: &e.group_id,
                topic_id: e.topic_id.as_deref(),
            }
        });
    };
}
pub(crate) use group_message;

#[cfg(test)]
mod tests;
