//! Stage 6 of the pipeline: the response, with what was decided on its body (and in its
//! extensions, where the request brought a map of them), and the request's end recorded (stage 7,
//! [`observe::finished`]).

use http::{Response, StatusCode};

use super::body::ReplyBody;
use super::observe::{self, Answered, CommandLabel, Outcome, Timing};
use super::response::{json_response, json_response_in};
use crate::handler::BoxFuture;
use crate::handler::RequestContext;
use crate::protocol::reply::Reply;
use crate::rejection::Rejection;

/// How a request's stages end: with its answer, or with the future that makes it, on a path
/// only some requests take (a failure's, the deadline's, a de-duplication store's), boxed
/// there.
pub(super) enum Step {
    Answer(Response<ReplyBody>),
    Then(BoxFuture<'static, Response<ReplyBody>>),
}

/// Answers a refused request, and logs and counts it.
pub(super) fn reject(
    rejection: Rejection,
    command: CommandLabel,
    timing: Timing,
) -> Response<ReplyBody> {
    observe::rejected(&rejection);
    let res = rejection.into_response();
    observe::finished(command, "rejected", res.status().as_u16(), timing);
    res
}

/// Answers a handled request with `reply` (HTTP 200), with its [`Outcome`] on the body, and in
/// the extensions where the request brought any.
pub(super) fn answer(
    ctx: &RequestContext,
    reply: &Reply,
    decision: Option<Answered>,
    timing: Timing,
) -> Response<ReplyBody> {
    answer_in(ctx, reply, decision, timing, Recycled::default())
}

/// The request's header map and extensions, emptied once its handler is done, for the response:
/// their allocations then serve its header and its [`Outcome`], which would otherwise make new
/// ones on every request.
#[derive(Default)]
pub(super) struct Recycled {
    headers: http::HeaderMap,
    extensions: http::Extensions,
    /// Whether the request brought extensions (so `extensions` holds an allocated map).
    had_extensions: bool,
}

impl Recycled {
    pub(super) fn take(parts: &mut http::request::Parts) -> Self {
        let mut headers = std::mem::take(&mut parts.headers);
        headers.clear();
        let mut extensions = std::mem::take(&mut parts.extensions);
        let had_extensions = !extensions.is_empty();
        extensions.clear();
        Recycled {
            headers,
            extensions,
            had_extensions,
        }
    }
}

/// [`answer`], in the maps of `recycled`.
pub(super) fn answer_in(
    ctx: &RequestContext,
    reply: &Reply,
    decision: Option<Answered>,
    timing: Timing,
    recycled: Recycled,
) -> Response<ReplyBody> {
    let kind = ctx.kind();
    let decision = decision.unwrap_or_else(|| Answered::of(kind, reply));
    let mut res = json_response_in(StatusCode::OK, reply, recycled.headers);
    observe::finished(label(ctx), decision.as_str(), 200, timing);
    let outcome = Outcome {
        app_id: ctx.app_id,
        command: ctx.command.clone(),
        kind,
        decision,
    };
    // In the extensions only where the request brought a map of them (a server's or a router's):
    // a request without any is answered without allocating one.
    if recycled.had_extensions || !ctx.parts.extensions.is_empty() {
        *res.extensions_mut() = recycled.extensions;
        res.extensions_mut().insert(outcome.clone());
    }
    res.body_mut().set_outcome(outcome);
    res
}

/// Puts a handler's failure in the response's extensions, and the [`Outcome`] of a failure
/// the policy answered with HTTP 200 there too, since the map is allocated anyway.
pub(super) fn with_failure(
    mut res: Response<ReplyBody>,
    failure: crate::handler::HandlerFailure,
) -> Response<ReplyBody> {
    if let Some(outcome) = res.body().outcome().cloned() {
        res.extensions_mut().insert(outcome);
    }
    res.extensions_mut().insert(failure);
    res
}

/// HTTP 500, for an after-event whose handler failed (or a before-event under
/// [`FailureDecision::DeferToTencent`](crate::FailureDecision)).
pub(super) fn internal_error(ctx: &RequestContext, timing: Timing) -> Response<ReplyBody> {
    // The handler's message stays in the report: it may hold internal details.
    let res = json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &Reply::fail(500, "webhook handler failed"),
    );
    observe::finished(label(ctx), "failed", 500, timing);
    res
}

/// The metrics' label of a request's command.
pub(super) fn label(ctx: &RequestContext) -> CommandLabel {
    CommandLabel::of(ctx.known)
}

/// The metrics' label of a request refused before its body was read: the query's command, or
/// none.
pub(super) fn query_command(from_query: bool, ctx: &RequestContext) -> CommandLabel {
    if from_query {
        label(ctx)
    } else {
        CommandLabel::None
    }
}
