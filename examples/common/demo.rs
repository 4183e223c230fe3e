//! The demo handler and settings shared by every example (and by the end-to-end tests).
//!
//! Settings come from the environment, with defaults that need no configuration:
//! `LISTEN_ADDR` (127.0.0.1:8080), `SDKAPPID` (1400000000), `CALLBACK_TOKEN` (a demo token),
//! `RUST_LOG` (`info`).
//!
//! The examples serve with the crate's own server, `tencent_chat_webhook::server::serve`
//! (feature `server`), whose limits keep clients that connect and send nothing, half a request,
//! a slow body or requests that are not webhooks from starving it.
#![allow(dead_code, unreachable_pub)] // each example uses a different part of this file

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use tencent_chat_webhook::message::MessageEvent;
use tencent_chat_webhook::sns::FriendDecision;
use tencent_chat_webhook::{
    CustomCode, CustomErrorCode, Event, FriendErrorCode, GateDecision, GroupErrorCode, Handler,
    HandlerResult, ImStr, Reply, RequestContext, SendDecision, UnknownEvent, UnparsedEvent,
    WebhookConfig, WebhookService, c2c, chatbot, group, official_account, sns,
};
use tokio::net::TcpListener;

/// The quickstart's app: the webhook endpoint as a route of an axum router, with a request log
/// that leaves out the query (it carries `Sign`, a credential). Here rather than in the
/// quickstart so that the tests of the published package, which cannot ship the quick start's
/// own package, serve the same app.
///
/// Any other path gets a JSON 404 that names the webhook's path (a trailing slash in the URL
/// given to Tencent's console is an easy mistake, and axum's own 404 has an empty body).
pub fn app(webhook: WebhookService) -> axum::Router {
    axum::Router::new()
        .route_service(WEBHOOK_PATH, webhook)
        .fallback(not_found)
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(tencent_chat_webhook::http_span::<axum::body::Body>),
        )
}

/// The answer to a path that is not the webhook's, in the crate's error shape.
pub async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    let info = format!(
        "no webhook at {}: this server takes Tencent's webhooks at {WEBHOOK_PATH}",
        uri.path()
    );
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::NOT_FOUND,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        Reply::fail(404, info).to_json(),
    ))
}

/// Where every example serves webhooks.
pub const WEBHOOK_PATH: &str = "/tencent/chat/webhook";
/// The app id used when `SDKAPPID` is not set.
pub const DEFAULT_APP_ID: u64 = 1_400_000_000;
/// The token used when `CALLBACK_TOKEN` is not set. It is public (it is in this file), so it is
/// the one token the examples print; a token from the environment is never printed.
pub const DEMO_TOKEN: &str = "demo-token-change-me";
/// The address used when `LISTEN_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Settings read from the environment.
pub struct Settings {
    pub addr: SocketAddr,
    pub app_id: u64,
    token: String,
    token_is_demo: bool,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
        let addr = addr
            .parse()
            .map_err(|e| format!("LISTEN_ADDR `{addr}` is not an address: {e}"))?;
        let app_id = match std::env::var("SDKAPPID") {
            Ok(v) => v
                .parse()
                .map_err(|e| format!("SDKAPPID `{v}` is not a number: {e}"))?,
            Err(_) => DEFAULT_APP_ID,
        };
        let (token, token_is_demo) = match std::env::var("CALLBACK_TOKEN") {
            Ok(t) => (t, false),
            Err(_) => (DEMO_TOKEN.to_owned(), true),
        };
        Ok(Settings {
            addr,
            app_id,
            token,
            token_is_demo,
        })
    }

    pub fn config(&self) -> Result<WebhookConfig, String> {
        self.config_builder().build().map_err(|e| e.to_string())
    }

    /// The token, for a server that checks signatures by hand (the HTTP benchmark's minimal
    /// receiver). Never printed.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The builder [`config`](Settings::config) builds, for a server that sets more.
    #[allow(dead_code)] // not every example sets more
    pub fn config_builder(&self) -> tencent_chat_webhook::WebhookConfigBuilder {
        WebhookConfig::builder(self.app_id).token(&self.token)
    }

    /// Prints where the server listens and how to try it.
    pub fn announce(&self, bound: SocketAddr, what: &str) {
        println!("{what} listening on http://{bound}{WEBHOOK_PATH}");
        println!("  SdkAppid: {}", self.app_id);
        if self.token_is_demo {
            println!("  token: {DEMO_TOKEN} (demo default; set CALLBACK_TOKEN for a real one)");
        } else {
            println!("  token: from CALLBACK_TOKEN (not shown)");
        }
        println!(
            "  try: cargo run --features cli --bin tencent-chat-webhook -- send --url http://{bound}{WEBHOOK_PATH} --command OfficialAccount.CallbackBeforeSendMsg"
        );
    }
}

