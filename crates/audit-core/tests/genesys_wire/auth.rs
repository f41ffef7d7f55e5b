//! OAuth client credentials: one token for many calls, refresh before expiry and once after a
//! 401, one refresh for many concurrent calls, and refused credentials fail once, clearly.

use std::sync::atomic::Ordering;
use std::time::Duration;

use audit_core::Error;
use futures::future::join_all;
use tokio::time::Instant;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

#[tokio::test(start_paused = true)]
async fn one_token_serves_many_requests_sequential_and_concurrent() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    for _ in 0..5 {
        client.service_mapping().await.unwrap();
    }
    let calls = (0..10).map(|_| {
        let client = client.clone();
        async move { client.realtime_service_mapping().await }
    });
    for result in join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(fake.state.token_requests(), 1, "one token for 15 calls");
    assert_eq!(fake.login.received_requests().await.unwrap().len(), 1);
    // The token call counts as a request of the client.
    assert_eq!(client.stats().requests, 16);
}

#[tokio::test(start_paused = true)]
async fn the_token_request_is_basic_auth_with_the_client_credentials_grant() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header(
            "authorization",
            format!("Basic {}", basic_header_value()).as_str(),
        ))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("{TOKEN_PREFIX}-fixed"), "token_type": "bearer", "expires_in": 86400
        })))
        .expect(1)
        .with_priority(1)
        .mount(&fake.login)
        .await;
    fake.state
        .tokens
        .lock()
        .unwrap()
        .push(format!("{TOKEN_PREFIX}-fixed"));
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .and(header(
            "authorization",
            format!("Bearer {TOKEN_PREFIX}-fixed").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("servicemapping.json")))
        .expect(2)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let mapping = client.service_mapping().await.unwrap();
    assert!(!mapping.services.is_empty());
    client.service_mapping().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_token_is_replaced_shortly_before_it_expires() {
    let fake = Fake::start(Vec::new()).await;
    fake.state.token_expires_in.store(600, Ordering::SeqCst);
    let client = fake.client();
    client.service_mapping().await.unwrap();
    // 600 s tokens are replaced 60 s early: still valid at 539 s…
    tokio::time::sleep(Duration::from_secs(539)).await;
    client.service_mapping().await.unwrap();
    assert_eq!(fake.state.token_requests(), 1);
    // …replaced at 541 s, before the API would refuse it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.service_mapping().await.unwrap();
    assert_eq!(fake.state.token_requests(), 2);
    assert!(
        !fake.state.log().contains(&"401".to_string()),
        "no request went out with an expired token"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_replaces_the_token_once_and_the_call_succeeds() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    client.service_mapping().await.unwrap();
    // The server forgets the token (revoked, or expired early).
    let first = fake.state.tokens.lock().unwrap()[0].clone();
    fake.state.revoked.lock().unwrap().insert(first);
    client.service_mapping().await.unwrap();
    assert_eq!(fake.state.token_requests(), 2);
    assert_eq!(
        fake.state
            .log()
            .iter()
            .filter(|line| *line == "401")
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_that_meet_a_401_share_one_new_token() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    client.service_mapping().await.unwrap();
    let first = fake.state.tokens.lock().unwrap()[0].clone();
    fake.state.revoked.lock().unwrap().insert(first);
    let calls = (0..8).map(|_| {
        let client = client.clone();
        async move { client.service_mapping().await }
    });
    for result in join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(fake.state.token_requests(), 2, "one refresh for 8 refusals");
}

#[tokio::test(start_paused = true)]
async fn a_fresh_token_refused_once_more_is_retried_without_another_token() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    client.service_mapping().await.unwrap();
    // Two refusals in a row: the old token, then (a glitch) the fresh one.
    fake.state.refuse_next.store(2, Ordering::SeqCst);
    let started = Instant::now();
    client.service_mapping().await.unwrap();
    assert_eq!(fake.state.token_requests(), 2, "one refresh");
    assert_eq!(started.elapsed(), Duration::from_secs(1), "one backoff");
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test(start_paused = true)]
async fn an_api_that_keeps_refusing_fails_after_one_refresh_and_bounded_retries() {
    let fake = Fake::start(Vec::new()).await;
    fake.state.reject_all_tokens.store(true, Ordering::SeqCst);
    let client = fake.client();
    let error = client.service_mapping().await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    match &error {
        Error::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 6);
            assert!(matches!(**last, Error::Api { status: 401, .. }), "{last:?}");
        }
        other => panic!("{other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("bad.credentials"), "{text}");
    assert!(text.contains("fresh one"), "{text}");
    assert_eq!(
        fake.state.token_requests(),
        2,
        "one refresh, no token storm"
    );
    // The refused call, then the fresh token's 6 attempts.
    assert_eq!(fake.api.received_requests().await.unwrap().len(), 1 + 6);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_fails_once_with_a_clear_error_and_is_not_asked_again() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake
        .builder()
        .client_credentials(CLIENT_ID, "not-the-secret")
        .build()
        .unwrap();
    let error = client.service_mapping().await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.operation(), Some("oauth_token"));
    let text = error.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert!(text.contains("client id or secret"), "{text}");
    assert!(text.contains("region"), "{text}");
    assert!(text.contains("127.0.0.1"), "names the login host: {text}");
    // Later calls (streams included) fail the same way without asking again.
    let again = client.realtime_service_mapping().await.unwrap_err();
    assert_eq!(again.to_string(), text);
    assert_eq!(fake.login.received_requests().await.unwrap().len(), 1);
    assert!(fake.api.received_requests().await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test(start_paused = true)]
async fn ip_allow_list_refusals_are_access_errors_without_a_refresh() {
    let fake = Fake::start(Vec::new()).await;
    *fake.state.unauthorized_code.lock().unwrap() = Some("ip.not.authorized".into());
    fake.state.reject_all_tokens.store(true, Ordering::SeqCst);
    let client = fake.client();
    let error = client.service_mapping().await.unwrap_err();
    match &error {
        Error::AccessDenied { status, hint, .. } => {
            assert_eq!(*status, 401);
            assert!(hint.contains("allow-list"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.state.token_requests(), 1, "a new token would not help");
}

#[tokio::test(start_paused = true)]
async fn missing_permissions_name_the_permission_and_the_scope() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/servicemapping"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("inin-correlation-id", "corr-403")
                .set_body_json(fixture("error-403-missing-permissions.json")),
        )
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let error = fake.client().service_mapping().await.unwrap_err();
    match &error {
        Error::AccessDenied { hint, detail, .. } => {
            assert!(hint.contains("audits:audit:view"), "{hint}");
            assert!(hint.contains("audits:readonly"), "{hint}");
            assert_eq!(detail.error.as_deref(), Some("missing.permissions"));
            assert_eq!(detail.correlation_id.as_deref(), Some("corr-403"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_organisation_is_read_with_the_bearer_token() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/me"))
        .and(wiremock::matchers::header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "5b6a2c9e-0f1d-4e8a-9c3b-7d2e1f0a4b6c", "name": "Acme Corp",
            "thirdPartyOrgName": "acme", "state": "active", "version": 7,
            "defaultLanguage": "en-us", "selfUri": "/api/v2/organizations/5b6a2c9e"
        })))
        .expect(1)
        .mount(&fake.api)
        .await;
    let organization = fake.client().organization().await.unwrap();
    assert_eq!(organization.id, "5b6a2c9e-0f1d-4e8a-9c3b-7d2e1f0a4b6c");
    assert_eq!(organization.name.as_deref(), Some("Acme Corp"));
    let request = &fake.api.received_requests().await.unwrap()[0];
    let bearer = request.headers["authorization"].to_str().unwrap();
    assert!(
        bearer.starts_with(&format!("Bearer {TOKEN_PREFIX}")),
        "{bearer}"
    );
}
