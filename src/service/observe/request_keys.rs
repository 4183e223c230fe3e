//! The keys of the two per-request metrics, built once for every command and outcome, so that a
//! request does not build, allocate and hash its labels (`metrics::counter!` does, recorder or
//! not).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Key, Label, Level, Metadata};

use super::{Command, CommandLabel};

/// Every `outcome` label [`finished`](super::finished) is given.
const OUTCOMES: [&str; 11] = [
    "acknowledged",
    "allow",
    "rewrite",
    "refuse_some",
    "deny",
    "drop",
    "deny_with_code",
    "duplicate",
    "console_check",
    "rejected",
    "failed",
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

struct Keys {
    /// `requests_total` by command, then outcome.
    requests: Vec<Key>,
    /// `request_duration_seconds` by command.
    durations: Vec<Key>,
}

/// The command labels: each known command, then `unknown`, then `none`.
fn command_labels() -> impl Iterator<Item = &'static str> {
    Command::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(["unknown", "none"])
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        requests: command_labels()
            .flat_map(|command| {
                OUTCOMES.iter().map(move |outcome| {
                    Key::from_parts(
                        "tencent_chat_webhook_requests_total",
                        vec![
                            Label::from_static_parts("command", command),
                            Label::from_static_parts("outcome", outcome),
                        ],
                    )
                })
            })
            .collect(),
        durations: command_labels()
            .map(|command| {
                Key::from_parts(
                    "tencent_chat_webhook_request_duration_seconds",
                    vec![Label::from_static_parts("command", command)],
                )
            })
            .collect(),
    })
}

/// Counts one finished request and records its latency.
pub(super) fn record(command: CommandLabel, outcome: &'static str, elapsed: Duration) {
    let command = match command {
        CommandLabel::None => Command::ALL.len() + 1,
        CommandLabel::Unknown => Command::ALL.len(),
        CommandLabel::Known(c) => c as usize,
    };
    let keys = keys();
    metrics::with_recorder(|recorder| {
        match OUTCOMES.iter().position(|o| *o == outcome) {
            Some(i) => recorder
                .register_counter(&keys.requests[command * OUTCOMES.len() + i], &METADATA)
                .increment(1),
            // An outcome missing from the table (a bug the test below catches) is still
            // counted, the slow way.
            None => metrics::counter!(
                "tencent_chat_webhook_requests_total",
                "command" => command_labels().nth(command).unwrap_or("none"),
                "outcome" => outcome
            )
            .increment(1),
        }
        recorder
            .register_histogram(&keys.durations[command], &METADATA)
            .record(elapsed.as_secs_f64());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::observe::Answered;

    #[test]
    fn every_outcome_and_command_has_its_key() {
        let decisions = [
            Answered::Acknowledged,
            Answered::Allow,
            Answered::Rewrite,
            Answered::RefuseSome,
            Answered::Deny,
            Answered::Drop,
            Answered::DenyWithCode(120_001),
            Answered::Duplicate,
            Answered::ConsoleCheck,
        ];
        for outcome in decisions
            .iter()
            .map(|d| d.as_str())
            .chain(["rejected", "failed"])
        {
            assert!(OUTCOMES.contains(&outcome), "{outcome}");
        }
        let keys = keys();
        assert_eq!(keys.durations.len(), Command::ALL.len() + 2);
        assert_eq!(keys.requests.len(), keys.durations.len() * OUTCOMES.len());
        for (i, command) in Command::ALL.iter().enumerate() {
            assert_eq!(*command as usize, i, "{command}");
            let labels: Vec<_> = keys.requests[i * OUTCOMES.len() + 1].labels().collect();
            assert_eq!(labels[0].value(), command.as_str());
            assert_eq!(labels[1].value(), "allow");
        }
    }
}
