//! Rate limits and transient failures on tokio's paused clock: `Retry-After`, the `[N]` of a
//! 429 message, `inin-ratelimit-*` pacing, 5xx backoff, and correlation ids in errors (the
//! query POST's retries are in `fidelity.rs`).

use std::time::Duration;

use audit_core::genesys::AuditQuery;
use audit_core::{Error, PacingConfig, RetryPolicy};
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn query() -> AuditQuery {
    AuditQuery::new(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"))
}

fn too_many(seconds: u64) -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_json(json!({
        "message": format!("Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds"),
        "code": "too.many.requests.retry.after", "status": 429, "contextId": "ctx-429",
        "details": [], "errors": []
    }))
}

#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_waits_the_seconds_named_in_its_message() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(too_many(3))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    // The token first, so only the query's wait is measured.
    client.service_mapping().await.unwrap();
    let started = Instant::now();
    let status = client.submit_audit_query(&query()).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(status.id, "q1");
    let stats = client.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.waited_retry_after, Duration::from_secs(3));
    assert_eq!(stats.waited_backoff, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_after_wins_over_the_message() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(too_many(30).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let started = Instant::now();
    client.service_mapping().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_429_stating_more_than_the_maximum_fails_at_once() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(too_many(3600))
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let error = fake.client().service_mapping().await.unwrap_err();
    match error {
        Error::RetryAfterTooLong { requested, .. } => {
            assert_eq!(requested, Duration::from_secs(3600))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_and_carry_the_correlation_id() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("inin-correlation-id", "corr-500-abc")
                .set_body_json(json!({"message": "The server encountered an unexpected condition", "code": "internal.server.error", "status": 500, "contextId": "ctx-500"})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    client.service_mapping().await.unwrap();
    let stats = client.stats();
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.waited_backoff, Duration::from_secs(1 + 2));

    // Without retries the error names the correlation id of the header.
    let client = fake
        .builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/realtime/servicemapping"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("inin-correlation-id", "corr-503-def")
                .set_body_json(json!({"message": "Service Unavailable", "code": "service.unavailable", "status": 503, "contextId": "ctx-503"})),
        )
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let error = client.realtime_service_mapping().await.unwrap_err();
    let detail = error.vendor_detail().unwrap();
    assert_eq!(detail.correlation_id.as_deref(), Some("corr-503-def"));
    assert_eq!(detail.error.as_deref(), Some("service.unavailable"));
    assert!(error.to_string().contains("corr-503-def"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn without_the_header_the_body_context_id_is_the_correlation_id() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("error-404-not-found.json")))
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let error = fake.client().service_mapping().await.unwrap_err();
    assert_eq!(
        error.vendor_detail().unwrap().correlation_id.as_deref(),
        Some("6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d")
    );
}

#[tokio::test(start_paused = true)]
async fn status_polls_are_retried_on_server_errors() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q1"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let done = client.run_audit_query(&query()).await.unwrap();
    assert_eq!(done.state.as_deref(), Some("Succeeded"));
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test(start_paused = true)]
async fn inin_rate_limit_headers_pace_requests_to_the_reset() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("inin-ratelimit-allowed", "300")
                .insert_header("inin-ratelimit-count", "300")
                .insert_header("inin-ratelimit-reset", "5")
                .set_body_json(fixture("servicemapping.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake
        .builder()
        .pacing(PacingConfig::default().with_reset_margin(Duration::from_secs(1)))
        .build()
        .unwrap();
    client.service_mapping().await.unwrap();
    let started = Instant::now();
    client.service_mapping().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(5 + 1));
    assert_eq!(client.stats().waited_pacing, Duration::from_secs(6));
}
