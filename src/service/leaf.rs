//! The webhook endpoint as a leaf service.

use std::any::Any;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode, header};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::ReplyBody;
use super::future::ResponseFuture;
use super::{trace_debug, trace_warn};
use crate::config::{FailureDecision, WebhookConfig};
use crate::handler::{
    CommandKind, ErasedHandler, Event, FailureKind, Handler, HandlerFailure, ParseErrorKind,
    RequestContext, UnparsedEvent,
};
use crate::protocol::reply::Reply;
use crate::rejection::{Rejection, RejectionKind, json_response};
use crate::service::WebhookLayer;
use crate::verify::{Authenticated, authenticate_query, parse_rejection, resolve_command};

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

struct Shared {
    config: WebhookConfig,
    handler: Arc<dyn ErasedHandler>,
}

impl WebhookService {
    /// A service that answers with `handler`.
    pub fn new(config: WebhookConfig, handler: impl Handler) -> Self {
        Self::from_arc(config, Arc::new(handler))
    }

    /// A service around a handler you also hold elsewhere.
    pub fn from_arc<H: Handler>(config: WebhookConfig, handler: Arc<H>) -> Self {
        WebhookService {
            shared: Arc::new(Shared { config, handler }),
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
        let (parts, body) = req.into_parts();
        let limit = self.shared.config.inner.body_limit;
        let checked = self
            .shared
            .authenticate(&parts)
            .and_then(|auth| check_declared_length(&parts.headers, &body, limit).map(|()| auth));
        match checked {
            Err(rejection) => ResponseFuture::ready(rejection.into_response()),
            Ok(auth) => {
                ResponseFuture::running(Box::pin(self.shared.clone().process(parts, auth, body)))
            }
        }
    }
}

impl Shared {
    /// Everything that can be checked from the request line alone, before any body is read.
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Authenticated, Rejection> {
        if parts.method != Method::POST {
            return Err(Rejection::new(
                RejectionKind::MethodNotAllowed,
                format_args!("method {} is not allowed; webhooks are POST", parts.method),
            ));
        }
        authenticate_query(&self.config, parts.uri.query().unwrap_or(""))
    }

    async fn process<B>(
        self: Arc<Self>,
        parts: http::request::Parts,
        auth: Authenticated,
        body: B,
    ) -> Response<ReplyBody>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let limit = self.config.inner.body_limit;
        let bytes = match read_body(body, limit).await {
            Ok(bytes) => bytes,
            Err(rejection) => return rejection.into_response(),
        };
        let command = match resolve_command(auth.command, &bytes) {
            Ok(command) => command,
            Err(rejection) => return rejection.into_response(),
        };
        let parsed = Event::parse(&command, &bytes);
        let ctx = RequestContext {
            app_id: self.config.inner.app_id,
            command,
            client_ip: auth.client_ip,
            platform: auth.platform,
            request_time: auth.request_time,
            content_type: auth.content_type,
            parts,
        };
        let event = match parsed {
            Ok(event) => event,
            Err(e) if e.kind() == ParseErrorKind::Shape => {
                let message = e.to_string();
                return match e.into_unparsed() {
                    Some(unparsed) => self.unparsed(&ctx, unparsed, message).await,
                    None => parse_rejection_message(message).into_response(),
                };
            }
            Err(e) => return parse_rejection(&e).into_response(),
        };
        let outcome = CatchUnwind {
            inner: self.handler.dispatch(&ctx, event),
        }
        .await;
        match outcome {
            Ok(Ok(reply)) => json_response(StatusCode::OK, &reply),
            Ok(Err(error)) => self.failed(&ctx, FailureKind::Error, error.to_string()),
            Err(panic) => self.failed(&ctx, FailureKind::Panic, panic_message(&*panic)),
        }
    }

