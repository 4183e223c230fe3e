//! What a webhook endpoint checks and how it behaves: app id, tokens, window, limits, failures.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::auth::{TokenError, Verifier};
use crate::handler::HandlerFailure;

/// A source of the current time, injectable for tests.
///
/// Any `Fn() -> SystemTime` closure is a clock:
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use tencent_chat_webhook::WebhookConfig;
///
/// let frozen = || UNIX_EPOCH + Duration::from_secs(1669872112);
/// let config = WebhookConfig::builder(1400000000)
///     .token("xxxxyyyy")
///     .clock(frozen)
///     .build()
///     .unwrap();
/// # let _ = config;
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The system clock, [`SystemTime::now`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

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

/// The configuration of a webhook endpoint. Cheap to clone.
///
/// Built with [`WebhookConfig::builder`]. Signature checks are on unless explicitly turned off:
/// a configuration with no token and no [`without_signature_check`] fails to build.
///
/// ```
/// use tencent_chat_webhook::{ConfigError, WebhookConfig};
///
/// let err = WebhookConfig::builder(1400000000).build().unwrap_err();
/// assert_eq!(err, ConfigError::NoToken);
///
/// let config = WebhookConfig::builder(1400000000).token("s3cret").build().unwrap();
/// assert_eq!(config.app_id(), 1400000000);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
///
/// [`without_signature_check`]: WebhookConfigBuilder::without_signature_check
#[derive(Clone)]
pub struct WebhookConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

pub(crate) struct ConfigInner {
    pub(crate) app_id: u64,
    pub(crate) verifier: Option<Verifier>,
    pub(crate) body_limit: usize,
    pub(crate) on_failure: FailureDecision,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) failure_hook: Option<FailureHook>,
}

impl WebhookConfig {
    /// The default body limit, 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// Starts a configuration for the app with this `SDKAppID`.
    pub fn builder(app_id: u64) -> WebhookConfigBuilder {
        WebhookConfigBuilder {
            app_id,
            tokens: Vec::new(),
            skip_signature: false,
            max_skew: Verifier::DEFAULT_MAX_SKEW,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            on_failure: FailureDecision::default(),
            clock: Arc::new(SystemClock),
            failure_hook: None,
        }
    }

    /// The app id requests must carry.
    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    /// Whether `Sign` is checked.
    pub fn checks_signature(&self) -> bool {
        self.inner.verifier.is_some()
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The decision for before-events whose handler failed.
    pub fn failure_decision(&self) -> FailureDecision {
        self.inner.on_failure
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("WebhookConfig")
            .field("app_id", &c.app_id)
            .field("verifier", &c.verifier)
            .field("body_limit", &c.body_limit)
            .field("on_failure", &c.on_failure)
            .field("failure_hook", &c.failure_hook.as_ref().map(|_| "Fn"))
            .finish_non_exhaustive()
    }
}

/// Builds a [`WebhookConfig`].
pub struct WebhookConfigBuilder {
    app_id: u64,
    tokens: Vec<String>,
    skip_signature: bool,
    max_skew: Duration,
    body_limit: usize,
    on_failure: FailureDecision,
    clock: Arc<dyn Clock>,
    failure_hook: Option<FailureHook>,
}

impl WebhookConfigBuilder {
    /// Adds a callback token (the one set in Tencent's console). Call again to accept several
    /// during a rotation.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }

    /// Accepts requests without checking `Sign` or `RequestTime`.
    ///
    /// Tencent's console lets authentication be switched off, and then it sends no signature.
    /// Anyone who can reach the URL can then forge events, including before-events that allow
    /// messages, so only do this behind another control (a private network, mutual TLS, an
    /// allow-list of Tencent's addresses). The app id is still checked.
    pub fn without_signature_check(mut self) -> Self {
        self.skip_signature = true;
        self
    }

    /// How far `RequestTime` may be from now, either way. Default 60 s.
    pub fn max_clock_skew(mut self, window: Duration) -> Self {
        self.max_skew = window;
        self
    }

