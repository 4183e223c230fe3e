//! Cloud moderation results: `ContentCallback.ResultNotify`
//! ([1047/78240](https://www.tencentcloud.com/document/product/1047/78240),
//! [1047/77840](https://www.tencentcloud.com/document/product/1047/77840);
//! [269/95616](https://cloud.tencent.com/document/product/269/95616)).
//!
//! Sent by the cloud moderation feature (whitelisted), for violations only by default or for every
//! result if so configured. Answered OK. Account and group ids are [`ImStr`](crate::ImStr)s, read as sent: any form is
//! accepted as sent.
//!
//! Spec ambiguities and how they are resolved:
//! - The body has no `CallbackCommand` (the command is only in the query string) but carries
//!   `SdkAppId`. `callback_command` is kept, optional, like every other command.
//! - `TextContent` is an array of strings on
//!   [1047/78240](https://www.tencentcloud.com/document/product/1047/78240) and a string on
//!   [1047/77840](https://www.tencentcloud.com/document/product/1047/77840): a [`TextContent`]
//!   reads either and writes back what was sent; [`ResultNotify::texts`] iterates the texts of both
//!   forms.
//! - `MsgID` is also read as `MsgId`. It is missing when a group message was never delivered.
//! - One sample (a C2C text) covers eight scenes, some of which (profiles, relationship chains)
//!   have no message and no receiver: every field is optional, `From_Account` and `ContactItem`
//!   included. Within `ContactItem`, only `ContactType` is required (the crate's rule allows the
//!   kind that says which of its ids is set): `To_Account` is sent for one-to-one contacts,
//!   `ToGroupId` for groups.
//! - `CtxcbKeywords`, `CtxcbSuggestion`, `CtxcbLabel` and `CloudCustomData` are described by a
//!   third-party SDK, and the `CtxcbSubLabel`, `CtxcbSubLabelDesc`, `CtxcbLibName` strings appear
//!   in the sample only. `CtxcbLabel`'s values are given as examples ("e.g."), so [`CtxcbLabel`]
//!   lists them and keeps any other in `Other`.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::protocol::imstr::ImStr;

use super::wire::{Wire, WireSeed, open_int_enum, open_str_enum, wire_struct};

open_str_enum! {
    /// Where the reviewed content comes from (`Scene`).
    pub enum Scene {
        /// A one-to-one message.
        C2c = "C2C",
        /// A one-to-one custom message.
        C2cCustom = "C2CCustom",
        /// A group message.
        Group = "Group",
        /// A group custom message.
        GroupCustom = "GroupCustom",
        /// A group's profile.
        GroupInfo = "GroupInfo",
        /// A group member's profile.
        GroupMemberInfo = "GroupMemberInfo",
        /// The relationship chain (friend remarks, requests, ...).
        RelationChain = "RelationChain",
        /// A user's profile.
        UserInfo = "UserInfo",
    }
}

open_int_enum! {
    /// The kind of conversation (`ContactItem.ContactType`).
    pub enum ContactType {
        /// One-to-one: `To_Account` is set.
        OneToOne = 1,
        /// Group: `ToGroupId` is set.
        Group = 2,
    }
}

open_str_enum! {
    /// The kind of reviewed content (`ContentType`).
    pub enum ContentType {
        /// Text, in `TextContent`.
        Text = "Text",
        /// An image, at `FileURL`.
        Image = "Image",
        /// Audio, at `FileURL`.
        Audio = "Audio",
        /// A video, at `FileURL`.
        Video = "Video",
    }
}

open_int_enum! {
    /// What Chat did with the content (`CtxcbResult`).
    pub enum CtxcbResult {
        /// Let through.
        Pass = 0,
        /// Blocked.
        Block = 1,
    }
}

open_str_enum! {
    /// The moderation suggestion (`CtxcbSuggestion`).
    pub enum CtxcbSuggestion {
        /// Block the content.
        Block = "Block",
        /// Review it by hand.
        Review = "Review",
        /// Nothing found.
        Normal = "Normal",
    }
}

open_str_enum! {
    /// The category of the finding (`CtxcbLabel`). The docs give these as examples; any other
    /// value is kept in `Other`.
    pub enum CtxcbLabel {
        /// Nothing found.
        Normal = "Normal",
        /// Illegal content.
        Illegal = "Illegal",
        /// Abuse.
        Abuse = "Abuse",
        /// Political content.
        Polity = "Polity",
        /// Advertising.
        Ad = "Ad",
        /// Pornography.
        Porn = "Porn",
        /// Sexually suggestive content.
        Sexy = "Sexy",
        /// Terrorism.
        Terror = "Terror",
        /// Several categories.
        Composite = "Composite",
    }
}

