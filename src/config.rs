//! What a webhook endpoint checks and how it behaves: app id, tokens, window, limits, failures.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::dedup::{Dedup, ErasedDedup};
use crate::handler::HandlerFailure;
use crate::signature::{TokenError, Verifier};

/// What a before-event gets when the handler fails (returns an error or panics).
///
/// Tencent's own policy when a before-webhook times out is to let the action proceed, so the
/// default here is the same: a bug in the handler does not silently block users. After-events
/// are notifications; a failure there is answered with HTTP 500 whatever this says, so it shows
/// in Tencent's callback statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureDecision {
    /// Answer `ErrorCode` 0: the action goes ahead.
    #[default]
    Allow,
    /// Answer `ErrorCode` 1: the action is refused.
    Deny,
    /// Answer HTTP 500, so Tencent applies the failure policy set in its console. (The docs only
    /// describe that policy for timeouts; that it also covers error statuses is unconfirmed.)
    DeferToTencent,
}

type FailureHook = Arc<dyn Fn(&HandlerFailure) + Send + Sync>;

/// What happens to an after-event's handler that is still running at the deadline (feature
/// `tokio`). Either way the event is reported ([`FailureKind::Timeout`](crate::FailureKind)),
/// with its [idempotency key](crate::Event::idempotency_key) in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterDeadline {
    /// Drop the handler's future and answer HTTP 500, so Tencent's retry (where switched on)
    /// delivers the event again.
    Cancel,
    /// Answer OK and let the handler finish on its own task, with at most this many such tasks
    /// at once; past that, cancel as [`Cancel`](Self::Cancel) does. The default, with 256 tasks:
    /// a notification that is being processed is acknowledged, and a slow dependency cannot pile
    /// up unbounded work. A handler still running at its
    /// [time bound](WebhookConfigBuilder::background_limit) is cancelled and reported
    /// ([`FailureKind::Abandoned`](crate::FailureKind)) with the event's idempotency key, so that
    /// the acknowledged event it dropped can be found and replayed.
    Finish {
        /// The most handlers finishing in the background at once.
        max_in_background: usize,
    },
}

impl Default for AfterDeadline {
    fn default() -> Self {
        AfterDeadline::Finish {
            max_in_background: 256,
        }
    }
}

/// One app's credentials.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub(crate) app_id: u64,
    pub(crate) verifier: Option<Verifier>,
}

/// The configuration of a webhook endpoint: the apps it serves (each with its tokens, or an
/// explicit opt-out of signature checks), the freshness window, the body limit, the deadline,
/// the failure policy and an optional de-duplication store. Cheap to clone.
///
/// Built with [`WebhookConfig::builder`]. Signature checks are on unless explicitly turned off:
/// an app with no token and no [`without_signature_check`] fails to build.
///
/// ```
/// use tencent_chat_webhook::{ConfigError, WebhookConfig};
///
/// let err = WebhookConfig::builder(1400000000).build().unwrap_err();
/// assert_eq!(err, ConfigError::NoToken { app_id: 1400000000 });
///
/// // Several apps behind one endpoint, each with its own tokens (or opt-out).
/// let config = WebhookConfig::builder(1400000000)
///     .token("s3cret")
///     .app(1400000001)
///     .token("other-new")
///     .token("other-old")
///     .build()
///     .unwrap();
/// assert_eq!(config.app_ids().collect::<Vec<_>>(), [1400000000, 1400000001]);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
///
/// [`without_signature_check`]: WebhookConfigBuilder::without_signature_check
#[derive(Clone)]
pub struct WebhookConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

pub(crate) struct ConfigInner {
    pub(crate) apps: Vec<App>,
    pub(crate) max_skew: Duration,
    pub(crate) body_limit: usize,
    pub(crate) on_failure: FailureDecision,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) failure_hook: Option<FailureHook>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) after_deadline: AfterDeadline,
    pub(crate) background_limit: Duration,
    pub(crate) dedup: Option<Arc<dyn ErasedDedup>>,
}

impl ConfigInner {
    /// The app with this id, if configured.
    pub(crate) fn app(&self, app_id: u64) -> Option<&App> {
        self.apps.iter().find(|a| a.app_id == app_id)
    }
}

impl WebhookConfig {
    /// The default body limit, 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// The default deadline, 1.5 s. Tencent waits at most 2 s for an answer, counted from its
    /// side: the request and the answer both cross the public network (and TLS), which takes
    /// from tens to a few hundred milliseconds from another region, so the crate answers with a
    /// half-second margin rather than racing Tencent's own timer.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(1500);

    /// The default time bound of an after-event's handler finishing in the background once its
    /// deadline passed ([`AfterDeadline::Finish`]), 60 s.
    pub const DEFAULT_BACKGROUND_LIMIT: Duration = Duration::from_secs(60);

