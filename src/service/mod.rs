//! The tower pieces: a leaf [`WebhookService`] and a [`WebhookLayer`] for mounting beside other
//! routes. Submodules are private; their items are re-exported at the crate root.

mod answer;
mod body;
mod catch_unwind;
mod deadline;
mod future;
mod layer;
mod leaf;
mod observe;
mod policy;
mod read;
mod run;

pub use body::{ReplyBody, WebhookResponseBody};
#[cfg(feature = "redis")]
pub(crate) use catch_unwind::{CatchUnwind, panic_message};
pub use future::{ResponseFuture, WebhookFuture};
pub use layer::{Webhook, WebhookLayer};
pub use leaf::WebhookService;
pub use observe::{Decision, Outcome};
#[cfg(feature = "redis")]
pub(crate) use observe::{failed as handler_failed, queue_trouble};
