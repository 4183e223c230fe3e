//! What a request gets when its handler could not answer: errors, panics, bodies that did not
//! fit, and the deadline (before-events get the configured failure decision, after-events 500,
//! or finish in the background); and how each failure is reported.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
#[cfg(feature = "tokio")]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::{Response, StatusCode};

use super::body::ReplyBody;
use super::catch_unwind::{CatchUnwind, panic_message};
use super::deadline::Deadline;
use super::leaf::{Outcome_, Shared, answer, label, reject};
use super::observe;
#[cfg(feature = "tokio")]
use crate::config::AfterDeadline;
use crate::config::FailureDecision;
use crate::dedup::Claim;
use crate::handler::{
    BoxFuture, CommandKind, FailureKind, HandlerFailure, RequestContext, UnparsedEvent,
};
use crate::protocol::decision::{FriendDecision, FriendErrorCode};
use crate::protocol::reply::Reply;
use crate::rejection::{Rejection, RejectionKind, json_response};

/// The code a friend request is refused with when it could not be checked (the failure
/// decision is `Deny`).
const FRIEND_REFUSED: FriendErrorCode = match FriendErrorCode::new(38_000) {
    Some(code) => code,
    None => unreachable!(),
};

impl Shared {
    /// The deadline passed while the handler ran. A before-event gets the failure decision
    /// (the handler is cancelled: its answer would come too late to matter); an after-event is
    /// left to finish in the background, room permitting, or cancelled and answered 500.
    pub(super) async fn timed_out(
        self: Arc<Self>,
        ctx: Arc<RequestContext>,
        job: BoxFuture<'static, Outcome_>,
        claim: Option<Claim>,
        started: Instant,
    ) -> Response<ReplyBody> {
        let limit = self.config.inner.deadline.unwrap_or_default();
        if ctx.kind() == CommandKind::Before {
            drop(job);
            return self.cancelled(&ctx, claim, started).await;
        }
        let claim = match self
            .clone()
            .finish_in_background(&ctx, job, claim, limit, started)
        {
            Ok(res) => return res,
            Err(claim) => claim,
        };
        self.cancelled(&ctx, claim, started).await
    }

    /// Whether an event of `kind` whose handler outlives the deadline may be finished on a task
    /// of its own (an after-event under `AfterDeadline::Finish`), so that its handler's future
    /// must own what it uses.
    pub(super) fn may_finish_in_background(&self, kind: CommandKind) -> bool {
        #[cfg(feature = "tokio")]
        {
            kind == CommandKind::After
                && matches!(
                    self.config.inner.after_deadline,
                    AfterDeadline::Finish { .. }
                )
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = kind;
            false
        }
    }

    /// The deadline passed and the handler was cancelled (its future dropped): a before-event
    /// gets the failure decision, an after-event a 500 and its claim given back.
    pub(super) async fn cancelled(
        &self,
        ctx: &RequestContext,
        claim: Option<Claim>,
        started: Instant,
    ) -> Response<ReplyBody> {
        let limit = self.config.inner.deadline.unwrap_or_default();
        let message = format!("no answer within the deadline of {limit:?}; cancelled");
        if ctx.kind() == CommandKind::Before {
            return self.failed(ctx, FailureKind::Timeout, message, started);
        }
        if let Some(claim) = claim {
            claim.finish(false).await;
        }
        self.failed(ctx, FailureKind::Abandoned, message, started)
    }

