//! Credentials stay home: never in errors or `Debug`, never sent to another host.

use audit_core::zendesk::ZendeskClient;
use audit_core::{Error, RetryPolicy, Window};
use base64::Engine;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn basic_header_value() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}/token:{TOKEN}"))
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} shows the token: {text}");
    assert!(
        !text.contains(&basic_header_value()),
        "{what} shows the Authorization header: {text}"
    );
}

fn assert_error_clean(error: &Error) {
    assert_clean("Display", &error.to_string());
    assert_clean("Debug", &format!("{error:?}"));
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        assert_clean("source", &inner.to_string());
        source = inner.source();
    }
}

#[tokio::test(start_paused = true)]
async fn the_api_token_is_sent_as_basic_email_slash_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/19283775120"))
        .and(header(
            "authorization",
            format!("Basic {}", basic_header_value()).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("show_audit_log.json")))
        .expect(1)
        .mount(&server)
        .await;
    client(&server.uri())
        .show_audit_log(19283775120)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn credentials_never_appear_in_debug_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/401"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Couldn't authenticate you"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/403"))
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_missing_scope.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/502"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/200"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"audit_log\": {\"id\": "))
        .mount(&server)
        .await;

    let builder = builder(&server.uri()).retry_policy(RetryPolicy::default().with_max_attempts(2));
    assert_clean("builder Debug", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_clean("client Debug", &format!("{client:?}"));
    assert!(
        format!("{client:?}").contains(EMAIL),
        "Debug still says who"
    );

    for id in [401, 403, 502, 200] {
        let error = client.show_audit_log(id).await.unwrap_err();
        assert_error_clean(&error);
    }
    let refused = builder_for_nothing().show_audit_log(1).await.unwrap_err();
    assert_error_clean(&refused);

    // OAuth tokens too.
    let oauth = ZendeskClient::builder()
        .subdomain("acme")
        .oauth_token(TOKEN)
        .build()
        .unwrap();
    assert_clean("OAuth client Debug", &format!("{oauth:?}"));
    let auth = audit_core::zendesk::ZendeskAuth::oauth(TOKEN);
    assert_clean("auth Debug", &format!("{auth:?}"));
}

fn builder_for_nothing() -> ZendeskClient {
    builder("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_links_next_to_another_host_is_refused_and_that_host_receives_nothing() {
    let home = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    // No cursor to build the next request from (a link with a cursor is never followed:
    // the request is rebuilt at home), so the link itself would be followed.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audit_logs": [audit_log(1, "2024-03-18T10:00:00Z")],
            "meta": {"has_more": true, "after_cursor": null},
            "links": {"next": format!("{}/api/v2/audit_logs.json?page=2", elsewhere.uri())}
        })))
        .mount(&home)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;

    let client = client(&home.uri());
    let window = Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-18T23:00:00Z")).unwrap();
    let results: Vec<_> = client.audit_log_events(window).pages().collect().await;
    assert_eq!(results.len(), 2);
    assert_eq!(ids(&results[0].as_ref().unwrap().events), ["1"]);
    let error = results[1].as_ref().unwrap_err();
    match error {
        Error::ForeignUrl { url, expected, .. } => {
            assert!(url.starts_with(&elsewhere.uri()), "{url}");
            assert_eq!(expected, &home.uri());
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("credentials"), "{error}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    assert_eq!(home.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_redirect_to_another_host_is_not_followed() {
    let home = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&home)
        .await;
    let client = builder(&home.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.show_audit_log(1).await.unwrap_err();
    assert_eq!(error.status(), Some(302));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_foreign_next_link_on_ticket_audits_is_refused() {
    let home = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audits": [ticket_audit(1, "2024-03-18T10:00:00Z")],
            "meta": {"has_more": true, "after_cursor": null, "before_cursor": null},
            "links": {"next": format!("{}/api/v2/ticket_audits.json?page%5Bsize%5D=100", elsewhere.uri()), "prev": null},
        })))
        .mount(&home)
        .await;
    let client = client(&home.uri());
    let window = Window::between(at("2024-03-01T00:00:00Z"), at("2024-03-31T00:00:00Z")).unwrap();
    let error = client
        .ticket_audit_events(window)
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ForeignUrl { .. }), "{error:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}
