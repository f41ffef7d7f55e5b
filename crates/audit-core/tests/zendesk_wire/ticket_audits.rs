//! The ticket-audit streams and operations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_core::zendesk::{AuditsForTicketQuery, ZendeskClient};
use audit_core::{Checkpoint, Error, EventPage, PageSizePolicy, Position, Window};
use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const LIST_PATH: &str = r"^/api/v2/ticket_audits(\.json)?$";

fn time(offset_seconds: i64) -> DateTime<Utc> {
    at("2024-03-18T12:00:00Z") - TimeDelta::seconds(offset_seconds)
}

/// 300 audits, newest first: two per second going back from 12:00:00, ids descending.
fn records() -> Vec<Value> {
    (0..300)
        .map(|i| {
            ticket_audit(
                90_000 - i,
                &time(i / 2).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
        })
        .collect()
}

async fn serve(
    records: Vec<Value>,
    duplicate_boundary: bool,
) -> (MockServer, Arc<Mutex<Vec<usize>>>) {
    let server = MockServer::start().await;
    let limits = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path_regex(LIST_PATH))
        .respond_with(FakeTicketAudits {
            records,
            base: server.uri(),
            duplicate_boundary,
            limits: Arc::clone(&limits),
        })
        .with_priority(5)
        .mount(&server)
        .await;
    (server, limits)
}

/// The ids of `records` whose time lies in [since, until], in the vendor's order.
fn expected(records: &[Value], since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    records
        .iter()
        .filter(|r| {
            let t: DateTime<Utc> = r["created_at"].as_str().unwrap().parse().unwrap();
            t >= since && t <= until
        })
        .map(|r| r["id"].to_string())
        .collect()
}

