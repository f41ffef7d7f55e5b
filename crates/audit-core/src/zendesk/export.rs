//! The audit-log CSV export (`ExportAuditLogs`): what its answer says, and the pacing of its
//! own rate limit.
//!
//! Zendesk allows **one export request per minute per account**, separately from the account's
//! request budget, and reports it in `Zendesk-RateLimit-audit-logs-export: total=1;
//! remaining=0; resets=60`. A client paces it instead of meeting the 429 (which would pause
//! every other request of the client for the `Retry-After`): after each accepted export it
//! remembers when the next one may go out — at the header's reset when nothing is `remaining`,
//! else at once; a minute later when the answer had no such header — and the next
//! [`ZendeskClient::export_audit_logs`] waits until then. Exports of one client go out one at a
//! time.

use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::audit_logs::{AuditLogFilter, with_filter};
use super::{ZendeskClient, request_id};
use crate::error::Error;
use crate::pacing::RateLimitReading;
use crate::retry::{LONG_WAIT, Operation, wall_clock_after};

const EXPORT: Operation = Operation::write("export_audit_logs");

/// The header of the export's own rate limit.
///
/// ```
/// use audit_core::zendesk::ExportReceipt;
/// use audit_core::zendesk::export::EXPORT_RATE_LIMIT_HEADER;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(EXPORT_RATE_LIMIT_HEADER, HeaderValue::from_static("total=1; remaining=1; resets=60"));
/// assert_eq!(ExportReceipt::from_answer(202, &headers).rate_limit.unwrap().remaining, Some(1));
/// ```
pub const EXPORT_RATE_LIMIT_HEADER: &str = "zendesk-ratelimit-audit-logs-export";

/// The documented limit: one export per minute per account.
///
/// ```
/// use audit_core::zendesk::ExportReceipt;
/// use audit_core::zendesk::export::EXPORT_INTERVAL;
/// use reqwest::header::HeaderMap;
///
/// // An answer without the export's rate-limit header: wait the documented minute.
/// let receipt = ExportReceipt::from_answer(202, &HeaderMap::new());
/// assert_eq!(receipt.next_export_in(), EXPORT_INTERVAL);
/// ```
pub const EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// What Zendesk answered to an accepted export request. There is no job to poll: the file
/// reaches the requester outside the API.
///
/// ```
/// use std::time::Duration;
/// use audit_core::zendesk::ExportReceipt;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "zendesk-ratelimit-audit-logs-export",
///     HeaderValue::from_static("total=1; remaining=0; resets=42"),
/// );
/// headers.insert("x-zendesk-request-id", HeaderValue::from_static("8d2e6c1a"));
/// let receipt = ExportReceipt::from_answer(202, &headers);
/// let limit = receipt.rate_limit.unwrap();
/// assert_eq!((limit.limit, limit.remaining), (Some(1), Some(0)));
/// assert_eq!(limit.reset, Some(Duration::from_secs(42)));
/// assert_eq!(receipt.request_id.as_deref(), Some("8d2e6c1a"));
/// assert_eq!(receipt.next_export_in(), Duration::from_secs(42));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportReceipt {
    /// The HTTP status (`202`: queued).
    pub status: u16,
    /// The export's own rate limit (`Zendesk-RateLimit-audit-logs-export`), when sent.
    pub rate_limit: Option<RateLimitReading>,
    /// Zendesk's id of the request (`X-Zendesk-Request-Id`, else `X-Request-Id`), to quote to
    /// Zendesk support about this export.
    pub request_id: Option<String>,
}

impl ExportReceipt {
    /// Reads an answer's status and headers.
    ///
    /// ```
    /// use audit_core::zendesk::ExportReceipt;
    /// use reqwest::header::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-request-id", HeaderValue::from_static("c0ffee"));
    /// let receipt = ExportReceipt::from_answer(202, &headers);
    /// assert_eq!((receipt.status, receipt.request_id.as_deref()), (202, Some("c0ffee")));
    /// ```
    pub fn from_answer(status: u16, headers: &HeaderMap) -> Self {
        ExportReceipt {
            status,
            rate_limit: headers
                .get(EXPORT_RATE_LIMIT_HEADER)
                .and_then(|value| value.to_str().ok())
                .and_then(parse_rate_limit),
            request_id: request_id(headers),
        }
    }

    /// How long after this answer the next export may be sent: the header's reset when no
    /// request is `remaining`, nothing when some are, and the documented minute when the
    /// answer did not say.
    ///
    /// ```
    /// use audit_core::zendesk::ExportReceipt;
    /// use reqwest::header::{HeaderMap, HeaderValue};
    /// use std::time::Duration;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("zendesk-ratelimit-audit-logs-export", HeaderValue::from_static("total=2; remaining=1; resets=50"));
    /// assert_eq!(ExportReceipt::from_answer(202, &headers).next_export_in(), Duration::ZERO);
    /// ```
    pub fn next_export_in(&self) -> Duration {
        match self.rate_limit {
            Some(reading) if reading.remaining.is_some_and(|left| left > 0) => Duration::ZERO,
            Some(RateLimitReading {
                reset: Some(reset), ..
            }) => reset,
            _ => EXPORT_INTERVAL,
        }
    }
}