    /// A handler whose future holds its thread longer than this in one poll (blocking work on
    /// the runtime: `std::thread::sleep`, synchronous I/O, heavy CPU work) is logged at warn
    /// (feature `tracing`, bounded to ten lines a second) and counted as
    /// `tencent_chat_webhook_slow_polls_total{command}` (feature `metrics`). Such work belongs
    /// in `tokio::task::spawn_blocking`: see [`Handler`](crate::Handler).
    pub const SLOW_POLL_WARNING: Duration = Duration::from_millis(100);

    /// An answer that leaves more than this after its deadline (the runtime could not run the
    /// request in time: its threads blocked or starved) is logged at warn (bounded) and
    /// counted as `tencent_chat_webhook_late_answers_total{command}`. An answer at the deadline
    /// (the failure decision of a handler that was too slow) is not late.
    pub const LATE_ANSWER_WARNING: Duration = Duration::from_millis(100);

    /// Starts a configuration for the app with this `SDKAppID`; add more with
    /// [`app`](WebhookConfigBuilder::app).
    pub fn builder(app_id: u64) -> WebhookConfigBuilder {
        WebhookConfigBuilder {
            apps: vec![AppBuilder::new(app_id)],
            max_skew: Verifier::DEFAULT_MAX_SKEW,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            on_failure: FailureDecision::default(),
            clock: Arc::new(SystemClock),
            failure_hook: None,
            // Without a timer there is no deadline (and asking for one is an error).
            deadline: cfg!(feature = "tokio").then_some(Self::DEFAULT_DEADLINE),
            deadline_asked: false,
            after_deadline: AfterDeadline::default(),
            background_limit: Self::DEFAULT_BACKGROUND_LIMIT,
            dedup: None,
        }
    }

    /// The first app's id (the one given to [`builder`](WebhookConfig::builder)).
    pub fn app_id(&self) -> u64 {
        self.inner.apps[0].app_id
    }

    /// Every configured app id, in the order they were added.
    pub fn app_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.inner.apps.iter().map(|a| a.app_id)
    }

    /// Whether `Sign` is checked for this app (`false` also for an app not configured).
    pub fn checks_signature(&self, app_id: u64) -> bool {
        self.inner.app(app_id).is_some_and(|a| a.verifier.is_some())
    }

    /// How far `RequestTime` may be from now, either way.
    pub fn max_skew(&self) -> Duration {
        self.inner.max_skew
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The decision for before-events whose handler failed.
    pub fn failure_decision(&self) -> FailureDecision {
        self.inner.on_failure
    }

    /// The deadline for reading the body and running the handler, when one is enforced. It
    /// needs the `tokio` feature (without it, this is `None`) and a tokio runtime with a timer
    /// at request time; a request served outside one has no deadline.
    pub fn deadline(&self) -> Option<Duration> {
        self.inner.deadline
    }

    /// What happens to an after-event's handler still running at the deadline.
    pub fn after_deadline(&self) -> AfterDeadline {
        self.inner.after_deadline
    }

    /// How long an after-event's handler may go on in the background once its deadline passed.
    pub fn background_limit(&self) -> Duration {
        self.inner.background_limit
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("WebhookConfig")
            .field("apps", &c.apps)
            .field("max_skew", &c.max_skew)
            .field("body_limit", &c.body_limit)
            .field("on_failure", &c.on_failure)
            .field("deadline", &c.deadline)
            .field("after_deadline", &c.after_deadline)
            .field("background_limit", &c.background_limit)
            .field("dedup", &c.dedup.as_ref().map(|_| "Dedup"))
            .field("failure_hook", &c.failure_hook.as_ref().map(|_| "Fn"))
            .finish_non_exhaustive()
    }
}

struct AppBuilder {
    app_id: u64,
    tokens: Vec<String>,
    skip_signature: bool,
}

impl AppBuilder {
    fn new(app_id: u64) -> Self {
        AppBuilder {
            app_id,
            tokens: Vec::new(),
            skip_signature: false,
        }
    }

    fn build(self, max_skew: Duration) -> Result<App, ConfigError> {
        let app_id = self.app_id;
        let verifier = match (self.tokens.is_empty(), self.skip_signature) {
            (true, false) => return Err(ConfigError::NoToken { app_id }),
            (false, true) => return Err(ConfigError::TokenWithoutSignatureCheck { app_id }),
            (true, true) => None,
            (false, false) if self.tokens.iter().any(|t| !is_trimmed(t)) => {
                return Err(ConfigError::TokenWhitespace { app_id });
            }
            (false, false) => Some(
                Verifier::new(&self.tokens)
                    .map_err(|e| match e {
                        TokenError::EmptyToken => ConfigError::EmptyToken { app_id },
                        _ => ConfigError::NoToken { app_id },
                    })?
                    .with_max_skew(max_skew),
            ),
        };
        Ok(App { app_id, verifier })
    }
}

