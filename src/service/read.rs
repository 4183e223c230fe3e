//! Stage 2 of the pipeline: the body, read whole up to the limit.

use std::error::Error as StdError;
use std::future::poll_fn;
use std::pin::pin;

use bytes::{Buf, Bytes, BytesMut};
use http::header;
use http_body::Body;

use crate::rejection::{Rejection, RejectionKind};

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

/// Reads the whole body, stopping with 413 as soon as it passes the limit. A body that arrives
/// in one frame (the usual case) is kept as is, without copying.
pub(super) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Rejection>
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
            #[cfg(feature = "tracing")]
            tracing::debug!(error = %e, "webhook body could not be read");
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
