//! The command line: clap's parsing, then the checks that need more than one argument, the
//! environment or the file system, all ending in a [`clap::Error`] so every usage error looks
//! the same and exits 2.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use http::Uri;
use tencent_chat_webhook::Command;
use tencent_chat_webhook::test_util::{self, DEMO_APP_ID, DEMO_TOKEN, SignedRequest};

/// Where the examples serve webhooks (`examples/common/demo.rs`: `DEFAULT_ADDR`, `WEBHOOK_PATH`).
const DEFAULT_URL: &str = "http://127.0.0.1:8080/tencent/chat/webhook";
/// The environment variable a token is read from, as the examples read theirs.
pub(crate) const TOKEN_ENV: &str = "CALLBACK_TOKEN";

/// Send signed Tencent Cloud Chat webhooks, as Tencent does, to a server under development.
///
/// Requests are signed with the examples' defaults (app id 1400000000, the public demo token)
/// unless --sdkappid and the token options say otherwise. A real token is best given in
/// CALLBACK_TOKEN or a file (--token-file): a --token value is visible to every user of the
/// machine in the process list. Plain http:// only.
#[derive(Debug, Parser)]
#[command(
    name = "tencent-chat-webhook",
    version,
    subcommand_value_name = "SUBCOMMAND"
)]
struct Cli {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Send one signed webhook (Tencent's sample of the command, or --body FILE) and print the
    /// status and the reply; exits 1 unless the answer is 2xx.
    Send(Target),
    /// Send --count webhooks, --concurrency at a time, and print the throughput and latency
    /// percentiles; exits 1 if any answer was not 2xx or did not come.
    Load(LoadArgs),
    /// Print the signature for a token and a time, and a query string carrying it (for curl).
    Sign(SignArgs),
}

/// What to send, and where.
#[derive(Debug, Args)]
struct Target {
    /// Where to send: a plain http:// URL (this tool does not speak TLS).
    #[arg(long, value_name = "URL", default_value = DEFAULT_URL, value_parser = http_url)]
    url: Uri,
    /// The CallbackCommand, e.g. C2C.CallbackBeforeSendMsg. Without --body it must be one this
    /// crate knows, whose documented sample is sent.
    #[arg(long, value_name = "NAME")]
    command: String,
    /// Send this file as the body instead of the documented sample (any command name is then
    /// accepted).
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
    /// The SdkAppid.
    #[arg(long, value_name = "N", default_value_t = DEMO_APP_ID, allow_negative_numbers = true)]
    sdkappid: u64,
    #[command(flatten)]
    token: TokenArgs,
    /// Sign with this RequestTime (Unix seconds) instead of now, e.g. a stale one.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    time: Option<u64>,
    /// Send no Sign and no RequestTime, as Tencent does with authentication off.
    #[arg(long, conflicts_with_all = ["token", "token_file", "time"])]
    unsigned: bool,
    /// Give up on an answer after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = at_least_one::<u64>, allow_negative_numbers = true)]
    timeout: u64,
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[command(flatten)]
    target: Target,
    /// How many requests to send.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = at_least_one::<usize>, allow_negative_numbers = true)]
    count: usize,
    /// How many requests to keep in flight at once (at most --count).
    #[arg(long, value_name = "C", default_value_t = 10, value_parser = at_least_one::<usize>, allow_negative_numbers = true)]
    concurrency: usize,
}

/// Where the token comes from: `--token`, `--token-file`, or else the environment.
#[derive(Debug, Args)]
struct TokenArgs {
    /// The token to sign with. Without --token or --token-file: $CALLBACK_TOKEN, else (send and
    /// load) the public demo token, demo-token-change-me. A value given here is visible to every
    /// user of the machine (ps, /proc/PID/cmdline): fine for the demo token, not for a real one.
    #[arg(long, value_name = "T", value_parser = token, conflicts_with = "token_file")]
    token: Option<Token>,
    /// Read the token to sign with from this file: its content, without a final newline.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token: `--token`, else the file's, else the environment's; `None` when none is set.
    fn resolve(self, subcommand: &str, env: &Env<'_>) -> Result<Option<Token>, clap::Error> {
        if let Some(token) = self.token {
            return Ok(Some(token));
        }
        if let Some(path) = self.token_file {
            let shown = path.display();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                usage_error(
                    subcommand,
                    format!("cannot read --token-file `{shown}`: {e}"),
                )
            })?;
            let token = text.strip_suffix('\n').unwrap_or(&text);
            let token = token.strip_suffix('\r').unwrap_or(token);
            if token.contains(['\n', '\r']) {
                return Err(usage_error(
                    subcommand,
                    format!("--token-file `{shown}` holds more than one line; a token is one line"),
                ));
            }
            return self::token(token)
                .map(Some)
                .map_err(|e| usage_error(subcommand, format!("--token-file `{shown}`: {e}")));
        }
        match env(TOKEN_ENV) {
            None => Ok(None),
            Some(value) => {
                let value = value.into_string().map_err(|_| {
                    usage_error(subcommand, format!("{TOKEN_ENV} is not valid UTF-8"))
                })?;
                self::token(&value)
                    .map(Some)
                    .map_err(|e| usage_error(subcommand, format!("{TOKEN_ENV}: {e}")))
            }
        }
    }
}

