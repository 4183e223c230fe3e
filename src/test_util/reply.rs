//! Responses read back as typed replies.

use std::fmt;
use std::future::poll_fn;
use std::pin::pin;

use bytes::Buf;
use http::{Response, StatusCode};
use http_body::Body;

use crate::protocol::reply::Reply;
use crate::service::ResponseBody;

/// The most [`read_reply`] reads: a reply is a few hundred bytes, a rewritten message a few
/// kilobytes; a body past this is not a webhook reply.
const REPLY_LIMIT: usize = 1 << 20;

/// The status and the reply of a response from [`WebhookService`](crate::WebhookService), read
/// at once: its body is one buffer. The response is only borrowed, so its headers can be
/// checked too. For any other body (a router's, a layer's, an HTTP client's), see
/// [`read_reply`].
///
/// ```
/// use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
/// use tencent_chat_webhook::{Command, Handler, WebhookConfig, WebhookService};
/// use tower::ServiceExt;
///
/// struct MyHandler;
/// impl Handler for MyHandler {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = WebhookConfig::builder(DEMO_APP_ID).token(DEMO_TOKEN).build().unwrap();
/// let service = WebhookService::new(config, MyHandler);
///
/// let request = SignedRequest::sample(Command::GroupAfterFull).token("wrong").build();
/// let response = service.oneshot(request).await.unwrap();
/// let (status, reply) = test_util::reply_of(&response);
/// assert_eq!(status, 401);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert!(reply.error_info().contains("signature"), "{}", reply.error_info());
/// # }
/// ```
///
/// # Panics
///
/// If the body is not a reply's JSON (which the service never answers with), or was already
/// read.
pub fn reply_of(response: &Response<ResponseBody>) -> (StatusCode, Reply) {
    parse(response.status(), response.body().as_bytes())
}

/// The status and the reply of a response with any body, read to its end (1 MiB at most): the
/// webhook mounted in an axum `Router` (`axum::body::Body`), wrapped in layers, or answered over
/// the network (`hyper::body::Incoming`). Trailers are ignored.
///
/// ```
/// use axum::Router;
/// use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
/// use tencent_chat_webhook::{Handler, WebhookConfig, WebhookService, group};
/// use tower::ServiceExt;
///
/// struct MyHandler;
/// impl Handler for MyHandler {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = WebhookConfig::builder(DEMO_APP_ID).token(DEMO_TOKEN).build().unwrap();
/// let app = Router::new().route_service("/im", WebhookService::new(config, MyHandler));
///
/// let full: group::AfterFull = test_util::typed_sample();
/// let response = app.oneshot(SignedRequest::of(&full).path("/im").build()).await.unwrap();
/// let (status, reply) = test_util::read_reply(response).await;
/// assert_eq!((status.as_u16(), reply.error_code()), (200, 0));
/// # }
/// ```
///
/// # Panics
///
/// If the body fails, is longer than 1 MiB, or is not a reply's JSON (a router's own 404 or
/// 405 answers an empty body, for instance).
pub async fn read_reply<B>(response: Response<B>) -> (StatusCode, Reply)
where
    B: Body,
    B::Error: fmt::Display,
{
    let (parts, body) = response.into_parts();
    match collect(body, REPLY_LIMIT).await {
        Ok(bytes) => parse(parts.status, &bytes),
        Err(e) => panic!(
            "cannot read the reply ({} {}): {e}",
            parts.status,
            parts.status.canonical_reason().unwrap_or("")
        ),
    }
}

/// Why a body was not read whole.
enum ReadError<E> {
    Body(E),
    TooLong,
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Body(e) => write!(f, "the body failed: {e}"),
            ReadError::TooLong => write!(f, "the body is longer than {REPLY_LIMIT} bytes"),
        }
    }
}

