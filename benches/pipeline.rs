//! One signed `OfficialAccount.CallbackBeforeSendMsg` through the whole service (authenticate,
//! read, parse, dispatch, serialise the reply) against an untyped `serde_json::Value` parse of
//! the same body, measured in the same run. Target: pipeline / untyped <= 1.0.
//!
//! ```sh
//! cargo bench --bench pipeline
//! ```
//!
//! The ratio of the two means is printed at the end.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use criterion::{BatchSize, Criterion};
use http_body::Body;
use tencent_chat_webhook::official_account::{BeforeSendMsg, SendMsgDecision};
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{
    Command, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService,
};
use tower::Service;

/// A realistic handler: looks at every text element, then allows.
struct Moderation;

impl Handler for Moderation {
    async fn on_official_account_before_send_msg(
        &self,
        _ctx: &RequestContext,
        msg: BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        Ok(if msg.texts().any(|t| t.contains("spam")) {
            SendMsgDecision::Drop
        } else {
            SendMsgDecision::Allow
        })
    }
}

/// Polls a future that completes without waiting on I/O (no runtime involved).
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

const NOW: u64 = 1_700_000_000;

fn main() {
    let body = test_util::sample(Command::OfficialAccountBeforeSendMsg);
    let config = WebhookConfig::builder(1_400_000_000)
        .token("bench-token")
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
        .build()
        .expect("config");
    let mut service = WebhookService::new(config, Moderation);
    let request = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg)
        .token("bench-token")
        .request_time(NOW);

    // Sanity: the pipeline really answers 200 with the allow reply.
    let res = run(service.call(request.build())).expect("infallible");
    assert_eq!(res.status(), 200);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("pipeline");
    group.bench_function("untyped_value_parse", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).unwrap())
    });
    // For reference: the typed parse alone, which the whole pipeline contains.
    group.bench_function("typed_parse_only", |b| {
        b.iter(|| serde_json::from_slice::<BeforeSendMsg>(black_box(body.as_bytes())).unwrap())
    });
    group.bench_function("whole_service", |b| {
        b.iter_batched(
            || request.build(),
            |req| {
                let res = run(service.call(req)).expect("infallible");
                let mut body = pin!(res.into_body());
                let frame = run(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)));
                black_box(frame)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    c.final_summary();

    report_ratio();
}

/// Reads criterion's estimates for both benchmarks and prints their ratio.
fn report_ratio() {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let mean = |name: &str| -> Option<f64> {
        let path = format!("{dir}/criterion/pipeline/{name}/new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    let Some(baseline) = mean("untyped_value_parse") else {
        println!("ratio: estimates not found under {dir}/criterion (run without --test)");
        return;
    };
    for name in ["whole_service", "typed_parse_only"] {
        if let Some(t) = mean(name) {
            println!(
                "ratio {name} / untyped_value_parse = {:.3} ({t:.0} ns / {baseline:.0} ns)",
                t / baseline
            );
        }
    }
}
