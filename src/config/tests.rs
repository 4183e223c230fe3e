//! The configuration's unit tests.

use super::*;

#[test]
fn build_table() {
    let cases = [
        (
            "nothing",
            WebhookConfig::builder(1),
            Err(ConfigError::NoToken { app_id: 1 }),
        ),
        (
            "token",
            WebhookConfig::builder(1).token("t"),
            Ok(vec![true]),
        ),
        (
            "empty token",
            WebhookConfig::builder(1).token(""),
            Err(ConfigError::EmptyToken { app_id: 1 }),
        ),
        (
            "one empty of two",
            WebhookConfig::builder(1).token("t").token(""),
            Err(ConfigError::EmptyToken { app_id: 1 }),
        ),
        (
            "trailing newline, as read from a file",
            WebhookConfig::builder(1).token("t\n"),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "leading space, as copied from a console",
            WebhookConfig::builder(1).token(" t"),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "a tab inside",
            WebhookConfig::builder(1).token("t\tu"),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "a carriage return inside",
            WebhookConfig::builder(1).token("t\r\nu"),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "a no-break space at the end",
            WebhookConfig::builder(1).token("t\u{a0}"),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "whitespace only",
            WebhookConfig::builder(1).token("  "),
            Err(ConfigError::TokenWhitespace { app_id: 1 }),
        ),
        (
            "a space inside is kept",
            WebhookConfig::builder(1).token("t u"),
            Ok(vec![true]),
        ),
        (
            "the second app's old token, with a newline",
            WebhookConfig::builder(1)
                .token("t")
                .app(2)
                .token("new")
                .token("old\n"),
            Err(ConfigError::TokenWhitespace { app_id: 2 }),
        ),
        (
            "explicit opt-out",
            WebhookConfig::builder(1).without_signature_check(),
            Ok(vec![false]),
        ),
        (
            "both",
            WebhookConfig::builder(1)
                .token("t")
                .without_signature_check(),
            Err(ConfigError::TokenWithoutSignatureCheck { app_id: 1 }),
        ),
        (
            "two apps, one opted out",
            WebhookConfig::builder(1)
                .token("t")
                .app(2)
                .without_signature_check(),
            Ok(vec![true, false]),
        ),
        (
            "the second app forgot its token",
            WebhookConfig::builder(1).token("t").app(2),
            Err(ConfigError::NoToken { app_id: 2 }),
        ),
        (
            "an app twice",
            WebhookConfig::builder(1).token("t").app(1).token("u"),
            Err(ConfigError::DuplicateApp { app_id: 1 }),
        ),
    ];
    for (name, builder, want) in cases {
        let got = builder.build().map(|c| {
            c.app_ids()
                .map(|id| c.checks_signature(id))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn config_errors_print_their_message_from_main() {
    let err = WebhookConfig::builder(1400000000).build().unwrap_err();
    let from_main = format!("Error: {err:?}");
    assert!(
        from_main.starts_with("Error: no callback token configured for app 1400000000"),
        "{from_main}"
    );
}

#[test]
fn a_token_with_whitespace_names_its_app_but_not_the_token() {
    let err = WebhookConfig::builder(1)
        .token("fine")
        .app(1400000001)
        .token("s3cret-token\n")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("app 1400000001"), "{text}");
    assert!(text.contains("whitespace"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn debug_redacts_tokens_everywhere() {
    let builder = WebhookConfig::builder(7).token("tok-one").token("tok-two");
    let b = format!("{builder:?}");
    let c = format!("{:?}", builder.build().unwrap());
    for text in [b, c] {
        assert!(!text.contains("tok-"), "{text}");
        assert!(text.contains("redacted; 2"), "{text}");
    }
}

#[test]
fn defaults() {
    let c = WebhookConfig::builder(7).token("t").build().unwrap();
    assert_eq!(c.body_limit(), 1024 * 1024);
    assert_eq!(c.failure_decision(), FailureDecision::Allow);
    assert_eq!(c.max_skew(), Duration::from_secs(60));
    assert_eq!(
        c.inner.apps[0].verifier.as_ref().unwrap().max_skew(),
        Duration::from_secs(60)
    );
    assert_eq!(
        c.deadline(),
        cfg!(feature = "tokio").then_some(Duration::from_millis(1500))
    );
    assert_eq!(
        c.after_deadline(),
        AfterDeadline::Finish {
            max_in_background: 256
        }
    );
    assert_eq!(c.background_limit(), Duration::from_secs(60));
}

/// A deadline is enforced by the `tokio` feature's timer: asked for without it, the
/// configuration is refused rather than the deadline silently ignored. (The crate's own
/// dev-dependency turns the feature on in every test build, so the check is run for both
/// values of the feature, and `build` for the one it was built with.)
#[test]
fn a_deadline_needs_the_tokio_feature() {
    let second = Duration::from_secs(1);
    let refused = Err(ConfigError::DeadlineWithoutTokio);
    // (name, builder, the deadline with the feature, the check without it)
    let cases = [
        (
            "asked",
            WebhookConfig::builder(7).token("t").deadline(second),
            Some(second),
            refused,
        ),
        (
            "not asked",
            WebhookConfig::builder(7).token("t"),
            Some(WebhookConfig::DEFAULT_DEADLINE),
            Ok(()),
        ),
        (
            "asked, then turned off",
            WebhookConfig::builder(7)
                .token("t")
                .deadline(second)
                .no_deadline(),
            None,
            Ok(()),
        ),
    ];
    for (name, builder, with_tokio, without_tokio) in cases {
        assert_eq!(builder.check_deadline(true), Ok(()), "{name}");
        assert_eq!(builder.check_deadline(false), without_tokio, "{name}");
        let built = builder.build().map(|c| c.deadline());
        if cfg!(feature = "tokio") {
            assert_eq!(built, Ok(with_tokio), "{name}");
        } else {
            assert_eq!(built.map(|_| ()), without_tokio, "{name}");
        }
    }
}
