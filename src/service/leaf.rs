//! The webhook endpoint as a leaf service, and the request's pipeline.
//!
//! A request goes through seven stages, each a function of its own:
//!
//! 1. authenticate, from the request line alone (`call`, [`Shared::authenticate`]);
//! 2. read the body, up to the limit and within the deadline (`read.rs`);
//! 3. parse: the command, when only the body names it, and the console check
//!    ([`Shared::identify`]); then the event, or nothing yet when it can be parsed straight into
//!    the handler's future ([`Shared::parse`]);
//! 4. de-duplicate an after-event, with a store ([`Shared::begin`]);
//! 5. run the handler under the deadline (`run.rs`);
//! 6. answer (`answer.rs`), by the failure policy when the handler could not (`policy.rs`);
//! 7. report: the request's end, a failure, a late answer (`observe.rs`, `policy.rs`).
//!
//! [`Shared::process`] runs stages 2 to 7 as a [`Process`]: [`Shared::stages`], which end with
//! the answer or with the boxed future of a path only some requests take (a failure's, the
//! deadline's, a de-duplication store's: a [`Step`]), then that future. The request's future is
//! allocated for every request and kept small enough for the allocator's per-thread cache (a
//! test below pins its size): what only some requests need is boxed where they need it, the
//! stages never await those paths (so that no value of the common path is kept across them),
//! and each stage's future lives only while it is awaited.

use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::answer::{Step, answer, label, query_command, reject};
use super::body::ReplyBody;
use super::deadline::{Deadline, Timer};
use super::future::ResponseFuture;
use super::observe::{self, Answered, CommandLabel, Timing};
use super::read::{self, check_declared_length, read};
use super::run::{Held, Input, Ran};
use super::shared::{Shared, Start};
use crate::auth::{Authenticated, authenticate_query, resolve_command};
use crate::config::WebhookConfig;
use crate::dedup::{Claim, ErasedDedup, Seen};
use crate::handler::context::CommandName;
use crate::handler::{BoxFuture, FailureKind, Handler, RequestContext};
use crate::protocol::command::{Command, CommandKind};
use crate::protocol::event::Event;
use crate::protocol::reply::Reply;
use crate::protocol::unparsed::ParseError;
use crate::rejection::{Rejection, RejectionKind};

/// The webhook endpoint: a `tower::Service` that authenticates, parses, dispatches to your
/// [`Handler`] and answers with the JSON Tencent expects.
///
/// Generic over any request body that implements
/// [`http_body::Body`](https://docs.rs/http-body/1/http_body/trait.Body.html), with
/// `Error = Infallible`, and cheap to clone (one `Arc`), so it mounts directly with axum's
/// `route_service`, hyper-util's `TowerToHyperService`, or anything else built on tower.
///
/// ```
/// use tencent_chat_webhook::{signature, Handler, WebhookConfig, WebhookService};
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
///     signature::sign("s3cret", now),
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

    // Stage 1 of the pipeline, authentication: everything that can be checked from the request
    // line alone, before any body is read. A request refused here is answered without
    // allocating; an authenticated one goes on to `Shared::process`.
    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let started = Instant::now();
        let deadline = Deadline::start(self.shared.config.inner.deadline, &self.shared.timer);
        let timing = Timing {
            started,
            due: deadline.and(self.shared.config.inner.deadline),
        };
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
            Err(rejection) => ResponseFuture::ready(reject(rejection, CommandLabel::None, timing)),
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
                    timing,
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

impl Shared {
    /// Stage 1: everything that can be checked from the request line alone.
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Authenticated, Rejection> {
        if parts.method != Method::POST {
            return Err(Rejection::new(
                RejectionKind::MethodNotAllowed,
                format_args!(
                    "method `{}` is not allowed; webhooks are POST",
                    crate::protocol::parse::truncated(parts.method.to_string(), 32)
                ),
            ));
        }
        authenticate_query(&self.config, parts.uri.query().unwrap_or(""))
    }

