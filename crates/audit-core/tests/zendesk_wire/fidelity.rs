//! Where the facade must do what Zendesk specifies (issue 16): make_private sends `{}` as
//! JSON; the audit-log walk builds each next request from the cursor and the caller's filters;
//! filters take several values; the CSV export reports its own rate limit and is paced to
//! it; `sort_order` is typed.

use std::time::Duration;

use audit_core::Window;
use audit_core::zendesk::{AuditLogFilter, AuditLogQuery, AuditsForTicketQuery, SortOrder};
use futures::TryStreamExt;
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

fn pairs(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn values(request: &Request, key: &str) -> Vec<String> {
    pairs(request)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn make_private_sends_an_empty_json_object() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(
            "/api/v2/tickets/48213/audits/24871093300125/make_private",
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client(&server.uri())
        .make_ticket_comment_private(48213, 24871093300125)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].body, b"{}");
    assert_eq!(
        requests[0].headers.get("content-length").unwrap(),
        "2",
        "a PUT without Content-Length may be refused (411)"
    );
}

/// Page 1 answers with a next link that dropped the caller's filter; the page after the
/// cursor holds record 3 when asked with the filter, and record 99 (outside the filter) when
/// asked without it.
async fn filter_dropping_links(meta_cursor: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .and(query_param("page[after]", "c2"))
        .and(query_param("filter[action][]", "login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audit_logs": [audit_log(3, "2024-03-18T10:00:03Z")],
            "meta": {"has_more": false, "after_cursor": null, "before_cursor": "c3"},
            "links": {"next": null, "prev": null}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .and(query_param("page[after]", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audit_logs": [audit_log(99, "2024-03-18T10:00:04Z")],
            "meta": {"has_more": false, "after_cursor": null, "before_cursor": "c9"},
            "links": {"next": null, "prev": null}
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let after_cursor = if meta_cursor {
        json!("c2")
    } else {
        json!(null)
    };
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audit_logs": [audit_log(1, "2024-03-18T10:00:01Z"), audit_log(2, "2024-03-18T10:00:02Z")],
            "meta": {"has_more": true, "after_cursor": after_cursor, "before_cursor": "c1"},
            "links": {
                "next": format!("{}/api/v2/audit_logs?page%5Bafter%5D=c2&page%5Bsize%5D=100", server.uri()),
                "prev": null
            }
        })))
        .with_priority(3)
        .mount(&server)
        .await;
    server
}

async fn filtered_walk(server: &MockServer) -> Vec<String> {
    let window = Window::between(at("2024-03-18T00:00:00Z"), at("2024-03-19T00:00:00Z")).unwrap();
    let events: Vec<_> = client(&server.uri())
        .audit_log_events(window)
        .filter(AuditLogFilter::default().action("login"))
        .events()
        .try_collect()
        .await
        .unwrap();
    ids(&events)
}

#[tokio::test(start_paused = true)]
async fn a_next_link_that_drops_a_filter_does_not_widen_the_export() {
    let server = filter_dropping_links(true).await;
    assert_eq!(filtered_walk(&server).await, ["1", "2", "3"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(values(request, "filter[action][]"), ["login"]);
        assert_eq!(values(request, "filter[created_at][]").len(), 2);
        assert_eq!(values(request, "sort"), ["created_at"]);
    }
}

#[tokio::test(start_paused = true)]
async fn without_after_cursor_the_links_cursor_is_sent_with_the_original_filters() {
    let server = filter_dropping_links(false).await;
    assert_eq!(filtered_walk(&server).await, ["1", "2", "3"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(values(&requests[1], "page[after]"), ["c2"]);
    assert_eq!(values(&requests[1], "filter[action][]"), ["login"]);
}

#[tokio::test(start_paused = true)]
async fn every_filter_takes_several_values_in_the_bracketed_form() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audit_logs": [], "meta": {"has_more": false}, "links": {}
        })))
        .mount(&server)
        .await;
    let filter = AuditLogFilter::default()
        .action("create")
        .action("destroy")
        .actor_id(7700412231)
        .actor_id(7700412232)
        .source_type("user")
        .source_type("rule")
        .source_id(11)
        .source_id(12)
        .ip_address("203.0.113.54")
        .ip_address("198.51.100.23");
    client(&server.uri())
        .list_audit_logs(&AuditLogQuery::filtered(filter))
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(values(request, "filter[action][]"), ["create", "destroy"]);
    assert_eq!(
        values(request, "filter[actor_id][]"),
        ["7700412231", "7700412232"]
    );
    assert_eq!(values(request, "filter[source_type][]"), ["user", "rule"]);
    assert_eq!(values(request, "filter[source_id][]"), ["11", "12"]);
    assert_eq!(
        values(request, "filter[ip_address][]"),
        ["203.0.113.54", "198.51.100.23"]
    );
    assert!(
        pairs(request).iter().all(|(k, _)| k.ends_with("[]")),
        "no single-valued key: {:?}",
        pairs(request)
    );
}

#[tokio::test(start_paused = true)]
async fn the_export_reports_its_rate_limit_and_the_next_waits_for_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audit_logs/export"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header(
                    "zendesk-ratelimit-audit-logs-export",
                    "total=1; remaining=0; resets=60",
                )
                .insert_header("x-zendesk-request-id", "8d2e6c1a5b"),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let filter = AuditLogFilter::default().action("login");
    let started = Instant::now();
    let receipt = client.export_audit_logs(&filter).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(receipt.status, 202);
    assert_eq!(receipt.request_id.as_deref(), Some("8d2e6c1a5b"));
    let limit = receipt.rate_limit.unwrap();
    assert_eq!((limit.limit, limit.remaining), (Some(1), Some(0)));
    assert_eq!(limit.reset, Some(Duration::from_secs(60)));
    // The second export waits out the minute instead of meeting Zendesk's 429 (which would
    // also pause every other request of the client).
    client.export_audit_logs(&filter).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(client.stats().rate_limited, 0);
}

#[tokio::test(start_paused = true)]
async fn an_export_answer_without_its_header_still_paces_a_minute() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audit_logs/export"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let started = Instant::now();
    let receipt = client
        .export_audit_logs(&AuditLogFilter::default())
        .await
        .unwrap();
    assert_eq!(receipt.rate_limit, None);
    client
        .export_audit_logs(&AuditLogFilter::default())
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn sort_order_of_a_tickets_audits_is_the_typed_enum() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/48213/audits"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"audits": [], "next_page": null})),
        )
        .mount(&server)
        .await;
    let query = AuditsForTicketQuery::default().sort_order(SortOrder::Descending);
    client(&server.uri())
        .list_audits_for_ticket(48213, &query)
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(values(request, "sort_order"), ["desc"]);
}
