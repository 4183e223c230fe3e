//! The `verifier` target: `signature::Verifier::verify` with any `Sign`, `RequestTime`, tokens,
//! window and clock, against a model written from the documentation; and a request signed with
//! `signature::sign` for a time inside the window must verify.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use tencent_chat_webhook::signature::{SignatureError, TokenError, Verifier, sign};

use crate::{RawBytes, TOKEN_A, expected_sign};

/// The separator of the strings in [`VerifierInput::rest`]: never part of valid UTF-8.
pub const SEPARATOR: u8 = 0xFF;

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct VerifierInput {
    /// The clock, in seconds from the epoch (before it, with `flags` bit 2).
    pub now_secs: u64,
    pub now_nanos: u32,
    /// The freshness window, in seconds.
    pub skew_secs: u64,
    /// Which token signs the good request.
    pub signer: u8,
    /// Where in the window the good request's time is.
    pub offset: u64,
    /// Bit 0: no `Sign`; bit 1: no `RequestTime`; bit 2: the clock is before the epoch; bit 3:
    /// the good signature in upper case.
    pub flags: u8,
    /// `Sign`, `RequestTime`, then the tokens (none: `TOKEN_A`), separated by 0xFF.
    pub rest: RawBytes,
}

impl VerifierInput {
    /// The bytes that decode to this input (for seeds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.now_secs.to_le_bytes());
        out.extend_from_slice(&self.now_nanos.to_le_bytes());
        out.extend_from_slice(&self.skew_secs.to_le_bytes());
        out.push(self.signer);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.push(self.flags);
        out.extend_from_slice(&self.rest);
        out
    }

    /// The `rest` of `sign`, `time` and `tokens`.
    pub fn rest_of(sign: &str, time: &str, tokens: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, part) in [sign, time].iter().chain(tokens).enumerate() {
            if i > 0 {
                out.push(SEPARATOR);
            }
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// What `verify` must answer, from the documentation: `Sign` and `RequestTime` present, the time
/// decimal digits that fit a `u64`, `Sign` 64 hex digits (either case) equal to
/// `hex(sha256(token + time as sent))` for a token, and the time within the window of now (a
/// clock before the epoch counts as 0).
fn model(
    tokens: &[String],
    sign: Option<&str>,
    time: Option<&str>,
    now: u64,
    skew: u64,
) -> Result<u64, SignatureError> {
    let sign = sign.ok_or(SignatureError::MissingSign)?;
    let raw = time.ok_or(SignatureError::MissingRequestTime)?;
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedRequestTime);
    }
    let time: u64 = raw
        .parse()
        .map_err(|_| SignatureError::MalformedRequestTime)?;
    let hex = sign.len() == 64 && sign.bytes().all(|b| b.is_ascii_hexdigit());
    let lower = sign.to_ascii_lowercase();
    if !hex || !tokens.iter().any(|t| expected_sign(t, raw) == lower) {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(time) > skew {
        return Err(SignatureError::Stale {
            skew_secs: now.abs_diff(time),
        });
    }
    Ok(time)
}

/// The clock, and what `verify` reads of it (whole seconds, 0 before the epoch).
fn clock(input: &VerifierInput) -> (SystemTime, u64) {
    // SystemTime holds signed seconds: keep them in range.
    let secs = input.now_secs % (i64::MAX as u64 / 2);
    let d = Duration::new(secs, input.now_nanos % 1_000_000_000);
    if input.flags & 4 != 0 {
        let t = UNIX_EPOCH.checked_sub(d).unwrap_or(UNIX_EPOCH);
        (t, 0)
    } else {
        let t = UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH);
        let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        (t, secs)
    }
}

pub fn run(input: VerifierInput) {
    let mut parts = input.rest.split(|&b| b == SEPARATOR);
    let mut next = || {
        parts
            .next()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    let sign_part = next();
    let time_part = next();
    let mut tokens: Vec<String> = std::iter::from_fn(&mut next).take(8).collect();
    if tokens.is_empty() {
        tokens.push(TOKEN_A.to_owned());
    }
    let sign_part = sign_part.filter(|_| input.flags & 1 == 0);
    let time_part = time_part.filter(|_| input.flags & 2 == 0);
    let skew = input.skew_secs;
    let (now, now_secs) = clock(&input);

    let verifier = match Verifier::new(&tokens) {
        Ok(v) => v.with_max_skew(Duration::from_secs(skew)),
        Err(e) => {
            assert!(tokens.iter().any(String::is_empty), "{e:?} for {tokens:?}");
            assert_eq!(e, TokenError::EmptyToken);
            return;
        }
    };
    assert_eq!(verifier.max_skew(), Duration::from_secs(skew));

    // Its Debug shows how many tokens there are and the window, nothing of the tokens.
    let blank = vec!["x"; tokens.len()];
    let blank = Verifier::new(&blank)
        .expect("blank tokens")
        .with_max_skew(Duration::from_secs(skew));
    assert_eq!(format!("{verifier:?}"), format!("{blank:?}"));

    // Any Sign and RequestTime: the model's answer, twice (the second from the cache).
    let want = model(
        &tokens,
        sign_part.as_deref(),
        time_part.as_deref(),
        now_secs,
        skew,
    );
    for _ in 0..2 {
        let got = verifier.verify(sign_part.as_deref(), time_part.as_deref(), now);
        assert_eq!(
            got, want,
            "sign {sign_part:?} time {time_part:?} tokens {tokens:?}"
        );
        if let Err(e) = got {
            let _ = e.to_string();
        }
    }

    // A request signed with a configured token for a time inside the window verifies.
    let token = &tokens[usize::from(input.signer) % tokens.len()];
    let width = u128::from(skew) * 2 + 1;
    let inside =
        i128::from(now_secs) - i128::from(skew) + (u128::from(input.offset) % width) as i128;
    let t = u64::try_from(inside.clamp(0, i128::from(u64::MAX))).unwrap_or(u64::MAX);
    let good = sign(token, t);
    assert_eq!(good, expected_sign(token, &t.to_string()), "signature::sign");
    let good = if input.flags & 8 != 0 {
        good.to_ascii_uppercase()
    } else {
        good
    };
    let raw_t = t.to_string();
    for _ in 0..2 {
        assert_eq!(
            verifier.verify(Some(&good), Some(&raw_t), now),
            Ok(t),
            "a fresh signature with token #{} at {t} (now {now_secs}, window {skew}) is refused",
            usize::from(input.signer) % tokens.len()
        );
    }
    // One second past the window, the same token's signature is stale.
    if let Some(late) = now_secs.checked_add(skew).and_then(|s| s.checked_add(1)) {
        let late_sign = sign(token, late);
        assert_eq!(
            verifier.verify(Some(&late_sign), Some(&late.to_string()), now),
            Err(SignatureError::Stale {
                skew_secs: skew + 1
            })
        );
    }
}
