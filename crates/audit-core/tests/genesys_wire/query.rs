//! Historical queries: chunks, the lifecycle, results by cursor and by download, page-size
//! reduction, checkpoints and resume.

use std::sync::atomic::Ordering;
use std::time::Duration;

use audit_core::genesys::{AuditFilter, AuditQuery, PollPolicy, ResultsRequest};
use audit_core::{Checkpoint, Error, EventPage, Position, StreamKind, StreamOptions, Window};
use chrono::TimeDelta;
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn collect(pages: audit_core::EventPages) -> Vec<EventPage> {
    pages.try_collect().await.unwrap()
}

fn flatten(pages: &[EventPage]) -> Vec<audit_core::AuditEvent> {
    pages.iter().flat_map(|p| p.events.clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_75_day_window_is_three_queries_run_one_after_another() {
    let since = at("2024-01-01T00:00:00Z");
    let until = since + TimeDelta::days(75);
    // One record every 5 days, at 12:00.
    let records = records(15, since + TimeDelta::hours(12), TimeDelta::days(5));
    let fake = Fake::start(records).await;
    let client = fake.client();
    let window = Window::between(since, until).unwrap();
    let pages = collect(client.audit_events(window).pages()).await;
    let events = flatten(&pages);
    assert_eq!(
        ids(&events),
        (0..15).map(|i| format!("r{i:03}")).collect::<Vec<_>>()
    );

    let queries = fake.state.queries();
    let intervals: Vec<&str> = queries
        .iter()
        .map(|q| q.body["interval"].as_str().unwrap())
        .collect();
    assert_eq!(
        intervals,
        [
            "2024-01-01T00:00:00.000Z/2024-01-31T00:00:00.000Z",
            "2024-01-31T00:00:00.000Z/2024-03-01T00:00:00.000Z",
            // The window's end is inclusive, the interval's end exclusive.
            "2024-03-01T00:00:00.000Z/2024-03-16T00:00:00.001Z",
        ]
    );
    for query in &queries {
        assert_eq!(
            query.body["sort"],
            json!([{"name": "Timestamp", "sortOrder": "ascending"}])
        );
        assert!(query.body.get("serviceName").is_none());
    }
    // One after another: each query is created after the previous one's results were read.
    let log = fake.state.log();
    let position = |line: &str| log.iter().position(|l| l == line).unwrap();
    let last_results = |id: &str| {
        log.iter()
            .rposition(|l| l.starts_with(&format!("RESULTS {id} ")))
            .unwrap()
    };
    assert!(last_results("q1") < position("POST q2"), "{log:?}");
    assert!(last_results("q2") < position("POST q3"), "{log:?}");
    assert!(pages.last().unwrap().caught_up);
    // Resuming from the end finds nothing new.
    let last = pages.last().unwrap().checkpoint.clone();
    let again = collect(client.audit_events(window).resume(last).unwrap().pages()).await;
    assert!(flatten(&again).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_query_that_stays_running_is_polled_with_growing_intervals() {
    let fake = Fake::start(Vec::new()).await;
    fake.state.running_polls.store(3, Ordering::SeqCst);
    let client = fake.client();
    let query = AuditQuery::new(at("2024-05-01T00:00:00Z"), at("2024-05-31T00:00:00Z"));
    let started = Instant::now();
    let done = client.run_audit_query(&query).await.unwrap();
    assert_eq!(done.state.as_deref(), Some("Succeeded"));
    // Queued at submission, Running three times, then Succeeded: waits of 0.2, 0.4, 0.8 and
    // 1.6 s.
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(200 + 400 + 800 + 1600)
    );
    assert_eq!(
        fake.state.log(),
        ["POST q1", "GET q1", "GET q1", "GET q1", "GET q1"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_query_is_an_error_naming_the_transaction() {
    let fake = Fake::start(Vec::new()).await;
    fake.state.running_polls.store(1, Ordering::SeqCst);
    *fake.state.final_state.lock().unwrap() = Some("Failed".into());
    let client = fake.client();
    let window = Window::between(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z")).unwrap();
    let error = client
        .audit_events(window)
        .events()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match &error {
        Error::QueryFailed {
            transaction_id,
            state,
            timed_out,
            ..
        } => {
            assert_eq!(transaction_id, "q1");
            assert_eq!(state, "Failed");
            assert!(!timed_out);
        }
        other => panic!("{other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("`q1`") && text.contains("Failed"), "{text}");

    *fake.state.final_state.lock().unwrap() = Some("Cancelled".into());
    let error = client
        .run_audit_query(&AuditQuery::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
        ))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("`q2`"), "{error}");
    assert!(error.to_string().contains("Cancelled"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_query_running_past_the_timeout_is_given_up_and_named() {
    let fake = Fake::start(Vec::new()).await;
    fake.state.running_polls.store(usize::MAX, Ordering::SeqCst);
    let client = fake
        .builder()
        .query_polling(PollPolicy::default().with_timeout(Duration::from_secs(60)))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .run_audit_query(&AuditQuery::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
        ))
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    match &error {
        Error::QueryFailed {
            transaction_id,
            state,
            timed_out: true,
            ..
        } => {
            assert_eq!(transaction_id, "q1");
            assert_eq!(state, "Running");
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("still `Running`"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_state_counts_as_running() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/v2/audits/query/q1$"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(fixture("query-status-unknown-state.json")),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let started = Instant::now();
    client
        .run_audit_query(&AuditQuery::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
        ))
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(200 + 400 + 800));
}

#[tokio::test(start_paused = true)]
async fn multi_page_results_yield_each_record_once() {
    let since = at("2024-05-01T00:00:00Z");
    // Pairs of records share a timestamp, so page boundaries fall inside a second.
    let mut all = Vec::new();
    for i in 0..11 {
        let t = since + TimeDelta::minutes(i / 2);
        all.push(record(
            &format!("r{i:03}"),
            &t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ));
    }
    let fake = Fake::start(all).await;
    fake.state.duplicate_boundary.store(true, Ordering::SeqCst);
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let pages = collect(client.audit_events(window).page_size(3).pages()).await;
    let events = flatten(&pages);
    assert_eq!(
        ids(&events),
        (0..11).map(|i| format!("r{i:03}")).collect::<Vec<_>>()
    );
    assert_eq!(pages.len(), 4);
    let results: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("RESULTS"))
        .collect();
    assert_eq!(
        results,
        [
            "RESULTS q1 - 3",
            "RESULTS q1 3 3",
            "RESULTS q1 6 3",
            "RESULTS q1 9 3"
        ]
    );
    let stats = client.stats();
    assert_eq!(stats.records, 11);
    assert_eq!(stats.duplicates_skipped, 3);
    // The typed pages say the same.
    let typed: Vec<_> = client
        .audit_result_pages("q1", ResultsRequest::default().page_size(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(typed.len(), 4);
    assert_eq!(typed[1].cursor.as_deref(), Some("3"));
}

#[tokio::test(start_paused = true)]
async fn the_next_results_page_is_requested_while_the_consumer_holds_the_one_before() {
    use futures::StreamExt;
    let since = at("2024-05-01T00:00:00Z");
    let all = (0..7)
        .map(|i| {
            let t = since + TimeDelta::minutes(i);
            record(
                &format!("r{i:03}"),
                &t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            )
        })
        .collect();
    let fake = Fake::start(all).await;
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let mut pages = client.audit_events(window).page_size(3).pages();
    // Waits in real time (the test's clock is paused) for the results requests to reach
    // `count`, then for a while that no more come.
    let results_requested = async |count: usize| {
        let requested = || {
            fake.state
                .log()
                .into_iter()
                .filter(|l| l.starts_with("RESULTS"))
                .count()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while requested() < count && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
        }
        let quiet_until = std::time::Instant::now() + Duration::from_millis(100);
        while std::time::Instant::now() < quiet_until {
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
        }
        requested()
    };
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(ids(&first.events), ["r000", "r001", "r002"]);
    assert_eq!(
        results_requested(2).await,
        2,
        "the second page is on its way"
    );
    pages.next().await.unwrap().unwrap();
    assert_eq!(
        results_requested(3).await,
        3,
        "the third page is on its way"
    );
    let last = pages.next().await.unwrap().unwrap();
    assert_eq!(ids(&last.events), ["r006"]);
    assert!(pages.next().await.is_none());
    assert_eq!(
        results_requested(3).await,
        3,
        "no request after the last page"
    );
}

#[tokio::test(start_paused = true)]
async fn a_page_too_large_halves_the_page_size_and_asks_for_the_same_cursor() {
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(300, since, TimeDelta::seconds(1))).await;
    fake.state.too_large_above.store(150, Ordering::SeqCst);
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let events: Vec<_> = client
        .audit_events(window)
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 300);
    let results: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("RESULTS"))
        .collect();
    assert_eq!(
        results,
        [
            "RESULTS q1 - 500",
            "RESULTS q1 - 250",
            "RESULTS q1 - 125",
            "RESULTS q1 125 125",
            "RESULTS q1 250 125"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_redirect_download_is_fetched_without_authorization_and_read_once() {
    let since = at("2024-05-01T00:00:00Z");
    let all = records(5, since, TimeDelta::minutes(1));
    let fake = Fake::start(all.clone()).await;
    let download = MockServer::start().await;
    *fake.state.download_base.lock().unwrap() = Some(download.uri());
    // The file holds the first three records in the notification-topic shape.
    let file: Vec<Value> = all[..3]
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let object = r.as_object_mut().unwrap();
            let date = object.remove("eventDate").unwrap();
            object.insert("eventTime".into(), date);
            let user = object.remove("user").unwrap();
            object.insert("userId".into(), user["id"].clone());
            let client = object.remove("client").unwrap();
            object.insert("clientId".into(), client["id"].clone());
            r
        })
        .collect();
    Mock::given(method("GET"))
        .and(path_regex("^/audit-query-results/q1/page-0-3.json$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(file.clone())))
        .expect(1)
        .mount(&download)
        .await;

    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let pages = collect(
        client
            .audit_events(window)
            .page_size(3)
            .allow_redirect(true)
            .pages(),
    )
    .await;
    let events = flatten(&pages);
    assert_eq!(ids(&events), ["r000", "r001", "r002", "r003", "r004"]);
    // Downloaded records keep their own shape in `raw` and map like the others.
    assert_eq!(events[0].raw, file[0]);
    assert_eq!(events[0].occurred_at, since);
    assert_eq!(
        events[0].actor.id.as_deref(),
        Some("5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d")
    );

    let requests = download.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        !requests[0].headers.contains_key("authorization"),
        "the presigned download must not carry credentials: {:?}",
        requests[0].headers
    );
    let log = fake.state.log();
    assert!(
        log.contains(&"RESULTS q1 3 3".to_string()),
        "paging continued with the 302's cursor: {log:?}"
    );
    // The API requests did carry the token.
    for request in fake.api.received_requests().await.unwrap() {
        let auth = request.headers.get("authorization").unwrap();
        assert!(auth.to_str().unwrap().starts_with("Bearer "));
    }
}

#[tokio::test(start_paused = true)]
async fn the_typed_results_call_follows_a_download_too() {
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(2, since, TimeDelta::minutes(1))).await;
    let download = MockServer::start().await;
    *fake.state.download_base.lock().unwrap() = Some(download.uri());
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"entities": [record("d1", "2024-05-01T00:00:00Z")]})),
        )
        .mount(&download)
        .await;
    let client = fake.client();
    let done = client
        .run_audit_query(&AuditQuery::new(since, since + TimeDelta::days(1)))
        .await
        .unwrap();
    let id = done.id.unwrap();
    let page = client
        .audit_query_results(
            &id,
            &ResultsRequest::default().page_size(1).allow_redirect(true),
        )
        .await
        .unwrap();
    assert!(page.downloaded);
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].id.as_deref(), Some("d1"));
    assert_eq!(page.cursor.as_deref(), Some("1"));
    let next = client
        .audit_query_results(&id, &ResultsRequest::default().page_size(1).cursor("1"))
        .await
        .unwrap();
    assert!(!next.downloaded);
    assert_eq!(next.cursor, None);
}

/// Records over 75 days, several pages per chunk, with timestamps shared across page
/// boundaries.
fn export_records() -> Vec<Value> {
    let since = at("2024-01-01T00:00:00Z");
    let mut all = Vec::new();
    for i in 0..40 {
        // Three records per timestamp.
        let t = since + TimeDelta::hours(i / 3 * 130) + TimeDelta::milliseconds(250);
        all.push(record(
            &format!("r{i:03}"),
            &t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ));
    }
    all
}

#[tokio::test(start_paused = true)]
async fn resuming_from_any_checkpoint_yields_exactly_the_remaining_records() {
    let since = at("2024-01-01T00:00:00Z");
    let window = Window::between(since, since + TimeDelta::days(75)).unwrap();
    let fake = Fake::start(export_records()).await;
    let client = fake.client();
    let full = collect(client.audit_events(window).page_size(4).pages()).await;
    let all_events = flatten(&full);
    assert_eq!(all_events.len(), 40);
    assert!(full.len() > 10);
    for (k, page) in full.iter().enumerate() {
        // Through JSON, as the CLI stores it.
        let checkpoint = Checkpoint::from_json(&page.checkpoint.to_json()).unwrap();
        let rest = collect(
            client
                .event_pages(
                    StreamKind::GenesysAudits,
                    StreamOptions::new(window).with_resume(checkpoint),
                )
                .unwrap(),
        )
        .await;
        let expected: Vec<_> = full[k + 1..]
            .iter()
            .flat_map(|p| p.events.clone())
            .collect();
        assert_eq!(
            flatten(&rest),
            expected,
            "resuming after page {k} ({:?})",
            page.checkpoint.position
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_finished_chunk_moves_the_checkpoint_to_its_end() {
    let since = at("2024-01-01T00:00:00Z");
    // Nothing in the first 30 days, one record after.
    let fake = Fake::start(vec![record("late", "2024-02-10T00:00:00.000Z")]).await;
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::days(45)).unwrap();
    let pages = collect(client.audit_events(window).pages()).await;
    assert_eq!(pages.len(), 2);
    assert!(pages[0].events.is_empty());
    assert_eq!(
        pages[0].checkpoint.position,
        Position::HighWater {
            at: at("2024-01-31T00:00:00Z"),
            ids: Vec::new()
        }
    );
    // Resuming after the empty chunk does not query it again.
    let rest = collect(
        client
            .audit_events(window)
            .resume(pages[0].checkpoint.clone())
            .unwrap()
            .pages(),
    )
    .await;
    assert_eq!(ids(&flatten(&rest)), ["late"]);
    let last = fake.state.queries().last().unwrap().body["interval"].clone();
    assert_eq!(
        last,
        json!("2024-01-31T00:00:00.000Z/2024-02-15T00:00:00.001Z")
    );
}

#[tokio::test(start_paused = true)]
async fn service_and_filters_go_into_every_chunk() {
    let since = at("2024-01-01T00:00:00Z");
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::days(40)).unwrap();
    collect(
        client
            .audit_events(window)
            .service("PeoplePermissions")
            .filter(AuditFilter::EntityType("Role".into()))
            .filter(AuditFilter::Action("Update".into()))
            .expand_user(true)
            .pages(),
    )
    .await;
    let queries = fake.state.queries();
    assert_eq!(queries.len(), 2);
    for query in &queries {
        assert_eq!(query.body["serviceName"], "PeoplePermissions");
        assert_eq!(
            query.body["filters"],
            json!([{"property": "EntityType", "value": "Role"}, {"property": "Action", "value": "Update"}])
        );
    }
    let results = fake.api.received_requests().await.unwrap();
    let expand: Vec<_> = results
        .iter()
        .filter(|r| r.url.path().ends_with("/results"))
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(
        expand.iter().all(|q| q.contains("expand=user")),
        "{expand:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_query_over_31_days_is_refused_before_it_is_sent() {
    let fake = Fake::start(Vec::new()).await;
    let error = fake
        .client()
        .submit_audit_query(&AuditQuery::new(
            at("2024-01-01T00:00:00Z"),
            at("2024-02-02T00:00:00Z"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(fake.api.received_requests().await.unwrap().is_empty());
}
