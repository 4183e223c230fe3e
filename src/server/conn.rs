//! One connection: what its requests learn about it ([`ConnectionInfo`]), how its responses
//! are judged (authenticated, refused, other), and the task that runs it until it ends, idles,
//! ages, is evicted or the server stops.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Request, Response, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower_service::Service;

use super::guard::Shed;
use super::registry::Conn;
use super::{App, Limits, ResBody};
use crate::connection::ConnectionInfo;
use crate::handler::HandlerFailure;
use crate::rejection::Rejection;
use crate::service::observe::Outcome;

/// What a response says about the request it answers, for the connection's keep-alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The webhook service authenticated it (an [`Outcome`] or a [`HandlerFailure`]): it
    /// renews the connection's idle timeout and protects it from eviction.
    Authentic,
    /// Refused: a [`Rejection`], a refusal of the guard's (408, 429, 503), or any other 4xx (a
    /// router's 404 or 405). The connection is closed after it.
    Refused,
    /// Anything else (another route's answer): kept alive, but renews nothing.
    Other,
}

impl Verdict {
    pub(crate) fn of<B>(res: &Response<B>) -> Self {
        let ext = res.extensions();
        if ext.get::<Outcome>().is_some() || ext.get::<HandlerFailure>().is_some() {
            Verdict::Authentic
        } else if ext.get::<Rejection>().is_some()
            || ext.get::<Shed>().is_some()
            || res.status().is_client_error()
        {
            Verdict::Refused
        } else {
            Verdict::Other
        }
    }
}

/// The per-connection service: puts the [`ConnectionInfo`] in each request, counts the
/// connection's requests in flight (until the response body is sent), and closes the connection
/// after a refused request or its last allowed one.
#[derive(Clone)]
pub(crate) struct Tracked<S> {
    pub(crate) inner: S,
    pub(crate) conn: Arc<Conn>,
    pub(crate) info: ConnectionInfo,
    pub(crate) max_requests: u64,
}

impl<S, B> Service<Request<Incoming>> for Tracked<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        let nth = self.conn.request_started();
        let http1 = req.version() < Version::HTTP_2;
        req.extensions_mut().insert(self.info.clone());
        TrackedFuture {
            inner: self.inner.call(req),
            busy: Some(Busy {
                conn: self.conn.clone(),
                authentic: false,
            }),
            http1,
            last: nth >= self.max_requests,
        }
    }
}

/// One request in flight on a connection, until dropped.
struct Busy {
    conn: Arc<Conn>,
    authentic: bool,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn.request_done(self.authentic);
    }
}

pin_project! {
    pub(crate) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        busy: Option<Busy>,
        http1: bool,
        last: bool,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // On an error the request is over: `busy` is dropped with this future.
        let mut res = ready!(this.inner.poll(cx))?;
        let mut busy = this.busy.take();
        let verdict = Verdict::of(&res);
        if let Some(busy) = &mut busy {
            busy.authentic = verdict == Verdict::Authentic;
            if verdict == Verdict::Refused || *this.last {
                if *this.http1 {
                    res.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                // HTTP/2: a GOAWAY once this response is on its way.
                busy.conn.close_when_done();
            }
        }
        Poll::Ready(Ok(res.map(|inner| TrackedBody { inner, busy })))
    }
}

pin_project! {
    /// A response body that keeps its request counted in flight until it ends.
    pub(crate) struct TrackedBody<B> {
        #[pin]
        inner: B,
        busy: Option<Busy>,
    }
}

impl<B: http_body::Body> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            *this.busy = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves HTTP on `io` with `service` until the connection ends, idles, ages, is evicted, or
/// `stopping` turns true.
pub(crate) async fn drive<IO, S, B>(
    builder: &auto::Builder<TokioExecutor>,
    io: IO,
    service: Tracked<S>,
    limits: &Limits,
    mut stopping: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: App<B>,
    B: ResBody,
{
    let conn = service.conn.clone();
    let peer = service.info.peer;
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    let mut connection = pin!(connection);
    let why = tokio::select! {
        ended = connection.as_mut() => {
            if let Err(e) = ended {
                // Includes hyper's "read header from client timeout".
                debug!(%peer, error = %e, "connection closed");
            }
            return;
        }
        evicted = conn.asked_to_close() => if evicted { "evicted" } else { "closing after a refused or last request" },
        why = conn.idle(limits) => why,
        () = tokio::time::sleep_until(conn.opened() + limits.max_connection_age) => "max connection age",
        _ = stopping.wait_for(|stop| *stop) => "shutdown",
    };
    debug!(%peer, reason = why, "closing connection");
    conn.close_when_done();
    if conn.is_evicted() && conn.in_flight() == 0 {
        // Idle: closed at once, its slot is already another connection's.
        return;
    }
    // HTTP/1: closes at once if no request is in progress, else after it; HTTP/2: GOAWAY,
    // then the streams in flight finish; during protocol sniffing: closes.
    connection.as_mut().graceful_shutdown();
    if why == "shutdown" {
        // The server's grace period bounds this.
        let _ = connection.await;
        return;
    }
    tokio::select! {
        _ = connection => {}
        () = tokio::time::sleep(limits.request_timeout) => {
            debug!(%peer, "connection did not close in time; dropped");
        }
        () = conn.evicted() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectionKind;
    use http::StatusCode;

    #[test]
    fn verdicts() {
        fn res(status: u16) -> Response<()> {
            let mut res = Response::new(());
            *res.status_mut() = StatusCode::from_u16(status).unwrap();
            res
        }
        let with = |status: u16, insert: &dyn Fn(&mut http::Extensions)| {
            let mut r = res(status);
            insert(r.extensions_mut());
            r
        };
        let outcome = Outcome {
            app_id: 1,
            command: "C2C.CallbackBeforeSendMsg".into(),
            kind: crate::CommandKind::Before,
            decision: crate::Answered::Allow,
        };
        let failure = HandlerFailure {
            command: "C2C.CallbackAfterSendMsg".to_owned(),
            kind: crate::FailureKind::Error,
            message: "down".to_owned(),
        };
        let rejection = Rejection::new(RejectionKind::InvalidSignature, "wrong Sign");
        let cases = [
            (
                "a handled webhook",
                with(200, &|e| {
                    e.insert(outcome.clone());
                }),
                Verdict::Authentic,
            ),
            (
                "a failed one",
                with(500, &|e| {
                    e.insert(failure.clone());
                }),
                Verdict::Authentic,
            ),
            (
                "a rejection",
                with(401, &|e| {
                    e.insert(rejection.clone());
                }),
                Verdict::Refused,
            ),
            (
                "the guard's 503",
                with(503, &|e| {
                    e.insert(Shed);
                }),
                Verdict::Refused,
            ),
            ("a router's 404", res(404), Verdict::Refused),
            ("a router's 405", res(405), Verdict::Refused),
            ("another route's 200", res(200), Verdict::Other),
            ("another route's 500", res(500), Verdict::Other),
        ];
        for (name, res, want) in cases {
            assert_eq!(Verdict::of(&res), want, "{name}");
        }
    }
}
