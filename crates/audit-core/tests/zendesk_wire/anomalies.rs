//! A vendor on a bad day (issue 13): answers that are neither a page nor an end, records
//! without a timestamp or out of order, refused cursors and oversized pages. Each ends with
//! every record exactly once, or a clear error; never a silent end.

use std::sync::{Arc, Mutex};

use audit_core::zendesk::AuditLogFilter;
use audit_core::{Error, EventPage, HttpConfig, Window};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const TICKET_AUDITS: &str = r"^/api/v2/ticket_audits(\.json)?$";

fn time(offset_seconds: i64) -> DateTime<Utc> {
    at("2024-03-18T12:00:00Z") - TimeDelta::seconds(offset_seconds)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// 300 ticket audits, newest first, one per second back from 12:00:00, ids descending.
fn audits() -> Vec<Value> {
    (0..300)
        .map(|i| ticket_audit(90_000 - i, &stamp(time(i))))
        .collect()
}

fn native_ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["id"].to_string()).collect()
}

/// `/ticket_audits` (cursor pagination) over `records`, with `anomaly` answered to the request
/// whose `page[after]` is `cursor` (priority over the normal answer).
async fn ticket_audits_with(
    records: Vec<Value>,
    anomaly: Option<(&str, ResponseTemplate, u64)>,
) -> (MockServer, Arc<Mutex<Vec<usize>>>) {
    let server = MockServer::start().await;
    let limits = Arc::new(Mutex::new(Vec::new()));
    if let Some((cursor, answer, times)) = anomaly {
        Mock::given(method("GET"))
            .and(path_regex(TICKET_AUDITS))
            .and(query_param("page[after]", cursor))
            .respond_with(answer)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(TICKET_AUDITS))
        .respond_with(FakeTicketAudits {
            records,
            base: server.uri(),
            duplicate_boundary: false,
            limits: Arc::clone(&limits),
        })
        .with_priority(5)
        .mount(&server)
        .await;
    (server, limits)
}

async fn all_ticket_audit_pages(uri: &str) -> Result<Vec<EventPage>, Error> {
    client(uri)
        .ticket_audit_events(Window::between(time(10_000), time(0)).unwrap())
        .pages()
        .try_collect()
        .await
}

fn page_ids(pages: &[EventPage]) -> Vec<String> {
    pages.iter().flat_map(|p| ids(&p.events)).collect()
}

#[tokio::test(start_paused = true)]
async fn an_answer_without_audits_in_the_middle_is_asked_again_not_the_end() {
    // Regression: `200 {}` marked the pass complete (100 of 300 audits, exit 0).
    let (server, _) = ticket_audits_with(
        audits(),
        Some((
            "100",
            ResponseTemplate::new(200).set_body_json(json!({})),
            1,
        )),
    )
    .await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&audits()));
}

#[tokio::test(start_paused = true)]
async fn an_answer_without_audits_that_persists_is_an_error_saying_what_came() {
    let (server, _) = ticket_audits_with(
        audits(),
        Some((
            "100",
            ResponseTemplate::new(200).set_body_json(json!({})),
            100,
        )),
    )
    .await;
    let error = all_ticket_audit_pages(&server.uri()).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("list_ticket_audits"), "{message}");
    assert!(message.contains("missing field `audits`"), "{message}");
    assert!(message.contains("`{}`"), "the body is quoted: {message}");
}

#[tokio::test(start_paused = true)]
async fn an_empty_page_that_still_has_a_cursor_is_followed() {
    let empty = json!({"audits": [], "meta": {"has_more": true, "after_cursor": "e100", "before_cursor": null}, "links": {"next": null, "prev": null}});
    let (server, _) = ticket_audits_with(
        audits(),
        Some(("100", ResponseTemplate::new(200).set_body_json(empty), 1)),
    )
    .await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&audits()));
}

#[tokio::test(start_paused = true)]
async fn an_empty_last_page_after_a_full_one_is_asked_again_before_it_is_believed() {
    // Regression: one empty page in the middle of the walk ended the pass (100 of 300).
    let end = json!({"audits": [], "meta": {"has_more": false, "after_cursor": null, "before_cursor": null}, "links": {"next": null, "prev": null}});
    let (server, _) = ticket_audits_with(
        audits(),
        Some(("100", ResponseTemplate::new(200).set_body_json(end), 1)),
    )
    .await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&audits()));
}

