//! What the fuzz targets share: the configuration they run against (fixed apps, tokens and
//! clock), an independent model of which queries are authentic, the checks every answer must
//! pass, a panic filter for the panics the test handler makes on purpose, and the seeds.
//!
//! The targets in `fuzz_targets/` are thin: each decodes its input and calls one `run` here.

#![allow(missing_docs)]

pub mod body;
pub mod query;
pub mod seeds;
pub mod service;
pub mod verifier;

use std::cell::Cell;
use std::sync::Once;
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tencent_chat_webhook::{WebhookConfig, WebhookConfigBuilder};

/// The clock every target's configuration reads: a fixed Unix time.
pub const NOW: u64 = 1_700_000_000;

/// An app with one token.
pub const APP: u64 = 1_400_000_000;
/// An app in the middle of a token rotation: two tokens.
pub const APP_ROTATING: u64 = 1_400_000_001;
/// An app whose signature checks are off.
pub const APP_UNSIGNED: u64 = 1_400_000_002;
/// An app that is not configured.
pub const APP_UNKNOWN: u64 = 1_400_000_009;

/// `APP`'s token. Tokens are long and not hex, so no signature, number or fixed message can
/// contain one by chance.
pub const TOKEN_A: &str = "fz-tokenA-Qw9Kx2Lr8Vn3Tb6Yh1Jm";
/// `APP_ROTATING`'s new token.
pub const TOKEN_B_NEW: &str = "fz-tokenBnew-Pc0Sd4Ge7Xu5Zo2Wi";
/// `APP_ROTATING`'s old token.
pub const TOKEN_B_OLD: &str = "fz-tokenBold-Ny8Mv6Lk3Hj1Gf9Rt";

/// Every configured token, with its app.
pub const TOKENS: [(u64, &str); 3] = [
    (APP, TOKEN_A),
    (APP_ROTATING, TOKEN_B_NEW),
    (APP_ROTATING, TOKEN_B_OLD),
];

/// The default freshness window of the crate.
pub const DEFAULT_SKEW: u64 = 60;

/// The apps above, with the fixed clock.
pub fn config_builder() -> WebhookConfigBuilder {
    WebhookConfig::builder(APP)
        .token(TOKEN_A)
        .app(APP_ROTATING)
        .token(TOKEN_B_NEW)
        .token(TOKEN_B_OLD)
        .app(APP_UNSIGNED)
        .without_signature_check()
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
}

/// `hex(sha256(token + raw_time))`, computed here rather than with the crate's `signature::sign`,
/// for any digits (leading zeros included, as the verifier hashes the time as sent).
pub fn expected_sign(token: &str, raw_time: &str) -> String {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    h.update(raw_time.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters the crate reads, as `form_urlencoded` decodes them: every non-empty value of
/// each, in order.
#[derive(Debug, Default)]
pub struct QueryFacts {
    pub app_ids: Vec<String>,
    pub commands: Vec<String>,
    pub signs: Vec<String>,
    pub times: Vec<String>,
}

impl QueryFacts {
    pub fn parse(query: &str) -> QueryFacts {
        let mut f = QueryFacts::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if v.is_empty() {
                continue;
            }
            let slot = match &*k {
                "SdkAppid" => &mut f.app_ids,
                "CallbackCommand" => &mut f.commands,
                "Sign" => &mut f.signs,
                "RequestTime" => &mut f.times,
                _ => continue,
            };
            slot.push(v.into_owned());
        }
        f
    }

    /// Whether some reading of this query is authentic: an app of the configuration with
    /// signature checks off, or a valid fresh signature with a token of the named app (of any app
    /// when the query names none: the console check, which may also come unsigned, since an app
    /// of the configuration has signature checks off). Lenient on purpose (any of several values
    /// may be the one): a query the crate accepts must pass this; the converse is not checked.
    pub fn authentic(&self, max_skew: u64) -> bool {
        let signed_with = |app: Option<u64>| {
            TOKENS
                .iter()
                .filter(|(a, _)| app.is_none_or(|app| app == *a))
                .any(|(_, token)| {
                    self.times.iter().any(|time| {
                        fresh(time, max_skew)
                            && self
                                .signs
                                .iter()
                                .any(|sign| sign.to_ascii_lowercase() == expected_sign(token, time))
                    })
                })
        };
        if self.app_ids.is_empty() {
            // The console check: signed with any app's token, or unsigned, which the app that
            // opted out of signatures (always configured here) lets through.
            return self.signs.is_empty() || signed_with(None);
        }
        self.app_ids.iter().any(|id| match id.parse::<u64>() {
            Ok(APP_UNSIGNED) => true,
            Ok(app) => signed_with(Some(app)),
            Err(_) => false,
        })
    }

    /// What no answer may contain: every token, and every token's signature for each
    /// `RequestTime` of the query and for now (lower and upper case).
    pub fn secrets(&self) -> Vec<String> {
        let now = NOW.to_string();
        let mut out = Vec::new();
        for (_, token) in TOKENS {
            out.push(token.to_owned());
            for time in self.times.iter().chain([&now]) {
                let sign = expected_sign(token, time);
                out.push(sign.to_ascii_uppercase());
                out.push(sign);
            }
        }
        out
    }
}

/// `RequestTime` as the verifier accepts it: decimal digits only, a `u64`, within the window.
pub fn fresh(time: &str, max_skew: u64) -> bool {
    !time.is_empty()
        && time.bytes().all(|b| b.is_ascii_digit())
        && time
            .parse::<u64>()
            .is_ok_and(|t| t.abs_diff(NOW) <= max_skew)
}

/// The first secret that `answer` contains and `input` (what the client sent and may see echoed,
/// such as the body) does not, ignoring case for the input.
pub fn leaked<'a>(answer: &[u8], input: &[u8], secrets: &'a [String]) -> Option<&'a str> {
    let answer = String::from_utf8_lossy(answer);
    let input = String::from_utf8_lossy(input).to_ascii_lowercase();
    secrets
        .iter()
        .find(|s| answer.contains(s.as_str()) && !input.contains(&s.to_ascii_lowercase()))
        .map(String::as_str)
}

