//! Test kit (feature `test-util`): signed webhook requests and Tencent's documented samples, so a
//! handler can be tested without a network.
//!
//! ```
//! use tencent_chat_webhook::test_util::{self, SignedRequest};
//! use tencent_chat_webhook::{Command, Handler, WebhookConfig, WebhookService};
//! use tower::ServiceExt;
//!
//! struct MyHandler;
//! impl Handler for MyHandler {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = WebhookConfig::builder(1400000000).token("s3cret").build().unwrap();
//! let service = WebhookService::new(config, MyHandler);
//!
//! let request = SignedRequest::sample(Command::GroupBeforeSendMsg).token("s3cret").build();
//! let response = service.oneshot(request).await.unwrap();
//! let (status, reply) = test_util::reply_of(&response);
//! assert_eq!((status.as_u16(), reply.error_code()), (200, 0));
//! # }
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{Response, StatusCode};

use crate::auth;
use crate::handler::Command;
use crate::protocol::reply::Reply;
use crate::service::ReplyBody;

/// The status and the reply of a response from the service, read back as a typed [`Reply`].
///
/// # Panics
///
/// If the body is not a reply's JSON (which the service never answers with), or was already read.
pub fn reply_of(response: &Response<ReplyBody>) -> (StatusCode, Reply) {
    let body = response.body().as_bytes();
    match Reply::from_json(body) {
        Ok(reply) => (response.status(), reply),
        Err(e) => panic!(
            "response body is not a webhook reply ({e}): {}",
            String::from_utf8_lossy(body)
        ),
    }
}

/// The app id [`SignedRequest`] uses unless told otherwise (the examples' default too).
pub const DEMO_APP_ID: u64 = 1_400_000_000;

/// The token [`SignedRequest`] signs with unless told otherwise (the examples' default too). It is
/// public: use it in tests, never in production.
pub const DEMO_TOKEN: &str = "demo-token-change-me";

/// Tencent's documented request sample for `command`: one fixture per command, fixed up to valid
/// JSON where the published sample is not (a missing comma, comments), quirks kept (numbers as
/// strings, odd ids).
///
/// The Official Account modify-profile sample is published with two commas missing; the original
/// is [`PUBLISHED_INFO_CHANGED_SAMPLE`].
pub fn sample(command: Command) -> &'static str {
    command.sample()
}

/// The modify-profile sample exactly as Tencent publishes it: not valid JSON (two commas are
/// missing), useful to check how a server answers a broken body.
pub const PUBLISHED_INFO_CHANGED_SAMPLE: &str = include_str!(
    "../fixtures/events/OfficialAccount.CallbackAfterOfficialAccountInfoChanged.published.txt"
);

/// Builds a webhook request as Tencent sends it: `POST` to a path with the query parameters,
/// signed.
///
/// Defaults: app id [`DEMO_APP_ID`], signed with [`DEMO_TOKEN`] at `RequestTime` now, path
/// `/tencent/chat/webhook`, `ClientIP` `127.0.0.1`, `OptPlatform` `RESTAPI`. Call
/// [`unsigned`](Self::unsigned) for a request without `Sign` and `RequestTime`.
///
/// ```
/// use tencent_chat_webhook::test_util::SignedRequest;
///
/// let req = SignedRequest::new("OfficialAccount.CallbackAfterOfficialAccountFull", "{}")
///     .app_id(888888)
///     .token("xxxxyyyy")
///     .request_time(1669872112);
/// assert_eq!(
///     req.path_and_query(),
///     "/tencent/chat/webhook?SdkAppid=888888&CallbackCommand=OfficialAccount.CallbackAfterOfficialAccountFull\
///      &contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI\
///      &Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112"
/// );
/// assert!(!format!("{req:?}").contains("xxxxyyyy"));
/// ```
#[derive(Clone)]
pub struct SignedRequest {
    command: String,
    body: String,
    app_id: String,
    path: String,
    client_ip: Option<String>,
    platform: Option<String>,
    token: Option<String>,
    request_time: Option<u64>,
    sign: Option<String>,
}

impl SignedRequest {
    /// A request for `command` with this body.
    pub fn new(command: impl Into<String>, body: impl Into<String>) -> Self {
        SignedRequest {
            command: command.into(),
            body: body.into(),
            app_id: DEMO_APP_ID.to_string(),
            path: "/tencent/chat/webhook".to_owned(),
            client_ip: Some("127.0.0.1".to_owned()),
            platform: Some("RESTAPI".to_owned()),
            token: Some(DEMO_TOKEN.to_owned()),
            request_time: None,
            sign: None,
        }
    }

    /// Leaves `Sign` and `RequestTime` out, as Tencent does with authentication off.
    pub fn unsigned(mut self) -> Self {
        self.token = None;
        self
    }

    /// A request for `command` carrying Tencent's documented sample body.
    pub fn sample(command: Command) -> Self {
        Self::new(command.as_str(), sample(command))
    }

