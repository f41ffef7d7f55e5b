//! No single record stops an export: a results page or a realtime page with one record the
//! typed view refuses (legal JSON `serde_json` cannot hold, a field of the wrong type, bytes
//! that are not UTF-8) yields every record, the odd one marked with its raw record kept.

use audit_core::{AuditEvent, EventPage, Window};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures::TryStreamExt;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

/// How the middle record of the page is spoiled: (what is replaced, by what) in its text.
struct Case {
    find: &'static str,
    replace: &'static [u8],
    /// Words the event's `decode_issue` holds.
    said: &'static str,
    /// The event's native id.
    native_id: &'static str,
}

const LONE_SURROGATE: Case = Case {
    find: r#""application":"Genesys Cloud Admin UI""#,
    replace: br#""application":"Admin \ud800 UI""#,
    said: "lone surrogate",
    native_id: "r001",
};
const HUGE_NUMBER: Case = Case {
    find: r#""transactionInitiator":true"#,
    replace: br#""transactionInitiator":1e400"#,
    said: "beyond the range of f64",
    native_id: "r001",
};
const ID_BEYOND_I64: Case = Case {
    find: r#""id":"r001""#,
    replace: br#""id":18446744073709551616"#,
    said: "`id` read as null",
    native_id: "18446744073709551616",
};
const TYPE_MISMATCH: Case = Case {
    find: r#""remoteIp":["203.0.113.10"]"#,
    replace: br#""remoteIp":"203.0.113.10""#,
    said: "`remoteIp` read as null",
    native_id: "r001",
};
const INVALID_UTF8: Case = Case {
    find: r#""application":"Genesys Cloud Admin UI""#,
    replace: b"\"application\":\"Admin \xc3\x28 UI\"",
    said: "not UTF-8",
    native_id: "r001",
};

/// Three records from `start`, a minute apart, the middle one spoiled by `case`, as the
/// `entities` of a page with `rest`: (the page, the spoiled record's bytes).
fn page(case: &Case, start: DateTime<Utc>, rest: &str) -> (Vec<u8>, Vec<u8>) {
    let texts: Vec<Vec<u8>> = records(3, start, TimeDelta::minutes(1))
        .iter()
        .map(serde_json::to_string)
        .map(Result::unwrap)
        .enumerate()
        .map(|(i, text)| {
            if i != 1 {
                return text.into_bytes();
            }
            let (before, after) = text
                .split_once(case.find)
                .expect("the case's text is there");
            [before.as_bytes(), case.replace, after.as_bytes()].concat()
        })
        .collect();
    let mut body = br#"{"entities":["#.to_vec();
    body.extend_from_slice(&texts.join(&b","[..]));
    body.extend_from_slice(format!("],{rest}}}").as_bytes());
    (body, texts[1].clone())
}

/// Every record came through, in order, the spoiled one marked and its record kept: verbatim
/// when it is JSON text, else from a lossy copy with its bytes quarantined.
fn check(pages: Vec<EventPage>, case: &Case, bad: &[u8], page_path: &str) {
    let events: Vec<AuditEvent> = pages.into_iter().flat_map(|p| p.events).collect();
    assert_eq!(ids(&events), ["r000", case.native_id, "r002"]);
    assert_eq!(events[0].decode_issue, None);
    assert_eq!(events[2].decode_issue, None);
    let marked = &events[1];
    let issue = marked
        .decode_issue
        .as_deref()
        .expect("the odd record is marked");
    assert!(issue.contains(case.said), "{issue}");
    assert_eq!(marked.id, format!("genesys:acme:audit:{}", case.native_id));
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
    let mut line = Vec::new();
    marked.write_json(&mut line).unwrap();
    let line = String::from_utf8(line).unwrap();
    let raw_then_issue = format!(r#""raw":{},"decode_issue":"#, marked.raw.json());
    assert!(line.contains(&raw_then_issue), "{line}");
}

async fn historical(case: Case) {
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(Vec::new()).await;
    let (body, bad) = page(&case, since, r#""id":"q1","pageSize":500"#);
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v2/audits/query/[^/]+/results$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let pages: Vec<EventPage> = fake
        .client()
        .audit_events(window)
        .pages()
        .try_collect()
        .await
        .expect("no single record stops the export");
    check(pages, &case, &bad, "/api/v2/audits/query/q1/results");
}

async fn realtime(case: Case) {
    let start = (Utc::now() - TimeDelta::days(1)).trunc_subsecs(0);
    let fake = Fake::start(Vec::new()).await;
    let (body, bad) = page(
        &case,
        start,
        r#""pageSize":500,"pageNumber":1,"total":3,"pageCount":1"#,
    );
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query/realtime"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let window = Window::between(start - TimeDelta::hours(1), start + TimeDelta::hours(1)).unwrap();
    let pages: Vec<EventPage> = fake
        .client()
        .realtime_events(window)
        .pages()
        .try_collect()
        .await
        .expect("no single record stops the export");
    check(pages, &case, &bad, "/api/v2/audits/query/realtime");
}

#[tokio::test]
async fn results_a_lone_surrogate() {
    historical(LONE_SURROGATE).await;
}

#[tokio::test]
async fn results_a_number_beyond_f64() {
    historical(HUGE_NUMBER).await;
}

#[tokio::test]
async fn results_an_id_where_a_string_belongs_keeps_the_vendor_id() {
    historical(ID_BEYOND_I64).await;
}

#[tokio::test]
async fn results_a_field_of_the_wrong_type() {
    historical(TYPE_MISMATCH).await;
}

#[tokio::test]
async fn results_invalid_utf8_is_read_lossily_and_its_bytes_kept() {
    historical(INVALID_UTF8).await;
}

#[tokio::test]
async fn realtime_a_lone_surrogate() {
    realtime(LONE_SURROGATE).await;
}

#[tokio::test]
async fn realtime_a_number_beyond_f64() {
    realtime(HUGE_NUMBER).await;
}

#[tokio::test]
async fn realtime_an_id_where_a_string_belongs_keeps_the_vendor_id() {
    realtime(ID_BEYOND_I64).await;
}

#[tokio::test]
async fn realtime_a_field_of_the_wrong_type() {
    realtime(TYPE_MISMATCH).await;
}

#[tokio::test]
async fn realtime_invalid_utf8_is_read_lossily_and_its_bytes_kept() {
    realtime(INVALID_UTF8).await;
}
