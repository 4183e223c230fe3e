//! The webhook as a tower middleware, for mounting it beside other routes: [`WebhookLayer`]
//! builds [`Webhook`], whose calls are [`ResponseFuture`]s and whose responses carry a
//! [`ResponseBody`] (the webhook's reply, or the wrapped service's body), as tower-http scopes a
//! middleware's types by module. [`WebhookLayer`] is also at the crate root.

use std::error::Error as StdError;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::service::WebhookService;
pub use crate::service::body::WebhookResponseBody as ResponseBody;
pub use crate::service::future::WebhookFuture as ResponseFuture;

/// Wraps a service so that requests to one path go to a [`WebhookService`] and every other
/// request goes to the wrapped service untouched.
///
/// This is the form for stacks that take a tower layer rather than a route, such as tonic's
/// `Server::layer`. The path is matched exactly (no trailing-slash folding), as Tencent calls the
/// URL configured in its console verbatim.
///
/// ```
/// use tencent_chat_webhook::{Handler, WebhookConfig, WebhookLayer, WebhookService};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// struct MyHandler;
/// impl Handler for MyHandler {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = WebhookConfig::builder(1400000000).token("s3cret").build().unwrap();
/// let layer = WebhookLayer::new("/tencent/chat/webhook", WebhookService::new(config, MyHandler));
///
/// let app = layer.layer(service_fn(|_req: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("inner")))
/// }));
///
/// // Other paths reach the inner service.
/// let res = app.clone().oneshot(http::Request::get("/health").body(String::new()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 200);
///
/// // The webhook path is answered by the webhook service: here, unsigned, so refused.
/// let req = http::Request::post("/tencent/chat/webhook?SdkAppid=1400000000&CallbackCommand=X")
///     .body(String::new())
///     .unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 401);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookLayer {
    path: Arc<str>,
    service: WebhookService,
}

impl WebhookService {
    /// A layer that answers webhooks at `path` with this service and passes every other request
    /// to the service it wraps.
    pub fn into_layer(self, path: impl Into<String>) -> WebhookLayer {
        WebhookLayer::new(path, self)
    }
}

impl WebhookLayer {
    /// Answers webhooks at `path` (such as `/tencent/chat/webhook`) with `service`.
    pub fn new(path: impl Into<String>, service: WebhookService) -> Self {
        WebhookLayer {
            path: Arc::from(path.into()),
            service,
        }
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = Webhook<S>;

    fn layer(&self, inner: S) -> Webhook<S> {
        Webhook {
            inner,
            path: self.path.clone(),
            service: self.service.clone(),
        }
    }
}

/// The middleware built by [`WebhookLayer`].
#[derive(Clone, Debug)]
pub struct Webhook<S> {
    inner: S,
    path: Arc<str>,
    service: WebhookService,
}

impl<S> Webhook<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, taken out of the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Webhook<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn StdError + Send + Sync>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    /// Always ready. Which service a request goes to is known only in `call`, and making the
    /// wrapped service ready here would reserve it (a concurrency limit's permit, a buffer's
    /// slot) for webhook requests, which never use it: held by a connection that only sends
    /// webhooks, that reservation would starve every other one. A request for the wrapped
    /// service makes a clone of it ready in its own future instead.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path() == &*self.path {
            ResponseFuture::webhook(self.service.call(req))
        } else {
            // Never made ready here, `inner` is not reserved: its clone is, in the future.
            ResponseFuture::passthrough(self.inner.clone(), req)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{Ready, ready};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use tower::ServiceExt;

    use super::*;
    use crate::WebhookConfig;
    use crate::handler::Recorder;

    /// A service with room for one request at a time: `poll_ready` takes the room, `call` gives
    /// it back (as tower's `ConcurrencyLimit` and `Buffer` reserve room when made ready).
    #[derive(Clone)]
    struct OneAtATime {
        free: Arc<AtomicBool>,
        reserved: bool,
    }

    impl Service<Request<String>> for OneAtATime {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = Ready<Result<Response<String>, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            if self.reserved || self.free.swap(false, Ordering::SeqCst) {
                self.reserved = true;
                return Poll::Ready(Ok(()));
            }
            Poll::Pending
        }

        fn call(&mut self, _req: Request<String>) -> Self::Future {
            assert!(self.reserved, "called without being made ready");
            self.reserved = false;
            self.free.store(true, Ordering::SeqCst);
            ready(Ok(Response::new("inner".to_owned())))
        }
    }

    /// The accessors reach the wrapped service itself, not a copy.
    #[test]
    fn the_accessors_reach_the_wrapped_service() {
        let config = WebhookConfig::builder(1).token("t").build().unwrap();
        let layer = WebhookLayer::new("/hook", WebhookService::new(config, Recorder::default()));
        let mut webhook = layer.layer(vec![1]);
        webhook.get_mut().push(2);
        assert_eq!(webhook.get_ref(), &[1, 2]);
        assert_eq!(webhook.into_inner(), vec![1, 2]);
    }

    /// One connection sends only webhooks, another other requests: the first must not keep
    /// the wrapped service's room for itself.
    #[tokio::test(start_paused = true)]
    async fn webhook_requests_do_not_reserve_the_wrapped_service() {
        let config = WebhookConfig::builder(1).token("t").build().unwrap();
        let layer = WebhookLayer::new("/hook", WebhookService::new(config, Recorder::default()));
        let inner = OneAtATime {
            free: Arc::new(AtomicBool::new(true)),
            reserved: false,
        };
        let mut webhooks = layer.layer(inner.clone());
        let mut others = layer.layer(inner);
        let get = |path: &str| Request::get(path).body(String::new()).unwrap();
        for _ in 0..3 {
            let ready = webhooks.ready().await.unwrap();
            // Unsigned: refused, by the webhook service.
            assert_eq!(ready.call(get("/hook")).await.unwrap().status(), 405);
        }
        for service in [&mut others, &mut webhooks] {
            let res = tokio::time::timeout(Duration::from_secs(5), async {
                service.ready().await.unwrap().call(get("/health")).await
            })
            .await
            .expect("the wrapped service was kept reserved by webhook requests")
            .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
}
