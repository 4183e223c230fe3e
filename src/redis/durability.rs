//! [`Durability`]: what Redis must promise before the receiver acknowledges an event.

use std::time::Duration;

use super::inspect::Facts;

/// What the receiver ([`RedisSink`](super::RedisSink)) requires of Redis before it answers an
/// after-event 200, set with [`RedisConfigBuilder::durability`](super::RedisConfigBuilder::durability).
///
/// An answer 200 is a promise to Tencent, which does not send the event again: the entry must
/// survive what Redis may go through. Redis answers an `XADD` once the entry is in its memory;
/// whether it outlives a restart depends on how Redis is configured, which the receiver checks
/// on every new connection and every few seconds (`INFO`, `CONFIG GET appendfsync`). When Redis
/// does not give what the setting requires, the receiver writes nothing and answers 500 (so
/// that Tencent retries; the reason is logged at warn once, and the metric
/// `tencent_chat_webhook_queue_durable` is 0 until it does).
///
/// | setting | acknowledged events survive | lost by |
/// | --- | --- | --- |
/// | [`AofAlways`](Self::AofAlways) (default) | a crash or kill of Redis, a power loss | the loss of the disk |
/// | [`AofEverySec`](Self::AofEverySec) | a crash or kill of Redis, mostly | a power loss or OS crash: up to ~1 s of events (~2 s with a slow disk, when a kill can lose them too) |
/// | [`Replicas`](Self::Replicas) | the loss of the primary, when a replica that had them takes over | a restart of a primary without persistence (its replicas copy it, empty) |
/// | [`AcceptLoss`](Self::AcceptLoss) | nothing checked | any restart of a Redis without persistence: every entry not yet processed |
///
/// Every setting but [`AcceptLoss`](Self::AcceptLoss) also refuses a Redis that evicts keys (a
/// `maxmemory` with a `maxmemory-policy` other than `noeviction`): when full, it would drop the
/// stream of acknowledged events, or a de-duplication key between two copies of an event. With
/// the AOF settings, each `XADD` is followed in its round trip by `CONFIG GET appendonly` and
/// `appendfsync`: AOF switched off at run time refuses the very next event, not the first
/// after the next look.
///
/// RDB snapshots (`save`) alone never qualify: a restart loses what came after the last one.
/// The check sees the running configuration: an AOF switched on with `CONFIG SET` and not
/// written to the configuration file (`CONFIG REWRITE`) is off again after a restart, and is
/// safe only once its first rewrite has finished (`INFO persistence`,
/// `aof_rewrite_in_progress:0`).
///
/// ```
/// use std::time::Duration;
/// use tencent_chat_webhook::redis::{Durability, RedisConfig};
///
/// let config = RedisConfig::builder("redis://127.0.0.1:6379")
///     .durability(Durability::Replicas { count: 1, timeout: Duration::from_millis(200) })
///     .build()
///     .unwrap();
/// assert_eq!(
///     config.durability(),
///     Durability::Replicas { count: 1, timeout: Duration::from_millis(200) }
/// );
/// assert_eq!(RedisConfig::builder("redis://h").build().unwrap().durability(), Durability::AofAlways);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// AOF on with `appendfsync always` (`appendonly yes`): Redis writes each entry to its
    /// file and syncs it to disk before it answers, so nothing acknowledged is lost but with the
    /// disk. The receiver refuses when AOF is off, when `appendfsync` is anything else, and when
    /// it cannot tell (`CONFIG` renamed or disabled, as on some managed services, or denied by
    /// an ACL): then choose [`Replicas`](Self::Replicas) or, knowing the risk,
    /// [`AcceptLoss`](Self::AcceptLoss).
    AofAlways,
    /// AOF on with `appendfsync everysec` (Redis's default once AOF is on) or `always`. Redis
    /// writes each entry to its file before it answers and syncs once a second: a crash or kill
    /// of Redis loses nothing (the file is in the OS's cache), but a power loss or OS crash
    /// loses up to about a second of acknowledged events, and when the disk is slow Redis
    /// postpones its writes up to 2 s, when a kill of Redis loses them too. Refused with
    /// `appendfsync no`, and when `CONFIG` cannot be read.
    AofEverySec,
    /// After each `XADD`, `WAIT count timeout`: the event is acknowledged once `count`
    /// replicas have it, and refused when fewer took it within `timeout` (keep it below the
    /// [`write_timeout`](super::RedisConfigBuilder::write_timeout)), or when fewer are online at
    /// the last check. Survives the loss of the primary when a replica that had the event
    /// takes over (Sentinel, a managed failover), but `WAIT` is no consensus: a failover can
    /// still promote a replica that had not. A primary without persistence that restarts comes
    /// back empty and its replicas copy it, losing everything: give the primary AOF too, or
    /// make sure it is never restarted in place. `WAIT` blocks the receiver's connection while
    /// it waits, so every event waits for the replicas' round trip in turn.
    Replicas {
        /// How many replicas must have the event; at least 1.
        count: u32,
        /// How long to wait for them; more than zero.
        timeout: Duration,
    },
    /// No check: every event Redis takes is acknowledged. A restart of a Redis without
    /// persistence loses every entry not yet processed, acknowledged to Tencent and never sent
    /// again. For tests and for events you can afford to lose.
    AcceptLoss,
}

