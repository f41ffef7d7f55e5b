//! `tls_ca_file`: the simulator serves HTTPS with a certificate its own authority signed,
//! HTTP/2 to a client that offers it by ALPN (as the vendors do) and HTTP/1.1 to one that
//! does not, and a client that does not trust the authority is refused.

mod common;

use common::*;
use reqwest::{Certificate, Version};

/// A client trusting only the simulator's authority (written to `ca`).
fn trusting(ca: &std::path::Path, http1_only: bool) -> reqwest::ClientBuilder {
    let pem = std::fs::read(ca).expect("the simulator wrote its authority's certificate");
    let builder = reqwest::Client::builder().tls_certs_only([Certificate::from_pem(&pem).unwrap()]);
    if http1_only {
        builder.http1_only()
    } else {
        builder
    }
}

#[tokio::test]
async fn the_simulator_serves_https_over_http2_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut config = config();
    config.tls_ca_file = Some(ca.clone());
    let sim = start(config).await;
    assert!(
        sim.zendesk_url().starts_with("https://127.0.0.1:"),
        "{}",
        sim.zendesk_url()
    );
    let page = format!("{}/api/v2/audit_logs", sim.zendesk_url());

    for (http1_only, version) in [(false, Version::HTTP_2), (true, Version::HTTP_11)] {
        let client = trusting(&ca, http1_only)
            .default_headers(zendesk_headers(&sim, "acme"))
            .build()
            .unwrap();
        let response = client.get(&page).send().await.unwrap();
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(!body["audit_logs"].as_array().unwrap().is_empty(), "{body}");
    }

    // A client that trusts only the public authorities does not trust the simulator's.
    let error = reqwest::Client::new().get(&page).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    sim.shutdown().await;
}
