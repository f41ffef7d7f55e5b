//! The simulator's configuration: one [`SimConfig`], loadable from TOML, every knob with a
//! default (see the field docs; `audit-sim --help` lists the same knobs as flags).

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Everything the simulator does, in one serde-deserialisable struct.
///
/// `SimConfig::default()` is a small data set for one tenant (`acme`), no rate limits, no
/// faults, fast Genesys queries, every listener on `127.0.0.1` port 0 (an ephemeral port).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Address every listener binds (default `127.0.0.1`).
    pub bind: IpAddr,
    /// Port of the Zendesk API listener (0 = ephemeral).
    pub zendesk_port: u16,
    /// Port of the Genesys Cloud API listener (0 = ephemeral).
    pub genesys_api_port: u16,
    /// Port of the Genesys Cloud login (OAuth token) listener (0 = ephemeral).
    pub genesys_login_port: u16,
    /// Port of the download listener that serves the Genesys presigned result files.
    pub download_port: u16,
    /// The tenants (accounts / organisations). Each is selected by its credentials.
    pub tenants: Vec<TenantConfig>,
    /// Zendesk-wide behaviour.
    pub zendesk: ZendeskConfig,
    /// Genesys-wide behaviour.
    pub genesys: GenesysConfig,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Serve HTTPS instead of plain HTTP: every listener speaks TLS, HTTP/2 or HTTP/1.1 as
    /// the client offers by ALPN (as the real vendors do), with a certificate for `127.0.0.1`
    /// and `localhost` signed by a certificate authority made at start, whose certificate
    /// (PEM) is written to this file. Clients trust it as they trust a corporate CA (`trail`:
    /// `SSL_CERT_FILE=<file>`).
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            zendesk_port: 0,
            genesys_api_port: 0,
            genesys_login_port: 0,
            download_port: 0,
            tenants: vec![TenantConfig::default()],
            zendesk: ZendeskConfig::default(),
            genesys: GenesysConfig::default(),
            faults: FaultConfig::default(),
            tls_ca_file: None,
        }
    }
}

impl SimConfig {
    /// The preset behind `trail demo`: the default data set with mild, realistic rate limits
    /// (Zendesk Enterprise's 700 requests per minute, Genesys' 300 per minute per client).
    pub fn demo() -> Self {
        let mut c = SimConfig::default();
        c.zendesk.rate_limit = RateLimitConfig {
            requests: 700,
            window_secs: 60,
        };
        c.genesys.rate_limit = RateLimitConfig {
            requests: 300,
            window_secs: 60,
        };
        c
    }

    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the config serialises")
    }

    /// A config with `n` tenants named `tenant1`…`tenantN`, derived from the default one.
    pub fn with_tenants(mut self, n: usize) -> Self {
        self.tenants = (1..=n).map(TenantConfig::numbered).collect();
        self
    }

    /// Checks the values that would make the simulator misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.tenants.is_empty() {
            return Err("at least one tenant is needed".into());
        }
        let mut names = std::collections::HashSet::new();
        for t in &self.tenants {
            if !names.insert(&t.name) {
                return Err(format!("tenant {:?} is defined twice", t.name));
            }
            if t.zendesk.audits_per_ticket == 0 || t.zendesk.open_tickets == 0 {
                return Err(format!(
                    "tenant {:?}: audits_per_ticket and open_tickets must be > 0",
                    t.name
                ));
            }
            if !(0.0..=1.0).contains(&t.zendesk.archived_fraction) {
                return Err(format!(
                    "tenant {:?}: archived_fraction must be within 0..=1",
                    t.name
                ));
            }
        }
        for (name, rate) in self.faults.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("faults.{name} must be within 0..=1"));
            }
        }
        if !(0.0..=1.0).contains(&self.genesys.query_fail_rate) {
            return Err("genesys.query_fail_rate must be within 0..=1".into());
        }
        Ok(())
    }
}

/// A point in time: an RFC 3339 instant (`2024-05-01T00:00:00Z`) or one relative to the moment
/// the simulator starts (`now`, `now-30d`, `now+2h`, `now-90m`, `now-45s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSpec {
    /// A fixed instant.
    At(DateTime<Utc>),
    /// An offset from the start time of the simulator.
    Now(Duration),
}

impl TimeSpec {
    /// The instant, given the simulator's start time.
    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            TimeSpec::At(t) => *t,
            TimeSpec::Now(d) => now + *d,
        }
    }
}

