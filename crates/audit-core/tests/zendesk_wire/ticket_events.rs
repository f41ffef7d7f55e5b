//! `zendesk-ticket-events`: the incremental ticket-event export (issue 17) on the wire.
//!
//! The answers are written from the facts of Zendesk's reference (Incremental Ticket Event
//! Export, and "Exporting ticket events" in Using the Incremental Exports API): items with
//! `id`, `ticket_id`, `timestamp`, `created_at`, `updater_id`, `via` (a display name),
//! `system`, `event_type: Audit` and `child_events` (a field change as a member named after
//! the field, with `previous_value`; a sideloaded comment with its own fields and `audit_id`);
//! the page with `next_page`, `end_time`, `count`, `end_of_stream`.

use std::time::Duration;

use audit_core::{Checkpoint, Error, StreamKind, Window};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const EXPORT_PATH: &str = r"^/api/v2/incremental/ticket_events(\.json)?$";

/// An exported update at Unix second `ts`, shaped as Zendesk documents it.
fn update(id: i64, ts: i64) -> Value {
    let created_at = DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "id": id,
        "ticket_id": 48213,
        "timestamp": ts,
        "created_at": created_at,
        "updater_id": 7700412231_i64,
        "via": "Web form",
        "system": {"client": "Mozilla/5.0", "ip_address": "203.0.113.54", "location": "Lyon, ARA, France"},
        "event_type": "Audit",
        "child_events": [
            {"id": id * 10 + 1, "via": "Web form", "via_reference_id": null,
             "status": "solved", "previous_value": "open", "event_type": "Change"},
            {"id": id * 10 + 2, "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": null}},
             "via_reference_id": null, "type": "Comment", "author_id": 7700412231_i64,
             "body": "Refund approved", "html_body": "<p>Refund approved</p>", "public": true,
             "attachments": [], "audit_id": id, "created_at": created_at, "event_type": "Comment"}
        ],
        "x_undocumented": {"kept": true}
    })
}

fn page(server: &MockServer, items: Vec<Value>, end_time: i64, end_of_stream: bool) -> Value {
    json!({
        "ticket_events": items,
        "next_page": format!("{}/api/v2/incremental/ticket_events.json?start_time={end_time}", server.uri()),
        "count": items.len(),
        "end_time": end_time,
        "end_of_stream": end_of_stream,
    })
}

async fn mount(server: &MockServer, start_time: i64, body: Value) {
    Mock::given(method("GET"))
        .and(path_regex(EXPORT_PATH))
        .and(query_param("start_time", start_time.to_string()))
        .and(query_param("include", "comment_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

const T0: i64 = 1_710_754_800; // 2024-03-18T09:40:00Z

fn window() -> Window {
    Window::between(
        DateTime::from_timestamp(T0, 0).unwrap(),
        DateTime::from_timestamp(T0 + 3_600, 0).unwrap(),
    )
    .unwrap()
}

/// Two pages: the second starts at the first's `end_time` and repeats its last second.
async fn two_pages() -> MockServer {
    let server = MockServer::start().await;
    let first = page(
        &server,
        vec![update(1, T0), update(2, T0 + 5), update(3, T0 + 9)],
        T0 + 9,
        false,
    );
    let second = page(
        &server,
        vec![update(3, T0 + 9), update(4, T0 + 9), update(5, T0 + 20)],
        T0 + 20,
        true,
    );
    mount(&server, T0, first).await;
    mount(&server, T0 + 9, second).await;
    server
}

#[tokio::test]
async fn every_update_once_oldest_first_mapped_as_its_ticket_audit() {
    let server = two_pages().await;
    let client = builder(&server.uri())
        .incremental_requests_per_minute(0)
        .build()
        .unwrap();
    let events: Vec<_> = client
        .event_pages(
            StreamKind::ZendeskTicketEvents,
            audit_core::StreamOptions::new(window()),
        )
        .unwrap()
        .map_ok(|page| page.events)
        .try_concat()
        .await
        .unwrap();
    assert_eq!(
        ids(&events),
        ["1", "2", "3", "4", "5"],
        "the repeat is dropped"
    );
    let event = &events[0];
    assert_eq!(event.id, "zendesk:acme:ticket-audit:1", "the audit's id");
    assert_eq!(event.source.stream, StreamKind::ZendeskTicketEvents);
    assert_eq!(event.actor.id.as_deref(), Some("7700412231"));
    assert_eq!(event.actor.ip.as_deref(), Some("203.0.113.54"));
    assert_eq!(event.actor.app.as_deref(), Some("Web form"));
    assert_eq!(event.target.as_ref().unwrap().id.as_deref(), Some("48213"));
    assert_eq!(event.changes.len(), 1);
    assert_eq!(event.changes[0].field, "status");
    assert_eq!(event.changes[0].old, json!("open"));
    assert_eq!(event.changes[0].new, json!("solved"));
    assert_eq!(event.raw["x_undocumented"], json!({"kept": true}));
    assert_eq!(event.raw["child_events"][1]["body"], "Refund approved");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "ends on end_of_stream, nothing more");
}

#[tokio::test]
async fn a_resumed_stream_asks_from_its_high_water_second_and_skips_its_ids() {
    let server = two_pages().await;
    let client = builder(&server.uri())
        .incremental_requests_per_minute(0)
        .build()
        .unwrap();
    let mut pages = client.ticket_event_events(window()).pages();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(ids(&first.events), ["1", "2", "3"]);
    drop(pages);
    // A new process, from the stored checkpoint: the request starts at T0 + 9 (the first
    // page's last second), whose update 3 was exported already.
    let checkpoint = Checkpoint::from_json(&first.checkpoint.to_json()).unwrap();
    let rest: Vec<_> = client
        .ticket_event_events(window())
        .resume(checkpoint)
        .unwrap()
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&rest), ["4", "5"]);
}

