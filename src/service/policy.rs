//! What a request gets when its handler could not answer: errors, panics, bodies that did not
//! fit, and the deadline (before-events get the configured failure decision, after-events 500,
//! or finish in the background); and how each failure is reported (stage 7, with
//! [`observe`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
#[cfg(feature = "tokio")]
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::Response;

use super::answer::{
    Recycled, Step, answer, answer_in, internal_error, label, reject, with_failure,
};
use super::body::ReplyBody;
use super::catch_unwind::{Watched, panic_message};
use super::deadline::Deadline;
use super::observe::{self, Timing};
use super::run::{Held, Job};
use super::shared::{Outcome_, Shared};
use crate::auth::parse_rejection;
#[cfg(feature = "tokio")]
use crate::config::AfterDeadline;
use crate::config::FailureDecision;
use crate::dedup::Claim;
use crate::handler::{FailureKind, HandlerFailure, RequestContext};
use crate::protocol::command::CommandKind;
use crate::protocol::decision::{FriendDecision, FriendErrorCode};
use crate::protocol::reply::Reply;
use crate::protocol::unparsed::{ParseError, ParseErrorKind, UnparsedEvent};
use crate::rejection::{Rejection, RejectionKind};

/// The code a friend request is refused with when it could not be checked (the failure
/// decision is `Deny`).
const FRIEND_REFUSED: FriendErrorCode = match FriendErrorCode::new(38_000) {
    Some(code) => code,
    None => unreachable!(),
};

impl Shared {
    /// The answer to a handler's outcome: its reply (in the request's own maps when nothing
    /// else holds them), or the failure policy's for an error or a panic, reported; after
    /// the claim on the event, if any, is finished (handled: remembered; failed: forgotten, so
    /// that a retry is handled).
    #[inline]
    pub(super) fn answered(
        self: &Arc<Self>,
        ctx: Held<RequestContext>,
        outcome: Outcome_,
        claim: Option<Box<Claim>>,
        timing: Timing,
    ) -> Step {
        let Some(claim) = claim else {
            return Step::Answer(self.answer_outcome(ctx, outcome, timing));
        };
        let shared = self.clone();
        Step::Then(Box::pin(async move {
            claim.finish(matches!(outcome, Ok(Ok(_)))).await;
            shared.answer_outcome(ctx, outcome, timing)
        }))
    }

    #[inline]
    fn answer_outcome(
        &self,
        mut ctx: Held<RequestContext>,
        outcome: Outcome_,
        timing: Timing,
    ) -> Response<ReplyBody> {
        match outcome {
            Ok(Ok(reply)) => {
                let recycled = ctx
                    .get_mut()
                    .map_or_else(Recycled::default, |ctx| Recycled::take(&mut ctx.parts));
                answer_in(&ctx, &reply, None, timing, recycled)
            }
            Ok(Err(error)) => self.failed(&ctx, FailureKind::Error, error.to_string(), timing),
            Err(panic) => self.failed(&ctx, FailureKind::Panic, panic_message(&*panic), timing),
        }
    }

    /// A body that did not parse: refused (400), or, when only its shape did not fit a known
    /// command, offered to `on_unparsed` (see [`Shared::unparsed`]).
    pub(super) fn parse_failed(
        self: &Arc<Self>,
        ctx: Held<RequestContext>,
        e: ParseError,
        deadline: Option<Deadline>,
        timing: Timing,
    ) -> Step {
        if e.kind() != ParseErrorKind::Shape {
            return Step::Answer(reject(parse_rejection(&e), label(&ctx), timing));
        }
        let message = e.to_string();
        let Some(unparsed) = e.into_unparsed() else {
            return Step::Answer(reject(invalid_body(message), label(&ctx), timing));
        };
        let shared = self.clone();
        Step::Then(Box::pin(async move {
            shared
                .unparsed(&ctx, unparsed, message, deadline, timing)
                .await
        }))
    }

    /// A known command whose body did not fit: reported, offered to `on_unparsed`, and answered
    /// as it says or, by default, by the failure policy (before) or with 400 naming the path
    /// (after).
    async fn unparsed(
        &self,
        ctx: &RequestContext,
        event: UnparsedEvent,
        message: String,
        deadline: Option<Deadline>,
        timing: Timing,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, FailureKind::Unparsed, message.clone());
        // A friend request is refused per target even when its body did not fit: as far as
        // its JSON goes.
        let targets = event.friend_targets();
        let hook = pin!(Watched::new(self.handler.unparsed(ctx, event), label(ctx)));
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
        let res = match answer_given {
            Some(reply) => answer(ctx, &reply, None, timing),
            None if ctx.kind() == CommandKind::After => {
                reject(invalid_body(message), label(ctx), timing)
            }
            None => self.failure_response(ctx, targets.as_deref(), timing),
        };
        with_failure(res, failure)
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
    pub(super) fn cancelled(
        self: &Arc<Self>,
        ctx: Held<RequestContext>,
        claim: Option<Box<Claim>>,
        timing: Timing,
    ) -> Step {
        let limit = self.config.inner.deadline.unwrap_or_default();
        let message = format!("no answer within the deadline of {limit:?}; cancelled");
        if ctx.kind() == CommandKind::Before {
            return Step::Answer(self.failed(&ctx, FailureKind::Timeout, message, timing));
        }
        let Some(claim) = claim else {
            return Step::Answer(self.failed(&ctx, FailureKind::Abandoned, message, timing));
        };
        let shared = self.clone();
        Step::Then(Box::pin(async move {
            claim.finish(false).await;
            shared.failed(&ctx, FailureKind::Abandoned, message, timing)
        }))
    }

