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

// ------------------------------------------------------------------ the vendor on a bad day

/// One raw answer: status, headers, body bytes.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn raw(request: reqwest::RequestBuilder) -> Raw {
    let r = request.send().await.expect("an answer");
    Raw {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.expect("a whole body").to_vec(),
    }
}

/// `GET` a Zendesk path (with its query) as tenant acme.
async fn zd_get(sim: &SimHandle, path_and_query: &str) -> Raw {
    let http = http_with(zendesk_headers(sim, "acme"));
    raw(http.get(format!("{}{path_and_query}", sim.zendesk_url()))).await
}

/// `GET` a whole URL as tenant acme.
async fn zd_get_url(sim: &SimHandle, url: &str) -> Raw {
    raw(http_with(zendesk_headers(sim, "acme")).get(url)).await
}

/// A config whose data ends ten minutes ago (realtime reaches the last 14 days).
fn recent(f: impl FnOnce(&mut FaultConfig)) -> SimConfig {
    let mut c = with_faults(f);
    for t in &mut c.tenants {
        t.start = "now-10d".parse().unwrap();
        t.end = "now-10m".parse().unwrap();
    }
    c.genesys.query_queued_ms = 10;
    c.genesys.query_running_ms = 10;
    c
}

/// An interval covering `start..end` with a minute's margin after it.
fn interval(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    let f = "%Y-%m-%dT%H:%M:%SZ";
    format!(
        "{}/{}",
        start.format(f),
        (end + chrono::Duration::minutes(1)).format(f)
    )
}

/// A realtime page over the whole data set as tenant acme.
async fn realtime_page(sim: &SimHandle, page_number: u64, page_size: u64) -> Raw {
    let token = genesys_token(sim, "acme").await;
    let (start, end) = sim.span("acme").unwrap();
    let body = serde_json::json!({
        "interval": interval(start, end),
        "sort": [{"name": "Timestamp", "sortOrder": "ascending"}],
        "pageNumber": page_number,
        "pageSize": page_size,
    });
    let http = http_with(bearer(&token));
    raw(http
        .post(format!(
            "{}/api/v2/audits/query/realtime",
            sim.genesys_api_url()
        ))
        .json(&body))
    .await
}

/// A finished historical query over the whole data set, and a client for its results.
async fn results_query(sim: &SimHandle) -> (String, reqwest::Client) {
    let token = genesys_token(sim, "acme").await;
    let client =
        genesys_raw::Client::new_with_client(sim.genesys_api_url(), http_with(bearer(&token)));
    let (start, end) = sim.span("acme").unwrap();
    let id = run_query(&client, query(&interval(start, end))).await;
    (id, http_with(bearer(&token)))
}

async fn results_page(
    sim: &SimHandle,
    http: &reqwest::Client,
    id: &str,
    cursor: Option<&str>,
) -> Raw {
    let mut request = http
        .get(format!(
            "{}/api/v2/audits/query/{id}/results",
            sim.genesys_api_url()
        ))
        .query(&[("pageSize", "50")]);
    if let Some(c) = cursor {
        request = request.query(&[("cursor", c)]);
    }
    raw(request).await
}

#[tokio::test]
async fn empty_envelope_answers_200_and_nothing_and_asking_again_gets_the_page() {
    let sim = start(recent(|f| f.empty_envelope = 1.0)).await;
    for path in [
        "/api/v2/audit_logs?page[size]=10&sort=created_at",
        "/api/v2/ticket_audits?limit=10",
    ] {
        let r = zd_get(&sim, path).await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]), "{path}");
    }
    let r = realtime_page(&sim, 1, 10).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    let (id, http) = results_query(&sim).await;
    let r = results_page(&sim, &http, &id, None).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    assert_eq!(sim.stats().faults_of("empty_envelope"), 4);

    // Per (request, n): the same request asked again draws again.
    let sim = start(with_faults(|f| f.empty_envelope = 0.5)).await;
    let mut empty = 0;
    for _ in 0..20 {
        let r = zd_get(&sim, "/api/v2/ticket_audits?limit=10").await;
        if r.json().as_object().unwrap().is_empty() {
            empty += 1;
        } else {
            assert_eq!(r.json()["audits"].as_array().unwrap().len(), 10);
        }
    }
    assert!((3..=17).contains(&empty), "{empty} of 20 were empty");
}