/// Checks a reply body: a JSON object with `ActionStatus` `OK` or `FAIL`, a numeric `ErrorCode`
/// and a string `ErrorInfo`. Returns `(ActionStatus, ErrorCode, ErrorInfo)`.
pub fn check_reply_json(status: u16, body: &[u8]) -> (String, u64, String) {
    let shown = || String::from_utf8_lossy(body).into_owned();
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {}", shown()));
    let action = value
        .get("ActionStatus")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("status {status}: no string ActionStatus: {}", shown()));
    assert!(
        action == "OK" || action == "FAIL",
        "status {status}: ActionStatus {action:?}: {}",
        shown()
    );
    let code = value
        .get("ErrorCode")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("status {status}: no numeric ErrorCode: {}", shown()));
    let info = value
        .get("ErrorInfo")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("status {status}: no string ErrorInfo: {}", shown()));
    (action.to_owned(), code, info.to_owned())
}

thread_local! {
    /// Set just before the test handler panics on purpose; the panic filter clears it.
    static EXPECTED_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// libFuzzer's panic hook aborts on every panic, even one that is caught. The service catches a
/// handler's panics by design, so the hook is wrapped: a panic announced with [`panic_on_purpose`]
/// is let through silently (to be caught, or to escape and abort at libFuzzer's `catch_unwind`);
/// any other goes to libFuzzer's hook and is a crash. Call at the start of every run.
pub fn install_panic_filter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTED_PANIC.replace(false) {
                previous(info);
            }
        }));
    });
}

/// Panics on purpose with a `String` message.
pub fn panic_on_purpose(message: &str) -> ! {
    EXPECTED_PANIC.set(true);
    panic!("{message}")
}

/// Panics on purpose with a payload that is not a string.
pub fn panic_on_purpose_opaque() -> ! {
    EXPECTED_PANIC.set(true);
    std::panic::panic_any(0xF022_u32)
}

/// Forgets a purpose that did not lead to a panic (never expected, but keeps the filter exact).
pub fn clear_panic_purpose() {
    EXPECTED_PANIC.set(false);
}

/// Bytes that, as the last field of an input, take every remaining byte as they are.
/// (`Vec<u8>` would read a continue-flag byte before each element, which doubles a seed's size
/// and makes libFuzzer's byte mutations mostly cut it short.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawBytes(pub Vec<u8>);

impl<'a> arbitrary::Arbitrary<'a> for RawBytes {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        <&[u8]>::arbitrary(u).map(|b| RawBytes(b.to_vec()))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(RawBytes(u.take_rest().to_vec()))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl std::ops::Deref for RawBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl From<Vec<u8>> for RawBytes {
    fn from(v: Vec<u8>) -> Self {
        RawBytes(v)
    }
}
