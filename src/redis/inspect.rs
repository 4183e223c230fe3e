//! What a connection learns about the Redis behind it (one round trip, made on every new
//! connection and every [`RECHECK`]), and what a process remembers of the last look, so that
//! a Redis that came back with less than it had is told apart from one that kept everything.

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;

/// How often a connection that stays up is inspected again: a Redis restarted behind a proxy,
/// or persistence switched off with `CONFIG SET`, is noticed within this.
pub(crate) const RECHECK: Duration = Duration::from_secs(5);

/// A stream entry id, `<ms>-<seq>`, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    pub(crate) fn parse(id: &str) -> Option<EntryId> {
        let (ms, seq) = id.split_once('-')?;
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// What one look at the server found. A fact that could not be read says why in its `Err`.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    /// `INFO server`'s `run_id`: a new one on every start of the server.
    pub(crate) run_id: Option<String>,
    /// How long the server has been up (whole seconds).
    pub(crate) uptime: Option<Duration>,
    /// `INFO persistence`'s `aof_enabled`.
    pub(crate) aof: Result<bool, String>,
    /// `CONFIG GET appendfsync`: `always`, `everysec` or `no`.
    pub(crate) appendfsync: Result<String, String>,
    /// `INFO replication`'s replicas in state `online`.
    pub(crate) replicas_online: Option<u32>,
    /// `INFO memory`'s `maxmemory_policy` when Redis evicts keys: a `maxmemory` is set and the
    /// policy is not `noeviction`.
    pub(crate) evicting: Option<String>,
    /// The stream's `last-generated-id`; `None` when there is no such stream.
    pub(crate) stream_last_id: Option<EntryId>,
    /// Whether the consumer group exists (asked only by the workers).
    pub(crate) group: Option<bool>,
    /// How many entries the group has delivered and not seen acknowledged.
    pub(crate) pending: u64,
}

/// Looks at the server behind `conn`: its identity and persistence, the stream, and the
/// `group` when given, in one round trip. Fails only when the connection does.
pub(crate) async fn inspect(
    conn: &mut MultiplexedConnection,
    stream: &str,
    group: Option<&str>,
) -> redis::RedisResult<Facts> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    pipe.cmd("INFO")
        .arg("server")
        .arg("persistence")
        .arg("replication")
        .arg("memory");
    pipe.cmd("CONFIG").arg("GET").arg("appendfsync");
    pipe.cmd("XINFO").arg("STREAM").arg(stream);
    if group.is_some() {
        pipe.cmd("XINFO").arg("GROUPS").arg(stream);
    }
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    Ok(Facts::read(&replies, group))
}

impl Facts {
    /// Reads the replies to [`inspect`]'s commands.
    fn read(replies: &[Value], group: Option<&str>) -> Facts {
        let reply = |i: usize| replies.get(i).unwrap_or(&Value::Nil);
        let info = text(reply(0));
        let field = |name: &str| -> Option<&str> {
            let info = info.as_ref().ok()?;
            info.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        let aof = match (&info, field("aof_enabled")) {
            (Err(why), _) => Err(format!("INFO refused: {why}")),
            (Ok(_), Some(on)) => Ok(on == "1"),
            (Ok(_), None) => Err("INFO has no aof_enabled".to_owned()),
        };
        let replicas_online = info.as_ref().ok().map(|info| {
            let online = info
                .lines()
                .filter(|line| line.starts_with("slave") && line.contains("state=online"));
            u32::try_from(online.count()).unwrap_or(u32::MAX)
        });
        let appendfsync = config_value(reply(1), "appendfsync");
        let evicting = match (field("maxmemory"), field("maxmemory_policy")) {
            (Some(max), Some(policy)) if max != "0" && policy != "noeviction" => {
                Some(policy.to_owned())
            }
            _ => None,
        };
        let stream_last_id = pairs(reply(2))
            .into_iter()
            .find(|(name, _)| name == "last-generated-id")
            .and_then(|(_, v)| EntryId::parse(&text(v).ok()?));
        let ours = group.and_then(|group| match reply(3) {
            Value::Array(groups) => groups.iter().map(pairs).find(|g| {
                g.iter()
                    .any(|(name, v)| name == "name" && text(v).as_deref() == Ok(group))
            }),
            _ => None,
        });
        let pending = ours
            .as_ref()
            .and_then(|g| g.iter().find(|(name, _)| name == "pending"))
            .and_then(|(_, v)| redis::from_redis_value_ref::<u64>(v).ok())
            .unwrap_or(0);
        Facts {
            run_id: field("run_id").map(str::to_owned),
            uptime: field("uptime_in_seconds")
                .and_then(|s| s.parse().ok())
                .map(Duration::from_secs),
            aof,
            appendfsync,
            replicas_online,
            evicting,
            stream_last_id,
            group: group.map(|_| ours.is_some()),
            pending,
        }
    }
}

/// A reply as text; a server error as its message.
/// The value of `name` in the reply to `CONFIG GET name`, or why there is none.
pub(crate) fn config_value(reply: &Value, name: &str) -> Result<String, String> {
    match reply {
        Value::ServerError(e) => Err(format!("CONFIG GET refused: {e}")),
        value => pairs(value)
            .into_iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, v)| text(v).ok())
            .ok_or_else(|| format!("CONFIG GET {name} answered nothing")),
    }
}

fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::ServerError(e) => Err(e.to_string()),
        Value::VerbatimString { text, .. } => Ok(text.clone()),
        other => redis::from_redis_value_ref::<String>(other).map_err(|e| e.to_string()),
    }
}

/// The name-value pairs of a map reply: a RESP3 map, or a RESP2 flat array.
fn pairs(value: &Value) -> Vec<(String, &Value)> {
    match value {
        Value::Map(map) => map
            .iter()
            .filter_map(|(k, v)| Some((text(k).ok()?, v)))
            .collect(),
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|kv| Some((text(&kv[0]).ok()?, &kv[1])))
            .collect(),
        _ => Vec::new(),
    }
}

/// What a process last knew of the server, the stream and the group.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub(crate) run_id: Option<String>,
    /// The highest entry id this process knows the stream had: acknowledged by `XADD` (the
    /// receiver) or read (a worker), or the stream's last id at the last look.
    pub(crate) last_id: Option<EntryId>,
    /// Whether the group existed at the last look.
    pub(crate) had_group: bool,
}

/// What a look found against what was remembered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// The server is another one (`run_id` changed): a restart, or a failover.
    pub(crate) restarted: bool,
    /// What the server no longer has.
    pub(crate) losses: Vec<Loss>,
}

/// Something the server no longer has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// The stream is gone, though it had entries up to this id.
    StreamGone { had: EntryId },
    /// The stream's last id is below one it had.
    StreamBehind { had: EntryId, now: EntryId },
    /// The consumer group is gone.
    GroupGone,
}

impl Loss {
    /// The metrics and log label.
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Loss::StreamGone { .. } => "stream_gone",
            Loss::StreamBehind { .. } => "stream_behind",
            Loss::GroupGone => "group_gone",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::StreamGone { had } => {
                write!(f, "the stream is gone, though it had entries up to {had}")
            }
            Loss::StreamBehind { had, now } => write!(
                f,
                "the stream's last entry id is {now}, below {had} that it had: the entries after it are gone"
            ),
            Loss::GroupGone => f.write_str("the consumer group is gone"),
        }
    }
}

impl Memory {
    /// Compares `facts` with what was remembered, then remembers them.
    pub(crate) fn update(&mut self, facts: &Facts) -> Changes {
        self.update_since(self.last_id, facts)
    }

    /// [`update`](Self::update) for a look sent when the stream's last known id was `had`:
    /// entries seen while the look was on its way may be missing from it, without a loss.
    pub(crate) fn update_since(&mut self, had: Option<EntryId>, facts: &Facts) -> Changes {
        let mut changes = Changes {
            restarted: matches!((&self.run_id, &facts.run_id), (Some(a), Some(b)) if a != b),
            losses: Vec::new(),
        };
        if let Some(had) = had {
            match facts.stream_last_id {
                None => changes.losses.push(Loss::StreamGone { had }),
                Some(now) if now.cmp(&had) == Ordering::Less => {
                    changes.losses.push(Loss::StreamBehind { had, now });
                }
                Some(_) => {}
            }
        }
        if self.had_group && facts.group == Some(false) {
            changes.losses.push(Loss::GroupGone);
        }
        if facts.run_id.is_some() {
            self.run_id.clone_from(&facts.run_id);
        }
        // After a loss the stream starts over from what it has; otherwise an entry this
        // process saw while the look was on its way still counts.
        if changes.losses.is_empty() {
            self.last_id = self.last_id.max(facts.stream_last_id);
        } else {
            self.last_id = facts.stream_last_id;
        }
        if let Some(group) = facts.group {
            self.had_group = group;
        }
        changes
    }