/// The data of `body`, up to `limit` bytes; a longer body is an error, found before its excess
/// is buffered.
async fn collect<B: Body>(body: B, limit: usize) -> Result<Vec<u8>, ReadError<B::Error>> {
    let mut body = pin!(body);
    if body.size_hint().lower() > limit as u64 {
        return Err(ReadError::TooLong);
    }
    let mut out = Vec::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(mut data) = frame.map_err(ReadError::Body)?.into_data() else {
            continue;
        };
        if data.remaining() > limit - out.len() {
            return Err(ReadError::TooLong);
        }
        while data.has_remaining() {
            let chunk = data.chunk();
            out.extend_from_slice(chunk);
            let read = chunk.len();
            data.advance(read);
        }
    }
    Ok(out)
}

/// The reply in `body`; a body that is not one is shown in the panic message, up to `SHOWN`
/// bytes.
fn parse(status: StatusCode, body: &[u8]) -> (StatusCode, Reply) {
    const SHOWN: usize = 1024;
    match Reply::from_json(body) {
        Ok(reply) => (status, reply),
        Err(e) => {
            let shown = String::from_utf8_lossy(&body[..body.len().min(SHOWN)]).into_owned();
            panic!(
                "the {status} response's body is not a webhook reply ({e}): {}",
                crate::protocol::parse::truncated(shown, SHOWN)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Frame, SizeHint};

    use super::*;

    /// A body that sends these frames, one per poll, after a pending poll each, then ends.
    struct Frames {
        frames: VecDeque<Result<Frame<Bytes>, &'static str>>,
        pending: bool,
        hint: SizeHint,
    }

    impl Frames {
        fn data(chunks: &[&'static str]) -> Self {
            let frames = chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))));
            Frames {
                frames: frames.collect(),
                pending: false,
                hint: SizeHint::default(),
            }
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
            self.pending = !self.pending;
            if self.pending {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(self.frames.pop_front())
        }

        fn size_hint(&self) -> SizeHint {
            self.hint
        }
    }

    /// The reply of a 404 response with this body, or the message `read_reply` panicked with.
    async fn read(body: Frames) -> Result<(StatusCode, Reply), String> {
        let response = Response::builder().status(404).body(body).unwrap();
        tokio::spawn(read_reply(response)).await.map_err(|e| {
            let panic = e.into_panic();
            panic.downcast_ref::<String>().cloned().unwrap_or_default()
        })
    }

    #[tokio::test]
    async fn a_reply_in_pieces_and_trailers_is_read_whole() {
        let mut body = Frames::data(&[
            r#"{"ActionStatus":"FAIL","#,
            r#""ErrorCode":404,"#,
            r#""ErrorInfo":"no"}"#,
        ]);
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-check", http::HeaderValue::from_static("1"));
        body.frames.insert(1, Ok(Frame::trailers(trailers)));
        let (status, reply) = read(body).await.unwrap();
        assert_eq!(status, 404);
        assert_eq!((reply.error_code(), reply.error_info()), (404, "no"));
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_refused() {
        let piece: &'static str = "x".repeat(REPLY_LIMIT / 2 + 1).leak();
        let err = read(Frames::data(&[piece, piece])).await.unwrap_err();
        assert!(err.contains("longer than 1048576 bytes"), "{err}");

        // A body announcing more than the limit is refused before it is polled.
        let mut announced = Frames::data(&[]);
        announced.frames.push_back(Err("polled"));
        announced.hint = SizeHint::with_exact(REPLY_LIMIT as u64 + 1);
        let err = read(announced).await.unwrap_err();
        assert!(err.contains("longer than"), "{err}");

        // Exactly the limit is read (and is not a reply).
        let exact: &'static str = "x".repeat(REPLY_LIMIT).leak();
        let err = read(Frames::data(&[exact])).await.unwrap_err();
        assert!(err.contains("not a webhook reply"), "{err}");
    }

    #[tokio::test]
    async fn a_failing_or_empty_body_says_why() {
        let mut failing = Frames::data(&["{"]);
        failing.frames.push_back(Err("connection reset"));
        let err = read(failing).await.unwrap_err();
        assert!(err.contains("the body failed: connection reset"), "{err}");
        assert!(err.contains("404 Not Found"), "{err}");

        let err = read(Frames::data(&[])).await.unwrap_err();
        assert!(
            err.contains("the 404 Not Found response's body is not a webhook reply"),
            "{err}"
        );
    }
}
