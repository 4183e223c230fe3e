//! Mounting the webhook beside other routes.

use std::error::Error as StdError;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::WebhookResponseBody;
use super::future::WebhookFuture;
use super::leaf::WebhookService;

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
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Webhook<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn StdError + Send + Sync>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<WebhookResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = WebhookFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // The path is unknown until `call`, so readiness is the inner service's; the webhook
        // service itself is always ready.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path() == &*self.path {
            WebhookFuture::webhook(self.service.call(req))
        } else {
            WebhookFuture::passthrough(self.inner.call(req))
        }
    }
}
