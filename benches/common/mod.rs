//! What the benchmarks share: the moderation handler, the service they measure, the commands, and
//! a poll loop for futures that never wait.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use http_body::Body;
use tencent_chat_webhook::message::MessageEvent;
use tencent_chat_webhook::test_util::SignedRequest;
use tencent_chat_webhook::{
    Command, CustomCode, Handler, HandlerResult, RequestContext, SendDecision, WebhookConfig,
    WebhookConfigBuilder, WebhookService, c2c, group, official_account,
};
use tower::Service;

/// A realistic moderation: looks at every text element, then allows.
fn moderate<C: CustomCode>(msg: &impl MessageEvent) -> SendDecision<C> {
    if msg.texts().any(|t| t.contains("spam")) {
        SendDecision::Drop
    } else {
        SendDecision::Allow
    }
}

/// The handler every benchmark uses: the three before-send hooks moderate, the rest default.
pub(crate) struct Moderation;

impl Handler for Moderation {
    async fn on_official_account_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: official_account::BeforeSendMsg,
    ) -> HandlerResult<official_account::SendMsgDecision> {
        Ok(moderate(&msg))
    }

    async fn on_c2c_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        Ok(moderate(&msg))
    }

    async fn on_group_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Ok(moderate(&msg))
    }
}

/// The fixed "now" of every benchmark, so that a signature made once stays fresh.
pub(crate) const NOW: u64 = 1_700_000_000;

/// The app the benchmarks configure.
pub(crate) const APP: u64 = 1_400_000_000;

/// The token the benchmarks sign with.
pub(crate) const TOKEN: &str = "bench-token";

/// The before-send webhook of each message family, by name.
pub(crate) const COMMANDS: [(&str, Command); 3] = [
    ("official_account", Command::OfficialAccountBeforeSendMsg),
    ("c2c", Command::C2cBeforeSendMsg),
    ("group", Command::GroupBeforeSendMsg),
];

/// The benchmarks' configuration, with the fixed clock.
pub(crate) fn config() -> WebhookConfigBuilder {
    WebhookConfig::builder(APP)
        .token(TOKEN)
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
}

/// The service with the moderation handler and the default configuration.
pub(crate) fn service() -> WebhookService {
    WebhookService::new(config().build().expect("config"), Moderation)
}

/// The signed sample request of `command`, fresh at [`NOW`].
pub(crate) fn request(command: Command) -> SignedRequest {
    SignedRequest::sample(command)
        .token(TOKEN)
        .request_time(NOW)
}

/// Polls a future that completes without waiting on I/O (no runtime involved).
pub(crate) fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// One request through the whole service, its reply body read: the unit every benchmark counts.
pub(crate) fn exchange<B>(
    service: &mut WebhookService,
    req: http::Request<B>,
) -> (u16, bytes::Bytes)
where
    B: Body<Data = bytes::Bytes, Error = std::convert::Infallible> + Send + 'static,
{
    let res = run(service.call(req)).expect("infallible");
    let status = res.status().as_u16();
    let mut body = pin!(res.into_body());
    let frame = run(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)));
    let data = frame
        .and_then(|f| f.ok())
        .and_then(|f| f.into_data().ok())
        .unwrap_or_default();
    (status, data)
}
