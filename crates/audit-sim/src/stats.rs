//! Live counters: requests per endpoint, faults per kind, rate limiting, pages served.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One rate-limit window of one tenant and vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowStat {
    /// Tenant name.
    pub tenant: String,
    /// `zendesk` or `genesys`.
    pub vendor: String,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// Authenticated requests in the window.
    pub requests: u64,
    /// Of which refused with 429 by the limiter.
    pub limited: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Requests per endpoint, keyed `vendor.OperationId` (e.g. `zendesk.ListAuditLogs`,
    /// `genesys.token`, `genesys.download`), counted whatever the answer.
    pub requests: BTreeMap<String, u64>,
    /// Faults injected, per kind (`status_429`, `connection_reset`, `page_latency`, …).
    pub faults: BTreeMap<String, u64>,
    /// Requests that could have received each fault kind (its denominator).
    pub fault_opportunities: BTreeMap<String, u64>,
    /// 429s sent by the rate limiter, keyed `tenant/vendor`.
    pub rate_limited: BTreeMap<String, u64>,
    /// Requests per rate-limit window.
    pub windows: Vec<WindowStat>,
    /// Download requests refused because they carried an `Authorization` header.
    pub download_auth_rejected: u64,
    /// Genesys access tokens issued.
    pub tokens_issued: u64,
    /// Audit-log exports refused by the 1-per-minute limit.
    pub export_limited: u64,
    /// List and results pages served (status 200 or 302).
    pub pages: u64,
    /// Records in those pages (and in downloads).
    pub records: u64,
    /// The most API requests being answered at one moment (control requests not counted):
    /// how many walks a client ran at once.
    pub max_in_flight: u64,
    /// Connections accepted by the Zendesk listener: one per walk over HTTP/1.1, one for all
    /// of a client's walks over HTTP/2.
    pub zendesk_connections: u64,
}

impl StatsSnapshot {
    /// Requests of one endpoint.
    pub fn requests_of(&self, endpoint: &str) -> u64 {
        self.requests.get(endpoint).copied().unwrap_or(0)
    }

    /// Faults of one kind.
    pub fn faults_of(&self, kind: &str) -> u64 {
        self.faults.get(kind).copied().unwrap_or(0)
    }

    /// Opportunities of one fault kind.
    pub fn opportunities_of(&self, kind: &str) -> u64 {
        self.fault_opportunities.get(kind).copied().unwrap_or(0)
    }
}

/// A request being answered (see [`Stats::in_flight`]).
pub struct InFlight<'a> {
    stats: &'a Stats,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.with(|i| i.in_flight -= 1);
    }
}

#[derive(Default)]
struct Inner {
    in_flight: u64,
    snapshot: StatsSnapshot,
    windows: BTreeMap<(String, String, i64), (u64, u64)>,
}

/// The live counters.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().expect("stats lock"))
    }

    /// Counts a request being answered until the guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.with(|i| {
            i.in_flight += 1;
            i.snapshot.max_in_flight = i.snapshot.max_in_flight.max(i.in_flight);
        });
        InFlight { stats: self }
    }

    /// Counts a request of an endpoint.
    pub fn request(&self, endpoint: &str) {
        self.with(|i| *i.snapshot.requests.entry(endpoint.to_string()).or_default() += 1);
    }

    /// Counts an injected fault.
    pub fn fault(&self, kind: &str) {
        self.with(|i| *i.snapshot.faults.entry(kind.to_string()).or_default() += 1);
    }

    /// Counts a fault opportunity.
    pub fn opportunity(&self, kind: &str) {
        self.with(|i| {
            *i.snapshot
                .fault_opportunities
                .entry(kind.to_string())
                .or_default() += 1
        });
    }

    /// Counts a request in its rate-limit window.
    pub fn window(&self, tenant: &str, vendor: &str, start_secs: i64, limited: bool) {
        self.with(|i| {
            let e = i
                .windows
                .entry((tenant.to_string(), vendor.to_string(), start_secs))
                .or_default();
            e.0 += 1;
            if limited {
                e.1 += 1;
                *i.snapshot
                    .rate_limited
                    .entry(format!("{tenant}/{vendor}"))
                    .or_default() += 1;
            }
        });
    }

    /// Counts a connection accepted by the Zendesk listener.
    pub fn zendesk_connection(&self) {
        self.with(|i| i.snapshot.zendesk_connections += 1);
    }

    /// Counts a refused download.
    pub fn download_rejected(&self) {
        self.with(|i| i.snapshot.download_auth_rejected += 1);
    }

    /// Counts an issued token.
    pub fn token(&self) {
        self.with(|i| i.snapshot.tokens_issued += 1);
    }

    /// Counts a refused export.
    pub fn export_limited(&self) {
        self.with(|i| i.snapshot.export_limited += 1);
    }

    /// Counts a page of `records` records.
    pub fn page(&self, records: u64) {
        self.with(|i| {
            i.snapshot.pages += 1;
            i.snapshot.records += records;
        });
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.with(|i| {
            let mut s = i.snapshot.clone();
            s.windows = i
                .windows
                .iter()
                .map(
                    |((tenant, vendor, start), (requests, limited))| WindowStat {
                        tenant: tenant.clone(),
                        vendor: vendor.clone(),
                        window_start: crate::data::from_secs(*start),
                        requests: *requests,
                        limited: *limited,
                    },
                )
                .collect();
            s
        })
    }
}
