//! Any text as what the clients read outside JSON bodies: `Retry-After` values, rate-limit
//! headers of both vendors, next-page and download URLs (checked against a base URL's origin),
//! base URLs, and Genesys' `[N]` retry messages.

#![no_main]

use std::time::SystemTime;

use audit_core::genesys::{InInRateLimitHeaders, retry_after_in_message};
use audit_core::pacing::RateLimitHeaders;
use audit_core::zendesk::RATE_LIMIT_HEADERS;
use audit_core::{BaseUrl, VendorDetail};
use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = audit_core::retry::parse_retry_after(&text, SystemTime::now());
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        for name in [
            "retry-after",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "x-rate-limit",
            "x-rate-limit-remaining",
            "inin-ratelimit-allowed",
            "inin-ratelimit-count",
            "inin-ratelimit-reset",
        ] {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
        let _ = audit_core::retry::retry_after(&headers);
        let _ = RATE_LIMIT_HEADERS.read(&headers);
        let _ = InInRateLimitHeaders.read(&headers);
    }
    for base in ["https://acme.zendesk.com", "http://127.0.0.1:8080/stem"] {
        let base = BaseUrl::parse(base).unwrap();
        if let Ok(url) = base.check_vendor_url("list_audit_logs", &text) {
            assert!(base.is_same_origin(&url));
        }
    }
    if let Ok(base) = BaseUrl::parse(&text) {
        assert!(base.as_str().starts_with("https://") || base.as_str().starts_with("http://"));
    }
    let detail = VendorDetail::new(
        Some("too.many.requests.retry.after".into()),
        Some(text.to_string()),
    );
    let _ = retry_after_in_message(&detail);
});
