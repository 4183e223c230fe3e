//! [`GuardLayer`]: the request timeout and the caps on requests in flight, answered in the
//! crate's JSON error shape.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{ConnectionInfo, Limits};
use crate::connection::Client;
use crate::protocol::reply::Reply;
use crate::service::ReplyBody;
use crate::service::body::WebhookResponseBody;
use crate::service::response::json_response;

/// A request timeout and caps on requests in flight, whose refusals are replies in the crate's
/// JSON error shape (`{"ActionStatus":"FAIL","ErrorInfo":"...","ErrorCode":<status>}`): what
/// tower's `Timeout`, `ConcurrencyLimit` and `LoadShed` do together, in one layer.
///
/// - a request not answered within [`Limits::request_timeout`] is answered `408` (and, over
///   HTTP/1, `Connection: close`: its body may be half read);
/// - past [`Limits::max_requests`] in flight, the oldest request of the client with the most
///   requests in flight is answered `503` (and its connection closed) to make room, when that
///   client has more in flight than the newcomer's; else the newcomer is answered `503` at once.
///   So a few addresses at their per-client cap (or one captured signed URL replayed from
///   them with slow bodies) cannot hold every place: each client keeps at least an equal share;
/// - past [`Limits::max_requests_per_client`] in flight from one client, `429` at once. The
///   client is known from the [`ConnectionInfo`] that [`serve`](super::serve) puts in each
///   request's extensions; under another server only the global cap applies.
///
/// [`serve`](super::serve) puts every request through one. Use it directly in a server that is
/// not this crate's, scoped to the webhook's path with [`only`](Self::only) when the server's
/// other routes answer their own way (gRPC):
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::server::{GuardLayer, Limits};
/// use http_body_util::BodyExt;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// let mut limits = Limits::default();
/// limits.request_timeout = Duration::from_millis(50);
/// let guard = GuardLayer::new(&limits).only("/tencent/chat/webhook");
/// // A service that never answers.
/// let app = guard.layer(service_fn(|_req: http::Request<()>| async {
///     std::future::pending::<Result<http::Response<String>, std::convert::Infallible>>().await
/// }));
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let req = http::Request::post("/tencent/chat/webhook").body(()).unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 408);
/// assert_eq!(
///     res.into_body().collect().await.unwrap().to_bytes(),
///     &br#"{"ActionStatus":"FAIL","ErrorInfo":"request timed out: not answered within 50ms","ErrorCode":408}"#[..]
/// );
/// # });
/// ```
///
/// Clones share their counts: one layer, however often it is applied, is one cap.
#[derive(Clone)]
pub struct GuardLayer {
    caps: Arc<Caps>,
    path: Option<Cow<'static, str>>,
}

struct Caps {
    in_flight: AtomicUsize,
    max_requests: usize,
    max_per_client: usize,
    timeout: Duration,
    /// The requests in flight whose client is known, which may be preempted.
    slots: Mutex<Slots>,
}

/// A request in flight whose client is known: it may be preempted for another client's.
struct Slot {
    client: Arc<Client>,
    started: Instant,
    preempted: AtomicBool,
    /// The task of the request's future, woken when it is preempted.
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    /// Whether the request was preempted; registers `cx`'s task to be woken when it is.
    fn preempted(&self, cx: &Context<'_>) -> bool {
        let mut waker = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        drop(waker);
        self.preempted.load(Ordering::Acquire)
    }

    fn preempt(&self) {
        self.preempted.store(true, Ordering::Release);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The slots in use, by index; a freed index is used again.
#[derive(Default)]
struct Slots {
    entries: Vec<Option<Arc<Slot>>>,
    free: Vec<usize>,
}

impl Slots {
    fn insert(&mut self, slot: Arc<Slot>) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.entries[i] = Some(slot);
                i
            }
            None => {
                self.entries.push(Some(slot));
                self.entries.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if let Some(entry) = self.entries.get_mut(i) {
            *entry = None;
            self.free.push(i);
        }
    }

    /// The request to preempt for a newcomer of `client`: the oldest of the client with the
    /// most requests in flight, if that client has more than `client` (the newcomer counted).
    fn victim(&self, client: &Arc<Client>) -> Option<&Arc<Slot>> {
        let mine = client.in_flight.load(Ordering::Acquire);
        self.entries
            .iter()
            .flatten()
            .filter(|s| !Arc::ptr_eq(&s.client, client) && !s.preempted.load(Ordering::Acquire))
            .map(|s| (s.client.in_flight.load(Ordering::Acquire), s))
            .filter(|(theirs, _)| *theirs > mine)
            .max_by(|(a, x), (b, y)| a.cmp(b).then(y.started.cmp(&x.started)))
            .map(|(_, s)| s)
    }
}

impl GuardLayer {
    /// A guard with `limits`' request timeout, `max_requests` and `max_requests_per_client`.
    pub fn new(limits: &Limits) -> Self {
        let limits = limits.normalised();
        GuardLayer {
            caps: Arc::new(Caps {
                in_flight: AtomicUsize::new(0),
                max_requests: limits.max_requests,
                max_per_client: limits.max_requests_per_client,
                timeout: limits.request_timeout,
                slots: Mutex::default(),
            }),
            path: None,
        }
    }

    /// Guards only requests for `path`; the others pass through untouched.
    pub fn only(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.path = Some(path.into());
        self
    }
}

impl fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("in_flight", &self.caps.in_flight.load(Ordering::Relaxed))
            .field("max_requests", &self.caps.max_requests)
            .field("max_requests_per_client", &self.caps.max_per_client)
            .field("request_timeout", &self.caps.timeout)
            .field("path", &self.path)
            .finish()
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`GuardLayer`] makes.
#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    layer: GuardLayer,
}

