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
    let Job::Sign(sign) = parse_env(&["sign", "--time", "1669872112"], Some("xxxxyyyy")).unwrap()
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
