//! The JSON reply Tencent reads: `ActionStatus`, `ErrorInfo`, `ErrorCode`, plus per-command fields.
//!
//! The typed decisions of `decision` are written here as replies (their `From` impls and
//! [`FriendDecision::into_reply`]): a reply knows the decisions it carries, a decision does not
//! know the reply, so the two modules import one way.

use bytes::Bytes;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::protocol::imstr::ImStr;

use super::decision::{CustomCode, FriendDecision, GateDecision, InviteDecision, SendDecision};
use super::message::MsgElement;
use super::wire::wire_struct;

/// `ActionStatus` of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionStatus {
    /// `OK`: the request was processed (whatever the decision).
    Ok,
    /// `FAIL`: the request could not be processed.
    Fail,
}

impl ActionStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Ok => "OK",
            ActionStatus::Fail => "FAIL",
        }
    }
}

wire_struct! {
    /// One entry of a friend reply's `ResultItem`: the decision for one target.
    pub struct FriendResult {
        /// The target UserID.
        pub to_account: ImStr => "To_Account",
        /// 0 to allow; a code in [38000, 39000] to refuse.
        pub result_code: u32 => "ResultCode",
        /// The message for this target.
        pub result_info: ImStr => "ResultInfo",
    }
}

/// A reply to one webhook, serialised as Tencent expects.
///
/// Typed decisions (such as [`SendDecision`](crate::SendDecision)) turn into a `Reply`; build one
/// by hand only to answer commands this crate does not know yet, from
/// [`Handler::on_unknown`](crate::Handler::on_unknown), or the chatbot signal, whose reply shape
/// Tencent does not document.
///
/// ```
/// use tencent_chat_webhook::Reply;
///
/// assert_eq!(Reply::ok().to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#);
///
/// // A field for a command whose reply this crate does not type:
/// let answer = Reply::ok().with_field("RspData", serde_json::json!({"text": "pong"}));
/// assert_eq!(
///     answer.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RspData":{"text":"pong"}}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    action_status: ActionStatus,
    error_code: u32,
    error_info: String,
    refused_subscribers: Option<Vec<ImStr>>,
    refused_members: Option<Vec<ImStr>>,
    result_items: Option<Vec<FriendResult>>,
    msg_body: Option<Vec<MsgElement>>,
    cloud_custom_data: Option<String>,
    extra: Map<String, Value>,
}

const RESERVED: [&str; 8] = [
    "ActionStatus",
    "ErrorInfo",
    "ErrorCode",
    "RefusedSubscribers_Account",
    "RefusedMembers_Account",
    "ResultItem",
    "MsgBody",
    "CloudCustomData",
];

impl Reply {
    /// `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`: processed; for a before-event, allow.
    pub fn ok() -> Self {
        Reply {
            action_status: ActionStatus::Ok,
            error_code: 0,
            error_info: String::new(),
            refused_subscribers: None,
            refused_members: None,
            result_items: None,
            msg_body: None,
            cloud_custom_data: None,
            extra: Map::new(),
        }
    }

    /// `ActionStatus` `FAIL` with this code and message.
    pub fn fail(error_code: u32, error_info: impl Into<String>) -> Self {
        Reply {
            action_status: ActionStatus::Fail,
            error_code,
            error_info: error_info.into(),
            ..Reply::ok()
        }
    }

    /// Sets `ErrorCode`.
    pub fn with_error_code(mut self, code: u32) -> Self {
        self.error_code = code;
        self
    }

    /// Sets `ErrorInfo`.
    pub fn with_error_info(mut self, info: impl Into<String>) -> Self {
        self.error_info = info.into();
        self
    }