impl<S> Guard<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Marks the responses a [`Guard`] gave itself (408, 429, 503), so that the server counts
/// them as refused.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shed;

/// A request counted in flight, until dropped.
struct Ticket {
    caps: Arc<Caps>,
    client: Option<Arc<Client>>,
    /// Its slot (and the slot's index), when its client is known.
    slot: Option<(usize, Arc<Slot>)>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some((i, _)) = self.slot {
            self.caps.slots().remove(i);
        }
        self.caps.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(client) = &self.client {
            client.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Which cap refused a request.
#[derive(Clone, Copy, Debug)]
enum Full {
    /// The client's, of this many.
    Client(usize),
    /// The server's, of this many.
    Server(usize),
}

impl Full {
    fn response(self) -> Response<ReplyBody> {
        match self {
            Full::Client(max) => refusal(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many requests in flight from this client: the limit is {max}; try again"
                ),
            ),
            Full::Server(max) => refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "server busy: the limit of requests in flight ({max}) is reached; try again"
                ),
            ),
        }
    }
}

/// The answer to a request preempted for another client's.
fn preempted(close: bool) -> Response<ReplyBody> {
    let mut res = refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "server busy: this request made room for a client with fewer requests in flight; try again"
            .to_owned(),
    );
    if close {
        // Its body may be half read: this connection cannot carry another request.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

impl Caps {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Consistent after every statement that can panic (none should).
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request in, preempting another client's when the server is full, or says
    /// which cap is full.
    fn admit(self: &Arc<Self>, client: Option<Arc<Client>>) -> Result<Ticket, Full> {
        if let Some(c) = &client
            && c.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_per_client
        {
            c.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(Full::Client(self.max_per_client));
        }
        // From here on the ticket gives back what was taken, even if refused below.
        let mut ticket = Ticket {
            caps: self.clone(),
            client,
            slot: None,
        };
        let full = self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_requests;
        let Some(client) = ticket.client.clone() else {
            return if full {
                Err(Full::Server(self.max_requests))
            } else {
                Ok(ticket)
            };
        };
        let mut slots = self.slots();
        if full {
            // The preempted request gives its place back once its future has answered: until
            // then one more than the cap is in flight.
            let Some(victim) = slots.victim(&client) else {
                drop(slots);
                return Err(Full::Server(self.max_requests));
            };
            victim.preempt();
        }
        let slot = Arc::new(Slot {
            client,
            started: Instant::now(),
            preempted: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        ticket.slot = Some((slots.insert(slot.clone()), slot));
        Ok(ticket)
    }
}

/// A reply of the guard's own, in the crate's error shape.
fn refusal(status: StatusCode, info: String) -> Response<ReplyBody> {
    let mut res = json_response(status, &Reply::fail(u32::from(status.as_u16()), info));
    res.extensions_mut().insert(Shed);
    res
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<WebhookResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Some(path) = &self.layer.path
            && req.uri().path() != path
        {
            return GuardFuture::new(State::Passthrough {
                inner: self.inner.call(req),
            });
        }
        let client = req
            .extensions()
            .get::<ConnectionInfo>()
            .and_then(|info| info.client.clone());
        let state = match self.layer.caps.admit(client) {
            Ok(ticket) => State::Limited {
                close_on_timeout: req.version() < Version::HTTP_2,
                inner: tokio::time::timeout(self.layer.caps.timeout, self.inner.call(req)),
                timeout: self.layer.caps.timeout,
                ticket,
            },
            Err(full) => State::Refused {
                response: Some(full.response()),
            },
        };
        GuardFuture::new(state)
    }
}

pin_project! {
    /// The future of a [`Guard`]ed request.
    pub struct GuardFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Passthrough { #[pin] inner: F },
        Limited {
            #[pin]
            inner: tokio::time::Timeout<F>,
            timeout: Duration,
            close_on_timeout: bool,
            ticket: Ticket,
        },
        Refused { response: Option<Response<ReplyBody>> },
    }
}

impl<F> GuardFuture<F> {
    fn new(state: State<F>) -> Self {
        GuardFuture { state }
    }
}

impl<F> fmt::Debug for GuardFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Passthrough { .. } => "passthrough",
            State::Limited { .. } => "limited",
            State::Refused { .. } => "refused",
        };
        f.debug_tuple("GuardFuture").field(&state).finish()
    }
}

impl<F, B, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<WebhookResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reply = |res: Response<ReplyBody>| Ok(res.map(WebhookResponseBody::reply));
        match self.project().state.project() {
            StateProj::Passthrough { inner } => Poll::Ready(
                ready!(inner.poll(cx)).map(|res| res.map(WebhookResponseBody::passthrough)),
            ),
            StateProj::Limited {
                inner,
                timeout,
                close_on_timeout,
                ticket,
            } => match ticket.slot.as_ref() {
                Some((_, slot)) if slot.preempted(cx) => {
                    Poll::Ready(reply(preempted(*close_on_timeout)))
                }
                _ => match ready!(inner.poll(cx)) {
                    Ok(result) => {
                        Poll::Ready(result.map(|res| res.map(WebhookResponseBody::passthrough)))
                    }
                    Err(_elapsed) => {
                        let mut res = refusal(
                            StatusCode::REQUEST_TIMEOUT,
                            format!("request timed out: not answered within {timeout:?}"),
                        );
                        if *close_on_timeout {
                            // The body may be half read: this connection cannot carry another
                            // request. (HTTP/2 has no such header; the stream just ends.)
                            res.headers_mut()
                                .insert(header::CONNECTION, HeaderValue::from_static("close"));
                        }
                        Poll::Ready(reply(res))
                    }
                },
            },
            StateProj::Refused { response } => Poll::Ready(reply(
                response
                    .take()
                    .expect("GuardFuture polled after completion"),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