    /// The deadline passed while the handler could still finish. A before-event gets the
    /// failure decision (the handler is cancelled: its answer would come too late to matter);
    /// an after-event is left to finish in the background, room permitting, or cancelled and
    /// answered 500. `body` is the event's, to name it by its key should it be dropped.
    pub(super) fn timed_out(
        self: &Arc<Self>,
        ctx: Arc<RequestContext>,
        job: Job,
        claim: Option<Box<Claim>>,
        body: Option<Bytes>,
        timing: Timing,
    ) -> Step {
        if ctx.kind() == CommandKind::Before {
            drop(job);
            return self.cancelled(Held::Shared(ctx), claim, timing);
        }
        match self.finish_in_background(&ctx, job, claim, body, timing) {
            Ok(res) => Step::Answer(res),
            Err((job, claim)) => {
                drop(job);
                self.cancelled(Held::Shared(ctx), claim, timing)
            }
        }
    }

    /// Lets a timed-out after-event's handler finish on a task of its own, if the policy and the
    /// room allow, and answers OK; otherwise gives the job and claim back. Reported now
    /// (`Timeout`) and when it ends badly (`Error`, `Panic`, `Unparsed`, or `Abandoned` at its
    /// time bound), with the event's key, so that an event acknowledged and then dropped can be
    /// found.
    fn finish_in_background(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        job: Job,
        claim: Option<Box<Claim>>,
        body: Option<Bytes>,
        timing: Timing,
    ) -> Result<Response<ReplyBody>, (Job, Option<Box<Claim>>)> {
        // Without the `tokio` feature there is no deadline, and no task to finish on.
        #[cfg(not(feature = "tokio"))]
        {
            let _ = (ctx, body, timing);
            Err((job, claim))
        }
        #[cfg(feature = "tokio")]
        {
            let AfterDeadline::Finish { max_in_background } = self.config.inner.after_deadline
            else {
                return Err((job, claim));
            };
            let taken = self
                .in_background
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max_in_background).then_some(n + 1)
                });
            if taken.is_err() {
                return Err((job, claim));
            }
            let key = body.map_or_else(|| "unknown".to_owned(), |body| event_key(ctx, &body));
            let limit = self.config.inner.deadline.unwrap_or_default();
            let message = format!(
                "no answer within the deadline of {limit:?}; finishing in the background \
                 (event {key})"
            );
            let failure = self.report(ctx, FailureKind::Timeout, message);
            let bound = self.config.inner.background_limit;
            let shared = self.clone();
            let task_ctx = ctx.clone();
            let task = async move {
                // A handler that never ends would hold its slot for ever: past this, it is
                // cancelled (the job dropped: its task aborted).
                let finished = tokio::time::timeout(bound, job).await;
                shared.in_background.fetch_sub(1, Ordering::AcqRel);
                let failed = match finished {
                    Ok(Ok(Ok(Ok(_)))) => None,
                    Ok(Ok(Ok(Err(error)))) => Some((FailureKind::Error, error.to_string())),
                    Ok(Ok(Err(e))) => Some((FailureKind::Unparsed, e.to_string())),
                    Ok(Err(panic)) => Some((FailureKind::Panic, panic_message(&*panic))),
                    Err(_) => Some((
                        FailureKind::Abandoned,
                        format!(
                            "still running {bound:?} past the deadline; cancelled (event {key})"
                        ),
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
            Ok(with_failure(
                answer(ctx, &Reply::ok(), None, timing),
                failure,
            ))
        }
    }

    /// Answers for a handler that failed, and reports the failure.
    pub(super) fn failed(
        &self,
        ctx: &RequestContext,
        kind: FailureKind,
        message: String,
        timing: Timing,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, kind, message);
        let res = self.failure_response(ctx, ctx.targets.as_deref(), timing);
        with_failure(res, failure)
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
    /// [`FailureDecision`] for a before-event (for a friend request, per target of `targets`).
    fn failure_response(
        &self,
        ctx: &RequestContext,
        targets: Option<&[String]>,
        timing: Timing,
    ) -> Response<ReplyBody> {
        let reply = match (self.config.inner.on_failure, targets) {
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
            Some(reply) => answer(ctx, &reply, None, timing),
            None => internal_error(ctx, timing),
        }
    }
}

fn invalid_body(message: String) -> Rejection {
    Rejection::new(RejectionKind::InvalidBody, message)
}

/// The idempotency key of the event in `body`, to name an acknowledged event whose handler may
/// yet fail or be dropped. Worked out only then: for most commands it is a digest of the
/// event.
#[cfg(feature = "tokio")]
fn event_key(ctx: &RequestContext, body: &[u8]) -> String {
    match crate::protocol::event::Event::parse_as(ctx.known, &ctx.command, body) {
        Ok(event) => event.idempotency_key(ctx.app_id),
        Err(_) => "unknown: its body did not parse".to_owned(),
    }
}
