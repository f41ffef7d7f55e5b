//! Each request is logged in a span naming vendor and operation, with status, but never
//! credentials or the query string.
//!
//! Alone in its test binary on purpose: `tracing` caches, per call site, whether anyone
//! listens. A test on another thread that makes a request with no subscriber set can cache
//! "nobody" for the span's call site before this test's scoped subscriber exists, and the
//! span is then never recorded (seen as a flaky failure in CI).

use std::io::Write;
use std::sync::{Arc, Mutex};

use progenitor_client::OperationInfo;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn each_request_is_traced_without_credentials_or_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let client = reqwest::Client::new();
    let mut request = client
        .get(format!(
            "{}/api/v2/audit_logs?page%5Bafter%5D=secret-cursor",
            server.uri()
        ))
        .header("authorization", "Bearer very-secret-token")
        .build()
        .unwrap();
    raw_support::strip_api_version(&mut request);
    let info = OperationInfo {
        operation_id: "ListAuditLogs",
    };
    let response = raw_support::execute_traced(&client, "zendesk", request, &info)
        .await
        .unwrap();
    assert_eq!(response.status(), 429);

    let logs = captured.text();
    assert!(logs.contains("http.request"), "{logs}");
    assert!(logs.contains("vendor=\"zendesk\""), "{logs}");
    assert!(logs.contains("operation=\"ListAuditLogs\""), "{logs}");
    assert!(logs.contains("path=\"/api/v2/audit_logs\""), "{logs}");
    assert!(logs.contains("status=429"), "{logs}");
    assert!(!logs.contains("very-secret-token"), "{logs}");
    assert!(!logs.contains("secret-cursor"), "{logs}");
}