impl FromStr for TimeSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("now") {
            if rest.is_empty() {
                return Ok(TimeSpec::Now(Duration::zero()));
            }
            let (sign, num) = match rest.as_bytes()[0] {
                b'-' => (-1, &rest[1..]),
                b'+' => (1, &rest[1..]),
                _ => return Err(format!("bad time {s:?}")),
            };
            let (digits, unit) = num.split_at(num.len().saturating_sub(1));
            let n: i64 = digits.parse().map_err(|_| format!("bad time {s:?}"))?;
            let d = match unit {
                "d" => Duration::days(n),
                "h" => Duration::hours(n),
                "m" => Duration::minutes(n),
                "s" => Duration::seconds(n),
                _ => return Err(format!("bad time unit in {s:?} (use d, h, m or s)")),
            };
            return Ok(TimeSpec::Now(d * sign));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| TimeSpec::At(t.with_timezone(&Utc)))
            .map_err(|e| format!("bad time {s:?}: {e}"))
    }
}

impl std::fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeSpec::At(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            TimeSpec::Now(d) => {
                let s = d.num_seconds();
                if s == 0 {
                    return write!(f, "now");
                }
                let sign = if s < 0 { '-' } else { '+' };
                let a = s.abs();
                if a % 86_400 == 0 {
                    write!(f, "now{sign}{}d", a / 86_400)
                } else if a % 3600 == 0 {
                    write!(f, "now{sign}{}h", a / 3600)
                } else if a % 60 == 0 {
                    write!(f, "now{sign}{}m", a / 60)
                } else {
                    write!(f, "now{sign}{a}s")
                }
            }
        }
    }
}

impl Serialize for TimeSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One tenant: a Zendesk account and a Genesys organisation with their credentials and data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    /// Name, used in stats and ground-truth queries.
    pub name: String,
    /// Seed of the tenant's data (every record is a function of the seed and its index).
    pub seed: u64,
    /// Start of the data span (default `now-30d`).
    pub start: TimeSpec,
    /// End of the data span (default `now`). A span ending in the future yields records as
    /// time passes: a record is visible once its timestamp is not after the current time.
    pub end: TimeSpec,
    /// The Zendesk account.
    pub zendesk: ZendeskTenant,
    /// The Genesys organisation.
    pub genesys: GenesysTenant,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig::named("acme", 1)
    }
}

impl TenantConfig {
    /// A tenant with credentials derived from its name.
    pub fn named(name: &str, seed: u64) -> Self {
        let org = crate::data::prng::Draw::new(&[seed, 0x0126]).uuid();
        TenantConfig {
            name: name.to_string(),
            seed,
            start: TimeSpec::Now(Duration::days(-30)),
            end: TimeSpec::Now(Duration::zero()),
            zendesk: ZendeskTenant {
                subdomain: name.to_string(),
                email: format!("admin@{name}.example"),
                api_token: format!("{name}-zendesk-api-token"),
                oauth_token: format!("{name}-zendesk-oauth-token"),
                oauth_scopes: vec!["read".into(), "write".into()],
                oauth_client_id: format!("{name}-zendesk-client"),
                oauth_client_secret: format!("{name}-zendesk-client-secret"),
                oauth_refresh_token: format!("{name}-zendesk-refresh-token"),
                oauth_client_scopes: vec!["read".into(), "write".into(), "auditlogs:read".into()],
                plan: Plan::Enterprise,
                ticket_audits: 2000,
                audits_per_ticket: 6,
                open_tickets: 25,
                archived_fraction: 0.2,
                audit_logs: 1500,
            },
            genesys: GenesysTenant {
                org_id: org,
                client_id: format!("{name}-genesys-client"),
                client_secret: format!("{name}-genesys-secret"),
                audits: 3000,
            },
        }
    }

    /// The `n`-th generated tenant (`tenant{n}`).
    pub fn numbered(n: usize) -> Self {
        TenantConfig::named(&format!("tenant{n}"), n as u64)
    }
}

/// A Zendesk plan; only Enterprise includes audit logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Audit logs included.
    Enterprise,
    /// No audit logs: `/api/v2/audit_logs*` answers 403.
    Professional,
}

