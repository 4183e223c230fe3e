//! The webhook endpoint as a leaf service.

use std::any::Any;
use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::body::ReplyBody;
use super::catch_unwind::{CatchUnwind, panic_message};
use super::deadline::{Deadline, Timer};
use super::future::ResponseFuture;
use super::observe::{self, CommandLabel, Decision, Outcome};
use super::policy::parse_rejection_message;
use super::read::{check_declared_length, read_body};
use crate::config::WebhookConfig;
use crate::dedup::{Claim, ErasedDedup, Seen};
use crate::handler::{
    BoxFuture, Command, CommandKind, ErasedHandler, Event, FailureKind, Handler, HandlerResult,
    ParseError, ParseErrorKind, RequestContext,
};
use crate::protocol::reply::Reply;

use crate::rejection::{Rejection, RejectionKind, json_response_in};
use crate::service::WebhookLayer;
use crate::verify::{
    Authenticated, CommandName, authenticate_query, parse_rejection, resolve_command,
};

/// The webhook endpoint: a `tower::Service` that authenticates, parses, dispatches to your
/// [`Handler`] and answers with the JSON Tencent expects.
///
/// Generic over any request body that implements [`http_body::Body`], with
/// `Error = Infallible`, and cheap to clone (one `Arc`), so it mounts directly with axum's
/// `route_service`, hyper-util's `TowerToHyperService`, or anything else built on tower.
///
/// ```
/// use tencent_chat_webhook::{auth, Handler, WebhookConfig, WebhookService};
/// use tower::ServiceExt;
///
/// struct MyHandler;
/// impl Handler for MyHandler {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = WebhookConfig::builder(1400000000).token("s3cret").build().unwrap();
/// let service = WebhookService::new(config, MyHandler);
///
/// let now = std::time::SystemTime::now()
///     .duration_since(std::time::UNIX_EPOCH)
///     .unwrap()
///     .as_secs();
/// let uri = format!(
///     "/hook?SdkAppid=1400000000&CallbackCommand=OfficialAccount.CallbackAfterOfficialAccountFull\
///      &contenttype=json&Sign={}&RequestTime={now}",
///     auth::sign("s3cret", now),
/// );
/// let body = r#"{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountFull",
///                "Official_Account":"@TOA#_x","EventTime":1670574414123}"#;
/// let request = http::Request::post(uri).body(body.to_string()).unwrap();
///
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Clone)]
pub struct WebhookService {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) config: WebhookConfig,
    pub(super) handler: Arc<dyn ErasedHandler>,
    /// After-event handlers finishing in the background after the deadline.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(super) in_background: AtomicUsize,
    /// Whether the runtime has a timer.
    timer: Timer,
}

impl WebhookService {
    /// A service that answers with `handler`.
    pub fn new(config: WebhookConfig, handler: impl Handler) -> Self {
        Self::from_arc(config, Arc::new(handler))
    }