    /// Remembers that the stream had `id`.
    pub(crate) fn saw(&mut self, id: EntryId) {
        if self.last_id.is_none_or(|last| id > last) {
            self.last_id = Some(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn info(aof: &str, replicas: &[&str]) -> Value {
        let mut text = format!(
            "# Server\r\nredis_version:7.0.15\r\nrun_id:abc\r\nuptime_in_seconds:42\r\n\r\n# Persistence\r\naof_enabled:{aof}\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:{}\r\n",
            replicas.len()
        );
        for (i, state) in replicas.iter().enumerate() {
            text.push_str(&format!(
                "slave{i}:ip=127.0.0.1,port=1,state={state},offset=1,lag=0\r\n"
            ));
        }
        Value::VerbatimString {
            format: redis::VerbatimFormat::Text,
            text,
        }
    }

    fn error(message: &str) -> Value {
        let value = redis::parse_redis_value(format!("-ERR {message}\r\n").as_bytes()).unwrap();
        assert!(matches!(value, Value::ServerError(_)));
        value
    }

    #[test]
    fn replies_are_read_in_both_protocols() {
        let stream2 = Value::Array(vec![
            bulk("length"),
            Value::Int(3),
            bulk("last-generated-id"),
            bulk("1700000000000-7"),
        ]);
        let stream3 = Value::Map(vec![(bulk("last-generated-id"), bulk("1700000000000-7"))]);
        let groups = Value::Array(vec![
            Value::Array(vec![
                bulk("name"),
                bulk("others"),
                bulk("pending"),
                Value::Int(9),
            ]),
            Value::Map(vec![
                (bulk("name"), bulk("workers")),
                (bulk("pending"), Value::Int(3)),
            ]),
        ]);
        let config = Value::Array(vec![bulk("appendfsync"), bulk("always")]);
        for (name, stream) in [("resp2", stream2), ("resp3", stream3)] {
            let replies = [
                info("1", &["online", "wait_bgsave"]),
                config.clone(),
                stream,
                groups.clone(),
            ];
            let facts = Facts::read(&replies, Some("workers"));
            assert_eq!(facts.run_id.as_deref(), Some("abc"), "{name}");
            assert_eq!(facts.uptime, Some(Duration::from_secs(42)), "{name}");
            assert_eq!(facts.aof, Ok(true), "{name}");
            assert_eq!(facts.appendfsync.as_deref(), Ok("always"), "{name}");
            assert_eq!(facts.replicas_online, Some(1), "{name}");
            assert_eq!(
                facts.stream_last_id,
                EntryId::parse("1700000000000-7"),
                "{name}"
            );
            assert_eq!(facts.group, Some(true), "{name}");
            assert_eq!(facts.pending, 3, "{name}: the group's own");
        }
    }

    #[test]
    fn refused_commands_say_why() {
        let replies = [
            error("unknown command 'INFO'"),
            error("unknown command 'CONFIG'"),
            error("no such key"),
            error("no such key"),
        ];
        let facts = Facts::read(&replies, Some("workers"));
        assert!(facts.aof.unwrap_err().contains("unknown command 'INFO'"));
        assert!(
            facts
                .appendfsync
                .unwrap_err()
                .contains("unknown command 'CONFIG'")
        );
        assert_eq!((facts.run_id, facts.replicas_online), (None, None));
        assert_eq!((facts.stream_last_id, facts.group), (None, Some(false)));
    }

    #[test]
    fn entry_ids_order_by_time_then_sequence() {
        let id = |s| EntryId::parse(s).unwrap();
        assert!(id("5-0") < id("5-1"));
        assert!(id("5-9") < id("10-0"), "numbers, not text");
        assert_eq!(id("1700000000000-7").to_string(), "1700000000000-7");
        for bad in ["", "5", "5-", "-1", "a-1", "1-b"] {
            assert_eq!(EntryId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_look_is_compared_with_the_last() {
        let facts = |run_id: &str, last: Option<&str>, group: Option<bool>| Facts {
            run_id: Some(run_id.to_owned()),
            uptime: None,
            aof: Ok(true),
            appendfsync: Ok("always".to_owned()),
            replicas_online: None,
            evicting: None,
            stream_last_id: last.and_then(EntryId::parse),
            group,
            pending: 0,
        };
        let id = |s| EntryId::parse(s).unwrap();
        type Case<'a> = (&'a str, Vec<Facts>, Changes);
        let cases: [Case<'_>; 6] = [
            (
                "a first look",
                vec![facts("a", Some("5-0"), Some(true))],
                Changes::default(),
            ),
            (
                "a restart that kept everything",
                vec![
                    facts("a", Some("5-0"), Some(true)),
                    facts("b", Some("5-0"), Some(true)),
                ],
                Changes {
                    restarted: true,
                    losses: vec![],
                },
            ),
            (
                "a restart that came back empty",
                vec![
                    facts("a", Some("5-0"), Some(true)),
                    facts("b", None, Some(false)),
                ],
                Changes {
                    restarted: true,
                    losses: vec![Loss::StreamGone { had: id("5-0") }, Loss::GroupGone],
                },
            ),
            (
                "a restart from an older copy",
                vec![facts("a", Some("5-3"), None), facts("b", Some("5-1"), None)],
                Changes {
                    restarted: true,
                    losses: vec![Loss::StreamBehind {
                        had: id("5-3"),
                        now: id("5-1"),
                    }],
                },
            ),
            (
                "the group destroyed, no restart",
                vec![
                    facts("a", Some("5-0"), Some(true)),
                    facts("a", Some("6-0"), Some(false)),
                ],
                Changes {
                    restarted: false,
                    losses: vec![Loss::GroupGone],
                },
            ),
            (
                "no stream yet, then one",
                vec![facts("a", None, None), facts("a", Some("1-0"), None)],
                Changes::default(),
            ),
        ];
        for (name, looks, want) in cases {
            let mut memory = Memory::default();
            let mut last = Changes::default();
            for look in &looks {
                last = memory.update(look);
            }
            assert_eq!(last, want, "{name}");
        }
    }

    #[test]
    fn a_look_older_than_an_acknowledgement_does_not_forget_it() {
        let id = |s: &str| EntryId::parse(s).unwrap();
        let look = |last: &str| Facts {
            run_id: Some("a".to_owned()),
            uptime: None,
            aof: Ok(true),
            appendfsync: Ok("always".to_owned()),
            replicas_online: None,
            evicting: None,
            stream_last_id: Some(id(last)),
            group: None,
            pending: 0,
        };
        let mut memory = Memory::default();
        memory.update(&look("5-0"));
        // A look is sent, then 7-0 is acknowledged: the look's XINFO ran before that XADD.
        let had = memory.last_id;
        memory.saw(id("7-0"));
        assert_eq!(memory.update_since(had, &look("6-0")), Changes::default());
        assert_eq!(memory.last_id, Some(id("7-0")));
        // A later look that does not have 7-0 reports it gone, once.
        let lost = memory.update(&look("6-5"));
        assert_eq!(
            lost.losses,
            [Loss::StreamBehind {
                had: id("7-0"),
                now: id("6-5")
            }]
        );
        assert_eq!(memory.update(&look("6-5")), Changes::default());
    }

    #[test]
    fn what_was_acknowledged_counts_as_had() {
        let mut memory = Memory::default();
        let first = Facts::read(&[info("1", &[]), Value::Nil, error("no such key")], None);
        assert_eq!(memory.update(&first), Changes::default());
        memory.saw(EntryId::parse("9-0").unwrap());
        memory.saw(EntryId::parse("8-0").unwrap());
        let changes = memory.update(&first);
        assert_eq!(
            changes.losses,
            [Loss::StreamGone {
                had: EntryId::parse("9-0").unwrap()
            }]
        );
    }
}
