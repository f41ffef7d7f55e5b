//! How fast the simulator serves pages on loopback, so that later benchmarks know it is not
//! their bottleneck. Run with `cargo bench -p audit-sim`; `AUDIT_SIM_BENCH_SECS` sets the time
//! per scenario (default 8).
//!
//! Scenarios, each on a data set of a million records per stream:
//! - Zendesk audit logs, standard cursor, 100 per page, oldest first (one client, then four
//!   concurrent clients on four windows);
//! - Genesys query results, 500 per page, one client, then four concurrent queries' readers
//!   (one per tenant, since a tenant runs one query at a time).

use std::time::{Duration, Instant};

use audit_sim::{SimConfig, SimHandle, TenantConfig};
use base64::Engine;

const START: &str = "2024-01-01T00:00:00Z";
const END: &str = "2024-01-31T00:00:00Z";

fn config() -> SimConfig {
    let tenants = (1..=4)
        .map(|n| {
            let mut t = TenantConfig::numbered(n);
            t.start = START.parse().unwrap();
            t.end = END.parse().unwrap();
            t.zendesk.audit_logs = 1_000_000;
            t.zendesk.ticket_audits = 1_000_000;
            t.genesys.audits = 1_000_000;
            t
        })
        .collect();
    let mut c = SimConfig {
        tenants,
        ..SimConfig::default()
    };
    c.genesys.query_queued_ms = 0;
    c.genesys.query_running_ms = 0;
    c
}

fn zendesk_client(sim: &SimHandle, tenant: &str) -> reqwest::Client {
    let c = sim.tenant_credentials(tenant).unwrap();
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}/token:{}", c.zendesk_email, c.zendesk_api_token));
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("authorization", format!("Basic {auth}").parse().unwrap());
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

async fn genesys_client(sim: &SimHandle, tenant: &str) -> reqwest::Client {
    let c = sim.tenant_credentials(tenant).unwrap();
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.genesys_login_url()))
        .basic_auth(&c.genesys_client_id, Some(&c.genesys_client_secret))
        .body("grant_type=client_credentials")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        "authorization",
        format!("Bearer {}", v["access_token"].as_str().unwrap())
            .parse()
            .unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// Walks Zendesk audit logs of one window for `budget`; returns (pages, records, bytes).
async fn zendesk_walk(
    sim: &SimHandle,
    tenant: &str,
    window: (String, String),
    budget: Duration,
) -> (u64, u64, u64) {
    let http = zendesk_client(sim, tenant);
    let mut url = format!(
        "{}/api/v2/audit_logs?filter%5Bcreated_at%5D%5B%5D={}&filter%5Bcreated_at%5D%5B%5D={}&page%5Bsize%5D=100&sort=created_at",
        sim.zendesk_url(),
        window.0.replace(':', "%3A"),
        window.1.replace(':', "%3A")
    );
    let started = Instant::now();
    let (mut pages, mut records, mut bytes) = (0, 0, 0);
    while started.elapsed() < budget {
        let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        bytes += body.len() as u64;
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        pages += 1;
        records += page["audit_logs"].as_array().unwrap().len() as u64;
        match page["links"]["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    (pages, records, bytes)
}

/// Runs a query over the whole span and walks its results for `budget`.
async fn genesys_walk(sim: &SimHandle, tenant: &str, budget: Duration) -> (u64, u64, u64) {
    let http = genesys_client(sim, tenant).await;
    let api = sim.genesys_api_url();
    let q: serde_json::Value = http
        .post(format!("{api}/api/v2/audits/query"))
        .json(&serde_json::json!({"interval": format!("{START}/{END}"), "sort": [{"name": "Timestamp", "sortOrder": "ascending"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = q["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let started = Instant::now();
    let (mut pages, mut records, mut bytes) = (0, 0, 0);
    let mut cursor: Option<String> = None;
    while started.elapsed() < budget {
        let mut req = http
            .get(format!("{api}/api/v2/audits/query/{id}/results"))
            .query(&[("pageSize", "500")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let body = req.send().await.unwrap().bytes().await.unwrap();
        bytes += body.len() as u64;
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        pages += 1;
        records += page["entities"].as_array().unwrap().len() as u64;
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    (pages, records, bytes)
}

fn report(name: &str, (pages, records, bytes): (u64, u64, u64), elapsed: Duration) {
    let s = elapsed.as_secs_f64();
    println!(
        "{name:<52} {pages:>6} pages {records:>8} records in {s:>5.1} s: {:>7.0} pages/s {:>8.0} records/s {:>6.1} MB/s",
        pages as f64 / s,
        records as f64 / s,
        bytes as f64 / s / 1e6
    );
}

fn sum(parts: Vec<(u64, u64, u64)>) -> (u64, u64, u64) {
    parts
        .into_iter()
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
}

fn main() {
    let secs: u64 = std::env::var("AUDIT_SIM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let budget = Duration::from_secs(secs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = audit_sim::start(config()).await.unwrap();
        println!(
            "audit-sim serve benchmark: loopback, {} worker threads, {secs} s per scenario",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );

        let t = Instant::now();
        let r = zendesk_walk(&sim, "tenant1", (START.into(), END.into()), budget).await;
        report(
            "zendesk audit logs, cursor, 100/page, 1 client",
            r,
            t.elapsed(),
        );

        let t = Instant::now();
        let windows = [
            ("2024-01-02T00:00:00Z", "2024-01-08T00:00:00Z"),
            ("2024-01-09T00:00:00Z", "2024-01-15T00:00:00Z"),
            ("2024-01-16T00:00:00Z", "2024-01-22T00:00:00Z"),
            ("2024-01-23T00:00:00Z", "2024-01-29T00:00:00Z"),
        ];
        let handles: Vec<_> = windows
            .iter()
            .enumerate()
            .map(|(k, (a, b))| {
                zendesk_walk(
                    &sim,
                    ["tenant1", "tenant2", "tenant3", "tenant4"][k],
                    (a.to_string(), b.to_string()),
                    budget,
                )
            })
            .collect();
        let r = sum(futures::future::join_all(handles).await);
        report(
            "zendesk audit logs, cursor, 100/page, 4 clients",
            r,
            t.elapsed(),
        );

        let t = Instant::now();
        let r = genesys_walk(&sim, "tenant1", budget).await;
        report("genesys query results, 500/page, 1 client", r, t.elapsed());

        let t = Instant::now();
        let handles: Vec<_> = ["tenant1", "tenant2", "tenant3", "tenant4"]
            .iter()
            .map(|t| genesys_walk(&sim, t, budget))
            .collect();
        let r = sum(futures::future::join_all(handles).await);
        report("genesys query results, 500/page, 4 clients", r, t.elapsed());

        sim.shutdown().await;
    });
}
