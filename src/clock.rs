//! The clock the service reads the time from: the system's, or a test's.

use std::time::SystemTime;

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
