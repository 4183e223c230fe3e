//! How a handler method's answer becomes its reply, and the boxed future that runs the method.

use std::future::Future;

use super::{BoxFuture, HandlerResult, RequestContext};
use crate::protocol::decision::FriendDecision;
use crate::protocol::reply::Reply;
use crate::protocol::sns;

/// The boxed future of handler method `method` on `event`, its answer turned into the reply.
/// The method is called inside the future, so that one that panics before returning its future
/// is caught like one that panics while running.
pub(super) fn start<'a, H, E, R, F>(
    handler: &'a H,
    ctx: &'a RequestContext,
    event: E,
    method: impl FnOnce(&'a H, &'a RequestContext, E) -> F + Send + 'a,
) -> BoxFuture<'a, HandlerResult<Reply>>
where
    H: Sync,
    E: Send + 'a,
    R: Respond<E>,
    R::Memo: 'a,
    F: Future<Output = HandlerResult<R>> + Send + 'a,
{
    let memo = R::memo(&event);
    Box::pin(async move {
        method(handler, ctx, event)
            .await
            .map(|answer| answer.respond(memo))
    })
}

/// How a command's answer becomes its reply. Most answers need nothing of the event; a friend
/// decision needs the request's targets, taken (`memo`) before the event moves into the handler.
pub(crate) trait Respond<E>: Sized {
    type Memo: Send;
    fn memo(event: &E) -> Self::Memo;
    fn respond(self, memo: Self::Memo) -> Reply;
}

/// An answer that is a reply by itself (`()`, [`Reply`], most decisions).
impl<E, A> Respond<E> for A
where
    Reply: From<A>,
{
    type Memo = ();
    fn memo(_: &E) {}
    fn respond(self, (): ()) -> Reply {
        Reply::from(self)
    }
}

/// A friend decision is answered per target: the request's, taken before the event moves.
impl<E: FriendRequest> Respond<E> for FriendDecision {
    type Memo = Vec<String>;
    fn memo(event: &E) -> Vec<String> {
        event.target_list()
    }
    fn respond(self, targets: Vec<String>) -> Reply {
        self.into_reply(targets.iter().map(String::as_str))
    }
}

/// A friend request: the accounts its answer lists one by one.
pub(crate) trait FriendRequest {
    fn target_list(&self) -> Vec<String>;
}

impl FriendRequest for sns::PrevFriendAdd {
    fn target_list(&self) -> Vec<String> {
        self.targets().map(str::to_owned).collect()
    }
}

impl FriendRequest for sns::PrevFriendResponse {
    fn target_list(&self) -> Vec<String> {
        self.targets().map(str::to_owned).collect()
    }
}
