//! Authentication from the URL alone, and the framework-free entry point [`construct_event`].

use std::borrow::Cow;

use crate::auth::SignatureError;
use crate::config::WebhookConfig;
use crate::handler::{Command, Event, ParseErrorKind, command_from_body};
use crate::protocol::query::{CallbackQuery, OptPlatform};
use crate::rejection::{Rejection, RejectionKind};

/// What the URL told us, once it passed the checks: only what later steps need, owned.
pub(crate) struct Authenticated {
    pub(crate) command: Option<Cow<'static, str>>,
    pub(crate) client_ip: Option<String>,
    pub(crate) platform: Option<OptPlatform>,
    pub(crate) content_type: Option<Cow<'static, str>>,
    pub(crate) request_time: Option<u64>,
}

/// A known command's name is a `&'static str` from the table: no allocation per request.
pub(crate) fn intern(command: Cow<'_, str>) -> Cow<'static, str> {
    match Command::from_wire(&command) {
        Some(known) => Cow::Borrowed(known.as_str()),
        None => Cow::Owned(command.into_owned()),
    }
}

/// Checks the query string (without `?`): parameters, app id, then the signature and its window.
pub(crate) fn authenticate_query(
    config: &WebhookConfig,
    query: &str,
) -> Result<Authenticated, Rejection> {
    let config = &config.inner;
    let query = CallbackQuery::parse(query)
        .map_err(|e| Rejection::new(RejectionKind::MalformedQuery, e))?;
    let app_id = query.sdk_app_id.as_deref().ok_or_else(|| {
        Rejection::new(
            RejectionKind::MalformedQuery,
            "query parameter `SdkAppid` is missing",
        )
    })?;
    let app_id: u64 = app_id.parse().map_err(|_| {
        Rejection::new(
            RejectionKind::MalformedQuery,
            "query parameter `SdkAppid` is not a decimal app id",
        )
    })?;
    if app_id != config.app_id {
        return Err(Rejection::new(
            RejectionKind::AppIdMismatch,
            format_args!("SdkAppid {app_id} is not this endpoint's app"),
        ));
    }
    let request_time = match &config.verifier {
        None => query.request_time.as_deref().and_then(|t| t.parse().ok()),
        Some(verifier) => {
            let now = config.clock.now();
            let time = verifier
                .verify(query.sign.as_deref(), query.request_time.as_deref(), now)
                .map_err(|e| {
                    let kind = match e {
                        SignatureError::MissingSign | SignatureError::MissingRequestTime => {
                            RejectionKind::MissingSignature
                        }
                        SignatureError::MalformedRequestTime => RejectionKind::MalformedQuery,
                        SignatureError::Stale { .. } => RejectionKind::StaleRequest,
                        _ => RejectionKind::InvalidSignature,
                    };
                    Rejection::new(kind, e)
                })?;
            Some(time)
        }
    };
    Ok(Authenticated {
        command: query.command.map(intern),
        client_ip: query.client_ip.map(Cow::into_owned),
        platform: query.platform.as_deref().map(OptPlatform::parse),
        content_type: query.content_type.map(|t| match &*t {
            "json" => Cow::Borrowed("json"),
            _ => Cow::Owned(t.into_owned()),
        }),
        request_time,
    })
}

/// The command of a request: the query's, or else the body's.
pub(crate) fn resolve_command(
    from_query: Option<Cow<'static, str>>,
    body: &[u8],
) -> Result<Cow<'static, str>, Rejection> {
    if let Some(command) = from_query {
        return Ok(command);
    }
    match command_from_body(body) {
        Ok(Some(command)) => Ok(intern(Cow::Owned(command))),
        Ok(None) => Err(Rejection::new(
            RejectionKind::CommandMismatch,
            "CallbackCommand is in neither the query nor the body",
        )),
        Err(e) => Err(Rejection::new(RejectionKind::InvalidBody, e)),
    }
}

/// The rejection for a body that could not be parsed.
pub(crate) fn parse_rejection(e: &crate::handler::ParseError) -> Rejection {
    let kind = match e.kind() {
        ParseErrorKind::CommandMismatch => RejectionKind::CommandMismatch,
        _ => RejectionKind::InvalidBody,
    };
    Rejection::new(kind, e)
}

/// Authenticates a webhook from its query string and parses its body into an [`Event`], for
/// apps that receive the request with their own framework, extractors and state and want the
/// typed event without the [`WebhookService`](crate::WebhookService).
///
/// `query` is the request URI's query, without `?`. The checks are the service's: app id,
/// signature and window (per `config`), then the body's JSON against the command. A body that
/// does not fit its command is refused here ([`RejectionKind::InvalidBody`], the path named);
/// [`Event::parse`] gives it back with its JSON instead. The method and the body limit are yours
/// to check: the service refuses anything but `POST` and bodies over
/// [`body_limit`](WebhookConfig::body_limit).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tencent_chat_webhook::{auth, construct_event, Event, RejectionKind, WebhookConfig};
///
/// let config = WebhookConfig::builder(1400000000)
///     .token("s3cret")
///     .clock(|| UNIX_EPOCH + Duration::from_secs(1669872112))
///     .build()
///     .unwrap();
/// let query = format!(
///     "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterGroupFull&contenttype=json\
///      &Sign={}&RequestTime=1669872112",
///     auth::sign("s3cret", 1669872112),
/// );
/// let body = br#"{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":"@TGS#1"}"#;
///
/// let Event::GroupAfterGroupFull(full) = construct_event(&config, &query, body).unwrap() else {
///     panic!("another event")
/// };
/// assert_eq!(full.group_id, "@TGS#1");
///
/// let forged = query.replace("Sign=", "Sign=0");
/// let err = construct_event(&config, &forged, body).unwrap_err();
/// assert_eq!(err.kind(), RejectionKind::InvalidSignature);
/// ```
pub fn construct_event(
    config: &WebhookConfig,
    query: &str,
    body: &[u8],
) -> Result<Event, Rejection> {
    let auth = authenticate_query(config, query)?;
    let command = resolve_command(auth.command, body)?;
    Event::parse(&command, body).map_err(|e| parse_rejection(&e))
}