    /// Stages 2 to 7 of an authenticated request, as a [`Process`].
    fn process<B>(
        self: Arc<Self>,
        ctx: Box<RequestContext>,
        start: Start,
        body: B,
    ) -> Process<impl Future<Output = Step> + Send + 'static>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        Process::Stages {
            stages: self.stages(ctx, start, body),
        }
    }

    /// Stages 2 to 6: the answer, or the boxed future that makes it. A function returning an
    /// `async` block rather than an `async fn`, whose future would keep a second copy of its
    /// arguments. Nothing here awaits a failure's or the deadline's path (they are returned, see
    /// [`Step`]), so that no value of the common path is kept across them.
    // Not an `async fn` on purpose: see above.
    #[allow(clippy::manual_async_fn)]
    fn stages<B>(
        self: Arc<Self>,
        mut ctx: Box<RequestContext>,
        start: Start,
        body: B,
    ) -> impl Future<Output = Step> + Send + 'static
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        async move {
            // 2. Read the body.
            let read = read(body, self.config.inner.body_limit, start.deadline.as_ref()).await;
            let body = match read.unwrap_or_else(|| Err(read::timed_out())) {
                Ok(body) => body,
                Err(rejection) => {
                    let command = query_command(start.from_query, &ctx);
                    return Step::Answer(reject(rejection, command, start.timing));
                }
            };
            // 3. Parse.
            if let Some(res) = self.identify(&mut ctx, &start, &body) {
                return Step::Answer(res);
            }
            let plan = self.plan(&ctx, &start);
            let (input, key) = match self.parse(&mut ctx, &plan, &body) {
                Ok(parsed) => parsed,
                Err(e) => {
                    return self.parse_failed(Held::Owned(ctx), e, start.deadline, start.timing);
                }
            };
            // 4. De-duplicate. Boxed: only events with a store come here.
            let claim = match (&self.config.inner.dedup, key) {
                (Some(store), Some(key)) => {
                    match Box::pin(self.begin(&ctx, store, key, &start)).await {
                        Ok(claim) => Some(Box::new(claim)),
                        Err(res) => return Step::Answer(res),
                    }
                }
                _ => None,
            };
            // 5. Run the handler under the deadline: on a future that owns what it uses (on a
            // task of its own, or to finish in the background), or on this one.
            let ran = if plan.owned && start.deadline.is_some() {
                let keep = plan.background;
                self.run_owned(ctx, input, body, claim, keep, &start).await
            } else {
                self.run_here(ctx, input, &body, claim, &start).await
            };
            let (ctx, outcome, claim) = match ran {
                Ran::Done(ctx, outcome, claim) => (ctx, outcome, claim),
                Ran::Answered(step) => return step,
            };
            // 6. Answer (and 7. report).
            self.answered(ctx, outcome, claim, start.timing)
        }
    }

    /// Stage 3, first part: the command, when only the body names it, and the console check
    /// (authenticated, naming no command, or, without `SdkAppid`, none this crate knows), which
    /// passes without reaching the handler. `Some`: the request is answered already.
    #[inline]
    fn identify(
        &self,
        ctx: &mut RequestContext,
        start: &Start,
        body: &[u8],
    ) -> Option<Response<ReplyBody>> {
        let named = if start.from_query {
            true
        } else {
            match resolve_command(None, body) {
                Ok(Some(CommandName { name, known })) => {
                    ctx.command = name;
                    ctx.known = known;
                    true
                }
                Ok(None) => false,
                Err(rejection) => return Some(reject(rejection, CommandLabel::None, start.timing)),
            }
        };
        if start.console_check && ctx.known.is_some() {
            // An event of a known command must say which app it is for: it is not taken for
            // an app because its signature fits one.
            let rejection = Rejection::new(
                RejectionKind::MalformedQuery,
                "query parameter `SdkAppid` is missing",
            );
            return Some(reject(rejection, label(ctx), start.timing));
        }
        if !named || start.console_check {
            ctx.command = Cow::Borrowed("");
            ctx.known = None;
            let reply = Reply::ok();
            return Some(answer(
                ctx,
                &reply,
                Some(Answered::ConsoleCheck),
                start.timing,
            ));
        }
        let from_body = (!start.from_query).then_some(&*ctx.command);
        observe::identified(None, from_body, Some(ctx.kind()));
        if ctx.known.is_none() {
            observe::unknown_command(ctx.app_id, &ctx.command);
        }
        None
    }

    /// How stages 3 to 5 go for this request.
    #[inline]
    fn plan(&self, ctx: &RequestContext, start: &Start) -> Plan {
        let dedup = self.config.inner.dedup.is_some() && ctx.kind() == CommandKind::After;
        let background = start.deadline.is_some() && self.may_finish_in_background(ctx.kind());
        let on_own_task = start.deadline.is_some_and(|d| d.on_own_task());
        Plan {
            dedup,
            owned: background || on_own_task,
            background,
            direct: !dedup && !ctx.known.is_some_and(Command::answers_per_target),
        }
    }

    /// Stage 3, second part: the event, boxed, when something needs it before the handler
    /// runs (with its de-duplication key, when it has one and a store will use it); else
    /// nothing yet, and the body is parsed straight into the handler's future.
    #[inline]
    fn parse(
        &self,
        ctx: &mut RequestContext,
        plan: &Plan,
        body: &Bytes,
    ) -> Result<(Input, Option<String>), ParseError> {
        if let (true, Some(command)) = (plan.direct, ctx.known) {
            return Ok((Input::Body(command), None));
        }
        let event = Event::parse_as(ctx.known, &ctx.command, body).map(Box::new)?;
        ctx.targets = event.friend_targets();
        // For most commands the key is a digest of the event: only worked out for a store.
        let key = if plan.dedup {
            event.dedup_key(ctx.app_id)
        } else {
            None
        };
        Ok((Input::Event(event), key))
    }

    /// Stage 4: asks the de-duplication store about an event's `key` before its handler runs:
    /// a claim to finish once handled, or the answer for an event already handled, being
    /// handled, or whose store did not answer within the deadline.
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
                    Some(Answered::Duplicate),
                    start.timing,
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
                    start.timing,
                ))
            }
            None => {
                let message = "the de-duplication store did not answer within the deadline";
                Err(self.failed(ctx, FailureKind::Timeout, message.to_owned(), start.timing))
            }
        }
    }
}