wire_struct! {
    /// The receiver of the reviewed message (`ContactItem`).
    pub struct ContactItem {
        /// One-to-one or group.
        pub contact_type: ContactType => "ContactType",
        /// The receiving UserID, for a one-to-one contact.
        pub to_account: Option<ImStr> => "To_Account",
        /// The group id, for a group contact.
        pub to_group_id: Option<ImStr> => "ToGroupId",
    }
}

/// The reviewed text (`TextContent`): an array of strings (1047/78240; custom messages may
/// yield several) or a single string (1047/77840). Written back in the form it was read.
///
/// ```
/// use tencent_chat_webhook::moderation::TextContent;
///
/// let list: TextContent = serde_json::from_str(r#"["a","b"]"#).unwrap();
/// let one: TextContent = serde_json::from_str(r#""a""#).unwrap();
/// assert_eq!(list.as_slice(), ["a", "b"]);
/// assert_eq!(one.as_slice(), ["a"]);
/// assert_eq!(serde_json::to_string(&one).unwrap(), r#""a""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextContent {
    /// An array of strings.
    List(Vec<ImStr>),
    /// A single string.
    Single(ImStr),
}

impl TextContent {
    /// The texts, in order (one for [`Single`](Self::Single)).
    pub fn as_slice(&self) -> &[ImStr] {
        match self {
            TextContent::List(v) => v,
            TextContent::Single(s) => std::slice::from_ref(s),
        }
    }
}

impl Default for TextContent {
    /// An empty list.
    fn default() -> Self {
        TextContent::List(Vec::new())
    }
}

