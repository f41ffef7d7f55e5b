//! No single record stops an export: a page with one record the typed view refuses (legal JSON
//! `serde_json` cannot hold, a field of the wrong type, bytes that are not UTF-8) yields every
//! record, the odd one marked with its raw record kept.

use audit_core::{AuditEvent, EventPage, Window};
use futures::TryStreamExt;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// How the middle record of the page is spoiled: (what is replaced, by what) in its text.
struct Case {
    find: &'static str,
    replace: &'static [u8],
    /// Words the event's `decode_issue` holds.
    said: &'static str,
}

const LONE_SURROGATE: Case = Case {
    find: "Priya Raman",
    replace: br"Priya \ud83d Raman",
    said: "lone surrogate",
};
const HUGE_NUMBER: Case = Case {
    find: r#""id":1001,"#,
    replace: br#""id":1001,"risk_score":1e400,"#,
    said: "beyond the range of f64",
};
const ID_BEYOND_I64: Case = Case {
    find: r#""id":1001,"#,
    replace: br#""id":18446744073709551616,"#,
    said: "`id` read as null",
};
const TYPE_MISMATCH: Case = Case {
    find: r#""actor_id":7700412231,"#,
    replace: br#""actor_id":"seven","#,
    said: "`actor_id` read as null",
};
const INVALID_UTF8: Case = Case {
    find: "Priya Raman",
    replace: b"Priya \xff\xfe Raman",
    said: "not UTF-8",
};
// A ticket audit has no actor name nor actor id: these spoil what it has.
const AUDIT_LONE_SURROGATE: Case = Case {
    find: r#""channel":"web""#,
    replace: br#""channel":"web","note":"cut \ud83d""#,
    said: "lone surrogate",
};
const AUDIT_TYPE_MISMATCH: Case = Case {
    find: r#""author_id":7700412298,"#,
    replace: br#""author_id":"seven","#,
    said: "`author_id` read as null",
};
const AUDIT_INVALID_UTF8: Case = Case {
    find: r#""channel":"web""#,
    replace: b"\"channel\":\"web\",\"note\":\"cut \xf0\x9f\"",
    said: "not UTF-8",
};

/// Three records as text, the middle one spoiled by `case`: (texts, the spoiled one's bytes).
fn records(
    record: fn(i64, &str) -> serde_json::Value,
    case: &Case,
    at: [&str; 3],
) -> (Vec<Vec<u8>>, Vec<u8>) {
    let texts: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let text = serde_json::to_string(&record(1000 + i, at[i as usize])).unwrap();
            if i != 1 {
                return text.into_bytes();
            }
            let (before, after) = text
                .split_once(case.find)
                .expect("the case's text is there");
            [before.as_bytes(), case.replace, after.as_bytes()].concat()
        })
        .collect();
    let bad = texts[1].clone();
    (texts, bad)
}

/// `{"<key>": [records…], <rest>}` as bytes.
fn page(key: &str, records: &[Vec<u8>], rest: &str) -> Vec<u8> {
    let mut body = format!(r#"{{"{key}":["#).into_bytes();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(record);
    }
    body.extend_from_slice(format!("],{rest}}}").as_bytes());
    body
}

async fn serve(path: &str, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(path))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