pin_project! {
    /// The future of an authenticated request: its stages, then, when they end on a
    /// failure's or the deadline's path, that path's boxed future. Written out so that the
    /// second runs in the room of the first, which is allocated for every request and kept
    /// small enough for the allocator's per-thread cache (see the test below).
    #[project = ProcessProj]
    pub(super) enum Process<S> {
        Stages { #[pin] stages: S },
        Then { next: BoxFuture<'static, Response<ReplyBody>> },
    }
}

impl<S: Future<Output = Step>> Future for Process<S> {
    type Output = Response<ReplyBody>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let next = match self.as_mut().project() {
            ProcessProj::Stages { stages } => match ready!(stages.poll(cx)) {
                Step::Answer(res) => return Poll::Ready(res),
                Step::Then(next) => next,
            },
            ProcessProj::Then { next } => return next.as_mut().poll(cx),
        };
        self.set(Process::Then { next });
        self.poll(cx)
    }
}

/// How stages 3 to 5 go for a request, from its command and the configuration.
struct Plan {
    /// An after-event, and a de-duplication store: the event is parsed first, for its key.
    dedup: bool,
    /// The handler's future owns what it uses: it runs on a task of its own (multi-thread
    /// runtime), or may finish in the background.
    owned: bool,
    /// An after-event that may finish in the background once the deadline passed.
    background: bool,
    /// Nothing needs the event before the handler (no store, no friend targets to answer per
    /// target should the handler fail): the body is parsed straight into its future.
    direct: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::Recorder;

    /// The future of an authenticated request (a [`Process`]) is allocated for every one. glibc
    /// serves allocations of up to 1,032 bytes from a per-thread cache; past that, its slow
    /// path cost about 400 instructions a request (measured when this future shrank from 2,784
    /// to 552 bytes). It is 432 bytes with a `String` body and 440 with `Full<Bytes>` (in a
    /// debug build, as tests run; 576 before the stages were split). The bound leaves a little room, and fails long before the
    /// cache's limit: a value newly kept across an `.await` of [`Shared::stages`] (every such
    /// value takes room in every state of the future) shows here first.
    #[test]
    fn the_request_future_stays_small() {
        const BOUND: usize = 512;
        let config = WebhookConfig::builder(1).token("t").build().unwrap();
        let service = WebhookService::new(config, Recorder::default());
        let start = Start {
            from_query: true,
            console_check: false,
            deadline: None,
            timing: Timing {
                started: Instant::now(),
                due: None,
            },
        };
        let ctx = || Box::new(RequestContext::builder(1, "C2C.CallbackBeforeSendMsg").build());
        let shared = || service.shared.clone();
        let sizes = [
            (
                "String",
                std::mem::size_of_val(&shared().process(ctx(), start, String::new())),
            ),
            (
                "Full<Bytes>",
                std::mem::size_of_val(&shared().process(
                    ctx(),
                    start,
                    http_body_util::Full::new(bytes::Bytes::new()),
                )),
            ),
        ];
        for (body, size) in sizes {
            assert!(
                size <= BOUND,
                "{size} bytes with a {body} body, over {BOUND}"
            );
        }
    }
}
