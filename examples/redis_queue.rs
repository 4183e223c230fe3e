//! Scaling out: a receiver that decides before-events inline and queues after-events on a Redis
//! stream, and workers that process them, all with the demo handler.
//!
//! ```sh
//! redis-server --port 6379 --appendonly yes --appendfsync always &    # or any Redis 7.0+
//! cargo run --features redis --example redis_queue                     # receiver + 2 workers
//! cargo run --features redis --example redis_queue -- --role receiver  # only the receiver
//! cargo run --features redis --example redis_queue -- --role worker    # one more worker
//! # in another terminal:
//! cargo run --features cli --bin tencent-chat-webhook -- send --command C2C.CallbackAfterSendMsg
//! ```
//!
//! Environment (all optional): `LISTEN_ADDR` (default 127.0.0.1:8080), `SDKAPPID`,
//! `CALLBACK_TOKEN`, `RUST_LOG`, as in the other examples, `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), and `REDIS_DURABILITY`: what the receiver requires of Redis before
//! it acknowledges an event, `always` (the default: AOF with `appendfsync always`), `everysec`,
//! or `accept-loss` (no check: a Redis without persistence loses acknowledged events when it
//! restarts). The receiver says at start whether Redis qualifies; when it does not, every
//! after-event is answered 500 until it does.
//!
//! `--role bench --events N --concurrency C` measures the pipeline: a receiver and one worker in
//! this process, N distinct signed after-events sent over HTTP, C at a time, and the time until
//! the worker processed them all (`scripts/redis_bench.sh` runs it beside `redis-benchmark`).
//!
//! The server is the crate's (`server::serve`), as in every example.
//! Ctrl-C (or SIGTERM) stops accepting, lets the requests in flight finish, and stops the
//! workers after the batch in hand.

#[path = "common/demo.rs"]
mod demo;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use tencent_chat_webhook::redis::{Durability, RedisConfig, RedisSink, RedisWorker};
use tencent_chat_webhook::server::{self, Limits};
use tencent_chat_webhook::{
    AfterDeadline, Event, Handler, HandlerResult, Queued, RequestContext, WebhookConfig,
    WebhookService,
};
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

type Error = Box<dyn std::error::Error>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Both,
    Receiver,
    Worker,
    Bench { events: usize, concurrency: usize },
}

fn role_from_args() -> Result<Role, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<&str> {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).map(String::as_str)
    };
    let number = |name: &str, default: usize| -> Result<usize, String> {
        value(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} `{v}` is not a number"))
        })
    };
    Ok(match value("--role").unwrap_or("both") {
        "both" => Role::Both,
        "receiver" => Role::Receiver,
        "worker" => Role::Worker,
        "bench" => Role::Bench {
            events: number("--events", 20_000)?,
            concurrency: number("--concurrency", 32)?.max(1),
        },
        other => {
            return Err(format!(
                "--role `{other}`: use receiver, worker, both or bench"
            ));
        }
    })
}

/// `REDIS_DURABILITY`: `always` (default), `everysec` or `accept-loss`.
fn durability_from_env() -> Result<Durability, String> {
    match std::env::var("REDIS_DURABILITY").as_deref() {
        Err(_) | Ok("always") => Ok(Durability::AofAlways),
        Ok("everysec") => Ok(Durability::AofEverySec),
        Ok("accept-loss") => Ok(Durability::AcceptLoss),
        Ok(other) => Err(format!(
            "REDIS_DURABILITY `{other}`: use always, everysec or accept-loss"
        )),
    }
}

/// The receiver's app: the webhook endpoint as a route, with a request log that leaves out the
/// query (it carries `Sign`).
fn app(webhook: WebhookService) -> Router {
    Router::new()
        .route_service(demo::WEBHOOK_PATH, webhook)
        .layer(TraceLayer::new_for_http().make_span_with(tencent_chat_webhook::http_span::<Body>))
}

/// Stops everything on one signal: the server and every worker watch the same switch.
fn stop_switch() -> watch::Receiver<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        demo::shutdown_signal().await;
        let _ = stop.send(true);
    });
    stopped
}

async fn stopped(mut switch: watch::Receiver<bool>) {
    let _ = switch.wait_for(|stop| *stop).await;
}

fn spawn_worker<H: Handler>(
    redis: &RedisConfig,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let worker = RedisWorker::from_arc(redis, handler);
    tracing::info!(consumer = worker.consumer_name(), "worker started");
    tokio::spawn(async move {
        match worker.run(stopped(stop)).await {
            Ok(stats) => tracing::info!(?stats, "worker stopped"),
            Err(e) => tracing::error!(error = %e, "worker could not start"),
        }
    })
}