    /// Sets `SdkAppid`.
    pub fn app_id(mut self, app_id: u64) -> Self {
        self.app_id = app_id.to_string();
        self
    }

    /// Sets `SdkAppid` to any text, for testing malformed requests.
    pub fn raw_app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// Signs with this token instead of [`DEMO_TOKEN`].
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets `RequestTime` (Unix seconds). Default: now.
    pub fn request_time(mut self, secs: u64) -> Self {
        self.request_time = Some(secs);
        self
    }

    /// Sends this `Sign` instead of the computed one, for testing rejections (with
    /// [`unsigned`](Self::unsigned): this `Sign`, and `RequestTime` only if set).
    pub fn sign(mut self, sign: impl Into<String>) -> Self {
        self.sign = Some(sign.into());
        self
    }

    /// Sets `ClientIP`; `None` leaves it out.
    pub fn client_ip(mut self, ip: Option<&str>) -> Self {
        self.client_ip = ip.map(str::to_owned);
        self
    }

    /// Sets `OptPlatform`; `None` leaves it out.
    pub fn platform(mut self, platform: Option<&str>) -> Self {
        self.platform = platform.map(str::to_owned);
        self
    }

    /// Sets the path. Default `/tencent/chat/webhook`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The body.
    pub fn body_text(&self) -> &str {
        &self.body
    }

    /// The `CallbackCommand`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The query string, without `?`.
    pub fn query_string(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("SdkAppid", &self.app_id);
        q.append_pair("CallbackCommand", &self.command);
        q.append_pair("contenttype", "json");
        if let Some(ip) = &self.client_ip {
            q.append_pair("ClientIP", ip);
        }
        if let Some(p) = &self.platform {
            q.append_pair("OptPlatform", p);
        }
        if let Some(token) = &self.token {
            let time = self.request_time.unwrap_or_else(now_secs);
            let sign = self.sign.clone().unwrap_or_else(|| auth::sign(token, time));
            q.append_pair("Sign", &sign);
            q.append_pair("RequestTime", &time.to_string());
        } else if let Some(sign) = &self.sign {
            q.append_pair("Sign", sign);
            if let Some(time) = self.request_time {
                q.append_pair("RequestTime", &time.to_string());
            }
        }
        q.finish()
    }

    /// The path and query, as the request line carries them.
    pub fn path_and_query(&self) -> String {
        format!("{}?{}", self.path, self.query_string())
    }

    /// The `http::Request`, ready for `Service::call` (or to send with any client).
    pub fn build(&self) -> http::Request<String> {
        let mut req = http::Request::new(self.body.clone());
        *req.method_mut() = http::Method::POST;
        // A path and query built from percent-encoded pairs is always a valid URI; a custom path
        // that is not falls back to the default one rather than panicking.
        *req.uri_mut() = self
            .path_and_query()
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/tencent/chat/webhook"));
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        req
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("command", &self.command)
            .field("app_id", &self.app_id)
            .field("path", &self.path)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("request_time", &self.request_time)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_sample_that_names_it() {
        for &cmd in Command::ALL {
            let v: serde_json::Value =
                serde_json::from_str(sample(cmd)).unwrap_or_else(|e| panic!("{cmd}: {e}"));
            // The push batches name the command in each event, the moderation result nowhere.
            let named: Vec<&serde_json::Value> = match v.get("Events") {
                Some(serde_json::Value::Array(events)) => {
                    events.iter().map(|e| &e["CallbackCommand"]).collect()
                }
                _ => vec![&v["CallbackCommand"]],
            };
            for name in named {
                if cmd == Command::ContentCallbackResultNotify {
                    assert!(name.is_null(), "{cmd}");
                } else {
                    assert_eq!(name, cmd.as_str(), "{cmd}");
                }
            }
        }
        assert!(serde_json::from_str::<serde_json::Value>(PUBLISHED_INFO_CHANGED_SAMPLE).is_err());
    }

    #[test]
    fn requests_are_signed_with_the_demo_token_by_default() {
        let q = SignedRequest::new("A.B", "{}")
            .request_time(7)
            .query_string();
        assert!(
            q.ends_with(&format!(
                "&Sign={}&RequestTime=7",
                auth::sign(DEMO_TOKEN, 7)
            )),
            "{q}"
        );
    }

    #[test]
    fn unsigned_requests_carry_no_signature() {
        let q = SignedRequest::new("A.B", "{}")
            .unsigned()
            .client_ip(None)
            .platform(None)
            .query_string();
        assert_eq!(
            q,
            "SdkAppid=1400000000&CallbackCommand=A.B&contenttype=json"
        );
    }

    #[test]
    fn build_makes_a_post_with_the_body() {
        let req = SignedRequest::new("A.B", "{\"x\":1}")
            .token("t")
            .request_time(5)
            .build();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.body(), "{\"x\":1}");
        let query = req.uri().query().unwrap();
        assert!(
            query.contains(&format!("Sign={}", auth::sign("t", 5))),
            "{query}"
        );
    }
}
