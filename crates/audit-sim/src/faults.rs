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
//! `connection_reset`, `status_429`, `retry_after_past_date`, `status_500`, `status_502`,
//! `status_503`, `status_504`, `expired_token` (Genesys API only). `slow_response` and
//! `truncated_body` combine with a normal answer; `duplicate_across_pages` and
//! `repeated_cursor` change list pages reached by a cursor; `page_latency` delays every list
//! page by a fixed amount.
//!
//! # The vendor on a bad day
//!
//! These kinds model answers that are well-formed HTTP but wrong or hostile. None of them
//! changes the ground truth: every record is still there to be exported once (only a
//! `big_id` record is *named* differently, see [`crate::ground_truth`]).
//!
//! Per request (seed, kind, tenant, canonical request, n) — asking again draws again:
//!
//! - `empty_envelope`: a list or results page answered `200 {}` (no records, no cursor, no
//!   envelope fields): Zendesk audit logs and `/ticket_audits`, Genesys results and realtime
//!   pages.
//! - `empty_page`: a page that is *not* the last answered with its envelope, no records and an
//!   end signal (`has_more: false` and no `links.next`; no `before_cursor`; no Genesys
//!   `cursor`; realtime `pageCount` equal to the page asked for). Only the first time the page
//!   is asked for: asking again (as a client confirming a contradicting end does) gets it.
//! - `fresh_cursor`: a page reached by a cursor answered with no records and a new cursor,
//!   never handed out before, to the same position (the cursor carries a nonce). At 1.0 a
//!   client that follows it never gets anywhere; at 0.1 it reaches everything.
//! - `out_of_order`: two neighbouring records of a page swapped (timestamps unchanged, the
//!   pair picked from the draw among neighbours whose timestamps differ, so the second is
//!   older than the first). A Genesys page answered by a redirect swaps in the download.
//! - `non_object_record`: one record of a page, picked from the draw, rendered as the bare
//!   JSON number `5` instead of an object (the rest of the page as usual): Zendesk audit logs,
//!   `/ticket_audits` (both cursor kinds) and the incremental ticket-event export; Genesys
//!   results (inline or in the download a redirect names) and realtime pages.
//! - `ascending_page` (`/ticket_audits` only, the only list served newest first whose order
//!   a client relies on): the whole page served oldest first, its records reversed (the
//!   cursors and links unchanged: the next page is the same). Only a page whose first and
//!   last records' times differ counts (reversing it shows).
//! - `huge_rate_limit_reset`: a normal answer whose rate-limit headers say nothing is left
//!   until a reset a day away (Zendesk `x-rate-limit-remaining: 0`, `ratelimit-remaining: 0`,
//!   `ratelimit-reset: 86400`; Genesys `inin-ratelimit-count` = `inin-ratelimit-allowed`,
//!   `inin-ratelimit-reset: 86400`).
//! - `retry_after_past_date`: a 429 whose `Retry-After` is an HTTP date an hour ago. With
//!   `retry_after_past_date_window_ms`, every request of the tenant in that many
//!   milliseconds after one also gets it (a vendor still limited while it names a past
//!   time); this part depends on the clock, not only on the seed.
//!
//! With `sticky_page_attempts` = N > 0, `non_object_record` and `ascending_page` are drawn
//! once per page (on its first ask) and a page drawn meets the fault on its first N asks,
//! then never: a vendor that keeps answering a page wrongly for a while (longer than one
//! client's retries, say), after which asking again gets the page.
//!
//! Per record (seed, kind, record id: the same record always renders the same), see
//! [`crate::anomalies`]: `null_timestamp`, `large_records` (ticket audits), `lone_surrogate`,
//! `invalid_utf8`, `huge_number`, `big_id` (Zendesk).
//!
//! Per query (seed, kind, tenant, the realtime body without `pageNumber`/`pageSize`):
//! `realtime_ignores_page_size` serves pages of `realtime_own_page_size` records whatever
//! `pageSize` asks (and echoes that size) and leaves out `pageCount`.
//!
//! Not a rate: `zendesk.cursor_ttl_secs` makes `/ticket_audits` legacy cursors carry their
//! issue time and answer `400 {"error":"InvalidPaginationParameter",...}` once older than
//! that (counted as `expired_cursor`).

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
    /// `200 {}` for a list or results page.
    EmptyEnvelope,
    /// A premature end: the envelope, no records, no next cursor.
    EmptyPage,
    /// No records and a new cursor to the same position.
    FreshCursor,
    /// A record without its timestamp (per record).
    NullTimestamp,
    /// Two neighbouring records of a page swapped.
    OutOfOrder,
    /// One record of a page rendered as the number `5`, not an object.
    NonObjectRecord,
    /// A `/ticket_audits` page served oldest first.
    AscendingPage,
    /// Rate-limit headers: nothing left, reset in a day.
    HugeRateLimitReset,
    /// 429 whose `Retry-After` is a date in the past.
    RetryAfterPastDate,
    /// A ticket audit with a huge comment (per record).
    LargeRecords,
    /// A string with a lone surrogate escape (per record).
    LoneSurrogate,
    /// A string with bytes that are not UTF-8 (per record).
    InvalidUtf8,
    /// An extra field `1e400` (per record).
    HugeNumber,
    /// An `id` beyond `i64` (per Zendesk record).
    BigId,
    /// Realtime pages of the vendor's own size, no `pageCount` (per query).
    RealtimeIgnoresPageSize,
    /// A `/ticket_audits` cursor older than `zendesk.cursor_ttl_secs` (not a rate).
    ExpiredCursor,
}