#[tokio::test]
async fn empty_page_ends_early_on_a_page_that_is_not_the_last() {
    let sim = start(recent(|f| f.empty_page = 1.0)).await;
    let logs = zd_get(&sim, "/api/v2/audit_logs?page[size]=10&sort=created_at")
        .await
        .json();
    assert_eq!(logs["audit_logs"], serde_json::json!([]));
    assert_eq!(logs["meta"]["has_more"], false);
    assert!(logs["links"]["next"].is_null());
    let audits = zd_get(&sim, "/api/v2/ticket_audits?limit=10").await.json();
    assert_eq!(audits["audits"], serde_json::json!([]));
    assert!(audits["before_cursor"].is_null() && audits["before_url"].is_null());
    let rt = realtime_page(&sim, 1, 10).await.json();
    assert_eq!(rt["entities"], serde_json::json!([]));
    assert_eq!(
        (rt["pageNumber"].as_u64(), rt["pageCount"].as_u64()),
        (Some(1), Some(1))
    );
    let (id, http) = results_query(&sim).await;
    let results = results_page(&sim, &http, &id, None).await.json();
    assert_eq!(results["entities"], serde_json::json!([]));
    assert!(results.get("cursor").is_none());

    // The last page is a real end and is left alone: one page holds every record.
    let mut c = with_faults(|f| f.empty_page = 1.0);
    c.tenants[0].zendesk.audit_logs = 40;
    let sim = start(c).await;
    let last = zd_get(&sim, "/api/v2/audit_logs?page[size]=100&sort=created_at")
        .await
        .json();
    assert_eq!(last["audit_logs"].as_array().unwrap().len(), 40);
    assert_eq!(last["meta"]["has_more"], false);
}

/// Follows `links.next` of the audit logs from the first page, at most `limit` pages; returns
/// the ids and the `after_cursor`s seen.
async fn follow_logs(sim: &SimHandle, limit: usize) -> (Vec<i64>, Vec<String>) {
    let mut url = format!(
        "{}/api/v2/audit_logs?page[size]=100&sort=created_at",
        sim.zendesk_url()
    );
    let (mut ids, mut cursors) = (vec![], vec![]);
    for _ in 0..limit {
        let page = zd_get_url(sim, &url).await.json();
        ids.extend(
            page["audit_logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        if let Some(c) = page["meta"]["after_cursor"].as_str() {
            cursors.push(c.to_string());
        }
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == true => url = next.to_string(),
            _ => break,
        }
    }
    (ids, cursors)
}

#[tokio::test]
async fn fresh_cursors_lead_nowhere_forever_at_1_and_everywhere_at_a_tenth() {
    let sim = start(with_faults(|f| f.fresh_cursor = 1.0)).await;
    let (ids, cursors) = follow_logs(&sim, 50).await;
    assert_eq!(
        ids.len(),
        100,
        "only the first page (reached without a cursor) has records"
    );
    assert_eq!(cursors.len(), 50);
    let distinct: std::collections::HashSet<&String> = cursors.iter().collect();
    assert_eq!(distinct.len(), 50, "every cursor is new");
    assert_eq!(sim.stats().faults_of("fresh_cursor"), 49);

    // The legacy ticket-audit walk and Genesys results do the same.
    let r = zd_get(&sim, "/api/v2/ticket_audits?limit=10").await.json();
    let first = r["before_url"].as_str().unwrap().to_string();
    let r = zd_get_url(&sim, &first).await.json();
    assert_eq!(r["audits"], serde_json::json!([]));
    let second = r["before_url"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let r = zd_get_url(&sim, &second).await.json();
    assert_eq!(r["audits"], serde_json::json!([]));
    assert_ne!(r["before_url"].as_str().unwrap(), second);

    let sim = start(with_faults(|f| f.fresh_cursor = 0.1)).await;
    let (ids, _) = follow_logs(&sim, 1000).await;
    let truth = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::ZendeskAuditLogs,
            at(START),
            at(END),
        )
        .unwrap();
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    assert_eq!(
        ids, truth,
        "following fresh cursors at 0.1 reaches every record"
    );
    assert!(sim.stats().faults_of("fresh_cursor") > 0);
}

