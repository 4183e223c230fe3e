//! What the service tells the outside about each request: the [`Outcome`] on the response's
//! body (and in its extensions where the request brought some), `tracing` (one span per request; rejections and failures at warn, bounded), and
//! `metrics` counters and a latency histogram.
//!
//! Nothing here ever records the token, `Sign`, the query string, or a message text.
// Each signal compiles to nothing without its feature, leaving some arguments and labels unused.
#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables, dead_code)
)]

mod outcome;

#[cfg(feature = "redis")]
use std::fmt;
#[cfg(feature = "tracing")]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use outcome::{Answered, Outcome};

use crate::config::WebhookConfig;
use crate::handler::{FailureKind, HandlerFailure};
use crate::protocol::command::{Command, CommandKind};
use crate::rejection::{Rejection, RejectionKind};

/// A command as a metrics label: a known command's name, or `unknown`, so that a caller cannot
/// grow the label set.
pub(crate) fn command_label(command: &str) -> &'static str {
    Command::from_wire(command).map_or("unknown", Command::as_str)
}

pub(crate) fn kind_label(kind: CommandKind) -> &'static str {
    match kind {
        CommandKind::Before => "before",
        CommandKind::After => "after",
    }
}

fn rejection_label(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::MethodNotAllowed => "method_not_allowed",
        RejectionKind::MalformedQuery => "malformed_query",
        RejectionKind::AppIdMismatch => "app_id_mismatch",
        RejectionKind::MissingSignature => "missing_signature",
        RejectionKind::InvalidSignature => "invalid_signature",
        RejectionKind::StaleRequest => "stale_request",
        RejectionKind::BodyTooLarge => "body_too_large",
        RejectionKind::UnreadableBody => "unreadable_body",
        RejectionKind::InvalidBody => "invalid_body",
        RejectionKind::CommandMismatch => "command_mismatch",
        RejectionKind::BodyTimeout => "body_timeout",
    }
}

pub(crate) fn failure_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Error => "error",
        FailureKind::Panic => "panic",
        FailureKind::Unparsed => "unparsed",
        FailureKind::Timeout => "timeout",
        FailureKind::Abandoned => "abandoned",
    }
}

/// At most this many warn lines a second per [`Budget`]; the rest go to debug, and how many
/// were held back is said with the next warn line. A flood of forged requests cannot flood the
/// log, and the first ones of each second are still seen.
#[cfg(feature = "tracing")]
const WARN_PER_SECOND: u64 = 10;

/// A per-second budget of warn lines.
#[cfg(feature = "tracing")]
pub(crate) struct Budget {
    /// The current second (since the process started) in the high 40 bits, the lines logged in
    /// it in the low 24.
    state: AtomicU64,
    held_back: AtomicU64,
}