impl FaultKind {
    /// Whether a client that met this fault cannot know whether the request was carried out
    /// (an answer from a gateway or a server that failed, or none).
    pub fn outcome_unknown(self) -> bool {
        matches!(
            self,
            FaultKind::ConnectionReset
                | FaultKind::Status500
                | FaultKind::Status502
                | FaultKind::Status504
        )
    }

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
            FaultKind::EmptyEnvelope => "empty_envelope",
            FaultKind::EmptyPage => "empty_page",
            FaultKind::FreshCursor => "fresh_cursor",
            FaultKind::NullTimestamp => "null_timestamp",
            FaultKind::OutOfOrder => "out_of_order",
            FaultKind::NonObjectRecord => "non_object_record",
            FaultKind::AscendingPage => "ascending_page",
            FaultKind::HugeRateLimitReset => "huge_rate_limit_reset",
            FaultKind::RetryAfterPastDate => "retry_after_past_date",
            FaultKind::LargeRecords => "large_records",
            FaultKind::LoneSurrogate => "lone_surrogate",
            FaultKind::InvalidUtf8 => "invalid_utf8",
            FaultKind::HugeNumber => "huge_number",
            FaultKind::BigId => "big_id",
            FaultKind::RealtimeIgnoresPageSize => "realtime_ignores_page_size",
            FaultKind::ExpiredCursor => "expired_cursor",
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
            FaultKind::PageLatency | FaultKind::ExpiredCursor => 0.0,
            FaultKind::EmptyEnvelope => c.empty_envelope,
            FaultKind::EmptyPage => c.empty_page,
            FaultKind::FreshCursor => c.fresh_cursor,
            FaultKind::NullTimestamp => c.null_timestamp,
            FaultKind::OutOfOrder => c.out_of_order,
            FaultKind::NonObjectRecord => c.non_object_record,
            FaultKind::AscendingPage => c.ascending_page,
            FaultKind::HugeRateLimitReset => c.huge_rate_limit_reset,
            FaultKind::RetryAfterPastDate => c.retry_after_past_date,
            FaultKind::LargeRecords => c.large_records,
            FaultKind::LoneSurrogate => c.lone_surrogate,
            FaultKind::InvalidUtf8 => c.invalid_utf8,
            FaultKind::HugeNumber => c.huge_number,
            FaultKind::BigId => c.big_id,
            FaultKind::RealtimeIgnoresPageSize => c.realtime_ignores_page_size,
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
    /// Answer a list page `200 {}`.
    pub empty_envelope: bool,
    /// End a list early: envelope, no records, no next cursor (pages that are not the last).
    pub empty_page: bool,
    /// No records and a new cursor to the same position (pages reached by a cursor).
    pub fresh_cursor: bool,
    /// Swap two neighbouring records of the page.
    pub out_of_order: bool,
    /// Render one record of the page (picked from `draw`) as the number `5`.
    pub non_object_record: bool,
    /// Serve the page oldest first (`/ticket_audits`).
    pub ascending_page: bool,
    /// Rate-limit headers saying nothing is left until a reset a day away.
    pub huge_reset: bool,
    /// Where the request falls among the draws (used to pick the swapped pair).
    pub draw: u64,
}

