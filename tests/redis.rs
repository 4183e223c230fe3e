//! The Redis queue end to end, against a real `redis-server` that each test starts on an
//! ephemeral loopback port: signed requests over HTTP to a real receiver (`server::serve` with a
//! `Queued<_, RedisSink>` service), workers reading the stream, and the handler's record of what
//! it processed.
//!
//! Without `redis-server` on the machine each test prints `skipped: redis-server not found`
//! and passes, unless `CI=true`, where it fails.

#[path = "common/tally.rs"]
mod tally;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tencent_chat_webhook::c2c::{BeforeSendMsg, SendMsgDecision};
use tencent_chat_webhook::redis::{
    RedisConfig, RedisConfigBuilder, RedisSink, RedisWorker, WorkerStats,
};
use tencent_chat_webhook::test_util::{DEMO_APP_ID, DEMO_TOKEN, SignedRequest};
use tencent_chat_webhook::{
    Event, Handler, HandlerError, HandlerResult, Queued, RequestContext, WebhookConfig,
    WebhookConfigBuilder, WebhookService,
};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// A redis-server of the test's own.

/// A `redis-server` on an ephemeral loopback port, killed on drop.
struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or says why not: `None` (the test skips) when the binary is missing, unless
    /// `CI=true`.
    fn start() -> Option<RedisServer> {
        let Some(binary) = find_redis_server() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server not found, and CI=true: install it (apt-get install redis-server)"
            );
            println!("skipped: redis-server not found");
            return None;
        };
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            binary,
            port,
            child: None,
        };
        server.restart();
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on its port (empty: nothing is saved) and waits until it answers.
    fn restart(&mut self) {
        let port = self.port.to_string();
        let child = Command::new(&self.binary)
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while !self.pings() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server and waits for it to be gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pings(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0; 7];
        conn.write_all(b"PING\r\n").is_ok()
            && conn.read_exact(&mut buf).is_ok()
            && &buf == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

/// A plain connection, for the test's own looks at the streams.
async fn redis(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The handler both paths use.

/// Records every after-event it processes, by idempotency key; fails the ones whose `MsgKey`
/// starts with `poison`; blocks forever while `block` is set.
#[derive(Clone, Default)]
struct Recorder(Arc<Recorded>);

#[derive(Default)]
struct Recorded {
    processed: Mutex<HashMap<String, usize>>,
    attempts: Mutex<HashMap<String, usize>>,
    inline_decisions: AtomicUsize,
    entered: AtomicUsize,
    block: std::sync::atomic::AtomicBool,
    never: Notify,
}

impl Recorder {
    fn blocking() -> Self {
        let r = Recorder::default();
        r.0.block.store(true, Ordering::SeqCst);
        r
    }

    fn processed(&self) -> HashMap<String, usize> {
        self.0.processed.lock().unwrap().clone()
    }

    fn total(&self) -> usize {
        self.processed().values().sum()
    }
}

impl Handler for Recorder {
    async fn on_c2c_before_send_msg(
        &self,
        _ctx: &RequestContext,
        _event: BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        self.0.inline_decisions.fetch_add(1, Ordering::SeqCst);
        Ok(SendMsgDecision::Drop)
    }

    async fn on_after_event(&self, ctx: &RequestContext, event: Event) -> HandlerResult<()> {
        // The worker rebuilt the request context from the entry.
        assert_eq!(ctx.app_id(), DEMO_APP_ID);
        assert_eq!(ctx.command(), event.command_name());
        assert_eq!(ctx.client_ip(), Some("127.0.0.1"));
        assert!(ctx.request_time().is_some());
        self.0.entered.fetch_add(1, Ordering::SeqCst);
        if self.0.block.load(Ordering::SeqCst) {
            self.0.never.notified().await;
        }
        let key = event.idempotency_key(ctx.app_id());
        *self
            .0
            .attempts
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default() += 1;
        let poisoned = match &event {
            Event::C2cAfterSendMsg(e) => e
                .msg_key
                .as_deref()
                .is_some_and(|k| k.starts_with("poison")),
            _ => false,
        };
        if poisoned {
            return Err(HandlerError::msg("poisoned on purpose"));
        }
        *self.0.processed.lock().unwrap().entry(key).or_default() += 1;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Receiver, workers, client.

fn config(server: &RedisServer) -> RedisConfigBuilder {
    RedisConfig::builder(server.url())
        .stream("test:events")
        .dead_letter_stream("test:dead")
        .block(Duration::from_millis(200))
        .claim_idle(Duration::from_millis(300))
        .write_timeout(Duration::from_millis(500))
        .batch_size(16)
}

struct Receiver {
    addr: SocketAddr,
    /// The failures the service reported: (command, message).
    failures: Arc<Mutex<Vec<(String, String)>>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Receiver {
    async fn start(redis: &RedisConfig, handler: Recorder) -> Receiver {
        Receiver::start_with(redis, handler, |b| b).await
    }

    /// A receiver for the demo app and whatever `apps` adds, with `handler`.
    async fn start_with<H: Handler>(
        redis: &RedisConfig,
        handler: H,
        apps: impl FnOnce(WebhookConfigBuilder) -> WebhookConfigBuilder,
    ) -> Receiver {
        let failures = Arc::new(Mutex::new(Vec::new()));
        let reported = failures.clone();
        let webhook_config = apps(WebhookConfig::builder(DEMO_APP_ID).token(DEMO_TOKEN))
            .after_deadline(tencent_chat_webhook::AfterDeadline::Cancel)
            .report_failures(move |f| {
                let failure = (f.command().to_owned(), f.message().to_owned());
                reported.lock().unwrap().push(failure);
            })
            .build()
            .unwrap();
        let sink = RedisSink::new(redis).unwrap();
        let service = WebhookService::new(webhook_config, Queued::new(handler, sink));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tencent_chat_webhook::server::serve(listener, service, Default::default(), async {
                let _ = stopped.await;
            })
            .await;
        });
        Receiver {
            addr,
            failures,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("the receiver stops")
            .unwrap();
    }
}

/// A pool of workers, each with its shutdown switch.
struct Pool {
    workers: Vec<(oneshot::Sender<()>, JoinHandle<WorkerStats>)>,
}

impl Pool {
    fn start<H: Handler + Clone>(redis: &RedisConfig, handler: &H, n: usize) -> Pool {
        let workers = (0..n)
            .map(|_| {
                let (stop, stopped) = oneshot::channel::<()>();
                let worker = RedisWorker::new(redis, handler.clone());
                let task = tokio::spawn(async move {
                    worker
                        .run(async {
                            let _ = stopped.await;
                        })
                        .await
                        .unwrap()
                });
                (stop, task)
            })
            .collect();
        Pool { workers }
    }

    /// Stops every worker gracefully and adds up what they did.
    async fn stop(self) -> WorkerStats {
        let mut total = WorkerStats::default();
        for (stop, task) in self.workers {
            let _ = stop.send(());
            let stats = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("a worker stops on its shutdown")
                .unwrap();
            total.processed += stats.processed;
            total.duplicates += stats.duplicates;
            total.failed += stats.failed;
            total.dead_lettered += stats.dead_lettered;
        }
        total
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

fn after_send_msg(msg_key: &str) -> SignedRequest {
    let body = format!(
        r#"{{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"{msg_key}","MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"hi"}}}}]}}"#
    );
    SignedRequest::new("C2C.CallbackAfterSendMsg", body)
}

fn key_of(msg_key: &str) -> String {
    format!(r#"{DEMO_APP_ID}:C2C.CallbackAfterSendMsg:["a","b","{msg_key}"]"#)
}

async fn send(client: &HttpClient, addr: SocketAddr, req: &SignedRequest) -> StatusCode {
    let req = req.build();
    let uri = format!("http://{addr}{}", req.uri());
    let (mut parts, body) = req.into_parts();
    parts.uri = uri.parse().unwrap();
    let res = client
        .request(Request::from_parts(parts, Full::new(Bytes::from(body))))
        .await
        .unwrap();
    let status = res.status();
    let _ = res.into_body().collect().await;
    status
}

/// Sends every request, `concurrency` at a time, and returns the statuses in order.
async fn send_all(
    addr: SocketAddr,
    reqs: Vec<SignedRequest>,
    concurrency: usize,
) -> Vec<StatusCode> {
    let client = client();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|req| {
            let (client, semaphore) = (client.clone(), semaphore.clone());
            tokio::spawn(async move {
                let _permit = semaphore.acquire().await.unwrap();
                send(&client, addr, &req).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

/// Waits (boundedly) until `done` holds.
async fn eventually(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `handler` processed the events `{prefix}0` to `{prefix}{n-1}`.
async fn wait_processed(handler: &Recorder, prefix: &str, n: usize) {
    let what = format!("the events {prefix}0..{prefix}{n} processed");
    eventually(&what, Duration::from_secs(30), async || {
        let processed = handler.processed();
        (0..n).all(|i| processed.contains_key(&key_of(&format!("{prefix}{i}"))))
    })
    .await;
}

/// Checks that `handler` processed each of `{prefix}0` to `{prefix}{n-1}` exactly once.
fn assert_processed_once(handler: &Recorder, prefix: &str, n: usize) {
    let processed = handler.processed();
    for i in 0..n {
        let key = key_of(&format!("{prefix}{i}"));
        assert_eq!(processed.get(&key), Some(&1), "{key}");
    }
}

async fn xlen(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> usize {
    redis::cmd("XLEN").arg(key).query_async(conn).await.unwrap()
}

/// How many entries of the group are delivered but not acknowledged.
async fn pending(conn: &mut redis::aio::MultiplexedConnection) -> usize {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg("test:events")
        .arg(tencent_chat_webhook::redis::RedisConfig::DEFAULT_GROUP)
        .query_async(conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(items) => redis::from_redis_value_ref(&items[0]).unwrap(),
        other => panic!("XPENDING answered {other:?}"),
    }
}

/// Whether every entry of the stream was delivered to the group and acknowledged.
async fn drained(conn: &mut redis::aio::MultiplexedConnection) -> bool {
    let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("test:events")
        .query_async(conn)
        .await
        .unwrap_or_default();
    let lag = |g: &HashMap<String, redis::Value>| -> Option<u64> {
        g.get("lag")
            .and_then(|v| redis::from_redis_value_ref(v).ok())
    };
    groups.first().and_then(lag) == Some(0) && pending(conn).await == 0
}

/// A redis-server, a receiver and `workers` workers, all sharing one recording handler.
struct Setup {
    server: RedisServer,
    config: RedisConfig,
    handler: Recorder,
    receiver: Receiver,
    pool: Pool,
}

/// The usual set-up, with `tweak` applied to the queue's configuration; `None` when the test
/// is skipped.
async fn setup(
    workers: usize,
    tweak: impl FnOnce(RedisConfigBuilder) -> RedisConfigBuilder,
) -> Option<Setup> {
    let server = RedisServer::start()?;
    let config = tweak(config(&server)).build().unwrap();
    let handler = Recorder::default();
    let receiver = Receiver::start(&config, handler.clone()).await;
    let pool = Pool::start(&config, &handler, workers);
    Some(Setup {
        server,
        config,
        handler,
        receiver,
        pool,
    })
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_through_the_receiver_is_processed_exactly_once_by_a_pool() {
    let Some(Setup {
        server,
        config: _,
        handler,
        receiver,
        pool,
    }) = setup(3, |c| c).await
    else {
        return;
    };

    let n = 300;
    let mut reqs: Vec<_> = (0..n).map(|i| after_send_msg(&format!("m{i}"))).collect();
    // A before-event is decided inline, never queued.
    let before = r#"{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"a","To_Account":"b","MsgKey":"x","MsgBody":[]}"#;
    reqs.push(SignedRequest::new("C2C.CallbackBeforeSendMsg", before));
    let statuses = send_all(receiver.addr, reqs, 16).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(handler.0.inline_decisions.load(Ordering::SeqCst), 1);

    wait_processed(&handler, "m", n).await;
    let stats = pool.stop().await;
    assert_eq!(handler.processed().len(), n);
    assert_processed_once(&handler, "m", n);
    assert_eq!(stats.processed, n as u64);
    assert_eq!((stats.failed, stats.dead_lettered), (0, 0));
    let mut conn = redis(&server).await;
    assert_eq!(
        xlen(&mut conn, "test:events").await,
        n,
        "only after-events are queued"
    );
    assert_eq!(pending(&mut conn).await, 0, "every entry acknowledged");
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let redis_config = config(&server).build().unwrap();
    let receiver = Receiver::start(&redis_config, Recorder::default()).await;

    // The first worker takes a batch and hangs in its handler.
    let stuck = Recorder::blocking();
    let doomed = RedisWorker::new(&redis_config, stuck.clone()).consumer("doomed");
    let doomed = tokio::spawn(doomed.run(std::future::pending()));
    let n = 10;
    let reqs = (0..n).map(|i| after_send_msg(&format!("k{i}"))).collect();
    let statuses = send_all(receiver.addr, reqs, 4).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    eventually(
        "the first worker holds a batch",
        Duration::from_secs(10),
        async || stuck.0.entered.load(Ordering::SeqCst) > 0,
    )
    .await;
    let mut conn = redis(&server).await;
    assert!(
        pending(&mut conn).await > 0,
        "entries held by the stuck worker"
    );
    doomed.abort();
    let _ = doomed.await;

    // Another worker claims what it held, once the claim time passed.
    let rescuer = Recorder::default();
    let pool = Pool::start(&redis_config, &rescuer, 1);
    wait_processed(&rescuer, "k", n).await;
    let stats = pool.stop().await;
    assert_processed_once(&rescuer, "k", n);
    assert_eq!(stats.processed, n as u64);
    assert_eq!(stuck.total(), 0, "the stuck worker finished nothing");
    assert_eq!(pending(&mut conn).await, 0);
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_receiver_answers_500_and_then_everything_flows() {
    let Some(Setup {
        mut server,
        config: _,
        handler,
        receiver,
        pool,
    }) = setup(2, |c| c).await
    else {
        return;
    };
    let first = send_all(receiver.addr, vec![after_send_msg("before-outage")], 1).await;
    assert_eq!(first, [StatusCode::OK]);
    eventually(
        "the first event processed",
        Duration::from_secs(10),
        async || handler.total() == 1,
    )
    .await;

    server.stop();
    let reqs: Vec<_> = (0..5).map(|i| after_send_msg(&format!("d{i}"))).collect();
    let started = Instant::now();
    let statuses = send_all(receiver.addr, reqs.clone(), 5).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::INTERNAL_SERVER_ERROR),
        "nothing is acknowledged while Redis is down: {statuses:?}"
    );
    assert!(
        started.elapsed() < WebhookConfig::DEFAULT_DEADLINE * 2,
        "answered within the deadline: {:?}",
        started.elapsed()
    );
    let failures = receiver.failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 5, "every refusal is reported: {failures:?}");
    assert!(
        failures
            .iter()
            .all(|(command, message)| command == "C2C.CallbackAfterSendMsg"
                && message.starts_with("redis")),
        "{failures:?}"
    );
    // Before-events do not need Redis.
    let before = r#"{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"a","To_Account":"b","MsgKey":"x","MsgBody":[]}"#;
    let decided = send_all(
        receiver.addr,
        vec![SignedRequest::new("C2C.CallbackBeforeSendMsg", before)],
        1,
    )
    .await;
    assert_eq!(decided, [StatusCode::OK]);

    // Back, empty (nothing was saved), on the same port: Tencent's retries go through, and the
    // workers recreate the group and go on.
    server.restart();
    let started = Instant::now();
    let statuses = loop {
        let statuses = send_all(receiver.addr, reqs.clone(), 5).await;
        let all_ok = statuses.iter().all(|s| *s == StatusCode::OK);
        if all_ok || started.elapsed() > Duration::from_secs(10) {
            break statuses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    wait_processed(&handler, "d", 5).await;
    let stats = pool.stop().await;
    assert_processed_once(&handler, "d", 5);
    assert_eq!(handler.total(), 6);
    assert_eq!(stats.processed, 6);
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_ends_in_the_dead_letter_stream_after_n_attempts() {
    let Some(Setup {
        server,
        config: _,
        handler,
        receiver,
        pool,
    }) = setup(2, |c| c.max_attempts(3)).await
    else {
        return;
    };
    let reqs = vec![after_send_msg("poison-1"), after_send_msg("fine")];
    let statuses = send_all(receiver.addr, reqs, 2).await;
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK]);
    // An entry that is no event at all (written by something else) is dead-lettered at once.
    let mut conn = redis(&server).await;
    let _: String = redis::cmd("XADD")
        .arg("test:events")
        .arg("*")
        .arg("junk")
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();

    eventually(
        "the poison event and the junk dead-lettered",
        Duration::from_secs(20),
        async || xlen(&mut conn, "test:dead").await == 2,
    )
    .await;
    let stats = pool.stop().await;
    let attempts = handler.0.attempts.lock().unwrap().clone();
    assert_eq!(attempts.get(&key_of("poison-1")), Some(&3), "{attempts:?}");
    assert_eq!(handler.processed().get(&key_of("fine")), Some(&1));
    assert_eq!(
        (stats.failed, stats.dead_lettered, stats.processed),
        (3, 2, 1)
    );

    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("test:dead")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead.ids.len(), 2);
    let junk = dead.ids.iter().find(|e| e.contains_key("junk")).unwrap();
    let junk_error: String = junk.get("error").unwrap();
    assert_eq!(junk_error, "entry has no `v` field");
    assert_eq!(junk.get::<String>("attempts").as_deref(), Some("1"));
    let entry = dead.ids.iter().find(|e| !e.contains_key("junk")).unwrap();
    let field = |name: &str| -> String { entry.get(name).unwrap_or_else(|| panic!("no {name}")) };
    assert_eq!(field("error"), "poisoned on purpose");
    assert_eq!(field("attempts"), "3");
    assert_eq!(field("command"), "C2C.CallbackAfterSendMsg");
    assert_eq!(field("key"), key_of("poison-1"));
    assert!(
        field("event").contains("poison-1"),
        "the event is kept whole"
    );
    assert_eq!(
        pending(&mut conn).await,
        0,
        "the dead letter is acknowledged"
    );
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_processed_once() {
    let Some(Setup {
        server,
        config: redis_config,
        handler,
        receiver,
        pool,
    }) = setup(2, |c| c).await
    else {
        return;
    };
    // Tencent retried twice (each delivery is queued: the receiver does not de-duplicate), and
    // a second event arrives once.
    let reqs = vec![
        after_send_msg("same"),
        after_send_msg("same"),
        after_send_msg("same"),
        after_send_msg("other"),
    ];
    let statuses = send_all(receiver.addr, reqs, 4).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let mut conn = redis(&server).await;
    assert_eq!(xlen(&mut conn, "test:events").await, 4);

    eventually(
        "every entry acknowledged",
        Duration::from_secs(20),
        async || drained(&mut conn).await && handler.total() >= 2,
    )
    .await;
    let stats = pool.stop().await;
    let processed = handler.processed();
    assert_eq!(processed.get(&key_of("same")), Some(&1));
    assert_eq!(processed.get(&key_of("other")), Some(&1));
    assert_eq!((stats.processed, stats.duplicates), (2, 2));

    // Later deliveries of a processed event are acknowledged without the handler too.
    let pool = Pool::start(&redis_config, &handler, 1);
    let again = send_all(receiver.addr, vec![after_send_msg("same")], 1).await;
    assert_eq!(again, [StatusCode::OK]);
    eventually(
        "the redelivery acknowledged",
        Duration::from_secs(10),
        async || xlen(&mut conn, "test:events").await == 5 && drained(&mut conn).await,
    )
    .await;
    let stats = pool.stop().await;
    assert_eq!(stats.duplicates, 1);
    assert_eq!(handler.processed().get(&key_of("same")), Some(&1));
    receiver.stop().await;
}

/// Two apps behind one receiver, and two topics of one community, send group messages with the
/// same `GroupId` and `MsgSeq`: the workers process each (none is acknowledged as a duplicate of
/// another), and a true duplicate once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_ids_of_two_apps_or_two_topics_are_each_processed_and_a_duplicate_once() {
    const OTHER_APP: u64 = 1_400_000_001;
    const OTHER_TOKEN: &str = "other-app-token-3f9b";
    let Some(server) = RedisServer::start() else {
        return;
    };
    let redis_config = config(&server).build().unwrap();
    let tally = tally::Tally::default();
    let receiver = Receiver::start_with(&redis_config, tally.clone(), |b| {
        b.app(OTHER_APP).token(OTHER_TOKEN)
    })
    .await;
    let pool = Pool::start(&redis_config, &tally, 2);

    let message = |app: u64, topic: Option<&str>| {
        let topic = topic.map_or(String::new(), |t| format!(r#","TopicId":"{t}""#));
        let body = format!(
            r#"{{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#_g","From_Account":"a","MsgSeq":7,"MsgBody":[]{topic}}}"#
        );
        let token = if app == OTHER_APP {
            OTHER_TOKEN
        } else {
            DEMO_TOKEN
        };
        SignedRequest::new("Group.CallbackAfterSendMsg", body)
            .app_id(app)
            .token(token)
    };
    let distinct = vec![
        message(DEMO_APP_ID, None),
        message(OTHER_APP, None),
        message(DEMO_APP_ID, Some("@TGS#_g@TOPIC#_news")),
        message(DEMO_APP_ID, Some("@TGS#_g@TOPIC#_chat")),
    ];
    let mut reqs = distinct.clone();
    // Tencent's retry of the first, byte for byte.
    reqs.push(distinct[0].clone());
    let statuses = send_all(receiver.addr, reqs, 1).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let mut conn = redis(&server).await;
    assert_eq!(xlen(&mut conn, "test:events").await, 5);
    eventually(
        "every entry acknowledged",
        Duration::from_secs(20),
        async || drained(&mut conn).await,
    )
    .await;
    let stats = pool.stop().await;
    let calls = tally.calls();
    assert_eq!(calls.len(), distinct.len(), "{:#?}", calls.keys());
    assert!(calls.values().all(|&n| n == 1), "{calls:#?}");
    assert_eq!((stats.processed, stats.duplicates), (4, 1));
    receiver.stop().await;
}