impl Durability {
    /// Why Redis as `facts` describe it does not give what `self` requires, if it does not.
    pub(crate) fn refusal(self, facts: &Facts) -> Option<String> {
        if self == Durability::AcceptLoss {
            return None;
        }
        if let Some(policy) = &facts.evicting {
            return Some(format!(
                "maxmemory-policy is {policy} with a maxmemory: when full, Redis evicts keys, the stream of acknowledged events and the de-duplication keys among them; set maxmemory-policy noeviction (Redis then refuses writes when full, and events are answered 500, so Tencent retries them)"
            ));
        }
        match self {
            Durability::Replicas { count, .. } => facts
                .replicas_online
                .filter(|online| *online < count)
                .map(|online| {
                    format!(
                        "{online} replicas are online and the durability setting asks for {count}"
                    )
                }),
            _ => self.refusal_of_aof(
                facts.aof.as_ref().map(|on| *on),
                facts.appendfsync.as_deref(),
            ),
        }
    }

    /// Whether this setting asks, with each acknowledgement, that AOF still be on as required
    /// (`CONFIG GET appendonly` and `appendfsync` after the `XADD`, in its round trip), so that
    /// AOF switched off at run time refuses the next event, not the first after the next look.
    pub(crate) fn checks_aof(self) -> bool {
        matches!(self, Durability::AofAlways | Durability::AofEverySec)
    }

