//! Fault injection, deterministic per request.
//!
//! Whether fault kind `K` hits a request is `hash(seed, K, tenant, canonical request, n) < rate`,
//! where the canonical request is the method, the path, the query pairs sorted, and for POSTs
//! the body, and `n` counts how many times that exact request was seen before. The same run
//! therefore meets the same faults, and a retried request draws again, so it eventually goes
//! through.
//!
//! `connection_reset` closes the connection after reading the request, before any byte of
//! an answer (the client sees the connection end, e.g. "connection closed before message
//! completed", rather than a TCP RST). `truncated_body` sends the headers with the full
//! `Content-Length`, flushes the first half of the body, then aborts the connection.
//!
//! The kinds that replace the answer are tried in this order, and the first that fires wins:
//! `connection_reset`, `status_429`, `status_500`, `status_502`, `status_503`, `status_504`,
//! `expired_token` (Genesys API only). `slow_response` and `truncated_body` combine with a
//! normal answer; `duplicate_across_pages` and `repeated_cursor` change list pages reached by a
//! cursor; `page_latency` delays every list page by a fixed amount.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::FaultConfig;
use crate::data::prng::{hash_str, mix, unit};

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with `Retry-After`.
    Status429,
    /// 500, JSON body.
    Status500,
    /// 502, HTML body.
    Status502,
    /// 503 with `Retry-After`.
    Status503,
    /// 504, HTML body.
    Status504,
    /// Connection closed without a response.
    ConnectionReset,
    /// Body cut half-way.
    TruncatedBody,
    /// Delayed answer.
    SlowResponse,
    /// The previous page's last record repeated.
    DuplicateAcrossPages,
    /// The next cursor equals the request's.
    RepeatedCursor,
    /// 401 as for an expired token.
    ExpiredToken,
    /// Fixed latency per list page.
    PageLatency,
}

impl FaultKind {
    /// The kind's name (as in the config and the stats).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status429 => "status_429",
            FaultKind::Status500 => "status_500",
            FaultKind::Status502 => "status_502",
            FaultKind::Status503 => "status_503",
            FaultKind::Status504 => "status_504",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::SlowResponse => "slow_response",
            FaultKind::DuplicateAcrossPages => "duplicate_across_pages",
            FaultKind::RepeatedCursor => "repeated_cursor",
            FaultKind::ExpiredToken => "expired_token",
            FaultKind::PageLatency => "page_latency",
        }
    }

    fn code(self) -> u64 {
        hash_str(self.name())
    }

    fn rate(self, c: &FaultConfig) -> f64 {
        match self {
            FaultKind::Status429 => c.status_429,
            FaultKind::Status500 => c.status_500,
            FaultKind::Status502 => c.status_502,
            FaultKind::Status503 => c.status_503,
            FaultKind::Status504 => c.status_504,
            FaultKind::ConnectionReset => c.connection_reset,
            FaultKind::TruncatedBody => c.truncated_body,
            FaultKind::SlowResponse => c.slow_response,
            FaultKind::DuplicateAcrossPages => c.duplicate_across_pages,
            FaultKind::RepeatedCursor => c.repeated_cursor,
            FaultKind::ExpiredToken => c.expired_token,
            FaultKind::PageLatency => 0.0,
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultPlan {
    /// A fault that replaces the answer.
    pub replace: Option<FaultKind>,
    /// Delay the answer.
    pub slow: bool,
    /// Cut the body.
    pub truncate: bool,
    /// Repeat a record across the page boundary (list pages reached by a cursor).
    pub duplicate: bool,
    /// Repeat the cursor (list pages requested with a cursor).
    pub repeat_cursor: bool,
}

/// The fault engine.
pub struct Faults {
    cfg: FaultConfig,
    seen: Mutex<HashMap<u64, u64>>,
}

const REPLACING: [FaultKind; 7] = [
    FaultKind::ConnectionReset,
    FaultKind::Status429,
    FaultKind::Status500,
    FaultKind::Status502,
    FaultKind::Status503,
    FaultKind::Status504,
    FaultKind::ExpiredToken,
];

impl Faults {
    /// An engine for this config.
    pub fn new(cfg: FaultConfig) -> Self {
        Faults {
            cfg,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The config.
    pub fn config(&self) -> &FaultConfig {
        &self.cfg
    }

    fn fires(&self, kind: FaultKind, key: u64, n: u64) -> bool {
        let rate = kind.rate(&self.cfg);
        rate > 0.0 && unit(mix(&[self.cfg.seed, kind.code(), key, n])) < rate
    }

    /// Decides the faults of one request of `tenant` whose canonical form hashes to
    /// `canonical`. `genesys_api` enables `expired_token`.
    pub fn plan(&self, tenant: &str, canonical: u64, genesys_api: bool) -> FaultPlan {
        if !self.cfg.any() {
            return FaultPlan::default();
        }
        let key = mix(&[hash_str(tenant), canonical]);
        let n = {
            let mut seen = self.seen.lock().expect("faults lock");
            let e = seen.entry(key).or_insert(0);
            let n = *e;
            *e += 1;
            n
        };
        let replace = REPLACING
            .iter()
            .copied()
            .filter(|k| genesys_api || *k != FaultKind::ExpiredToken)
            .find(|k| self.fires(*k, key, n));
        FaultPlan {
            replace,
            slow: self.fires(FaultKind::SlowResponse, key, n),
            truncate: self.fires(FaultKind::TruncatedBody, key, n),
            duplicate: self.fires(FaultKind::DuplicateAcrossPages, key, n),
            repeat_cursor: self.fires(FaultKind::RepeatedCursor, key, n),
        }
    }
}

/// The canonical form of a request, hashed: method, path, sorted query pairs, body.
pub fn canonical(method: &str, path: &str, query: Option<&str>, body: &[u8]) -> u64 {
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    pairs.sort();
    let mut text = format!("{method} {path}?");
    for (k, v) in pairs {
        text.push_str(&k);
        text.push('=');
        text.push_str(&v);
        text.push('&');
    }
    mix(&[hash_str(&text), crate::data::prng::hash_bytes(body)])
}
