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
mod tests {
    use super::*;

    /// Parses `args` with no `CALLBACK_TOKEN` in the environment.
    fn parse(args: &[&str]) -> Result<Job, clap::Error> {
        parse_env(args, None)
    }

    /// Parses `args` with `CALLBACK_TOKEN` set to `token`, when given.
    fn parse_env(args: &[&str], token: Option<&str>) -> Result<Job, clap::Error> {
        let env = move |name: &str| {
            assert_eq!(name, TOKEN_ENV, "the tool reads no other variable");
            token.map(OsString::from)
        };
        super::parse_with(
            std::iter::once("tencent-chat-webhook").chain(args.iter().copied()),
            &env,
        )
    }

    fn outgoing(args: &[&str]) -> Outgoing {
        match parse(args).unwrap() {
            Job::Send(o) => o,
            other => panic!("not a send: {other:?}"),
        }
    }

    /// A fixture file, to send with `--body`.
    fn fixture() -> String {
        format!(
            "{}/fixtures/events/C2C.CallbackAfterSendMsg.json",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn send_defaults_are_the_quickstarts() {
        let o = outgoing(&["send", "--command", "OfficialAccount.CallbackBeforeSendMsg"]);
        assert_eq!(o.url, DEFAULT_URL);
        assert_eq!(o.timeout, Duration::from_secs(10));
        let want = SignedRequest::sample(Command::OfficialAccountBeforeSendMsg).request_time(5);
        let got = o.request.request_time(5);
        assert_eq!(got.query_string(), want.query_string());
        assert_eq!(got.path_and_query(), want.path_and_query());
        assert_eq!(got.body_text(), want.body_text());
    }

    #[test]
    fn send_options_shape_the_request() {
        let fixture = fixture();
        let o = outgoing(&[
            "send",
            "--url",
            "http://localhost:9000/hook",
            "--command",
            "Custom.NotYetKnown",
            "--body",
            &fixture,
            "--sdkappid",
            "888888",
            "--token",
            "xxxxyyyy",
            "--time",
            "1669872112",
            "--timeout",
            "3",
        ]);
        assert_eq!(o.url.authority().unwrap(), "localhost:9000");
        assert_eq!(o.timeout, Duration::from_secs(3));
        assert_eq!(
            o.request.path_and_query(),
            "/hook?SdkAppid=888888&CallbackCommand=Custom.NotYetKnown&contenttype=json\
             &ClientIP=127.0.0.1&OptPlatform=RESTAPI\
             &Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112"
        );
        assert_eq!(
            o.request.body_text(),
            std::fs::read_to_string(&fixture).unwrap()
        );
    }

    #[test]
    fn unsigned_sends_no_signature() {
        let o = outgoing(&["send", "--command", "State.StateChange", "--unsigned"]);
        let q = o.request.query_string();
        assert!(!q.contains("Sign=") && !q.contains("RequestTime="), "{q}");
    }

    #[test]
    fn load_caps_concurrency_at_count() {
        let cases: [(&[&str], usize, usize); 3] = [
            (&[], 1000, 10),
            (&["--count", "3", "--concurrency", "10"], 3, 3),
            (&["--count", "20", "--concurrency", "4"], 20, 4),
        ];
        for (extra, want_count, want_concurrency) in cases {
            let mut args = vec!["load", "--command", "C2C.CallbackAfterSendMsg"];
            args.extend_from_slice(extra);
            match parse(&args).unwrap() {
                Job::Load {
                    count, concurrency, ..
                } => assert_eq!(
                    (count, concurrency),
                    (want_count, want_concurrency),
                    "{extra:?}"
                ),
                other => panic!("not a load: {other:?}"),
            }
        }
    }

    #[test]
    fn sign_prints_the_signature_and_the_query() {
        let cases: [(&[&str], [&str; 2]); 2] = [
            (
                &["--token", "xxxxyyyy", "--time", "1669872112"],
                [
                    "Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
                    "SdkAppid=1400000000&CallbackCommand=C2C.CallbackBeforeSendMsg&contenttype=json\
                     &Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112",
                ],
            ),
            (
                &[
                    "--token",
                    "xxxxyyyy",
                    "--time",
                    "1669872112",
                    "--sdkappid",
                    "888888",
                    "--command",
                    "OfficialAccount.CallbackAfterOfficialAccountFull",
                ],
                [
                    "Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
                    "SdkAppid=888888&CallbackCommand=OfficialAccount.CallbackAfterOfficialAccountFull\
                     &contenttype=json\
                     &Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112",
                ],
            ),
        ];
        for (extra, want) in cases {
            let args: Vec<&str> = std::iter::once("sign")
                .chain(extra.iter().copied())
                .collect();
            match parse(&args).unwrap() {
                Job::Sign(sign) => assert_eq!(sign.lines(), want.map(str::to_owned), "{extra:?}"),
                other => panic!("not a sign: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_input_is_a_clear_usage_error() {
        const OK: &str = "C2C.CallbackBeforeSendMsg";
        let cases: &[(&[&str], ErrorKind, &str)] = &[
            (
                &[],
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand,
                "Usage:",
            ),
            (
                &["frobnicate"],
                ErrorKind::InvalidSubcommand,
                "unrecognized subcommand 'frobnicate'",
            ),
            (
                &["send"],
                ErrorKind::MissingRequiredArgument,
                "--command <NAME>",
            ),
            (
                &["load"],
                ErrorKind::MissingRequiredArgument,
                "--command <NAME>",
            ),
            (
                &["send", "--command"],
                ErrorKind::InvalidValue,
                "a value is required for '--command <NAME>'",
            ),
            (
                &["send", "--command", OK, "--nope"],
                ErrorKind::UnknownArgument,
                "unexpected argument '--nope'",
            ),
            (
                &["send", "--command", "Nope.Nothing"],
                ErrorKind::InvalidValue,
                "unknown command `Nope.Nothing`: pass --body FILE",
            ),
            (
                &["load", "--command", "Nope.Nothing"],
                ErrorKind::InvalidValue,
                "\n  Group.CallbackBeforeSendMsg",
            ),
            (
                &["send", "--command", OK, "--sdkappid", "abc"],
                ErrorKind::ValueValidation,
                "invalid value 'abc' for '--sdkappid <N>'",
            ),
            (
                &["send", "--command", OK, "--sdkappid", "-1"],
                ErrorKind::ValueValidation,
                "invalid value '-1' for '--sdkappid <N>'",
            ),
            (
                &["send", "--command", OK, "--time", "soon"],
                ErrorKind::ValueValidation,
                "invalid value 'soon' for '--time <SECS>'",
            ),
            (
                &["send", "--command", OK, "--timeout", "0"],
                ErrorKind::ValueValidation,
                "invalid value '0' for '--timeout <SECS>': must be at least 1",
            ),
            (
                &["load", "--command", OK, "--count", "many"],
                ErrorKind::ValueValidation,
                "invalid value 'many' for '--count <N>': not a whole number",
            ),
            (
                &["load", "--command", OK, "--count", "-3"],
                ErrorKind::ValueValidation,
                "invalid value '-3' for '--count <N>': not a whole number",
            ),
            (
                &[
                    "load",
                    "--command",
                    OK,
                    "--count",
                    "99999999999999999999999",
                ],
                ErrorKind::ValueValidation,
                "not a whole number",
            ),
            (
                &["load", "--command", OK, "--count", "0"],
                ErrorKind::ValueValidation,
                "invalid value '0' for '--count <N>': must be at least 1",
            ),
            (
                &["load", "--command", OK, "--concurrency", "0"],
                ErrorKind::ValueValidation,
                "invalid value '0' for '--concurrency <C>': must be at least 1",
            ),
            (
                &["send", "--command", OK, "--count", "2"],
                ErrorKind::UnknownArgument,
                "unexpected argument '--count'",
            ),
            (
                &["send", "--command", OK, "--url", "https://example.com/hook"],
                ErrorKind::ValueValidation,
                "https:// is not supported",
            ),
            (
                &["send", "--command", OK, "--url", "ht tp://x"],
                ErrorKind::ValueValidation,
                "not a URL",
            ),
            (
                &["send", "--command", OK, "--url", "ftp://x/"],
                ErrorKind::ValueValidation,
                "not an http:// URL",
            ),
            (
                &["send", "--command", OK, "--url", "/tencent/chat/webhook"],
                ErrorKind::ValueValidation,
                "not an http:// URL",
            ),
            (
                &["send", "--command", OK, "--url", "http://h/p?a=1"],
                ErrorKind::ValueValidation,
                "has a query string",
            ),
            (
                &["send", "--command", OK, "--body", "/nonexistent/body.json"],
                ErrorKind::InvalidValue,
                "cannot read --body file `/nonexistent/body.json`",
            ),
            (
                &["send", "--command", OK, "--token", ""],
                ErrorKind::ValueValidation,
                "a token cannot be empty",
            ),
            (
                &["send", "--command", OK, "--unsigned", "--token", "t"],
                ErrorKind::ArgumentConflict,
                "'--unsigned' cannot be used with",
            ),
            (
                &["send", "--command", OK, "--unsigned", "--time", "5"],
                ErrorKind::ArgumentConflict,
                "'--unsigned' cannot be used with",
            ),
            (
                &["sign", "--time", "5"],
                ErrorKind::MissingRequiredArgument,
                "no token to sign with: pass --token-file FILE, set CALLBACK_TOKEN, or pass --token T",
            ),
            (
                &["sign", "--time", "5", "--token", "t", "--token-file", "f"],
                ErrorKind::ArgumentConflict,
                "'--token <T>' cannot be used with '--token-file <FILE>'",
            ),
            (
                &["send", "--command", OK, "--unsigned", "--token-file", "f"],
                ErrorKind::ArgumentConflict,
                "'--unsigned' cannot be used with",
            ),
            (
                &[
                    "send",
                    "--command",
                    OK,
                    "--token-file",
                    "/nonexistent/token",
                ],
                ErrorKind::InvalidValue,
                "cannot read --token-file `/nonexistent/token`",
            ),
            (
                &["sign", "--token", "t"],
                ErrorKind::MissingRequiredArgument,
                "--time <SECS>",
            ),
            (
                &["sign", "--token", "t", "--time", "-5"],
                ErrorKind::ValueValidation,
                "invalid value '-5' for '--time <SECS>'",
            ),
            (
                &["sign", "--token", "t", "--time", "5", "--command", "Nope"],
                ErrorKind::ValueValidation,
                "not a command this crate knows; the known ones:\n  OfficialAccount.",
            ),
        ];
        for (args, kind, want) in cases {
            let err = parse(args).expect_err(&format!("{args:?} parsed"));
            let text = err.render().to_string();
            assert_eq!(err.kind(), *kind, "{args:?}: {text}");
            assert!(text.contains(want), "{args:?}: {text}");
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(!text.contains("panicked"), "{args:?}: {text}");
        }
    }

    #[test]
    fn usage_errors_show_the_subcommands_usage() {
        let err = parse(&["load", "--command", "Nope.Nothing"]).err().unwrap();
        let text = err.render().to_string();
        assert!(text.contains("Usage: tencent-chat-webhook load"), "{text}");
    }

    #[test]
    fn help_and_version_exit_zero() {
        let cases: [(&[&str], &[&str]); 6] = [
            (&["--help"], &["send", "load", "sign", "Plain http:// only"]),
            (&["help"], &["send", "load", "sign"]),
            (
                &["send", "--help"],
                &[
                    "--command <NAME>",
                    "--body <FILE>",
                    "--unsigned",
                    "--url <URL>",
                    "--token-file <FILE>",
                    "$CALLBACK_TOKEN, else (send and load) the public demo token, demo-token-change-me",
                ],
            ),
            (
                &["load", "--help"],
                &["--count <N>", "--concurrency <C>", "--command <NAME>"],
            ),
            (
                &["sign", "--help"],
                &["--token <T>", "--time <SECS>", "--sdkappid <N>"],
            ),
            (&["help", "sign"], &["--token <T>"]),
        ];
        for (args, wants) in cases {
            let err = parse(args).err().unwrap();
            assert_eq!(err.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert_eq!(err.exit_code(), 0, "{args:?}");
            let text = err.render().to_string();
            for want in wants {
                assert!(text.contains(want), "{args:?} lacks {want}: {text}");
            }
        }
        let err = parse(&["--version"]).err().unwrap();
        assert_eq!(
            (err.kind(), err.exit_code()),
            (ErrorKind::DisplayVersion, 0)
        );
    }

    /// A token file in the temporary directory, named for this process; its path, as a `str`.
    /// Removed when dropped.
    struct TokenFile(String);

    fn token_file(name: &str, content: &str) -> TokenFile {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        TokenFile(path.to_str().unwrap().to_owned())
    }

    impl std::ops::Deref for TokenFile {
        type Target = str;

        fn deref(&self) -> &str {
            &self.0
        }
    }

    impl fmt::Display for TokenFile {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl Drop for TokenFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn the_token_comes_from_the_option_the_file_the_environment_or_the_demo() {
        let file = token_file("cli-token-ok", "from-the-file\n");
        let crlf = token_file("cli-token-crlf", "from-a-crlf-file\r\n");
        let bare = token_file("cli-token-bare", "from-a-bare-file");
        let send = ["send", "--command", "State.StateChange"];
        // (name, extra arguments, CALLBACK_TOKEN, the token signed with)
        let cases: [(&str, &[&str], Option<&str>, &str); 7] = [
            ("the demo token by default", &[], None, DEMO_TOKEN),
            ("the environment", &[], Some("from-env"), "from-env"),
            (
                "--token over the environment",
                &["--token", "from-argv"],
                Some("from-env"),
                "from-argv",
            ),
            (
                "--token-file over the environment",
                &["--token-file", &file],
                Some("from-env"),
                "from-the-file",
            ),
            (
                "a file's CRLF",
                &["--token-file", &crlf],
                None,
                "from-a-crlf-file",
            ),
            (
                "a file without a newline",
                &["--token-file", &bare],
                None,
                "from-a-bare-file",
            ),
            (
                "--unsigned ignores the environment",
                &["--unsigned"],
                Some("from-env"),
                "",
            ),
        ];
        for (name, extra, env, want) in cases {
            let args: Vec<&str> = send.iter().chain(extra).copied().collect();
            let Job::Send(o) = parse_env(&args, env).unwrap() else {
                panic!("{name}: not a send");
            };
            let signed = o.request.request_time(1_669_872_112).query_string();
            let expected = if want.is_empty() {
                SignedRequest::new("State.StateChange", "").unsigned()
            } else {
                SignedRequest::new("State.StateChange", "").token(want)
            }
            .request_time(1_669_872_112)
            .query_string();
            assert_eq!(signed, expected, "{name}");
        }
        // `sign` takes its token the same way.
        let Job::Sign(sign) =
            parse_env(&["sign", "--time", "1669872112"], Some("xxxxyyyy")).unwrap()
        else {
            panic!("not a sign");
        };
        assert_eq!(
            sign.lines()[0],
            "Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
        );
    }

    #[test]
    fn a_bad_token_source_is_a_usage_error_that_does_not_show_the_token() {
        let empty = token_file("cli-token-empty", "\n");
        let two_lines = token_file("cli-token-two-lines", "s3cret-t0ken\nand-more\n");
        // (name, extra arguments, CALLBACK_TOKEN, the message)
        let spaced = token_file("cli-token-spaced", "s3cret-t0ken \n");
        let cases: [(&str, &[&str], Option<&str>, String); 5] = [
            (
                "a trailing space in the file",
                &["--token-file", &spaced],
                None,
                format!("--token-file `{spaced}`: a token cannot begin or end with whitespace"),
            ),
            (
                "a leading space in the variable",
                &[],
                Some(" s3cret-t0ken"),
                "CALLBACK_TOKEN: a token cannot begin or end with whitespace".to_owned(),
            ),
            (
                "an empty file",
                &["--token-file", &empty],
                None,
                format!("--token-file `{empty}`: a token cannot be empty"),
            ),
            (
                "two lines",
                &["--token-file", &two_lines],
                None,
                format!("--token-file `{two_lines}` holds more than one line"),
            ),
            (
                "an empty variable",
                &[],
                Some(""),
                "CALLBACK_TOKEN: a token cannot be empty".to_owned(),
            ),
        ];
        for (name, extra, env, want) in cases {
            let args: Vec<&str> = ["send", "--command", "State.StateChange"]
                .iter()
                .chain(extra)
                .copied()
                .collect();
            let err = parse_env(&args, env).expect_err(name);
            let text = err.render().to_string();
            assert_eq!(err.exit_code(), 2, "{name}");
            assert!(text.contains(&want), "{name}: {text}");
            assert!(!text.contains("s3cret"), "{name}: {text}");
        }
    }

    #[test]
    fn a_token_never_shows() {
        let job = parse(&[
            "send",
            "--command",
            "State.StateChange",
            "--token",
            "s3cret-t0ken",
        ])
        .unwrap();
        assert!(!format!("{job:?}").contains("s3cret-t0ken"));
        let job = parse(&["sign", "--token", "s3cret-t0ken", "--time", "5"]).unwrap();
        assert!(!format!("{job:?}").contains("s3cret-t0ken"));
        // Not even in the help text of a conflict.
        let err = parse(&[
            "send",
            "--command",
            "State.StateChange",
            "--unsigned",
            "--token",
            "s3cret-t0ken",
        ])
        .err()
        .unwrap();
        assert!(!err.render().to_string().contains("s3cret-t0ken"));
    }
}