async fn pages(client: &ZendeskClient, window: Window) -> Vec<EventPage> {
    client
        .ticket_audit_events(window)
        .pages()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_walk_goes_newest_first_by_cursor_and_stops_at_the_first_record_older_than_since() {
    let (server, limits) = serve(records(), false).await;
    let client = client(&server.uri());
    // 12:00:00 back to 11:58:20 is 100 s: audits 0..=201. Audits newer than 11:59:50 are skipped.
    let window = Window::between(time(100), time(10)).unwrap();
    let pages = pages(&client, window).await;
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(ids(&events), expected(&records(), time(100), time(10)));
    assert_eq!(events.len(), 182);
    assert!(pages.last().unwrap().caught_up);
    // Three pages of 100 reach 11:58:20; nothing older was requested.
    assert_eq!(*limits.lock().unwrap(), [100, 100, 100]);
    let requests = server.received_requests().await.unwrap();
    // Cursor pagination, never the legacy `cursor`/`limit`.
    assert!(
        requests[0]
            .url
            .query_pairs()
            .all(|(k, _)| k != "cursor" && k != "limit" && k != "page[after]")
    );
    assert!(
        requests[1]
            .url
            .query_pairs()
            .any(|(k, v)| k == "page[after]" && v == "100")
    );
}

#[tokio::test(start_paused = true)]
async fn the_walk_ends_at_the_oldest_page() {
    let (server, _) = serve(records(), false).await;
    let client = client(&server.uri());
    let window = Window::between(time(10_000), time(0)).unwrap();
    let events: Vec<_> = pages(&client, window)
        .await
        .into_iter()
        .flat_map(|p| p.events)
        .collect();
    assert_eq!(events.len(), 300);
}

#[tokio::test(start_paused = true)]
async fn duplicates_across_page_boundaries_are_dropped() {
    let (server, _) = serve(records(), true).await;
    let client = client(&server.uri());
    let window = Window::between(time(10_000), time(0)).unwrap();
    let events: Vec<_> = pages(&client, window)
        .await
        .into_iter()
        .flat_map(|p| p.events)
        .collect();
    assert_eq!(ids(&events), expected(&records(), time(10_000), time(0)));
    assert_eq!(client.stats().duplicates_skipped, 2);
}

#[tokio::test(start_paused = true)]
async fn resuming_mid_pass_yields_exactly_the_remaining_records() {
    let (server, _) = serve(records(), true).await;
    let client = client(&server.uri());
    let window = Window::between(time(140), time(5)).unwrap();
    let pages = pages(&client, window).await;
    assert!(pages.len() >= 3);
    for (k, page) in pages.iter().enumerate() {
        let expected: Vec<String> = pages[k + 1..].iter().flat_map(|p| ids(&p.events)).collect();
        let checkpoint = Checkpoint::from_json(&page.checkpoint.to_json()).unwrap();
        let resumed: Vec<EventPage> = client
            .ticket_audit_events(window)
            .resume(checkpoint)
            .unwrap()
            .pages()
            .try_collect()
            .await
            .unwrap();
        let resumed_ids: Vec<String> = resumed.iter().flat_map(|p| ids(&p.events)).collect();
        assert_eq!(resumed_ids, expected, "resumed after page {k}");
    }
    let Position::NewestFirst { next, boundary, .. } = &pages[0].checkpoint.position else {
        panic!()
    };
    assert_eq!(next.as_ref().and_then(|n| n.cursor.as_deref()), Some("100"));
    assert_eq!(
        boundary.as_ref().unwrap().ids,
        ["89902".into(), "89901".into()]
    );
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_of_the_legacy_walk_resumes_exactly_once_without_a_legacy_request() {
    let (server, _) = serve(records(), false).await;
    let client = client(&server.uri());
    let window = Window::between(time(140), time(5)).unwrap();
    let pages = pages(&client, window).await;
    let all: Vec<String> = pages.iter().flat_map(|p| ids(&p.events)).collect();
    let first = ids(&pages[0].events);
    // What the legacy walk stored after its first page: its `before_cursor` and `before_url`.
    let mut legacy: Value = serde_json::from_str(&pages[0].checkpoint.to_json()).unwrap();
    legacy["position"]["next"] = json!({
        "cursor": "fDE3MTA3NjMxMDAuMHx8ODk5MDB8",
        "url": format!("{}/api/v2/ticket_audits.json?cursor=fDE3MTA3NjMxMDAuMHx8ODk5MDB8&limit=100", server.uri()),
    });
    let checkpoint = Checkpoint::from_json(&legacy.to_string()).unwrap();
    let before = server.received_requests().await.unwrap().len();
    let resumed: Vec<String> = client
        .ticket_audit_events(window)
        .resume(checkpoint)
        .unwrap()
        .pages()
        .try_collect::<Vec<EventPage>>()
        .await
        .unwrap()
        .iter()
        .flat_map(|p| ids(&p.events))
        .collect();
    assert_eq!(resumed, all[first.len()..], "the rest, once");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[before..].iter().all(|r| r
            .url
            .query_pairs()
            .all(|(k, _)| k != "cursor" && k != "limit")),
        "no legacy request"
    );
}

#[tokio::test]
async fn a_page_that_reads_oldest_first_is_an_error_not_a_silent_end() {
    let server = MockServer::start().await;
    let ascending: Vec<Value> = (0..5)
        .map(|i| ticket_audit(100 + i, &time(50 - i).to_rfc3339()))
        .collect();
    Mock::given(method("GET"))
        .and(path_regex(LIST_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audits": ascending,
            "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
            "links": {"next": null, "prev": null}
        })))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(
            audit_core::RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let result = client
        .ticket_audit_events(Window::between(time(40), time(0)).unwrap())
        .pages()
        .try_collect::<Vec<EventPage>>()
        .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("oldest first"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_completed_pass_resumes_with_only_what_arrived_after_it() {
    let now = Utc::now();
    let recent = now - TimeDelta::minutes(5);
    let mut all = vec![ticket_audit(99_999, &recent.to_rfc3339())];
    all.extend(records());
    let (server, _) = serve(all, false).await;
    let client = client(&server.uri());

    // The first run ends 10 minutes before now: the recent audit is not in it.
    let first: Vec<EventPage> = client
        .ticket_audit_events(Window::since(time(20)))
        .settle_lag(Duration::from_secs(600))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let first_ids: Vec<String> = first.iter().flat_map(|p| ids(&p.events)).collect();
    assert_eq!(first_ids.len(), 42);
    assert!(!first_ids.contains(&"99999".to_string()));
    let checkpoint = first.last().unwrap().checkpoint.clone();
    assert!(matches!(
        checkpoint.position,
        Position::NewestFirst { complete: true, .. }
    ));

    // A later run from the checkpoint reads only what came after the first run's end.
    let second: Vec<EventPage> = client
        .ticket_audit_events(Window::since(time(20)))
        .resume(checkpoint)
        .unwrap()
        .settle_lag(Duration::ZERO)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let second_ids: Vec<String> = second.iter().flat_map(|p| ids(&p.events)).collect();
    assert_eq!(second_ids, ["99999"]);
}

#[tokio::test(start_paused = true)]
async fn the_page_size_halves_on_a_504_and_grows_back_after_successes() {
    let (server, limits) = serve(records(), false).await;
    Mock::given(method("GET"))
        .and(path_regex(LIST_PATH))
        .and(query_param_is_missing("page[after]"))
        .respond_with(ResponseTemplate::new(504).set_body_string("<html>Gateway Timeout</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .ticket_audit_page_size(PageSizePolicy::new(40, 10, 100).with_grow_after(2))
        .build()
        .unwrap();
    let window = Window::between(time(10_000), time(0)).unwrap();
    let events: Vec<_> = pages(&client, window)
        .await
        .into_iter()
        .flat_map(|p| p.events)
        .collect();
    assert_eq!(events.len(), 300, "nothing lost to the 504");
    // 40 timed out (seen by the 504 mock, not the fake); then it doubles every two pages.
    assert_eq!(*limits.lock().unwrap(), [20, 20, 40, 40, 80, 80, 100]);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0]
            .url
            .query_pairs()
            .any(|(k, v)| k == "page[size]" && v == "40")
    );
}

#[tokio::test(start_paused = true)]
async fn one_tickets_audits_are_read_oldest_first_by_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits"))
        .and(query_param("page[after]", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ticket_page(&[3, 4], false)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits"))
        .and(query_param("page[size]", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ticket_page(&[1, 2], true)))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let pages: Vec<EventPage> = client
        .audits_for_ticket_events(48213)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let all: Vec<String> = pages.iter().flat_map(|p| ids(&p.events)).collect();
    assert_eq!(all, ["1", "2", "3", "4"]);

    // Resume after the first page: the rest, exactly.
    let resumed: Vec<String> = client
        .audits_for_ticket_events(48213)
        .resume(pages[0].checkpoint.clone())
        .unwrap()
        .events()
        .map_ok(|e| e.native_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed, ["3", "4"]);

    // A checkpoint of another ticket is refused.
    assert!(matches!(
        client
            .audits_for_ticket_events(1)
            .resume(pages[0].checkpoint.clone()),
        Err(Error::InvalidCheckpoint(_))
    ));
}

/// A page of ticket 48213's audits `ids`, each at second `id` past 10:00; `more` names the
/// next page `p2`.
fn ticket_page(ids: &[i64], more: bool) -> Value {
    let audits: Vec<Value> = ids
        .iter()
        .map(|i| ticket_audit(*i, &format!("2024-03-18T10:00:{i:02}Z")))
        .collect();
    json!({
        "audits": audits,
        "meta": {"has_more": more, "after_cursor": if more { Some("p2") } else { None }, "before_cursor": null},
        "links": {"next": null, "prev": null}
    })
}

/// Ticket 48213 served as `first` (and `second` under cursor `p2`), read over 10:00:00 to
/// 10:00:03: the ids read.
async fn read_ticket_to_three_past(first: Value, second: Option<Value>) -> Vec<String> {
    let server = MockServer::start().await;
    if let Some(second) = second {
        Mock::given(method("GET"))
            .and(path("/api/v2/tickets/48213/audits"))
            .and(query_param("page[after]", "p2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(second))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&server)
        .await;
    let window = Window::between(at("2024-03-18T10:00:00Z"), at("2024-03-18T10:00:03Z")).unwrap();
    client(&server.uri())
        .audits_for_ticket_events(48213)
        .window(window)
        .events()
        .map_ok(|e| e.native_id)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn one_tickets_neighbours_out_of_order_across_the_window_end_are_both_read() {
    // Regression: the read stopped at the first audit newer than the window's end, and the
    // audit of the window the vendor placed after it was lost.
    let read = read_ticket_to_three_past(ticket_page(&[1, 2, 4, 3, 5], false), None).await;
    assert_eq!(read, ["1", "2", "3"]);
}

#[tokio::test(start_paused = true)]
async fn one_tickets_neighbours_out_of_order_across_a_page_and_the_window_end_are_both_read() {
    let read = read_ticket_to_three_past(
        ticket_page(&[1, 2, 4], true),
        Some(ticket_page(&[3, 5], false)),
    )
    .await;
    assert_eq!(read, ["1", "2", "3"]);
}

#[tokio::test(start_paused = true)]
async fn an_archived_ticket_answers_once_without_pagination() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/31877/audits"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("list_audits_for_ticket_archived.json")),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let pages: Vec<EventPage> = client
        .audits_for_ticket_events(31877)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].caught_up);
    assert_eq!(
        ids(&pages[0].events),
        ["62188355270623", "62189012334804", "62214480059719"]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn typed_ticket_operations() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits/count"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("count_audits_for_ticket_capped.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits/24872016650047"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("show_ticket_audit.json")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(
            "/api/v2/tickets/48213/audits/24872016650047/make_private",
        ))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits"))
        .and(query_param("filter_events[]", "Change"))
        .and(query_param("include", "users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("list_audits_for_ticket_cursor.json")),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());

    let count = client.count_audits_for_ticket(48213).await.unwrap();
    assert_eq!(count.value, Some(100_000));
    assert!(count.refreshed_at.is_none());

    let audit = client
        .show_ticket_audit(48213, 24872016650047)
        .await
        .unwrap();
    assert_eq!(audit.author_id, Some(-1));
    assert_eq!(audit.raw()["ticket_form_id"], 360001122334i64);

    let query = AuditsForTicketQuery::default()
        .page_size(2)
        .include("users")
        .filter_event("Change")
        .filter_event("Comment");
    let page = client.list_audits_for_ticket(48213, &query).await.unwrap();
    assert_eq!(page.audits.len(), 2);
    assert_eq!(page.users.len(), 1);

    // make_private is a write: a 500 is not retried.
    let error = client
        .make_ticket_comment_private(48213, 24872016650047)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    let puts = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert_eq!(puts, 1);
}