/// A tenant's Zendesk account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZendeskTenant {
    /// Subdomain, used in generated e-mail addresses and URLs inside records.
    pub subdomain: String,
    /// E-mail of the API user (Basic user name `{email}/token`).
    pub email: String,
    /// API token (Basic password).
    pub api_token: String,
    /// OAuth access token (`Authorization: Bearer …`).
    pub oauth_token: String,
    /// Scopes of the OAuth token (`read`, `write`, `auditlogs:read`, …).
    pub oauth_scopes: Vec<String>,
    /// Identifier of the account's confidential OAuth client (`/oauth/tokens`).
    pub oauth_client_id: String,
    /// Its secret.
    pub oauth_client_secret: String,
    /// The first refresh token of the client (valid until it is used once: refreshes rotate).
    pub oauth_refresh_token: String,
    /// The scopes the client may be granted; a token request without `scope` gets them all.
    pub oauth_client_scopes: Vec<String>,
    /// Plan: `enterprise` (audit logs) or `professional` (403 on audit logs).
    pub plan: Plan,
    /// Number of ticket audits.
    pub ticket_audits: u64,
    /// Audits per complete ticket (a ticket above 100,000 shows the count cap).
    pub audits_per_ticket: u64,
    /// Tickets receiving audits at the same time.
    pub open_tickets: u64,
    /// Fraction of the complete tickets of the older half that are archived.
    pub archived_fraction: f64,
    /// Number of audit-log records.
    pub audit_logs: u64,
}

impl Default for ZendeskTenant {
    fn default() -> Self {
        TenantConfig::default().zendesk
    }
}

/// A tenant's Genesys organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesysTenant {
    /// Organisation id (`userHomeOrgId` of its own users).
    pub org_id: String,
    /// OAuth client id (client credentials).
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Number of audit records.
    pub audits: u64,
}

impl Default for GenesysTenant {
    fn default() -> Self {
        TenantConfig::default().genesys
    }
}

/// A fixed-window request budget. `requests = 0` turns the limit (and its headers) off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests allowed per window and tenant (0 = unlimited, no rate-limit headers).
    pub requests: u32,
    /// Window length in seconds (windows are aligned on multiples of it since the epoch).
    pub window_secs: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests: 0,
            window_secs: 60,
        }
    }
}

/// Zendesk-wide behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZendeskConfig {
    /// Account-wide request budget per tenant.
    pub rate_limit: RateLimitConfig,
    /// Seconds between two accepted audit-log exports of one tenant (Zendesk: 60).
    pub export_interval_secs: u64,
    /// Lifetime of `/ticket_audits` legacy cursors in seconds (0 = never expire): an older
    /// cursor answers `400 InvalidPaginationParameter`. Cursors carry their issue time.
    pub cursor_ttl_secs: u64,
    /// Lifetime of the access tokens `/oauth/tokens` issues, in seconds (`expires_in`;
    /// Zendesk's default for new clients: 1,800). They expire for real.
    pub token_expires_in: u64,
    /// The incremental exports' own budget per tenant (Zendesk: 10 requests a minute; more
    /// with the High Volume add-on), counted apart from `rate_limit`.
    pub incremental_rate_limit: RateLimitConfig,
    /// Seconds before a request that the incremental exports leave out (Zendesk: 60).
    pub incremental_holdback_secs: u64,
    /// Items in a page of the incremental ticket-event export when the request sends no
    /// `per_page` (Zendesk: 1,000).
    pub incremental_page_size: u64,
    /// Seconds after the simulator starts at which the tickets to be archived are archived
    /// (0: archived from the start): a backfill running across that moment sees them leave
    /// `/ticket_audits`.
    pub archive_delay_secs: u64,
}

impl Default for ZendeskConfig {
    fn default() -> Self {
        ZendeskConfig {
            rate_limit: RateLimitConfig::default(),
            export_interval_secs: 60,
            cursor_ttl_secs: 0,
            token_expires_in: 1800,
            incremental_rate_limit: RateLimitConfig {
                requests: 10,
                window_secs: 60,
            },
            incremental_holdback_secs: 60,
            incremental_page_size: 1000,
            archive_delay_secs: 0,
        }
    }
}

/// Genesys-wide behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesysConfig {
    /// Request budget per tenant.
    pub rate_limit: RateLimitConfig,
    /// Leave `Retry-After` out of 429s (clients must read the `[N]` of the message).
    pub omit_retry_after: bool,
    /// Lifetime of access tokens in seconds (`expires_in`); tokens expire for real.
    pub token_expires_in: u64,
    /// Milliseconds a new query stays `Queued`.
    pub query_queued_ms: u64,
    /// Milliseconds a query then stays `Running`.
    pub query_running_ms: u64,
    /// Fraction of queries that end `Failed` (decided per query from the fault seed).
    pub query_fail_rate: f64,
    /// The n-th queries of a tenant (1-based) that end `Failed`.
    pub query_fail_nth: Vec<u64>,
    /// Longest query interval in days (Genesys: 31).
    pub max_interval_days: u64,
    /// How far back realtime queries reach, in days (Genesys: 14).
    pub realtime_days: u64,
    /// Seconds the results of a query stay readable after it was created.
    pub results_ttl_secs: u64,
    /// With `allowRedirect=true`, pages holding more records than this are answered with a
    /// 302 and a download URL.
    pub redirect_threshold: u32,
    /// Results pages without `allowRedirect`, and realtime pages, holding more records than
    /// this (an expanded record counts twice) are refused with a 400
    /// `response.entity.too.large` (0 = never).
    pub too_large_threshold: u32,
    /// Lifetime of download URLs in seconds.
    pub download_expires_secs: u64,
}