impl Serialize for TextContent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TextContent::Single(t) => s.serialize_str(t),
            TextContent::List(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for t in v {
                    seq.serialize_element(t)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for TextContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<TextContent, E> {
                Ok(TextContent::Single(ImStr::lent(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextContent, E> {
                Ok(TextContent::Single(ImStr::from(v)))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<TextContent, E> {
                Ok(TextContent::Single(ImStr::from(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextContent, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(t) = seq.next_element_seed(WireSeed::<ImStr>::new())? {
                    out.push(t);
                }
                Ok(TextContent::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Wire for TextContent {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <TextContent as Deserialize>::deserialize(d)
    }
}

wire_struct! {
    /// `ContentCallback.ResultNotify`: the result of a cloud moderation review of a message or
    /// a profile (1047/78240). Answered OK.
    pub struct ResultNotify {
        /// Absent from the documented body; the command is in the query string.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Where the content comes from.
        pub scene: Option<Scene> => "Scene",
        /// The app id.
        pub sdk_app_id: Option<u64> => "SdkAppId",
        /// UserID who produced the content.
        pub from_account: Option<ImStr> => "From_Account",
        /// The receiver of the message.
        pub contact_item: Option<ContactItem> => "ContactItem",
        /// The kind of content.
        pub content_type: Option<ContentType> => "ContentType",
        /// The reviewed text.
        pub text_content: Option<TextContent> => "TextContent",
        /// URL of the reviewed image, audio or video.
        pub file_url: Option<ImStr> => "FileURL",
        /// The message: its `MsgKey` for C2C, its `MsgSeq` for a group; missing when a group
        /// message was never delivered.
        pub msg_id: Option<ImStr> => "MsgID" | "MsgId",
        /// What Chat did: blocked or let through.
        pub ctxcb_result: Option<CtxcbResult> => "CtxcbResult",
        /// Id of the review request.
        pub ctxcb_request_id: Option<ImStr> => "CtxcbRequestId",
        /// The matched keywords.
        pub ctxcb_keywords: Option<Vec<ImStr>> => "CtxcbKeywords",
        /// The suggestion: block, review or normal.
        pub ctxcb_suggestion: Option<CtxcbSuggestion> => "CtxcbSuggestion",
        /// The category of the finding.
        pub ctxcb_label: Option<CtxcbLabel> => "CtxcbLabel",
        /// The sub-category (meaning unconfirmed).
        pub ctxcb_sub_label: Option<ImStr> => "CtxcbSubLabel",
        /// Description of the sub-category (meaning unconfirmed).
        pub ctxcb_sub_label_desc: Option<ImStr> => "CtxcbSubLabelDesc",
        /// The matched custom library (meaning unconfirmed).
        pub ctxcb_lib_name: Option<ImStr> => "CtxcbLibName",
        /// The message's `CloudCustomData`, echoed for C2C and group messages.
        pub cloud_custom_data: Option<ImStr> => "CloudCustomData",
    }
}

impl ResultNotify {
    /// Every reviewed text, in order, whichever form `TextContent` took (none when absent).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.text_content
            .as_ref()
            .map_or(&[][..], TextContent::as_slice)
            .iter()
            .map(ImStr::as_str)
    }

    /// Whether Chat blocked the content (`CtxcbResult` 1).
    pub fn is_blocked(&self) -> bool {
        self.ctxcb_result == Some(CtxcbResult::Block)
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support;

    fn de(json: &str) -> ResultNotify {
        test_support::de(json)
    }

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&ResultNotify) -> bool); 8] = [
            (
                "TextContent as a single string, written back as one",
                r#"{"TextContent":"hello"}"#,
                |e| {
                    e.texts().eq(["hello"])
                        && serde_json::to_value(e).unwrap()["TextContent"] == "hello"
                },
            ),
            (
                "TextContent as an array",
                r#"{"TextContent":["a","b"]}"#,
                |e| e.texts().eq(["a", "b"]),
            ),
            ("MsgId spelling", r#"{"MsgId":"123"}"#, |e| {
                e.msg_id.as_deref() == Some("123")
            }),
            (
                "numeric strings for SdkAppId, ContactType and CtxcbResult",
                r#"{"SdkAppId":"1400187352","ContactItem":{"ContactType":"2","ToGroupId":"@TGS#1"},"CtxcbResult":"0"}"#,
                |e| {
                    let c = e.contact_item.as_ref().unwrap();
                    e.sdk_app_id == Some(1_400_187_352)
                        && c.contact_type == ContactType::Group
                        && c.to_group_id.as_deref() == Some("@TGS#1")
                        && c.to_account.is_none()
                        && !e.is_blocked()
                },
            ),
            (
                "unknown scene, label and result kept and written back",
                r#"{"Scene":"Live","CtxcbLabel":"Moan","CtxcbResult":7}"#,
                |e| {
                    let v = serde_json::to_value(e).unwrap();
                    e.scene == Some(Scene::Other("Live".into()))
                        && e.ctxcb_label == Some(CtxcbLabel::Other("Moan".into()))
                        && e.ctxcb_result == Some(CtxcbResult::Other(7))
                        && v["Scene"] == "Live"
                        && v["CtxcbResult"] == 7
                },
            ),
            (
                "profile scene without message fields",
                r#"{"Scene":"UserInfo","SdkAppId":1400187352,"From_Account":"u","ContentType":"Image","FileURL":"https://x/y.png","CtxcbResult":1}"#,
                |e| {
                    e.contact_item.is_none()
                        && e.msg_id.is_none()
                        && e.texts().next().is_none()
                        && e.content_type == Some(ContentType::Image)
                        && e.is_blocked()
                },
            ),
            (
                "CallbackCommand sent anyway",
                r#"{"CallbackCommand":"ContentCallback.ResultNotify","Scene":"GroupCustom"}"#,
                |e| e.callback_command.is_some() && e.scene == Some(Scene::GroupCustom),
            ),
            ("null TextContent", r#"{"TextContent":null}"#, |e| {
                e.text_content.is_none()
            }),
        ];
        for (name, json, check) in cases {
            let e = de(json);
            assert!(check(&e), "{name}: {e:?}");
        }
        let err = serde_json::from_str::<ResultNotify>(r#"{"MsgID":"1","MsgId":"2"}"#)
            .expect_err("both spellings");
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn fixture_parses_fully_typed_and_round_trips() {
        let e: ResultNotify = test_support::fixture("ContentCallback.ResultNotify");
        assert_eq!(e.scene, Some(Scene::C2c));
        assert!(e.texts().eq(["aaabbbccc", "1234567"]));
        assert!(e.is_blocked());
        assert_eq!(e.ctxcb_suggestion, Some(CtxcbSuggestion::Review));
        assert_eq!(e.ctxcb_label, Some(CtxcbLabel::Sexy));
        let contact = e.contact_item.as_ref().unwrap();
        assert_eq!(
            (contact.contact_type, contact.to_account.as_deref()),
            (ContactType::OneToOne, Some("Jonh"))
        );
        assert_eq!(
            e.msg_id.as_deref(),
            Some("1434460578_4137340972_1661154487")
        );
    }
}
