//! Response futures.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::{ReplyBody, WebhookResponseBody};
use crate::handler::BoxFuture;

/// The future of a [`WebhookService`](crate::WebhookService) call.
///
/// A request refused from its URL alone (method, app id, signature, declared length) is answered
/// without allocating; only authenticated requests get a boxed future that reads the body and
/// runs the handler.
pub struct ResponseFuture {
    state: State,
}

enum State {
    Ready(Option<Response<ReplyBody>>),
    Running(BoxFuture<'static, Response<ReplyBody>>),
}

impl ResponseFuture {
    pub(crate) fn ready(res: Response<ReplyBody>) -> Self {
        ResponseFuture {
            state: State::Ready(Some(res)),
        }
    }

    pub(crate) fn running(fut: BoxFuture<'static, Response<ReplyBody>>) -> Self {
        ResponseFuture {
            state: State::Running(fut),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ReplyBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            // Polling again after completion is a contract breach by the caller; answering
            // Pending (rather than panicking) keeps a bad caller from crashing the server.
            State::Ready(res) => res.take().map_or(Poll::Pending, |r| Poll::Ready(Ok(r))),
            State::Running(fut) => fut.as_mut().poll(cx).map(Ok),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            State::Ready(_) => "ResponseFuture::Ready",
            State::Running(_) => "ResponseFuture::Running",
        })
    }
}

pin_project! {
    /// The future of a [`Webhook`](crate::layer::Webhook) middleware call: the webhook service's
    /// answer, or the wrapped service's, made ready first (the middleware does not reserve the
    /// wrapped service in its own `poll_ready`, since a webhook request never uses it).
    pub struct WebhookFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        inner: Inner<S, B>,
    }
}

pin_project! {
    #[project = InnerProj]
    #[project_replace = InnerReplace]
    enum Inner<S, B>
    where
        S: Service<Request<B>>,
    {
        Webhook { fut: ResponseFuture },
        // The wrapped service, being made ready for the request.
        Ready { service: S, req: Request<B> },
        Called { #[pin] fut: S::Future },
        Taken,
    }
}

impl<S, B> WebhookFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn webhook(fut: ResponseFuture) -> Self {
        WebhookFuture {
            inner: Inner::Webhook { fut },
        }
    }

    /// `req` for `service`, which is made ready before it is called.
    pub(crate) fn passthrough(service: S, req: Request<B>) -> Self {
        WebhookFuture {
            inner: Inner::Ready { service, req },
        }
    }
}

impl<S, B, ResBody> Future for WebhookFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<WebhookResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        loop {
            match inner.as_mut().project() {
                InnerProj::Webhook { fut } => {
                    return Pin::new(fut).poll(cx).map(|r| match r {
                        Ok(res) => Ok(res.map(WebhookResponseBody::reply)),
                        Err(never) => match never {},
                    });
                }
                InnerProj::Ready { service, .. } => ready!(service.poll_ready(cx))?,
                InnerProj::Called { fut } => {
                    return fut
                        .poll(cx)
                        .map(|r| r.map(|res| res.map(WebhookResponseBody::passthrough)));
                }
                // Polled again after an error: against the contract; nothing to give.
                InnerProj::Taken => return Poll::Pending,
            }
            // Ready: called, and its future polled on the next turn of the loop.
            if let InnerReplace::Ready { mut service, req } =
                inner.as_mut().project_replace(Inner::Taken)
            {
                let fut = service.call(req);
                inner.set(Inner::Called { fut });
            }
        }
    }
}

impl<S, B> fmt::Debug for WebhookFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Webhook { fut } => f
                .debug_tuple("layer::ResponseFuture::Webhook")
                .field(fut)
                .finish(),
            Inner::Ready { .. } => f.write_str("layer::ResponseFuture::Ready"),
            Inner::Called { .. } => f.write_str("layer::ResponseFuture::Passthrough"),
            Inner::Taken => f.write_str("layer::ResponseFuture::Taken"),
        }
    }
}
