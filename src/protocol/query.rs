//! The query string Tencent appends to the webhook URL.
//!
//! Source: Webhook Overview (1047/34354), the webhook's URL and its query parameters. Parameters
//! are read by name, in any order, percent-decoded. `ClientIP` and `OptPlatform` are left out by some
//! commands; `Sign` and `RequestTime` are there only when authentication is on.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The platform the triggering request came from (`OptPlatform`).
///
/// Matched case-insensitively, accepting every spelling the docs use: `iOS` and `IOS` (the online
/// status webhook sends upper case), `Mac` and `macOS` (Chinese vs English overview), `iPad` and
/// `IPad`. Anything else is kept as sent.
///
/// ```
/// use tencent_chat_webhook::OptPlatform;
///
/// assert_eq!(OptPlatform::parse("IOS"), OptPlatform::Ios);
/// assert_eq!(OptPlatform::parse("macOS"), OptPlatform::Mac);
/// assert_eq!(OptPlatform::parse("restapi").as_str(), "RESTAPI");
/// assert_eq!(OptPlatform::parse("HarmonyOS"), OptPlatform::Other("HarmonyOS".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptPlatform {
    /// `RESTAPI`: the server REST API.
    RestApi,
    /// `Web`: the Web SDK.
    Web,
    /// `Android`.
    Android,
    /// `iOS` (also sent as `IOS`).
    Ios,
    /// `Windows`.
    Windows,
    /// `Mac` (also documented as `macOS`).
    Mac,
    /// `iPad` (also seen as `IPad`).
    IPad,
    /// `Unknown`: Tencent did not know the device type.
    Unknown,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl OptPlatform {
    /// Reads a platform value; never fails.
    pub fn parse(value: &str) -> Self {
        let known = match value.len() {
            3 if value.eq_ignore_ascii_case("Web") => Some(OptPlatform::Web),
            3 if value.eq_ignore_ascii_case("iOS") => Some(OptPlatform::Ios),
            3 if value.eq_ignore_ascii_case("Mac") => Some(OptPlatform::Mac),
            4 if value.eq_ignore_ascii_case("iPad") => Some(OptPlatform::IPad),
            5 if value.eq_ignore_ascii_case("macOS") => Some(OptPlatform::Mac),
            7 if value.eq_ignore_ascii_case("RESTAPI") => Some(OptPlatform::RestApi),
            7 if value.eq_ignore_ascii_case("Android") => Some(OptPlatform::Android),
            7 if value.eq_ignore_ascii_case("Windows") => Some(OptPlatform::Windows),
            7 if value.eq_ignore_ascii_case("Unknown") => Some(OptPlatform::Unknown),
            _ => None,
        };
        known.unwrap_or_else(|| OptPlatform::Other(value.to_owned()))
    }

    /// The documented spelling (`Other` gives back what was sent).
    pub fn as_str(&self) -> &str {
        match self {
            OptPlatform::RestApi => "RESTAPI",
            OptPlatform::Web => "Web",
            OptPlatform::Android => "Android",
            OptPlatform::Ios => "iOS",
            OptPlatform::Windows => "Windows",
            OptPlatform::Mac => "Mac",
            OptPlatform::IPad => "iPad",
            OptPlatform::Unknown => "Unknown",
            OptPlatform::Other(s) => s,
        }
    }
}

impl FromStr for OptPlatform {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(OptPlatform::parse(s))
    }
}

impl fmt::Display for OptPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed query string, borrowing from the URI; values are percent-decoded only when they
/// hold an escape.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CallbackQuery<'a> {
    pub(crate) sdk_app_id: Option<Cow<'a, str>>,
    pub(crate) command: Option<Cow<'a, str>>,
    pub(crate) content_type: Option<Cow<'a, str>>,
    pub(crate) client_ip: Option<Cow<'a, str>>,
    pub(crate) platform: Option<Cow<'a, str>>,
    pub(crate) sign: Option<Cow<'a, str>>,
    pub(crate) request_time: Option<Cow<'a, str>>,
}

/// Why a query string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum QueryError {
    Duplicate(&'static str),
    NotUtf8(&'static str),
    Control(&'static str),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Duplicate(name) => {
                write!(f, "query parameter `{name}` is given more than once")
            }
            QueryError::NotUtf8(name) => {
                write!(f, "query parameter `{name}` is not UTF-8 once decoded")
            }
            QueryError::Control(name) => {
                write!(f, "query parameter `{name}` holds a control character")
            }
        }
    }
}

