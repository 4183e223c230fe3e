//! Response bodies.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::observe::Outcome;

/// The body of a webhook reply: one JSON buffer, and the [`Outcome`] of a handled request.
pub struct ReplyBody {
    data: Option<Bytes>,
    outcome: Option<Outcome>,
}

impl ReplyBody {
    pub(crate) fn new(data: Bytes) -> Self {
        ReplyBody {
            data: Some(data),
            outcome: None,
        }
    }

    pub(crate) fn set_outcome(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    /// What the service answered, for a request it handled (HTTP 200 with a reply); `None` for
    /// a rejection or a failure's 500. Kept after the bytes are read.
    ///
    /// ```
    /// # use tencent_chat_webhook::{Answered, Command, Handler, WebhookConfig, WebhookService};
    /// # use tencent_chat_webhook::test_util::{self, SignedRequest};
    /// # use tower::ServiceExt;
    /// # struct Quiet;
    /// # impl Handler for Quiet {}
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let config = WebhookConfig::builder(test_util::DEMO_APP_ID)
    ///     .token(test_util::DEMO_TOKEN)
    ///     .build()
    ///     .unwrap();
    /// let service = WebhookService::new(config, Quiet);
    /// let command = Command::from_wire("C2C.CallbackBeforeSendMsg").unwrap();
    /// let request = SignedRequest::sample(command).build();
    /// let res = service.oneshot(request).await.unwrap();
    /// let outcome = res.body().outcome().expect("handled");
    /// assert_eq!(outcome.command(), "C2C.CallbackBeforeSendMsg");
    /// assert_eq!(outcome.answered(), Answered::Allow);
    /// # }
    /// ```
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The JSON bytes not yet read (all of them, before the body is polled).
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or_default()
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

impl fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("service::ResponseBody")
            .field("len", &self.data.as_ref().map_or(0, Bytes::len))
            .finish()
    }
}

pin_project! {
    /// The body of a [`Webhook`](crate::layer::Webhook) middleware's response: a webhook reply, or
    /// the inner service's body untouched.
    pub struct WebhookResponseBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Reply { body: ReplyBody },
        Passthrough { #[pin] body: B },
    }
}

impl<B> WebhookResponseBody<B> {
    /// The [`Outcome`] of a webhook request the service handled ([`ReplyBody::outcome`]);
    /// `None` for the inner service's responses, rejections and failures.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.inner {
            Inner::Reply { body } => body.outcome(),
            Inner::Passthrough { .. } => None,
        }
    }

    pub(crate) fn reply(body: ReplyBody) -> Self {
        WebhookResponseBody {
            inner: Inner::Reply { body },
        }
    }

    pub(crate) fn passthrough(body: B) -> Self {
        WebhookResponseBody {
            inner: Inner::Passthrough { body },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for WebhookResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().inner.project() {
            InnerProj::Reply { body } => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|never| match never {}))),
            InnerProj::Passthrough { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Reply { body } => body.is_end_stream(),
            Inner::Passthrough { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Reply { body } => body.size_hint(),
            Inner::Passthrough { body } => body.size_hint(),
        }
    }
}

impl<B> fmt::Debug for WebhookResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Reply { body } => f
                .debug_tuple("layer::ResponseBody::Reply")
                .field(body)
                .finish(),
            Inner::Passthrough { .. } => f.write_str("layer::ResponseBody::Passthrough"),
        }
    }
}
