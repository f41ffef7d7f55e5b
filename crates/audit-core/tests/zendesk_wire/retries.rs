//! Retries, `Retry-After`, budgets and pacing, on tokio's paused clock.

use std::time::{Duration, SystemTime};

use audit_core::zendesk::AuditLogFilter;
use audit_core::{
    Error, GiveUpReason, HttpConfig, PacingConfig, RetryPolicy, TransportKind, Window,
};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn show_path() -> wiremock::matchers::PathExactMatcher {
    path("/api/v2/audit_logs/19283775120")
}

async fn mount_once(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(show_path())
        .respond_with(response)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

async fn mount_ok(server: &MockServer) {
    Mock::given(method("GET"))
        .and(show_path())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("show_audit_log.json")))
        .with_priority(10)
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_2_waits_2_seconds() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(
                json!({"error": "TooManyRequests", "description": "Rate limit exceeded"}),
            ),
    )
    .await;
    mount_ok(&server).await;
    let client = client(&server.uri());

    let started = Instant::now();
    client.show_audit_log(19283775120).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_millis(2100),
        "{elapsed:?}"
    );
    let stats = client.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.waited_retry_after, Duration::from_secs(2));
    assert_eq!(stats.waited_backoff, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
    mount_once(
        &server,
        ResponseTemplate::new(503).insert_header("retry-after", date.as_str()),
    )
    .await;
    mount_ok(&server).await;
    let client = client(&server.uri());
    let started = Instant::now();
    client.show_audit_log(19283775120).await.unwrap();
    // The date has one-second resolution, and the wall clock the client reads it against
    // goes on while the test runs (tokio's paused clock does not): on a busy machine up to a
    // second or so may pass between writing the date and reading it.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(8) && elapsed <= Duration::from_secs(10),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_date_in_the_past_backs_off_instead_of_retrying_at_once() {
    // Regression (issue 13): six attempts went out within 0.2 s and the call failed.
    let server = MockServer::start().await;
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    Mock::given(method("GET"))
        .and(show_path())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", past.as_str()))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_ok(&server).await;
    let client = builder(&server.uri())
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_secs(1), Duration::from_secs(30))
                .without_jitter(),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    client.show_audit_log(19283775120).await.unwrap();
    // Backoff of 1, 2 and 4 s: the date said nothing about how long to wait.
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    assert_eq!(client.stats().requests, 4);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_that_resets_in_a_day_fails_at_once_and_says_so() {
    // Regression (issue 13): the pacer slept until the announced reset, up to a year.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-rate-limit", "700")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("ratelimit-reset", "86400")
                .set_body_json(fixture("show_audit_log.json")),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .pacing(PacingConfig::default())
        .build()
        .unwrap();
    client.show_audit_log(19283775120).await.unwrap();
    let started = Instant::now();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO, "no sleep before failing");
    assert!(
        matches!(
            error,
            Error::RateLimitResetTooLong {
                operation: "show_audit_log",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("86401 s (about 24 h)"), "{message}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_request_of_the_client() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "3"),
    )
    .await;
    mount_ok(&server).await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    assert_eq!(error.status(), Some(429));
    // The next call, another request altogether, waits out the rest of the pause.
    let started = Instant::now();
    client.show_audit_log(19283775120).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(client.stats().waited_pacing, Duration::from_secs(3));
}

fn page(ids: &[i64], next: Option<&str>) -> Value {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| audit_log(*id, &format!("2024-03-18T10:00:{:02}Z", id % 60)))
        .collect();
    json!({
        "audit_logs": records,
        "meta": {"has_more": next.is_some(), "after_cursor": next},
        "links": null
    })
}