/// Reads an environment variable (the process's, or a test's).
pub(crate) type Env<'a> = dyn Fn(&str) -> Option<OsString> + 'a;

/// What `sign` takes from the command line.
#[derive(Debug, Args)]
struct SignArgs {
    #[command(flatten)]
    token: TokenArgs,
    /// The RequestTime to sign (Unix seconds).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    time: u64,
    /// The SdkAppid written in the query string.
    #[arg(long, value_name = "N", default_value_t = DEMO_APP_ID, allow_negative_numbers = true)]
    sdkappid: u64,
    /// The CallbackCommand written in the query string.
    #[arg(long, value_name = "NAME", default_value = "C2C.CallbackBeforeSendMsg", value_parser = known_command)]
    command: Command,
}

/// What `sign` prints: `Sign=<hex>`, then the query string.
#[derive(Debug)]
pub(crate) struct Signing {
    token: Token,
    time: u64,
    sdkappid: u64,
    command: Command,
}

impl Signing {
    /// The two lines `sign` prints: `Sign=<hex>` and the query string.
    pub(crate) fn lines(&self) -> [String; 2] {
        let request = SignedRequest::new(self.command.as_str(), "")
            .app_id(self.sdkappid)
            .token(&self.token.0)
            .request_time(self.time)
            .client_ip(None)
            .platform(None);
        [
            format!(
                "Sign={}",
                tencent_chat_webhook::signature::sign(&self.token.0, self.time)
            ),
            request.query_string(),
        ]
    }
}

/// A token from the command line: never shown in `Debug`.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

fn token(value: &str) -> Result<Token, String> {
    if value.is_empty() {
        return Err("a token cannot be empty".to_owned());
    }
    // The server's rule, applied by its configuration: a token with surrounding whitespace or
    // a control character is refused there, so signing with one would only earn 401s.
    if let Err(tencent_chat_webhook::ConfigError::TokenWhitespace { .. }) =
        tencent_chat_webhook::WebhookConfig::builder(DEMO_APP_ID)
            .token(value)
            .build()
    {
        return Err(
            "a token cannot begin or end with whitespace, or hold a line break or another control character (the server refuses such a token in its configuration, and Tencent signs with the token as its console shows it)"
                .to_owned(),
        );
    }
    Ok(Token(value.to_owned()))
}

/// A whole number of at least 1 (clap's own range message would print `u64::MAX`).
fn at_least_one<T: std::str::FromStr + PartialEq + From<u8>>(value: &str) -> Result<T, String> {
    match value.parse::<T>() {
        Ok(n) if n == T::from(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a whole number".to_owned()),
    }
}

fn http_url(value: &str) -> Result<Uri, String> {
    let url: Uri = value.parse().map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(
                "https:// is not supported: this local tool speaks plain http:// only \
                 (send to the server's own http:// port, behind its TLS proxy)"
                    .to_owned(),
            );
        }
        _ => {
            return Err(format!(
                "not an http:// URL with a host, such as {DEFAULT_URL}"
            ));
        }
    }
    if url.host().is_none_or(str::is_empty) {
        return Err(format!("no host in it; for example {DEFAULT_URL}"));
    }
    if url.query().is_some() {
        return Err(
            "it has a query string, and this tool writes the query itself \
             (SdkAppid, CallbackCommand, Sign, RequestTime...): pass the path alone"
                .to_owned(),
        );
    }
    Ok(url)
}

