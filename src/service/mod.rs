//! The tower pieces: a leaf [`WebhookService`] and a [`WebhookLayer`] for mounting beside other
//! routes. Submodules are private; their items are re-exported at the crate root.

mod body;
mod future;
mod layer;
mod leaf;

pub use body::{ReplyBody, WebhookResponseBody};
pub use future::{ResponseFuture, WebhookFuture};
pub use layer::{Webhook, WebhookLayer};
pub use leaf::WebhookService;

/// Logs at debug level through `tracing` when the feature is on; compiles to nothing otherwise.
macro_rules! trace_debug {
    ($($t:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!($($t)*);
    };
}
pub(crate) use trace_debug;

/// Logs at warn level through `tracing` when the feature is on; compiles to nothing otherwise.
macro_rules! trace_warn {
    ($($t:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::warn!($($t)*);
    };
}
pub(crate) use trace_warn;
