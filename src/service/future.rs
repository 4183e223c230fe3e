//! Response futures.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

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
    /// The future of a [`Webhook`](crate::Webhook) middleware call.
    pub struct WebhookFuture<F> {
        #[pin]
        inner: Inner<F>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Webhook { fut: ResponseFuture },
        Passthrough { #[pin] fut: F },
    }
}

impl<F> WebhookFuture<F> {
    pub(crate) fn webhook(fut: ResponseFuture) -> Self {
        WebhookFuture {
            inner: Inner::Webhook { fut },
        }
    }

    pub(crate) fn passthrough(fut: F) -> Self {
        WebhookFuture {
            inner: Inner::Passthrough { fut },
        }
    }
}

impl<F, B, E> Future for WebhookFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<WebhookResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            InnerProj::Webhook { fut } => Pin::new(fut).poll(cx).map(|r| match r {
                Ok(res) => Ok(res.map(WebhookResponseBody::reply)),
                Err(never) => match never {},
            }),
            InnerProj::Passthrough { fut } => fut
                .poll(cx)
                .map(|r| r.map(|res| res.map(WebhookResponseBody::passthrough))),
        }
    }
}

impl<F> fmt::Debug for WebhookFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Webhook { fut } => f.debug_tuple("WebhookFuture::Webhook").field(fut).finish(),
            Inner::Passthrough { .. } => f.write_str("WebhookFuture::Passthrough"),
        }
    }
}
