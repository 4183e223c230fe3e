//! Webhook authentication: `Sign = hex(sha256(Token + RequestTime))`.
//!
//! Source: Webhook Overview, "Security Considerations" (1047/34354).
//! The signature covers only the token and the time, not the body: it proves the request comes
//! from someone who knows the token, recently. The body is protected by TLS, so serve webhooks
//! over HTTPS. Tencent does not state a freshness window for Chat; 60 seconds in both directions
//! is what its Live product documents and what public integrations use.
//!
//! Everything here is pure: the clock is passed in, and [`sign`] is public so tests and tools can
//! produce valid requests.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lowercase hex SHA-256 of `token` followed by the decimal `request_time`.
///
/// ```
/// // Tencent's documented example.
/// let sign = tencent_chat_webhook::signature::sign("xxxxyyyy", 1669872112);
/// assert_eq!(sign, "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061");
/// ```
pub fn sign(token: &str, request_time: u64) -> String {
    hex(&digest(
        token.as_bytes(),
        request_time.to_string().as_bytes(),
    ))
}

fn digest(token: &[u8], request_time: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(token);
    h.update(request_time);
    h.finalize().into()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Whether two digests are equal, in constant time: every byte is compared, as four 64-bit
/// words folded without a branch, and the one result is compared by `subtle`.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> subtle::Choice {
    let difference = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .fold(0u64, |acc, (x, y)| {
            let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
            acc | (word(x) ^ word(y))
        });
    difference.ct_eq(&0)
}

/// Decodes 64 hex digits, either case. The input is the caller's, not a secret, so branching on
/// it leaks nothing.
fn unhex(s: &str) -> Option<[u8; 32]> {
    /// Nibble values of ASCII hex digits; 0xff marks anything else.
    const NIBBLE: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

/// Checks `Sign` and `RequestTime` against one or more tokens.
///
/// Several tokens are accepted at once so a token can be rotated without downtime: add the new
/// one, change it in Tencent's console, then remove the old one. Every configured token is
/// compared, in constant time, whichever matches.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tencent_chat_webhook::signature::{sign, SignatureError, Verifier};
///
/// let verifier = Verifier::new(["old-token", "new-token"]).unwrap();
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let good = sign("new-token", 1_700_000_000);
/// assert_eq!(verifier.verify(Some(&good), Some("1700000000"), now), Ok(1_700_000_000));
///
/// let bad = sign("guess", 1_700_000_000);
/// assert_eq!(verifier.verify(Some(&bad), Some("1700000000"), now), Err(SignatureError::Mismatch));
///
/// // The secret never shows in debug output.
/// assert!(!format!("{verifier:?}").contains("token"));
/// ```
#[derive(Clone)]
pub struct Verifier {
    tokens: Vec<Box<[u8]>>,
    max_skew: Duration,
    /// The expected digests for the last `RequestTime` seen. Tencent signs with a time in whole
    /// seconds, so every request of a burst carries the same time and the same signature: they
    /// are compared against digests computed once. A hit or miss depends only on the public
    /// `RequestTime`, and the comparison stays constant-time either way.
    recent: Arc<Mutex<Option<Recent>>>,
}

struct Recent {
    request_time: Box<str>,
    digests: Vec<[u8; 32]>,
}

impl Verifier {
    /// The default freshness window: `RequestTime` may differ from now by this much either way.
    pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(60);

    /// A verifier for these tokens with the default window. Fails on an empty token or none.
    pub fn new<I, T>(tokens: I) -> Result<Self, TokenError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let tokens: Vec<Box<[u8]>> = tokens
            .into_iter()
            .map(|t| Box::from(t.as_ref().as_bytes()))
            .collect();
        if tokens.is_empty() {
            return Err(TokenError::NoToken);
        }
        if tokens.iter().any(|t| t.is_empty()) {
            return Err(TokenError::EmptyToken);
        }
        Ok(Verifier {
            tokens,
            max_skew: Self::DEFAULT_MAX_SKEW,
            recent: Arc::default(),
        })
    }

    /// Sets how far `RequestTime` may be from now, in either direction.
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// The freshness window.
    pub fn max_skew(&self) -> Duration {
        self.max_skew
    }

    /// How many tokens a signature is compared against.
    pub(crate) fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Checks a request's `Sign` and `RequestTime` (as sent, undecoded digits) at time `now`, and
    /// returns the request time in Unix seconds.
    pub fn verify(
        &self,
        sign: Option<&str>,
        request_time: Option<&str>,
        now: SystemTime,
    ) -> Result<u64, SignatureError> {
        let sign = sign.ok_or(SignatureError::MissingSign)?;
        let raw_time = request_time.ok_or(SignatureError::MissingRequestTime)?;
        if raw_time.is_empty() || !raw_time.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignatureError::MalformedRequestTime);
        }
        let time: u64 = raw_time
            .parse()
            .map_err(|_| SignatureError::MalformedRequestTime)?;
        let given = unhex(sign).ok_or(SignatureError::Mismatch)?;
        let matched = self.with_expected(raw_time, |digests| {
            digests.iter().fold(subtle::Choice::from(0), |acc, d| {
                acc | digests_equal(d, &given)
            })
        });
        if !bool::from(matched) {
            return Err(SignatureError::Mismatch);
        }
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if now.abs_diff(time) > self.max_skew.as_secs() {
            return Err(SignatureError::Stale {
                skew_secs: now.abs_diff(time),
            });
        }
        Ok(time)
    }
}