fn known_commands() -> String {
    Command::ALL
        .iter()
        .map(|c| format!("\n  {c}"))
        .collect::<String>()
}

fn known_command(value: &str) -> Result<Command, String> {
    Command::from_wire(value).ok_or_else(|| {
        format!(
            "not a command this crate knows; the known ones:{}",
            known_commands()
        )
    })
}

/// One request, ready to sign and send (again and again, for `load`).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The URL; only its authority and path are used.
    pub(crate) url: Uri,
    /// The request, signed at send time unless `--time` fixed `RequestTime`.
    pub(crate) request: SignedRequest,
    /// How long to wait for an answer.
    pub(crate) timeout: Duration,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Job {
    /// One request.
    Send(Outgoing),
    /// `count` requests, `concurrency` at a time (never more than `count`).
    Load {
        /// The request, sent `count` times.
        outgoing: Outgoing,
        /// How many.
        count: usize,
        /// How many at once.
        concurrency: usize,
    },
    /// Print a signature and a query string.
    Sign(Signing),
}

/// Parses the command line (program name first), with the process's environment. The error is
/// ready to print: a usage error (exit code 2), or the help or version text (exit code 0).
pub(crate) fn parse<I, T>(args: I) -> Result<Job, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_with(args, &|name| std::env::var_os(name))
}

/// [`parse`], reading the environment through `env`.
pub(crate) fn parse_with<I, T>(args: I, env: &Env<'_>) -> Result<Job, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args)?.action {
        Action::Send(target) => Ok(Job::Send(target.resolve("send", env)?)),
        Action::Load(load) => Ok(Job::Load {
            outgoing: load.target.resolve("load", env)?,
            count: load.count,
            concurrency: load.concurrency.min(load.count),
        }),
        Action::Sign(sign) => {
            let token = sign.token.resolve("sign", env)?.ok_or_else(|| {
                usage_error_of(
                    "sign",
                    ErrorKind::MissingRequiredArgument,
                    format!(
                        "no token to sign with: pass --token-file FILE, set {TOKEN_ENV}, or pass --token T"
                    ),
                )
            })?;
            Ok(Job::Sign(Signing {
                token,
                time: sign.time,
                sdkappid: sign.sdkappid,
                command: sign.command,
            }))
        }
    }
}

impl Target {
    /// Reads the body (the file, or the command's sample) and the token, and builds the request.
    fn resolve(self, subcommand: &str, env: &Env<'_>) -> Result<Outgoing, clap::Error> {
        let body = match &self.body {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                usage_error(
                    subcommand,
                    format!("cannot read --body file `{}`: {e}", path.display()),
                )
            })?,
            None => match Command::from_wire(&self.command) {
                Some(known) => test_util::sample(known).to_owned(),
                None => {
                    return Err(usage_error(
                        subcommand,
                        format!(
                            "unknown command `{}`: pass --body FILE to send it anyway, or use one of:{}",
                            self.command,
                            known_commands()
                        ),
                    ));
                }
            },
        };
        let mut request = SignedRequest::new(self.command, body)
            .app_id(self.sdkappid)
            .path(self.url.path());
        request = if self.unsigned {
            request.unsigned()
        } else {
            let token = self.token.resolve(subcommand, env)?;
            request.token(token.map_or_else(|| DEMO_TOKEN.to_owned(), |t| t.0))
        };
        if let Some(time) = self.time {
            request = request.request_time(time);
        }
        Ok(Outgoing {
            url: self.url,
            request,
            timeout: Duration::from_secs(self.timeout),
        })
    }
}

/// A usage error shown with the usage line of `subcommand`, like clap's own.
fn usage_error(subcommand: &str, message: String) -> clap::Error {
    usage_error_of(subcommand, ErrorKind::InvalidValue, message)
}

fn usage_error_of(subcommand: &str, kind: ErrorKind, message: String) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(kind, message),
        None => cli.error(kind, message),
    }
}

#[cfg(test)]
mod tests;