    /// Why an AOF that is on or off (`aof`) and syncs as `fsync` does not give what `self`
    /// requires, if it does not; for the AOF settings only.
    pub(crate) fn refusal_of_aof(
        self,
        aof: Result<bool, &String>,
        fsync: Result<&str, &String>,
    ) -> Option<String> {
        let required = match self {
            Durability::AofEverySec => "appendfsync always or everysec",
            Durability::AofAlways => "appendfsync always",
            Durability::AcceptLoss | Durability::Replicas { .. } => return None,
        };
        let fix = format!(
            "turn AOF on with {required} (appendonly yes), or choose another durability setting"
        );
        match (aof, fsync) {
            (Err(why), _) => Some(format!(
                "cannot tell whether AOF is on ({why}); the durability setting asks for {required}"
            )),
            (Ok(false), _) => Some(format!(
                "appendonly is off: a restart of Redis loses every entry not yet processed; {fix}"
            )),
            (Ok(true), Err(why)) => Some(format!(
                "AOF is on, but how it syncs cannot be read ({why}; CONFIG may be renamed or disabled); the durability setting asks for {required}: choose Replicas, or AcceptLoss knowing the risk"
            )),
            (Ok(true), Ok(fsync)) => {
                let enough = match self {
                    Durability::AofEverySec => fsync == "always" || fsync == "everysec",
                    _ => fsync == "always",
                };
                (!enough).then(|| {
                    let risk = if fsync == "everysec" {
                        "a power loss or OS crash loses up to about a second of acknowledged events"
                    } else {
                        "a power loss or OS crash loses what the OS had not yet written"
                    };
                    format!("appendfsync is {fsync}: {risk}; {fix}")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(aof: Result<bool, &str>, fsync: Result<&str, &str>, replicas: u32) -> Facts {
        Facts {
            run_id: Some("r".to_owned()),
            uptime: None,
            aof: aof.map_err(str::to_owned),
            appendfsync: fsync.map(str::to_owned).map_err(str::to_owned),
            replicas_online: Some(replicas),
            evicting: None,
            stream_last_id: None,
            group: None,
            pending: 0,
        }
    }

    #[test]
    fn a_redis_that_evicts_keys_is_refused_by_every_setting_but_accept_loss() {
        let mut evicting = facts(Ok(true), Ok("always"), 2);
        evicting.evicting = Some("allkeys-lru".to_owned());
        let replicas = Durability::Replicas {
            count: 1,
            timeout: Duration::from_millis(100),
        };
        for setting in [Durability::AofAlways, Durability::AofEverySec, replicas] {
            assert!(setting.refusal(&facts(Ok(true), Ok("always"), 2)).is_none());
            let why = setting.refusal(&evicting).expect("refused");
            assert!(
                why.contains("maxmemory-policy is allkeys-lru") && why.contains("noeviction"),
                "{setting:?}: {why}"
            );
        }
        assert_eq!(Durability::AcceptLoss.refusal(&evicting), None);
    }

    #[test]
    fn each_setting_accepts_what_it_promises_and_says_why_not() {
        let replicas = Durability::Replicas {
            count: 2,
            timeout: Duration::from_millis(100),
        };
        let always = facts(Ok(true), Ok("always"), 0);
        let everysec = facts(Ok(true), Ok("everysec"), 0);
        let no_fsync = facts(Ok(true), Ok("no"), 0);
        let off = facts(Ok(false), Ok("everysec"), 0);
        let no_config = facts(Ok(true), Err("CONFIG GET refused: unknown command"), 0);
        let no_info = facts(Err("INFO refused: NOPERM"), Err("x"), 0);
        // (name, setting, facts, None when accepted or a part of the reason)
        let cases: [(&str, Durability, &Facts, Option<&str>); 16] = [
            (
                "always under AofAlways",
                Durability::AofAlways,
                &always,
                None,
            ),
            (
                "everysec under AofAlways",
                Durability::AofAlways,
                &everysec,
                Some("appendfsync is everysec: a power loss"),
            ),
            (
                "no fsync under AofAlways",
                Durability::AofAlways,
                &no_fsync,
                Some("appendfsync is no"),
            ),
            (
                "AOF off under AofAlways",
                Durability::AofAlways,
                &off,
                Some("appendonly is off"),
            ),
            (
                "CONFIG disabled under AofAlways",
                Durability::AofAlways,
                &no_config,
                Some("CONFIG may be renamed or disabled"),
            ),
            (
                "INFO denied under AofAlways",
                Durability::AofAlways,
                &no_info,
                Some("NOPERM"),
            ),
            (
                "always under AofEverySec",
                Durability::AofEverySec,
                &always,
                None,
            ),
            (
                "everysec under AofEverySec",
                Durability::AofEverySec,
                &everysec,
                None,
            ),
            (
                "no fsync under AofEverySec",
                Durability::AofEverySec,
                &no_fsync,
                Some("appendfsync is no"),
            ),
            (
                "AOF off under AofEverySec",
                Durability::AofEverySec,
                &off,
                Some("appendonly is off"),
            ),
            (
                "CONFIG disabled under AofEverySec",
                Durability::AofEverySec,
                &no_config,
                Some("cannot be read"),
            ),
            (
                "two replicas online",
                replicas,
                &facts(Ok(false), Ok("no"), 2),
                None,
            ),
            (
                "one replica online",
                replicas,
                &facts(Ok(false), Ok("no"), 1),
                Some("1 replicas are online and the durability setting asks for 2"),
            ),
            ("AcceptLoss, AOF off", Durability::AcceptLoss, &off, None),
            (
                "AcceptLoss, nothing known",
                Durability::AcceptLoss,
                &no_info,
                None,
            ),
            ("AcceptLoss, always", Durability::AcceptLoss, &always, None),
        ];
        for (name, setting, facts, want) in cases {
            let got = setting.refusal(facts);
            match (want, &got) {
                (None, None) => {}
                (Some(part), Some(reason)) => assert!(reason.contains(part), "{name}: {reason}"),
                _ => panic!("{name}: {got:?}"),
            }
        }
    }
}