/// What every stack example does first: logging, settings, the service with the demo handler,
/// and a bound listener, announced on stdout.
pub async fn listen(
    what: &str,
) -> Result<(TcpListener, WebhookService), Box<dyn std::error::Error>> {
    init_logging();
    let settings = Settings::from_env()?;
    let webhook = WebhookService::new(settings.config()?, DemoHandler);
    let listener = bind(settings.addr).await?;
    settings.announce(listener.local_addr()?, what);
    Ok((listener, webhook))
}

/// Binds `addr`, or says in one line which address could not be had and how to pick another
/// (instead of `Os { code: 98, kind: AddrInUse, .. }`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
            _ => e.to_string(),
        };
        format!("cannot listen on {addr}: {why}; set LISTEN_ADDR to another address")
    })
}

/// Logs to stdout at `info`, or as `RUST_LOG` says (`RUST_LOG=debug`,
/// `RUST_LOG=tencent_chat_webhook=debug,tower_http=debug`, ...; a directive that does not parse
/// is reported on stderr and skipped, the others still apply). Colours only on a terminal, and
/// not with `NO_COLOR` set: a log file gets plain text.
pub fn init_logging() {
    init_logging_at(tracing_subscriber::filter::LevelFilter::INFO);
}

/// [`init_logging`] with another default level than `info` (`RUST_LOG` still wins).
pub fn init_logging_at(default: tracing_subscriber::filter::LevelFilter) {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(default.into())
        .from_env_lossy();
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .try_init();
}

/// The exit status of an example's `main`: on error, one line on stderr (the error's message,
/// not its `Debug` form) and a non-zero status.
pub fn exit_code(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C, or on SIGTERM (what `docker stop`, systemd and Kubernetes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
}

/// A handler that shows each kind of decision, for every family:
///
/// - messages (Official Account, one-to-one, group), through one [`moderate`] function: a text
///   containing "spam" (any case) is dropped silently; "badword" is replaced by `***`;
/// - group invites, official account subscriptions and friend requests: users whose id starts with
///   `banned_` are refused (friend requests with code 38000), the rest allowed;
/// - creating a group, a topic or an official account whose name contains "forbidden" (any case)
///   is denied with the family's code (group 10100, official account 120001).
///
/// Every event logs one line with its command, key ids and the decision taken; never a message
/// text, which is user content.
pub struct DemoHandler;

const OA_DENIED: Option<CustomErrorCode> = CustomErrorCode::new(120_001);
const GROUP_DENIED: Option<GroupErrorCode> = GroupErrorCode::new(10_100);
const FRIEND_REFUSED: Option<FriendErrorCode> = FriendErrorCode::new(38_000);

fn is_banned(user: &str) -> bool {
    user.starts_with("banned_")
}

fn is_forbidden(name: &str) -> bool {
    contains_ignoring_case(name, "forbidden")
}

/// Whether `text` contains the ASCII `word` in any case, without building a lowercase copy (no
/// other character lowercases to one of the ASCII letters these words are made of).
fn contains_ignoring_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Drop spam; mask "badword"; otherwise allow. One function for every message family: it sees a
/// message through [`MessageEvent`] and answers in the family's own code range `C`.
pub fn moderate<C: CustomCode>(msg: &impl MessageEvent) -> SendDecision<C> {
    if msg.texts().any(|t| contains_ignoring_case(t, "spam")) {
        return SendDecision::Drop;
    }
    // Most messages need no mask: only those are copied and rewritten.
    if !msg.texts().any(|t| t.contains("badword")) {
        return SendDecision::Allow;
    }
    match msg.rewrite_texts(|t| t.replace("badword", "***")) {
        Some(body) => SendDecision::rewrite_body(body),
        None => SendDecision::Allow,
    }
}

/// Moderates a message event and logs it.
fn moderated<C: CustomCode>(ctx: &RequestContext, msg: &impl MessageEvent) -> SendDecision<C> {
    let decision = moderate(msg);
    let outcome = match &decision {
        SendDecision::Drop => "drop",
        SendDecision::Rewrite { .. } => "rewrite",
        _ => "allow",
    };
    tracing::info!(command = ctx.command(), sender = msg.sender(), conversation = ?msg.conversation(), decision = outcome, "event");
    decision
}

/// Denies a forbidden name with `code`, else allows; logs it.
fn gate<C: CustomCode>(ctx: &RequestContext, name: &str, code: Option<C>) -> GateDecision<C> {
    match code {
        Some(code) if is_forbidden(name) => {
            tracing::info!(command = ctx.command(), decision = "deny", "event");
            GateDecision::deny_with(code, "this name is not allowed")
        }
        _ => {
            tracing::info!(command = ctx.command(), decision = "allow", "event");
            GateDecision::Allow
        }
    }
}

/// The users to refuse among `users`; logs how many.
fn banned<'a>(ctx: &RequestContext, users: impl Iterator<Item = &'a str>) -> Vec<ImStr> {
    let refused: Vec<ImStr> = users.filter(|u| is_banned(u)).map(ImStr::from).collect();
    tracing::info!(
        command = ctx.command(),
        refused = refused.len(),
        decision = if refused.is_empty() {
            "allow"
        } else {
            "refuse some"
        },
        "event"
    );
    refused
}

