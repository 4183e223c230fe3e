//! Authentication from the URL alone, and the framework-free entry point [`construct_event`].

use std::borrow::Cow;

use crate::auth::SignatureError;
use crate::config::WebhookConfig;
use crate::handler::context::ShortText;
use crate::handler::{Command, Event, ParseErrorKind, command_from_body};
use crate::protocol::query::{CallbackQuery, OptPlatform};
use crate::rejection::{Rejection, RejectionKind};

/// What the URL told us, once it passed the checks: only what later steps need, owned.
pub(crate) struct Authenticated {
    /// The app the request is for.
    pub(crate) app_id: u64,
    /// A console check request: authenticated, but naming no app (see [`console_check`]).
    pub(crate) console_check: bool,
    pub(crate) command: Option<CommandName>,
    pub(crate) client_ip: Option<ShortText>,
    pub(crate) platform: Option<OptPlatform>,
    pub(crate) content_type: Option<Cow<'static, str>>,
    pub(crate) request_time: Option<u64>,
}

/// A command's name as a request gives it, with its row of the table when it has one: looked
/// up once, where the name is read. A known name is the table's `&'static str`: no allocation
/// per request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CommandName {
    pub(crate) name: Cow<'static, str>,
    pub(crate) known: Option<Command>,
}

impl CommandName {
    pub(crate) fn new(command: Cow<'_, str>) -> Self {
        let known = Command::from_wire(&command);
        let name = match known {
            Some(known) => Cow::Borrowed(known.as_str()),
            None => Cow::Owned(command.into_owned()),
        };
        CommandName { name, known }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.name
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
    let Some(app_id) = query.sdk_app_id.as_deref() else {
        return console_check(config, &query);
    };
    let app_id = parse_app_id(app_id).ok_or_else(|| {
        Rejection::new(
            RejectionKind::MalformedQuery,
            "query parameter `SdkAppid` is not a decimal app id",
        )
    })?;
    let app = config.app(app_id).ok_or_else(|| {
        Rejection::new(
            RejectionKind::AppIdMismatch,
            format_args!("SdkAppid {app_id} is not an app of this endpoint"),
        )
    })?;
    let request_time = match &app.verifier {
        None => query.request_time.as_deref().and_then(|t| t.parse().ok()),
        Some(verifier) => Some(
            verifier
                .verify(
                    query.sign.as_deref(),
                    query.request_time.as_deref(),
                    config.clock.now(),
                )
                .map_err(signature_rejection)?,
        ),
    };
    Ok(Authenticated {
        app_id,
        console_check: false,
        command: query.command.map(CommandName::new),
        client_ip: query.client_ip.as_deref().map(ShortText::new),
        platform: query.platform.as_deref().map(OptPlatform::parse),
        content_type: query.content_type.map(|t| match &*t {
            "json" => Cow::Borrowed("json"),
            _ => Cow::Owned(t.into_owned()),
        }),
        request_time,
    })
}

/// An app id as Tencent writes one: decimal digits, no sign, no leading zero. Anything else
/// (`+1400000000`, `01400000000`, which `u64::from_str` would accept) is not taken for a
/// configured app.
fn parse_app_id(raw: &str) -> Option<u64> {
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    if !digits || (raw.len() > 1 && raw.starts_with('0')) {
        return None;
    }
    raw.parse().ok()
}

fn signature_rejection(e: SignatureError) -> Rejection {
    let kind = match e {
        SignatureError::MissingSign | SignatureError::MissingRequestTime => {
            RejectionKind::MissingSignature
        }
        SignatureError::MalformedRequestTime => RejectionKind::MalformedQuery,
        SignatureError::Stale { .. } => RejectionKind::StaleRequest,
        _ => RejectionKind::InvalidSignature,
    };
    Rejection::new(kind, e)
}

/// A request without `SdkAppid`. The console's "check" (校验) button test-calls the URL; its
/// request is not documented (a third-party implementation says it may carry only `Sign` and
/// `RequestTime`, perhaps `CallbackCommand`, and no `SdkAppid`). Such a request passes when its
/// signature is valid, fresh, and made with the token of one of the configured apps (or, unsigned,
/// when an app opted out of signatures), and it carries no event: no command this crate knows,
/// and an empty body. It is answered OK without calling the handler. A known command without
/// `SdkAppid`, or anything else, is a malformed query (400).
fn console_check(
    config: &crate::config::ConfigInner,
    query: &CallbackQuery<'_>,
) -> Result<Authenticated, Rejection> {
    let missing = || {
        Rejection::new(
            RejectionKind::MalformedQuery,
            "query parameter `SdkAppid` is missing",
        )
    };
    // What a check that passed, for `app_id`, carries.
    let checked = |app_id: u64, request_time: Option<u64>| Authenticated {
        app_id,
        console_check: true,
        command: query.command.clone().map(CommandName::new),
        client_ip: query.client_ip.as_deref().map(ShortText::new),
        platform: query.platform.as_deref().map(OptPlatform::parse),
        content_type: None,
        request_time,
    };
    if query.sign.is_none() {
        // An app that opted out of signatures cannot tell a check from anything else; such a
        // request names no app and is answered OK only if it carries no event (checked once
        // the body is read).
        return match config.apps.iter().find(|a| a.verifier.is_none()) {
            Some(app) => Ok(checked(app.app_id, None)),
            None => Err(missing()),
        };
    }
    let now = config.clock.now();
    let mut last = None;
    for app in &config.apps {
        let Some(verifier) = &app.verifier else {
            continue;
        };
        match verifier.verify(query.sign.as_deref(), query.request_time.as_deref(), now) {
            Ok(time) => return Ok(checked(app.app_id, Some(time))),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(missing, signature_rejection))
}

/// The command of a request: the query's, or else the body's. `None` when neither names one and
/// the body is empty (or `{}`): a console check, which carries nothing to lose. A body with
/// content but no command anywhere is refused (400), so that nothing is acknowledged unread.
pub(crate) fn resolve_command(
    from_query: Option<CommandName>,
    body: &[u8],
) -> Result<Option<CommandName>, Rejection> {
    if let Some(command) = from_query {
        return Ok(Some(command));
    }
    let content: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(3)
        .collect();
    if content.is_empty() || content == b"{}" {
        return Ok(None);
    }
    match command_from_body(body) {
        Ok(Some(command)) => Ok(Some(CommandName::new(Cow::Owned(command)))),
        Ok(None) => Err(no_command()),
        Err(e) => Err(Rejection::new(RejectionKind::InvalidBody, e)),
    }
}

fn no_command() -> Rejection {
    Rejection::new(
        RejectionKind::CommandMismatch,
        "CallbackCommand is in neither the query nor the body",
    )
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
/// does not fit its command is refused here, and so is a request naming no app or no command
/// (which the service answers OK, as a console check, when it carries no event); ([`RejectionKind::InvalidBody`], the path named);
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
    if auth.console_check {
        // No app named: a console check carries no event, and an event must name its app.
        return Err(Rejection::new(
            RejectionKind::MalformedQuery,
            "query parameter `SdkAppid` is missing",
        ));
    }
    let command = resolve_command(auth.command, body)?.ok_or_else(no_command)?;
    Event::parse_as(command.known, &command.name, body).map_err(|e| parse_rejection(&e))
}
