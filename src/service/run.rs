//! Stage 5 of the pipeline: the handler, run under the deadline.
//!
//! Where the handler runs:
//! - on the request's own future, borrowing its context ([`Shared::run_here`]), when no deadline
//!   is enforced, or on a current-thread runtime when the handler is cancelled at the deadline (a
//!   before-event, or any event under `AfterDeadline::Cancel`). There a handler that blocks its
//!   thread blocks the answer too: the deadline is only seen when the handler yields.
//! - on a future that owns what it uses ([`Shared::run_owned`]): on a task of its own on a
//!   multi-thread runtime, so that the request's task answers at the deadline while the
//!   handler's thread is still blocked (if another worker is free to run it); or, on a
//!   current-thread runtime, on the request's future until the deadline, to be finished in the
//!   background after it (an after-event under `AfterDeadline::Finish`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::answer::{Step, label};
use super::catch_unwind::Watched;
use super::deadline::Deadline;
use super::shared::{Outcome_, Shared, Start};
use crate::dedup::Claim;
use crate::handler::{BoxFuture, HandlerResult, RequestContext};
use crate::protocol::command::Command;
use crate::protocol::event::Event;
use crate::protocol::reply::Reply;
use crate::protocol::unparsed::ParseError;

/// What the handler is started from.
pub(super) enum Input {
    /// The body, parsed straight into the handler's future: no [`Event`] made, moved or boxed.
    Body(Command),
    /// The event, parsed already because something needed it before the handler: its
    /// de-duplication key, a friend request's targets, or an unknown command's JSON. Boxed:
    /// kept by value, the event (the size of its largest variant) would take room in every
    /// later state of the request's future.
    Event(Box<Event>),
}

/// What a handler's owned future ends with: its outcome, or why the body it was to parse did
/// not; or the payload of a panic in either.
pub(super) type Finished = Result<Result<HandlerResult<Reply>, ParseError>, PanicPayload>;

type PanicPayload = Box<dyn std::any::Any + Send>;

/// How stage 5 ended.
pub(super) enum Ran {
    /// The handler answered, failed or panicked within the deadline.
    Done(Held<RequestContext>, Outcome_, Option<Box<Claim>>),
    /// The body did not fit, or the deadline passed: the failure policy's answer.
    Answered(Step),
}

/// A request context owned by the request's future, or shared with a handler's future.
pub(super) enum Held<T> {
    Owned(Box<T>),
    Shared(Arc<T>),
}

impl<T> Held<T> {
    /// The context to change, when nothing else holds it (a handler's task that ended has
    /// dropped its share).
    pub(super) fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Held::Owned(t) => Some(t),
            Held::Shared(t) => Arc::get_mut(t),
        }
    }
}

impl<T> std::ops::Deref for Held<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Held::Owned(t) => t,
            Held::Shared(t) => t,
        }
    }
}

/// A handler's future that owns what it uses, polled where it is or running on a task of its
/// own. Dropped, it cancels the handler (the task is aborted: at its next `.await`, for a
/// handler that blocks its thread).
pub(super) enum Job {
    /// Polled by whoever holds it.
    Here(BoxFuture<'static, Finished>),
    /// Running on a task of its own.
    #[cfg(feature = "tokio")]
    Task(AbortOnDrop),
}

impl Future for Job {
    type Output = Finished;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        match self.get_mut() {
            Job::Here(job) => job.as_mut().poll(cx),
            #[cfg(feature = "tokio")]
            Job::Task(task) => Pin::new(&mut task.0).poll(cx).map(|joined| {
                joined.unwrap_or_else(|error| match error.try_into_panic() {
                    Ok(payload) => Err(payload),
                    // Cancelled without being aborted here: the runtime is shutting down.
                    Err(_) => Err(Box::new(
                        "the handler's task was cancelled: the runtime is shutting down",
                    )),
                })
            }),
        }
    }
}

/// A task's handle that aborts the task when dropped.
#[cfg(feature = "tokio")]
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<Finished>);

#[cfg(feature = "tokio")]
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        // A task that ended (the common case) has nothing to abort, and aborting costs more
        // than asking.
        if !self.0.is_finished() {
            self.0.abort();
        }
    }
}

impl Job {
    /// `job` on a task of its own, on the current runtime (in the request's span, when one is
    /// recorded); polled here when there is no runtime to spawn it on.
    #[cfg(feature = "tokio")]
    pub(super) fn spawn(job: BoxFuture<'static, Finished>) -> Job {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Job::Here(job);
        };
        #[cfg(feature = "tracing")]
        if let Some(span) = super::observe::current_span() {
            return Job::Task(AbortOnDrop(
                runtime.spawn(tracing::Instrument::instrument(job, span)),
            ));
        }
        Job::Task(AbortOnDrop(runtime.spawn(job)))
    }
}