    /// Adds a command-specific field. The keys this type writes itself (`ActionStatus`,
    /// `ErrorInfo`, `ErrorCode`, `RefusedSubscribers_Account`, `RefusedMembers_Account`,
    /// `ResultItem`, `MsgBody`, `CloudCustomData`) are set only through typed decisions, so a
    /// field with one of those names is not written.
    pub fn with_field(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    pub(crate) fn with_refused_subscribers(mut self, users: Vec<ImStr>) -> Self {
        self.refused_subscribers = Some(users);
        self
    }

    pub(crate) fn with_refused_members(mut self, users: Vec<ImStr>) -> Self {
        self.refused_members = Some(users);
        self
    }

    pub(crate) fn with_result_items(mut self, items: Vec<FriendResult>) -> Self {
        self.result_items = Some(items);
        self
    }

    pub(crate) fn with_rewrite(
        mut self,
        msg_body: Option<Vec<MsgElement>>,
        cloud_custom_data: Option<String>,
    ) -> Self {
        self.msg_body = msg_body;
        self.cloud_custom_data = cloud_custom_data;
        self
    }

    /// `ActionStatus`.
    pub fn action_status(&self) -> ActionStatus {
        self.action_status
    }

    /// `ErrorCode`.
    pub fn error_code(&self) -> u32 {
        self.error_code
    }

    /// `ErrorInfo`.
    pub fn error_info(&self) -> &str {
        &self.error_info
    }

    /// `RefusedSubscribers_Account`, when set.
    pub fn refused_subscribers(&self) -> Option<&[ImStr]> {
        self.refused_subscribers.as_deref()
    }

    /// `RefusedMembers_Account` (group invitations), when set.
    pub fn refused_members(&self) -> Option<&[ImStr]> {
        self.refused_members.as_deref()
    }

    /// `ResultItem` (friend requests and responses), when set.
    pub fn result_items(&self) -> Option<&[FriendResult]> {
        self.result_items.as_deref()
    }

    /// The rewritten `MsgBody`, when set.
    pub fn msg_body(&self) -> Option<&[MsgElement]> {
        self.msg_body.as_deref()
    }

    /// The rewritten `CloudCustomData`, when set.
    pub fn cloud_custom_data(&self) -> Option<&str> {
        self.cloud_custom_data.as_deref()
    }

    /// Extra fields added with [`Reply::with_field`].
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The compact JSON text of this reply.
    pub fn to_json(&self) -> String {
        // Serialising a tree of strings, numbers and maps into a Vec cannot fail, and the output
        // is UTF-8 by construction.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(FALLBACK))
    }

    pub(crate) fn to_bytes(&self) -> Bytes {
        // The most common reply by far; served from a static, without serialising (nor making
        // a `Reply::ok()` to compare with).
        let Reply {
            action_status,
            error_code,
            error_info,
            refused_subscribers,
            refused_members,
            result_items,
            msg_body,
            cloud_custom_data,
            extra,
        } = self;
        let is_ok = *action_status == ActionStatus::Ok
            && *error_code == 0
            && error_info.is_empty()
            && refused_subscribers.is_none()
            && refused_members.is_none()
            && result_items.is_none()
            && msg_body.is_none()
            && cloud_custom_data.is_none()
            && extra.is_empty();
        if is_ok {
            return Bytes::from_static(OK_JSON.as_bytes());
        }
        serde_json::to_vec(self)
            .map(Bytes::from)
            .unwrap_or_else(|_| Bytes::from_static(FALLBACK.as_bytes()))
    }
}

impl Reply {
    /// Reads a reply back from its JSON, as a test reads what the service answered. Keys other
    /// than the typed ones land in [`extra`](Reply::extra).
    ///
    /// ```
    /// use tencent_chat_webhook::{ActionStatus, Reply};
    ///
    /// let reply = Reply::from_json(br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":2}"#).unwrap();
    /// assert_eq!((reply.action_status(), reply.error_code()), (ActionStatus::Ok, 2));
    /// assert_eq!(Reply::from_json(reply.to_json().as_bytes()).unwrap(), reply);
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Reply, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            #[serde(rename = "ActionStatus")]
            action_status: String,
            #[serde(rename = "ErrorInfo", default)]
            error_info: String,
            #[serde(rename = "ErrorCode")]
            error_code: u32,
            #[serde(rename = "RefusedSubscribers_Account")]
            refused_subscribers: Option<Vec<ImStr>>,
            #[serde(rename = "RefusedMembers_Account")]
            refused_members: Option<Vec<ImStr>>,
            #[serde(rename = "ResultItem")]
            result_items: Option<Vec<FriendResult>>,
            #[serde(rename = "MsgBody")]
            msg_body: Option<Vec<MsgElement>>,
            #[serde(rename = "CloudCustomData")]
            cloud_custom_data: Option<String>,
            #[serde(flatten)]
            extra: Map<String, Value>,
        }
        let w: Wire = serde_json::from_slice(json)?;
        let action_status = match w.action_status.as_str() {
            "OK" => ActionStatus::Ok,
            "FAIL" | "FAILURE" => ActionStatus::Fail,
            other => {
                return Err(serde::de::Error::custom(format_args!(
                    "unknown ActionStatus `{other}`"
                )));
            }
        };
        Ok(Reply {
            action_status,
            error_code: w.error_code,
            error_info: w.error_info,
            refused_subscribers: w.refused_subscribers,
            refused_members: w.refused_members,
            result_items: w.result_items,
            msg_body: w.msg_body,
            cloud_custom_data: w.cloud_custom_data,
            extra: w.extra,
        })
    }
}

const OK_JSON: &str = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

/// Written only if serialisation ever failed, which the types above rule out.
const FALLBACK: &str =
    r#"{"ActionStatus":"FAIL","ErrorInfo":"reply could not be serialised","ErrorCode":500}"#;

impl Default for Reply {
    fn default() -> Self {
        Reply::ok()
    }
}

