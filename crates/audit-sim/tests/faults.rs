//! Every fault kind fires at its configured rate (within a stated tolerance) and identically
//! for the same seed.
//!
//! Tolerance: each test makes N >= 400 independent decisions at rate r = 0.25 and accepts an
//! observed rate within ±0.08 of r (about 3.7 standard deviations of a binomial proportion,
//! sqrt(r(1-r)/N) ≈ 0.022). Decisions are a pure function of the seed, so for a given seed
//! the outcome never changes from run to run: these tests cannot be flaky, only wrong.

mod common;

use std::time::{Duration, Instant};

use audit_sim::{FaultConfig, SimConfig, SimHandle};
use common::*;

const RATE: f64 = 0.25;
const TOLERANCE: f64 = 0.08;
const N: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Status(u16, Option<String>),
    Reset,
    Truncated,
}

fn with_faults(f: impl FnOnce(&mut FaultConfig)) -> SimConfig {
    let mut c = config();
    c.faults.seed = 4242;
    f(&mut c.faults);
    c
}

/// GETs N distinct audit-log records and classifies the answers.
async fn show_many(sim: &SimHandle, n: usize) -> Vec<(Outcome, Duration)> {
    let z = &sim.sim().tenants[0].zendesk;
    let http = http_with(zendesk_headers(sim, "acme"));
    let mut out = vec![];
    for i in 0..n as u64 {
        let url = format!("{}/api/v2/audit_logs/{}", sim.zendesk_url(), z.log_id(i));
        let started = Instant::now();
        let outcome = match http.get(&url).send().await {
            Err(_) => Outcome::Reset,
            Ok(r) if r.status() == 200 => match r.bytes().await {
                Ok(b) => {
                    serde_json::from_slice::<serde_json::Value>(&b)
                        .expect("a complete body is JSON");
                    Outcome::Ok
                }
                Err(_) => Outcome::Truncated,
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let ct = r
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string());
                let retry = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let _ = r.bytes().await;
                Outcome::Status(status, ct.map(|c| format!("{c};retry-after={retry:?}")))
            }
        };
        out.push((outcome, started.elapsed()));
    }
    out
}

fn assert_rate(kind: &str, hits: usize, n: usize) {
    let rate = hits as f64 / n as f64;
    assert!(
        (rate - RATE).abs() <= TOLERANCE,
        "{kind}: observed {rate:.3} over {n}, configured {RATE}"
    );
}

#[tokio::test]
async fn status_faults_fire_at_their_rate() {
    type Setter = fn(&mut FaultConfig);
    let kinds: [(&str, u16, Setter); 5] = [
        ("status_429", 429, |f| f.status_429 = RATE),
        ("status_500", 500, |f| f.status_500 = RATE),
        ("status_502", 502, |f| f.status_502 = RATE),
        ("status_503", 503, |f| f.status_503 = RATE),
        ("status_504", 504, |f| f.status_504 = RATE),
    ];
    for (kind, status, set) in kinds {
        let sim = start(with_faults(set)).await;
        let outcomes = show_many(&sim, N).await;
        let hits: Vec<&Outcome> = outcomes
            .iter()
            .map(|(o, _)| o)
            .filter(|o| matches!(o, Outcome::Status(s, _) if *s == status))
            .collect();
        assert_rate(kind, hits.len(), N);
        assert!(
            outcomes.iter().all(|(o, _)| matches!(o, Outcome::Ok)
                || matches!(o, Outcome::Status(s, _) if *s == status))
        );
        for h in &hits {
            let Outcome::Status(_, Some(detail)) = h else {
                panic!("{h:?}")
            };
            match status {
                429 | 503 => assert!(
                    detail.contains("application/json") && detail.contains("Some(\"1\")"),
                    "{kind}: {detail}"
                ),
                502 | 504 => assert!(detail.starts_with("text/html"), "{kind}: {detail}"),
                _ => assert!(detail.contains("application/json"), "{kind}: {detail}"),
            }
        }
        let stats = sim.stats();
        assert_eq!(stats.faults_of(kind), hits.len() as u64);
        assert_eq!(stats.opportunities_of(kind), N as u64);
    }
}

#[tokio::test]
async fn connection_faults_fire_at_their_rate() {
    let sim = start(with_faults(|f| f.connection_reset = RATE)).await;
    let outcomes = show_many(&sim, N).await;
    let resets = outcomes
        .iter()
        .filter(|(o, _)| *o == Outcome::Reset)
        .count();
    assert_rate("connection_reset", resets, N);
    assert_eq!(sim.stats().faults_of("connection_reset"), resets as u64);

    let sim = start(with_faults(|f| f.truncated_body = RATE)).await;
    let outcomes = show_many(&sim, N).await;
    let cut = outcomes
        .iter()
        .filter(|(o, _)| *o == Outcome::Truncated)
        .count();
    assert_rate("truncated_body", cut, N);
    assert_eq!(sim.stats().faults_of("truncated_body"), cut as u64);
    assert!(
        outcomes
            .iter()
            .all(|(o, _)| matches!(o, Outcome::Ok | Outcome::Truncated))
    );
}

#[tokio::test]
async fn slow_responses_and_page_latency() {
    let sim = start(with_faults(|f| {
        f.slow_response = RATE;
        f.slow_response_ms = 30;
    }))
    .await;
    let outcomes = show_many(&sim, N).await;
    let slow = outcomes
        .iter()
        .filter(|(_, d)| *d >= Duration::from_millis(30))
        .count();
    assert_rate("slow_response", slow, N);
    assert_eq!(sim.stats().faults_of("slow_response"), slow as u64);

    // page_latency: every list page, never a single-record read.
    let sim = start(with_faults(|f| f.page_latency_ms = 40)).await;
    let zd = zendesk(&sim, "acme");
    for _ in 0..3 {
        let t = Instant::now();
        zd.list_audit_logs().per_page(5).send().await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(40));
    }
    let t = Instant::now();
    zd.show_audit_log()
        .audit_log_id(sim.sim().tenants[0].zendesk.log_id(1))
        .send()
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_millis(40));
    assert_eq!(sim.stats().faults_of("page_latency"), 3);
}

