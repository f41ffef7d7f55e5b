//! Cheap per-client counters: requests, pages, records, retries and time spent waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by every request and stream of one client. Updating them is a few
/// relaxed atomic additions; read them with [`Stats::snapshot`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
/// # let acme = sim.tenant_credentials("acme").unwrap();
/// # let client = audit_core::zendesk::ZendeskClient::builder()
/// #     .base_url(sim.zendesk_url())
/// #     .tenant("acme")
/// #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
/// #     .build()?;
/// use audit_core::zendesk::AuditLogQuery;
///
/// // A client keeps one `Stats`; `stats()` reads it.
/// let before = client.stats();
/// client.list_audit_logs(&AuditLogQuery::default()).await?;
/// assert_eq!(client.stats().requests, before.requests + 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    pages: AtomicU64,
    records: AtomicU64,
    duplicates_skipped: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    waited_pacing_ns: AtomicU64,
    waited_retry_after_ns: AtomicU64,
    waited_backoff_ns: AtomicU64,
}

/// A copy of a client's counters at one moment.
///
/// ```
/// use audit_core::StatsSnapshot;
///
/// let snapshot = StatsSnapshot::default();
/// assert_eq!(snapshot.requests, 0);
/// assert_eq!(snapshot.waited_on_rate_limits().as_secs(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Pages of records received by the streams.
    pub pages: u64,
    /// Records emitted by the streams (duplicates excluded).
    pub records: u64,
    /// Records the streams dropped because they had already been emitted.
    pub duplicates_skipped: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// `429 Too Many Requests` answers received.
    pub rate_limited: u64,
    /// Time spent waiting for the vendor's rate-limit window or the rate budget (the fixed
    /// cap, the share of the vendor's limit).
    pub waited_pacing: Duration,
    /// Time spent waiting as `Retry-After` asked.
    pub waited_retry_after: Duration,
    /// Time spent in exponential backoff after transient failures.
    pub waited_backoff: Duration,
}

impl StatsSnapshot {
    /// Time spent waiting on rate limits: pacing plus `Retry-After`.
    ///
    /// ```
    /// use audit_core::StatsSnapshot;
    /// use std::time::Duration;
    ///
    /// let mut snapshot = StatsSnapshot::default();
    /// snapshot.waited_pacing = Duration::from_secs(3);
    /// snapshot.waited_retry_after = Duration::from_secs(40);
    /// snapshot.waited_backoff = Duration::from_secs(7); // not a rate limit: the vendor failed
    /// assert_eq!(snapshot.waited_on_rate_limits(), Duration::from_secs(43));
    /// ```
    pub fn waited_on_rate_limits(&self) -> Duration {
        self.waited_pacing + self.waited_retry_after
    }
}

fn add_duration(counter: &AtomicU64, duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(nanos, Ordering::Relaxed);
}

fn duration(counter: &AtomicU64) -> Duration {
    Duration::from_nanos(counter.load(Ordering::Relaxed))
}

impl Stats {
    /// Reads every counter.
    ///
    /// ```
    /// use audit_core::{Stats, StatsSnapshot};
    ///
    /// let stats = Stats::default();
    /// assert_eq!(stats.snapshot(), StatsSnapshot::default());
    /// ```
    pub fn snapshot(&self) -> StatsSnapshot {
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: count(&self.requests),
            pages: count(&self.pages),
            records: count(&self.records),
            duplicates_skipped: count(&self.duplicates_skipped),
            retries: count(&self.retries),
            rate_limited: count(&self.rate_limited),
            waited_pacing: duration(&self.waited_pacing_ns),
            waited_retry_after: duration(&self.waited_retry_after_ns),
            waited_backoff: duration(&self.waited_backoff_ns),
        }
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn page(&self, records: usize, duplicates: usize) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
        self.duplicates_skipped
            .fetch_add(duplicates as u64, Ordering::Relaxed);
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn waited_pacing(&self, waited: Duration) {
        add_duration(&self.waited_pacing_ns, waited);
    }

    pub(crate) fn waited_retry_after(&self, waited: Duration) {
        add_duration(&self.waited_retry_after_ns, waited);
    }

    pub(crate) fn waited_backoff(&self, waited: Duration) {
        add_duration(&self.waited_backoff_ns, waited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_what_was_counted() {
        let stats = Stats::default();
        stats.request();
        stats.request();
        stats.page(100, 2);
        stats.retry();
        stats.rate_limited();
        stats.waited_retry_after(Duration::from_secs(2));
        stats.waited_pacing(Duration::from_millis(500));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.requests, 2);
        assert_eq!(snapshot.pages, 1);
        assert_eq!(snapshot.records, 100);
        assert_eq!(snapshot.duplicates_skipped, 2);
        assert_eq!(snapshot.retries, 1);
        assert_eq!(snapshot.rate_limited, 1);
        assert_eq!(
            snapshot.waited_on_rate_limits(),
            Duration::from_millis(2500)
        );
    }
}