impl<'a> CallbackQuery<'a> {
    /// Reads the parameters by name. A known parameter given twice, even once empty, is refused
    /// rather than guessed at, so a signature cannot be checked against one value and acted on
    /// with another. Empty values count as absent. A known parameter whose decoded value is not
    /// UTF-8 or holds a control character is refused: nothing Tencent sends does that, and such
    /// a value would reach handlers and logs.
    pub(crate) fn parse(query: &'a str) -> Result<Self, QueryError> {
        let mut q = CallbackQuery::default();
        let mut seen = 0u8;
        let mut rest = query;
        loop {
            let bytes = rest.as_bytes();
            // The key: one of the seven as Tencent writes them, recognised by a compare or two,
            // else read up to `=` (or the pair's end), decoded and looked up.
            let (known, key_end) = match known_key(bytes) {
                Some(i) => (Some(i), NAMES[i].len()),
                None => {
                    let key_end = bytes
                        .iter()
                        .position(|&b| b == b'=' || b == b'&')
                        .unwrap_or(bytes.len());
                    (
                        NAMES.iter().position(|n| *n == decode(&rest[..key_end])),
                        key_end,
                    )
                }
            };
            // The value, with what its bytes hold, found in one pass.
            let (end, value_flags) = if bytes.get(key_end) == Some(&b'=') {
                let (len, flags) = scan_value(&bytes[key_end + 1..]);
                (key_end + 1 + len, flags)
            } else {
                (key_end, 0)
            };
            if let Some(i) = known {
                let name = NAMES[i];
                let bit = 1u8 << i;
                if seen & bit != 0 {
                    return Err(QueryError::Duplicate(name));
                }
                seen |= bit;
                let value = rest.get(key_end + 1..end).unwrap_or("");
                if !value.is_empty() {
                    let slot = match i {
                        0 => &mut q.sdk_app_id,
                        1 => &mut q.command,
                        2 => &mut q.content_type,
                        3 => &mut q.client_ip,
                        4 => &mut q.platform,
                        5 => &mut q.sign,
                        _ => &mut q.request_time,
                    };
                    *slot = Some(value_of(value, value_flags, name)?);
                }
            }
            if end == rest.len() {
                return Ok(q);
            }
            rest = &rest[end + 1..];
        }
    }
}

/// The parameters this crate reads, in the order of their bits in `parse`'s `seen`.
const NAMES: [&str; 7] = [
    "SdkAppid",
    "CallbackCommand",
    "contenttype",
    "ClientIP",
    "OptPlatform",
    "Sign",
    "RequestTime",
];

/// The index in [`NAMES`] of the key `bytes` start with, when it is written plainly and followed
/// by `=`: the first byte picks at most two candidates.
#[inline]
fn known_key(bytes: &[u8]) -> Option<usize> {
    let candidates: &[usize] = match bytes.first()? {
        b'S' => &[0, 5],
        b'C' => &[1, 3],
        b'c' => &[2],
        b'O' => &[4],
        b'R' => &[6],
        _ => return None,
    };
    candidates.iter().copied().find(|&i| {
        let name = NAMES[i].as_bytes();
        bytes.len() > name.len() && bytes[name.len()] == b'=' && bytes.starts_with(name)
    })
}

/// A value byte that needs decoding (`%` or `+`).
const ESCAPED: u8 = 1;
/// An ASCII control byte.
const CONTROL: u8 = 2;
/// A byte of a non-ASCII character (which may be a C1 control).
const NON_ASCII: u8 = 4;

// The scans below read eight bytes at a time as a `u64` (SWAR): a query is a few hundred bytes
// whose longest value, `Sign`, is 64.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Non-zero when a byte of `x` is `b`; its lowest set bit marks the first such byte.
#[inline]
fn has_byte(x: u64, b: u8) -> u64 {
    let y = x ^ (ONES * u64::from(b));
    y.wrapping_sub(ONES) & !y & HIGH
}

/// Non-zero when a byte of `x` is below `n` (`n` at most 128).
#[inline]
fn has_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH
}