/// The fault engine.
pub struct Faults {
    cfg: FaultConfig,
    seen: Mutex<HashMap<u64, u64>>,
    /// Per tenant: until when every request meets `retry_after_past_date`
    /// (`retry_after_past_date_window_ms`).
    past_date_until: Mutex<HashMap<u64, std::time::Instant>>,
}

const REPLACING: [FaultKind; 8] = [
    FaultKind::ConnectionReset,
    FaultKind::Status429,
    FaultKind::RetryAfterPastDate,
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
            past_date_until: Mutex::new(HashMap::new()),
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

    /// [`Faults::fires`], or with `sticky_page_attempts` = N > 0: drawn once for the request
    /// (as its first ask draws), and then met on its first N asks only.
    fn fires_sticky(&self, kind: FaultKind, key: u64, n: u64) -> bool {
        match self.cfg.sticky_page_attempts {
            0 => self.fires(kind, key, n),
            attempts => n < attempts && self.fires(kind, key, 0),
        }
    }

    /// Decides the faults of one request of `tenant` whose canonical form hashes to
    /// `canonical`. `genesys_api` enables `expired_token`; a `submission` (a request that
    /// starts work) is spared the faults of unknown outcome when the config says so.
    pub fn plan(
        &self,
        tenant: &str,
        canonical: u64,
        genesys_api: bool,
        submission: bool,
    ) -> FaultPlan {
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
        let mut replace = REPLACING
            .iter()
            .copied()
            .filter(|k| genesys_api || *k != FaultKind::ExpiredToken)
            .filter(|k| !(submission && self.cfg.spare_submissions && k.outcome_unknown()))
            .find(|k| self.fires(*k, key, n));
        let window = self.cfg.retry_after_past_date_window_ms;
        if window > 0 {
            // A vendor still rate limited for a while, asking every request meanwhile to
            // retry at a time already past.
            let now = std::time::Instant::now();
            let mut until = self.past_date_until.lock().expect("faults lock");
            let tenant_key = hash_str(tenant);
            if replace == Some(FaultKind::RetryAfterPastDate) {
                until.insert(tenant_key, now + std::time::Duration::from_millis(window));
            } else if until.get(&tenant_key).is_some_and(|t| now < *t) {
                replace = Some(FaultKind::RetryAfterPastDate);
            }
        }
        FaultPlan {
            replace,
            slow: self.fires(FaultKind::SlowResponse, key, n),
            truncate: self.fires(FaultKind::TruncatedBody, key, n),
            duplicate: self.fires(FaultKind::DuplicateAcrossPages, key, n),
            repeat_cursor: self.fires(FaultKind::RepeatedCursor, key, n),
            empty_envelope: self.fires(FaultKind::EmptyEnvelope, key, n),
            // Only the first time a page is asked for: a vendor that says "the end" every
            // time looks exactly like the real end, so a client can only be asked to confirm.
            empty_page: n == 0 && self.fires(FaultKind::EmptyPage, key, n),
            fresh_cursor: self.fires(FaultKind::FreshCursor, key, n),
            out_of_order: self.fires(FaultKind::OutOfOrder, key, n),
            non_object_record: self.fires_sticky(FaultKind::NonObjectRecord, key, n),
            ascending_page: self.fires_sticky(FaultKind::AscendingPage, key, n),
            huge_reset: self.fires(FaultKind::HugeRateLimitReset, key, n),
            draw: mix(&[self.cfg.seed, key, n]),
        }
    }

    /// Whether a per-record kind hits the record whose native id hashes to `record`: the
    /// same record always renders the same, whichever request reads it.
    pub fn record_fires(&self, kind: FaultKind, record: u64) -> bool {
        self.fires(kind, record, 0)
    }

    /// Whether a per-query kind (`realtime_ignores_page_size`) hits the query of `tenant`
    /// whose paging-free form hashes to `query`: every page of the query answers alike.
    pub fn query_fires(&self, kind: FaultKind, tenant: &str, query: u64) -> bool {
        self.fires(kind, mix(&[hash_str(tenant), query]), 0)
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
