//! The Redis queue end to end, against a real `redis-server` that each test starts on an
//! ephemeral loopback port: signed requests over HTTP to a real receiver (`server::serve` with a
//! `Queued<_, RedisSink>` service), workers reading the stream, and the handler's record of what
//! it processed.
//!
//! Without `redis-server` on the machine each test prints `skipped: redis-server not found`
//! and passes, unless `CI=true`, where it fails.

#[path = "common/tally.rs"]
mod tally;

use std::collections::{HashMap, HashSet};
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
use redis::streams::StreamReadReply;
use tencent_chat_webhook::c2c::{BeforeSendMsg, SendMsgDecision};
use tencent_chat_webhook::redis::{
    Durability, RedisConfig, RedisConfigBuilder, RedisSink, RedisWorker, WorkerStats,
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

/// How a test's `redis-server` keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persistence {
    /// AOF, each write synced before Redis answers (`appendfsync always`).
    AofAlways,
    /// AOF, synced once a second.
    AofEverySec,
    /// Nothing: a restart comes back empty.
    None,
}

/// A `redis-server` on an ephemeral loopback port, with a data directory of its own; killed
/// (SIGKILL) and its directory removed on drop.
struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    persistence: Persistence,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one with AOF (`appendfsync always`), or says why not: `None` (the test skips)
    /// when the binary is missing, unless `CI=true`.
    fn start() -> Option<RedisServer> {
        Self::start_with(Persistence::AofAlways, &[])
    }

    /// Starts one that keeps its data as `persistence` says, with `extra` arguments.
    fn start_with(persistence: Persistence, extra: &[&str]) -> Option<RedisServer> {
        let Some(binary) = find_redis_server() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server not found, and CI=true: install it (apt-get install redis-server)"
            );
            println!("skipped: redis-server not found");
            return None;
        };
        for _ in 0..20 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "tencent-chat-webhook-redis-{}-{port}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let mut server = RedisServer {
                binary: binary.clone(),
                port,
                dir,
                persistence,
                extra: extra.iter().map(|a| (*a).to_owned()).collect(),
                child: None,
            };
            // Another process may have taken the port meanwhile: then another one.
            if server.try_restart() {
                return Some(server);
            }
        }
        panic!("redis-server did not start on any of 20 ports");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Restarts the server on its port and data directory, and waits until it answers.
    fn restart(&mut self) {
        assert!(
            self.try_restart(),
            "redis-server did not restart on port {}",
            self.port
        );
    }

    /// (Re)starts the server on its port and data directory, and waits until it answers;
    /// `false` when it exits instead (the port is taken) or another server answers there.
    fn try_restart(&mut self) -> bool {
        let port = self.port.to_string();
        let mut cmd = Command::new(&self.binary);
        cmd.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(&self.dir);
        match self.persistence {
            Persistence::AofAlways => cmd.args(["--appendonly", "yes", "--appendfsync", "always"]),
            Persistence::AofEverySec => {
                cmd.args(["--appendonly", "yes", "--appendfsync", "everysec"])
            }
            Persistence::None => cmd.args(["--appendonly", "no"]),
        };
        let mut child = cmd
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Some(pid) = self.process_id() {
                if pid == child.id() {
                    self.child = Some(child);
                    return true;
                }
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: nothing is flushed on the way out) and waits for it to be gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id of the server answering on the port, once it answers (and has loaded
    /// its data).
    fn process_id(&self) -> Option<u32> {
        use std::io::{BufRead, BufReader, Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        conn.set_read_timeout(Some(Duration::from_millis(500)))
            .ok()?;
        conn.write_all(b"INFO server\r\n").ok()?;
        // `$<length>`, then the text; an error (`-LOADING ...`) while it loads its data.
        let mut reader = BufReader::new(conn);
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let length: usize = header.strip_prefix('$')?.trim().parse().ok()?;
        let mut text = vec![0; length];
        reader.read_exact(&mut text).ok()?;
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
    }
}

/// A port below Linux's ephemeral range (32768 and up), so that no client socket takes it as
/// its own while the server is down, and free now; different for each call.
fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let seed = std::process::id() as usize * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize;
    loop {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + u16::try_from((seed + k * 1_009) % 12_000).unwrap();
        if StdListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
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
/// starts with `poison`; blocks forever while `block` is set, waits while `paused` is, and
/// works for `work_ms` on each event.
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
    paused: std::sync::atomic::AtomicBool,
    work_ms: std::sync::atomic::AtomicU64,
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
        while self.0.paused.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let work = self.0.work_ms.load(Ordering::SeqCst);
        if work > 0 {
            tokio::time::sleep(Duration::from_millis(work)).await;
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
            total.settled_late += stats.settled_late;
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

/// What [`send`] gives when the request got no answer (the connection closed under it).
const NO_ANSWER: StatusCode = match StatusCode::from_u16(599) {
    Ok(status) => status,
    Err(_) => unreachable!(),
};

async fn send(client: &HttpClient, addr: SocketAddr, req: &SignedRequest) -> StatusCode {
    let req = req.build();
    let uri = format!("http://{addr}{}", req.uri());
    let (mut parts, body) = req.into_parts();
    parts.uri = uri.parse().unwrap();
    // A connection the server closed under the sender (the server closes a connection after a
    // refusal, and evicts idle ones past its caps) is no answer: the event was not acknowledged,
    // and a sender that retries, as Tencent does, sends it again.
    let Ok(res) = client
        .request(Request::from_parts(parts, Full::new(Bytes::from(body))))
        .await
    else {
        return NO_ANSWER;
    };
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
    Some(setup_with(RedisServer::start()?, workers, tweak).await)
}

/// [`setup`] on a server of the test's choosing.
async fn setup_with(
    server: RedisServer,
    workers: usize,
    tweak: impl FnOnce(RedisConfigBuilder) -> RedisConfigBuilder,
) -> Setup {
    let config = tweak(config(&server)).build().unwrap();
    let handler = Recorder::default();
    let receiver = Receiver::start(&config, handler.clone()).await;
    let pool = Pool::start(&config, &handler, workers);
    Setup {
        server,
        config,
        handler,
        receiver,
        pool,
    }
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

    // Back from its AOF, on the same port: Tencent's retries go through, and the workers go on.
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

// ---------------------------------------------------------------------------------------------
// Redis killed (SIGKILL) and restarted on the same port and data directory, under a backlog.

/// What one crash run saw.
struct CrashRun {
    /// How many distinct events were sent.
    sent: usize,
    /// The events answered 200 (at least once).
    acked: HashSet<String>,
    /// Every answer, by status.
    answers: HashMap<StatusCode, usize>,
    /// The handler's successful runs, by idempotency key.
    processed: HashMap<String, usize>,
    /// The keys of the entries in the dead-letter stream.
    dead: HashSet<String>,
    /// Events answered 200 but not yet processed when Redis was killed.
    backlog_at_kill: usize,
    /// The failures the receiver reported: (command, message).
    failures: Vec<(String, String)>,
    /// What the workers counted.
    stats: WorkerStats,
}

impl CrashRun {
    /// The events answered 200 that were neither processed nor dead-lettered.
    fn lost(&self) -> Vec<&String> {
        let mut lost: Vec<_> = self
            .acked
            .iter()
            .filter(|k| !self.processed.contains_key(*k) && !self.dead.contains(*k))
            .collect();
        lost.sort();
        lost
    }

    /// The events the handler succeeded with more than once.
    fn twice(&self) -> Vec<(&String, &usize)> {
        let mut twice: Vec<_> = self.processed.iter().filter(|(_, n)| **n > 1).collect();
        twice.sort();
        twice
    }
}

/// Sends 1,500 distinct after-events at about 1,000 a second (each refused one sent again for
/// 12 s, as Tencent would, when `retry`) to a receiver with two workers whose handler works
/// 1 ms an event; the workers are paused for the first second so that a backlog builds, and
/// 150 ms after they resume Redis is killed with SIGKILL, then restarted 700 ms later on the
/// same port and data directory. Returns what was answered and processed once the stream is
/// drained; `None` when the test is skipped.
async fn crash_under_backlog(persistence: Persistence, retry: bool) -> Option<CrashRun> {
    let n = 1500;
    let mut server = RedisServer::start_with(persistence, &[])?;
    let config = config(&server)
        .claim_idle(Duration::from_secs(2))
        .build()
        .unwrap();
    let handler = Recorder::default();
    handler.0.work_ms.store(1, Ordering::SeqCst);
    handler.0.paused.store(true, Ordering::SeqCst);
    let receiver = Receiver::start(&config, handler.clone()).await;
    let pool = Pool::start(&config, &handler, 2);

    let acked = Arc::new(Mutex::new(HashSet::new()));
    let answers = Arc::new(Mutex::new(HashMap::<StatusCode, usize>::new()));
    let started = Instant::now();
    // Senders retry until every event is taken: a loaded machine's Redis may take a while.
    let retry_until = started + Duration::from_secs(40);
    let client = client();
    let addr = receiver.addr;
    let mut requests = Vec::new();
    let sender = {
        let (acked, answers) = (acked.clone(), answers.clone());
        tokio::spawn(async move {
            for i in 0..n {
                // About one event a millisecond, in groups of ten.
                if i % 10 == 0 {
                    let due = started + Duration::from_millis(i as u64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let (client, acked, answers) = (client.clone(), acked.clone(), answers.clone());
                requests.push(tokio::spawn(async move {
                    let msg_key = format!("c{i}");
                    let req = after_send_msg(&msg_key);
                    loop {
                        let status = send(&client, addr, &req).await;
                        *answers.lock().unwrap().entry(status).or_default() += 1;
                        if status == StatusCode::OK {
                            acked.lock().unwrap().insert(key_of(&msg_key));
                            break;
                        }
                        if !retry || Instant::now() > retry_until {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }));
            }
            for request in requests {
                request.await.unwrap();
            }
        })
    };

    // The workers are paused until a backlog has built up: a second at the least, and, where
    // events are taken at all, longer on a machine so loaded that Redis takes them slowly.
    tokio::time::sleep_until((started + Duration::from_secs(1)).into()).await;
    while retry && acked.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handler.0.paused.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let backlog_at_kill = {
        let acked = acked.lock().unwrap();
        let processed = handler.processed();
        acked.iter().filter(|k| !processed.contains_key(*k)).count()
    };
    server.stop();
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.restart();
    sender.await.unwrap();

    // Until every event answered 200 is processed and the stream is drained, or long enough
    // for anything left to have been claimed and retried.
    let mut conn = redis(&server).await;
    let limit = Instant::now() + Duration::from_secs(20);
    loop {
        let all_processed = {
            let processed = handler.processed();
            acked
                .lock()
                .unwrap()
                .iter()
                .all(|k| processed.contains_key(k))
        };
        if (all_processed && drained(&mut conn).await) || Instant::now() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = pool.stop().await;
    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("test:dead")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let dead = dead
        .ids
        .iter()
        .filter_map(|e| e.get::<String>("key"))
        .collect();
    let failures = receiver.failures.lock().unwrap().clone();
    receiver.stop().await;
    let acked = acked.lock().unwrap().clone();
    let answers = answers.lock().unwrap().clone();
    Some(CrashRun {
        sent: n,
        acked,
        answers,
        processed: handler.processed(),
        dead,
        backlog_at_kill,
        failures,
        stats,
    })
}

/// Checks that `run` lost nothing it acknowledged and processed nothing twice.
fn assert_nothing_lost_nor_twice(run: &CrashRun) {
    println!(
        "answers {:?}, acked {}, processed {}, dead-lettered {}, backlog at the kill {}, {:?}",
        run.answers,
        run.acked.len(),
        run.processed.len(),
        run.dead.len(),
        run.backlog_at_kill,
        run.stats
    );
    let mut messages: HashMap<&str, usize> = HashMap::new();
    for (_, message) in &run.failures {
        *messages.entry(message.as_str()).or_default() += 1;
    }
    println!("{messages:?}");
    assert!(
        run.backlog_at_kill >= 100,
        "Redis was killed under a backlog: {} events waiting",
        run.backlog_at_kill
    );
    assert_eq!(
        run.acked.len(),
        run.sent,
        "every event answered 200 in the end"
    );
    assert!(
        run.answers.len() > 1,
        "the outage was answered 500: {:?}",
        run.answers
    );
    assert_eq!(
        run.lost(),
        Vec::<&String>::new(),
        "acknowledged, never processed"
    );
    assert_eq!(
        run.twice(),
        Vec::<(&String, &usize)>::new(),
        "processed twice"
    );
    assert!(run.dead.is_empty(), "{:?}", run.dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_aof_a_redis_crash_under_a_backlog_loses_nothing_and_processes_nothing_twice() {
    if let Some(run) = crash_under_backlog(Persistence::AofAlways, true).await {
        assert_nothing_lost_nor_twice(&run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_workers_wait_for_the_live_ones_to_record_what_they_processed() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let claim_idle = Duration::from_secs(1);
    let config = config(&server).claim_idle(claim_idle).build().unwrap();
    let handler = Recorder::default();
    let receiver = Receiver::start(&config, handler.clone()).await;
    let mut conn = redis(&server).await;
    let group = RedisConfig::DEFAULT_GROUP;
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", "test:events", group, "0", "MKSTREAM"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let sent = send_all(receiver.addr, vec![after_send_msg("held")], 1).await;
    assert_eq!(sent, [StatusCode::OK]);

    // A worker of another process (played here, with the commands a worker sends) takes the
    // entry, holds its key's lease, and processes the event...
    let read: StreamReadReply = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            group,
            "elsewhere",
            "COUNT",
            "1",
            "STREAMS",
            "test:events",
            ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let entry = &read.keys[0].ids[0];
    let seen = format!("test:events:seen:{}", entry.get::<String>("key").unwrap());
    let lease = u64::try_from(claim_idle.as_millis()).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&seen)
        .arg("0")
        .arg(&["NX", "PX"])
        .arg(lease)
        .query_async(&mut conn)
        .await
        .unwrap();
    // ...but Redis dies before it records that, and stays down longer than the lease and the
    // claim time: when it is back the entry is idle enough to claim, the lease gone.
    server.stop();
    tokio::time::sleep(claim_idle * 2).await;
    server.restart();
    // Tencent sends the event again (its first answer was lost, say), and a worker starts.
    let again = send_until_ok(
        receiver.addr,
        &after_send_msg("held"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(again, StatusCode::OK);
    let pool = Pool::start(&config, &handler, 1);
    // The other worker is back 300 ms later and records what it did, as a worker does.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut conn = redis(&server).await;
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(&seen)
        .arg("1")
        .arg(&["PX", "86400000"])
        .ignore()
        .cmd("XACK")
        .arg("test:events")
        .arg(group)
        .arg(&entry.id)
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();

    // The worker waited for it: it neither claimed the entry nor processed the second one.
    let sent = send_all(receiver.addr, vec![after_send_msg("after")], 1).await;
    assert_eq!(sent, [StatusCode::OK]);
    eventually("the stream drained", Duration::from_secs(10), async || {
        handler.processed().contains_key(&key_of("after")) && drained(&mut conn).await
    })
    .await;
    let stats = pool.stop().await;
    assert_eq!(
        handler.processed().get(&key_of("held")),
        None,
        "processed again"
    );
    assert_eq!((stats.processed, stats.duplicates), (1, 1));
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_to_a_young_redis_does_not_hold_the_workers_back() {
    // A long claim time: a worker holding back for it would be obvious.
    let Some(setup) = setup(1, |c| c.claim_idle(Duration::from_secs(20))).await else {
        return;
    };
    setup.handler.0.paused.store(true, Ordering::SeqCst);
    let sent = send_all(setup.receiver.addr, vec![after_send_msg("first")], 1).await;
    assert_eq!(sent, [StatusCode::OK]);
    eventually(
        "the worker holds the event",
        Duration::from_secs(10),
        async || setup.handler.0.entered.load(Ordering::SeqCst) == 1,
    )
    .await;
    let mut conn = redis(&setup.server).await;
    // Every client's connection cut: the worker reconnects to a Redis up for seconds, with an
    // entry pending, delivered by this Redis (no restart).
    let _: redis::Value = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal"])
        .query_async(&mut conn)
        .await
        .unwrap();
    setup.handler.0.paused.store(false, Ordering::SeqCst);
    let reqs: Vec<_> = (0..4)
        .map(|i| after_send_msg(&format!("next{i}")))
        .collect();
    let started = Instant::now();
    for req in &reqs {
        assert_eq!(
            send_until_ok(setup.receiver.addr, req, Duration::from_secs(5)).await,
            StatusCode::OK
        );
    }
    wait_processed(&setup.handler, "next", 4).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "processed after {:?}: the worker held back",
        started.elapsed()
    );
    let stats = setup.pool.stop().await;
    assert_processed_once(&setup.handler, "next", 4);
    assert_eq!(
        setup.handler.processed().get(&key_of("first")),
        Some(&1),
        "{stats:?}"
    );
    setup.receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_answer_was_lost_finds_its_own_lease() {
    let Some(setup) = setup(0, |c| c.claim_idle(Duration::from_secs(20))).await else {
        return;
    };
    let sent = send_all(setup.receiver.addr, vec![after_send_msg("mine")], 1).await;
    assert_eq!(sent, [StatusCode::OK]);
    let mut conn = redis(&setup.server).await;
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&["test:events", "-", "+"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let entry = &entries.ids[0];
    let seen = format!("test:events:seen:{}", entry.get::<String>("key").unwrap());
    // The worker's attempt to take the key took, but its answer was lost with the connection.
    let _: () = redis::cmd("SET")
        .arg(&seen)
        .arg(format!("w1 {}", entry.id))
        .arg(&["PX", "20000"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let worker = RedisWorker::new(&setup.config, setup.handler.clone()).consumer("w1");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    // Processed now, not once the lease and the claim time (20 s) ran out.
    eventually("the event processed", Duration::from_secs(5), async || {
        setup.handler.processed().contains_key(&key_of("mine"))
    })
    .await;
    let _ = stop.send(());
    let stats = task.await.unwrap().unwrap();
    assert_eq!(stats.processed, 1);
    setup.receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_persistence_a_redis_crash_loses_no_acknowledged_event() {
    let Some(run) = crash_under_backlog(Persistence::None, false).await else {
        return;
    };
    println!(
        "answers {:?}, acked {}, processed {}, dead-lettered {}, backlog at the kill {}, {:?}",
        run.answers,
        run.acked.len(),
        run.processed.len(),
        run.dead.len(),
        run.backlog_at_kill,
        run.stats
    );
    let mut messages: Vec<_> = run.failures.iter().map(|f| f.1.clone()).collect();
    messages.sort();
    messages.dedup();
    println!("{messages:?}");
    let lost = run.lost();
    assert!(
        lost.is_empty(),
        "{} of {} events answered 200 were neither processed nor dead-lettered",
        lost.len(),
        run.acked.len()
    );
    assert_eq!(
        run.twice(),
        Vec::<(&String, &usize)>::new(),
        "processed twice"
    );
}

// ---------------------------------------------------------------------------------------------
// What the receiver requires of Redis, and what it tells.

/// This thread's logs and metrics, captured: under a current-thread runtime every task of the
/// test (receiver, workers, client) runs on it.
struct Signals {
    logs: Captured,
    snapshotter: metrics_util::debugging::Snapshotter,
    _logs: tracing::subscriber::DefaultGuard,
    _metrics: metrics::LocalRecorderGuard<'static>,
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Signals {
    fn capture() -> Signals {
        let recorder: &'static _ =
            Box::leak(Box::new(metrics_util::debugging::DebuggingRecorder::new()));
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        Signals {
            logs,
            snapshotter: recorder.snapshotter(),
            _logs: tracing::subscriber::set_default(subscriber),
            _metrics: metrics::set_default_local_recorder(recorder),
        }
    }

    /// The log lines at `level` that contain `text`.
    fn lines(&self, level: &str, text: &str) -> Vec<String> {
        let logs = String::from_utf8_lossy(&self.logs.0.lock().unwrap()).into_owned();
        logs.lines()
            .filter(|l| l.contains(level) && l.contains(text))
            .map(str::to_owned)
            .collect()
    }

    /// Every metric now, as `name{label=value,...}` and its value (a counter's count, a gauge's
    /// value).
    fn metrics(&self) -> HashMap<String, f64> {
        use metrics_util::debugging::DebugValue;
        let mut all = HashMap::new();
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(h) => h.len() as f64,
            };
            all.insert(name, value);
        }
        all
    }
}

/// Sends `req` until it is answered 200, for at most `limit`; the last status.
async fn send_until_ok(addr: SocketAddr, req: &SignedRequest, limit: Duration) -> StatusCode {
    let client = client();
    let started = Instant::now();
    loop {
        let status = send(&client, addr, req).await;
        if status == StatusCode::OK || started.elapsed() > limit {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_acknowledges_only_what_redis_keeps_as_the_setting_requires() {
    // (name, persistence, extra redis-server arguments, setting, None for a 200 or a part of
    // the reason for the 500)
    type Case<'a> = (
        &'a str,
        Persistence,
        &'a [&'a str],
        Durability,
        Option<&'a str>,
    );
    let no_config: &[&str] = &["--rename-command", "CONFIG", "\"\""];
    let evicts: &[&str] = &["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"];
    let cases: [Case<'_>; 9] = [
        (
            "AOF always, the default",
            Persistence::AofAlways,
            &[],
            Durability::AofAlways,
            None,
        ),
        (
            "AOF everysec, the default",
            Persistence::AofEverySec,
            &[],
            Durability::AofAlways,
            Some("appendfsync is everysec: a power loss or OS crash loses up to about a second"),
        ),
        (
            "AOF everysec, accepted",
            Persistence::AofEverySec,
            &[],
            Durability::AofEverySec,
            None,
        ),
        (
            "no AOF, everysec asked",
            Persistence::None,
            &[],
            Durability::AofEverySec,
            Some("appendonly is off"),
        ),
        (
            "no AOF, loss accepted",
            Persistence::None,
            &[],
            Durability::AcceptLoss,
            None,
        ),
        (
            "CONFIG disabled, the default",
            Persistence::AofAlways,
            no_config,
            Durability::AofAlways,
            Some("CONFIG may be renamed or disabled"),
        ),
        (
            "CONFIG disabled, loss accepted",
            Persistence::AofAlways,
            no_config,
            Durability::AcceptLoss,
            None,
        ),
        (
            "AOF always, but keys evicted when full",
            Persistence::AofAlways,
            evicts,
            Durability::AofAlways,
            Some("maxmemory-policy is allkeys-lru"),
        ),
        (
            "keys evicted when full, loss accepted",
            Persistence::AofAlways,
            evicts,
            Durability::AcceptLoss,
            None,
        ),
    ];
    for (name, persistence, extra, durability, refused) in cases {
        let Some(server) = RedisServer::start_with(persistence, extra) else {
            return;
        };
        let setup = setup_with(server, 1, |c| c.durability(durability)).await;
        let status = send_all(setup.receiver.addr, vec![after_send_msg(name)], 1).await;
        let failures = setup.receiver.failures.lock().unwrap().clone();
        match refused {
            None => {
                assert_eq!(status, [StatusCode::OK], "{name}: {failures:?}");
                eventually(name, Duration::from_secs(10), async || {
                    setup.handler.processed().contains_key(&key_of(name))
                })
                .await;
            }
            Some(reason) => {
                assert_eq!(status, [StatusCode::INTERNAL_SERVER_ERROR], "{name}");
                assert_eq!(failures.len(), 1, "{name}: {failures:?}");
                assert!(failures[0].1.contains(reason), "{name}: {failures:?}");
                let mut conn = redis(&setup.server).await;
                assert_eq!(
                    xlen(&mut conn, "test:events").await,
                    0,
                    "{name}: nothing written"
                );
            }
        }
        setup.pool.stop().await;
        setup.receiver.stop().await;
    }
}

/// AOF switched off at run time (`CONFIG SET appendonly no`) refuses the very next event, not
/// the first one after the next look (up to 5 s later, in which thousands of events were
/// acknowledged and lost by a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aof_switched_off_at_run_time_refuses_the_next_event() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let setup = setup_with(server, 1, |c| c).await;
    let first = send_all(setup.receiver.addr, vec![after_send_msg("on-0")], 1).await;
    assert_eq!(first, [StatusCode::OK]);
    let mut conn = redis(&setup.server).await;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "appendonly", "no"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let reqs: Vec<_> = (1..=20)
        .map(|i| after_send_msg(&format!("off-{i}")))
        .collect();
    let statuses = send_all(setup.receiver.addr, reqs, 1).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::INTERNAL_SERVER_ERROR),
        "every event after the switch is refused: {statuses:?}"
    );
    let failures = setup.receiver.failures.lock().unwrap().clone();
    assert!(
        failures
            .iter()
            .all(|(_, m)| m.contains("appendonly is off")),
        "{failures:?}"
    );
    setup.pool.stop().await;
    setup.receiver.stop().await;
}

#[tokio::test]
async fn a_refusal_is_logged_once_and_lifted_once_redis_persists() {
    let signals = Signals::capture();
    let Some(server) = RedisServer::start_with(Persistence::None, &[]) else {
        return;
    };
    let setup = setup_with(server, 1, |c| c).await;
    let reqs: Vec<_> = (0..30).map(|i| after_send_msg(&format!("r{i}"))).collect();
    let statuses = send_all(setup.receiver.addr, reqs, 4).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::INTERNAL_SERVER_ERROR),
        "{statuses:?}"
    );
    let warned = signals.lines("WARN", "would not keep what it acknowledges");
    assert_eq!(warned.len(), 1, "once, not per request: {warned:?}");
    assert!(warned[0].contains("appendonly is off"), "{warned:?}");
    let durable = "tencent_chat_webhook_queue_durable{}";
    assert_eq!(signals.metrics().get(durable), Some(&0.0));

    // AOF switched on at run time: acknowledged again within the recheck (5 s).
    let mut conn = redis(&setup.server).await;
    for (name, value) in [("appendfsync", "always"), ("appendonly", "yes")] {
        let _: () = redis::cmd("CONFIG")
            .arg(&["SET", name, value])
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let status = send_until_ok(
        setup.receiver.addr,
        &after_send_msg("after"),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    eventually("the event processed", Duration::from_secs(10), async || {
        setup.handler.processed().contains_key(&key_of("after"))
    })
    .await;
    assert_eq!(signals.metrics().get(durable), Some(&1.0));
    assert_eq!(
        signals.lines("INFO", "queueing after-events again").len(),
        1
    );
    assert_eq!(
        signals
            .lines("WARN", "would not keep what it acknowledges")
            .len(),
        1
    );
    let held = signals.lines("INFO", "reads and claims wait");
    assert!(held.is_empty(), "no restart, no wait: {held:?}");
    setup.pool.stop().await;
    setup.receiver.stop().await;
}

#[tokio::test]
async fn a_redis_that_comes_back_empty_is_reported_and_its_group_made_again() {
    let signals = Signals::capture();
    let Some(server) = RedisServer::start_with(Persistence::None, &[]) else {
        return;
    };
    // The operator accepted the risk: the receiver acknowledges what a restart then loses.
    let mut setup = setup_with(server, 1, |c| c.durability(Durability::AcceptLoss)).await;
    setup.handler.0.paused.store(true, Ordering::SeqCst);
    let reqs: Vec<_> = (0..20)
        .map(|i| after_send_msg(&format!("gone{i}")))
        .collect();
    let statuses = send_all(setup.receiver.addr, reqs, 4).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let mut conn = redis(&setup.server).await;
    eventually(
        "the worker holds a batch",
        Duration::from_secs(10),
        async || pending(&mut conn).await > 0,
    )
    .await;

    setup.server.stop();
    setup.server.restart();
    setup.handler.0.paused.store(false, Ordering::SeqCst);
    let status = send_until_ok(
        setup.receiver.addr,
        &after_send_msg("later"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    eventually(
        "the later event processed",
        Duration::from_secs(15),
        async || setup.handler.processed().contains_key(&key_of("later")),
    )
    .await;
    let stats = setup.pool.stop().await;
    setup.receiver.stop().await;

    let metrics = signals.metrics();
    let count = |name: &str| metrics.get(name).copied().unwrap_or(0.0);
    for side in ["receiver", "worker"] {
        let restarts = format!("tencent_chat_webhook_queue_restarts_total{{side={side}}}");
        assert_eq!(count(&restarts), 1.0, "{side}: {metrics:?}");
    }
    let receiver_lost =
        count("tencent_chat_webhook_queue_losses_total{side=receiver,what=stream_gone}")
            + count("tencent_chat_webhook_queue_losses_total{side=receiver,what=stream_behind}");
    assert!(receiver_lost >= 1.0, "{metrics:?}");
    assert_eq!(
        count("tencent_chat_webhook_queue_losses_total{side=worker,what=group_gone}"),
        1.0,
        "{metrics:?}"
    );
    let errors = signals.lines("ERROR", "came back with less than it had");
    assert!(
        errors.iter().any(|l| l.contains("side=\"receiver\""))
            && errors
                .iter()
                .any(|l| l.contains("the consumer group is gone")),
        "{errors:?}"
    );
    // What the restart lost is lost: only the batch the worker held in memory was processed.
    let processed = setup.handler.processed();
    let survived = (0..20)
        .filter(|i| processed.contains_key(&key_of(&format!("gone{i}"))))
        .count();
    assert!(survived < 20, "all the events before the restart processed");
    assert_eq!(stats.processed as usize, survived + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replicas_an_event_is_acknowledged_once_a_replica_has_it() {
    let Some(primary) = RedisServer::start_with(Persistence::None, &[]) else {
        return;
    };
    let wait = Durability::Replicas {
        count: 1,
        timeout: Duration::from_millis(200),
    };
    let setup = setup_with(primary, 1, |c| c.durability(wait)).await;
    let refused = send_all(setup.receiver.addr, vec![after_send_msg("alone")], 1).await;
    assert_eq!(refused, [StatusCode::INTERNAL_SERVER_ERROR]);
    let failures = setup.receiver.failures.lock().unwrap().clone();
    assert!(
        failures[0]
            .1
            .contains("0 replicas are online and the durability setting asks for 1"),
        "{failures:?}"
    );

    let port = setup.server.port.to_string();
    let replica =
        RedisServer::start_with(Persistence::None, &["--replicaof", "127.0.0.1", &port]).unwrap();
    let status = send_until_ok(
        setup.receiver.addr,
        &after_send_msg("copied"),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "acknowledged once the replica is online"
    );
    let mut on_replica = redis(&replica).await;
    eventually(
        "the entry on the replica",
        Duration::from_secs(5),
        async || xlen(&mut on_replica, "test:events").await >= 1,
    )
    .await;
    eventually("the event processed", Duration::from_secs(10), async || {
        setup.handler.processed().contains_key(&key_of("copied"))
    })
    .await;

    // The replica gone, the next event waits for it, in vain, and is refused.
    drop(replica);
    let statuses = send_all(setup.receiver.addr, vec![after_send_msg("orphan")], 1).await;
    assert_eq!(statuses, [StatusCode::INTERNAL_SERVER_ERROR]);
    let failures = setup.receiver.failures.lock().unwrap().clone();
    assert!(
        failures.last().is_some_and(|f| f
            .1
            .contains("0 of the 1 replicas took the event within 200ms")
            || f.1.contains("0 replicas are online")),
        "{failures:?}"
    );
    setup.pool.stop().await;
    setup.receiver.stop().await;
}
