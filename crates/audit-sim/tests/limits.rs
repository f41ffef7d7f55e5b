//! Rate limits (per tenant, per vendor, fixed windows) with the vendors' headers, and the
//! audit-log export's own limit of one per minute.

mod common;

use std::time::Duration;

use audit_sim::{RateLimitConfig, TenantConfig};
use common::*;

#[tokio::test]
async fn zendesk_rate_limit_headers_and_429() {
    let mut c = config();
    c.zendesk.rate_limit = RateLimitConfig {
        requests: 5,
        window_secs: 86_400,
    };
    c.tenants.push(TenantConfig::named("other", 2));
    let sim = start(c).await;
    let http = http_with(zendesk_headers(&sim, "acme"));
    let url = format!("{}/api/v2/audit_logs?per_page=1", sim.zendesk_url());
    for k in 1..=5u32 {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["x-rate-limit"], "5");
        assert_eq!(h["ratelimit-limit"], "5");
        assert_eq!(h["x-rate-limit-remaining"], (5 - k).to_string().as_str());
        assert_eq!(h["ratelimit-remaining"], (5 - k).to_string().as_str());
        let reset: u64 = h["ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&reset));
    }
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry));
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "APIRateLimitExceeded");
    // Another tenant has its own budget.
    let other = http_with(zendesk_headers(&sim, "other"));
    assert_eq!(other.get(&url).send().await.unwrap().status(), 200);
    let stats = sim.stats();
    assert_eq!(stats.rate_limited.get("acme/zendesk"), Some(&1));
    let window = stats.windows.iter().find(|w| w.tenant == "acme").unwrap();
    assert_eq!((window.requests, window.limited), (6, 1));
}

#[tokio::test]
async fn genesys_rate_limit_headers_and_429_with_or_without_retry_after() {
    for omit in [false, true] {
        let mut c = config();
        c.genesys.rate_limit = RateLimitConfig {
            requests: 3,
            window_secs: 86_400,
        };
        c.genesys.omit_retry_after = omit;
        let sim = start(c).await;
        let token = genesys_token(&sim, "acme").await;
        let http = http_with(bearer(&token));
        let url = format!(
            "{}/api/v2/audits/query/servicemapping",
            sim.genesys_api_url()
        );
        for k in 1..=3 {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
            assert_eq!(r.headers()["inin-ratelimit-count"], k.to_string().as_str());
            assert!(r.headers().contains_key("inin-ratelimit-reset"));
            assert!(r.headers().contains_key("inin-correlation-id"));
        }
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().contains_key("retry-after"), !omit);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "too.many.requests.retry.after");
        let message = body["message"].as_str().unwrap();
        let n: u64 = message
            .split('[')
            .nth(1)
            .unwrap()
            .split(']')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=86_400).contains(&n), "{message}");
        // The token endpoint is not rate limited.
        genesys_token(&sim, "acme").await;
    }
}

#[tokio::test]
async fn limits_are_off_by_default_and_send_no_headers() {
    let sim = start(config()).await;
    let http = http_with(zendesk_headers(&sim, "acme"));
    for _ in 0..50 {
        let r = http
            .get(format!(
                "{}/api/v2/audit_logs?per_page=1",
                sim.zendesk_url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key("x-rate-limit"));
    }
}

#[tokio::test]
async fn export_is_limited_to_one_per_interval() {
    let mut c = config();
    c.zendesk.export_interval_secs = 1;
    let sim = start(c).await;
    let zd = zendesk(&sim, "acme");
    assert_eq!(
        zd.export_audit_logs()
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    let err = zd
        .export_audit_logs()
        .filter_action(vec!["login".to_string()])
        .send()
        .await
        .unwrap_err();
    let zendesk_raw::Error::ErrorResponse(r) = err else {
        panic!("expected a 429, got {err:?}")
    };
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers()["zendesk-ratelimit-audit-logs-export"],
        "total=1; remaining=0; resets=1"
    );
    assert_eq!(r.headers()["retry-after"], "1");
    let body = r.into_inner();
    assert_eq!(
        body.errors.unwrap()[0].detail.as_deref(),
        Some("Rate limit for Audit log CSV Export exceeded. Please wait 1 minute and try again.")
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(
        zd.export_audit_logs()
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    assert_eq!(sim.stats().export_limited, 1);
}

#[tokio::test]
async fn control_endpoints_serve_stats_and_ground_truth() {
    let sim = start(config()).await;
    let zd = zendesk(&sim, "acme");
    zd.list_audit_logs().per_page(3).send().await.unwrap();
    let stats: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.genesys_api_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["zendesk.ListAuditLogs"], 1);
    assert_eq!(stats["records"], 3);
    let url = format!(
        "{}/_sim/ground-truth?tenant=acme&stream=zendesk-ticket-audits&since={}&until={}",
        sim.zendesk_url(),
        START.replace(':', "%3A"),
        END.replace(':', "%3A")
    );
    let truth: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let expected = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::ZendeskTicketAudits,
            at(START),
            at(END),
        )
        .unwrap();
    assert_eq!(truth["ids"], serde_json::json!(expected));
    assert_eq!(
        sim.stats().requests.len(),
        1,
        "control requests are not counted"
    );
}

#[tokio::test]
async fn faults_reach_the_token_endpoint_only_when_asked() {
    for apply in [false, true] {
        let mut c = config();
        c.faults.status_503 = 1.0;
        c.faults.apply_to_login = apply;
        let sim = start(c).await;
        let creds = sim.tenant_credentials("acme").unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/oauth/token", sim.genesys_login_url()))
            .basic_auth(&creds.genesys_client_id, Some(&creds.genesys_client_secret))
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), if apply { 503 } else { 200 });
    }
}
