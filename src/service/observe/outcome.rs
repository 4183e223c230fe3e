//! What the service answered a request it handled: the [`Outcome`] on the response's body (and
//! in its extensions), with [`Answered`], read from the reply that went out.

use std::borrow::Cow;
use std::fmt;

use crate::protocol::command::CommandKind;
use crate::protocol::reply::Reply;

/// What the service answered a request it handled (HTTP 200 with a reply), so outer middleware
/// can count and log without parsing bodies. Rejections carry a [`Rejection`](crate::Rejection)
/// in the response's extensions instead, and failures a
/// [`HandlerFailure`](crate::HandlerFailure).
///
/// Where to read it:
/// - always on the response's body: [`service::ResponseBody::outcome`](crate::service::ResponseBody::outcome), or
///   [`layer::ResponseBody::outcome`](crate::layer::ResponseBody::outcome) behind the
///   [`layer::Webhook`](crate::layer::Webhook) middleware;
/// - in the response's extensions too (`res.extensions().get::<Outcome>()`), when the request
///   brought extensions of its own: `server::serve` (feature `server`) puts its connection's
///   details there, and routers such as axum's their matched path, so that middleware outside
///   a router, which sees a body of another type, still finds it. The request's map of
///   extensions is then emptied and reused, and the `Outcome` costs one allocation; a request
///   without extensions (a bare hyper server, a test) is answered without allocating a map;
/// - in the extensions of a failure's response the policy answered with HTTP 200, beside the
///   [`HandlerFailure`](crate::HandlerFailure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub(crate) app_id: u64,
    pub(crate) command: Cow<'static, str>,
    pub(crate) kind: CommandKind,
    pub(crate) decision: Answered,
}

impl Outcome {
    /// The app the request was for.
    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The `CallbackCommand` (empty for a console check without one).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Before or after.
    pub fn kind(&self) -> CommandKind {
        self.kind
    }

    /// What the service answered.
    pub fn answered(&self) -> Answered {
        self.decision
    }
}

/// What the service answered a request it handled, read from its reply: not a handler's answer
/// type (such as [`SendDecision`](crate::SendDecision)), but what the reply that went out says,
/// whoever wrote it (the handler, the failure policy, the duplicate check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Answered {
    /// An after-event, acknowledged.
    Acknowledged,
    /// A before-event allowed as it was.
    Allow,
    /// A before-event allowed with a rewritten message.
    Rewrite,
    /// A before-event allowed without some of its users (refused subscribers, invitees or
    /// friend targets).
    RefuseSome,
    /// A before-event refused (`ErrorCode` 1).
    Deny,
    /// A message dropped silently (`ErrorCode` 2).
    Drop,
    /// A before-event refused with a custom code.
    DenyWithCode(u32),
    /// An after-event already handled (same idempotency key), acknowledged without calling the
    /// handler.
    Duplicate,
    /// A console check request, answered OK without calling the handler.
    ConsoleCheck,
}

impl Answered {
    /// What `reply` says for a command of this kind.
    pub(crate) fn of(kind: CommandKind, reply: &Reply) -> Answered {
        if kind == CommandKind::After {
            return Answered::Acknowledged;
        }
        let refused = reply.refused_subscribers().is_some_and(|r| !r.is_empty())
            || reply.refused_members().is_some_and(|r| !r.is_empty())
            || reply
                .result_items()
                .is_some_and(|items| items.iter().any(|i| i.result_code != 0));
        match reply.error_code() {
            0 if reply.msg_body().is_some() || reply.cloud_custom_data().is_some() => {
                Answered::Rewrite
            }
            0 if refused => Answered::RefuseSome,
            0 => Answered::Allow,
            1 => Answered::Deny,
            2 => Answered::Drop,
            code => Answered::DenyWithCode(code),
        }
    }

    /// A short label, as logs and metrics show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Answered::Acknowledged => "acknowledged",
            Answered::Allow => "allow",
            Answered::Rewrite => "rewrite",
            Answered::RefuseSome => "refuse_some",
            Answered::Deny => "deny",
            Answered::Drop => "drop",
            Answered::DenyWithCode(_) => "deny_with_code",
            Answered::Duplicate => "duplicate",
            Answered::ConsoleCheck => "console_check",
        }
    }
}

impl fmt::Display for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
