//! Message bodies: `MsgBody` arrays of `TIM*Elem` elements.
//!
//! Source: Tencent's "Message Formats" page (1047/33527, 269/2720). Element types this crate does
//! not know are kept whole, so a message can be read, rewritten and sent back without losing
//! anything.

mod event;

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::imstr::ImStr;
use super::raw::{Extra, ExtraBuilder, RawJson};
use super::wire::{Wire, wire_struct};

pub use event::{Conversation, MessageEvent};
pub(crate) use event::{c2c_message, group_message, message_event};

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

#[cfg(test)]
mod tests;