impl From<()> for Reply {
    fn from((): ()) -> Self {
        Reply::ok()
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ActionStatus", self.action_status.as_str())?;
        // Keys in the order of Tencent's samples, so documented replies match byte for byte: the
        // friend pages (1047/43468, 43467) put `ErrorCode` before `ErrorInfo`, every other page
        // after it. JSON readers do not care; the order only makes the bytes comparable.
        if self.result_items.is_some() {
            m.serialize_entry("ErrorCode", &self.error_code)?;
            m.serialize_entry("ErrorInfo", &self.error_info)?;
        } else {
            m.serialize_entry("ErrorInfo", &self.error_info)?;
            m.serialize_entry("ErrorCode", &self.error_code)?;
        }
        if let Some(v) = &self.refused_subscribers {
            m.serialize_entry("RefusedSubscribers_Account", v)?;
        }
        if let Some(v) = &self.refused_members {
            m.serialize_entry("RefusedMembers_Account", v)?;
        }
        if let Some(v) = &self.result_items {
            m.serialize_entry("ResultItem", v)?;
        }
        if let Some(v) = &self.msg_body {
            m.serialize_entry("MsgBody", v)?;
        }
        if let Some(v) = &self.cloud_custom_data {
            m.serialize_entry("CloudCustomData", v)?;
        }
        for (k, v) in &self.extra {
            if !RESERVED.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

// Each decision, written as a reply.

impl<C: CustomCode> From<SendDecision<C>> for Reply {
    fn from(d: SendDecision<C>) -> Reply {
        match d {
            SendDecision::Allow => Reply::ok(),
            SendDecision::Deny => Reply::ok().with_error_code(1),
            SendDecision::Drop => Reply::ok().with_error_code(2),
            SendDecision::DenyWithCode { code, message } => Reply::ok()
                .with_error_code(code.get())
                .with_error_info(message),
            SendDecision::Rewrite {
                msg_body,
                cloud_custom_data,
            } => Reply::ok().with_rewrite(msg_body, cloud_custom_data),
        }
    }
}

impl<C: CustomCode> From<GateDecision<C>> for Reply {
    fn from(d: GateDecision<C>) -> Reply {
        match d {
            GateDecision::Allow => Reply::ok(),
            GateDecision::Deny => Reply::ok().with_error_code(1),
            GateDecision::DenyWithCode { code, message } => Reply::ok()
                .with_error_code(code.get())
                .with_error_info(message),
        }
    }
}

impl From<InviteDecision> for Reply {
    fn from(d: InviteDecision) -> Reply {
        match d {
            InviteDecision::AllowAll => Reply::ok(),
            InviteDecision::Refuse(users) if users.is_empty() => Reply::ok(),
            InviteDecision::Refuse(users) => Reply::ok().with_refused_members(users),
            InviteDecision::Reject => Reply::ok().with_error_code(1),
            InviteDecision::RejectWithCode { code, message } => Reply::ok()
                .with_error_code(code.get())
                .with_error_info(message),
        }
    }
}

impl FriendDecision {
    /// The reply for a request whose targets are `targets`: one `ResultItem` each, in order.
    pub fn into_reply<'a>(self, targets: impl IntoIterator<Item = &'a str>) -> Reply {
        let items = targets
            .into_iter()
            .map(|target| {
                let (code, info) = self
                    .refusal(target)
                    .map_or((0, ""), |(code, info)| (code.get(), info));
                FriendResult {
                    to_account: ImStr::from(target),
                    result_code: code,
                    result_info: ImStr::from(info),
                    ..FriendResult::default()
                }
            })
            .collect();
        Reply::ok().with_result_items(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_keys_cannot_be_smuggled_in_through_with_field() {
        let reply = Reply::ok()
            .with_field("ErrorCode", Value::from(7))
            .with_field("MsgBody", Value::from("x"))
            .with_field("Other", Value::from(true));
        assert_eq!(
            reply.to_json(),
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"Other":true}"#
        );
    }

    #[test]
    fn the_static_ok_reply_is_what_serialisation_gives() {
        assert_eq!(OK_JSON, serde_json::to_string(&Reply::ok()).unwrap());
        assert_eq!(Reply::ok().to_bytes(), OK_JSON.as_bytes());
        // A reply that differs from it in any field is serialised.
        let others = [
            Reply::ok().with_error_code(2),
            Reply::ok().with_error_info("x"),
            Reply::fail(0, ""),
            Reply::ok().with_field("Other", Value::Bool(true)),
            Reply {
                refused_subscribers: Some(vec![]),
                ..Reply::ok()
            },
            Reply {
                refused_members: Some(vec!["a".into()]),
                ..Reply::ok()
            },
            Reply {
                result_items: Some(vec![]),
                ..Reply::ok()
            },
            Reply {
                msg_body: Some(vec![]),
                ..Reply::ok()
            },
            Reply {
                cloud_custom_data: Some(String::new()),
                ..Reply::ok()
            },
        ];
        for reply in others {
            assert_ne!(reply.to_bytes(), OK_JSON.as_bytes(), "{reply:?}");
            assert_eq!(reply.to_bytes(), reply.to_json().as_bytes(), "{reply:?}");
        }
    }

    #[test]
    fn fail_sets_status_code_and_info() {
        let reply = Reply::fail(401, "signature does not match");
        assert_eq!(
            reply.to_json(),
            r#"{"ActionStatus":"FAIL","ErrorInfo":"signature does not match","ErrorCode":401}"#
        );
        assert_eq!(reply.to_bytes(), reply.to_json().as_bytes());
    }
}
