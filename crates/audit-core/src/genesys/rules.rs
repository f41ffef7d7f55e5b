//! What differs for Genesys Cloud in the shared retry, pacing and error machinery: the
//! `ErrorBody` and OAuth error shapes, the `inin-correlation-id` header, the `[N]` seconds of a
//! 429 message, the `inin-ratelimit-*` headers, and the hints of access errors.

use std::sync::LazyLock;
use std::time::Duration;

use genesys_raw::types;
use regex::Regex;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::{Error, ErrorBody, VendorDetail};
use crate::pacing::{RateLimitHeaders, RateLimitReading, header_number};
use crate::retry::VendorRules;

/// The operation name of the token request, in errors and traces.
pub(crate) const TOKEN_OPERATION: &str = "oauth_token";

/// The permission every audit operation needs.
///
/// ```
/// use audit_core::genesys::rules::REQUIRED_PERMISSION;
///
/// // The OAuth client's role needs it; errors of access name it.
/// assert_eq!(REQUIRED_PERMISSION, "audits:audit:view");
/// ```
pub const REQUIRED_PERMISSION: &str = "audits:audit:view";
/// The OAuth scope every audit operation needs (for clients created with a scope list).
///
/// ```
/// use audit_core::genesys::rules::{REQUIRED_PERMISSION, REQUIRED_SCOPE};
///
/// assert!(REQUIRED_PERMISSION.starts_with("audits:") && REQUIRED_SCOPE.starts_with("audits:"));
/// ```
pub const REQUIRED_SCOPE: &str = "audits:readonly";

/// Reads Genesys' rate-limit headers: `inin-ratelimit-allowed` (requests per window),
/// `inin-ratelimit-count` (requests made in it) and `inin-ratelimit-reset` (seconds left).
///
/// ```
/// use audit_core::genesys::InInRateLimitHeaders;
/// use audit_core::pacing::RateLimitHeaders;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("inin-ratelimit-allowed", HeaderValue::from_static("300"));
/// headers.insert("inin-ratelimit-count", HeaderValue::from_static("298"));
/// headers.insert("inin-ratelimit-reset", HeaderValue::from_static("41"));
/// let reading = InInRateLimitHeaders.read(&headers).unwrap();
/// assert_eq!(reading.limit, Some(300));
/// assert_eq!(reading.remaining, Some(2));
/// assert_eq!(reading.reset.unwrap().as_secs(), 41);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InInRateLimitHeaders;

impl RateLimitHeaders for InInRateLimitHeaders {
    fn read(&self, headers: &HeaderMap) -> Option<RateLimitReading> {
        let to_u32 = |v: f64| v.min(u32::MAX as f64) as u32;
        let limit = header_number(headers, &["inin-ratelimit-allowed"]).map(to_u32);
        let count = header_number(headers, &["inin-ratelimit-count"]).map(to_u32);
        let reading = RateLimitReading {
            limit,
            remaining: limit
                .zip(count)
                .map(|(limit, count)| limit.saturating_sub(count)),
            reset: header_number(headers, &["inin-ratelimit-reset"])
                .map(crate::pacing::reset_duration),
        };
        (reading != RateLimitReading::default()).then_some(reading)
    }
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl ErrorBody for types::ErrorBody {
    /// `code` and `message` (else the first nested error's), and `contextId` as the
    /// correlation id (the `inin-correlation-id` header replaces it when present).
    fn detail(&self) -> VendorDetail {
        let nested = self.errors.first();
        let code = non_empty(self.code.as_ref())
            .or_else(|| nested.and_then(|e| non_empty(e.code.as_ref())));
        let message = non_empty(self.message.as_ref())
            .or_else(|| non_empty(self.message_with_params.as_ref()))
            .or_else(|| nested.and_then(|e| non_empty(e.message.as_ref())));
        VendorDetail::new(code, message).with_correlation_id(non_empty(self.context_id.as_ref()))
    }
}

/// The error body of the token endpoint (`{"error", "error_description", "description"}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    description: Option<String>,
    /// What `raw-support` makes of a body that is not JSON.
    message: Option<String>,
}