/// Whether a token is free of what copying it from a console or a file adds by mistake: a space
/// or line break at either end, or a control character (a newline, a tab) anywhere. Tencent
/// signs with the token as set in its console, so such a token would fail every request. The
/// empty token is left to its own error.
fn is_trimmed(token: &str) -> bool {
    token.is_empty() || (token.trim() == token && !token.chars().any(char::is_control))
}

/// Builds a [`WebhookConfig`]. Token settings apply to the app last named, by
/// [`WebhookConfig::builder`] or [`app`](Self::app).
pub struct WebhookConfigBuilder {
    apps: Vec<AppBuilder>,
    max_skew: Duration,
    body_limit: usize,
    on_failure: FailureDecision,
    clock: Arc<dyn Clock>,
    failure_hook: Option<FailureHook>,
    deadline: Option<Duration>,
    /// `deadline(..)` was called: without the `tokio` feature, a mistake to report.
    deadline_asked: bool,
    after_deadline: AfterDeadline,
    background_limit: Duration,
    dedup: Option<Arc<dyn ErasedDedup>>,
}

impl WebhookConfigBuilder {
    fn current(&mut self) -> &mut AppBuilder {
        // `apps` starts with one app and only grows.
        let last = self.apps.len() - 1;
        &mut self.apps[last]
    }

    /// Adds another app to serve from the same endpoint; the token settings that follow apply
    /// to it. A request is handled with the tokens of the app its `SdkAppid` names; an app that
    /// is not configured is refused with 403.
    pub fn app(mut self, app_id: u64) -> Self {
        self.apps.push(AppBuilder::new(app_id));
        self
    }

    /// Adds a callback token (the one set in Tencent's console) to the current app. Call again
    /// to accept several during a rotation. A token is taken exactly as given: one with
    /// whitespace at either end, or a line break, fails [`build`](Self::build)
    /// ([`ConfigError::TokenWhitespace`]), since Tencent would never sign with it.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.current().tokens.push(token.into());
        self
    }

    /// Accepts the current app's requests without checking `Sign` or `RequestTime`.
    ///
    /// Tencent's console lets authentication be switched off, and then it sends no signature.
    /// Anyone who can reach the URL can then forge events, including before-events that allow
    /// messages, so only do this behind another control (a private network, mutual TLS, an
    /// allow-list of Tencent's addresses). The app id is still checked.
    pub fn without_signature_check(mut self) -> Self {
        self.current().skip_signature = true;
        self
    }

    /// How far `RequestTime` may be from now, either way, for every app. Default 60 s.
    pub fn max_skew(mut self, window: Duration) -> Self {
        self.max_skew = window;
        self
    }

    /// The largest body accepted, in bytes. Default 1 MiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// What a before-event gets when the handler fails, times out, or its body does not fit.
    /// Default [`FailureDecision::Allow`].
    pub fn failure_decision(mut self, decision: FailureDecision) -> Self {
        self.on_failure = decision;
        self
    }

    /// Called with every handler failure (error, panic, timeout, unparsed body), after the reply
    /// is decided: report it to your error tracker here. Runs on the request's task, so keep it
    /// quick.
    pub fn report_failures(
        mut self,
        hook: impl Fn(&HandlerFailure) + Send + Sync + 'static,
    ) -> Self {
        self.failure_hook = Some(Arc::new(hook));
        self
    }

    /// The clock used for the freshness check (and by nothing else). Default [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The time allowed for reading the body and running the handler, counted from when the
    /// service is called. Default [`WebhookConfig::DEFAULT_DEADLINE`] (1.5 s).
    ///
    /// It needs the `tokio` feature (on by default): without it, [`build`](Self::build) fails
    /// with [`ConfigError::DeadlineWithoutTokio`] (and the default is no deadline). At request
    /// time it needs a tokio runtime with a timer (`enable_time`); a request served outside one
    /// has no deadline. On a multi-thread runtime the handler runs on a task of its own, so
    /// that the answer leaves at the deadline even while the handler blocks its thread; on a
    /// current-thread runtime it runs on the request's task, and a handler that blocks the
    /// thread delays the answer (see [`Handler`](crate::Handler)).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self.deadline_asked = true;
        self
    }

    /// Enforces no deadline: the answer waits for the handler, however long it takes, and the
    /// handler runs on the request's own task.
    pub fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self.deadline_asked = false;
        self
    }

    /// What happens to an after-event's handler still running at the deadline. Default
    /// [`AfterDeadline::Finish`] with 256 tasks.
    pub fn after_deadline(mut self, policy: AfterDeadline) -> Self {
        self.after_deadline = policy;
        self
    }

    /// How long an after-event's handler may go on in the background once its deadline passed
    /// ([`AfterDeadline::Finish`]); past it, the handler is cancelled (at its next `.await`: a
    /// handler blocking its thread cannot be stopped) and reported as
    /// [`FailureKind::Abandoned`](crate::FailureKind) with the event's idempotency key. Default
    /// [`WebhookConfig::DEFAULT_BACKGROUND_LIMIT`] (60 s).
    pub fn background_limit(mut self, limit: Duration) -> Self {
        self.background_limit = limit;
        self
    }

    /// De-duplicates after-events with this store: an after-event whose
    /// [idempotency key](crate::Event::idempotency_key) the store has seen is answered OK
    /// without calling the handler. Before-events are never de-duplicated. See
    /// [`MemoryDedup`](crate::MemoryDedup).
    pub fn dedup(mut self, store: impl Dedup) -> Self {
        self.dedup = Some(Arc::new(store));
        self
    }

    /// Checks the settings and builds the configuration.
    pub fn build(self) -> Result<WebhookConfig, ConfigError> {
        self.check_deadline(cfg!(feature = "tokio"))?;
        let max_skew = self.max_skew;
        let mut apps: Vec<App> = Vec::with_capacity(self.apps.len());
        for app in self.apps {
            if apps.iter().any(|a| a.app_id == app.app_id) {
                return Err(ConfigError::DuplicateApp { app_id: app.app_id });
            }
            apps.push(app.build(max_skew)?);
        }
        Ok(WebhookConfig {
            inner: Arc::new(ConfigInner {
                apps,
                max_skew,
                body_limit: self.body_limit,
                on_failure: self.on_failure,
                clock: self.clock,
                failure_hook: self.failure_hook,
                deadline: self.deadline,
                after_deadline: self.after_deadline,
                background_limit: self.background_limit,
                dedup: self.dedup,
            }),
        })
    }
}