/// The length of the value at the start of `bytes` (up to the first `&`), and what its bytes
/// hold: [`ESCAPED`], [`CONTROL`], [`NON_ASCII`].
#[inline]
fn scan_value(bytes: &[u8]) -> (usize, u8) {
    let (mut escaped, mut control, mut non_ascii) = (0u64, 0u64, 0u64);
    let mut at = 0;
    let mut chunks = bytes.chunks_exact(8);
    let mut tail = None;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let amp = has_byte(x, b'&');
        if amp != 0 {
            tail = Some(&chunk[..(amp.trailing_zeros() / 8) as usize]);
            break;
        }
        escaped |= has_byte(x, b'%') | has_byte(x, b'+');
        control |= has_below(x, 0x20) | has_byte(x, 0x7f);
        non_ascii |= x & HIGH;
        at += 8;
    }
    let mut flags = (u8::from(escaped != 0) * ESCAPED)
        | (u8::from(control != 0) * CONTROL)
        | (u8::from(non_ascii != 0) * NON_ASCII);
    for &b in tail.unwrap_or_else(|| chunks.remainder()) {
        flags |= match b {
            b'&' => break,
            b'%' | b'+' => ESCAPED,
            0..0x20 | 0x7f => CONTROL,
            0x80.. => NON_ASCII,
            _ => 0,
        };
        at += 1;
    }
    (at, flags)
}

/// The decoded value of parameter `name`, refused when it is not UTF-8 or holds a control
/// character; borrowed when it holds no escape.
#[inline]
fn value_of<'a>(raw: &'a str, flags: u8, name: &'static str) -> Result<Cow<'a, str>, QueryError> {
    let value = if flags & ESCAPED != 0 {
        decode_strict(raw).ok_or(QueryError::NotUtf8(name))?
    } else {
        Cow::Borrowed(raw)
    };
    // Decoding may have made a control byte (`%00`), and a non-ASCII character may be one (C1);
    // otherwise the scan has seen every byte.
    let control = if flags & (ESCAPED | NON_ASCII) != 0 {
        value.chars().any(char::is_control)
    } else {
        flags & CONTROL != 0
    };
    if control {
        return Err(QueryError::Control(name));
    }
    Ok(value)
}