#[cfg(feature = "tracing")]
impl Budget {
    pub(crate) const fn new() -> Self {
        Budget {
            state: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// Whether a warn line may be logged now, and how many were held back before it.
    fn take(&self) -> Option<u64> {
        let second = start().elapsed().as_secs() + 1;
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let (at, used) = (current >> 24, current & 0xff_ffff);
            let next = if at == second {
                if used >= WARN_PER_SECOND {
                    self.held_back.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                current + 1
            } else {
                (second << 24) | 1
            };
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.held_back.swap(0, Ordering::Relaxed)),
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(feature = "tracing")]
fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

#[cfg(feature = "tracing")]
static REJECTIONS: Budget = Budget::new();
#[cfg(feature = "tracing")]
static FAILURES: Budget = Budget::new();
#[cfg(feature = "tracing")]
static SLOW_POLLS: Budget = Budget::new();
#[cfg(feature = "tracing")]
static LATE_ANSWERS: Budget = Budget::new();

/// Logs and counts a refused request. Authentication failures and bad bodies are warnings (a
/// wrong token in the console switches moderation off without them); a wrong method is debug.
pub(crate) fn rejected(rejection: &Rejection) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_rejections_total", "kind" => rejection_label(rejection.kind()))
        .increment(1);
    #[cfg(feature = "tracing")]
    {
        // The field is `reason`, not `message`: a JSON formatter writes the event's own text
        // under `message`, and a second key of that name is dropped or overwritten by log
        // pipelines, which would lose exactly the line that explains a wrong token.
        let kind = rejection_label(rejection.kind());
        let reason = rejection.message();
        let status = rejection.status().as_u16();
        if rejection.kind() == RejectionKind::MethodNotAllowed {
            tracing::debug!(kind, status, reason, "webhook request rejected");
        } else if let Some(held_back) = REJECTIONS.take() {
            tracing::warn!(kind, status, reason, held_back, "webhook request rejected");
        } else {
            tracing::debug!(kind, status, reason, "webhook request rejected");
        }
    }
}

/// Logs and counts a handler failure.
pub(crate) fn failed(failure: &HandlerFailure) {
    #[cfg(feature = "metrics")]
    {
        let command = command_label(failure.command());
        let kind = failure_label(failure.kind());
        metrics::counter!("tencent_chat_webhook_handler_failures_total", "command" => command, "kind" => kind)
            .increment(1);
        if matches!(
            failure.kind(),
            FailureKind::Timeout | FailureKind::Abandoned
        ) {
            metrics::counter!("tencent_chat_webhook_deadline_hits_total", "command" => command)
                .increment(1);
        }
    }
    #[cfg(feature = "tracing")]
    {
        let kind = failure_label(failure.kind());
        let (command, error) = (failure.command(), failure.message());
        if let Some(held_back) = FAILURES.take() {
            tracing::warn!(command, kind, error, held_back, "webhook handler failed");
        } else {
            tracing::debug!(command, kind, error, "webhook handler failed");
        }
    }
}

/// Warns (bounded, like failures) and counts when one poll of a handler's future held its
/// thread longer than [`WebhookConfig::SLOW_POLL_WARNING`]: blocking work on the runtime, which
/// delays every task of that thread (and, on a current-thread runtime, the answer).
#[inline]
pub(crate) fn polled(command: CommandLabel, took: Duration) {
    if took > WebhookConfig::SLOW_POLL_WARNING {
        slow_poll(command, took);
    }
}

#[cold]
fn slow_poll(command: CommandLabel, took: Duration) {
    let command = command.as_str();
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_slow_polls_total", "command" => command).increment(1);
    #[cfg(feature = "tracing")]
    {
        let took_ms = took.as_millis() as u64;
        if let Some(held_back) = SLOW_POLLS.take() {
            tracing::warn!(
                command,
                took_ms,
                held_back,
                hint = "run blocking work with tokio::task::spawn_blocking",
                "webhook handler blocked its thread"
            );
        } else {
            tracing::debug!(command, took_ms, "webhook handler blocked its thread");
        }
    }
}

/// Warns (bounded) and counts an answer that left more than
/// [`WebhookConfig::LATE_ANSWER_WARNING`] after its deadline: the runtime could not run the
/// request's task in time (its threads blocked or starved).
fn late(command: CommandLabel, outcome: &'static str, late_by: Duration) {
    let command = command.as_str();
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_late_answers_total", "command" => command).increment(1);
    #[cfg(feature = "tracing")]
    {
        let late_ms = late_by.as_millis() as u64;
        if let Some(held_back) = LATE_ANSWERS.take() {
            tracing::warn!(
                command,
                outcome,
                late_ms,
                held_back,
                "webhook answer left after the deadline"
            );
        } else {
            tracing::debug!(
                command,
                outcome,
                late_ms,
                "webhook answer left after the deadline"
            );
        }
    }
}

#[cfg(all(feature = "tracing", feature = "redis"))]
static QUEUE: Budget = Budget::new();

/// Logs trouble with the Redis queue (a lost connection, a failed command) at warn, bounded
/// like failures, and counts it.
#[cfg(feature = "redis")]
pub(crate) fn queue_trouble(what: &'static str, error: &dyn fmt::Display) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_queue_errors_total", "what" => what).increment(1);
    #[cfg(feature = "tracing")]
    {
        let error = error.to_string();
        if let Some(held_back) = QUEUE.take() {
            tracing::warn!(what, error, held_back, "redis queue trouble");
        } else {
            tracing::debug!(what, error, "redis queue trouble");
        }
    }
}

/// Counts a duplicate answered without the handler.
pub(crate) fn duplicate(command: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tencent_chat_webhook_duplicates_total", "command" => command_label(command))
        .increment(1);
    #[cfg(feature = "tracing")]
    tracing::debug!(
        command,
        "duplicate after-event acknowledged without the handler"
    );
}

/// The most distinct unknown command names remembered, each logged once.
#[cfg(feature = "tracing")]
const UNKNOWN_COMMANDS: usize = 64;

/// The most of an unknown command's name that is logged and remembered: the name comes from an
/// authenticated request, but a body's may be as long as the body.
#[cfg(feature = "tracing")]
const UNKNOWN_COMMAND_NAME: usize = 64;

/// The unknown command names already logged, at most [`UNKNOWN_COMMANDS`] of them.
#[cfg(feature = "tracing")]
#[derive(Default)]
pub(crate) struct UnknownCommands {
    seen: std::sync::Mutex<UnknownSeen>,
}

#[cfg(feature = "tracing")]
#[derive(Default)]
struct UnknownSeen {
    names: std::collections::HashSet<Box<str>>,
    /// Whether a name past the bound has been seen (and said once).
    overflowed: bool,
}

/// What to log about one unknown command.
#[cfg(feature = "tracing")]
#[derive(Debug, PartialEq, Eq)]
enum Sighting {
    /// The first of its name: log it.
    First,
    /// The first name past the bound: say that more are not logged.
    Overflow,
    /// Already said.
    Known,
}

#[cfg(feature = "tracing")]
impl UnknownCommands {
    /// Remembers `name` (already cut to [`UNKNOWN_COMMAND_NAME`]), and says what to log.
    fn sight(&self, name: &str) -> Sighting {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.names.contains(name) {
            Sighting::Known
        } else if seen.names.len() < UNKNOWN_COMMANDS {
            seen.names.insert(name.into());
            Sighting::First
        } else if !seen.overflowed {
            seen.overflowed = true;
            Sighting::Overflow
        } else {
            Sighting::Known
        }
    }
}

#[cfg(feature = "tracing")]
static UNKNOWN: std::sync::LazyLock<UnknownCommands> =
    std::sync::LazyLock::new(UnknownCommands::default);

/// Logs, at info, the first request of each unknown command name (at most
/// [`UNKNOWN_COMMANDS`] names, then one line saying that more are not logged): a command Tencent
/// added since this crate was built shows once in the log, with its name and app, never its
/// body. It is answered by [`Handler::on_unknown`](crate::Handler::on_unknown) either way.
pub(crate) fn unknown_command(app_id: u64, command: &str) {
    #[cfg(feature = "tracing")]
    {
        if !tracing::level_enabled!(tracing::Level::INFO) {
            return;
        }
        let command = crate::protocol::parse::truncated(command.to_owned(), UNKNOWN_COMMAND_NAME);
        match UNKNOWN.sight(&command) {
            Sighting::First => tracing::info!(
                app_id,
                command,
                "unknown webhook command, answered by `Handler::on_unknown` (logged once per name)"
            ),
            Sighting::Overflow => tracing::info!(
                app_id,
                command,
                limit = UNKNOWN_COMMANDS,
                "more unknown webhook commands than are remembered; no more of them are logged"
            ),
            Sighting::Known => {}
        }
    }
}

/// The `command` label of a request's metrics, from the command looked up where the request
/// named it: no lookup by name when the request ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CommandLabel {
    /// Refused before any command was read.
    None,
    /// A command this crate does not know (or an empty one).
    Unknown,
    /// A command of the table.
    Known(Command),
}

impl CommandLabel {
    /// The label of a request whose command is `known` (`None`: not one of the table).
    pub(crate) fn of(known: Option<Command>) -> Self {
        known.map_or(CommandLabel::Unknown, CommandLabel::Known)
    }

