//! Zendesk OAuth grants against a local server: the token request's shape, single-flight
//! issuance, one renewal after a 401, refusals that are final, and the rotating refresh token
//! written to its store before use.

use audit_core::oauth::{StoredTokens, TokenStore};
use audit_core::zendesk::ZendeskAuth;
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SECRET: &str = "cl13nt-S3CRET-value";

fn token_answer(access: &str, refresh: Option<&str>) -> ResponseTemplate {
    let mut body = json!({"access_token": access, "token_type": "bearer",
        "scope": "read", "expires_in": 1800});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

async fn show_log_with(server: &MockServer, bearer: &str, status: u16) {
    let template = if status == 200 {
        ResponseTemplate::new(200).set_body_json(fixture("show_audit_log.json"))
    } else {
        ResponseTemplate::new(status).set_body_json(json!({"error": "invalid_token"}))
    };
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/19283775120"))
        .and(header("authorization", format!("Bearer {bearer}").as_str()))
        .respond_with(template)
        .mount(server)
        .await;
}

#[tokio::test]
async fn client_credentials_send_one_json_token_request_shared_by_concurrent_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"grant_type": "client_credentials",
            "client_id": "trail_export", "client_secret": SECRET, "scope": "read auditlogs:read"}),
        ))
        .respond_with(token_answer("at-1", None))
        .expect(1)
        .mount(&server)
        .await;
    show_log_with(&server, "at-1", 200).await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::client_credentials(
            "trail_export",
            SECRET,
            ["read", "auditlogs:read"],
        ))
        .build()
        .unwrap();
    let calls = (0..5).map(|_| client.show_audit_log(19283775120));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert!(!format!("{client:?}").contains(SECRET));
}

#[tokio::test]
async fn a_401_renews_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(token_answer("at-1", None))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(token_answer("at-2", None))
        .expect(1)
        .mount(&server)
        .await;
    show_log_with(&server, "at-1", 401).await;
    show_log_with(&server, "at-2", 200).await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::client_credentials(
            "trail_export",
            SECRET,
            ["read"],
        ))
        .build()
        .unwrap();
    client.show_audit_log(19283775120).await.unwrap();
}

#[tokio::test]
async fn invalid_client_fails_at_once_and_is_not_asked_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::client_credentials(
            "trail_export",
            SECRET,
            ["read"],
        ))
        .build()
        .unwrap();
    for _ in 0..3 {
        let error = client.show_audit_log(19283775120).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("invalid_client"), "{text}");
        assert!(text.contains("client id or secret"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[tokio::test]
async fn the_refresh_grant_presents_the_stored_token_and_stores_its_successor_first() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::new(dir.path().join("store.json"));
    // The store holds a newer token than the configured one: it wins.
    store
        .save(&StoredTokens {
            refresh_token: "rt-stored".into(),
            access_token: None,
            access_expires_at: None,
        })
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .and(body_partial_json(json!({"grant_type": "refresh_token",
            "refresh_token": "rt-stored", "client_secret": SECRET})))
        .respond_with(token_answer("at-1", Some("rt-next")))
        .expect(1)
        .mount(&server)
        .await;
    show_log_with(&server, "at-1", 200).await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::refresh_token(
            "trail_export",
            SECRET,
            Some("rt-configured-but-rotated".into()),
            store.clone(),
        ))
        .build()
        .unwrap();
    client.show_audit_log(19283775120).await.unwrap();
    let stored = store.load().unwrap().unwrap();
    assert_eq!(stored.refresh_token.expose_secret(), "rt-next");
    assert_eq!(stored.access_token.unwrap().expose_secret(), "at-1");
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(!text.contains(SECRET), "no client secret in the store");
}

#[tokio::test]
async fn invalid_grant_says_the_refresh_token_was_refused() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::refresh_token(
            "trail_export",
            SECRET,
            Some("rt-old".into()),
            TokenStore::new(dir.path().join("store.json")),
        ))
        .build()
        .unwrap();
    for _ in 0..2 {
        let text = client
            .show_audit_log(19283775120)
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains("invalid_grant"), "{text}");
        assert!(text.contains("refresh token"), "{text}");
    }
}

#[tokio::test]
async fn a_429_or_5xx_on_the_token_endpoint_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(token_answer("at-1", None))
        .expect(1)
        .mount(&server)
        .await;
    show_log_with(&server, "at-1", 200).await;
    let client = builder(&server.uri())
        .auth(ZendeskAuth::client_credentials(
            "trail_export",
            SECRET,
            ["read"],
        ))
        .build()
        .unwrap();
    client.show_audit_log(19283775120).await.unwrap();
    assert!(client.stats().retries >= 2);
}