#[tokio::test(start_paused = true)]
async fn failed_503_502_reset_and_truncated_pages_are_retried_and_nothing_is_lost_or_duplicated() {
    let error_body = json!({"error": "unavailable", "description": "try again"});
    let server = scripted_server(vec![
        Reply::Json(200, page(&[1, 2], Some("c1"))),
        Reply::Json(503, error_body.clone()),
        Reply::Json(502, error_body),
        Reply::Json(200, page(&[3, 4], Some("c2"))),
        Reply::Close,
        Reply::Truncated(page(&[5, 6], None), 40),
        Reply::Json(200, page(&[5, 6], None)),
    ]);
    let client = client(&server.uri);
    let window = Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-18T23:00:00Z")).unwrap();
    let events: Vec<_> = client
        .audit_log_events(window)
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&events), ["1", "2", "3", "4", "5", "6"]);

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 7);
    for retried in &requests[1..4] {
        assert!(retried.contains("page%5Bafter%5D=c1"), "{retried}");
    }
    for retried in &requests[4..7] {
        assert!(retried.contains("page%5Bafter%5D=c2"), "{retried}");
    }
    assert_eq!(client.stats().retries, 4);
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_ends_in_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .mount(&server)
        .await;
    // Backoff 1 s, 2 s, then 4 s would pass the 5 s budget.
    let client = builder(&server.uri())
        .retry_policy(fast_retries().with_wait_budget(Some(Duration::from_secs(5))))
        .build()
        .unwrap();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    match &error {
        Error::RetriesExhausted {
            operation,
            attempts,
            waited,
            reason,
            last,
            ..
        } => {
            assert_eq!(*operation, "show_audit_log");
            assert_eq!(*attempts, 3);
            assert_eq!(*waited, Duration::from_secs(3));
            assert_eq!(*reason, GiveUpReason::WaitBudget);
            assert_eq!(last.status(), Some(503));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("show_audit_log"), "{message}");
    assert!(message.contains("3 attempt(s)"), "{message}");
    assert!(message.contains("retry wait budget used up"), "{message}");
    assert!(
        !message.contains("RetryPolicy"),
        "no library call in messages: {message}"
    );
    assert!(message.contains("HTTP 503"), "{message}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn attempts_run_out_with_the_last_error_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(fast_retries().with_max_attempts(3))
        .build()
        .unwrap();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    assert!(matches!(
        &error,
        Error::RetriesExhausted {
            attempts: 3,
            reason: GiveUpReason::Attempts,
            ..
        }
    ));
    assert_eq!(error.status(), Some(502));
    assert_eq!(error.waited(), Duration::from_secs(3));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_maximum_fails_and_says_how_long() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    match &error {
        Error::RetryAfterTooLong { requested, max, .. } => {
            assert_eq!(*requested, Duration::from_secs(3600));
            assert_eq!(*max, Duration::from_secs(180));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("3600 s"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_export_post_is_not_retried_on_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audit_logs/export"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": "InternalError"})))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = client
        .export_audit_logs(&AuditLogFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::Api {
            status: 500,
            operation: "export_audit_logs",
            ..
        }
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_export_post_is_retried_on_429_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audit_logs/export"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .insert_header(
                    "zendesk-ratelimit-audit-logs-export",
                    "total=1; remaining=0; resets=60",
                )
                .set_body_json(fixture("error_export_rate_limited.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audit_logs/export"))
        .respond_with(ResponseTemplate::new(202))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let filter = AuditLogFilter::default()
        .action("login")
        .created_between(at("2024-03-01T00:00:00Z"), at("2024-03-31T23:59:59Z"));
    let started = Instant::now();
    client.export_audit_logs(&filter).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let query = requests[1].url.query().unwrap().to_string();
    assert!(query.contains("filter%5Baction%5D%5B%5D=login"), "{query}");
    assert_eq!(
        query.matches("filter%5Bcreated_at%5D%5B%5D=").count(),
        2,
        "{query}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_503_on_the_export_is_retried_only_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    assert!(
        client
            .export_audit_logs(&AuditLogFilter::default())
            .await
            .is_err()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn other_4xx_are_not_retried_and_say_what_to_check() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(fixture("error_record_not_found.json")),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = client.show_ticket_audit(1, 2).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "show_ticket_audit: the vendor answered HTTP 404 (RecordNotFound: Not found); the ticket \
         or record does not exist (or was deleted)"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_off_return_the_first_failure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 503, .. }), "{error:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_refused_is_a_transport_error_after_retries() {
    // Nothing listens on port 9 of loopback.
    let client = builder("http://127.0.0.1:9")
        .retry_policy(fast_retries().with_max_attempts(2))
        .build()
        .unwrap();
    let error = client.show_audit_log(1).await.unwrap_err();
    let Error::RetriesExhausted { last, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(
            **last,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn pacing_waits_for_the_window_reset_instead_of_meeting_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-rate-limit", "700")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("ratelimit-reset", "7")
                .set_body_json(fixture("show_audit_log.json")),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .pacing(PacingConfig::default())
        .build()
        .unwrap();
    client.show_audit_log(19283775120).await.unwrap();
    let started = Instant::now();
    client.show_audit_log(19283775120).await.unwrap();
    // The reset, plus the default one-second margin.
    assert_eq!(started.elapsed(), Duration::from_secs(8));
    assert_eq!(client.stats().waited_pacing, Duration::from_secs(8));
    assert_eq!(client.stats().rate_limited, 0);
}

#[tokio::test(start_paused = true)]
async fn a_fixed_requests_per_minute_cap_spaces_requests() {
    let server = MockServer::start().await;
    mount_ok(&server).await;
    let client = builder(&server.uri())
        .pacing(PacingConfig::off().with_requests_per_minute(120))
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        client.show_audit_log(19283775120).await.unwrap();
    }
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_page_larger_than_the_body_cap_is_refused_once_and_not_retried() {
    let server = MockServer::start().await;
    let records: Vec<Value> = (1..=200)
        .map(|i| audit_log(i, "2024-05-01T10:00:00Z"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/498483"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"audit_log": records})))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .http(
            HttpConfig::default()
                .with_connect_timeout(None)
                .with_request_timeout(None)
                .with_pool_idle_timeout(None)
                .with_max_body_bytes(16 * 1024),
        )
        .build()
        .unwrap();
    let error = client.show_audit_log(498483).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::BodyTooLarge {
                operation: "show_audit_log",
                limit: 16_384
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("exceeds the cap of 16384 bytes"),
        "{error}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_html_page_is_named_as_such_after_one_retry() {
    // A captive portal or a base URL that is not the API: a 200 with a web page.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<!DOCTYPE html>\n<html><body>Sign in to the Wi-Fi</body></html>"),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    assert!(
        matches!(&error, Error::NotTheApi { host, .. } if host == "127.0.0.1"),
        "{error:?}"
    );
    assert!(
        !error.is_retryable(),
        "a wrong base URL does not pass by itself"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "the server at 127.0.0.1 answered HTML, not the vendor's JSON API: check the base URL"
        ),
        "{message}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one retry"
    );
}

#[tokio::test]
async fn giving_up_counts_the_time_the_attempts_took_not_only_the_waits() {
    // Each answer takes 400 ms: a slow server, whose time the waits alone do not show.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_delay(Duration::from_millis(400)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(10))
                .without_jitter(),
        )
        .build()
        .unwrap();
    let error = client.show_audit_log(19283775120).await.unwrap_err();
    let Error::RetriesExhausted {
        waited, elapsed, ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(*waited < Duration::from_millis(100), "{waited:?}");
    assert!(*elapsed >= Duration::from_millis(800), "{elapsed:?}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("gave up after 2 attempt(s) over "),
        "{message}"
    );
    assert!(
        !message.contains("over 10 ms"),
        "the real time, not the waits: {message}"
    );
}