#[tokio::test]
async fn fresh_cursors_of_genesys_results_lead_back_to_the_same_page() {
    let sim = start(recent(|f| f.fresh_cursor = 1.0)).await;
    let (id, http) = results_query(&sim).await;
    let first = results_page(&sim, &http, &id, None).await.json();
    assert_eq!(first["entities"].as_array().unwrap().len(), 50);
    let mut cursor = first["cursor"].as_str().unwrap().to_string();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        let page = results_page(&sim, &http, &id, Some(&cursor)).await.json();
        assert_eq!(page["entities"], serde_json::json!([]));
        cursor = page["cursor"].as_str().unwrap().to_string();
        assert!(seen.insert(cursor.clone()), "a new cursor every time");
    }
}

#[tokio::test]
async fn null_timestamps_are_per_record_and_keep_the_record_in_place() {
    let sim = start(recent(|f| f.null_timestamp = 0.2)).await;
    let (ids, _) = follow_logs(&sim, 100).await;
    let (start_, end) = sim.span("acme").unwrap();
    let truth = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::ZendeskAuditLogs,
            start_,
            end + chrono::Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(ids.iter().map(i64::to_string).collect::<Vec<_>>(), truth);
    let page = zd_get(&sim, "/api/v2/audit_logs?page[size]=100&sort=created_at")
        .await
        .json();
    let nulls: Vec<i64> = page["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["created_at"].is_null())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!((8..=35).contains(&nulls.len()), "{} of 100", nulls.len());
    // The same record renders the same wherever it is read.
    let shown = zd_get(&sim, &format!("/api/v2/audit_logs/{}", nulls[0]))
        .await
        .json();
    assert!(shown["audit_log"]["created_at"].is_null());
    let audits = zd_get(&sim, "/api/v2/ticket_audits?limit=200").await.json();
    assert!(
        audits["audits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["created_at"].is_null())
    );

    let rt = realtime_page(&sim, 1, 200).await.json();
    let entities = rt["entities"].as_array().unwrap();
    let missing = entities
        .iter()
        .filter(|e| e.get("eventDate").is_none())
        .count();
    assert!(
        (15..=70).contains(&missing),
        "{missing} of {}",
        entities.len()
    );
    let again = realtime_page(&sim, 1, 200).await.json();
    assert_eq!(
        rt["entities"], again["entities"],
        "per record, not per request"
    );
}

#[tokio::test]
async fn out_of_order_swaps_two_neighbours_of_a_page() {
    let sim = start(recent(|f| f.out_of_order = 1.0)).await;
    let page = zd_get(&sim, "/api/v2/audit_logs?page[size]=100&sort=created_at")
        .await
        .json();
    let times: Vec<&str> = page["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_at"].as_str().unwrap())
        .collect();
    let backwards = times.windows(2).filter(|w| w[1] < w[0]).count();
    assert_eq!(
        backwards, 1,
        "exactly one neighbour is older than the record before it"
    );
    let rt = realtime_page(&sim, 1, 100).await.json();
    // Genesys leaves out zero milliseconds: compare instants, not text.
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = rt["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| chrono::DateTime::parse_from_rfc3339(r["eventDate"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(times.windows(2).filter(|w| w[1] < w[0]).count(), 1);
    let audits = zd_get(&sim, "/api/v2/ticket_audits?limit=100").await.json();
    let times: Vec<&str> = audits["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        times.windows(2).filter(|w| w[1] > w[0]).count(),
        1,
        "newest first, one pair the other way"
    );
}

/// The positions of a page's records that are not JSON objects, each with its value.
fn not_objects(records: &serde_json::Value) -> Vec<(usize, serde_json::Value)> {
    records
        .as_array()
        .expect("a list of records")
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_object())
        .map(|(k, r)| (k, r.clone()))
        .collect()
}

#[tokio::test]
async fn non_object_record_makes_one_record_of_a_page_the_number_5() {
    let sim = start(recent(|f| f.non_object_record = 1.0)).await;
    let (start_, _) = sim.span("acme").unwrap();
    let zendesk = [
        (
            "/api/v2/audit_logs?page[size]=100&sort=created_at",
            "audit_logs",
        ),
        ("/api/v2/audit_logs?per_page=100", "audit_logs"),
        ("/api/v2/ticket_audits?page[size]=100", "audits"),
        ("/api/v2/ticket_audits?limit=100", "audits"),
        (
            &format!(
                "/api/v2/incremental/ticket_events?start_time={}",
                start_.timestamp()
            ),
            "ticket_events",
        ),
    ];
    let mut faulted = 0;
    for (path, key) in zendesk {
        let page = zd_get(&sim, path).await.json();
        let odd = not_objects(&page[key]);
        assert_eq!(odd.len(), 1, "{path}: one record is not an object: {odd:?}");
        assert_eq!(odd[0].1, serde_json::json!(5), "{path}");
        assert!(
            page[key].as_array().unwrap().len() > 1,
            "{path}: the rest is there"
        );
        faulted += 1;
    }
    let rt = realtime_page(&sim, 1, 100).await.json();
    assert_eq!(not_objects(&rt["entities"]).len(), 1);
    let (id, http) = results_query(&sim).await;
    let results = results_page(&sim, &http, &id, None).await.json();
    assert_eq!(not_objects(&results["entities"]).len(), 1);
    // A page too large to be answered inline is in the file a redirect names, and so is
    // the number.
    let redirect = raw(http
        .get(format!(
            "{}/api/v2/audits/query/{id}/results",
            sim.genesys_api_url()
        ))
        .query(&[("pageSize", "200"), ("allowRedirect", "true")]))
    .await;
    assert_eq!(redirect.status, 302);
    let url = redirect.json()["downloadUrl"].as_str().unwrap().to_string();
    let file = raw(reqwest::Client::new().get(&url)).await;
    let file: serde_json::Value = serde_json::from_slice(&file.body).unwrap();
    assert_eq!(not_objects(&file).len(), 1, "the downloaded page");
    assert_eq!(sim.stats().faults_of("non_object_record"), faulted + 3);

    // Per (request, n): asking again draws again, and the position follows the draw.
    let sim = start(recent(|f| f.non_object_record = 0.5)).await;
    let mut positions = std::collections::HashSet::new();
    let mut clean = 0;
    for _ in 0..20 {
        let page = zd_get(&sim, "/api/v2/ticket_audits?page[size]=100")
            .await
            .json();
        match not_objects(&page["audits"]).as_slice() {
            [] => clean += 1,
            [(at, _)] => {
                positions.insert(*at);
            }
            more => panic!("{more:?}"),
        }
    }
    assert!((3..=17).contains(&clean), "{clean} of 20 were whole");
    assert!(positions.len() > 1, "{positions:?}");
}

#[tokio::test]
async fn ascending_page_serves_a_ticket_audit_page_oldest_first() {
    let clean = start(recent(|_| {})).await;
    let sim = start(recent(|f| f.ascending_page = 1.0)).await;
    let times = |page: &serde_json::Value, key: &str| -> Vec<String> {
        page[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["created_at"].as_str().unwrap().to_string())
            .collect()
    };
    let ids = |page: &serde_json::Value, key: &str| -> Vec<i64> {
        page[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    for path in [
        "/api/v2/ticket_audits?page[size]=100",
        "/api/v2/ticket_audits?limit=100",
    ] {
        let page = zd_get(&sim, path).await.json();
        let expected = zd_get(&clean, path).await.json();
        let t = times(&page, "audits");
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{path}: oldest first");
        assert!(t.first() < t.last(), "{path}: and it shows");
        let mut reversed = ids(&expected, "audits");
        reversed.reverse();
        assert_eq!(ids(&page, "audits"), reversed, "{path}: the same records");
        // The cursors are those of the page as it should have been: the next page is the
        // same.
        for cursor in ["meta", "before_cursor", "after_cursor"] {
            assert_eq!(page[cursor], expected[cursor], "{path}: {cursor}");
        }
    }
    assert_eq!(sim.stats().faults_of("ascending_page"), 2);
    // Only `/ticket_audits`: the audit logs read as asked.
    let logs = zd_get(&sim, "/api/v2/audit_logs?page[size]=100")
        .await
        .json();
    let t = times(&logs, "audit_logs");
    assert!(
        t.windows(2).all(|w| w[0] >= w[1]),
        "audit logs newest first"
    );
    assert_eq!(sim.stats().faults_of("ascending_page"), 2);
}

#[tokio::test]
async fn sticky_page_attempts_keep_a_page_wrong_for_its_first_asks_only() {
    let sim = start(recent(|f| {
        f.non_object_record = 0.3;
        f.sticky_page_attempts = 3;
    }))
    .await;
    let (mut sticky, mut spared) = (0, 0);
    for size in 1..=30 {
        let path = format!("/api/v2/audit_logs?page[size]={size}&sort=created_at");
        let mut hit = vec![];
        for _ in 0..6 {
            let page = zd_get(&sim, &path).await.json();
            hit.push(!not_objects(&page["audit_logs"]).is_empty());
        }
        match hit.as_slice() {
            [true, true, true, false, false, false] => sticky += 1,
            [false, false, false, false, false, false] => spared += 1,
            other => panic!("{path}: {other:?}"),
        }
    }
    assert!(
        sticky >= 3 && spared >= 10,
        "{sticky} sticky, {spared} spared"
    );
    assert_eq!(sim.stats().faults_of("non_object_record"), 3 * sticky);
}

#[tokio::test]
async fn huge_rate_limit_resets_and_retry_after_dates_in_the_past() {
    let sim = start(recent(|f| f.huge_rate_limit_reset = 1.0)).await;
    let r = zd_get(&sim, "/api/v2/audit_logs?page[size]=10").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-reset"), Some("86400"));
    let r = realtime_page(&sim, 1, 10).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("inin-ratelimit-reset"), Some("86400"));
    assert_eq!(
        r.header("inin-ratelimit-count"),
        r.header("inin-ratelimit-allowed")
    );

    let sim = start(recent(|f| f.retry_after_past_date = 1.0)).await;
    for r in [
        zd_get(&sim, "/api/v2/audit_logs?page[size]=10").await,
        realtime_page(&sim, 1, 10).await,
    ] {
        assert_eq!(r.status, 429);
        let date = chrono::DateTime::parse_from_rfc2822(r.header("retry-after").unwrap())
            .expect("an HTTP date");
        assert!(date < chrono::Utc::now() - chrono::Duration::minutes(30));
    }

    // With a window, every request for a while after one meets it too.
    let mut c = with_faults(|f| f.retry_after_past_date = 0.2);
    c.faults.retry_after_past_date_window_ms = 800;
    let sim = start(c).await;
    let z = &sim.sim().tenants[0].zendesk;
    let mut i = 0;
    while zd_get(&sim, &format!("/api/v2/audit_logs/{}", z.log_id(i)))
        .await
        .status
        != 429
    {
        i += 1;
    }
    for k in 1..=5 {
        let r = zd_get(&sim, &format!("/api/v2/audit_logs/{}", z.log_id(i + k))).await;
        assert_eq!(r.status, 429, "within the window");
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut ok = 0;
    for k in 6..=10 {
        let r = zd_get(&sim, &format!("/api/v2/audit_logs/{}", z.log_id(i + k))).await;
        ok += usize::from(r.status == 200);
    }
    assert!(ok > 0, "after the window, requests go through again");
}

#[tokio::test]
async fn ticket_audit_cursors_expire_after_their_ttl() {
    let mut c = with_faults(|_| {});
    c.zendesk.cursor_ttl_secs = 1;
    let sim = start(c).await;
    let first = zd_get(&sim, "/api/v2/ticket_audits?limit=10").await.json();
    let next = first["before_url"].as_str().unwrap().to_string();
    assert_eq!(
        zd_get_url(&sim, &next).await.status,
        200,
        "a young cursor works"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let r = zd_get_url(&sim, &next).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "InvalidPaginationParameter");
    assert_eq!(sim.stats().faults_of("expired_cursor"), 1);
    // A fresh walk gets fresh cursors.
    let again = zd_get(&sim, "/api/v2/ticket_audits?limit=10").await.json();
    assert_eq!(again["audits"], first["audits"]);
    let fresh = again["before_url"].as_str().unwrap();
    assert_eq!(zd_get_url(&sim, fresh).await.status, 200);
}

#[tokio::test]
async fn large_records_carry_a_comment_of_the_configured_size() {
    let sim = start(with_faults(|f| f.large_records = 1.0)).await;
    let r = zd_get(&sim, "/api/v2/ticket_audits?limit=5").await;
    assert!(r.body.len() > 5 * 200_000, "{} bytes", r.body.len());
    for audit in r.json()["audits"].as_array().unwrap() {
        let biggest = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["body"].as_str())
            .map(str::len)
            .max()
            .unwrap();
        assert_eq!(biggest, 200_000);
    }
}

#[tokio::test]
async fn records_the_decoder_refuses() {
    let page = "/api/v2/audit_logs?page[size]=20&sort=created_at";
    // A lone surrogate: legal JSON text that cannot become a Rust string.
    let sim = start(with_faults(|f| f.lone_surrogate = 1.0)).await;
    let r = zd_get(&sim, page).await;
    let text = std::str::from_utf8(&r.body).unwrap();
    assert_eq!(text.matches("\"actor_name\":\"\\ud800").count(), 20);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());

    // Raw bytes that are not UTF-8 inside a string.
    let sim = start(recent(|f| f.invalid_utf8 = 1.0)).await;
    let r = zd_get(&sim, page).await;
    assert!(std::str::from_utf8(&r.body).is_err());
    assert_eq!(r.body.windows(2).filter(|w| *w == [0xff, 0xfe]).count(), 20);
    let rt = realtime_page(&sim, 1, 5).await;
    assert!(std::str::from_utf8(&rt.body).is_err());

    // A number beyond f64 in an unknown field.
    let sim = start(with_faults(|f| f.huge_number = 1.0)).await;
    let r = zd_get(&sim, page).await;
    assert_eq!(
        std::str::from_utf8(&r.body)
            .unwrap()
            .matches("\"x_score\":1e400")
            .count(),
        20
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());

    // An id beyond i64: the ground truth names it as the vendor wrote it.
    let sim = start(with_faults(|f| f.big_id = 0.5)).await;
    let r = zd_get(&sim, "/api/v2/audit_logs?page[size]=100&sort=created_at").await;
    let text = std::str::from_utf8(&r.body).unwrap();
    let truth = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::ZendeskAuditLogs,
            at(START),
            at(END),
        )
        .unwrap();
    let big: Vec<&String> = truth[..100].iter().filter(|id| id.len() > 19).collect();
    assert!((25..=75).contains(&big.len()), "{} of 100", big.len());
    for id in &big {
        assert!(id.parse::<u128>().unwrap() > u64::MAX as u128);
        assert!(
            text.contains(&format!("\"id\":{id},")),
            "{id} is in the page"
        );
    }
    assert_eq!(sim.stats().faults_of("big_id") as usize, big.len());
}

