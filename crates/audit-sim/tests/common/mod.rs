//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

use audit_sim::{SimConfig, SimHandle, TimeSpec};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

/// A fixed span in the past, so that windows are stable.
pub const START: &str = "2024-03-01T00:00:00Z";
pub const END: &str = "2024-03-31T00:00:00Z";

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The default config with the tenant's data in the fixed past span.
pub fn config() -> SimConfig {
    let mut c = SimConfig::default();
    for t in &mut c.tenants {
        t.start = START.parse::<TimeSpec>().unwrap();
        t.end = END.parse::<TimeSpec>().unwrap();
    }
    c
}

pub async fn start(config: SimConfig) -> SimHandle {
    audit_sim::start(config)
        .await
        .expect("the simulator starts")
}

/// A client that never follows redirects.
pub fn http_with(headers: HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn basic(user: &str, password: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let v = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    h.insert(AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
    h
}

pub fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    h
}

/// Zendesk Basic (API token) headers of a tenant.
pub fn zendesk_headers(sim: &SimHandle, tenant: &str) -> HeaderMap {
    let c = sim.tenant_credentials(tenant).unwrap();
    basic(&format!("{}/token", c.zendesk_email), &c.zendesk_api_token)
}

/// The raw Zendesk client of a tenant.
pub fn zendesk(sim: &SimHandle, tenant: &str) -> zendesk_raw::Client {
    zendesk_raw::Client::new_with_client(sim.zendesk_url(), http_with(zendesk_headers(sim, tenant)))
}

/// A Genesys access token of a tenant.
pub async fn genesys_token(sim: &SimHandle, tenant: &str) -> String {
    let c = sim.tenant_credentials(tenant).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.genesys_login_url()))
        .basic_auth(&c.genesys_client_id, Some(&c.genesys_client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// The raw Genesys client of a tenant, with a fresh token.
pub async fn genesys(sim: &SimHandle, tenant: &str) -> genesys_raw::Client {
    let token = genesys_token(sim, tenant).await;
    genesys_raw::Client::new_with_client(sim.genesys_api_url(), http_with(bearer(&token)))
}

/// Runs a historical query to completion and returns its id.
pub async fn run_query(
    client: &genesys_raw::Client,
    body: genesys_raw::types::AuditQueryRequest,
) -> String {
    let created = client
        .post_audits_query()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner();
    let id = created.id.unwrap();
    for _ in 0..200 {
        let s = client
            .get_audits_query_transaction_id()
            .transaction_id(&id)
            .send()
            .await
            .unwrap()
            .into_inner();
        match s.state.as_deref() {
            Some("Succeeded") => return id,
            Some("Queued" | "Running") => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await
            }
            other => panic!("query ended {other:?}"),
        }
    }
    panic!("query did not finish")
}

pub fn ascending() -> Vec<genesys_raw::types::AuditQuerySort> {
    vec![genesys_raw::types::AuditQuerySort {
        name: "Timestamp".into(),
        sort_order: "ascending".into(),
    }]
}

pub fn query(interval: &str) -> genesys_raw::types::AuditQueryRequest {
    genesys_raw::types::AuditQueryRequest {
        filters: vec![],
        interval: interval.to_string(),
        service_name: None,
        sort: ascending(),
    }
}