impl Default for GenesysConfig {
    fn default() -> Self {
        GenesysConfig {
            rate_limit: RateLimitConfig::default(),
            omit_retry_after: false,
            token_expires_in: 86_400,
            query_queued_ms: 150,
            query_running_ms: 250,
            query_fail_rate: 0.0,
            query_fail_nth: Vec::new(),
            max_interval_days: 31,
            realtime_days: 14,
            results_ttl_secs: 86_400,
            redirect_threshold: 100,
            too_large_threshold: 0,
            download_expires_secs: 900,
        }
    }
}

/// Fault injection. Every `*` rate is a probability in `0..=1`, decided per request from
/// (seed, kind, tenant, canonical request, how many times that request was seen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of every fault decision.
    pub seed: u64,
    /// 429 with `Retry-After: retry_after_secs`.
    pub status_429: f64,
    /// 500 with a JSON error body.
    pub status_500: f64,
    /// 502 with an HTML body (a gateway's).
    pub status_502: f64,
    /// 503 with `Retry-After: retry_after_secs`.
    pub status_503: f64,
    /// 504 with an HTML body.
    pub status_504: f64,
    /// The connection is closed without a response.
    pub connection_reset: f64,
    /// The headers promise the whole body; the connection drops half-way through it.
    pub truncated_body: f64,
    /// The answer is delayed by `slow_response_ms`.
    pub slow_response: f64,
    /// A list page reached by a cursor starts with the record the cursor points at (the last
    /// record of the page before).
    pub duplicate_across_pages: f64,
    /// A list page requested with a cursor gives that same cursor as its next one.
    pub repeated_cursor: f64,
    /// Genesys API: 401 `bad.credentials` as for an expired token, although it is valid.
    pub expired_token: f64,
    /// A list or results page answered `200 {}`: no records, no cursor, no envelope.
    pub empty_envelope: f64,
    /// A page that is not the last answered with its envelope, no records and an end signal
    /// (no next cursor, `has_more: false`, `pageCount == pageNumber`): a premature end.
    pub empty_page: f64,
    /// A page reached by a cursor answered with no records and a new, never-seen cursor that
    /// leads back to the same position.
    pub fresh_cursor: f64,
    /// Per record: its timestamp is `null` (Zendesk `created_at`) or absent (Genesys
    /// `eventDate`).
    pub null_timestamp: f64,
    /// Two neighbouring records of a page are swapped (timestamps unchanged).
    pub out_of_order: f64,
    /// One record of a page is the JSON number `5` instead of an object.
    pub non_object_record: f64,
    /// A `/ticket_audits` page is served oldest first (its records reversed).
    pub ascending_page: f64,
    /// `non_object_record` and `ascending_page` drawn once per page, a page drawn meeting
    /// the fault on its first this many asks, then never (0 = drawn afresh on every ask).
    pub sticky_page_attempts: u64,
    /// The answer's rate-limit headers say nothing is left until a reset a day away.
    pub huge_rate_limit_reset: f64,
    /// 429 whose `Retry-After` is an HTTP date in the past.
    pub retry_after_past_date: f64,
    /// Per ticket audit: a comment of `large_record_bytes` bytes.
    pub large_records: f64,
    /// Per record: a string holds the JSON escape of a lone surrogate (`\ud800`).
    pub lone_surrogate: f64,
    /// Per record: a string holds the raw bytes `0xff 0xfe` (the body is not UTF-8).
    pub invalid_utf8: f64,
    /// Per record: an extra field `"x_score": 1e400` (beyond `f64`).
    pub huge_number: f64,
    /// Per Zendesk record: its `id` is beyond `i64` (the id plus 2^65).
    pub big_id: f64,
    /// Genesys realtime: per query, pages of `realtime_own_page_size` whatever `pageSize`
    /// asks, and no `pageCount`.
    pub realtime_ignores_page_size: f64,
    /// Size of the comment of a `large_records` audit, in bytes.
    pub large_record_bytes: u64,
    /// Page size of a realtime query that ignores `pageSize`.
    pub realtime_own_page_size: u64,
    /// After a `retry_after_past_date`, every request of the tenant for this many
    /// milliseconds gets one too (0 = only the requests drawn).
    pub retry_after_past_date_window_ms: u64,
    /// `Retry-After` of injected 429s and 503s, in seconds.
    pub retry_after_secs: u64,
    /// Delay of `slow_response`, in milliseconds.
    pub slow_response_ms: u64,
    /// Fixed delay added to every list and results page, in milliseconds (0 = none).
    pub page_latency_ms: u64,
    /// Also inject faults on the Genesys token endpoint.
    pub apply_to_login: bool,
    /// Also inject faults on the download listener.
    pub apply_to_download: bool,
    /// Spare the requests that start work (the Genesys query submission, the Zendesk
    /// audit-log export) the faults that leave their outcome unknown (500, 502, 504, a
    /// connection closed before the answer): a careful client does not repeat such a request,
    /// so a run that must end well (the demo) leaves those faults out. 429 and 503 with
    /// `Retry-After` still hit them.
    pub spare_submissions: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            seed: 0,
            status_429: 0.0,
            status_500: 0.0,
            status_502: 0.0,
            status_503: 0.0,
            status_504: 0.0,
            connection_reset: 0.0,
            truncated_body: 0.0,
            slow_response: 0.0,
            duplicate_across_pages: 0.0,
            repeated_cursor: 0.0,
            expired_token: 0.0,
            empty_envelope: 0.0,
            empty_page: 0.0,
            fresh_cursor: 0.0,
            null_timestamp: 0.0,
            out_of_order: 0.0,
            non_object_record: 0.0,
            ascending_page: 0.0,
            sticky_page_attempts: 0,
            huge_rate_limit_reset: 0.0,
            retry_after_past_date: 0.0,
            large_records: 0.0,
            lone_surrogate: 0.0,
            invalid_utf8: 0.0,
            huge_number: 0.0,
            big_id: 0.0,
            realtime_ignores_page_size: 0.0,
            large_record_bytes: 200_000,
            realtime_own_page_size: 25,
            retry_after_past_date_window_ms: 0,
            retry_after_secs: 1,
            slow_response_ms: 1500,
            page_latency_ms: 0,
            apply_to_login: false,
            apply_to_download: false,
            spare_submissions: false,
        }
    }
}