    /// The largest body accepted, in bytes. Default 1 MiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// What a before-event gets when the handler fails. Default [`FailureDecision::Allow`].
    pub fn on_handler_failure(mut self, decision: FailureDecision) -> Self {
        self.on_failure = decision;
        self
    }

    /// Called with every handler failure (error or panic), after the reply is decided: report it
    /// to your error tracker here. Runs on the request's task, so keep it quick.
    pub fn report_failures(
        mut self,
        hook: impl Fn(&HandlerFailure) + Send + Sync + 'static,
    ) -> Self {
        self.failure_hook = Some(Arc::new(hook));
        self
    }

    /// The clock used for the freshness check. Default [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the configuration.
    pub fn build(self) -> Result<WebhookConfig, ConfigError> {
        let verifier = match (self.tokens.is_empty(), self.skip_signature) {
            (true, false) => return Err(ConfigError::NoToken),
            (false, true) => return Err(ConfigError::TokenWithoutSignatureCheck),
            (true, true) => None,
            (false, false) => Some(
                Verifier::new(&self.tokens)
                    .map_err(|e| match e {
                        TokenError::EmptyToken => ConfigError::EmptyToken,
                        _ => ConfigError::NoToken,
                    })?
                    .with_max_skew(self.max_skew),
            ),
        };
        Ok(WebhookConfig {
            inner: Arc::new(ConfigInner {
                app_id: self.app_id,
                verifier,
                body_limit: self.body_limit,
                on_failure: self.on_failure,
                clock: self.clock,
                failure_hook: self.failure_hook,
            }),
        })
    }
}

impl fmt::Debug for WebhookConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfigBuilder")
            .field("app_id", &self.app_id)
            .field("tokens", &format_args!("[redacted; {}]", self.tokens.len()))
            .field("skip_signature", &self.skip_signature)
            .field("max_skew", &self.max_skew)
            .field("body_limit", &self.body_limit)
            .field("on_failure", &self.on_failure)
            .finish_non_exhaustive()
    }
}

/// A configuration that cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No token was set and signature checks were not explicitly turned off.
    NoToken,
    /// A token is the empty string.
    EmptyToken,
    /// Tokens were set and signature checks turned off: one of the two is a mistake.
    TokenWithoutSignatureCheck,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::NoToken => {
                "no callback token configured: set one with `token(..)`, or opt out explicitly with `without_signature_check()`"
            }
            ConfigError::EmptyToken => "a callback token is empty",
            ConfigError::TokenWithoutSignatureCheck => {
                "tokens are configured but signature checks are turned off"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_table() {
        let cases = [
            (
                "nothing",
                WebhookConfig::builder(1),
                Err(ConfigError::NoToken),
            ),
            ("token", WebhookConfig::builder(1).token("t"), Ok(true)),
            (
                "empty token",
                WebhookConfig::builder(1).token(""),
                Err(ConfigError::EmptyToken),
            ),
            (
                "one empty of two",
                WebhookConfig::builder(1).token("t").token(""),
                Err(ConfigError::EmptyToken),
            ),
            (
                "explicit opt-out",
                WebhookConfig::builder(1).without_signature_check(),
                Ok(false),
            ),
            (
                "both",
                WebhookConfig::builder(1)
                    .token("t")
                    .without_signature_check(),
                Err(ConfigError::TokenWithoutSignatureCheck),
            ),
        ];
        for (name, builder, want) in cases {
            let got = builder.build().map(|c| c.checks_signature());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn debug_redacts_tokens_everywhere() {
        let builder = WebhookConfig::builder(7).token("tok-one").token("tok-two");
        let b = format!("{builder:?}");
        let c = format!("{:?}", builder.build().unwrap());
        for text in [b, c] {
            assert!(!text.contains("tok-"), "{text}");
            assert!(text.contains("redacted; 2"), "{text}");
        }
    }

    #[test]
    fn defaults() {
        let c = WebhookConfig::builder(7).token("t").build().unwrap();
        assert_eq!(c.body_limit(), 1024 * 1024);
        assert_eq!(c.failure_decision(), FailureDecision::Allow);
        assert_eq!(
            c.inner.verifier.as_ref().unwrap().max_skew(),
            Duration::from_secs(60)
        );
    }
}