impl Verifier {
    /// Runs `f` on the expected digest of every token for `raw_time`, reusing the last ones
    /// computed when the time is the same. The cache is never waited for: if another request
    /// holds it, the digests are computed afresh.
    fn with_expected<R>(&self, raw_time: &str, f: impl FnOnce(&[[u8; 32]]) -> R) -> R {
        // Tencent signs the time as it puts it in the URL, so hash those exact digits.
        let compute = || -> Vec<[u8; 32]> {
            self.tokens
                .iter()
                .map(|t| digest(t, raw_time.as_bytes()))
                .collect()
        };
        let Ok(mut recent) = self.recent.try_lock() else {
            return f(&compute());
        };
        match &*recent {
            Some(r) if &*r.request_time == raw_time => f(&r.digests),
            _ => {
                let digests = compute();
                let out = f(&digests);
                *recent = Some(Recent {
                    request_time: raw_time.into(),
                    digests,
                });
                out
            }
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("[redacted; {}]", self.tokens.len()),
            )
            .field("max_skew", &self.max_skew)
            .finish()
    }
}

/// Why a signature was refused. The text names what is wrong, never the expected value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// `Sign` is not in the query.
    MissingSign,
    /// `RequestTime` is not in the query.
    MissingRequestTime,
    /// `RequestTime` is not a decimal Unix time.
    MalformedRequestTime,
    /// `Sign` matches no configured token.
    Mismatch,
    /// The signature is right but `RequestTime` is outside the freshness window.
    Stale {
        /// How far `RequestTime` is from now, in seconds.
        skew_secs: u64,
    },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::MissingSign => f.write_str("query parameter `Sign` is missing"),
            SignatureError::MissingRequestTime => {
                f.write_str("query parameter `RequestTime` is missing")
            }
            SignatureError::MalformedRequestTime => {
                f.write_str("query parameter `RequestTime` is not a decimal unix time")
            }
            SignatureError::Mismatch => f.write_str("signature does not match"),
            SignatureError::Stale { skew_secs } => write!(
                f,
                "request time is {skew_secs} s away from the server clock, outside the allowed window"
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// A token list that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// No token was given.
    NoToken,
    /// A token is the empty string, which anyone could sign with.
    EmptyToken,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::NoToken => f.write_str("no callback token configured"),
            TokenError::EmptyToken => f.write_str("a callback token is empty"),
        }
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_differing_in_any_one_bit_are_not_equal() {
        let a = digest(b"token", b"1700000000");
        assert!(bool::from(digests_equal(&a, &a)));
        for byte in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[byte] ^= 1 << bit;
                assert!(!bool::from(digests_equal(&a, &b)), "byte {byte} bit {bit}");
            }
        }
    }

    const KNOWN: &str = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_answer_from_tencent_docs() {
        assert_eq!(sign("xxxxyyyy", 1669872112), KNOWN);
        // The contrasts from the spec: HMAC, and the reversed order, must not match.
        assert_ne!(
            sign("xxxxyyyy", 1669872112),
            "cf781b400da849aa896596faa74a65524e67e9300f9689504058d6dfb48c9184"
        );
        assert_eq!(
            hex(&digest(b"1669872112", b"xxxxyyyy")),
            "0467c8f6ff787df0cb0a15d44d03531a236485e20b11f233f299933854693c8a"
        );
    }

    /// Name, `Sign`, `RequestTime`, now, expected verdict.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        SystemTime,
        Result<u64, SignatureError>,
    );

    #[test]
    fn verify_table() {
        let v = Verifier::new(["xxxxyyyy"]).unwrap();
        let t = 1669872112;
        let upper = KNOWN.to_ascii_uppercase();
        let cases: [Case<'_>; 12] = [
            ("exact", Some(KNOWN), Some("1669872112"), at(t), Ok(t)),
            (
                "upper-case hex",
                Some(&upper),
                Some("1669872112"),
                at(t),
                Ok(t),
            ),
            (
                "60 s behind",
                Some(KNOWN),
                Some("1669872112"),
                at(t + 60),
                Ok(t),
            ),
            (
                "60 s ahead",
                Some(KNOWN),
                Some("1669872112"),
                at(t - 60),
                Ok(t),
            ),
            (
                "61 s behind",
                Some(KNOWN),
                Some("1669872112"),
                at(t + 61),
                Err(SignatureError::Stale { skew_secs: 61 }),
            ),
            (
                "61 s ahead",
                Some(KNOWN),
                Some("1669872112"),
                at(t - 61),
                Err(SignatureError::Stale { skew_secs: 61 }),
            ),
            (
                "no sign",
                None,
                Some("1669872112"),
                at(t),
                Err(SignatureError::MissingSign),
            ),
            (
                "no time",
                Some(KNOWN),
                None,
                at(t),
                Err(SignatureError::MissingRequestTime),
            ),
            (
                "signed time differs",
                Some(KNOWN),
                Some("1669872113"),
                at(t),
                Err(SignatureError::Mismatch),
            ),
            (
                "truncated sign",
                Some(&KNOWN[..63]),
                Some("1669872112"),
                at(t),
                Err(SignatureError::Mismatch),
            ),
            (
                "signed with sign",
                Some("zz73bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061zz"),
                Some("1669872112"),
                at(t),
                Err(SignatureError::Mismatch),
            ),
            (
                "non-numeric time",
                Some(KNOWN),
                Some("+1669872112"),
                at(t),
                Err(SignatureError::MalformedRequestTime),
            ),
        ];
        for (name, sign, time, now, want) in cases {
            assert_eq!(v.verify(sign, time, now), want, "{name}");
        }
    }

    #[test]
    fn the_exact_digits_sent_are_signed() {
        // A zero-padded time is a different string, so a different signature.
        let v = Verifier::new(["xxxxyyyy"]).unwrap();
        let padded = hex(&digest(b"xxxxyyyy", b"01669872112"));
        assert_eq!(
            v.verify(Some(&padded), Some("01669872112"), at(1669872112)),
            Ok(1669872112)
        );
        assert_eq!(
            v.verify(Some(KNOWN), Some("01669872112"), at(1669872112)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_configured_token_is_accepted_for_rotation() {
        let v = Verifier::new(["old", "new"]).unwrap();
        for token in ["old", "new"] {
            assert_eq!(
                v.verify(Some(&sign(token, 5)), Some("5"), at(5)),
                Ok(5),
                "{token}"
            );
        }
        assert_eq!(
            v.verify(Some(&sign("other", 5)), Some("5"), at(5)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_digest_cache_never_changes_a_verdict() {
        // Same time, alternating right and wrong signatures, then a new time: every answer is
        // what a fresh computation gives.
        let v = Verifier::new(["a", "b"]).unwrap();
        let cases = [
            (sign("a", 7), "7", Ok(7)),
            (sign("x", 7), "7", Err(SignatureError::Mismatch)),
            (sign("b", 7), "7", Ok(7)),
            (sign("a", 7), "07", Err(SignatureError::Mismatch)),
            (sign("a", 8), "8", Ok(8)),
            (sign("a", 7), "7", Ok(7)),
        ];
        for (i, (sig, time, want)) in cases.into_iter().enumerate() {
            assert_eq!(v.verify(Some(&sig), Some(time), at(7)), want, "case {i}");
        }
        // A clone shares the tokens, and its own answers are right too.
        let clone = v.clone();
        assert_eq!(clone.verify(Some(&sign("b", 7)), Some("7"), at(7)), Ok(7));
    }

    #[test]
    fn window_is_configurable() {
        let v = Verifier::new(["k"])
            .unwrap()
            .with_max_skew(Duration::from_secs(5));
        assert_eq!(
            v.verify(Some(&sign("k", 100)), Some("100"), at(105)),
            Ok(100)
        );
        assert_eq!(
            v.verify(Some(&sign("k", 100)), Some("100"), at(106)),
            Err(SignatureError::Stale { skew_secs: 6 })
        );
    }

    #[test]
    fn unusable_token_lists_are_refused() {
        assert_eq!(
            Verifier::new(Vec::<String>::new()).unwrap_err(),
            TokenError::NoToken
        );
        assert_eq!(
            Verifier::new(["ok", ""]).unwrap_err(),
            TokenError::EmptyToken
        );
    }

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let v = Verifier::new(["s3cr3t-token"]).unwrap();
        let debug = format!("{v:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
        let expected = sign("s3cr3t-token", 10);
        let err = v
            .verify(Some(&sign("wrong", 10)), Some("10"), at(10))
            .unwrap_err();
        assert!(!err.to_string().contains(&expected));
    }
}
