//! The audit-log stream and operations.

use std::time::Duration;

use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
use audit_core::{Checkpoint, Error, EventPage, Position, Source, StreamKind, Window};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const LIST_PATH: &str = r"^/api/v2/audit_logs(\.json)?$";

/// 250 records from 2024-03-18T10:00:00Z on; ids 1000.., several per second, so page
/// boundaries (every 100) fall inside a second.
fn records() -> Vec<Value> {
    (0..250)
        .map(|i| {
            let second = i / 3;
            audit_log(
                1000 + i,
                &format!("2024-03-18T10:{:02}:{:02}Z", second / 60, second % 60),
            )
        })
        .collect()
}

fn window() -> Window {
    Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-18T23:59:59Z")).unwrap()
}

async fn serve(style: NextStyle, duplicate_boundary: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(LIST_PATH))
        .respond_with(FakeAuditLogs {
            records: records(),
            base: server.uri(),
            style,
            duplicate_boundary,
        })
        .mount(&server)
        .await;
    server
}

async fn all_pages(client: &audit_core::zendesk::ZendeskClient, window: Window) -> Vec<EventPage> {
    client
        .audit_log_events(window)
        .pages()
        .try_collect()
        .await
        .unwrap()
}

fn expected_ids() -> Vec<String> {
    (1000..1250).map(|i| i.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn links_next_pages_yield_every_record_once_in_order() {
    let server = serve(NextStyle::LinksNext, false).await;
    let client = client(&server.uri());
    let pages = all_pages(&client, window()).await;

    assert_eq!(pages.len(), 3);
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(ids(&events), expected_ids());
    assert_eq!(
        pages.iter().map(|p| p.caught_up).collect::<Vec<_>>(),
        [false, false, true]
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let first: Vec<(String, String)> = requests[0].url.query_pairs().into_owned().collect();
    for expected in [
        ("sort", "created_at"),
        ("page[size]", "100"),
        ("filter[created_at][]", "2024-03-18T00:00:00Z"),
        ("filter[created_at][]", "2024-03-18T23:59:59Z"),
    ] {
        assert!(
            first.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} missing from {first:?}"
        );
    }
    // The later pages were built from the cursor and the original filters, not read from
    // links.next (whose `.json` path only appears there): a link may drop a filter.
    for request in &requests[1..] {
        assert_eq!(request.url.path(), "/api/v2/audit_logs");
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        assert!(pairs.iter().any(|(k, _)| k == "page[after]"), "{pairs:?}");
        assert_eq!(
            pairs
                .iter()
                .filter(|(k, _)| k == "filter[created_at][]")
                .count(),
            2
        );
    }
    assert_eq!(client.stats().pages, 3);
    assert_eq!(client.stats().records, 250);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_requested_until_polled_then_one_page_is_read_ahead() {
    fn spawnable<T: Send + 'static>(_: &T) {}
    let server = serve(NextStyle::LinksNext, false).await;
    let client = client(&server.uri());
    let mut pages = client.audit_log_events(window()).pages();
    spawnable(&pages);
    tokio::task::yield_now().await;
    assert!(server.received_requests().await.unwrap().is_empty());
    pages.next().await.unwrap().unwrap();
    // The second page is requested while the first is with the consumer, and no third.
    wait_for_requests(&server, 2).await;
    pages.next().await.unwrap().unwrap();
    wait_for_requests(&server, 3).await;
    // The stream runs on another task just as well.
    let rest = tokio::spawn(async move { pages.try_collect::<Vec<_>>().await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// Waits (in real time: the test's clock is paused) until `server` has received `count`
/// requests, then checks for a while that no more come.
async fn wait_for_requests(server: &wiremock::MockServer, count: usize) {
    use std::time::{Duration, Instant};
    let received = || async { server.received_requests().await.unwrap().len() };
    let deadline = Instant::now() + Duration::from_secs(10);
    while received().await < count && Instant::now() < deadline {
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    let quiet_until = Instant::now() + Duration::from_millis(100);
    while Instant::now() < quiet_until {
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(received().await, count, "requests received");
}

#[tokio::test(start_paused = true)]
async fn cursor_pages_rebuild_the_request_from_the_original_filters() {
    let server = serve(NextStyle::CursorOnly, false).await;
    let client = client(&server.uri());
    let pages = client
        .audit_log_events(window())
        .filter(AuditLogFilter::default().source_type("rule"))
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(ids(&events), expected_ids());

    let requests = server.received_requests().await.unwrap();
    let second: Vec<(String, String)> = requests[1].url.query_pairs().into_owned().collect();
    assert_eq!(requests[1].url.path(), "/api/v2/audit_logs");
    for expected in [
        ("page[after]", "100"),
        ("sort", "created_at"),
        ("filter[source_type][]", "rule"),
        ("filter[created_at][]", "2024-03-18T00:00:00Z"),
        ("filter[created_at][]", "2024-03-18T23:59:59Z"),
    ] {
        assert!(
            second.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} missing from {second:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn without_has_more_the_stream_continues_while_a_cursor_and_records_come() {
    let server = serve(NextStyle::CursorWithoutHasMore, false).await;
    let client = client(&server.uri());
    let events: Vec<_> = all_pages(&client, window())
        .await
        .into_iter()
        .flat_map(|p| p.events)
        .collect();
    assert_eq!(ids(&events), expected_ids());
}

#[tokio::test(start_paused = true)]
async fn duplicates_across_page_boundaries_are_dropped() {
    let server = serve(NextStyle::CursorOnly, true).await;
    let client = client(&server.uri());
    let pages = all_pages(&client, window()).await;
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(ids(&events), expected_ids());
    assert_eq!(pages.iter().map(|p| p.received).sum::<usize>(), 252);
    assert_eq!(client.stats().duplicates_skipped, 2);
}

#[tokio::test(start_paused = true)]
async fn resuming_from_a_mid_stream_checkpoint_yields_exactly_the_remaining_records() {
    let server = serve(NextStyle::LinksNext, false).await;
    let client = client(&server.uri());
    let pages = all_pages(&client, window()).await;

    for (k, page) in pages.iter().enumerate() {
        let expected: Vec<String> = pages[k + 1..].iter().flat_map(|p| ids(&p.events)).collect();
        // Through JSON, as the CLI's state file would.
        let checkpoint = Checkpoint::from_json(&page.checkpoint.to_json()).unwrap();
        let resumed: Vec<EventPage> = client
            .audit_log_events(window())
            .resume(checkpoint)
            .unwrap()
            .pages()
            .try_collect()
            .await
            .unwrap();
        let resumed_ids: Vec<String> = resumed.iter().flat_map(|p| ids(&p.events)).collect();
        assert_eq!(resumed_ids, expected, "resumed after page {k}");
    }

    // The resumed query starts at the high-water second, inclusively.
    let Position::HighWater {
        at: mark,
        ids: at_mark,
    } = &pages[0].checkpoint.position
    else {
        panic!("{:?}", pages[0].checkpoint.position)
    };
    assert_eq!(mark.to_rfc3339(), "2024-03-18T10:00:33+00:00");
    assert_eq!(at_mark, &[std::sync::Arc::from("1099")]);
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_of_another_stream_is_refused() {
    let client = client("http://127.0.0.1:9");
    let checkpoint = Checkpoint::new(
        Source::new(StreamKind::ZendeskTicketAudits, "acme"),
        window(),
        Position::Start,
    );
    let error = client
        .audit_log_events(window())
        .resume(checkpoint)
        .unwrap_err();
    assert!(matches!(error, Error::InvalidCheckpoint(_)));
    assert!(
        error.to_string().contains("zendesk-ticket-audits"),
        "{error}"
    );

    let other_tenant = Checkpoint::new(
        Source::new(StreamKind::ZendeskAuditLogs, "globex"),
        window(),
        Position::Start,
    );
    assert!(
        client
            .audit_log_events(window())
            .resume(other_tenant)
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn a_repeated_cursor_is_re_requested_and_ends_in_an_error_when_it_persists() {
    let server = MockServer::start().await;
    let page = |cursor: &str| {
        json!({
            "audit_logs": [audit_log(1, "2024-03-18T10:00:00Z")],
            "meta": {"has_more": true, "after_cursor": cursor},
            "links": null
        })
    };
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .and(query_param("page[after]", "c1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("c1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("c1")))
        .mount(&server)
        .await;

    let client = client(&server.uri());
    let results: Vec<Result<EventPage, Error>> =
        client.audit_log_events(window()).pages().collect().await;
    assert_eq!(results.len(), 2, "one page, then the error, then the end");
    match &results[1] {
        Err(Error::RepeatedCursor {
            cursor, attempts, ..
        }) => {
            assert_eq!(cursor, "c1");
            assert_eq!(*attempts, 6);
        }
        other => panic!("{other:?}"),
    }
    // The first page, then the second one asked for six times: never a loop.
    assert_eq!(server.received_requests().await.unwrap().len(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_transient_repeated_cursor_is_absorbed_by_asking_again() {
    let server = MockServer::start().await;
    let page = |id: i64, second: u32, cursor: Option<&str>| {
        json!({
            "audit_logs": [audit_log(id, &format!("2024-03-18T10:00:{second:02}Z"))],
            "meta": {"has_more": cursor.is_some(), "after_cursor": cursor},
            "links": null
        })
    };
    // Asked for c1, the vendor once hands c1 back; the second answer is right.
    Mock::given(method("GET"))
        .and(query_param("page[after]", "c1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(2, 2, Some("c1"))))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("page[after]", "c1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(2, 2, None)))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(1, 1, Some("c1"))))
        .with_priority(3)
        .mount(&server)
        .await;

    let client = client(&server.uri());
    let events: Vec<_> = client
        .audit_log_events(window())
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&events), ["1", "2"]);
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test(start_paused = true)]
async fn follow_mode_sleeps_when_caught_up_and_continues_from_its_checkpoint() {
    let server = MockServer::start().await;
    let old = vec![
        audit_log(1, "2024-03-18T10:00:00Z"),
        audit_log(2, "2024-03-18T10:00:01Z"),
    ];
    Mock::given(method("GET"))
        .respond_with(FakeAuditLogs {
            records: old.clone(),
            base: server.uri(),
            style: NextStyle::CursorOnly,
            duplicate_boundary: false,
        })
        .mount(&server)
        .await;

    let client = client(&server.uri());
    let started = tokio::time::Instant::now();
    let mut pages = client
        .audit_log_events(Window::since(at("2024-03-01T00:00:00Z")))
        .follow(Duration::from_secs(60))
        .pages();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(ids(&first.events), ["1", "2"]);
    assert!(first.caught_up);

    // A record arrives; the next poll, a minute later, reads only it.
    server.reset().await;
    let mut newer = old;
    newer.push(audit_log(3, "2024-03-18T10:00:01Z"));
    newer.push(audit_log(4, "2024-03-19T08:00:00Z"));
    Mock::given(method("GET"))
        .respond_with(FakeAuditLogs {
            records: newer,
            base: server.uri(),
            style: NextStyle::CursorOnly,
            duplicate_boundary: false,
        })
        .mount(&server)
        .await;
    let second = pages.next().await.unwrap().unwrap();
    assert_eq!(ids(&second.events), ["3", "4"]);
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    let requests = server.received_requests().await.unwrap();
    let bounds: Vec<String> = requests[0]
        .url
        .query_pairs()
        .filter(|(k, _)| k == "filter[created_at][]")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(
        bounds[0], "2024-03-18T10:00:01Z",
        "re-queried from the high-water second"
    );
}

#[tokio::test(start_paused = true)]
async fn typed_list_and_show_return_the_records_untouched() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/19283775120"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("show_audit_log.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .and(query_param("filter[action][]", "login"))
        .and(query_param("sort_order", "asc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("list_audit_logs_offset.json")),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());

    let record = client.show_audit_log(19283775120).await.unwrap();
    assert_eq!(record.raw()["actor_type"], "api_token");
    assert_eq!(record.action.as_deref(), Some("exported"));

    let mut query = AuditLogQuery::filtered(AuditLogFilter::default().action("login"));
    query.sort_order = Some(audit_core::zendesk::SortOrder::Ascending);
    let page = client.list_audit_logs(&query).await.unwrap();
    assert!(!page.audit_logs.is_empty());

    let mut mixed = AuditLogQuery::default().page_size(100);
    mixed.page = Some(2);
    assert!(matches!(
        client.list_audit_logs(&mixed).await,
        Err(Error::InvalidRequest { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn forbidden_audit_logs_name_the_plan_the_role_and_the_missing_scope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_missing_scope.json")))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = client
        .audit_log_events(window())
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match &error {
        Error::AccessDenied {
            operation,
            status,
            missing_scope,
            ..
        } => {
            assert_eq!(*operation, "list_audit_logs");
            assert_eq!(*status, 403);
            assert_eq!(missing_scope.as_deref(), Some("read"));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("Enterprise"), "{message}");
    assert!(message.contains("auditlogs:read"), "{message}");
    assert!(message.contains("`read`"), "{message}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "403 is not retried"
    );
}
