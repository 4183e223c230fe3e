//! Signed before-send webhooks of the three message families (Official Account, one-to-one,
//! group) through the whole service (authenticate, read, parse, dispatch, serialise the reply),
//! each against an untyped `serde_json::Value` parse of the same body, measured in the same run.
//! Target: pipeline / untyped <= 1.0.
//!
//! ```sh
//! cargo bench --bench pipeline
//! ```
//!
//! The ratio of the two means is printed for each command at the end.

#[allow(dead_code)] // each benchmark uses its part
mod common;

use std::hint::black_box;

use common::{COMMANDS, Moderation, config, exchange, request, service};
use criterion::{BatchSize, Criterion};
use tencent_chat_webhook::test_util;
use tencent_chat_webhook::{Command, WebhookService};
use tower::Service;

fn main() {
    let mut service = service();
    let mut c = Criterion::default().configure_from_args();
    for (name, command) in COMMANDS {
        let body = test_util::sample(command);
        let request = request(command);

        // Sanity: the pipeline really answers 200 with the allow reply.
        let (status, reply) = exchange(&mut service, request.build());
        assert_eq!(status, 200, "{command}");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&reply).expect("JSON")["ErrorCode"],
            0,
            "{command}"
        );

        let mut group = c.benchmark_group(format!("pipeline_{name}"));
        group.bench_function("untyped_value_parse", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).unwrap()
            })
        });
        group.bench_function("whole_service", |b| {
            b.iter_batched(
                || request.build(),
                |req| black_box(exchange(&mut service, req)),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
    production_costs(&mut c);
    c.final_summary();

    report_ratios();
}

/// The cost of the deadline (a tokio timer per request) and of metrics (a recorder installed),
/// each against the same service inside the same runtime without them.
fn production_costs(c: &mut Criterion) {
    let request = request(Command::GroupBeforeSendMsg);
    let service = |deadline: bool| {
        let builder = config();
        let builder = if deadline {
            builder
        } else {
            builder.no_deadline()
        };
        WebhookService::new(builder.build().expect("config"), Moderation)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("production");
    let mut measure = |name: &str, mut service: WebhookService| {
        group.bench_function(name, |b| {
            b.iter_batched(
                || request.build(),
                |req| {
                    rt.block_on(async {
                        let res = service.call(req).await.expect("infallible");
                        black_box(res.status())
                    })
                },
                BatchSize::SmallInput,
            )
        });
    };
    measure("no_deadline", service(false));
    measure("deadline", service(true));
    // From here on a recorder is installed for the whole process: every counter and the latency
    // histogram are recorded.
    metrics_util::debugging::DebuggingRecorder::new()
        .install()
        .expect("recorder");
    measure("deadline_and_metrics", service(true));
    group.finish();
}

/// Reads criterion's estimates and prints, per command, whole service / untyped parse.
fn report_ratios() {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let mean = |group: &str, name: &str| -> Option<f64> {
        let path = format!("{dir}/criterion/{group}/{name}/new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    for (name, baseline) in [
        ("deadline", "no_deadline"),
        ("deadline_and_metrics", "no_deadline"),
    ] {
        if let (Some(t), Some(b)) = (mean("production", name), mean("production", baseline)) {
            println!(
                "ratio production: {name} / {baseline} = {:.3} ({t:.0} ns / {b:.0} ns)",
                t / b
            );
        }
    }
    for (name, _) in COMMANDS {
        let group = format!("pipeline_{name}");
        match (
            mean(&group, "whole_service"),
            mean(&group, "untyped_value_parse"),
        ) {
            (Some(t), Some(baseline)) => println!(
                "ratio {name}: whole_service / untyped_value_parse = {:.3} ({t:.0} ns / {baseline:.0} ns)",
                t / baseline
            ),
            _ => println!(
                "ratio {name}: estimates not found under {dir}/criterion (run without --test)"
            ),
        }
    }
}
