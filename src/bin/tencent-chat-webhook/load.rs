//! `load`: many requests, a few at a time, summed up as throughput, statuses and latency
//! percentiles.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Outgoing;
use crate::client::{self, Answer, HttpClient};

/// What a load run saw.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    count: usize,
    concurrency: usize,
    elapsed: Duration,
    /// How many answers of each status ("200 OK"), and "no answer" for the failures.
    statuses: BTreeMap<String, usize>,
    /// The latencies of the requests that were answered, sorted.
    latencies: Vec<Duration>,
    /// Answers that were not 2xx.
    not_ok: usize,
    /// Requests that got no answer.
    failed: usize,
    /// The first failure, in words.
    first_failure: Option<String>,
}

/// Sends `count` requests over `concurrency` workers, each sending its share one after the other.
pub(crate) async fn run(
    client: &HttpClient,
    outgoing: Outgoing,
    count: usize,
    concurrency: usize,
) -> Result<Summary, String> {
    let outgoing = Arc::new(outgoing);
    let concurrency = concurrency.clamp(1, count.max(1));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (client, outgoing) = (client.clone(), outgoing.clone());
            // Spread the requests evenly: the first `count % concurrency` workers send one more.
            let share = count / concurrency + usize::from(w < count % concurrency);
            tokio::spawn(async move {
                let mut results = Vec::with_capacity(share);
                for _ in 0..share {
                    results.push(client::send_one(&client, &outgoing).await);
                }
                results
            })
        })
        .collect();
    let mut results = Vec::with_capacity(count);
    for worker in workers {
        results.extend(
            worker
                .await
                .map_err(|e| format!("a sending task failed: {e}"))?,
        );
    }
    let mut summary = Summary::of(results);
    summary.concurrency = concurrency;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

impl Summary {
    fn of(results: Vec<Result<Answer, String>>) -> Summary {
        let mut s = Summary {
            count: results.len(),
            ..Summary::default()
        };
        for result in results {
            match result {
                Ok(answer) => {
                    s.latencies.push(answer.latency);
                    *s.statuses.entry(answer.status.to_string()).or_default() += 1;
                    if !answer.status.is_success() {
                        s.not_ok += 1;
                        s.first_failure.get_or_insert_with(|| {
                            format!(
                                "the server answered {}: {}",
                                answer.status,
                                String::from_utf8_lossy(&answer.reply)
                            )
                        });
                    }
                }
                Err(e) => {
                    *s.statuses.entry("no answer".to_owned()).or_default() += 1;
                    s.failed += 1;
                    s.first_failure.get_or_insert(e);
                }
            }
        }
        s.latencies.sort_unstable();
        s
    }

    /// The latency that `p` (0 to 1) of the answered requests did not exceed (nearest rank).
    fn percentile(&self, p: f64) -> Duration {
        let rank = (self.latencies.len() as f64 * p).ceil() as usize;
        self.latencies
            .get(rank.saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// The report, one line of throughput, one per status, one of latencies.
    pub(crate) fn report(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.count as f64 / secs
        } else {
            0.0
        };
        let mut text = format!(
            "{} requests, concurrency {}, in {secs:.3} s: {rate:.0} req/s\n",
            self.count, self.concurrency
        );
        for (status, n) in &self.statuses {
            let _ = writeln!(text, "  {status}: {n}");
        }
        if !self.latencies.is_empty() {
            let _ = writeln!(
                text,
                "  latency p50 {}  p90 {}  p99 {}  max {}",
                client::ms(self.percentile(0.50)),
                client::ms(self.percentile(0.90)),
                client::ms(self.percentile(0.99)),
                client::ms(self.percentile(1.0))
            );
        }
        text
    }

    /// `Err` (what failed, and how many) unless every request got a 2xx answer.
    pub(crate) fn verdict(&self) -> Result<(), String> {
        if self.not_ok == 0 && self.failed == 0 {
            return Ok(());
        }
        let first = self.first_failure.as_deref().unwrap_or_default();
        Err(format!(
            "{} of {} requests failed ({} answered non-2xx, {} got no answer); the first: {first}",
            self.not_ok + self.failed,
            self.count,
            self.not_ok,
            self.failed
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::StatusCode;

    fn answered(status: u16, ms: u64) -> Result<Answer, String> {
        Ok(Answer {
            status: StatusCode::from_u16(status).unwrap(),
            reply: Bytes::from_static(b"{}"),
            latency: Duration::from_millis(ms),
        })
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Summary::of((1..=100).rev().map(|ms| answered(200, ms)).collect());
        let cases = [(0.50, 50), (0.90, 90), (0.99, 99), (1.0, 100), (0.0, 1)];
        for (p, want) in cases {
            assert_eq!(s.percentile(p), Duration::from_millis(want), "p{p}");
        }
        assert_eq!(Summary::default().percentile(0.5), Duration::ZERO);
    }

    #[test]
    fn every_2xx_is_a_success() {
        let s = Summary::of(vec![answered(200, 1), answered(204, 2)]);
        assert_eq!(s.verdict(), Ok(()));
        assert!(
            s.report().contains("  200 OK: 1\n  204 No Content: 1\n"),
            "{}",
            s.report()
        );
    }

    #[test]
    fn failures_are_counted_and_the_first_is_named() {
        let s = Summary::of(vec![
            answered(200, 1),
            Err("could not reach http://x/: refused".to_owned()),
            answered(401, 3),
            answered(500, 4),
        ]);
        assert_eq!(
            s.verdict().unwrap_err(),
            "3 of 4 requests failed (2 answered non-2xx, 1 got no answer); \
             the first: could not reach http://x/: refused"
        );
        let report = s.report();
        for want in [
            "4 requests, concurrency 0",
            "  401 Unauthorized: 1",
            "  no answer: 1",
            "max 4.00 ms",
        ] {
            assert!(report.contains(want), "{want}: {report}");
        }
    }

    #[test]
    fn no_answer_at_all_prints_no_latencies() {
        let s = Summary::of(vec![Err("no answer".to_owned())]);
        assert!(!s.report().contains("latency"), "{}", s.report());
        assert!(s.verdict().is_err());
    }
}