    /// Spawns a timed-out after-event's handler, if the policy and the room allow, and answers
    /// OK; otherwise the job is dropped and its claim given back.
    #[cfg(feature = "tokio")]
    fn finish_in_background(
        self: Arc<Self>,
        ctx: &Arc<RequestContext>,
        job: BoxFuture<'static, Outcome_>,
        claim: Option<Claim>,
        limit: Duration,
        started: Instant,
    ) -> Result<Response<ReplyBody>, Option<Claim>> {
        let AfterDeadline::Finish { max_in_background } = self.config.inner.after_deadline else {
            return Err(claim);
        };
        let taken = self
            .in_background
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max_in_background).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(claim);
        }
        let failure = self.report(
            ctx,
            FailureKind::Timeout,
            format!("no answer within the deadline of {limit:?}; finishing in the background"),
        );
        let shared = self.clone();
        let task_ctx = ctx.clone();
        let task = async move {
            // A handler that never ends would hold its slot for ever: past this, it is cancelled.
            let outcome = tokio::time::timeout(BACKGROUND_LIMIT, job).await;
            shared.in_background.fetch_sub(1, Ordering::AcqRel);
            let failed = match outcome {
                Ok(Ok(Ok(_))) => None,
                Ok(Ok(Err(error))) => Some((FailureKind::Error, error.to_string())),
                Ok(Err(panic)) => Some((FailureKind::Panic, panic_message(&*panic))),
                Err(_) => Some((
                    FailureKind::Abandoned,
                    format!("still running {BACKGROUND_LIMIT:?} past the deadline; cancelled"),
                )),
            };
            if let Some((kind, message)) = &failed {
                shared.report(&task_ctx, *kind, message.clone());
            }
            if let Some(claim) = claim {
                claim.finish(failed.is_none()).await;
            }
        };
        #[cfg(feature = "tracing")]
        let task = tracing::Instrument::in_current_span(task);
        tokio::spawn(task);
        let mut res = answer(ctx, &Reply::ok(), None, started);
        res.extensions_mut().insert(failure);
        Ok(res)
    }

    #[cfg(not(feature = "tokio"))]
    fn finish_in_background(
        self: Arc<Self>,
        _ctx: &Arc<RequestContext>,
        _job: BoxFuture<'static, Outcome_>,
        claim: Option<Claim>,
        _limit: Duration,
        _started: Instant,
    ) -> Result<Response<ReplyBody>, Option<Claim>> {
        Err(claim)
    }

    /// A known command whose body did not fit: reported, offered to `on_unparsed`, and answered
    /// as it says or, by default, by the failure policy (before) or with 400 naming the path
    /// (after).
    pub(super) async fn unparsed(
        &self,
        ctx: &RequestContext,
        event: UnparsedEvent,
        message: String,
        deadline: Option<Deadline>,
        started: Instant,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, FailureKind::Unparsed, message.clone());
        let hook = pin!(CatchUnwind {
            inner: self.handler.unparsed(ctx, event),
        });
        let answer_given = match Deadline::race(deadline.as_ref(), hook).await {
            Some(Ok(Ok(answer))) => answer,
            Some(Ok(Err(error))) => {
                self.report(ctx, FailureKind::Error, error.to_string());
                None
            }
            Some(Err(panic)) => {
                self.report(ctx, FailureKind::Panic, panic_message(&*panic));
                None
            }
            None => {
                self.report(
                    ctx,
                    FailureKind::Timeout,
                    "on_unparsed did not answer within the deadline".to_owned(),
                );
                None
            }
        };
        let mut res = match answer_given {
            Some(reply) => answer(ctx, &reply, None, started),
            None if ctx.kind() == CommandKind::After => {
                reject(parse_rejection_message(message), label(ctx), started)
            }
            None => self.failure_response(ctx, started),
        };
        res.extensions_mut().insert(failure);
        res
    }

    /// Answers for a handler that failed, and reports the failure.
    pub(super) fn failed(
        &self,
        ctx: &RequestContext,
        kind: FailureKind,
        message: String,
        started: Instant,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, kind, message);
        let mut res = self.failure_response(ctx, started);
        res.extensions_mut().insert(failure);
        res
    }

    /// Reports a failure to the log, the metrics and the configured hook.
    pub(super) fn report(
        &self,
        ctx: &RequestContext,
        kind: FailureKind,
        message: String,
    ) -> HandlerFailure {
        let failure = HandlerFailure {
            command: ctx.command.to_string(),
            kind,
            message,
        };
        observe::failed(&failure);
        if let Some(hook) = &self.config.inner.failure_hook {
            // A panicking reporter must not take the reply down with it.
            let _ = catch_unwind(AssertUnwindSafe(|| hook(&failure)));
        }
        failure
    }

    /// The answer when a request could not be handled: HTTP 500 for an after-event (so it shows
    /// in Tencent's statistics, and is retried where retries are on), the configured
    /// [`FailureDecision`] for a before-event.
    pub(super) fn failure_response(
        &self,
        ctx: &RequestContext,
        started: Instant,
    ) -> Response<ReplyBody> {
        let reply = match (self.config.inner.on_failure, &ctx.targets) {
            _ if ctx.kind() == CommandKind::After => None,
            (FailureDecision::DeferToTencent, _) => None,
            // A friend request is decided per target: Tencent ignores a top-level `ErrorCode`.
            (FailureDecision::Allow, Some(targets)) => {
                Some(FriendDecision::allow_all().into_reply(targets.iter().map(String::as_str)))
            }
            (FailureDecision::Deny, Some(targets)) => Some(
                targets
                    .iter()
                    .fold(FriendDecision::allow_all(), |d, t| {
                        d.refuse(
                            t.as_str(),
                            FRIEND_REFUSED,
                            "the request could not be checked",
                        )
                    })
                    .into_reply(targets.iter().map(String::as_str)),
            ),
            (FailureDecision::Allow, None) => Some(Reply::ok()),
            (FailureDecision::Deny, None) => Some(Reply::ok().with_error_code(1)),
        };
        match reply {
            Some(reply) => answer(ctx, &reply, None, started),
            None => {
                let res = internal_error();
                observe::finished(label(ctx), "failed", 500, started);
                res
            }
        }
    }
}

pub(super) fn parse_rejection_message(message: String) -> Rejection {
    Rejection::new(RejectionKind::InvalidBody, message)
}

/// How long an after-event's handler may go on in the background once its deadline passed.
#[cfg(feature = "tokio")]
const BACKGROUND_LIMIT: Duration = Duration::from_secs(60);

fn internal_error() -> Response<ReplyBody> {
    // The handler's message stays in the report: it may hold internal details.
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &Reply::fail(500, "webhook handler failed"),
    )
}