impl FaultConfig {
    /// Every rate, by name.
    pub fn rates(&self) -> [(&'static str, f64); 26] {
        [
            ("status_429", self.status_429),
            ("status_500", self.status_500),
            ("status_502", self.status_502),
            ("status_503", self.status_503),
            ("status_504", self.status_504),
            ("connection_reset", self.connection_reset),
            ("truncated_body", self.truncated_body),
            ("slow_response", self.slow_response),
            ("duplicate_across_pages", self.duplicate_across_pages),
            ("repeated_cursor", self.repeated_cursor),
            ("expired_token", self.expired_token),
            ("empty_envelope", self.empty_envelope),
            ("empty_page", self.empty_page),
            ("fresh_cursor", self.fresh_cursor),
            ("null_timestamp", self.null_timestamp),
            ("out_of_order", self.out_of_order),
            ("non_object_record", self.non_object_record),
            ("ascending_page", self.ascending_page),
            ("huge_rate_limit_reset", self.huge_rate_limit_reset),
            ("retry_after_past_date", self.retry_after_past_date),
            ("large_records", self.large_records),
            ("lone_surrogate", self.lone_surrogate),
            ("invalid_utf8", self.invalid_utf8),
            ("huge_number", self.huge_number),
            ("big_id", self.big_id),
            (
                "realtime_ignores_page_size",
                self.realtime_ignores_page_size,
            ),
        ]
    }

    /// Whether any fault can fire.
    pub fn any(&self) -> bool {
        self.rates().iter().any(|(_, r)| *r > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_specs_parse_and_print() {
        for s in [
            "now",
            "now-30d",
            "now+2h",
            "now-90m",
            "now-45s",
            "2024-05-01T00:00:00Z",
        ] {
            let t: TimeSpec = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert!("yesterday".parse::<TimeSpec>().is_err());
    }

    #[test]
    fn config_round_trips_through_toml() {
        let c = SimConfig::demo().with_tenants(2);
        let text = c.to_toml();
        assert_eq!(SimConfig::from_toml(&text).unwrap(), c);
        let partial = SimConfig::from_toml("[faults]\nstatus_500 = 0.1\n").unwrap();
        assert_eq!(partial.faults.status_500, 0.1);
        assert_eq!(partial.tenants.len(), 1);
        assert!(SimConfig::from_toml("bogus = 1").is_err());
    }
}
