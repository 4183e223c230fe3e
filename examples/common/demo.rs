//! The demo handler and settings shared by every example (and by the end-to-end tests).
//!
//! Settings come from the environment, with defaults that need no configuration:
//! `LISTEN_ADDR` (127.0.0.1:8080), `SDKAPPID` (1400000000), `CALLBACK_TOKEN` (a demo token).
#![allow(dead_code, unreachable_pub)] // each example uses a different part of this file

use std::net::SocketAddr;

use tencent_chat_webhook::message::{MsgContent, MsgElement, TextElem};
use tencent_chat_webhook::official_account::{
    AddSubscriberDecision, AfterAddSubscriber, AfterCreateOfficialAccount, AfterDeleteSubscriber,
    AfterMsgWithDraw, AfterOfficialAccountDestroyed, AfterOfficialAccountFull,
    AfterOfficialAccountInfoChanged, AfterSendMsg, BeforeAddSubscriber,
    BeforeCreateOfficialAccount, BeforeSendMsg, CreateOfficialAccountDecision, SendMsgDecision,
};
use tencent_chat_webhook::{
    CustomErrorCode, Handler, HandlerResult, Reply, RequestContext, UnknownEvent, WebhookConfig,
    WebhookService,
};

/// Where every example serves webhooks.
pub const WEBHOOK_PATH: &str = "/tencent/chat/webhook";
/// The app id used when `SDKAPPID` is not set.
pub const DEFAULT_APP_ID: u64 = 1_400_000_000;
/// The token used when `CALLBACK_TOKEN` is not set. It is public (it is in this file), so it is
/// the one token the examples print; a token from the environment is never printed.
pub const DEMO_TOKEN: &str = "demo-token-change-me";
/// The address used when `LISTEN_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The code the demo denies forbidden account names with.
const NAME_DENIED: Option<CustomErrorCode> = CustomErrorCode::new(120_001);

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
        WebhookConfig::builder(self.app_id)
            .token(&self.token)
            .build()
            .map_err(|e| e.to_string())
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
            "  try: cargo run --example send -- --url http://{bound}{WEBHOOK_PATH} --command OfficialAccount.CallbackBeforeSendMsg"
        );
    }
}

/// What every stack example does first: logging, settings, the service with the demo handler,
/// and a bound listener, announced on stdout.
pub async fn listen(
    what: &str,
) -> Result<(tokio::net::TcpListener, WebhookService), Box<dyn std::error::Error>> {
    init_logging();
    let settings = Settings::from_env()?;
    let webhook = WebhookService::new(settings.config()?, DemoHandler);
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    settings.announce(listener.local_addr()?, what);
    Ok((listener, webhook))
}

/// Logs at info by default; `RUST_LOG` overrides.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// A handler that shows each kind of decision. Every event logs one line with its key ids
/// (never the body: message text is user content).
pub struct DemoHandler;

impl Handler for DemoHandler {
    async fn on_official_account_before_create_official_account(
        &self,
        ctx: &RequestContext,
        e: BeforeCreateOfficialAccount,
    ) -> HandlerResult<CreateOfficialAccountDecision> {
        tracing::info!(command = ctx.command(), owner = %e.owner_account, operator = %e.operator_account, "event");
        match NAME_DENIED {
            Some(code) if e.name.to_lowercase().contains("forbidden") => Ok(
                CreateOfficialAccountDecision::deny_with(code, "this account name is not allowed"),
            ),
            _ => Ok(CreateOfficialAccountDecision::Allow),
        }
    }

    async fn on_official_account_after_create_official_account(
        &self,
        ctx: &RequestContext,
        e: AfterCreateOfficialAccount,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, owner = %e.owner_account, "event");
        Ok(())
    }

    async fn on_official_account_after_info_changed(
        &self,
        ctx: &RequestContext,
        e: AfterOfficialAccountInfoChanged,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, operator = %e.operator_account, "event");
        Ok(())
    }

    async fn on_official_account_after_destroyed(
        &self,
        ctx: &RequestContext,
        e: AfterOfficialAccountDestroyed,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, owner = %e.owner_account, "event");
        Ok(())
    }

    async fn on_official_account_before_add_subscriber(
        &self,
        ctx: &RequestContext,
        e: BeforeAddSubscriber,
    ) -> HandlerResult<AddSubscriberDecision> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, subscribers = e.subscribe_account_list.len(), "event");
        let banned: Vec<String> = e
            .subscribers()
            .filter(|id| id.starts_with("banned_"))
            .map(str::to_owned)
            .collect();
        Ok(AddSubscriberDecision::Refuse(banned))
    }

    async fn on_official_account_after_add_subscriber(
        &self,
        ctx: &RequestContext,
        e: AfterAddSubscriber,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, subscribers = e.subscribe_account_list.len(), "event");
        Ok(())
    }

    async fn on_official_account_after_full(
        &self,
        ctx: &RequestContext,
        e: AfterOfficialAccountFull,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, "event");
        Ok(())
    }

    async fn on_official_account_after_delete_subscriber(
        &self,
        ctx: &RequestContext,
        e: AfterDeleteSubscriber,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, subscribers = e.subscribe_account_list.len(), "event");
        Ok(())
    }

    async fn on_official_account_before_send_msg(
        &self,
        ctx: &RequestContext,
        e: BeforeSendMsg,
    ) -> HandlerResult<SendMsgDecision> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, elements = e.msg_body.len(), "event");
        Ok(moderate(e.msg_body))
    }

    async fn on_official_account_after_send_msg(
        &self,
        ctx: &RequestContext,
        e: AfterSendMsg,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, msg_key = %e.msg_key, "event");
        Ok(())
    }

    async fn on_official_account_after_msg_withdraw(
        &self,
        ctx: &RequestContext,
        e: AfterMsgWithDraw,
    ) -> HandlerResult<()> {
        tracing::info!(command = ctx.command(), official_account = %e.official_account, recalled = e.withdraw_msg_list.len(), "event");
        Ok(())
    }

    async fn on_unknown(&self, ctx: &RequestContext, _e: UnknownEvent) -> HandlerResult<Reply> {
        tracing::info!(
            command = ctx.command(),
            "event not known to this crate; answered OK"
        );
        Ok(Reply::ok())
    }
}

/// Drop spam; mask "badword"; otherwise allow. Non-text elements pass through untouched.
pub fn moderate(body: Vec<MsgElement>) -> SendMsgDecision {
    if body
        .iter()
        .filter_map(MsgElement::as_text)
        .any(|t| t.contains("spam"))
    {
        return SendMsgDecision::Drop;
    }
    if !body
        .iter()
        .filter_map(MsgElement::as_text)
        .any(|t| t.contains("badword"))
    {
        return SendMsgDecision::Allow;
    }
    let rewritten = body
        .into_iter()
        .map(|mut elem| {
            if let MsgContent::Text(TextElem { text, .. }) = &mut elem.content {
                *text = text.replace("badword", "***");
            }
            elem
        })
        .collect();
    SendMsgDecision::rewrite_body(rewritten)
}
