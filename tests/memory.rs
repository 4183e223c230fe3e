//! Peak heap memory of one request through the whole `WebhookService`, for the worst body of
//! each family: a signed request whose body is the documented sample inflated to the body limit
//! (1 MiB) in its most expensive way, an unknown command, the unparsed path and an error.
//!
//! A counting global allocator (its own test binary, so no other test shares it) records the
//! live heap bytes; a row's peak is the highest count during the call, the response read and
//! dropped, minus the count just before it. The request's body (its `String`, built before the
//! baseline and moved into the service) is not in the peak: it is stated beside it. The counts
//! are the sizes asked of the allocator, without its own rounding and headers.
//!
//! Each row has its bound (`within` bytes per byte of body, plus a fixed 64 KiB): about 1 for
//! JSON the crate keeps as text (unknown commands, keys and elements, the unparsed and error
//! paths), and what the Rust types take for typed arrays of near-empty items, up to 21 for a
//! push batch of empty events. The bounds are the measured peaks rounded up, so that a change
//! that makes any shape dearer fails here.
//!
//! ```sh
//! cargo test --test memory -- --nocapture   # prints the table
//! ```

use std::convert::Infallible;

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use peak_alloc::PeakAlloc;
use serde_json::Value;
use tencent_chat_webhook::test_util::{self, SignedRequest};
use tencent_chat_webhook::{
    Command, Handler, WebhookConfig, WebhookService, service::ResponseBody,
};
use tower::ServiceExt;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// The body limit every row fills (the default).
const LIMIT: usize = WebhookConfig::DEFAULT_BODY_LIMIT;

/// What a row may cost beside its `within` times the body's size: the service's own bytes for
/// a request (the runtime's timer, the context, the reply).
const FIXED: usize = 64 * 1024;

/// The longest reply any row may get: an answer quotes at most a short piece of the body.
const MAX_REPLY: usize = 1024;

/// One measured request: a name, the query's command, the body, the status it must get, and
/// its bound.
struct Row {
    name: &'static str,
    command: &'static str,
    body: fn() -> String,
    status: u16,
    /// The most the row may cost, in bytes per byte of body (on top of the body itself).
    within: usize,
}

/// `n` items `item(0)`, `item(1)`, … joined by commas, as many as fit in `budget` bytes.
fn items(budget: usize, item: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(budget);
    for i in 0.. {
        let next = item(i);
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + next.len() > budget {
            break;
        }
        if sep == 1 {
            out.push(',');
        }
        out.push_str(&next);
    }
    out
}

const MARK: &str = "\u{1}fill\u{1}";

/// The sample of `command` with the value at `pointer` (a JSON pointer to an object, and a key
/// in it) set to `open` + items + `close`, filled to the body limit.
fn fill_value(
    command: Command,
    pointer: &str,
    key: &str,
    open: &str,
    item: impl Fn(usize) -> String,
    close: &str,
) -> String {
    let mut v: Value = serde_json::from_str(test_util::sample(command)).unwrap();
    v.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{command}: no object at {pointer}"))
        .insert(key.to_owned(), Value::from(MARK));
    splice(&v, &serde_json::to_string(MARK).unwrap(), open, item, close)
}

/// The sample of `command` with members `item(0)`, `item(1)`, … added to the object at
/// `pointer`, filled to the body limit.
fn fill_members(command: Command, pointer: &str, item: impl Fn(usize) -> String) -> String {
    let mut v: Value = serde_json::from_str(test_util::sample(command)).unwrap();
    v.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{command}: no object at {pointer}"))
        .insert(MARK.to_owned(), Value::from(0));
    let marker = format!("{}:0", serde_json::to_string(MARK).unwrap());
    splice(&v, &marker, "", item, "")
}

fn splice(
    v: &Value,
    marker: &str,
    open: &str,
    item: impl Fn(usize) -> String,
    close: &str,
) -> String {
    let json = serde_json::to_string(v).unwrap();
    let (head, tail) = json.split_once(marker).expect("the marker is in the JSON");
    let budget = LIMIT - head.len() - tail.len() - open.len() - close.len();
    format!("{head}{open}{}{close}{tail}", items(budget, item))
}

/// A bare body: `open` + items + `close`, filled to the body limit.
fn whole(open: &str, item: impl Fn(usize) -> String, close: &str) -> String {
    let budget = LIMIT - open.len() - close.len();
    format!("{open}{}{close}", items(budget, item))
}

fn zero(_: usize) -> String {
    "0".to_owned()
}

/// A short unique key for item `i`: letters only, so that keys stay as short as they can.
fn key(i: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = String::new();
    let mut n = i;
    loop {
        out.push(char::from(ALPHABET[n % ALPHABET.len()]));
        n /= ALPHABET.len();
        if n == 0 {
            return out;
        }
        n -= 1;
    }
}

const UNKNOWN: &str = "Future.Event";