impl ErrorBody for OAuthError {
    fn detail(&self) -> VendorDetail {
        VendorDetail::new(
            non_empty(self.error.as_ref()),
            non_empty(self.error_description.as_ref())
                .or_else(|| non_empty(self.description.as_ref()))
                .or_else(|| non_empty(self.message.as_ref())),
        )
    }
}

/// `Retry the request in [12] seconds`.
static RETRY_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bin\s*\[\s*(?P<seconds>\d+)\s*\]\s*seconds?").expect("valid regex")
});
/// Any `[N]`, for the `too.many.requests.retry.after` code whatever its wording.
static BRACKETED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\s*(?P<seconds>\d+)\s*\]").expect("valid regex"));
/// `… missing the following permission(s): [audits:audit:view]`.
static MISSING_PERMISSIONS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)missing the following permissions?(?:\(s\))?:?\s*\[(?P<names>[^\]]+)\]")
        .expect("valid regex")
});

/// The delay a Genesys 429 (or 503) message states: `Retry the request in [N] seconds`, or the
/// first `[N]` of a `too.many.requests.retry.after` message. The `[N]` of
/// `too.many.requests` (`maximum [300] requests within [60] seconds`) is a limit, not a delay.
///
/// ```
/// use std::time::Duration;
/// use audit_core::VendorDetail;
/// use audit_core::genesys::retry_after_in_message;
///
/// let detail = VendorDetail::new(
///     Some("too.many.requests.retry.after".into()),
///     Some("Rate limit exceeded the maximum. Retry the request in [3] seconds".into()),
/// );
/// assert_eq!(retry_after_in_message(&detail), Some(Duration::from_secs(3)));
/// let limit = VendorDetail::new(
///     Some("too.many.requests".into()),
///     Some("Rate limit exceeded the maximum [300] requests within [60] seconds".into()),
/// );
/// assert_eq!(retry_after_in_message(&limit), None);
/// ```
pub fn retry_after_in_message(detail: &VendorDetail) -> Option<Duration> {
    let message = detail.description.as_deref()?;
    let seconds = |captures: regex::Captures<'_>| captures["seconds"].parse::<u64>().ok();
    if let Some(found) = RETRY_IN.captures(message).and_then(seconds) {
        return Some(Duration::from_secs(found));
    }
    if detail.error.as_deref() == Some("too.many.requests.retry.after") {
        return BRACKETED
            .captures(message)
            .and_then(seconds)
            .map(Duration::from_secs);
    }
    None
}

/// Genesys' retry and error rules.
#[derive(Debug, Clone)]
pub(crate) struct GenesysRules {
    /// The login host, named in credential errors (a client only works in its own region).
    pub(crate) login_host: String,
}

/// The operations that name a transaction id.
const TRANSACTION_OPERATIONS: &[&str] = &["audit_query_status", "audit_query_results"];

impl GenesysRules {
    fn credential_hint(&self) -> String {
        format!(
            "the OAuth client id or secret was not accepted by {}: check both, that the client \
             has the Client Credentials grant, and that it belongs to this region (an OAuth \
             client only works in the region where it was created)",
            self.login_host
        )
    }
}

impl VendorRules for GenesysRules {
    fn correlation_id(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get("inin-correlation-id")?.to_str().ok()?.trim();
        (!value.is_empty()).then(|| value.to_string())
    }

    fn retry_after_in_body(&self, status: u16, detail: &VendorDetail) -> Option<Duration> {
        matches!(status, 429 | 503)
            .then(|| retry_after_in_message(detail))
            .flatten()
    }