impl Shared {
    /// Runs the handler on the request's own future, borrowing its context, racing the
    /// deadline when there is one; cancelled (its future dropped) when it passes. A function
    /// returning an `async` block, which keeps its arguments once, as part of the request's
    /// future.
    // Not an `async fn` on purpose: see above.
    #[allow(clippy::manual_async_fn)]
    pub(super) fn run_here<'a>(
        self: &'a Arc<Self>,
        ctx: Box<RequestContext>,
        input: Input,
        body: &'a Bytes,
        claim: Option<Box<Claim>>,
        start: &'a Start,
    ) -> impl Future<Output = Ran> + Send + 'a {
        async move {
            let job = 'started: {
                let e = match self.start(&ctx, input, body) {
                    Ok(job) => break 'started job,
                    Err(e) => e,
                };
                // Out of the match, whose value borrows the context handed on here.
                let ctx = Held::Owned(ctx);
                return Ran::Answered(self.parse_failed(ctx, e, start.deadline, start.timing));
            };
            let handler = Watched::new(job, label(&ctx));
            match Deadline::race(start.deadline.as_ref(), handler).await {
                Some(outcome) => Ran::Done(Held::Owned(ctx), outcome, claim),
                None => Ran::Answered(self.cancelled(Held::Owned(ctx), claim, start.timing)),
            }
        }
    }

    /// The handler's future, borrowing the request's context: the body parsed straight into
    /// it, or the event given to it.
    #[inline]
    fn start<'a>(
        &'a self,
        ctx: &'a RequestContext,
        input: Input,
        body: &Bytes,
    ) -> Result<BoxFuture<'a, HandlerResult<Reply>>, ParseError> {
        match input {
            Input::Body(command) => self.handler.parse_dispatch(command, ctx, body),
            Input::Event(event) => Ok(self.handler.dispatch(ctx, *event)),
        }
    }

    /// Runs the handler on a future that owns its context and input (the body is parsed on
    /// it): on a task of its own on a multi-thread runtime, else here; either way racing the
    /// deadline, and left running when it passes. `keep`: the event may finish in the
    /// background, and its body is kept to name it by its key should it be dropped. A function
    /// returning an `async` block, which keeps its arguments once, as part of the request's
    /// future.
    pub(super) fn run_owned<'a>(
        self: &'a Arc<Self>,
        ctx: Box<RequestContext>,
        input: Input,
        body: Bytes,
        claim: Option<Box<Claim>>,
        keep: bool,
        start: &Start,
    ) -> impl Future<Output = Ran> + Send + 'a {
        let (deadline, timing) = (start.deadline, start.timing);
        let kept = keep.then(|| body.clone());
        let ctx: Arc<RequestContext> = Arc::from(ctx);
        let job = self.job(ctx.clone(), input, body);
        #[cfg(feature = "tokio")]
        let mut job = if deadline.is_some_and(|d| d.on_own_task()) {
            Job::spawn(job)
        } else {
            Job::Here(job)
        };
        #[cfg(not(feature = "tokio"))]
        let mut job = Job::Here(job);
        async move {
            let finished = Deadline::race(deadline.as_ref(), &mut job).await;
            match finished {
                Some(Ok(Ok(outcome))) => Ran::Done(Held::Shared(ctx), Ok(outcome), claim),
                Some(Err(panic)) => Ran::Done(Held::Shared(ctx), Err(panic), claim),
                Some(Ok(Err(e))) => {
                    Ran::Answered(self.parse_failed(Held::Shared(ctx), e, deadline, timing))
                }
                None => Ran::Answered(self.timed_out(ctx, job, claim, kept, timing)),
            }
        }
    }

    /// The handler's future, owning its context and input, panics caught and polls timed (the
    /// body's parse included).
    fn job(
        &self,
        ctx: Arc<RequestContext>,
        input: Input,
        body: Bytes,
    ) -> BoxFuture<'static, Finished> {
        let handler = self.handler.clone();
        let command = label(&ctx);
        Box::pin(Watched::new(
            async move {
                let job = match input {
                    Input::Body(command) => handler.parse_dispatch(command, &ctx, &body)?,
                    Input::Event(event) => handler.dispatch(&ctx, *event),
                };
                Ok(job.await)
            },
            command,
        ))
    }
}