    /// A service around a handler you also hold elsewhere.
    pub fn from_arc<H: Handler>(config: WebhookConfig, handler: Arc<H>) -> Self {
        WebhookService {
            shared: Arc::new(Shared {
                config,
                handler,
                in_background: AtomicUsize::new(0),
                timer: Timer::default(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.shared.config
    }

    /// A layer that answers webhooks at `path` with this service and passes every other request
    /// to the service it wraps.
    pub fn into_layer(self, path: impl Into<String>) -> WebhookLayer {
        WebhookLayer::new(path, self)
    }
}

impl fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for WebhookService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let started = Instant::now();
        let deadline = Deadline::start(self.shared.config.inner.deadline, &self.shared.timer);
        #[cfg(feature = "tracing")]
        let span = observe::span();
        #[cfg(feature = "tracing")]
        let entered = span.enter();
        let (parts, body) = req.into_parts();
        let limit = self.shared.config.inner.body_limit;
        let checked = self
            .shared
            .authenticate(&parts)
            .and_then(|auth| check_declared_length(&parts.headers, &body, limit).map(|()| auth));
        match checked {
            Err(rejection) => ResponseFuture::ready(reject(rejection, CommandLabel::None, started)),
            Ok(auth) => {
                observe::identified(
                    Some(auth.app_id),
                    auth.command.as_ref().map(CommandName::as_str),
                    None,
                );
                let start = Start {
                    from_query: auth.command.is_some(),
                    console_check: auth.console_check,
                    deadline,
                    started,
                };
                let fut = self
                    .shared
                    .clone()
                    .process(context(auth, parts), start, body);
                // Without a subscriber that wants the span, the future runs bare: entering and
                // leaving a disabled span on every poll costs more than the rest of the poll.
                #[cfg(feature = "tracing")]
                {
                    drop(entered);
                    if !span.is_disabled() {
                        return ResponseFuture::running(Box::pin(tracing::Instrument::instrument(
                            fut, span,
                        )));
                    }
                }
                ResponseFuture::running(Box::pin(fut))
            }
        }
    }
}

/// Answers a refused request, and logs and counts it.
pub(super) fn reject(
    rejection: Rejection,
    command: CommandLabel,
    started: Instant,
) -> Response<ReplyBody> {
    observe::rejected(&rejection);
    let res = rejection.into_response();
    observe::finished(command, "rejected", res.status().as_u16(), started);
    res
}

/// Answers a handled request with `reply` (HTTP 200), with its [`Outcome`] in the extensions.
pub(super) fn answer(
    ctx: &RequestContext,
    reply: &Reply,
    decision: Option<Decision>,
    started: Instant,
) -> Response<ReplyBody> {
    answer_in(ctx, reply, decision, started, Recycled::default())
}

/// The request's header map and extensions, emptied once its handler is done, for the response:
/// their allocations then serve its header and its [`Outcome`], which would otherwise make new
/// ones on every request.
#[derive(Default)]
struct Recycled {
    headers: http::HeaderMap,
    extensions: http::Extensions,
}

impl Recycled {
    fn take(parts: &mut http::request::Parts) -> Self {
        let mut headers = std::mem::take(&mut parts.headers);
        headers.clear();
        let mut extensions = std::mem::take(&mut parts.extensions);
        extensions.clear();
        Recycled {
            headers,
            extensions,
        }
    }
}

/// [`answer`], in the maps of `recycled`.
fn answer_in(
    ctx: &RequestContext,
    reply: &Reply,
    decision: Option<Decision>,
    started: Instant,
    recycled: Recycled,
) -> Response<ReplyBody> {
    let kind = ctx.kind();
    let decision = decision.unwrap_or_else(|| Decision::of(kind, reply));
    let mut res = json_response_in(StatusCode::OK, reply, recycled.headers);
    *res.extensions_mut() = recycled.extensions;
    observe::finished(label(ctx), decision.as_str(), 200, started);
    res.extensions_mut().insert(Outcome {
        app_id: ctx.app_id,
        command: ctx.command.clone(),
        kind,
        decision,
    });
    res
}

impl Shared {
    /// Everything that can be checked from the request line alone, before any body is read.
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Authenticated, Rejection> {
        if parts.method != Method::POST {
            return Err(Rejection::new(
                RejectionKind::MethodNotAllowed,
                format_args!(
                    "method `{}` is not allowed; webhooks are POST",
                    crate::rejection::truncated(parts.method.to_string(), 32)
                ),
            ));
        }
        authenticate_query(&self.config, parts.uri.query().unwrap_or(""))
    }

    /// The future of an authenticated request: a function returning an `async` block rather
    /// than an `async fn`, whose future would keep a second copy of its arguments, and the
    /// context boxed, so that the future (allocated for every request) stays small enough for
    /// the allocator's per-thread cache.
    // Not an `async fn` on purpose: see above.
    #[allow(clippy::manual_async_fn)]
    fn process<B>(
        self: Arc<Self>,
        mut ctx: Box<RequestContext>,
        start: Start,
        body: B,
    ) -> impl Future<Output = Response<ReplyBody>> + Send + 'static
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        async move {
            let limit = self.config.inner.body_limit;
            // The reading future is dropped once read (its own block), so that the rest of this
            // future does not keep room for it.
            let read = {
                let read = pin!(read_body(body, limit));
                Deadline::race(start.deadline.as_ref(), read).await
            };
            let bytes = match read {
                Some(Ok(bytes)) => bytes,
                Some(Err(rejection)) => {
                    return reject(
                        rejection,
                        query_command(start.from_query, &ctx),
                        start.started,
                    );
                }
                None => {
                    let rejection = Rejection::new(
                        RejectionKind::BodyTimeout,
                        "the body did not arrive within the deadline",
                    );
                    return reject(
                        rejection,
                        query_command(start.from_query, &ctx),
                        start.started,
                    );
                }
            };
            let named = if start.from_query {
                true
            } else {
                match resolve_command(None, &bytes) {
                    Ok(Some(CommandName { name, known })) => {
                        ctx.command = name;
                        ctx.known = known;
                        true
                    }
                    Ok(None) => false,
                    Err(rejection) => return reject(rejection, CommandLabel::None, start.started),
                }
            };
            // A console check: authenticated, naming no command (or, without `SdkAppid`, none this
            // crate knows). It passes without reaching the handler.
            if start.console_check && ctx.known.is_some() {
                // An event of a known command must say which app it is for: it is not taken for
                // an app because its signature fits one.
                let rejection = Rejection::new(
                    RejectionKind::MalformedQuery,
                    "query parameter `SdkAppid` is missing",
                );
                return reject(rejection, label(&ctx), start.started);
            }
            if !named || start.console_check {
                ctx.command = Cow::Borrowed("");
                ctx.known = None;
                return answer(
                    &ctx,
                    &Reply::ok(),
                    Some(Decision::ConsoleCheck),
                    start.started,
                );
            }
            let from_body = (!start.from_query).then_some(&*ctx.command);
            observe::identified(None, from_body, Some(ctx.kind()));
            let background = start.deadline.is_some() && self.may_finish_in_background(ctx.kind());
            let dedup = match (&self.config.inner.dedup, ctx.kind()) {
                (Some(store), CommandKind::After) => Some(store),
                _ => None,
            };
            // The common case, a known command handled on this future with nothing to do
            // between parse and handler (no de-duplication, no friend targets to keep for a
            // failure's answer): the body is parsed straight into the handler's future, with no
            // `Event` made, moved or boxed.
            let direct = !background
                && dedup.is_none()
                && !ctx.known.is_some_and(Command::answers_per_target);
            // The paths where the deadline passed leave the match with their (boxed) future, to
            // be awaited once the race's result is out of scope: awaited in the match, it would
            // keep room for that result.
            let (mut ctx, outcome, claim) = 'handled: {
                let late: BoxFuture<'_, Response<ReplyBody>> = 'late: {
                    let (job, claim) = 'job: {
                        if let (true, Some(known)) = (direct, ctx.known) {
                            // In a block of its own: the result keeps `ctx` borrowed until
                            // it is dropped, and the failure's answer needs it mutably.
                            let failed = {
                                let parsed = self.handler.parse_dispatch(known, &ctx, &bytes);
                                match parsed {
                                    Ok(job) => break 'job (job, None),
                                    Err(e) => e,
                                }
                            };
                            return Box::pin(self.parse_failed(
                                &mut ctx,
                                failed,
                                start.deadline,
                                start.started,
                            ))
                            .await;
                        }
                        // The event is boxed where it is parsed, and a failed parse answered
                        // by a boxed future of its own: kept by value, the event (the size of
                        // its largest variant) would take room in every later state of this
                        // future.
                        let event =
                            match Event::parse_as(ctx.known, &ctx.command, &bytes).map(Box::new) {
                                Ok(event) => event,
                                Err(e) => {
                                    return Box::pin(self.parse_failed(
                                        &mut ctx,
                                        e,
                                        start.deadline,
                                        start.started,
                                    ))
                                    .await;
                                }
                            };
                        ctx.targets = event.friend_targets();
                        // The key is a digest of the event for most commands: only worked
                        // out when a store will use it.
                        let claim = match dedup
                            .and_then(|store| event.dedup_key().map(|key| (store, key)))
                        {
                            Some((store, key)) => {
                                // Boxed: only events with a store come here.
                                match Box::pin(self.begin(&ctx, store, key, &start)).await {
                                    Ok(claim) => Some(claim),
                                    Err(res) => return res,
                                }
                            }
                            None => None,
                        };
                        match start.deadline {
                            // A timer, and an after-event that may finish on its own task
                            // when it passes: the handler's future owns what it uses.
                            Some(deadline) if background => {
                                let ctx: Arc<RequestContext> = Arc::from(ctx);
                                let handler = self.handler.clone();
                                let job_ctx = ctx.clone();
                                let mut job: BoxFuture<'static, Outcome_> = Box::pin(async move {
                                    CatchUnwind {
                                        inner: handler.dispatch(&job_ctx, *event),
                                    }
                                    .await
                                });
                                match Deadline::race(Some(&deadline), &mut job).await {
                                    Some(outcome) => {
                                        break 'handled (Held::Shared(ctx), outcome, claim);
                                    }
                                    None => {
                                        break 'late Box::pin(self.timed_out(
                                            ctx,
                                            job,
                                            claim,
                                            start.started,
                                        ));
                                    }
                                }
                            }
                            _ => (self.handler.dispatch(&ctx, *event), claim),
                        }
                    };
                    // No timer, or a handler that is cancelled when the deadline passes (a
                    // before-event, or any event under `AfterDeadline::Cancel`): it runs on the
                    // request's own future, borrowing its context.
                    let handler = CatchUnwind { inner: job };
                    match Deadline::race(start.deadline.as_ref(), handler).await {
                        Some(outcome) => break 'handled (Held::Owned(ctx), outcome, claim),
                        None => Box::pin(self.cancelled(&ctx, claim, start.started)),
                    }
                };
                return late.await;
            };
            let handled = matches!(outcome, Ok(Ok(_)));
            if let Some(claim) = claim {
                // Handled: remembered; failed: forgotten, so that a retry is handled. Boxed: only
                // events with a de-duplication store come here.
                Box::pin(claim.finish(handled)).await;
            }
            match outcome {
                Ok(Ok(reply)) => {
                    let recycled = match &mut ctx {
                        Held::Owned(ctx) => Recycled::take(&mut ctx.parts),
                        Held::Shared(_) => Recycled::default(),
                    };
                    answer_in(&ctx, &reply, None, start.started, recycled)
                }
                Ok(Err(error)) => {
                    self.failed(&ctx, FailureKind::Error, error.to_string(), start.started)
                }
                Err(panic) => self.failed(
                    &ctx,
                    FailureKind::Panic,
                    panic_message(&*panic),
                    start.started,
                ),
            }
        }
    }

    /// Asks the de-duplication store about an event's `key` before its handler runs: a claim
    /// to finish once handled, or the answer for an event already handled, being handled, or
    /// whose store did not answer within the deadline.
    async fn begin(
        &self,
        ctx: &RequestContext,
        store: &Arc<dyn ErasedDedup>,
        key: String,
        start: &Start,
    ) -> Result<Claim, Response<ReplyBody>> {
        let seen = Deadline::race(start.deadline.as_ref(), pin!(store.begin(&key))).await;
        match seen {
            Some(Seen::New) => Ok(Claim::new(store.clone(), key)),
            Some(Seen::Done) => {
                observe::duplicate(&ctx.command);
                Err(answer(
                    ctx,
                    &Reply::ok(),
                    Some(Decision::Duplicate),
                    start.started,
                ))
            }
            // Another delivery is being handled: not acknowledged until that one is.
            Some(_) => {
                observe::duplicate(&ctx.command);
                let message = "the same event is being handled; not acknowledged yet";
                Err(self.failed(
                    ctx,
                    FailureKind::Abandoned,
                    message.to_owned(),
                    start.started,
                ))
            }
            None => {
                let message = "the de-duplication store did not answer within the deadline";
                Err(self.failed(ctx, FailureKind::Timeout, message.to_owned(), start.started))
            }
        }
    }

    /// A body that did not parse: refused (400), or, when only its shape did not fit a known
    /// command, offered to `on_unparsed` (see [`Shared::unparsed`]).
    async fn parse_failed(
        &self,
        ctx: &mut RequestContext,
        e: ParseError,
        deadline: Option<Deadline>,
        started: Instant,
    ) -> Response<ReplyBody> {
        if e.kind() != ParseErrorKind::Shape {
            return reject(parse_rejection(&e), label(ctx), started);
        }
        let message = e.to_string();
        match e.into_unparsed() {
            Some(unparsed) => {
                ctx.targets = unparsed.friend_targets();
                self.unparsed(ctx, unparsed, message, deadline, started)
                    .await
            }
            None => reject(parse_rejection_message(message), label(ctx), started),
        }
    }
}

