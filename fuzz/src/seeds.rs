//! Seed corpora, from Tencent's documented samples (`fixtures/events/*.json`, through
//! `test_util::sample`): `corpus/<target>/` for each target.

use std::fs;
use std::io;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use tencent_chat_webhook::test_util::{PUBLISHED_INFO_CHANGED_SAMPLE, sample};
use tencent_chat_webhook::{Command, signature};

use crate::service::{PATH, ServiceInput, command_byte, command_value, special_command};
use crate::verifier::VerifierInput;
use crate::{
    APP, APP_ROTATING, APP_UNKNOWN, APP_UNSIGNED, NOW, RawBytes, TOKEN_A, TOKEN_B_OLD, body,
};

/// Named seed inputs.
type Seeds = Vec<(String, Vec<u8>)>;

/// Writes every target's seeds under `root` (`root/<target>/<name>`), and returns how many.
pub fn write_all(root: &Path) -> io::Result<Vec<(&'static str, usize)>> {
    check_selectors()?;
    let sets: [(&str, Seeds); 4] = [
        ("body", body_seeds()),
        ("query", query_seeds()),
        ("verifier", verifier_seeds()),
        ("service", service_seeds()),
    ];
    let mut counts = Vec::new();
    for (target, seeds) in sets {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        for (name, bytes) in &seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        counts.push((target, seeds.len()));
    }
    Ok(counts)
}

/// Seeds choose commands by name: every name's selector byte picks that name again, in both
/// targets that take one, or seeding fails (and with it `fuzz/run.sh`).
fn check_selectors() -> io::Result<()> {
    let names = Command::ALL.iter().map(|c| c.as_str());
    for name in names.chain(body::UNKNOWN_COMMANDS) {
        let picked = body::command_name(body::selector(name));
        if picked != name {
            return Err(io::Error::other(format!("body: {name} selects {picked}")));
        }
    }
    for &cmd in Command::ALL {
        let picked = command_value(command_byte(cmd));
        if picked.as_deref() != Some(cmd.as_str()) {
            return Err(io::Error::other(format!("service: {cmd} selects {picked:?}")));
        }
    }
    Ok(())
}

fn file_name(command: &str) -> String {
    command.replace('.', "_")
}