#[tokio::test]
async fn realtime_may_ignore_page_size_and_leave_out_page_count() {
    let sim = start(recent(|f| f.realtime_ignores_page_size = 1.0)).await;
    let r = realtime_page(&sim, 1, 100).await.json();
    assert_eq!(r["entities"].as_array().unwrap().len(), 25);
    assert_eq!(r["pageSize"], 25);
    assert!(r.get("pageCount").is_none());
    let page2 = realtime_page(&sim, 2, 100).await.json();
    let truth_first_50: Vec<String> = r["entities"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["entities"].as_array().unwrap())
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let (start_, end) = sim.span("acme").unwrap();
    let truth = sim
        .ground_truth(
            "acme",
            audit_sim::Stream::GenesysRealtime { service: None },
            start_,
            end + chrono::Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(truth_first_50, truth[..50].to_vec());
}

#[tokio::test]
async fn an_outage_takes_one_vendor_down_until_it_is_lifted() {
    let sim = start(config()).await;
    let z = &sim.sim().tenants[0].zendesk;
    let http = http_with(zendesk_headers(&sim, "acme"));
    let url = format!("{}/api/v2/audit_logs/{}", sim.zendesk_url(), z.log_id(0));
    let control = |query: &str| format!("{}/_sim/outage?{query}", sim.zendesk_url());
    let plain = reqwest::Client::new();
    let set = plain
        .get(control("vendor=zendesk&mode=error"))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 500);
    // The other vendor is up (its token endpoint answers).
    assert!(!genesys_token(&sim, "acme").await.is_empty());

    plain
        .get(control("vendor=zendesk&mode=html"))
        .send()
        .await
        .unwrap();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().starts_with("<!DOCTYPE html>"));

    plain
        .get(control("vendor=zendesk&mode=reset"))
        .send()
        .await
        .unwrap();
    assert!(
        http.get(&url).send().await.is_err(),
        "the connection is dropped"
    );

    plain
        .get(control("vendor=zendesk&mode=hang"))
        .send()
        .await
        .unwrap();
    let held = http
        .get(&url)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(held.unwrap_err().is_timeout(), "no answer while it hangs");

    plain.get(control("mode=off")).send().await.unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let refused = plain.get(control("mode=sometimes")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
}

/// `spare_submissions` keeps the faults of unknown outcome (here a 502 on every request) off
/// the Genesys query submission, and only off it: the realtime query, a POST that only reads,
/// still meets them.
#[tokio::test]
async fn submissions_are_spared_faults_of_unknown_outcome_only_when_asked() {
    for spare in [false, true] {
        let sim = start(with_faults(|f| {
            f.status_502 = 1.0;
            f.spare_submissions = spare;
        }))
        .await;
        let token = genesys_token(&sim, "acme").await;
        let (_, end) = sim.span("acme").unwrap();
        let body = serde_json::json!({
            "interval": interval(end - chrono::Duration::days(3), end),
            "serviceName": "Architect",
        });
        let http = http_with(bearer(&token));
        let submitted = raw(http
            .post(format!("{}/api/v2/audits/query", sim.genesys_api_url()))
            .json(&body))
        .await;
        let expected: &[u16] = if spare { &[200, 202] } else { &[502] };
        assert!(
            expected.contains(&submitted.status),
            "spare {spare}: the submission was answered {}",
            submitted.status
        );
        assert_eq!(
            realtime_page(&sim, 1, 10).await.status,
            502,
            "spare {spare}"
        );
    }
}