    /// A known command whose body did not fit: reported, offered to `on_unparsed`, and answered
    /// as it says or, by default, by the failure policy (before) or with 400 naming the path
    /// (after).
    async fn unparsed(
        &self,
        ctx: &RequestContext,
        event: UnparsedEvent,
        message: String,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, FailureKind::Unparsed, message.clone());
        let outcome = CatchUnwind {
            inner: self.handler.unparsed(ctx, event),
        }
        .await;
        let answer = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                self.report(ctx, FailureKind::Error, error.to_string());
                None
            }
            Err(panic) => {
                self.report(ctx, FailureKind::Panic, panic_message(&*panic));
                None
            }
        };
        let mut res = match answer {
            Some(reply) => json_response(StatusCode::OK, &reply),
            None if ctx.kind() == CommandKind::After => {
                parse_rejection_message(message).into_response()
            }
            None => self.failure_response(ctx),
        };
        res.extensions_mut().insert(failure);
        res
    }

    /// Answers for a handler that failed, and reports the failure.
    fn failed(
        &self,
        ctx: &RequestContext,
        kind: FailureKind,
        message: String,
    ) -> Response<ReplyBody> {
        let failure = self.report(ctx, kind, message);
        let mut res = self.failure_response(ctx);
        res.extensions_mut().insert(failure);
        res
    }

    /// Reports a failure to the log and the configured hook.
    fn report(&self, ctx: &RequestContext, kind: FailureKind, message: String) -> HandlerFailure {
        let failure = HandlerFailure {
            command: ctx.command.to_string(),
            kind,
            message,
        };
        trace_warn!(command = %failure.command, kind = ?failure.kind, error = %failure.message, "webhook handler failed");
        if let Some(hook) = &self.config.inner.failure_hook {
            // A panicking reporter must not take the reply down with it.
            let _ = catch_unwind(AssertUnwindSafe(|| hook(&failure)));
        }
        failure
    }

    /// The answer when a request could not be handled: HTTP 500 for an after-event (so it shows
    /// in Tencent's statistics, and is retried where retries are on), the configured
    /// [`FailureDecision`] for a before-event.
    fn failure_response(&self, ctx: &RequestContext) -> Response<ReplyBody> {
        match self.config.inner.on_failure {
            _ if ctx.kind() == CommandKind::After => internal_error(),
            FailureDecision::DeferToTencent => internal_error(),
            FailureDecision::Allow => json_response(StatusCode::OK, &Reply::ok()),
            FailureDecision::Deny => json_response(StatusCode::OK, &Reply::ok().with_error_code(1)),
        }
    }
}

fn parse_rejection_message(message: String) -> Rejection {
    Rejection::new(RejectionKind::InvalidBody, message)
}

fn internal_error() -> Response<ReplyBody> {
    // The handler's message stays in the report: it may hold internal details.
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &Reply::fail(500, "webhook handler failed"),
    )
}

fn too_large(limit: usize) -> Rejection {
    Rejection::new(
        RejectionKind::BodyTooLarge,
        format_args!("body is larger than the limit of {limit} bytes"),
    )
}

/// Refuses a body whose declared length is over the limit, before reading a byte of it.
fn check_declared_length<B: Body>(
    headers: &http::HeaderMap,
    body: &B,
    limit: usize,
) -> Result<(), Rejection> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let hinted = body.size_hint().lower();
    if declared.unwrap_or(0).max(hinted) > limit as u64 {
        return Err(too_large(limit));
    }
    Ok(())
}

/// Reads the whole body, stopping with 413 as soon as it passes the limit. A body that arrives
/// in one frame (the usual case) is kept as is, without copying.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut body = pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total: usize = 0;
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            let e: Box<dyn StdError + Send + Sync> = e.into();
            trace_debug!(error = %e, "webhook body could not be read");
            let _ = e;
            Rejection::new(RejectionKind::UnreadableBody, "body could not be read")
        })?;
        // Trailers carry nothing Tencent sends; they are skipped.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.remaining());
        if total > limit {
            return Err(too_large(limit));
        }
        let chunk = data.copy_to_bytes(data.remaining());
        match (&mut first, &mut joined) {
            (None, None) => first = Some(chunk),
            (Some(_), None) => {
                let mut buf = BytesMut::with_capacity(total);
                buf.extend_from_slice(&first.take().unwrap_or_default());
                buf.extend_from_slice(&chunk);
                joined = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }
    Ok(match joined {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

pin_project! {
    /// Turns a panic while polling `inner` into an `Err` holding the payload.
    struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