#[tokio::test(start_paused = true)]
async fn a_real_empty_last_page_is_believed_after_one_confirmation() {
    // 200 audits in pages of 100: the page at cursor 200 is empty and says nothing older.
    let records: Vec<Value> = audits().into_iter().take(200).collect();
    let end = json!({"audits": [], "meta": {"has_more": false, "after_cursor": null, "before_cursor": "200"}, "links": {"next": null, "prev": null}});
    let (server, _) = ticket_audits_with(
        records.clone(),
        Some(("200", ResponseTemplate::new(200).set_body_json(end), 100)),
    )
    .await;
    // The fake itself gives page 2 a cursor only when more records follow, so point it there.
    Mock::given(method("GET"))
        .and(path_regex(TICKET_AUDITS))
        .and(query_param("page[after]", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audits": records[100..200],
            "meta": {"has_more": true, "after_cursor": "200", "before_cursor": "100"},
            "links": {"next": null, "prev": null}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&records));
    let at_end = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.url
                .query_pairs()
                .any(|(k, v)| k == "page[after]" && v == "200")
        })
        .count();
    assert_eq!(at_end, 2, "asked once, then once more to confirm");
}

#[tokio::test(start_paused = true)]
async fn pages_of_nothing_under_new_cursors_end_in_an_error_not_a_loop() {
    // Regression: 451 requests in 20 s, forever.
    let server = MockServer::start().await;
    let counter = Arc::new(Mutex::new(0u64));
    let count = Arc::clone(&counter);
    Mock::given(method("GET"))
        .and(path_regex(TICKET_AUDITS))
        .respond_with(move |_: &wiremock::Request| {
            let mut n = count.lock().unwrap();
            *n += 1;
            ResponseTemplate::new(200).set_body_json(json!({
                "audits": [],
                "meta": {"has_more": true, "after_cursor": format!("fresh-{n}"), "before_cursor": null},
                "links": {"next": null, "prev": null}
            }))
        })
        .mount(&server)
        .await;
    let error = all_ticket_audit_pages(&server.uri()).await.unwrap_err();
    assert!(
        matches!(error, Error::NoProgress { pages: 25, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("25 pages in a row with no records"),
        "{error}"
    );
    assert_eq!(*counter.lock().unwrap(), 25);
}

#[tokio::test(start_paused = true)]
async fn an_audit_without_created_at_is_exported_where_the_vendor_put_it() {
    // Regression: `created_at: null` read as 1970, "older than since": the pass ended there
    // (499 of 1,000) and the state said complete.
    let mut records = audits();
    records[150]["created_at"] = Value::Null;
    let (server, _) = ticket_audits_with(records.clone(), None).await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&records));
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.iter()).collect();
    assert!(events[150].occurred_at_inferred);
    assert_eq!(
        events[150].occurred_at,
        time(149),
        "the time of the audit before it"
    );
    assert!(events.iter().filter(|e| e.occurred_at_inferred).count() == 1);
}

#[tokio::test(start_paused = true)]
async fn neighbours_out_of_timestamp_order_are_both_exported() {
    // Regression: the one behind was taken for a duplicate (999 of 1,000).
    let mut records = audits();
    records.swap(120, 121);
    let (server, _) = ticket_audits_with(records.clone(), None).await;
    let pages = all_ticket_audit_pages(&server.uri()).await.unwrap();
    assert_eq!(page_ids(&pages), native_ids(&records));
}

/// The 300 audits with the neighbours at `pair` swapped, walked over the window from the
/// time of the audit at `since`: its pages, how many audits the window holds, their ids in the
/// order served, and the page sizes asked for.
async fn walk_from_with_pair_swapped(
    pair: usize,
    since: i64,
) -> (Vec<EventPage>, usize, Vec<String>, Vec<usize>) {
    let mut records = audits();
    records.swap(pair, pair + 1);
    let (server, limits) = ticket_audits_with(records.clone(), None).await;
    let since = time(since);
    let pages: Vec<EventPage> = client(&server.uri())
        .ticket_audit_events(Window::between(since, time(0)).unwrap())
        .pages()
        .try_collect()
        .await
        .unwrap();
    let in_window: Vec<Value> = records
        .into_iter()
        .filter(|r| at(r["created_at"].as_str().unwrap()) >= since)
        .collect();
    let limits = limits.lock().unwrap().clone();
    (pages, in_window.len(), native_ids(&in_window), limits)
}

#[tokio::test(start_paused = true)]
async fn neighbours_out_of_order_across_the_window_start_are_both_read() {
    // Regression: the walk stopped at the first audit older than the window's start, and the
    // audit of the window the vendor placed after it was lost (exit 0).
    let (pages, in_window, ids, _) = walk_from_with_pair_swapped(150, 150).await;
    assert_eq!(in_window, 151);
    assert_eq!(page_ids(&pages), ids);
}

