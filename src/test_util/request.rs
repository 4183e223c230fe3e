//! Signed webhook requests.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{DEMO_APP_ID, DEMO_TOKEN, sample};
use crate::protocol::command::Command;
use crate::protocol::event::{Event, TypedEvent};
use crate::signature;

/// Builds a webhook request as Tencent sends it: `POST` to a path with the query parameters,
/// signed.
///
/// Four constructors say what the request carries: [`sample`](Self::sample) (Tencent's sample of
/// a command), [`of`](Self::of) (a typed event, for its command), [`event`](Self::event) (an
/// [`Event`], known or not) and [`new`](Self::new) (any command name and any body text, broken
/// ones included). The options are the same for all: [`token`](Self::token),
/// [`app_id`](Self::app_id), [`request_time`](Self::request_time), [`unsigned`](Self::unsigned),
/// [`query_param`](Self::query_param), and the others below.
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
    extra_query: Vec<(String, String)>,
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
            extra_query: Vec::new(),
        }
    }

    /// A request for the command of `E` carrying `event` as JSON, as Tencent would send it: the
    /// fields a test sets in Rust reach the handler as set, with no JSON written by hand.
    ///
    /// The body is the event as it is: one built from `Default` has no `CallbackCommand` (the
    /// service reads the query's), and one whose `CallbackCommand` names another command is
    /// refused by the service, as a real one would be.
    ///
    /// ```
    /// use tencent_chat_webhook::message::MsgElement;
    /// use tencent_chat_webhook::test_util::{self, SignedRequest};
    /// use tencent_chat_webhook::{Event, c2c};
    ///
    /// let mut msg: c2c::BeforeSendMsg = test_util::typed_sample();
    /// msg.msg_body = vec![MsgElement::text("hello")];
    /// let req = SignedRequest::of(&msg).token("s3cret");
    /// assert_eq!(req.command(), "C2C.CallbackBeforeSendMsg");
    ///
    /// let sent = Event::parse(req.command(), req.body_text().as_bytes()).unwrap();
    /// let Event::C2cBeforeSendMsg(sent) = sent else { panic!("{sent:?}") };
    /// assert_eq!(sent.texts().collect::<Vec<_>>(), ["hello"]);
    /// assert_eq!(sent, msg);
    /// ```
    pub fn of<E: TypedEvent>(event: &E) -> Self {
        Self::new(E::COMMAND.as_str(), to_json(event))
    }

    /// A request for `event`'s command carrying it as JSON: a typed event of any command, or an
    /// unknown command's event with its body as it was.
    ///
    /// ```
    /// use tencent_chat_webhook::test_util::{self, SignedRequest};
    /// use tencent_chat_webhook::{Command, Event};
    ///
    /// for &command in Command::ALL {
    ///     let event = test_util::sample_event(command);
    ///     let req = SignedRequest::event(&event);
    ///     assert_eq!(req.command(), command.as_str());
    ///     assert_eq!(Event::parse(req.command(), req.body_text().as_bytes()).unwrap(), event);
    /// }
    ///
    /// let future = Event::parse("Group.CallbackAfterFuture", br#"{"GroupId":"@TGS#1"}"#).unwrap();
    /// let req = SignedRequest::event(&future);
    /// assert_eq!((req.command(), req.body_text()), ("Group.CallbackAfterFuture", r#"{"GroupId":"@TGS#1"}"#));
    /// ```
    pub fn event(event: &Event) -> Self {
        Self::new(event.command_name(), to_json(event))
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

    /// Adds a query parameter, after `OptPlatform` and before `Sign` and `RequestTime`, in the
    /// order added: a parameter of the app's own URL (`?tenant=a`), one Tencent may add (some
    /// callbacks carry a `RequestId`), or a duplicate of a standard one to test a rejection. The
    /// handler sees them in [`RequestContext::uri`](crate::RequestContext::uri).
    ///
    /// ```
    /// use tencent_chat_webhook::test_util::SignedRequest;
    ///
    /// let req = SignedRequest::new("State.StateChange", "{}")
    ///     .query_param("tenant", "a b")
    ///     .request_time(1);
    /// assert!(req.query_string().contains("&OptPlatform=RESTAPI&tenant=a+b&Sign="));
    /// ```
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_query.push((name.into(), value.into()));
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
        for (name, value) in &self.extra_query {
            q.append_pair(name, value);
        }
        if let Some(token) = &self.token {
            let time = self.request_time.unwrap_or_else(now_secs);
            let sign = self
                .sign
                .clone()
                .unwrap_or_else(|| signature::sign(token, time));
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

/// The JSON of an event. Serialising typed fields and valid raw JSON cannot fail.
fn to_json(event: &impl serde::Serialize) -> String {
    serde_json::to_string(event).unwrap_or_default()
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
            .field("extra_query", &self.extra_query)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::group;

    /// One request of each constructor for the same command, with `options` applied.
    fn each_constructor(options: impl Fn(SignedRequest) -> SignedRequest) -> Vec<SignedRequest> {
        let command = Command::GroupAfterFull;
        let typed: group::AfterFull = super::super::typed_sample();
        vec![
            options(SignedRequest::new(command.as_str(), sample(command))),
            options(SignedRequest::sample(command)),
            options(SignedRequest::of(&typed)),
            options(SignedRequest::event(&Event::from(typed))),
        ]
    }

    #[test]
    fn every_constructor_takes_every_option() {
        let signed = |r: SignedRequest| {
            r.app_id(7)
                .token("t")
                .request_time(9)
                .query_param("RequestId", "r-1")
                .path("/im")
        };
        let expected = format!(
            "/im?SdkAppid=7&CallbackCommand=Group.CallbackAfterGroupFull&contenttype=json\
             &ClientIP=127.0.0.1&OptPlatform=RESTAPI&RequestId=r-1&Sign={}&RequestTime=9",
            signature::sign("t", 9)
        );
        for req in each_constructor(signed) {
            assert_eq!(req.path_and_query(), expected, "{req:?}");
        }

        let unsigned =
            |r: SignedRequest| r.raw_app_id("x").unsigned().client_ip(None).platform(None);
        for req in each_constructor(unsigned) {
            assert_eq!(
                req.query_string(),
                "SdkAppid=x&CallbackCommand=Group.CallbackAfterGroupFull&contenttype=json",
                "{req:?}"
            );
        }
    }

    #[tokio::test]
    async fn every_sample_signed_from_its_event_reaches_its_typed_hook_as_sent() {
        use std::sync::Arc;
        use tower::ServiceExt;

        use crate::handler::Recorder;
        use crate::{WebhookConfig, WebhookService};

        let recorder = Arc::new(Recorder::default());
        let config = WebhookConfig::builder(DEMO_APP_ID)
            .token(DEMO_TOKEN)
            .build()
            .unwrap();
        let service = WebhookService::from_arc(config, recorder.clone());
        for &command in Command::ALL {
            let event = super::super::sample_event(command);
            let req = SignedRequest::event(&event);
            // The body is written from the typed event, not copied from the sample's text.
            assert_ne!(req.body_text(), sample(command), "{command}");
            let res = service.clone().oneshot(req.build()).await.unwrap();
            let (status, reply) = super::super::read_reply(res).await;
            assert_eq!((status.as_u16(), reply.error_code()), (200, 0), "{command}");
            let seen = std::mem::take(&mut *recorder.0.lock().unwrap());
            assert_eq!(seen, [event], "{command}");
        }
    }

    #[test]
    fn a_typed_event_is_sent_as_it_is() {
        let mut full: group::AfterFull = super::super::typed_sample();
        full.group_id = "@TGS#changed".into();
        let req = SignedRequest::of(&full);
        let body: serde_json::Value = serde_json::from_str(req.body_text()).unwrap();
        assert_eq!(body["GroupId"], "@TGS#changed");
        assert_eq!(body["CallbackCommand"], "Group.CallbackAfterGroupFull");
        assert_eq!(req.build().body(), req.body_text());

        // One built from `Default` names no command in its body: the query does.
        let bare = SignedRequest::of(&group::AfterFull::default());
        assert_eq!(bare.command(), "Group.CallbackAfterGroupFull");
        assert_eq!(bare.body_text(), r#"{"GroupId":""}"#);
    }

    #[test]
    fn requests_are_signed_with_the_demo_token_by_default() {
        let q = SignedRequest::new("A.B", "{}")
            .request_time(7)
            .query_string();
        assert!(
            q.ends_with(&format!(
                "&Sign={}&RequestTime=7",
                signature::sign(DEMO_TOKEN, 7)
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
            query.contains(&format!("Sign={}", signature::sign("t", 5))),
            "{query}"
        );
    }
}