    /// The label's text: the command's name, `unknown` or `none`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CommandLabel::None => "none",
            CommandLabel::Unknown => "unknown",
            CommandLabel::Known(command) => command.as_str(),
        }
    }
}

/// When a request started, and how long it had to answer when a deadline was enforced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) started: Instant,
    pub(crate) due: Option<Duration>,
}

/// Records the end of a request: its span's fields, the request counter and the latency; and
/// warns when the answer left late.
pub(crate) fn finished(command: CommandLabel, outcome: &'static str, status: u16, timing: Timing) {
    let elapsed = timing.started.elapsed();
    if let Some(due) = timing.due
        && let Some(late_by) = elapsed.checked_sub(due)
        && late_by > WebhookConfig::LATE_ANSWER_WARNING
    {
        late(command, outcome, late_by);
    }
    #[cfg(feature = "metrics")]
    request_keys::record(command, outcome, elapsed);
    #[cfg(feature = "tracing")]
    if span_wanted() {
        let span = tracing::Span::current();
        span.record("outcome", outcome);
        span.record("status", status);
        span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    }
}

/// Whether a subscriber may want the request's span, which is at info level: with none, or none
/// that wants info (an atomic load tells), there is no span to make ([`span`]) or to record
/// into ([`identified`], [`finished`]).
#[cfg(feature = "tracing")]
fn span_wanted() -> bool {
    tracing::level_enabled!(tracing::Level::INFO)
}

