//! A vendor on a bad day (issue 13): an answer that is neither a page nor an end, records
//! without `eventDate` or out of order, realtime pages that ignore the page size asked for.

use std::sync::atomic::Ordering;

use audit_core::{EventPage, Window};
use chrono::{SubsecRound, TimeDelta, Utc};
use futures::TryStreamExt;
use serde_json::Value;

use crate::support::*;

async fn collect(pages: audit_core::EventPages) -> Vec<EventPage> {
    pages.try_collect().await.unwrap()
}

fn all_ids(pages: &[EventPage]) -> Vec<String> {
    pages.iter().flat_map(|p| ids(&p.events)).collect()
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i:03}")).collect()
}

#[tokio::test(start_paused = true)]
async fn an_answer_without_entities_in_the_middle_of_a_chunk_is_asked_again_not_its_end() {
    // Regression: one `200 {}` results page ended the chunk and the checkpoint jumped to the
    // chunk's end (2,214 of 3,000 records, for good).
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(30, since, TimeDelta::minutes(1))).await;
    *fake.state.empty_envelope_at.lock().unwrap() = Some("10".into());
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let pages = collect(fake.client().audit_events(window).page_size(10).pages()).await;
    assert_eq!(all_ids(&pages), expected(30));
    let asked: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("RESULTS q1 10 "))
        .collect();
    assert_eq!(asked.len(), 2, "the page at cursor 10 was asked for again");
}

#[tokio::test(start_paused = true)]
async fn records_without_event_date_or_out_of_order_are_all_exported() {
    // Regression: a record without `eventDate` was dropped; of two neighbours out of order
    // the one behind was lost (2,993 of 3,000).
    let since = at("2024-05-01T00:00:00Z");
    let mut all = records(30, since, TimeDelta::minutes(1));
    let date = all[12]["eventDate"].take();
    all[12].as_object_mut().unwrap().remove("eventDate");
    all[12]["x_time"] = date;
    // r021 is served before r020 (the fake sorts by time, so swap the times too).
    let (a, b) = (all[20]["eventDate"].clone(), all[21]["eventDate"].clone());
    all[20]["eventDate"] = b;
    all[21]["eventDate"] = a;
    let fake = Fake::start(all).await;
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let pages = collect(fake.client().audit_events(window).page_size(7).pages()).await;
    let mut want = expected(30);
    want.swap(20, 21);
    assert_eq!(all_ids(&pages), want);
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.iter()).collect();
    assert!(events[12].occurred_at_inferred);
    assert_eq!(events[12].occurred_at, since + TimeDelta::minutes(11));
    assert_eq!(events[12].raw.get("eventDate"), None::<&Value>);
}

#[tokio::test(start_paused = true)]
async fn realtime_pages_that_ignore_the_page_size_and_omit_the_counts_are_all_read() {
    // Regression: the vendor served 25 per page where 500 were asked, without `pageCount`:
    // each run read one page and called the window complete.
    let start = (Utc::now() - TimeDelta::days(2)).trunc_subsecs(0);
    let fake = Fake::start(records(60, start, TimeDelta::minutes(1))).await;
    fake.state.realtime_page_size.store(25, Ordering::SeqCst);
    fake.state
        .realtime_omit_counts
        .store(true, Ordering::SeqCst);
    let window = Window::between(start, start + TimeDelta::days(1)).unwrap();
    let pages = collect(fake.client().realtime_events(window).pages()).await;
    assert_eq!(all_ids(&pages), expected(60));
    let asked: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("REALTIME"))
        .collect();
    // Pages 1 to 3 hold 25, 25 and 10; page 4, empty, is the end.
    assert_eq!(asked.len(), 4, "{asked:?}");
}

#[tokio::test(start_paused = true)]
async fn a_downloaded_record_with_a_lone_surrogate_is_kept_and_marked_not_refused() {
    use audit_core::genesys::{AuditQuery, ResultsRequest};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(3, since, TimeDelta::seconds(1))).await;
    let download = MockServer::start().await;
    // A Java producer cut an emoji in half: legal JSON that `serde_json::Value` refuses.
    let mut file = serde_json::to_string(&records(3, since, TimeDelta::seconds(1))).unwrap();
    file = file.replacen("Queue updated (r001)", "Queue updated \\ud83d (r001)", 1);
    Mock::given(method("GET"))
        .and(path("/page.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(file),
        )
        .mount(&download)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q1/results"))
        .respond_with(ResponseTemplate::new(302).set_body_json(serde_json::json!({
            "id": "q1", "pageSize": 25, "downloadUrl": format!("{}/page.json", download.uri())
        })))
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    client
        .run_audit_query(&AuditQuery::new(since, since + TimeDelta::hours(1)))
        .await
        .unwrap();
    let page = client
        .audit_query_results("q1", &ResultsRequest::default().allow_redirect(true))
        .await
        .unwrap();
    assert_eq!(page.records.len(), 3, "every record of the file");
    let marked: Vec<_> = page
        .records
        .iter()
        .filter(|r| r.decode_issue().is_some())
        .map(|r| r.raw()["id"].clone())
        .collect();
    assert_eq!(marked, vec![Value::from("r001")]);
    assert_eq!(
        download.received_requests().await.unwrap().len(),
        1,
        "read once"
    );
}
