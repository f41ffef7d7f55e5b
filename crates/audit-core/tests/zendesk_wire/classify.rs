//! `Error::kind` and the `is_*` questions: each shape a failure comes in (the vendor's own
//! answer, retries used up on it, a wait longer than allowed, the token endpoint's refusal)
//! classifies the same way, and keeps what the vendor said.

use audit_core::zendesk::ZendeskAuth;
use audit_core::{Error, ErrorKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, client};

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn vendor_error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-zendesk-request-id", "req-4711")
        .set_body_json(json!({"error": code, "description": format!("{code} said the vendor")}))
}

#[tokio::test(start_paused = true)]
async fn rate_limiting_is_one_kind_in_all_three_shapes_and_keeps_the_vendors_words() {
    // Retries off: the 429 itself.
    let server =
        answering(vendor_error(429, "TooManyRequests").insert_header("retry-after", "2")).await;
    let no_retries = builder(&server.uri())
        .retry_policy(RetryPolicy::default().with_max_attempts(1))
        .build()
        .unwrap();
    let answered = no_retries.show_audit_log(1).await.unwrap_err();
    // Retries used up on it.
    let exhausted = client(&server.uri()).show_audit_log(1).await.unwrap_err();
    assert!(
        matches!(exhausted, Error::RetriesExhausted { .. }),
        "{exhausted:?}"
    );
    // A wait longer than allowed (a day), not waited.
    let server =
        answering(vendor_error(429, "TooManyRequests").insert_header("retry-after", "86400")).await;
    let too_long = client(&server.uri()).show_audit_log(1).await.unwrap_err();
    assert!(
        matches!(too_long, Error::RetryAfterTooLong { .. }),
        "{too_long:?}"
    );

    for error in [&answered, &exhausted, &too_long] {
        assert_eq!(error.kind(), ErrorKind::RateLimited, "{error:?}");
        assert!(error.is_rate_limited() && error.is_retryable(), "{error}");
        assert!(!error.is_auth() && !error.is_not_found(), "{error}");
        let detail = error.vendor_detail().expect("the vendor's words are kept");
        assert_eq!(detail.error.as_deref(), Some("TooManyRequests"), "{error}");
    }
    assert!(
        too_long
            .to_string()
            .contains("TooManyRequests said the vendor"),
        "{too_long}"
    );
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_denied_access_and_missing_items_are_told_apart() {
    for (status, code, kind) in [
        (401, "Couldn't authenticate you", ErrorKind::Unauthenticated),
        (403, "Forbidden", ErrorKind::PermissionDenied),
        (404, "RecordNotFound", ErrorKind::NotFound),
        (400, "InvalidValue", ErrorKind::InvalidRequest),
        (503, "ServiceUnavailable", ErrorKind::Unavailable),
    ] {
        let server = answering(vendor_error(status, code)).await;
        let error = client(&server.uri()).show_audit_log(1).await.unwrap_err();
        assert_eq!(error.kind(), kind, "HTTP {status}: {error:?}");
        assert_eq!(
            error.is_auth(),
            matches!(status, 401 | 403),
            "HTTP {status}"
        );
        assert_eq!(error.is_not_found(), status == 404, "HTTP {status}");
        assert_eq!(error.is_retryable(), status == 503, "HTTP {status}");
        assert_eq!(
            error.vendor_detail().and_then(|d| d.error.as_deref()),
            Some(code),
            "HTTP {status}: {error:?}"
        );
    }
}

#[tokio::test]
async fn the_token_endpoint_refusing_the_grant_is_an_authentication_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "The grant is invalid"}),
        ))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::client_credentials(
            "trail_export",
            "s3cret-never-shown",
            ["read"],
        ))
        .build()
        .unwrap();
    let error = client.show_audit_log(1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated, "{error:?}");
    assert!(error.is_auth() && !error.is_retryable(), "{error}");
}
