//! One event as a stream entry: the event's JSON and what a worker needs to rebuild its
//! [`RequestContext`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::Value;

use crate::handler::RequestContext;
use crate::protocol::event::Event;

/// The version of the entry layout, so that a newer one can be told apart.
const VERSION: &str = "1";

/// Starts an `XADD` of a new entry (its id chosen by Redis) to `stream`, trimmed to about
/// `max_len` entries, in `pipe`; the entry's fields and values follow as arguments.
pub(crate) fn xadd<'p>(
    pipe: &'p mut redis::Pipeline,
    stream: &str,
    max_len: usize,
) -> &'p mut redis::Pipeline {
    pipe.cmd("XADD")
        .arg(stream)
        .arg("MAXLEN")
        .arg("~")
        .arg(max_len)
        .arg("*")
}

/// The fields of an entry for `event`, received with `ctx` now.
pub(crate) fn fields(ctx: &RequestContext, event: &Event) -> Vec<(&'static str, String)> {
    let received_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let app_id = ctx.app_id();
    let (key, dedup) = match event.dedup_key(app_id) {
        Some(key) => (key, true),
        None => (event.idempotency_key(app_id), false),
    };
    let mut fields = vec![
        ("v", VERSION.to_owned()),
        ("command", event.command_name().to_owned()),
        ("app_id", app_id.to_string()),
        ("key", key),
        ("received_ms", received_ms.to_string()),
    ];
    if dedup {
        fields.push(("dedup", "1".to_owned()));
    }
    if let Some(ip) = ctx.client_ip() {
        fields.push(("client_ip", ip.to_owned()));
    }
    if let Some(platform) = ctx.platform() {
        fields.push(("platform", platform.as_str().to_owned()));
    }
    if let Some(time) = ctx.request_time() {
        fields.push(("request_time", time.to_string()));
    }
    fields.push(("event", event.to_json()));
    fields
}

/// An entry read back.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) event: Event,
    pub(crate) ctx: RequestContext,
    /// The idempotency key, when the event is one the service de-duplicates. The entry's own
    /// `key` field is for people reading the stream (and dead letters).
    pub(crate) dedup_key: Option<String>,
}

/// Rebuilds the event and its context from an entry's fields; says why when it cannot (an
/// entry that will never parse goes to the dead-letter stream at once).
pub(crate) fn decode(map: &HashMap<String, Value>) -> Result<Decoded, String> {
    let text = |name: &str| -> Option<String> {
        map.get(name)
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
    };
    let required = |name: &str| text(name).ok_or_else(|| format!("entry has no `{name}` field"));
    let version = required("v")?;
    if version != VERSION {
        return Err(format!("entry layout version `{version}` is not known"));
    }
    let command = required("command")?;
    let app_id = required("app_id")?
        .parse::<u64>()
        .map_err(|_| "entry field `app_id` is not a number".to_owned())?;
    let json = required("event")?;
    let event = Event::parse(&command, json.as_bytes()).map_err(|e| e.to_string())?;
    let mut ctx = RequestContext::builder(app_id, command);
    if let Some(ip) = text("client_ip") {
        ctx = ctx.client_ip(ip);
    }
    if let Some(platform) = text("platform") {
        ctx = ctx.platform(&platform);
    }
    if let Some(time) = text("request_time").and_then(|t| t.parse().ok()) {
        ctx = ctx.request_time(time);
    }
    let mut ctx = ctx.build();
    ctx.targets = event.friend_targets();
    // Worked out again from the event and its app rather than read from `key`: an entry written
    // before keys named their app (the same layout otherwise) is keyed as a new one is.
    let dedup_key = event.dedup_key(app_id);
    Ok(Decoded {
        event,
        ctx,
        dedup_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::command::Command;

    fn as_map(fields: Vec<(&'static str, String)>) -> HashMap<String, Value> {
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::BulkString(v.into_bytes())))
            .collect()
    }

    #[test]
    fn every_command_survives_a_round_trip_with_its_context() {
        for &command in Command::ALL {
            let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
            let ctx = RequestContext::builder(1400000000, command.as_str())
                .client_ip("10.0.0.7")
                .platform("iOS")
                .request_time(1669872112)
                .build();
            let back = decode(&as_map(fields(&ctx, &event))).unwrap();
            assert_eq!(back.event, event, "{command}");
            assert_eq!(back.ctx.app_id(), 1400000000);
            assert_eq!(back.ctx.command(), command.as_str());
            assert_eq!(back.ctx.client_ip(), Some("10.0.0.7"));
            assert_eq!(back.ctx.platform().map(|p| p.as_str()), Some("iOS"));
            assert_eq!(back.ctx.request_time(), Some(1669872112));
            assert_eq!(back.dedup_key, event.dedup_key(1400000000), "{command}");
        }
    }

    /// An entry written before keys named their app (`key` was `<command>:<id>`) is processed
    /// under the key a new entry of the same event gets, so that two apps' entries queued before
    /// an upgrade are not taken for one another.
    #[test]
    fn an_entry_with_a_key_of_the_previous_layout_is_keyed_as_now() {
        let body = r#"{"GroupId":"@TGS#1","From_Account":"a","MsgSeq":7,"MsgBody":[]}"#;
        let event = Event::parse("Group.CallbackAfterSendMsg", body.as_bytes()).unwrap();
        let mut keys = Vec::new();
        for app_id in [1400000000, 1400000001] {
            let ctx = RequestContext::builder(app_id, "Group.CallbackAfterSendMsg").build();
            let mut map = as_map(fields(&ctx, &event));
            let now = decode(&map).unwrap().dedup_key;
            let previous = b"Group.CallbackAfterSendMsg:@TGS#1/7".to_vec();
            map.insert("key".into(), Value::BulkString(previous));
            let old = decode(&map).unwrap().dedup_key;
            assert_eq!(old, now);
            assert_eq!(now, event.dedup_key(app_id));
            keys.push(now);
        }
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn broken_entries_say_why() {
        let event = Event::parse("Future.Event", b"{}").unwrap();
        let ctx = RequestContext::builder(1, "Future.Event").build();
        let good = fields(&ctx, &event);
        type Spoil = fn(&mut HashMap<String, Value>);
        let cases: [(&str, Spoil, &str); 3] = [
            ("no event", |m| drop(m.remove("event")), "no `event` field"),
            (
                "a newer layout",
                |m| drop(m.insert("v".into(), Value::BulkString(b"9".to_vec()))),
                "version `9`",
            ),
            (
                "not json",
                |m| drop(m.insert("event".into(), Value::BulkString(b"{".to_vec()))),
                "json",
            ),
        ];
        for (name, spoil, want) in cases {
            let mut map = as_map(good.clone());
            spoil(&mut map);
            let error = decode(&map).unwrap_err();
            assert!(error.to_lowercase().contains(want), "{name}: {error}");
        }
    }
}