fn friend_decision<'a>(
    ctx: &RequestContext,
    targets: impl Iterator<Item = &'a str>,
) -> FriendDecision {
    let refused = banned(ctx, targets);
    match FRIEND_REFUSED {
        Some(code) => refused
            .into_iter()
            .fold(FriendDecision::allow_all(), |d, u| {
                d.refuse(u, code, "this user cannot be added")
            }),
        None => FriendDecision::allow_all(),
    }
}

/// The ids an event is about, for a log line: the top-level id fields of its JSON (never text).
fn key_ids(event: &Event) -> String {
    const IDS: [&str; 10] = [
        "GroupId",
        "GroupID",
        "TopicId",
        "Official_Account",
        "From_Account",
        "To_Account",
        "Operator_Account",
        "Owner_Account",
        "Report_Account",
        "MsgKey",
    ];
    let json = serde_json::to_value(event).unwrap_or_default();
    let mut ids: Vec<String> = IDS
        .iter()
        .filter_map(|k| {
            json.get(*k)
                .and_then(|v| v.as_str())
                .map(|v| format!("{k}={v}"))
        })
        .collect();
    if let Some(events) = json.get("Events").and_then(|e| e.as_array()) {
        ids.push(format!("events={}", events.len()));
    }
    ids.join(" ")
}

impl Handler for DemoHandler {
    async fn on_official_account_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeSendMsg,
    ) -> HandlerResult<official_account::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_c2c_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: c2c::BeforeSendMsg,
    ) -> HandlerResult<c2c::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        Ok(moderated(ctx, &e))
    }

    async fn on_official_account_before_create(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeCreate,
    ) -> HandlerResult<official_account::CreateDecision> {
        Ok(gate(ctx, e.name.as_deref().unwrap_or_default(), OA_DENIED))
    }

    async fn on_group_before_create(
        &self,
        ctx: &RequestContext,
        e: group::BeforeCreate,
    ) -> HandlerResult<group::CreateDecision> {
        Ok(gate(
            ctx,
            e.name.as_deref().unwrap_or_default(),
            GROUP_DENIED,
        ))
    }

    async fn on_group_before_create_topic(
        &self,
        ctx: &RequestContext,
        e: group::BeforeCreateTopic,
    ) -> HandlerResult<group::CreateTopicDecision> {
        Ok(gate(
            ctx,
            e.name.as_deref().unwrap_or_default(),
            GROUP_DENIED,
        ))
    }

    async fn on_group_before_apply_join(
        &self,
        ctx: &RequestContext,
        e: group::BeforeApplyJoin,
    ) -> HandlerResult<group::ApplyJoinDecision> {
        tracing::info!(command = ctx.command(), group = %e.group_id, decision = "allow", "event");
        Ok(group::ApplyJoinDecision::Allow)
    }

    async fn on_official_account_before_add_subscriber(
        &self,
        ctx: &RequestContext,
        e: official_account::BeforeAddSubscriber,
    ) -> HandlerResult<official_account::AddSubscriberDecision> {
        Ok(official_account::AddSubscriberDecision::Refuse(banned(
            ctx,
            e.subscribers(),
        )))
    }

    async fn on_group_before_invite_join(
        &self,
        ctx: &RequestContext,
        e: group::BeforeInviteJoin,
    ) -> HandlerResult<group::InviteDecision> {
        Ok(group::InviteDecision::Refuse(banned(ctx, e.invited())))
    }

    async fn on_sns_prev_friend_add(
        &self,
        ctx: &RequestContext,
        e: sns::PrevFriendAdd,
    ) -> HandlerResult<sns::FriendDecision> {
        Ok(friend_decision(ctx, e.targets()))
    }

    async fn on_sns_prev_friend_response(
        &self,
        ctx: &RequestContext,
        e: sns::PrevFriendResponse,
    ) -> HandlerResult<sns::FriendDecision> {
        Ok(friend_decision(ctx, e.targets()))
    }

    async fn on_chatbot_c2c_signal_message(
        &self,
        ctx: &RequestContext,
        e: chatbot::C2cSignalMessage,
    ) -> HandlerResult<Reply> {
        tracing::info!(command = ctx.command(), from = %e.from_account, to = %e.to_account, decision = "ok", "event");
        Ok(Reply::ok())
    }

    async fn on_after_event(&self, ctx: &RequestContext, e: Event) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), ids = %key_ids(&e), decision = "ok", "event");
        Ok(())
    }

    async fn on_unknown(&self, ctx: &RequestContext, _e: UnknownEvent) -> HandlerResult<Reply> {
        tracing::info!(
            command = ctx.command(),
            decision = "ok",
            "event not known to this crate"
        );
        Ok(Reply::ok())
    }

    async fn on_unparsed(
        &self,
        ctx: &RequestContext,
        e: UnparsedEvent,
    ) -> HandlerResult<Option<Reply>> {
        tracing::warn!(command = ctx.command(), path = %e.path, "event body does not fit its type; default answer");
        Ok(None)
    }
}
