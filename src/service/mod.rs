//! The webhook as a leaf tower service: [`WebhookService`], the future of its calls
//! ([`ResponseFuture`]) and the body of its responses ([`ResponseBody`]), as tower-http scopes a
//! service's types by module. [`WebhookService`] is also at the crate root; to mount the webhook
//! beside other routes as a middleware, see [`layer`](crate::layer).

// The service's pipeline lives in private submodules. The layer's file is here too
// (`layer.rs`), declared at the crate root as `crate::layer`.

mod answer;
pub(crate) mod body;
mod catch_unwind;
mod deadline;
pub(crate) mod future;
mod leaf;
pub(crate) mod observe;
mod policy;
mod read;
pub(crate) mod response;
mod run;
mod shared;

pub use body::ReplyBody as ResponseBody;
#[cfg(feature = "server")]
pub(crate) use body::ReplyBody;
#[cfg(feature = "redis")]
pub(crate) use catch_unwind::{CatchUnwind, panic_message};
pub use future::ResponseFuture;
pub use leaf::WebhookService;
#[cfg(feature = "redis")]
pub(crate) use observe::{failed as handler_failed, queue_trouble};