/// `[selector] + body`: every command's sample, the published (broken) sample, and an unknown
/// command of each kind.
pub fn body_seeds() -> Seeds {
    let mut out: Seeds = Command::ALL
        .iter()
        .map(|&cmd| {
            let mut bytes = vec![body::selector(cmd.as_str())];
            bytes.extend_from_slice(sample(cmd).as_bytes());
            (file_name(cmd.as_str()), bytes)
        })
        .collect();
    let info = Command::OfficialAccountAfterInfoChanged;
    let mut published = vec![body::selector(info.as_str())];
    published.extend_from_slice(PUBLISHED_INFO_CHANGED_SAMPLE.as_bytes());
    out.push(("published".into(), published));
    for (i, name) in body::UNKNOWN_COMMANDS.iter().enumerate() {
        let mut bytes = vec![body::selector(name)];
        bytes.extend_from_slice(
            format!(r#"{{"CallbackCommand":"{name}","X":[1,"2",{{}}]}}"#).as_bytes(),
        );
        out.push((format!("unknown-{i}"), bytes));
    }
    out
}

/// A signed query for `command`, as Tencent sends it.
pub fn signed_query(app: u64, command: &str, token: &str, time: u64) -> String {
    format!(
        "SdkAppid={app}&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1\
         &OptPlatform=RESTAPI&Sign={}&RequestTime={time}",
        signature::sign(token, time)
    )
}

pub fn query_seeds() -> Seeds {
    let mut out: Seeds = Command::ALL
        .iter()
        .map(|cmd| {
            let q = signed_query(APP, cmd.as_str(), TOKEN_A, NOW);
            (file_name(cmd.as_str()), q.into_bytes())
        })
        .collect();
    let group = "Group.CallbackAfterGroupFull";
    let more = [
        (
            "rotating-old",
            signed_query(APP_ROTATING, group, TOKEN_B_OLD, NOW - 59),
        ),
        ("stale", signed_query(APP, group, TOKEN_A, NOW + 61)),
        ("wrong-app", signed_query(APP_UNKNOWN, group, TOKEN_A, NOW)),
        (
            "unsigned",
            format!("SdkAppid={APP_UNSIGNED}&CallbackCommand={group}"),
        ),
        (
            "console-check",
            format!("Sign={}&RequestTime={NOW}", signature::sign(TOKEN_A, NOW)),
        ),
        (
            "duplicate",
            format!("{}&Sign=00", signed_query(APP, group, TOKEN_A, NOW)),
        ),
        (
            "encoded",
            signed_query(APP, "Group%2ECallbackAfterGroupFull", TOKEN_A, NOW)
                .replace("Sign", "Si%67n"),
        ),
    ];
    out.extend(
        more.into_iter()
            .map(|(n, q)| (n.to_owned(), q.into_bytes())),
    );
    out
}

pub fn verifier_seeds() -> Seeds {
    // Tencent's documented example: token xxxxyyyy, RequestTime 1669872112.
    const KNOWN: &str = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";
    let base = VerifierInput {
        now_secs: 1_669_872_112,
        now_nanos: 0,
        skew_secs: 60,
        signer: 0,
        offset: 60,
        flags: 0,
        rest: RawBytes(VerifierInput::rest_of(KNOWN, "1669872112", &["xxxxyyyy"])),
    };
    let seeds = [
        ("documented", base.clone()),
        (
            "upper-two-tokens",
            VerifierInput {
                signer: 1,
                flags: 8,
                rest: RawBytes(VerifierInput::rest_of(
                    &KNOWN.to_uppercase(),
                    "1669872112",
                    &["other", "xxxxyyyy"],
                )),
                ..base.clone()
            },
        ),
        (
            "stale",
            VerifierInput {
                now_secs: 1_669_872_112 + 61,
                ..base.clone()
            },
        ),
        (
            "leading-zero",
            VerifierInput {
                rest: RawBytes(VerifierInput::rest_of(KNOWN, "01669872112", &["xxxxyyyy"])),
                ..base.clone()
            },
        ),
        (
            "before-epoch",
            VerifierInput {
                flags: 4,
                skew_secs: u64::MAX,
                ..base.clone()
            },
        ),
        (
            "missing",
            VerifierInput {
                flags: 3,
                rest: RawBytes::default(),
                ..base
            },
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, input)| {
            let bytes = input.to_bytes();
            let decoded = VerifierInput::arbitrary_take_rest(Unstructured::new(&bytes))
                .expect("a verifier seed decodes");
            assert_eq!(
                decoded, input,
                "the verifier seed {name} does not decode to itself"
            );
            (name.to_owned(), bytes)
        })
        .collect()
}

pub fn service_seeds() -> Seeds {
    let mut seeds: Vec<(String, ServiceInput)> = Command::ALL
        .iter()
        .map(|&cmd| {
            (
                file_name(cmd.as_str()),
                ServiceInput::signed(cmd, sample(cmd).as_bytes()),
            )
        })
        .collect();
    let c2c = Command::C2cBeforeSendMsg;
    let after = Command::GroupAfterSendMsg;
    let base = ServiceInput::signed(c2c, sample(c2c).as_bytes());
    let after_base = ServiceInput::signed(after, sample(after).as_bytes());
    let raw_query = format!("{PATH}?{}", signed_query(APP, c2c.as_str(), TOKEN_A, NOW));
    let mut raw = raw_query.clone().into_bytes();
    raw.extend_from_slice(sample(c2c).as_bytes());
    let variants = [
        // Small chunks with pauses, empty frames and trailers; a stalled body; a broken one.
        (
            "chunked",
            ServiceInput {
                chunks: [0x40 | 7, 0x80 | 3, 0xC0 | 1, 16],
                size_hint: 4,
                ..base.clone()
            },
        ),
        (
            "stall",
            ServiceInput {
                chunks: [0xC0 | 62, 63, 63, 63],
                ..base.clone()
            },
        ),
        (
            "read-error",
            ServiceInput {
                chunks: [10, 0xC0 | 63, 63, 63],
                ..base.clone()
            },
        ),
        // The handler fails, panics, or is late, before and after.
        (
            "before-error",
            ServiceInput {
                handler: [0, 3, 0, 0],
                ..base.clone()
            },
        ),
        (
            "before-panic",
            ServiceInput {
                handler: [0, 4, 0, 0],
                config: 0x10,
                ..base.clone()
            },
        ),
        (
            "before-late",
            ServiceInput {
                handler: [0, 6 | (5 << 3), 0, 0],
                ..base.clone()
            },
        ),
        (
            "before-rewrite",
            ServiceInput {
                handler: [0, 4 << 3, 0, 0],
                ..base.clone()
            },
        ),
        (
            "after-panic",
            ServiceInput {
                handler: [5, 0, 0, 0],
                ..after_base.clone()
            },
        ),
        (
            "after-late",
            ServiceInput {
                handler: [7 | (5 << 3), 0, 0, 0],
                config2: 4,
                ..after_base.clone()
            },
        ),
        (
            "after-late-cancel",
            ServiceInput {
                handler: [6 | (6 << 3), 0, 0, 0],
                config: 0x20,
                ..after_base.clone()
            },
        ),
        (
            "after-dedup",
            ServiceInput {
                config: 0x40,
                handler: [3, 0, 0, 0],
                ..after_base.clone()
            },
        ),
        (
            "no-runtime",
            ServiceInput {
                config: 0x80,
                handler: [6 | (3 << 3), 0, 0, 0],
                ..after_base.clone()
            },
        ),
        // Requests refused before the body: another app, no signature, a stale one, GET, a big
        // declared body.
        (
            "unknown-app",
            ServiceInput {
                app: 3,
                ..base.clone()
            },
        ),
        (
            "rotating-old-token",
            ServiceInput {
                app: 1,
                sign: 2 << 3,
                ..base.clone()
            },
        ),
        (
            "unsigned-app",
            ServiceInput {
                app: 2,
                sign: 4,
                ..base.clone()
            },
        ),
        (
            "stale",
            ServiceInput {
                time_skew: 61,
                ..base.clone()
            },
        ),
        (
            "get",
            ServiceInput {
                method: 224,
                ..base.clone()
            },
        ),
        (
            "too-large",
            ServiceInput {
                headers: [[3, 0], [0, 0], [0, 0]],
                config: 1,
                ..base.clone()
            },
        ),
        // The console check: signed, no app, no command, no body.
        (
            "console-check",
            ServiceInput {
                app: 4,
                command: special_command(2),
                rest: RawBytes::default(),
                ..base.clone()
            },
        ),
        // The command from the body only; an unknown command; a body that does not fit.
        (
            "command-in-body",
            ServiceInput {
                command: special_command(2),
                ..base.clone()
            },
        ),
        (
            "unknown-command",
            ServiceInput {
                command: special_command(0),
                handler: [0, 0, 3 << 3, 0],
                rest: br#"{"CallbackCommand":"Group.CallbackBeforeFuture","GroupId":"@TGS#1"}"#
                    .to_vec()
                    .into(),
                ..base.clone()
            },
        ),
        (
            "unparsed",
            ServiceInput {
                handler: [0, 0, 0, 2 << 3],
                rest: br#"{"CallbackCommand":"C2C.CallbackBeforeSendMsg","MsgBody":7}"#
                    .to_vec()
                    .into(),
                ..base.clone()
            },
        ),
        // Behind the layer, on the webhook path and another one.
        (
            "layer",
            ServiceInput {
                config2: 0x10,
                ..base.clone()
            },
        ),
        (
            "layer-other-path",
            ServiceInput {
                config2: 0x10,
                target: 2,
                raw_len: 7,
                rest: RawBytes(b"/health".to_vec()),
                ..base.clone()
            },
        ),
        // Path and query from the raw bytes.
        (
            "raw-target",
            ServiceInput {
                target: 3,
                raw_len: u16::try_from(raw_query.len()).unwrap_or(0),
                rest: RawBytes(raw),
                ..base.clone()
            },
        ),
    ];
    seeds.extend(variants.into_iter().map(|(n, s)| (n.to_owned(), s)));
    seeds
        .into_iter()
        .map(|(name, input)| {
            let bytes = input.to_bytes();
            let decoded = ServiceInput::arbitrary_take_rest(Unstructured::new(&bytes))
                .expect("a service seed decodes");
            assert_eq!(
                decoded, input,
                "the service seed {name} does not decode to itself"
            );
            (name, bytes)
        })
        .collect()
}

/// The variable that makes a target write the seed corpora and exit: `TCW_FUZZ_SEED_DIR=DIR`.
pub const SEED_DIR_VAR: &str = "TCW_FUZZ_SEED_DIR";

/// Called by every target at start-up (libFuzzer's initialisation, before any input): with
/// [`SEED_DIR_VAR`] set, writes every target's seeds under it and exits. Seeding runs inside a
/// target because only a binary linked with libFuzzer has the coverage callbacks that the
/// instrumented code calls, whatever the sanitizer.
pub fn init() {
    let Some(root) = std::env::var_os(SEED_DIR_VAR) else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    match write_all(&root) {
        Ok(counts) => {
            for (target, n) in counts {
                println!("seeded {n} inputs into {}", root.join(target).display());
            }
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("cannot write the seeds under {}: {e}", root.display());
            std::process::exit(1);
        }
    }
}
