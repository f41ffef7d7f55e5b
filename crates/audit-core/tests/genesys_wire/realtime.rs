//! Realtime queries (pages by number, the 14-day reach), related audits, service mappings.

use audit_core::genesys::{AuditFilter, RealtimeQuery, RelatedQuery, SortOrder};
use audit_core::{ActorKind, EventPage, StreamKind, StreamOptions, Window};
use chrono::{SubsecRound, TimeDelta, Utc};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::*;

async fn collect(pages: audit_core::EventPages) -> Vec<EventPage> {
    pages.try_collect().await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn realtime_pages_by_number_and_yields_each_record_once() {
    let start = (Utc::now() - TimeDelta::days(2)).trunc_subsecs(0);
    let fake = Fake::start(records(7, start, TimeDelta::minutes(10))).await;
    let client = fake.client();
    let window = Window::between(start, start + TimeDelta::days(1)).unwrap();
    let pages = collect(
        client
            .realtime_events(window)
            .page_size(3)
            .service("Routing")
            .filter(AuditFilter::EntityType("Queue".into()))
            .expand_user(true)
            .pages(),
    )
    .await;
    let events: Vec<_> = pages.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(
        ids(&events),
        (0..7).map(|i| format!("r{i:03}")).collect::<Vec<_>>()
    );
    assert!(
        events
            .iter()
            .all(|e| e.source.stream == StreamKind::GenesysRealtime)
    );
    assert_eq!(
        events[0].id, "genesys:acme:audit:r000",
        "the same id as from the historical stream"
    );
    assert_eq!(pages.len(), 3);
    assert!(pages[2].caught_up && !pages[1].caught_up);
    let bodies = fake.state.realtime_bodies.lock().unwrap().clone();
    assert_eq!(
        bodies
            .iter()
            .map(|b| b["pageNumber"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for body in &bodies {
        assert_eq!(body["pageSize"], 3);
        assert_eq!(body["serviceName"], "Routing");
        assert_eq!(
            body["sort"],
            json!([{"name": "Timestamp", "sortOrder": "ascending"}])
        );
        assert_eq!(
            body["filters"],
            json!([{"property": "EntityType", "value": "Queue"}])
        );
    }
    let requests = fake.api.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/api/v2/audits/query/realtime")
            .all(|r| r.url.query() == Some("expand=user"))
    );
}

#[tokio::test(start_paused = true)]
async fn realtime_defaults_to_pages_of_500() {
    let start = (Utc::now() - TimeDelta::days(1)).trunc_subsecs(0);
    let fake = Fake::start(records(2, start, TimeDelta::minutes(1))).await;
    let client = fake.client();
    let options = StreamOptions::new(Window::since(start));
    let pages = collect(
        client
            .event_pages(StreamKind::GenesysRealtime, options)
            .unwrap(),
    )
    .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].events.len(), 2);
    let body = fake.state.realtime_bodies.lock().unwrap()[0].clone();
    assert_eq!(body["pageSize"], 500);
}

#[tokio::test(start_paused = true)]
async fn a_window_older_than_14_days_is_clamped() {
    let now = Utc::now();
    let old = (now - TimeDelta::days(20)).trunc_subsecs(0);
    let fake = Fake::start(vec![
        record("too-old", &(now - TimeDelta::days(16)).to_rfc3339()),
        record("recent", &(now - TimeDelta::days(3)).to_rfc3339()),
    ])
    .await;
    let client = fake.client();
    let events: Vec<_> = client
        .realtime_events(Window::since(old))
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&events), ["recent"]);
    let body = fake.state.realtime_bodies.lock().unwrap()[0].clone();
    let (start, _) = body["interval"].as_str().unwrap().split_once('/').unwrap();
    let start = at(start);
    assert!(start > now - TimeDelta::days(14), "{start}");
    assert!(
        start < now - TimeDelta::days(14) + TimeDelta::minutes(10),
        "{start}"
    );
}

#[tokio::test(start_paused = true)]
async fn realtime_resumes_from_a_checkpoint_mid_pass() {
    let start = (Utc::now() - TimeDelta::days(2)).trunc_subsecs(0);
    // Two records per timestamp.
    let mut all = Vec::new();
    for i in 0..9 {
        let t = start + TimeDelta::minutes(i / 2);
        all.push(record(&format!("r{i:03}"), &t.to_rfc3339()));
    }
    let fake = Fake::start(all).await;
    let client = fake.client();
    let window = Window::between(start, start + TimeDelta::hours(1)).unwrap();
    let full = collect(client.realtime_events(window).page_size(3).pages()).await;
    let all_events: Vec<_> = full.iter().flat_map(|p| p.events.clone()).collect();
    assert_eq!(all_events.len(), 9);
    for (k, page) in full.iter().enumerate() {
        let rest = collect(
            client
                .realtime_events(window)
                .page_size(3)
                .resume(page.checkpoint.clone())
                .unwrap()
                .pages(),
        )
        .await;
        let got: Vec<_> = rest.iter().flat_map(|p| p.events.clone()).collect();
        let expected: Vec<_> = full[k + 1..]
            .iter()
            .flat_map(|p| p.events.clone())
            .collect();
        assert_eq!(ids(&got), ids(&expected), "after page {k}");
    }
    // A historical checkpoint is refused.
    let historical = client.audit_events(window).checkpoint();
    assert!(client.realtime_events(window).resume(historical).is_err());
}

#[tokio::test(start_paused = true)]
async fn one_realtime_page_typed() {
    let start = (Utc::now() - TimeDelta::hours(5)).trunc_subsecs(0);
    let fake = Fake::start(records(4, start, TimeDelta::minutes(1))).await;
    let page = fake
        .client()
        .realtime_query(
            &RealtimeQuery::new(start, start + TimeDelta::hours(1))
                .sort(SortOrder::Ascending)
                .page(2, 3),
        )
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);
    assert_eq!(page.page_count, Some(2));
    assert_eq!(page.total, Some(4));
    assert_eq!(page.entities[0].id.as_deref(), Some("r003"));
}

#[tokio::test(start_paused = true)]
async fn related_audits_and_both_service_mappings_are_typed() {
    let fake = Fake::start(Vec::new()).await;
    let client = fake.client();
    let related = client
        .related_audits(
            &RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b").expand_user(true),
        )
        .await
        .unwrap();
    let fixture = fixture("realtime-related.json");
    assert_eq!(related.len(), fixture["entities"].as_array().unwrap().len());
    assert_eq!(related[0].raw(), &fixture["entities"][0]);
    let events = client
        .related_events(&RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"))
        .await
        .unwrap();
    assert_eq!(events[0].actor.kind, ActorKind::User);
    assert!(
        events
            .iter()
            .all(|e| e.correlation_id == events[0].correlation_id)
    );
    let body: serde_json::Value = serde_json::from_slice(
        &fake
            .api
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.url.path().ends_with("/related"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"auditId": "0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"})
    );

    let mapping = client.service_mapping().await.unwrap();
    let realtime = client.realtime_service_mapping().await.unwrap();
    assert!(mapping.services.len() > realtime.services.len());
    assert_eq!(realtime.services[0].name.as_deref(), Some("Architect"));
    assert!(!realtime.services[0].entities[0].actions.is_empty());
}