#[tokio::test]
async fn expired_token_fires_at_its_rate_on_genesys_only() {
    let sim = start(with_faults(|f| f.expired_token = RATE)).await;
    let token = genesys_token(&sim, "acme").await;
    let http = http_with(bearer(&token));
    let mut expired = 0;
    for k in 0..N {
        let r = http
            .get(format!(
                "{}/api/v2/audits/query/servicemapping?probe={k}",
                sim.genesys_api_url()
            ))
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "bad.credentials");
            expired += 1;
        } else {
            assert_eq!(r.status(), 200);
        }
    }
    assert_rate("expired_token", expired, N);
    // Zendesk never gets it.
    let outcomes = show_many(&sim, 100).await;
    assert!(outcomes.iter().all(|(o, _)| *o == Outcome::Ok));
}

/// Walks the audit logs with a cursor, 3 per page, retrying a page whose cursor repeats.
async fn walk_pages(sim: &SimHandle) -> (usize, usize, usize, usize, Vec<i64>) {
    let zd = zendesk(sim, "acme");
    let (mut cursor_pages, mut duplicated, mut requests_with_cursor, mut repeated) = (0, 0, 0, 0);
    let mut ids: Vec<i64> = vec![];
    let mut after: Option<String> = None;
    let mut last_of_previous: Option<i64> = None;
    loop {
        let mut req = zd.list_audit_logs().page_size(3).sort("created_at");
        if let Some(a) = &after {
            req = req.page_after(a.clone());
            requests_with_cursor += 1;
        }
        let page = req.send().await.unwrap().into_inner();
        let page_ids: Vec<i64> = page.audit_logs.iter().map(|r| r.id.unwrap()).collect();
        let meta = page.meta.unwrap();
        if after.is_some() && meta.after_cursor == after {
            repeated += 1;
            continue; // the same request again: it draws again
        }
        if after.is_some() {
            cursor_pages += 1;
            if page_ids.first().copied() == last_of_previous {
                duplicated += 1;
                ids.extend(&page_ids[1..]);
            } else {
                ids.extend(&page_ids);
            }
        } else {
            ids.extend(&page_ids);
        }
        last_of_previous = page_ids.last().copied();
        if !meta.has_more.unwrap() {
            break;
        }
        after = meta.after_cursor;
    }
    (
        cursor_pages,
        duplicated,
        requests_with_cursor,
        repeated,
        ids,
    )
}

#[tokio::test]
async fn page_faults_fire_at_their_rate() {
    let sim = start(with_faults(|f| f.duplicate_across_pages = RATE)).await;
    let (pages, duplicated, _, repeated, ids) = walk_pages(&sim).await;
    assert!(pages >= N);
    assert_eq!(repeated, 0);
    assert_rate("duplicate_across_pages", duplicated, pages);
    let stats = sim.stats();
    assert_eq!(stats.faults_of("duplicate_across_pages"), duplicated as u64);
    assert_eq!(
        stats.opportunities_of("duplicate_across_pages"),
        pages as u64
    );
    let truth = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::ZendeskAuditLogs,
            at(START),
            at(END),
        )
        .unwrap();
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        ids, truth,
        "dropping the repeated first records gives the stream back"
    );

    let sim = start(with_faults(|f| f.repeated_cursor = RATE)).await;
    let (_, duplicated, requests, repeated, ids) = walk_pages(&sim).await;
    assert_eq!(duplicated, 0);
    assert!(requests >= N);
    assert_rate("repeated_cursor", repeated, requests);
    assert_eq!(sim.stats().faults_of("repeated_cursor"), repeated as u64);
    assert_eq!(
        ids.len(),
        truth.len(),
        "retrying a repeated cursor eventually moves on"
    );
}

fn everything(seed: u64) -> SimConfig {
    let mut c = with_faults(|f| {
        f.status_429 = 0.05;
        f.status_500 = 0.05;
        f.status_502 = 0.05;
        f.status_503 = 0.05;
        f.status_504 = 0.05;
        f.connection_reset = 0.05;
        f.truncated_body = 0.05;
    });
    c.faults.seed = seed;
    c
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let run = |seed: u64| async move {
        let sim = start(everything(seed)).await;
        let outcomes: Vec<Outcome> = show_many(&sim, 300)
            .await
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        (outcomes, sim.stats().faults)
    };
    let (a, stats_a) = run(7).await;
    let (b, stats_b) = run(7).await;
    let (c, _) = run(8).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_eq!(stats_a, stats_b);
    assert_ne!(a, c, "another seed, other faults");
    assert!(a.iter().filter(|o| **o != Outcome::Ok).count() > 30);
}

#[tokio::test]
async fn a_retried_request_eventually_goes_through() {
    let sim = start(with_faults(|f| f.status_500 = 0.5)).await;
    let zd = zendesk(&sim, "acme");
    let mut tries = vec![];
    for i in 0..40 {
        let id = sim.sim().tenants[0].zendesk.log_id(i);
        let mut n = 1;
        while zd.show_audit_log().audit_log_id(id).send().await.is_err() {
            n += 1;
            assert!(n < 40, "request {i} never went through");
        }
        tries.push(n);
    }
    assert!(tries.iter().any(|n| *n > 1) && tries.contains(&1));
}
