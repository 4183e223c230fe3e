//! Stage 2 of the pipeline: the body, read whole, up to the limit and within the deadline.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use http::header;
use http_body::Body;
use pin_project_lite::pin_project;

use super::deadline::{Deadline, Race};
use crate::rejection::{Rejection, RejectionKind};

/// Reads the body, refused with 413 as soon as it passes `limit`, racing the deadline: `None`
/// when it has not all arrived by then (a client trickling bytes; see [`timed_out`]).
pub(super) fn read<B>(body: B, limit: usize, deadline: Option<&Deadline>) -> Race<ReadBody<B>>
where
    B: Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let reading = ReadBody {
        body,
        limit,
        total: 0,
        first: None,
        joined: None,
    };
    Deadline::race(deadline, reading)
}

/// The answer to a body that did not arrive within the deadline: 408.
pub(super) fn timed_out() -> Rejection {
    Rejection::new(
        RejectionKind::BodyTimeout,
        "the body did not arrive within the deadline",
    )
}

fn too_large(limit: usize) -> Rejection {
    Rejection::new(
        RejectionKind::BodyTooLarge,
        format_args!("body is larger than the limit of {limit} bytes"),
    )
}

/// Refuses a body whose declared length is over the limit, before reading a byte of it.
pub(super) fn check_declared_length<B: Body>(
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

pin_project! {
    /// Reads the whole body, stopping with 413 as soon as it passes the limit. A body that
    /// arrives in one frame (the usual case) is kept as is, without copying. Written out rather
    /// than an `async fn`, whose future would keep the body twice, since it is part of every
    /// request's future.
    pub(super) struct ReadBody<B> {
        #[pin]
        body: B,
        limit: usize,
        total: usize,
        first: Option<Bytes>,
        joined: Option<BytesMut>,
    }
}

impl<B> Future for ReadBody<B>
where
    B: Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Output = Result<Bytes, Rejection>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        while let Some(frame) = ready!(this.body.as_mut().poll_frame(cx)) {
            let frame = frame.map_err(|e| {
                let e: Box<dyn StdError + Send + Sync> = e.into();
                #[cfg(feature = "tracing")]
                tracing::debug!(error = %e, "webhook body could not be read");
                let _ = e;
                Rejection::new(RejectionKind::UnreadableBody, "body could not be read")
            })?;
            // Trailers carry nothing Tencent sends; they are skipped.
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            *this.total = this.total.saturating_add(data.remaining());
            if *this.total > *this.limit {
                return Poll::Ready(Err(too_large(*this.limit)));
            }
            let chunk = data.copy_to_bytes(data.remaining());
            match (&mut *this.first, &mut *this.joined) {
                (None, None) => *this.first = Some(chunk),
                (Some(_), None) => {
                    let mut buf = BytesMut::with_capacity(*this.total);
                    buf.extend_from_slice(&this.first.take().unwrap_or_default());
                    buf.extend_from_slice(&chunk);
                    *this.joined = Some(buf);
                }
                (_, Some(buf)) => buf.extend_from_slice(&chunk),
            }
        }
        Poll::Ready(Ok(match this.joined.take() {
            Some(buf) => buf.freeze(),
            None => this.first.take().unwrap_or_default(),
        }))
    }
}