#[tokio::test]
async fn a_page_that_is_no_end_and_has_no_end_time_is_an_error_not_an_end() {
    let server = MockServer::start().await;
    let mut body = page(&server, vec![update(1, T0)], T0, false);
    body.as_object_mut().unwrap().remove("end_time");
    body.as_object_mut().unwrap().remove("end_of_stream");
    mount(&server, T0, body).await;
    let client = builder(&server.uri())
        .incremental_requests_per_minute(0)
        .retry_policy(
            audit_core::RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let result: Result<Vec<_>, Error> = client
        .ticket_event_events(window())
        .events()
        .try_collect()
        .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("end_time"), "{error}");
}

#[tokio::test]
async fn an_answer_without_ticket_events_is_not_a_last_page() {
    let server = MockServer::start().await;
    mount(&server, T0, json!({})).await;
    let client = builder(&server.uri())
        .incremental_requests_per_minute(0)
        .retry_policy(
            audit_core::RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let result: Result<Vec<_>, Error> = client
        .ticket_event_events(window())
        .events()
        .try_collect()
        .await;
    assert!(result.is_err(), "`{{}}` must not end the export as empty");
}

#[tokio::test(start_paused = true)]
async fn requests_are_spaced_to_the_incremental_limit() {
    let server = MockServer::start().await;
    mount(
        &server,
        T0,
        page(&server, vec![update(1, T0)], T0 + 1, false),
    )
    .await;
    mount(
        &server,
        T0 + 1,
        page(&server, vec![update(2, T0 + 1)], T0 + 2, false),
    )
    .await;
    mount(
        &server,
        T0 + 2,
        page(&server, vec![update(3, T0 + 2)], T0 + 2, true),
    )
    .await;
    let export = |rpm: Option<u32>| {
        let mut builder = builder(&server.uri());
        if let Some(rpm) = rpm {
            builder = builder.incremental_requests_per_minute(rpm);
        }
        let client = builder.build().unwrap();
        async move {
            let started = tokio::time::Instant::now();
            let events: Vec<_> = client
                .ticket_event_events(window())
                .events()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(ids(&events), ["1", "2", "3"]);
            (started.elapsed(), client.stats().waited_pacing)
        }
    };
    // Zendesk's 10 a minute by default: three requests take two gaps of 6 s.
    let (paced, waited) = export(None).await;
    assert!(paced >= Duration::from_secs(12), "{paced:?}");
    assert!(paced < Duration::from_secs(18), "{paced:?}");
    assert!(
        waited >= Duration::from_secs(11),
        "counted as pacing: {waited:?}"
    );
    // Unpaced, they go at once.
    let (unpaced, _) = export(Some(0)).await;
    assert!(unpaced < Duration::from_secs(1), "{unpaced:?}");
}
