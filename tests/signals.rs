//! The signals the service emits: one `tracing` span per request with its fields, warnings
//! bounded, no secret or message text ever; and the `metrics` counters and histogram.

mod common;

use common::Captured;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tencent_chat_webhook::test_util::{DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    Command, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService, group,
    signature,
};
use tower::ServiceExt;
use tracing_subscriber::fmt::format::FmtSpan;

struct Moderates;

impl Handler for Moderates {
    async fn on_group_before_send_msg(
        &self,
        _: &RequestContext,
        msg: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Ok(if msg.texts().any(|t| t.contains("packet")) {
            group::SendMsgDecision::Drop
        } else {
            group::SendMsgDecision::Allow
        })
    }
}

fn service() -> WebhookService {
    let config = WebhookConfig::builder(DEMO_APP_ID)
        .token(DEMO_TOKEN)
        .build()
        .unwrap();
    WebhookService::new(config, Moderates)
}

/// The requests both tests send: a drop, an after-event, forty forged ones, an unknown command.
async fn traffic(service: &WebhookService) -> String {
    let good = SignedRequest::sample(Command::GroupBeforeSendMsg).build();
    let forged_sign = signature::sign("guess", 1);
    let after = SignedRequest::sample(Command::GroupAfterFull).build();
    for req in [good, after] {
        assert_eq!(service.clone().oneshot(req).await.unwrap().status(), 200);
    }
    for _ in 0..40 {
        let forged = SignedRequest::sample(Command::GroupBeforeSendMsg)
            .sign(&forged_sign)
            .build();
        assert_eq!(service.clone().oneshot(forged).await.unwrap().status(), 401);
    }
    let unknown = SignedRequest::new(
        "X.CallbackAfterY",
        r#"{"CallbackCommand":"X.CallbackAfterY"}"#,
    )
    .build();
    assert_eq!(
        service.clone().oneshot(unknown).await.unwrap().status(),
        200
    );
    forged_sign
}

/// One test, so that the process-wide warning budget and metrics recorder see only this traffic.
#[tokio::test]
async fn spans_warnings_and_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let forged_sign = traffic(&service()).await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();

    let closes: Vec<&str> = log.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 43, "one span per request:\n{log}");
    let drop = closes
        .iter()
        .find(|l| {
            l.contains("command=\"Group.CallbackBeforeSendMsg\"") && l.contains("outcome=\"drop\"")
        })
        .unwrap_or_else(|| panic!("no span of the drop:\n{log}"));
    for field in [
        format!("app_id={DEMO_APP_ID}"),
        "kind=\"before\"".into(),
        "status=200".into(),
        "latency_ms=".into(),
    ] {
        assert!(drop.contains(&field), "{field} missing: {drop}");
    }
    assert!(
        closes
            .iter()
            .any(|l| l.contains("outcome=\"acknowledged\"")),
        "{log}"
    );
    assert!(
        closes
            .iter()
            .any(|l| l.contains("outcome=\"rejected\"") && l.contains("status=401")),
        "{log}"
    );

    // Forged requests are warnings, bounded: at most ten a second (two seconds at worst here).
    let warns = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("rejected"))
        .count();
    assert!((10..=20).contains(&warns), "{warns} warnings:\n{log}");

    let expected_sign = signature::sign(DEMO_TOKEN, 1);
    for secret in [
        DEMO_TOKEN,
        forged_sign.as_str(),
        expected_sign.as_str(),
        "Sign=",
        "RequestTime=",
        "red packet",
    ] {
        assert!(!log.contains(secret), "the log shows `{secret}`:\n{log}");
    }

    let mut counters = std::collections::BTreeMap::new();
    let mut histograms = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(n) => {
                counters.insert(name, n);
            }
            DebugValue::Histogram(values) => histograms += values.len(),
            DebugValue::Gauge(_) => {}
        }
    }
    let want = [
        (
            "tencent_chat_webhook_requests_total{command=Group.CallbackBeforeSendMsg,outcome=drop}",
            1,
        ),
        (
            "tencent_chat_webhook_requests_total{command=Group.CallbackAfterGroupFull,outcome=acknowledged}",
            1,
        ),
        // Refused before authentication: the query's command is not trusted as a label.
        (
            "tencent_chat_webhook_requests_total{command=none,outcome=rejected}",
            40,
        ),
        (
            "tencent_chat_webhook_requests_total{command=unknown,outcome=acknowledged}",
            1,
        ),
        (
            "tencent_chat_webhook_rejections_total{kind=invalid_signature}",
            40,
        ),
    ];
    for (name, n) in want {
        assert_eq!(counters.get(name), Some(&n), "{name} in {counters:#?}");
    }
    assert_eq!(histograms, 43, "one latency sample per request");
}