/// What a handler's dispatch ends with: its result, or the payload of its panic.
pub(super) type Outcome_ = Result<HandlerResult<Reply>, Box<dyn Any + Send>>;

/// A request context owned by the request's future, or shared with a handler's task.
enum Held<T> {
    Owned(Box<T>),
    Shared(Arc<T>),
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

/// The metrics' label of a request's command.
pub(super) fn label(ctx: &RequestContext) -> CommandLabel {
    CommandLabel::of(ctx.known)
}

/// The metrics' label of a request refused before its body was read: the query's command, or
/// none.
fn query_command(from_query: bool, ctx: &RequestContext) -> CommandLabel {
    if from_query {
        label(ctx)
    } else {
        CommandLabel::None
    }
}

/// What the request's future starts from besides its context and body.
#[derive(Clone, Copy)]
struct Start {
    /// The query named the command (else the body does, or nothing does).
    from_query: bool,
    /// Authenticated without `SdkAppid`: the console's check.
    console_check: bool,
    deadline: Option<Deadline>,
    started: Instant,
}

/// The context of an authenticated request, before its body is read: the command is the
/// query's, or empty until the body names it.
fn context(auth: Authenticated, parts: http::request::Parts) -> Box<RequestContext> {
    let CommandName { name, known } = auth.command.unwrap_or(CommandName {
        name: Cow::Borrowed(""),
        known: None,
    });
    Box::new(RequestContext {
        app_id: auth.app_id,
        command: name,
        known,
        client_ip: auth.client_ip,
        platform: auth.platform,
        request_time: auth.request_time,
        content_type: auth.content_type,
        parts,
        targets: None,
    })
}
