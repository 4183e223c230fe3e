//! The tower pieces: a leaf [`WebhookService`] and a [`WebhookLayer`] for mounting beside other
//! routes. Submodules are private; their items are re-exported at the crate root.

mod body;
mod deadline;
mod future;
mod layer;
mod leaf;
mod observe;

pub use body::{ReplyBody, WebhookResponseBody};
pub use future::{ResponseFuture, WebhookFuture};
pub use layer::{Webhook, WebhookLayer};
pub use leaf::WebhookService;
#[cfg(feature = "redis")]
pub(crate) use leaf::{CatchUnwind, panic_message};
pub use observe::{Decision, Outcome};
#[cfg(feature = "redis")]
pub(crate) use observe::{failed as handler_failed, queue_trouble};
