//! `HttpConfig::with_network_settings`: a caller's proxy (or CA, or any other
//! `reqwest::ClientBuilder` setting) carries every request, and cannot switch off what keeps
//! credentials safe.

use audit_core::HttpConfig;
use audit_core::reqwest::Proxy;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{audit_log, builder};

#[tokio::test]
async fn requests_go_through_the_callers_proxy() {
    let proxy = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/7"))
        .and(header("host", "127.0.0.1:9"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"audit_log": audit_log(7, "2024-03-18T10:00:00Z")})),
        )
        .expect(1)
        .mount(&proxy)
        .await;
    let through = Proxy::http(proxy.uri()).unwrap();
    // Nothing listens on port 9 (discard): only the proxy can answer.
    let client = builder("http://127.0.0.1:9")
        .http(
            HttpConfig::default()
                .with_network_settings(move |builder| builder.proxy(through.clone())),
        )
        .build()
        .unwrap();
    let record = client.show_audit_log(7).await.unwrap();
    assert_eq!(record.id, Some(7));
}

#[tokio::test]
async fn the_callers_settings_cannot_turn_redirects_back_on() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/7"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://127.0.0.1:9/elsewhere"),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .http(HttpConfig::default().with_network_settings(|builder| {
            builder.redirect(audit_core::reqwest::redirect::Policy::limited(10))
        }))
        .build()
        .unwrap();
    let error = client.show_audit_log(7).await.unwrap_err();
    assert_eq!(error.status(), Some(302), "{error:?}");
}