/// [`decode`], but `None` when the decoded bytes are not UTF-8.
#[inline]
fn decode_strict(raw: &str) -> Option<Cow<'_, str>> {
    match decode_bytes(raw) {
        None => Some(Cow::Borrowed(raw)),
        Some(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid UTF-8
/// is replaced, as browsers and `form_urlencoded` do. Borrows when there is nothing to decode.
#[inline]
fn decode(raw: &str) -> Cow<'_, str> {
    match decode_bytes(raw) {
        None => Cow::Borrowed(raw),
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

/// The decoded bytes, or `None` when there is nothing to decode.
#[inline]
fn decode_bytes(raw: &str) -> Option<Vec<u8>> {
    // A branch-free fold, which the compiler vectorises: most values have nothing to decode.
    let escaped = raw
        .as_bytes()
        .iter()
        .fold(false, |acc, &b| acc | (b == b'%') | (b == b'+'));
    if !escaped {
        return None;
    }
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    #[test]
    fn reads_every_parameter_by_name_in_any_order() {
        let q = CallbackQuery::parse(
            "RequestTime=1669872112&OptPlatform=iOS&SdkAppid=888888&contenttype=json\
             &CallbackCommand=OfficialAccount.CallbackBeforeSendMsg&ClientIP=127.0.0.1&Sign=ab&Extra=1",
        )
        .unwrap();
        assert_eq!(q.sdk_app_id.as_deref(), Some("888888"));
        assert_eq!(
            q.command.as_deref(),
            Some("OfficialAccount.CallbackBeforeSendMsg")
        );
        assert_eq!(q.content_type.as_deref(), Some("json"));
        assert_eq!(q.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(q.platform.as_deref(), Some("iOS"));
        assert_eq!(q.sign.as_deref(), Some("ab"));
        assert_eq!(q.request_time.as_deref(), Some("1669872112"));
    }

    #[test]
    fn missing_and_empty_optional_parameters_are_absent() {
        let q =
            CallbackQuery::parse("SdkAppid=1&CallbackCommand=X&ClientIP=&OptPlatform=").unwrap();
        assert_eq!(q.client_ip, None);
        assert_eq!(q.platform, None);
        assert_eq!(q.sign, None);
    }

    #[test]
    fn percent_encoding_is_decoded() {
        let q = CallbackQuery::parse("SdkAppid=1&CallbackCommand=A%2EB&ClientIP=%3A%3A1").unwrap();
        assert_eq!(q.command.as_deref(), Some("A.B"));
        assert_eq!(q.client_ip.as_deref(), Some("::1"));
    }

    #[test]
    fn decoding_matches_form_urlencoded() {
        let cases = [
            "a+b",
            "%41%42",
            "%zz",
            "%4",
            "100%",
            "%E4%BD%A0",
            "%FF",
            "plain",
            "a%2Bb+c",
        ];
        for raw in cases {
            let ours = decode(raw);
            let theirs: String = form_urlencoded::parse(format!("k={raw}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            assert_eq!(ours, theirs, "{raw}");
        }
        assert!(matches!(decode("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn duplicates_are_refused() {
        for name in [
            "SdkAppid",
            "CallbackCommand",
            "Sign",
            "RequestTime",
            "OptPlatform",
            "ClientIP",
        ] {
            let err = CallbackQuery::parse(&format!("{name}=a&{name}=b")).unwrap_err();
            assert_eq!(err, QueryError::Duplicate(name), "{name}");
        }
    }

    #[test]
    fn a_repeat_with_an_empty_value_is_refused_in_either_order() {
        // Found by `tests/properties.rs` (the order of parameters never changes the verdict):
        // `Sign=&Sign=x` was read as `Sign=x`, while `Sign=x&Sign=` was refused.
        for name in ["SdkAppid", "Sign", "RequestTime", "contenttype"] {
            for query in [
                format!("{name}=&{name}=x"),
                format!("{name}=x&{name}="),
                format!("{name}&{name}=x"),
                format!("{name}=&{name}="),
            ] {
                let err = CallbackQuery::parse(&query).unwrap_err();
                assert_eq!(err, QueryError::Duplicate(name), "{query}");
            }
        }
        // Given once, an empty value is still absent.
        assert_eq!(CallbackQuery::parse("Sign=&x=1").unwrap().sign, None);
    }

    /// The parser before it scanned bytes (split on `&`, then on `=`, decode, check): the
    /// model the fast one must agree with.
    fn model(query: &str) -> Result<CallbackQuery<'_>, QueryError> {
        let mut q = CallbackQuery::default();
        let mut seen = 0u8;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (bit, name, slot): (u8, &'static str, &mut Option<Cow<'_, str>>) =
                match &*decode(key) {
                    "SdkAppid" => (1, "SdkAppid", &mut q.sdk_app_id),
                    "CallbackCommand" => (2, "CallbackCommand", &mut q.command),
                    "contenttype" => (4, "contenttype", &mut q.content_type),
                    "ClientIP" => (8, "ClientIP", &mut q.client_ip),
                    "OptPlatform" => (16, "OptPlatform", &mut q.platform),
                    "Sign" => (32, "Sign", &mut q.sign),
                    "RequestTime" => (64, "RequestTime", &mut q.request_time),
                    _ => continue,
                };
            if seen & bit != 0 {
                return Err(QueryError::Duplicate(name));
            }
            seen |= bit;
            if !value.is_empty() {
                let value = decode_strict(value).ok_or(QueryError::NotUtf8(name))?;
                if value.chars().any(char::is_control) {
                    return Err(QueryError::Control(name));
                }
                *slot = Some(value);
            }
        }
        Ok(q)
    }

    proptest::proptest! {
        /// Queries made of the parameters' names, `=`, `&`, escapes, controls and non-ASCII
        /// characters (C1 controls among them) parse exactly as the model parses them.
        #[test]
        fn the_byte_scanner_agrees_with_the_model(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "SdkAppid", "CallbackCommand", "contenttype", "ClientIP", "OptPlatform",
                        "Sign", "RequestTime", "Sdk%41ppid", "Si+gn", "=", "&", "%", "%2", "%26",
                        "%3D", "%00", "%FF", "%C2%85", "+", "\u{85}", "\u{7f}", "\t", "é", "1", "",
                    ]).prop_map(str::to_owned),
                    "[a-zA-Z0-9%+=&\\x00-\\x1f\\x7f\\u{80}-\\u{9f}é]{0,6}",
                ],
                0..12,
            )
        ) {
            let query = parts.concat();
            proptest::prop_assert_eq!(CallbackQuery::parse(&query), model(&query), "{:?}", query);
        }
    }

    #[test]
    fn platforms_match_case_insensitively_and_keep_unknowns() {
        let cases = [
            ("RESTAPI", OptPlatform::RestApi),
            ("Web", OptPlatform::Web),
            ("android", OptPlatform::Android),
            ("iOS", OptPlatform::Ios),
            ("IOS", OptPlatform::Ios),
            ("Windows", OptPlatform::Windows),
            ("Mac", OptPlatform::Mac),
            ("macOS", OptPlatform::Mac),
            ("iPad", OptPlatform::IPad),
            ("IPad", OptPlatform::IPad),
            ("Unknown", OptPlatform::Unknown),
            ("Tizen", OptPlatform::Other("Tizen".into())),
        ];
        for (input, want) in cases {
            assert_eq!(OptPlatform::parse(input), want, "{input}");
        }
        assert_eq!(OptPlatform::parse("Tizen").as_str(), "Tizen");
    }
}