/// Parses `total=1; remaining=0; resets=60` (Zendesk's endpoint-specific rate-limit header);
/// `None` when it holds none of the three.
fn parse_rate_limit(value: &str) -> Option<RateLimitReading> {
    let mut reading = RateLimitReading::default();
    for pair in value.split([';', ',']) {
        let Some((key, number)) = pair.split_once('=') else {
            continue;
        };
        let Ok(number) = number.trim().parse::<u32>() else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "total" => reading.limit = Some(number),
            "remaining" => reading.remaining = Some(number),
            "resets" => reading.reset = Some(Duration::from_secs(u64::from(number))),
            _ => {}
        }
    }
    (reading != RateLimitReading::default()).then_some(reading)
}

/// When a client's next export may go out. The lock is held from the wait to the answer, so
/// exports of one client never race each other into the limit.
#[derive(Debug, Default)]
pub(crate) struct ExportGate {
    not_before: tokio::sync::Mutex<Option<Instant>>,
}

impl ZendeskClient {
    /// Asks Zendesk to produce a CSV export of the audit log (`ExportAuditLogs`, 202 with an
    /// empty body) and returns what the answer says: the export's own rate limit and the
    /// request's id. Limited to one request per minute per account: a call waits until the
    /// limit allows it (as the previous answer of this client said) instead of meeting a 429;
    /// a wait longer than the retry policy's `max_retry_after` is not made
    /// ([`Error::RateLimitResetTooLong`]). It is not idempotent, so it is retried only when
    /// the request was certainly not processed (429, 503 with `Retry-After`, no connection).
    ///
    /// ```no_run
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::{TimeZone, Utc};
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let filter = AuditLogFilter::default().created_between(
    ///     Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2024, 3, 31, 23, 59, 59).unwrap(),
    /// );
    /// let receipt = client.export_audit_logs(&filter).await?;
    /// println!("queued (request {:?}); limit: {:?}", receipt.request_id, receipt.rate_limit);
    /// // The second export waits for the one-per-minute limit instead of meeting a 429.
    /// client.export_audit_logs(&filter.clone().action("login")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn export_audit_logs(&self, filter: &AuditLogFilter) -> Result<ExportReceipt, Error> {
        filter.validate(EXPORT.name)?;
        let mut not_before = self.export_gate().not_before.lock().await;
        if let Some(at) = *not_before {
            let wait = at.saturating_duration_since(Instant::now());
            let max = self.retry_policy().max_retry_after();
            if wait > max {
                return Err(Error::RateLimitResetTooLong {
                    operation: EXPORT.name,
                    requested: wait,
                    max,
                });
            }
            if wait > LONG_WAIT {
                tracing::warn!(
                    wait_s = wait.as_secs(),
                    until = %wall_clock_after(wait),
                    "waiting for the audit-log export's own rate limit (one per minute)"
                );
            }
            tokio::time::sleep_until(at).await;
        }
        let response = self
            .call(EXPORT, |session| async move {
                with_filter!(session.raw.export_audit_logs(), filter)
                    .send()
                    .await
            })
            .await?;
        let receipt = ExportReceipt::from_answer(response.status().as_u16(), response.headers());
        *not_before = Some(Instant::now() + receipt.next_export_in());
        tracing::debug!(
            request_id = receipt.request_id.as_deref().unwrap_or("-"),
            rate_limit = ?receipt.rate_limit,
            "audit-log export queued"
        );
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_header_is_read_in_any_order_and_spacing() {
        let reading = parse_rate_limit("resets=17;total=1 ;  remaining=0").unwrap();
        assert_eq!(reading.limit, Some(1));
        assert_eq!(reading.remaining, Some(0));
        assert_eq!(reading.reset, Some(Duration::from_secs(17)));
        assert_eq!(parse_rate_limit("nonsense"), None);
    }

    #[test]
    fn the_next_export_waits_for_the_reset_only_when_nothing_is_left() {
        let receipt = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(EXPORT_RATE_LIMIT_HEADER, value.parse().unwrap());
            }
            ExportReceipt::from_answer(202, &headers)
        };
        assert_eq!(
            receipt(Some("total=1; remaining=0; resets=60")).next_export_in(),
            Duration::from_secs(60)
        );
        assert_eq!(
            receipt(Some("total=2; remaining=1; resets=60")).next_export_in(),
            Duration::ZERO
        );
        assert_eq!(receipt(None).next_export_in(), EXPORT_INTERVAL);
        assert_eq!(
            receipt(Some("total=1; remaining=0")).next_export_in(),
            EXPORT_INTERVAL
        );
    }
}
