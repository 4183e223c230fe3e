use super::*;
use crate::server::registry::Registry;
use http_body::Body;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A service that answers when `gate` is opened, with an empty 200.
#[derive(Clone)]
struct Held(Arc<tokio::sync::Semaphore>);

impl Service<Request<()>> for Held {
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ReplyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        let gate = self.0.clone();
        Box::pin(async move {
            let _ = gate.acquire().await.unwrap();
            Ok(Response::new(ReplyBody::new(bytes::Bytes::from_static(
                b"ok",
            ))))
        })
    }
}

fn from(registry: &Registry, last: u8) -> Request<()> {
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
    let (conn, _) = registry.admit(ip).unwrap();
    let mut req = Request::new(());
    req.extensions_mut().insert(ConnectionInfo::with_client(
        SocketAddr::new(ip, 1000),
        SocketAddr::from(([127, 0, 0, 1], 80)),
        Some(conn.client.clone()),
    ));
    req
}

async fn answer(
    future: GuardFuture<<Held as Service<Request<()>>>::Future>,
) -> (StatusCode, String, bool) {
    let res = future.await.unwrap();
    let status = res.status();
    let shed = res.extensions().get::<Shed>().is_some();
    let mut body = std::pin::pin!(res.into_body());
    let mut text = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        text.extend_from_slice(frame.unwrap().data_ref().unwrap());
    }
    (status, String::from_utf8(text).unwrap(), shed)
}

#[tokio::test(start_paused = true)]
async fn the_caps_refuse_in_json_and_give_back_their_counts() {
    let limits = Limits {
        max_requests: 3,
        max_requests_per_client: 2,
        request_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let registry = Registry::new(100, 100);
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut guard = GuardLayer::new(&limits).layer(Held(gate.clone()));

    let a1 = tokio::spawn(answer(guard.call(from(&registry, 1))));
    let a2 = tokio::spawn(answer(guard.call(from(&registry, 1))));
    let (status, body, shed) = answer(guard.call(from(&registry, 1))).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        r#"{"ActionStatus":"FAIL","ErrorInfo":"too many requests in flight from this client: the limit is 2; try again","ErrorCode":429}"#
    );
    assert!(shed);

    let b1 = tokio::spawn(answer(guard.call(from(&registry, 2))));
    tokio::task::yield_now().await;
    // Full (3): a request of client 3 makes room by preempting the oldest request of the
    // client with the most in flight (client 1: 2, more than client 3's 1).
    let c1 = tokio::spawn(answer(guard.call(from(&registry, 3))));
    let (status, body, shed) = a1.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("made room for a client with fewer requests"),
        "{body}"
    );
    assert!(shed);
    // Now each client has one in flight: no client has more than a newcomer, who is
    // refused at once.
    let (status, body, _) = answer(guard.call(from(&registry, 4))).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("server busy: the limit of requests in flight (3)"));

    // Without a ConnectionInfo (another server), only the global cap applies.
    let (status, _, _) = answer(guard.call(Request::new(()))).await;
    assert_eq!(status, 503);

    gate.add_permits(3);
    for task in [a2, b1, c1] {
        let (status, body, shed) = task.await.unwrap();
        assert_eq!((status, body.as_str(), shed), (StatusCode::OK, "ok", false));
    }
    // Every count was given back, refusals included: a client may have two again.
    assert_eq!(guard.layer.caps.in_flight.load(Ordering::Acquire), 0);
    let d1 = tokio::spawn(answer(guard.call(from(&registry, 1))));
    let d2 = tokio::spawn(answer(guard.call(from(&registry, 1))));
    gate.add_permits(2);
    for task in [d1, d2] {
        assert_eq!(task.await.unwrap().0, 200);
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_is_a_json_408_that_closes_an_http1_connection() {
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut guard = GuardLayer::new(&limits).layer(Held(gate));
    for (version, close) in [(Version::HTTP_11, true), (Version::HTTP_2, false)] {
        let mut req = Request::new(());
        *req.version_mut() = version;
        let res = guard.call(req).await.unwrap();
        assert_eq!(res.status(), 408);
        assert_eq!(
            res.headers().get(header::CONNECTION).is_some(),
            close,
            "{version:?}"
        );
        assert_eq!(
            reply_of(res.into_body()).as_bytes(),
            br#"{"ActionStatus":"FAIL","ErrorInfo":"request timed out: not answered within 300ms","ErrorCode":408}"#
        );
    }
    assert_eq!(guard.layer.caps.in_flight.load(Ordering::Acquire), 0);
}

/// The reply inside a guard's body (the guard's own refusals are all replies).
fn reply_of(body: WebhookResponseBody<ReplyBody>) -> ReplyBody {
    let mut body = std::pin::pin!(body);
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    match body.as_mut().poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => ReplyBody::new(frame.into_data().unwrap()),
        other => panic!("not a reply: {other:?}"),
    }
}

#[tokio::test]
async fn other_paths_pass_through_uncounted() {
    let limits = Limits {
        max_requests: 1,
        ..Limits::default()
    };
    let gate = Arc::new(tokio::sync::Semaphore::new(10));
    let mut guard = GuardLayer::new(&limits).only("/hook").layer(Held(gate));
    let held = guard.layer.caps.clone();
    held.in_flight.store(1, Ordering::Release); // the cap is reached
    let mut req = Request::new(());
    *req.uri_mut() = "/health".parse().unwrap();
    assert_eq!(guard.call(req).await.unwrap().status(), 200);
    let mut req = Request::new(());
    *req.uri_mut() = "/hook".parse().unwrap();
    assert_eq!(guard.call(req).await.unwrap().status(), 503);
}
