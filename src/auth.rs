//! Authentication from the URL alone, and the framework-free entry point [`construct_event`].

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::WebhookConfig;
use crate::handler::context::{CommandName, ShortText};
use crate::protocol::event::Event;
use crate::protocol::parse::command_from_body;
use crate::protocol::query::{CallbackQuery, OptPlatform};
use crate::protocol::unparsed::ParseErrorKind;
use crate::rejection::{Rejection, RejectionKind};
use crate::signature::SignatureError;

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
        Some(verifier) => {
            let now = config.clock.now();
            let tried = Tried::App {
                app_id,
                tokens: verifier.token_count(),
            };
            Some(
                verifier
                    .verify(query.sign.as_deref(), query.request_time.as_deref(), now)
                    .map_err(|e| signature_rejection(e, tried, config, &query, now))?,
            )
        }
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

/// Whose tokens a refused signature was compared against, for its message.
#[derive(Clone, Copy)]
enum Tried {
    /// The tokens of the app the request named.
    App { app_id: u64, tokens: usize },
    /// Those of every app that checks signatures: a console check names no app.
    Apps { apps: usize, tokens: usize },
}

/// The rejection of a refused signature, with a message that helps fix the mistake: which app
/// and how many tokens were tried (never a token or a signature), or the window and which side
/// of it `RequestTime` fell.
fn signature_rejection(
    e: SignatureError,
    tried: Tried,
    config: &crate::config::ConfigInner,
    query: &CallbackQuery<'_>,
    now: SystemTime,
) -> Rejection {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match e {
        SignatureError::MissingSign | SignatureError::MissingRequestTime => {
            Rejection::new(RejectionKind::MissingSignature, e)
        }
        SignatureError::MalformedRequestTime => Rejection::new(RejectionKind::MalformedQuery, e),
        SignatureError::Stale { skew_secs } => {
            let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let sent = query.request_time.as_deref().and_then(|t| t.parse().ok());
            let side = if sent.is_some_and(|sent: u64| sent > now) {
                "in the future (early)"
            } else {
                "in the past (late)"
            };
            Rejection::new(
                RejectionKind::StaleRequest,
                format_args!(
                    "request time is {skew_secs} s away from the server clock, {side}, outside the allowed window of {} s either way; check this server's clock",
                    config.max_skew.as_secs()
                ),
            )
        }
        _ => {
            let hint = "compare the token with the one in Tencent's console";
            let message = match tried {
                Tried::App { app_id, tokens } => format!(
                    "signature does not match for app {app_id} ({tokens} token{} tried); {hint}",
                    plural(tokens)
                ),
                Tried::Apps { apps, tokens } => format!(
                    "signature does not match any app of this endpoint ({tokens} token{} of {apps} app{} tried); {hint}",
                    plural(tokens),
                    plural(apps)
                ),
            };
            Rejection::new(RejectionKind::InvalidSignature, message)
        }
    }
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
    let (mut apps, mut tokens) = (0, 0);
    for app in &config.apps {
        let Some(verifier) = &app.verifier else {
            continue;
        };
        match verifier.verify(query.sign.as_deref(), query.request_time.as_deref(), now) {
            Ok(time) => return Ok(checked(app.app_id, Some(time))),
            Err(e) => last = Some(e),
        }
        apps += 1;
        tokens += verifier.token_count();
    }
    let tried = Tried::Apps { apps, tokens };
    Err(last.map_or_else(missing, |e| {
        signature_rejection(e, tried, config, query, now)
    }))
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
pub(crate) fn parse_rejection(e: &crate::protocol::unparsed::ParseError) -> Rejection {
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
/// use tencent_chat_webhook::{signature, construct_event, Event, RejectionKind, WebhookConfig};
///
/// let config = WebhookConfig::builder(1400000000)
///     .token("s3cret")
///     .clock(|| UNIX_EPOCH + Duration::from_secs(1669872112))
///     .build()
///     .unwrap();
/// let query = format!(
///     "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterGroupFull&contenttype=json\
///      &Sign={}&RequestTime=1669872112",
///     signature::sign("s3cret", 1669872112),
/// );
/// let body = br#"{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":"@TGS#1"}"#;
///
/// let Event::GroupAfterFull(full) = construct_event(&config, &query, body).unwrap() else {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::signature::sign;

    const NOW: u64 = 1_700_000_000;

    fn config() -> WebhookConfig {
        WebhookConfig::builder(1400000000)
            .token("old-s3cret")
            .token("new-s3cret")
            .app(1400000001)
            .token("other-s3cret")
            .max_skew(Duration::from_secs(30))
            .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
            .build()
            .unwrap()
    }

    #[test]
    fn refused_signatures_say_how_to_fix_them_without_a_secret() {
        let wrong = sign("guess", NOW);
        let expected = [
            sign("old-s3cret", NOW),
            sign("new-s3cret", NOW),
            sign("other-s3cret", NOW),
        ];
        let query = |app: &str, sign: &str, time: u64| {
            format!("{app}CallbackCommand=X.Y&Sign={sign}&RequestTime={time}")
        };
        let cases = [
            (
                "wrong token, two configured",
                query("SdkAppid=1400000000&", &wrong, NOW),
                RejectionKind::InvalidSignature,
                "signature does not match for app 1400000000 (2 tokens tried); compare the token with the one in Tencent's console",
            ),
            (
                "wrong token, one configured",
                query("SdkAppid=1400000001&", &wrong, NOW),
                RejectionKind::InvalidSignature,
                "signature does not match for app 1400000001 (1 token tried)",
            ),
            (
                "a console check no app's token signed",
                query("", &wrong, NOW),
                RejectionKind::InvalidSignature,
                "signature does not match any app of this endpoint (3 tokens of 2 apps tried)",
            ),
            (
                "late",
                query(
                    "SdkAppid=1400000000&",
                    &sign("new-s3cret", NOW - 31),
                    NOW - 31,
                ),
                RejectionKind::StaleRequest,
                "request time is 31 s away from the server clock, in the past (late), outside the allowed window of 30 s either way",
            ),
            (
                "early",
                query(
                    "SdkAppid=1400000001&",
                    &sign("other-s3cret", NOW + 95),
                    NOW + 95,
                ),
                RejectionKind::StaleRequest,
                "95 s away from the server clock, in the future (early), outside the allowed window of 30 s",
            ),
            (
                "a late console check",
                query("", &sign("other-s3cret", NOW - 40), NOW - 40),
                RejectionKind::StaleRequest,
                "in the past (late), outside the allowed window of 30 s",
            ),
        ];
        let config = config();
        for (name, query, kind, want) in cases {
            let Err(rejection) = authenticate_query(&config, &query) else {
                panic!("{name}: accepted");
            };
            assert_eq!(rejection.kind(), kind, "{name}");
            let message = rejection.message();
            assert!(message.contains(want), "{name}: {message}");
            assert!(!message.contains("s3cret"), "{name}: {message}");
            for secret in expected.iter().chain([&wrong]) {
                assert!(!message.contains(secret.as_str()), "{name}: {message}");
            }
        }
    }
}