    fn api_error(&self, operation: &'static str, status: u16, detail: VendorDetail) -> Error {
        let code = detail.error.clone().unwrap_or_default();
        let api = |hint: Option<String>, detail: VendorDetail| Error::Api {
            operation,
            status,
            detail: Box::new(detail),
            hint,
            waited: Duration::ZERO,
        };
        let denied = |missing_scope: Option<String>, hint: String, detail: VendorDetail| {
            Error::AccessDenied {
                operation,
                status,
                detail: Box::new(detail),
                missing_scope,
                hint,
                waited: Duration::ZERO,
            }
        };
        if operation == TOKEN_OPERATION {
            let hint = match (status, code.as_str()) {
                (400 | 401, "invalid_client" | "unauthorized_client" | "invalid_grant")
                | (401, _) => Some(self.credential_hint()),
                (400, "unsupported_grant_type") => Some(
                    "the OAuth client does not allow the Client Credentials grant: create a \
                     client with that grant type"
                        .to_string(),
                ),
                (403, _) => Some(format!(
                    "{} refused to issue a token; check that the OAuth client is enabled",
                    self.login_host
                )),
                _ => None,
            };
            return api(hint, detail);
        }
        match (status, code.as_str()) {
            (401, "ip.not.authorized") => denied(
                None,
                "the organisation's IP address allow-list does not admit this host: ask a \
                 Genesys Cloud admin to add its address (Admin > Organization Settings > IP \
                 Address Authorization)"
                    .to_string(),
                detail,
            ),
            (401, _) => api(
                Some(
                    "the access token was refused even after a fresh one was issued: check that \
                     the OAuth client still exists, is enabled, and belongs to this region"
                        .to_string(),
                ),
                detail,
            ),
            (403, "app.not.authorized.for.scope") => denied(
                Some(REQUIRED_SCOPE.to_string()),
                format!(
                    "the OAuth client was created with a scope list that lacks \
                     `{REQUIRED_SCOPE}`: add the scope to the client"
                ),
                detail,
            ),
            (403, _) => {
                let named = detail
                    .description
                    .as_deref()
                    .and_then(|d| MISSING_PERMISSIONS.captures(d))
                    .map(|c| c["names"].trim().to_string());
                let hint = match &named {
                    Some(names) => format!(
                        "the OAuth client's role lacks the permission(s) {names}: the audit API \
                         needs `{REQUIRED_PERMISSION}` (Audits > Audit > View, e.g. the built-in \
                         Audit View role), and `{REQUIRED_SCOPE}` for clients created with a \
                         scope list"
                    ),
                    None => format!(
                        "the audit API needs the permission `{REQUIRED_PERMISSION}` (Audits > \
                         Audit > View, e.g. the built-in Audit View role) on the OAuth \
                         client's role, and the scope `{REQUIRED_SCOPE}` for clients created \
                         with a scope list"
                    ),
                };
                denied(None, hint, detail)
            }
            (404, _) if TRANSACTION_OPERATIONS.contains(&operation) => api(
                Some(
                    "the query is unknown or its results have expired: run the query again (an \
                     export re-queries from its last checkpoint)"
                        .to_string(),
                ),
                detail,
            ),
            (400, "response.entity.too.large") => api(
                Some("the page is too large: lower `pageSize` or leave out `expand=user`".into()),
                detail,
            ),
            (400, _)
                if detail
                    .description
                    .as_deref()
                    .is_some_and(|d| d.contains("does not exceed")) =>
            {
                api(
                    Some(
                        "an audit query may span at most 31 days; split the window (the event \
                         stream does it for you)"
                            .to_string(),
                    ),
                    detail,
                )
            }
            (429, _) => api(
                Some(
                    "rate limited: the OAuth client's request budget is used up; allow retries \
                     or lower the request rate"
                        .to_string(),
                ),
                detail,
            ),
            _ => api(None, detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(body: serde_json::Value) -> VendorDetail {
        serde_json::from_value::<types::ErrorBody>(body)
            .unwrap()
            .detail()
    }

    fn rules() -> GenesysRules {
        GenesysRules {
            login_host: "login.mypurecloud.ie".into(),
        }
    }

    #[test]
    fn error_bodies_give_code_message_and_context_id() {
        let d = detail(
            json!({"message": "Invalid login credentials.", "code": "bad.credentials",
            "status": 401, "contextId": "4e5f6a7b", "details": [], "errors": []}),
        );
        assert_eq!(d.error.as_deref(), Some("bad.credentials"));
        assert_eq!(d.description.as_deref(), Some("Invalid login credentials."));
        assert_eq!(d.correlation_id.as_deref(), Some("4e5f6a7b"));
        let nested = detail(
            json!({"errors": [{"code": "invalid.value", "message": "Value [x] is not valid"}]}),
        );
        assert_eq!(nested.to_string(), "invalid.value: Value [x] is not valid");
        // What raw-support makes of an HTML 502.
        let gateway = detail(
            json!({"error": "HTTP 502 Bad Gateway", "description": "<html>",
            "message": "<html>", "status": 502, "non_json_body": true}),
        );
        assert_eq!(gateway.description.as_deref(), Some("<html>"));
    }

    #[test]
    fn the_429_delay_is_read_only_where_it_is_a_delay() {
        let d =
            |code: &str, message: &str| VendorDetail::new(Some(code.into()), Some(message.into()));
        let rules = rules();
        assert_eq!(
            rules.retry_after_in_body(
                429,
                &d(
                    "too.many.requests.retry.after",
                    "Retry the request in [12] seconds"
                )
            ),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            rules.retry_after_in_body(429, &d("too.many.requests.retry.after", "Wait [7]")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rules.retry_after_in_body(
                429,
                &d(
                    "too.many.requests",
                    "Rate limit exceeded the maximum [300] requests within [60] seconds"
                )
            ),
            None
        );
        assert_eq!(
            rules.retry_after_in_body(400, &d("x", "Retry the request in [12] seconds")),
            None
        );
    }

    #[test]
    fn access_errors_name_the_permission_and_scope() {
        let rules = rules();
        let error = rules.api_error(
            "submit_audit_query",
            403,
            VendorDetail::new(
                Some("missing.permissions".into()),
                Some("Unable to perform the requested action. You are missing the following permission(s): [audits:audit:view]".into()),
            ),
        );
        match &error {
            Error::AccessDenied { hint, .. } => {
                assert!(hint.contains("audits:audit:view"), "{hint}");
                assert!(hint.contains("audits:readonly"), "{hint}");
            }
            other => panic!("{other:?}"),
        }
        let error = rules.api_error(
            "submit_audit_query",
            403,
            VendorDetail::new(Some("app.not.authorized.for.scope".into()), None),
        );
        assert!(
            matches!(&error, Error::AccessDenied { missing_scope: Some(s), .. } if s == "audits:readonly")
        );
        let error = rules.api_error(
            "submit_audit_query",
            401,
            VendorDetail::new(Some("ip.not.authorized".into()), None),
        );
        assert!(
            matches!(&error, Error::AccessDenied { status: 401, .. }),
            "{error}"
        );
        let error = rules.api_error(
            TOKEN_OPERATION,
            401,
            VendorDetail::new(
                Some("invalid_client".into()),
                Some("authentication failed".into()),
            ),
        );
        let text = error.to_string();
        assert!(text.contains("client id or secret"), "{text}");
        assert!(text.contains("login.mypurecloud.ie"), "{text}");
        assert!(text.contains("region"), "{text}");
    }

    #[test]
    fn rate_limit_headers_need_allowed_and_count_for_a_budget() {
        let mut headers = HeaderMap::new();
        assert_eq!(InInRateLimitHeaders.read(&headers), None);
        headers.insert("inin-ratelimit-reset", "61".parse().unwrap());
        let reading = InInRateLimitHeaders.read(&headers).unwrap();
        assert_eq!(reading.remaining, None);
        headers.insert("inin-ratelimit-allowed", "180".parse().unwrap());
        headers.insert("inin-ratelimit-count", "181".parse().unwrap());
        assert_eq!(
            InInRateLimitHeaders.read(&headers).unwrap().remaining,
            Some(0)
        );
    }
}