async fn run() -> Result<(), Error> {
    demo::init_logging();
    let role = role_from_args()?;
    let settings = demo::Settings::from_env()?;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let redis = RedisConfig::builder(url)
        .durability(durability_from_env()?)
        .build()?;
    println!("redis: {}", redis.url_redacted());
    if let Role::Bench {
        events,
        concurrency,
    } = role
    {
        return bench(&settings, &redis, events, concurrency).await;
    }
    let stop = stop_switch();

    // The same handler decides before-events inline and processes after-events in the workers.
    let handler = Arc::new(demo::DemoHandler);
    let mut workers = Vec::new();
    if matches!(role, Role::Both | Role::Worker) {
        let n = if role == Role::Both { 2 } else { 1 };
        for _ in 0..n {
            workers.push(spawn_worker(&redis, handler.clone(), stop.clone()));
        }
    }
    if matches!(role, Role::Both | Role::Receiver) {
        let sink = RedisSink::new(&redis)?;
        match sink.check().await {
            Ok(()) => println!(
                "redis keeps what it acknowledges ({:?})",
                redis.durability()
            ),
            Err(e) => println!("after-events will be answered 500 until this changes: {e}"),
        }
        let queued = Queued::new(demo::DemoHandler, sink);
        let webhook = WebhookService::new(receiver_config(&settings)?, queued);
        let listener = demo::bind(settings.addr).await?;
        settings.announce(listener.local_addr()?, "redis_queue receiver");
        server::serve(
            listener,
            app(webhook),
            Limits::default(),
            stopped(stop.clone()),
        )
        .await;
    }
    for worker in workers {
        worker.await?;
    }
    Ok(())
}

/// The demo handler, counting the after-events it processed.
#[derive(Default)]
struct Counted(AtomicUsize);

impl Handler for Counted {
    async fn on_after_event(&self, ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        demo::DemoHandler.on_after_event(ctx, event).await?;
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Sends `events` distinct after-events through a receiver and one worker, and prints how many
/// per second made it all the way.
async fn bench(
    settings: &demo::Settings,
    redis: &RedisConfig,
    events: usize,
    concurrency: usize,
) -> Result<(), Error> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tencent_chat_webhook::test_util::SignedRequest;

    let sink = RedisSink::new(redis)?;
    sink.check().await?;
    let counted = Arc::new(Counted::default());
    let (stop, stop_rx) = watch::channel(false);
    let worker = spawn_worker(redis, counted.clone(), stop_rx.clone());
    let queued = Queued::new(demo::DemoHandler, sink);
    let webhook = WebhookService::new(receiver_config(settings)?, queued);
    let listener = demo::bind(settings.addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        server::serve(listener, app(webhook), Limits::default(), stopped(stop_rx)).await;
    });

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    // Tagged with the start time, so that a rerun on the same stream is not taken for
    // duplicates of the last run.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let started = Instant::now();
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, next, failed) = (client.clone(), next.clone(), failed.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= events {
                        break;
                    }
                    let body = format!(
                        r#"{{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"bench_{run}_{i}","MsgBody":[]}}"#
                    );
                    let req = SignedRequest::new("C2C.CallbackAfterSendMsg", body).build();
                    let (mut parts, body) = req.into_parts();
                    parts.uri = format!("http://{addr}{}", parts.uri).parse().expect("a uri");
                    let req = http::Request::from_parts(parts, Full::new(body.into()));
                    let ok = match client.request(req).await {
                        Ok(res) => {
                            let ok = res.status().is_success();
                            let _ = res.into_body().collect().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await?;
    }
    let sent = started.elapsed();
    let failed = failed.load(Ordering::Relaxed);
    let limit = Duration::from_secs(120);
    while counted.0.load(Ordering::Relaxed) < events - failed && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = started.elapsed();
    let processed = counted.0.load(Ordering::Relaxed);
    let _ = stop.send(true);
    server.await?;
    worker.await?;
    println!(
        "sent {events} after-events over HTTP ({concurrency} at a time) in {:.2} s: {:.0}/s acknowledged",
        sent.as_secs_f64(),
        events as f64 / sent.as_secs_f64()
    );
    println!(
        "processed {processed} by one worker in {:.2} s: {:.0} events/s end to end",
        done.as_secs_f64(),
        processed as f64 / done.as_secs_f64()
    );
    if failed > 0 || processed + failed != events {
        return Err(format!("{failed} requests failed, {processed} of {events} processed").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo::exit_code(run().await)
}

/// The receiver's configuration: the demo's, with an after-event whose write to Redis outlives the
/// deadline cancelled (answered 500, so Tencent retries it) rather than finished in the background
/// after an OK: an event is acknowledged only once Redis has it.
fn receiver_config(settings: &demo::Settings) -> Result<WebhookConfig, String> {
    settings
        .config_builder()
        .after_deadline(AfterDeadline::Cancel)
        .build()
        .map_err(|e| e.to_string())
}
