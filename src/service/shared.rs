//! The service's shared state ([`Shared`]), which every stage of the pipeline answers
//! through, and what a request's stages start from and end with ([`Start`], [`Outcome_`]): the
//! types that `leaf.rs`, `run.rs` and `policy.rs` all use, so that they use each other one way.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::deadline::{Deadline, Timer};
use super::observe::Timing;
use crate::config::WebhookConfig;
use crate::handler::{ErasedHandler, HandlerResult};
use crate::protocol::reply::Reply;

/// The service's state, one for it and all its clones, which every stage of a request answers
/// through: the configuration, the handler, the after-events finishing in the background, the
/// runtime's timer.
pub(super) struct Shared {
    pub(super) config: WebhookConfig,
    pub(super) handler: Arc<dyn ErasedHandler>,
    /// After-event handlers finishing in the background after the deadline.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(super) in_background: AtomicUsize,
    /// Whether the runtime has a timer.
    pub(super) timer: Timer,
}

/// What a handler's dispatch ends with: its result, or the payload of its panic.
pub(super) type Outcome_ = Result<HandlerResult<Reply>, Box<dyn Any + Send>>;

/// What the request's future starts from besides its context and body.
#[derive(Clone, Copy)]
pub(super) struct Start {
    /// The query named the command (else the body does, or nothing does).
    pub(super) from_query: bool,
    /// Authenticated without `SdkAppid`: the console's check.
    pub(super) console_check: bool,
    pub(super) deadline: Option<Deadline>,
    pub(super) timing: Timing,
}
