//! A follower through a vendor outage: what it says while it waits, and how long it waits.
//!
//! The retry layer of `audit_core` retries each call within the policy's attempts and budget
//! (`--max-retries`, `--retry-budget`). When a call still fails with a transient error
//! ([`audit_core::Error::is_retryable`]), a non-follow export ends (exit 1; the same command
//! continues it). A follower instead commits what it wrote, waits the next delay of the same
//! policy's [`RetryPolicy::outage_backoff`] (doubling, jittered, capped at 5 minutes) and
//! reopens the stream from the checkpoint of the last page it wrote — exactly what rerunning
//! the command would do, so the output stays exact.
//!
//! It says so at the default verbosity: when the outage starts, when the failure changes,
//! at most every [`REMINDER`] while it lasts (not a line per attempt), and when the vendor
//! answers again.

use std::time::{Duration, Instant};

use audit_core::RetryPolicy;
use chrono::{DateTime, Utc};

/// While an outage lasts, how often it is reported again when nothing changed.
pub const REMINDER: Duration = Duration::from_secs(600);

/// One outage of one stream.
pub struct Outage {
    key: String,
    since: DateTime<Utc>,
    started: Instant,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    attempts: u32,
    /// The last failure reported, and when.
    reported: Option<(String, Instant)>,
}

impl Outage {
    /// An outage of the stream `key` starting now, waited out with `policy`'s delays.
    pub fn start(key: &str, policy: &RetryPolicy) -> Self {
        Outage {
            key: key.to_string(),
            since: Utc::now(),
            started: Instant::now(),
            delays: Box::new(policy.outage_backoff()),
            attempts: 0,
            reported: None,
        }
    }

    /// When the outage started.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// A try failed with `error` (the CLI's words): returns how long to wait before the next
    /// one, and says so when the failure is new or the last report is old.
    pub fn failed(&mut self, error: &str) -> Duration {
        self.attempts += 1;
        let delay = self.delays.next().unwrap_or(Duration::from_secs(300));
        let new = self.reported.as_ref().is_none_or(|(last, at)| {
            failure_kind(last) != failure_kind(error) || at.elapsed() >= REMINDER
        });
        if new {
            let next = Utc::now() + chrono::TimeDelta::from_std(delay).unwrap_or_default();
            tracing::warn!(
                "{}: waiting for the vendor since {} ({} attempt(s) so far): {error}; next \
                 attempt at {} (the follower retries until the vendor answers; -v shows every \
                 attempt)",
                self.key,
                clock(self.since),
                self.attempts,
                clock(next),
            );
            self.reported = Some((error.to_string(), Instant::now()));
        } else {
            tracing::debug!(
                stream = %self.key,
                attempt = self.attempts,
                delay_s = delay.as_secs(),
                "still waiting for the vendor: {error}"
            );
        }
        delay
    }

    /// The vendor answered again: says so.
    pub fn over(self) {
        tracing::warn!(
            "{}: the vendor answers again after {} of outage ({} failed attempt(s)); carrying \
             on from the last committed page",
            self.key,
            elapsed(self.started.elapsed()),
            self.attempts,
        );
    }
}

/// The part of a message that names the failure, without the counts and times that change
/// with every attempt: the first clause.
fn failure_kind(message: &str) -> &str {
    let end = message
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(message.len());
    &message[..end]
}

fn clock(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `42 s`, `7 min 3 s`, `2 h 5 min`.
pub fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_differing_only_in_counts_are_one_kind() {
        let a = "exporting x: listAuditLogs: gave up after 6 attempt(s) over 31.2 s";
        let b = "exporting x: listAuditLogs: gave up after 6 attempt(s) over 29.9 s";
        assert_eq!(failure_kind(a), failure_kind(b));
        assert_ne!(
            failure_kind(a),
            failure_kind("exporting x: listAuditLogs: the vendor answered HTTP 500")
        );
    }

    #[test]
    fn elapsed_reads_in_the_largest_units() {
        assert_eq!(elapsed(Duration::from_secs(42)), "42 s");
        assert_eq!(elapsed(Duration::from_secs(423)), "7 min 3 s");
        assert_eq!(elapsed(Duration::from_secs(7500)), "2 h 5 min");
    }
}