const ROWS: &[Row] = &[
    Row {
        name: "unknown: [0,0,...]",
        command: UNKNOWN,
        body: || whole("[", zero, "]"),
        status: 200,
        within: 2,
    },
    Row {
        name: "unknown: [{\"\":0},...]",
        command: UNKNOWN,
        body: || whole("[", |_| r#"{"":0}"#.to_owned(), "]"),
        status: 200,
        within: 2,
    },
    Row {
        name: "unknown: [[],...]",
        command: UNKNOWN,
        body: || whole("[", |_| "[]".to_owned(), "]"),
        status: 200,
        within: 2,
    },
    Row {
        name: "unknown: [\"\",...]",
        command: UNKNOWN,
        body: || whole("[", |_| r#""""#.to_owned(), "]"),
        status: 200,
        within: 2,
    },
    Row {
        name: "unknown: {\"a\":0,...} tiny keys",
        command: UNKNOWN,
        body: || whole("{", |i| format!(r#""{}":0"#, key(i)), "}"),
        status: 200,
        within: 2,
    },
    Row {
        name: "unknown: [{\"a\":{\"a\":...}}] 120 deep, repeated",
        command: UNKNOWN,
        body: || {
            let deep = format!("{}0{}", r#"{"a":"#.repeat(120), "}".repeat(120));
            whole("[", |_| deep.clone(), "]")
        },
        status: 200,
        within: 2,
    },
    Row {
        name: "official_account: MsgBody of {\"MsgType\":\"X\"}",
        command: "OfficialAccount.CallbackBeforeSendMsg",
        body: || {
            fill_value(
                Command::OfficialAccountBeforeSendMsg,
                "",
                "MsgBody",
                "[",
                |_| r#"{"MsgType":"X"}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 8,
    },
    Row {
        name: "c2c: MsgBody of empty texts",
        command: "C2C.CallbackBeforeSendMsg",
        body: || {
            fill_value(
                Command::C2cBeforeSendMsg,
                "",
                "MsgBody",
                "[",
                |_| r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":""}}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 4,
    },
    Row {
        name: "c2c: unknown element holding [0,0,...]",
        command: "C2C.CallbackAfterSendMsg",
        body: || {
            fill_value(
                Command::C2cAfterSendMsg,
                "",
                "MsgBody",
                r#"[{"MsgType":"X","MsgContent":["#,
                zero,
                "]}]",
            )
        },
        status: 200,
        within: 2,
    },
    Row {
        name: "group: NewMemberList of 100k tiny members",
        command: "Group.CallbackAfterNewMemberJoin",
        body: || {
            fill_value(
                Command::GroupAfterNewMemberJoin,
                "",
                "NewMemberList",
                "[",
                |_| r#"{"Member_Account":""}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 6,
    },
    Row {
        name: "group: MsgBody element with tiny unknown keys",
        command: "Group.CallbackBeforeSendMsg",
        body: || {
            fill_members(Command::GroupBeforeSendMsg, "/MsgBody/0", |i| {
                format!(r#""{}":0"#, key(i))
            })
        },
        status: 200,
        within: 5,
    },
    Row {
        name: "sns: PairList of empty pairs",
        command: "Sns.CallbackFriendAdd",
        body: || {
            fill_value(
                Command::SnsFriendAdd,
                "",
                "PairList",
                "[",
                |_| r#"{"From_Account":"","To_Account":""}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 7,
    },
    Row {
        name: "state: unknown key holding [0,0,...]",
        command: "State.StateChange",
        body: || fill_value(Command::StateChange, "", "Future", "[", zero, "]"),
        status: 200,
        within: 3,
    },
    Row {
        name: "state: unknown key holding [{},{},...] in Info",
        command: "State.StateChange",
        body: || {
            fill_value(
                Command::StateChange,
                "/Info",
                "Future",
                "[",
                |_| "{}".to_owned(),
                "]",
            )
        },
        status: 200,
        within: 3,
    },
    Row {
        name: "profile: a Value holding [0,0,...]",
        command: "Profile.CallbackPortraitSet",
        body: || {
            fill_value(
                Command::ProfilePortraitSet,
                "/ProfileItem/0",
                "Value",
                "[",
                zero,
                "]",
            )
        },
        status: 200,
        within: 2,
    },
    Row {
        name: "follow: FollowList of empty accounts",
        command: "Follow.CallbackAfterFollowAdd",
        body: || {
            fill_value(
                Command::FollowAfterAdd,
                "",
                "FollowList",
                "[",
                |_| r#"{"To_Account":""}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 6,
    },
    Row {
        name: "bot: tiny unknown keys at the top",
        command: "Bot.OnC2CMessage",
        body: || fill_members(Command::BotC2cMessage, "", |i| format!(r#""{}":0"#, key(i))),
        status: 200,
        within: 5,
    },
    Row {
        name: "chatbot: one long Data string",
        command: "Chatbot.OnC2CSignalMessage",
        body: || {
            fill_value(
                Command::ChatbotC2cSignalMessage,
                "",
                "Data",
                "\"",
                |_| "x".repeat(1000),
                "\"",
            )
        },
        status: 200,
        within: 2,
    },
    Row {
        name: "moderation: CtxcbKeywords of one-digit strings",
        command: "ContentCallback.ResultNotify",
        body: || {
            fill_value(
                Command::ModerationResultNotify,
                "",
                "CtxcbKeywords",
                "[",
                |_| r#""1""#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 13,
    },
    Row {
        name: "alert: tiny unknown keys at the top",
        command: "Alert.RequestOverLimit",
        body: || {
            fill_members(Command::AlertRequestOverLimit, "", |i| {
                format!(r#""{}":0"#, key(i))
            })
        },
        status: 200,
        within: 5,
    },
    Row {
        name: "push: Events of minimal events, numbers as strings",
        command: "Push.OfflinePush",
        body: || {
            fill_value(
                Command::PushOffline,
                "",
                "Events",
                "[",
                |_| r#"{"From_Account":"","To_Account":"","MsgSeq":"1"}"#.to_owned(),
                "]",
            )
        },
        status: 200,
        within: 21,
    },
    Row {
        name: "unparsed: a wrong type after 500k elements",
        command: "Group.CallbackAfterSendMsg",
        body: || {
            fill_value(
                Command::GroupAfterSendMsg,
                "",
                "MsgBody",
                "[",
                |i| {
                    if i < 1_000 {
                        r#"{"MsgType":"X"}"#.to_owned()
                    } else {
                        "0".to_owned()
                    }
                },
                "]",
            )
        },
        status: 400,
        within: 2,
    },
    Row {
        name: "unparsed: a known command's body is [0,0,...]",
        command: "Group.CallbackBeforeSendMsg",
        body: || whole("[", zero, "]"),
        status: 200,
        within: 2,
    },
    Row {
        name: "error: a 1 MiB string of the wrong type",
        command: "Group.CallbackAfterGroupFull",
        body: || {
            fill_value(
                Command::GroupAfterFull,
                "",
                "EventTime",
                "\"",
                |_| "x".repeat(1000),
                "\"",
            )
        },
        status: 400,
        within: 2,
    },
    Row {
        name: "error: not JSON after 1 MiB of [0,0,...",
        command: UNKNOWN,
        body: || whole("[", zero, ""),
        status: 400,
        within: 2,
    },
];

struct Defaults;
impl Handler for Defaults {}

/// Sends `req` through `service`, reads and drops the reply, and gives its status and size.
async fn call(service: WebhookService, req: Request<String>) -> (StatusCode, usize) {
    let res: Response<ResponseBody> = match service.oneshot(req).await {
        Ok(res) => res,
        Err(e) => match e {},
    };
    let status = res.status();
    let bytes = res.into_body().collect().await.map_err(|e: Infallible| e);
    (status, bytes.unwrap().to_bytes().len())
}

#[test]
fn every_family_stays_within_its_memory_bound() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = WebhookConfig::builder(test_util::DEMO_APP_ID)
        .token(test_util::DEMO_TOKEN)
        .build()
        .unwrap();
    let service = WebhookService::new(config, Defaults);
    // Warm up whatever the first request sets up once (the timer, thread-locals).
    let warm = SignedRequest::sample(Command::StateChange).build();
    rt.block_on(call(service.clone(), warm));

    println!(
        "{:<52} {:>9} {:>11} {:>9} {:>6} {:>6}",
        "row", "body", "peak", "peak/body", "within", "reply"
    );
    let mut failures = Vec::new();
    for row in ROWS {
        let body = (row.body)();
        assert!(
            body.len() <= LIMIT,
            "{}: body of {} bytes",
            row.name,
            body.len()
        );
        let body_len = body.len();
        let req = SignedRequest::new(row.command, body).build();
        let service = service.clone();
        ALLOC.reset_peak_usage();
        let baseline = ALLOC.current_usage();
        let (status, reply) = rt.block_on(call(service, req));
        let peak = ALLOC.peak_usage() - baseline;
        #[allow(clippy::cast_precision_loss)]
        let ratio = peak as f64 / body_len as f64;
        println!(
            "{:<52} {body_len:>9} {peak:>11} {ratio:>9.2} {:>6} {reply:>6}",
            row.name, row.within
        );
        if status.as_u16() != row.status {
            failures.push(format!(
                "{}: status {status}, want {}",
                row.name, row.status
            ));
        }
        if reply > MAX_REPLY {
            failures.push(format!("{}: a reply of {reply} bytes", row.name));
        }
        if peak > row.within * body_len + FIXED {
            failures.push(format!(
                "{}: peak {peak} bytes, over {} x {body_len} + {FIXED}",
                row.name, row.within
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