#[tokio::test(start_paused = true)]
async fn neighbours_out_of_order_across_a_page_and_the_window_start_are_both_read() {
    // The older of the pair last on its page, the one of the window first on the next: the
    // walk reads that next page too.
    let (pages, in_window, ids, limits) = walk_from_with_pair_swapped(99, 99).await;
    assert_eq!(limits[0], 100, "pages of 100: the pair straddles two");
    assert_eq!(in_window, 100);
    assert_eq!(page_ids(&pages), ids);
    assert_eq!(pages.len(), 2, "and no page after it");
}

#[tokio::test(start_paused = true)]
async fn a_resume_whose_cursor_was_refused_reads_the_pass_again_exactly_once() {
    // Regression: a stored legacy cursor that had expired (400) failed every rerun.
    let expired = ResponseTemplate::new(400).set_body_json(json!({
        "error": "InvalidPaginationParameter", "description": "cursor is invalid or expired"
    }));
    let (server, _) = ticket_audits_with(audits(), None).await;
    let client = client(&server.uri());
    let window = Window::between(time(10_000), time(0)).unwrap();
    let first: Vec<EventPage> = client
        .ticket_audit_events(window)
        .pages()
        .take(1)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(first[0].events.len(), 100);
    // Since then the stored cursor has expired (a fresh walk gets fresh cursors).
    Mock::given(method("GET"))
        .and(path_regex(TICKET_AUDITS))
        .and(query_param("page[after]", "100"))
        .respond_with(expired)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let resumed: Vec<EventPage> = client
        .ticket_audit_events(window)
        .resume(first[0].checkpoint.clone())
        .unwrap()
        .pages()
        .try_collect()
        .await
        .unwrap();
    let mut all = page_ids(&first);
    all.extend(page_ids(&resumed));
    assert_eq!(all, native_ids(&audits()));
}

#[tokio::test(start_paused = true)]
async fn a_cursor_refused_again_and_again_ends_in_the_vendors_error() {
    let expired = ResponseTemplate::new(400).set_body_json(json!({
        "error": "InvalidPaginationParameter", "description": "cursor is invalid or expired"
    }));
    let (server, _) = ticket_audits_with(audits(), Some(("100", expired, 1000))).await;
    let error = all_ticket_audit_pages(&server.uri()).await.unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(
        error.to_string().contains("cursor is invalid or expired"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_page_over_the_body_cap_is_asked_for_again_smaller() {
    // Regression: audits of ~200 KB made the adaptive page size grow until a page passed the
    // body cap, and every large backfill failed part-way.
    let big = "x".repeat(2_000);
    let records: Vec<Value> = audits()
        .into_iter()
        .map(|mut r| {
            r["events"][0]["value"] = Value::String(big.clone());
            r
        })
        .collect();
    let (server, limits) = ticket_audits_with(records.clone(), None).await;
    let client = builder(&server.uri())
        .http(
            HttpConfig::default()
                .with_connect_timeout(None)
                .with_request_timeout(None)
                .with_pool_idle_timeout(None)
                .with_max_body_bytes(150 * 1024),
        )
        .build()
        .unwrap();
    let pages: Vec<EventPage> = client
        .ticket_audit_events(Window::between(time(10_000), time(0)).unwrap())
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(page_ids(&pages), native_ids(&records));
    // 100 audits of ~2.3 KB pass the 150 KiB cap; 50 do not, and the size stays there.
    let limits = limits.lock().unwrap().clone();
    assert_eq!(limits[..2], [100, 50], "{limits:?}");
    assert!(limits[2..].iter().all(|&l| l == 50), "{limits:?}");
}

/// 300 audit-log records, oldest first, one per second from 10:00:00.
fn audit_logs() -> Vec<Value> {
    (0..300)
        .map(|i| {
            audit_log(
                1000 + i,
                &stamp(at("2024-03-18T10:00:00Z") + TimeDelta::seconds(i)),
            )
        })
        .collect()
}

async fn audit_logs_with(records: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(FakeAuditLogs {
            records,
            base: server.uri(),
            style: NextStyle::CursorOnly,
            duplicate_boundary: false,
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test(start_paused = true)]
async fn audit_logs_without_created_at_or_out_of_order_are_all_exported() {
    // Regression: a record with `created_at: null` was dropped, and of two neighbours out of
    // order the one behind.
    let mut records = audit_logs();
    // The fake filters by `created_at`: the null one is served within its neighbours' page.
    records[40]["created_at"] = Value::Null;
    records.swap(70, 71);
    let server = audit_logs_with(records.clone()).await;
    let window = Window::between(at("2024-03-18T09:00:00Z"), at("2024-03-18T11:00:00Z")).unwrap();
    let events: Vec<_> = client(&server.uri())
        .audit_log_events(window)
        .filter(AuditLogFilter::default())
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&events), native_ids(&records));
    assert!(events[40].occurred_at_inferred);
    assert_eq!(events[40].occurred_at, at("2024-03-18T10:00:39Z"));
}
