//! The JSON reply Tencent reads: `ActionStatus`, `ErrorInfo`, `ErrorCode`, plus per-command fields.

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::message::MsgElement;

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

/// A reply to one webhook, serialised as Tencent expects.
///
/// Typed decisions (such as [`SendMsgDecision`](crate::official_account::SendMsgDecision)) turn
/// into a `Reply`; build one by hand only to answer commands this crate does not know yet, from
/// [`Handler::on_unknown`](crate::Handler::on_unknown).
///
/// ```
/// use tencent_chat_webhook::Reply;
///
/// assert_eq!(Reply::ok().to_json(), r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#);
///
/// let refuse = Reply::ok()
///     .with_error_code(1)
///     .with_field("RefusedMembers_Account", serde_json::json!(["jared"]));
/// assert_eq!(
///     refuse.to_json(),
///     r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":1,"RefusedMembers_Account":["jared"]}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    action_status: ActionStatus,
    error_code: u32,
    error_info: String,
    refused_subscribers: Option<Vec<String>>,
    msg_body: Option<Vec<MsgElement>>,
    cloud_custom_data: Option<String>,
    extra: Map<String, Value>,
}

const RESERVED: [&str; 6] = [
    "ActionStatus",
    "ErrorInfo",
    "ErrorCode",
    "RefusedSubscribers_Account",
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
    /// `ErrorInfo`, `ErrorCode`, `RefusedSubscribers_Account`, `MsgBody`, `CloudCustomData`) are
    /// set only through typed decisions, so a field with one of those names is not written.
    pub fn with_field(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    pub(crate) fn with_refused_subscribers(mut self, users: Vec<String>) -> Self {
        self.refused_subscribers = Some(users);
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
    pub fn refused_subscribers(&self) -> Option<&[String]> {
        self.refused_subscribers.as_deref()
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
        // The most common reply by far; served from a static, without serialising.
        if *self == Reply::ok() {
            return Bytes::from_static(OK_JSON.as_bytes());
        }
        serde_json::to_vec(self)
            .map(Bytes::from)
            .unwrap_or_else(|_| Bytes::from_static(FALLBACK.as_bytes()))
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
        m.serialize_entry("ErrorInfo", &self.error_info)?;
        m.serialize_entry("ErrorCode", &self.error_code)?;
        if let Some(v) = &self.refused_subscribers {
            m.serialize_entry("RefusedSubscribers_Account", v)?;
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

/// An `ErrorCode` in [120001, 130000]: the range whose code and `ErrorInfo` Tencent passes through
/// to the client for Official Account (and one-to-one message) before-events.
///
/// A code outside the range cannot be built:
///
/// ```
/// use tencent_chat_webhook::CustomErrorCode;
///
/// assert_eq!(CustomErrorCode::new(120_001).map(CustomErrorCode::get), Some(120_001));
/// assert!(CustomErrorCode::new(130_000).is_some());
/// assert!(CustomErrorCode::new(120_000).is_none());
/// assert!(CustomErrorCode::new(130_001).is_none());
/// assert!(CustomErrorCode::try_from(1).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomErrorCode(u32);

impl CustomErrorCode {
    /// The smallest code Tencent passes through.
    pub const MIN: u32 = 120_001;
    /// The largest code Tencent passes through.
    pub const MAX: u32 = 130_000;

    /// The code, if it is in [`MIN`](Self::MIN)..=[`MAX`](Self::MAX).
    pub const fn new(code: u32) -> Option<Self> {
        if code >= Self::MIN && code <= Self::MAX {
            Some(CustomErrorCode(code))
        } else {
            None
        }
    }

    /// The numeric code.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for CustomErrorCode {
    type Error = CodeOutOfRange;

    fn try_from(code: u32) -> Result<Self, CodeOutOfRange> {
        CustomErrorCode::new(code).ok_or(CodeOutOfRange(code))
    }
}

/// A custom error code outside [120001, 130000].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeOutOfRange(pub u32);

impl fmt::Display for CodeOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "custom error code {} is outside [{}, {}]",
            self.0,
            CustomErrorCode::MIN,
            CustomErrorCode::MAX
        )
    }
}

impl std::error::Error for CodeOutOfRange {}

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
        // Anything else is serialised.
        assert_ne!(
            Reply::ok().with_error_code(2).to_bytes(),
            OK_JSON.as_bytes()
        );
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