/// The current span, to run a request's handler task in, when a subscriber may want it.
#[cfg(feature = "tracing")]
pub(crate) fn current_span() -> Option<tracing::Span> {
    span_wanted().then(tracing::Span::current)
}

/// The span of one request, with its fields still empty but the app, when known.
#[cfg(feature = "tracing")]
pub(crate) fn span() -> tracing::Span {
    if !span_wanted() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "webhook",
        app_id = tracing::field::Empty,
        command = tracing::field::Empty,
        kind = tracing::field::Empty,
        outcome = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Records the app (once authenticated) and the command (from the query, or later from the
/// body) on the current span.
pub(crate) fn identified(app_id: Option<u64>, command: Option<&str>, kind: Option<CommandKind>) {
    #[cfg(feature = "tracing")]
    if span_wanted() {
        let span = tracing::Span::current();
        if let Some(app_id) = app_id {
            span.record("app_id", app_id);
        }
        if let Some(command) = command {
            span.record("command", command);
        }
        if let Some(kind) = kind {
            span.record("kind", kind_label(kind));
        }
    }
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::*;

    #[test]
    fn unknown_commands_are_logged_once_each_and_bounded() {
        let seen = UnknownCommands::default();
        let names: Vec<String> = (0..UNKNOWN_COMMANDS + 2)
            .map(|i| format!("X.Callback{i}"))
            .collect();
        for name in &names[..UNKNOWN_COMMANDS] {
            assert_eq!(seen.sight(name), Sighting::First, "{name}");
            assert_eq!(seen.sight(name), Sighting::Known, "{name} again");
        }
        // One line for the first name past the bound, then nothing, for new and old names.
        assert_eq!(seen.sight(&names[UNKNOWN_COMMANDS]), Sighting::Overflow);
        assert_eq!(seen.sight(&names[UNKNOWN_COMMANDS + 1]), Sighting::Known);
        assert_eq!(seen.sight(&names[UNKNOWN_COMMANDS]), Sighting::Known);
        assert_eq!(seen.sight(&names[0]), Sighting::Known);
        assert_eq!(seen.seen.lock().unwrap().names.len(), UNKNOWN_COMMANDS);
    }
}

#[cfg(feature = "metrics")]
mod request_keys;
