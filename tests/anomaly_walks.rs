//! Property test (issue 13): any sequence of vendor answers drawn from the anomaly set, with
//! reruns from the last checkpoint after each failure (as `trail` does when run again), ends
//! with the ground truth exactly once, in order.
//!
//! The vendor is a loopback fake of Zendesk's `/ticket_audits` cursor walk (newest first,
//! cursors are positions): each request takes the next answer of a generated script —
//! normal, `200 {}`, an empty last page, an empty page under a fresh cursor, a 500, the cursor
//! refused with a 400, the previous page's last record repeated, a record that is not an
//! object, the page oldest first — and the records themselves may lack `created_at` or come
//! with neighbours out of order.
//!
//! A premature end is transient (answered only the first time a page is asked for): a vendor
//! that says "nothing older" every time it is asked looks exactly like the real end.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_core::zendesk::ZendeskClient;
use audit_core::{Checkpoint, HttpConfig, PacingConfig, RetryPolicy, Window};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use futures::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const RECORDS: i64 = 250;
/// The most runs one case may take (each failure costs one).
const MAX_RUNS: usize = 60;

#[derive(Debug, Clone, Copy)]
enum Answer {
    Normal,
    NoEnvelope,
    EmptyEnd,
    FreshCursor,
    ServerError,
    CursorRefused,
    RepeatLast,
    NonObjectRecord,
    AscendingPage,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => Just(Answer::Normal),
        1 => Just(Answer::NoEnvelope),
        1 => Just(Answer::EmptyEnd),
        1 => Just(Answer::FreshCursor),
        1 => Just(Answer::ServerError),
        1 => Just(Answer::CursorRefused),
        1 => Just(Answer::RepeatLast),
        1 => Just(Answer::NonObjectRecord),
        1 => Just(Answer::AscendingPage),
    ]
}

fn time(i: i64) -> DateTime<Utc> {
    "2024-03-18T12:00:00Z".parse::<DateTime<Utc>>().unwrap() - TimeDelta::seconds(i)
}

/// The records, newest first: `untimed` lose `created_at`; each of `swapped` trades places
/// with its older neighbour (in one page, or across two).
fn records(untimed: &[i64], swapped: &[i64]) -> Vec<Value> {
    let mut records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            json!({
                "id": 500_000 - i, "ticket_id": 48213, "author_id": 7,
                "created_at": time(i).to_rfc3339_opts(SecondsFormat::Secs, true),
                "via": {"channel": "web"},
                "events": [{"id": 1, "type": "Change", "field_name": "status", "value": "open"}]
            })
        })
        .collect();
    for &i in untimed {
        records[i as usize]["created_at"] = Value::Null;
    }
    for &i in swapped {
        let i = i as usize;
        if i + 1 < records.len() {
            records.swap(i, i + 1);
        }
    }
    records
}

struct Vendor {
    records: Vec<Value>,
    script: Mutex<VecDeque<Answer>>,
    asked: Mutex<std::collections::HashSet<Option<String>>>,
}

impl Respond for Vendor {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let limit: usize = get("page[size]").map_or(100, |l| l.parse().unwrap());
        let cursor = get("page[after]");
        // A cursor is `<position>` or `<position>.<nonce>` (a fresh cursor, same place).
        let start: usize = cursor
            .as_deref()
            .map_or(0, |c| c.split('.').next().unwrap().parse().unwrap());
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Normal);
        let first_time = self.asked.lock().unwrap().insert(cursor.clone());
        let end = (start + limit).min(self.records.len());
        let mut page: Vec<Value> = self.records[start.min(end)..end].to_vec();
        let next = (end < self.records.len()).then(|| end.to_string());
        let envelope = |audits: Vec<Value>, before: Option<String>| {
            ResponseTemplate::new(200).set_body_json(json!({
                "audits": audits,
                "meta": {"has_more": before.is_some(), "after_cursor": before, "before_cursor": null},
                "links": {"next": null, "prev": null}
            }))
        };
        match answer {
            Answer::NoEnvelope => ResponseTemplate::new(200).set_body_json(json!({})),
            Answer::EmptyEnd if cursor.is_some() && first_time => envelope(vec![], None),
            Answer::FreshCursor if cursor.is_some() => {
                let nonce = self.script.lock().unwrap().len();
                envelope(vec![], Some(format!("{start}.{nonce}")))
            }
            Answer::ServerError => ResponseTemplate::new(500)
                .set_body_json(json!({"error": "InternalError", "description": "try later"})),
            Answer::CursorRefused if cursor.is_some() => ResponseTemplate::new(400).set_body_json(
                json!({"error": "InvalidPaginationParameter", "description": "cursor expired"}),
            ),
            Answer::RepeatLast if start > 0 => {
                page.insert(0, self.records[start - 1].clone());
                envelope(page, next)
            }
            Answer::NonObjectRecord if !page.is_empty() => {
                let at = page.len() / 2;
                page[at] = json!(5);
                envelope(page, next)
            }
            Answer::AscendingPage => {
                page.reverse();
                envelope(page, next)
            }
            _ => envelope(page, next),
        }
    }
}

fn client(uri: &str) -> ZendeskClient {
    ZendeskClient::builder()
        .base_url(uri)
        .tenant("acme")
        .api_token("ops@acme.com", "not-a-real-token")
        .http(
            HttpConfig::default()
                .with_connect_timeout(None)
                .with_request_timeout(None)
                .with_pool_idle_timeout(None),
        )
        .pacing(PacingConfig::off())
        // Few attempts, so the anomalies also make runs fail and be run again.
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2))
                .without_jitter(),
        )
        .build()
        .unwrap()
}

/// Runs the export, and again from the last checkpoint after each failure; the ids exported
/// and how many runs it took.
async fn export_with_reruns(records: Vec<Value>, script: Vec<Answer>) -> (Vec<String>, usize) {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(Vendor {
            records,
            script: Mutex::new(script.into()),
            asked: Mutex::default(),
        })
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let window = Window::between(time(10_000), time(0)).unwrap();
    let exported = Arc::new(Mutex::new(Vec::new()));
    let mut checkpoint: Option<Checkpoint> = None;
    for run in 1..=MAX_RUNS {
        let events = client.ticket_audit_events(window);
        let events = match &checkpoint {
            Some(checkpoint) => events.resume(checkpoint.clone()).unwrap(),
            None => events,
        };
        let mut pages = events.pages();
        let mut failed = false;
        while let Some(page) = pages.next().await {
            match page {
                // The page and its checkpoint are kept together, as `trail` commits them.
                Ok(page) => {
                    let mut out = exported.lock().unwrap();
                    out.extend(page.events.iter().map(|e| e.native_id.clone()));
                    checkpoint = Some(page.checkpoint);
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            let ids = exported.lock().unwrap().clone();
            return (ids, run);
        }
    }
    panic!("still failing after {MAX_RUNS} runs");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_anomalies_ends_with_every_record_exactly_once(
        script in proptest::collection::vec(answer(), 0..40),
        untimed in proptest::collection::vec(0..RECORDS, 0..4),
        swapped in proptest::collection::vec(0..RECORDS - 1, 0..4),
    ) {
        let records = records(&untimed, &swapped);
        let truth: Vec<String> = records.iter().map(|r| r["id"].to_string()).collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (exported, _runs) = runtime.block_on(export_with_reruns(records, script));
        prop_assert_eq!(exported, truth);
    }
}