impl WebhookConfigBuilder {
    /// Refuses a deadline asked for where nothing would enforce it: `timer` is whether the
    /// crate was built with its `tokio` feature.
    fn check_deadline(&self, timer: bool) -> Result<(), ConfigError> {
        if self.deadline_asked && !timer {
            return Err(ConfigError::DeadlineWithoutTokio);
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<String> = self
            .apps
            .iter()
            .map(|a| format!("{} ([redacted; {}] tokens)", a.app_id, a.tokens.len()))
            .collect();
        f.debug_struct("WebhookConfigBuilder")
            .field("apps", &apps)
            .field("max_skew", &self.max_skew)
            .field("body_limit", &self.body_limit)
            .field("on_failure", &self.on_failure)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// A configuration that cannot be built. Its `Debug` is its message, so `main` returning one
/// with `?` prints what to fix.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An app has no token, and its signature checks were not explicitly turned off.
    NoToken {
        /// The app.
        app_id: u64,
    },
    /// A token is the empty string.
    EmptyToken {
        /// The app.
        app_id: u64,
    },
    /// A token begins or ends with whitespace, or holds a line break or another control
    /// character: most likely copied with it from the console or read with it from a file.
    TokenWhitespace {
        /// The app.
        app_id: u64,
    },
    /// An app has tokens and its signature checks turned off: one of the two is a mistake.
    TokenWithoutSignatureCheck {
        /// The app.
        app_id: u64,
    },
    /// The same app id was configured twice.
    DuplicateApp {
        /// The app.
        app_id: u64,
    },
    /// A deadline was set, and the crate was built without its `tokio` feature, which enforces
    /// it: it would be silently ignored.
    DeadlineWithoutTokio,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoToken { app_id } => write!(
                f,
                "no callback token configured for app {app_id}: set one with `token(..)`, or opt out explicitly with `without_signature_check()`"
            ),
            ConfigError::EmptyToken { app_id } => {
                write!(f, "a callback token of app {app_id} is empty")
            }
            ConfigError::TokenWhitespace { app_id } => write!(
                f,
                "a callback token of app {app_id} begins or ends with whitespace, or holds a line break or another control character: remove it (Tencent signs with the token as its console shows it, so every request would fail)"
            ),
            ConfigError::TokenWithoutSignatureCheck { app_id } => write!(
                f,
                "app {app_id} has tokens but its signature checks are turned off"
            ),
            ConfigError::DuplicateApp { app_id } => {
                write!(f, "app {app_id} is configured twice")
            }
            ConfigError::DeadlineWithoutTokio => f.write_str(
                "a deadline was set, but it needs the crate's `tokio` feature: turn the feature on, or leave the deadline out",
            ),
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests;