/// Every record came through, in order, the spoiled one marked and its record kept: verbatim
/// when it is JSON text, else from a lossy copy with its bytes quarantined.
fn check(pages: Vec<EventPage>, case: &Case, bad: &[u8], native_id: &str, page_path: &str) {
    let events: Vec<AuditEvent> = pages.into_iter().flat_map(|p| p.events).collect();
    assert_eq!(ids(&events), ["1000", native_id, "1002"]);
    assert_eq!(events[0].decode_issue, None);
    assert_eq!(events[2].decode_issue, None);
    let marked = &events[1];
    let issue = marked
        .decode_issue
        .as_deref()
        .expect("the odd record is marked");
    assert!(issue.contains(case.said), "{issue}");
    assert!(
        marked.id.ends_with(&format!(":{native_id}")),
        "{}",
        marked.id
    );
    match std::str::from_utf8(bad) {
        Ok(text) => {
            assert_eq!(marked.raw.json(), text, "the record is kept verbatim");
            assert_eq!(marked.quarantined, None);
        }
        Err(_) => {
            assert_eq!(marked.raw.json(), String::from_utf8_lossy(bad));
            let quarantined = marked.quarantined.as_deref().expect("its bytes are kept");
            assert_eq!(quarantined.bytes, bad);
            assert_eq!(quarantined.position, 1);
            assert!(
                quarantined.page.starts_with(page_path),
                "{}",
                quarantined.page
            );
        }
    }
    // The line the CLI writes holds the record as kept, and the mark.
    let mut line = Vec::new();
    marked.write_json(&mut line).unwrap();
    let line = String::from_utf8(line).unwrap();
    let raw_then_issue = format!(r#""raw":{},"decode_issue":"#, marked.raw.json());
    assert!(line.contains(&raw_then_issue), "{line}");
}

async fn audit_logs(case: Case, native_id: &str) {
    let times = [
        "2024-03-18T10:00:00Z",
        "2024-03-18T10:00:01Z",
        "2024-03-18T10:00:02Z",
    ];
    let (texts, bad) = records(audit_log, &case, times);
    let body = page(
        "audit_logs",
        &texts,
        r#""meta":{"has_more":false,"after_cursor":null},"links":{"next":null}"#,
    );
    let server = serve(r"^/api/v2/audit_logs(\.json)?$", body).await;
    let window = Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-18T23:59:59Z")).unwrap();
    let pages: Vec<EventPage> = client(&server.uri())
        .audit_log_events(window)
        .pages()
        .try_collect()
        .await
        .expect("no single record stops the export");
    check(pages, &case, &bad, native_id, "/api/v2/audit_logs");
}

async fn ticket_audits(case: Case, native_id: &str) {
    // Newest first.
    let times = [
        "2024-03-18T12:00:02Z",
        "2024-03-18T12:00:01Z",
        "2024-03-18T12:00:00Z",
    ];
    let (texts, bad) = records(ticket_audit, &case, times);
    let body = page(
        "audits",
        &texts,
        r#""before_cursor":null,"before_url":null,"after_cursor":null,"after_url":null"#,
    );
    let server = serve(r"^/api/v2/ticket_audits(\.json)?$", body).await;
    let window = Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-18T23:59:59Z")).unwrap();
    let pages: Vec<EventPage> = client(&server.uri())
        .ticket_audit_events(window)
        .pages()
        .try_collect()
        .await
        .expect("no single record stops the export");
    check(pages, &case, &bad, native_id, "/api/v2/ticket_audits");
}

#[tokio::test]
async fn audit_logs_a_lone_surrogate() {
    audit_logs(LONE_SURROGATE, "1001").await;
}

#[tokio::test]
async fn audit_logs_a_number_beyond_f64_in_an_unknown_field() {
    audit_logs(HUGE_NUMBER, "1001").await;
}

#[tokio::test]
async fn audit_logs_an_id_beyond_i64_keeps_the_vendor_id() {
    audit_logs(ID_BEYOND_I64, "18446744073709551616").await;
}

#[tokio::test]
async fn audit_logs_a_field_of_the_wrong_type() {
    audit_logs(TYPE_MISMATCH, "1001").await;
}

#[tokio::test]
async fn audit_logs_invalid_utf8_is_read_lossily_and_its_bytes_kept() {
    audit_logs(INVALID_UTF8, "1001").await;
}

#[tokio::test]
async fn ticket_audits_a_lone_surrogate() {
    ticket_audits(AUDIT_LONE_SURROGATE, "1001").await;
}

#[tokio::test]
async fn ticket_audits_a_number_beyond_f64_in_an_unknown_field() {
    ticket_audits(HUGE_NUMBER, "1001").await;
}

#[tokio::test]
async fn ticket_audits_an_id_beyond_i64_keeps_the_vendor_id() {
    ticket_audits(ID_BEYOND_I64, "18446744073709551616").await;
}

#[tokio::test]
async fn ticket_audits_a_field_of_the_wrong_type() {
    ticket_audits(AUDIT_TYPE_MISMATCH, "1001").await;
}

#[tokio::test]
async fn ticket_audits_invalid_utf8_is_read_lossily_and_its_bytes_kept() {
    ticket_audits(AUDIT_INVALID_UTF8, "1001").await;
}
