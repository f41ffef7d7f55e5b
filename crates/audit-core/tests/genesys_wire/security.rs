//! Credentials stay home: the secret, the tokens, the Basic header and presigned signatures
//! never show up in errors or `Debug`.

use std::sync::atomic::Ordering;

use audit_core::genesys::{ClientCredentials, GenesysClient, ResultsRequest};
use audit_core::{Error, RetryPolicy, Window};
use chrono::TimeDelta;
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains(TOKEN_PREFIX),
        "{what} shows an access token: {text}"
    );
    assert!(
        !text.contains(&basic_header_value()),
        "{what} shows the Basic header: {text}"
    );
    assert!(
        !text.contains("SIGnotForLogs"),
        "{what} shows a presigned URL's signature: {text}"
    );
}

fn assert_error_clean(error: &Error) {
    assert_clean("Display", &error.to_string());
    assert_clean("Debug", &format!("{error:?}"));
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        assert_clean("source", &inner.to_string());
        assert_clean("source Debug", &format!("{inner:?}"));
        source = inner.source();
    }
}

#[tokio::test(start_paused = true)]
async fn no_secret_or_token_in_any_error_or_debug_string() {
    let fake = Fake::start(records(
        3,
        at("2024-05-01T00:00:00Z"),
        TimeDelta::minutes(1),
    ))
    .await;
    let builder = fake.builder();
    assert_clean("builder Debug", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    client.service_mapping().await.unwrap();
    assert_eq!(fake.state.token_requests(), 1);
    assert_clean("client Debug", &format!("{client:?}"));
    assert!(
        format!("{client:?}").contains(CLIENT_ID),
        "Debug still says who"
    );
    let credentials = ClientCredentials::new(CLIENT_ID, SECRET);
    assert_clean("credentials Debug", &format!("{credentials:?}"));
    let stream = client.audit_events(Window::since(at("2024-05-01T00:00:00Z")));
    assert_clean("stream Debug", &format!("{stream:?}"));

    // API errors of every kind.
    for (status, body) in [
        (403, fixture("error-403-missing-permissions.json")),
        (400, fixture("error-400-invalid-filter.json")),
        (502, json!("<html>bad gateway</html>")),
    ] {
        let server = MockServer::start().await;
        let mock = match body {
            serde_json::Value::String(text) => ResponseTemplate::new(status).set_body_string(text),
            body => ResponseTemplate::new(status).set_body_json(body),
        };
        Mock::given(method("GET"))
            .respond_with(mock)
            .mount(&server)
            .await;
        let client = fake
            .builder()
            .api_base_url(server.uri())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let error = client.service_mapping().await.unwrap_err();
        assert_error_clean(&error);
    }
    // A 401 that persists after the refresh.
    fake.state.reject_all_tokens.store(true, Ordering::SeqCst);
    let error = client.service_mapping().await.unwrap_err();
    assert_error_clean(&error);
    fake.state.reject_all_tokens.store(false, Ordering::SeqCst);

    // Refused credentials.
    let wrong = fake
        .builder()
        .client_credentials(CLIENT_ID, format!("{SECRET}-wrong"))
        .build()
        .unwrap();
    let error = wrong.service_mapping().await.unwrap_err();
    assert_error_clean(&error);
    assert!(!error.to_string().contains("-wrong"));

    // A login host that cannot be reached.
    let unreachable = GenesysClient::builder()
        .api_base_url("http://127.0.0.1:9")
        .login_base_url("http://127.0.0.1:9")
        .client_credentials(CLIENT_ID, SECRET)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_error_clean(&unreachable.service_mapping().await.unwrap_err());
}

#[tokio::test(start_paused = true)]
async fn a_token_response_that_does_not_decode_is_not_echoed() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": 42, "note": format!("{TOKEN_PREFIX}-in-a-broken-body")}),
        ))
        .with_priority(1)
        .mount(&fake.login)
        .await;
    let client = fake
        .builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.service_mapping().await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_error_clean(&error);
}

#[tokio::test(start_paused = true)]
async fn a_failed_download_does_not_show_its_presigned_url() {
    let fake = Fake::start(records(
        3,
        at("2024-05-01T00:00:00Z"),
        TimeDelta::minutes(1),
    ))
    .await;
    let download = MockServer::start().await;
    *fake.state.download_base.lock().unwrap() = Some(download.uri());
    Mock::given(method("GET"))
        .and(path_regex("^/audit-query-results/"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("content-type", "application/xml")
                .set_body_string("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"),
        )
        .mount(&download)
        .await;
    let client = fake.client();
    let id = client
        .run_audit_query(&audit_core::genesys::AuditQuery::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
        ))
        .await
        .unwrap()
        .id
        .unwrap();
    let error = client
        .audit_query_results(&id, &ResultsRequest::default().allow_redirect(true))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(403));
    assert_eq!(error.operation(), Some("download_audit_query_results"));
    assert_error_clean(&error);
    // Nor does a download host that cannot be reached.
    *fake.state.download_base.lock().unwrap() = Some("http://127.0.0.1:9".into());
    let client = fake
        .builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client
        .audit_events(
            Window::between(at("2024-05-01T00:00:00Z"), at("2024-05-01T01:00:00Z")).unwrap(),
        )
        .allow_redirect(true)
        .events()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(error.operation(), Some("download_audit_query_results"));
    assert_error_clean(&error);
}

#[tokio::test(start_paused = true)]
async fn a_download_url_that_is_not_https_is_not_requested() {
    let fake = Fake::start(records(
        1,
        at("2024-05-01T00:00:00Z"),
        TimeDelta::minutes(1),
    ))
    .await;
    *fake.state.download_base.lock().unwrap() = Some("http://downloads.example.com".into());
    let client = fake.client();
    let id = client
        .run_audit_query(&audit_core::genesys::AuditQuery::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
        ))
        .await
        .unwrap()
        .id
        .unwrap();
    let error = client
        .audit_query_results(&id, &ResultsRequest::default().allow_redirect(true))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not requested"), "{error}");
    assert_error_clean(&error);
}

#[tokio::test(start_paused = true)]
async fn the_api_gets_the_bearer_token_and_never_the_secret() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    client.service_mapping().await.unwrap();
    let token = fake.state.tokens.lock().unwrap()[0].clone();
    for request in fake.api.received_requests().await.unwrap() {
        assert_eq!(
            request
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Bearer {token}")
        );
        assert!(!String::from_utf8_lossy(&request.body).contains(SECRET));
    }
}
