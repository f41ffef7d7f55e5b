//! Wire tests of the generated Zendesk client (`zendesk-raw`, from `specs/zendesk.yaml`).
//!
//! One test per operation, each against a local `wiremock` server. Every test checks
//! what goes out (method, path, the raw percent-encoded query string, no body, no
//! `api-version` header) and what comes back (a realistic fixture from
//! `tests/fixtures/zendesk/` decoded into the generated types, including the awkward
//! shapes Zendesk really sends). Mocks match the exact raw query string, so a change in
//! encoding, parameter order or repetition makes the request miss its mock and the test
//! fail with the list of requests the server saw.

use std::fmt::Debug;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use trail_tests::fixture_json;
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};
use zendesk_raw::{Client, Error, ResponseValue, types};

// ------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------

/// Matches the request's raw query string (still percent-encoded) exactly. `None` means
/// "no query string at all".
struct RawQuery(Option<&'static str>);

impl Match for RawQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == self.0
    }
}

/// A mock for exactly `verb path?query` (the query compared raw, see [`RawQuery`]).
fn mock_for(verb: &str, url_path: &str, query: Option<&'static str>) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(url_path))
        .and(RawQuery(query))
}

/// A response with the given status carrying a fixture as its JSON body.
fn json_fixture(status: u16, fixture: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture_json(&format!("zendesk/{fixture}")))
}

/// `METHOD path?query` of every request the server received, for failure messages.
async fn seen(server: &MockServer) -> String {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| format!("  {} {}", r.method, r.url))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Awaits a call that must succeed; on failure shows the error and what the server saw.
macro_rules! expect_ok {
    ($server:expr, $call:expr) => {
        match $call.await {
            Ok(value) => value,
            Err(e) => panic!(
                "request failed: {e:?}\nrequests received by the mock server:\n{}",
                seen(&$server).await
            ),
        }
    };
}

/// Unwraps the typed error response of a call that must fail with a documented status.
fn expect_error_response<T: Debug>(
    result: Result<T, Error<types::ErrorResponse>>,
) -> ResponseValue<types::ErrorResponse> {
    match result {
        Err(Error::ErrorResponse(response)) => response,
        other => panic!("expected Error::ErrorResponse, got {other:?}"),
    }
}

/// Checks every request the server received: the expected method and count, no request
/// body (none of the eight operations has one), JSON accepted, and no `api-version`
/// header (progenitor adds it; the raw crate's `ClientHooks::pre` must strip it).
async fn assert_requests_clean(server: &MockServer, verb: &str, count: usize) {
    let requests = server
        .received_requests()
        .await
        .expect("request recording is on");
    assert_eq!(
        requests.len(),
        count,
        "requests received:\n{}",
        seen(server).await
    );
    for request in &requests {
        assert_eq!(request.method.as_str(), verb, "{}", request.url);
        assert!(
            request.headers.get("api-version").is_none(),
            "api-version header reached the server on {}",
            request.url
        );
        assert!(
            request.body.is_empty(),
            "unexpected body on {}",
            request.url
        );
        assert!(
            request.headers.get("content-type").is_none(),
            "unexpected content-type on {}",
            request.url
        );
        assert_eq!(
            request.headers.get("accept").map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{}",
            request.url
        );
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// The free-form fields of an event (everything but `id` and `type`).
fn field<'a>(event: &'a types::TicketAuditEvent, name: &str) -> &'a Value {
    event
        .extra
        .get(name)
        .unwrap_or_else(|| panic!("event {:?} has no field {name}", event.id))
}

fn event_types(audit: &types::TicketAudit) -> Vec<&str> {
    audit
        .events
        .iter()
        .map(|e| e.type_.as_deref().expect("every event has a type"))
        .collect()
}

// ------------------------------------------------------------------------------------
// Ticket Audits
// ------------------------------------------------------------------------------------

/// `GET /api/v2/ticket_audits` in both pagination styles: the standard cursor
/// (`page[size]`, `page[after]`; `meta`/`links` envelope) and the legacy cursor
/// (`cursor`, `limit`; `before_*`/`after_*` envelope).
#[tokio::test]
async fn list_ticket_audits_sends_both_cursor_styles_and_decodes_both_envelopes() {
    let server = MockServer::start().await;
    mock_for(
        "GET",
        "/api/v2/ticket_audits",
        Some("page%5Bafter%5D=eyJvIjoiY3JlYXRlZF9hdCIsInYiOiJaR3MxTnpBNU9UazVPVGs9In0%3D&page%5Bsize%5D=2"),
    )
    .respond_with(json_fixture(200, "list_ticket_audits_cursor.json"))
    .expect(1)
    .mount(&server)
    .await;
    mock_for(
        "GET",
        "/api/v2/ticket_audits",
        Some("cursor=MTcxMDc1NDg2Ny4wfHwyNDg3MTA5MzIxNTc3MXw%3D&limit=200"),
    )
    .respond_with(json_fixture(200, "list_ticket_audits_legacy.json"))
    .expect(1)
    .mount(&server)
    .await;
    let client = Client::new(&server.uri());

    // Standard cursor pagination.
    let page = expect_ok!(
        server,
        client
            .list_ticket_audits()
            .page_size(2)
            .page_after("eyJvIjoiY3JlYXRlZF9hdCIsInYiOiJaR3MxTnpBNU9UazVPVGs9In0=")
            .send()
    );
    assert_eq!(page.status(), 200);
    let page = page.into_inner();
    let meta = page.meta.as_ref().expect("standard envelope has meta");
    assert_eq!(meta.has_more, Some(true));
    assert_eq!(
        meta.after_cursor.as_deref(),
        Some("eyJvIjoiY3JlYXRlZF9hdCIsInYiOiJaR3MxTnpFd056VTFPVGs9In0=")
    );
    let links = page.links.as_ref().expect("standard envelope has links");
    assert!(links.next.as_deref().unwrap().contains("page%5Bafter%5D="));
    assert!(links.prev.as_deref().unwrap().contains("page%5Bbefore%5D="));
    assert_eq!(
        (
            &page.before_cursor,
            &page.after_cursor,
            &page.before_url,
            &page.after_url
        ),
        (&None, &None, &None, &None),
        "no legacy fields in a standard page"
    );
    assert_eq!(page.audits.len(), 2);

    // An e-mail created ticket: polymorphic Create values and an extra audit field.
    let created = &page.audits[0];
    assert_eq!(created.id, Some(24871093215771));
    assert_eq!(created.ticket_id, Some(48213));
    assert_eq!(created.author_id, Some(7700519804));
    assert_eq!(created.created_at, Some(utc(2024, 3, 18, 9, 12, 44)));
    let via = created.via.as_ref().unwrap();
    assert_eq!(via.channel, Some(json!("email")));
    let source = via.source.as_ref().unwrap();
    assert_eq!(source.from["address"], json!("dana.whitfield@example.net"));
    assert_eq!(source.to["email_ccs"], json!([]));
    assert_eq!(source.rel, None, "rel: null decodes to None");
    let metadata = created.metadata.as_ref().unwrap();
    assert_eq!(
        metadata.system["email_id"],
        json!("01HS8Q4Z7X2D9K3M5N6P7R8S9T")
    );
    assert!(metadata.custom.is_empty());
    assert_eq!(
        created.extra.get("ingest_pipeline"),
        Some(&json!("mail-v2")),
        "unknown audit fields are kept"
    );
    assert_eq!(
        event_types(created),
        [
            "Comment",
            "Create",
            "Create",
            "Create",
            "Create",
            "Create",
            "Create",
            "Create",
            "Notification"
        ]
    );
    let comment = &created.events[0];
    assert_eq!(comment.id, Some(24871093215781));
    assert_eq!(field(comment, "public"), &json!(true));
    assert_eq!(
        field(comment, "attachments")[0]["file_name"],
        json!("order-55120-return-receipt.pdf")
    );
    let priority = &created.events[4];
    assert_eq!(field(priority, "field_name"), &json!("priority"));
    assert_eq!(
        field(priority, "value"),
        &Value::Null,
        "a null value is kept, not dropped"
    );
    assert_eq!(
        field(&created.events[5], "value"),
        &json!(["refund", "order_issue"])
    );
    assert_eq!(
        field(&created.events[7], "value"),
        &json!({"minutes": 1440, "in_business_hours": false}),
        "SLA values are objects"
    );
    let notification = &created.events[8];
    assert_eq!(field(notification, "recipients"), &json!([7700519804_i64]));
    assert_eq!(
        field(notification, "via")["source"]["rel"],
        json!("trigger")
    );

    // An agent's web update: Change values as strings, arrays, integers and null.
    let update = &page.audits[1];
    assert_eq!(update.author_id, Some(7700412298));
    assert_eq!(update.via.as_ref().unwrap().channel, Some(json!("web")));
    assert_eq!(
        update.metadata.as_ref().unwrap().system["location"],
        json!("Porto, 13, Portugal")
    );
    let assignee = &update.events[1];
    assert_eq!(field(assignee, "value"), &json!("7700412298"));
    assert_eq!(field(assignee, "previous_value"), &Value::Null);
    let tags = &update.events[4];
    assert_eq!(
        field(tags, "value"),
        &json!(["refund", "order_issue", "finance_review"])
    );
    assert_eq!(
        field(tags, "previous_value"),
        &json!(["refund", "order_issue"])
    );
    let custom_status = &update.events[5];
    assert_eq!(field(custom_status, "value").as_i64(), Some(4460213));
    assert_eq!(field(custom_status, "previous_value").as_i64(), Some(1));
    let macro_ref = &update.events[7];
    assert_eq!(macro_ref.type_.as_deref(), Some("AgentMacroReference"));
    assert_eq!(field(macro_ref, "macro_id"), &json!("360020117733"));

    // Legacy cursor pagination (the default when page[size] is absent).
    let legacy = expect_ok!(
        server,
        client
            .list_ticket_audits()
            .cursor("MTcxMDc1NDg2Ny4wfHwyNDg3MTA5MzIxNTc3MXw=")
            .limit(200)
            .send()
    )
    .into_inner();
    assert!(legacy.meta.is_none() && legacy.links.is_none());
    assert_eq!(legacy.before_cursor, None, "oldest page: nothing before it");
    assert_eq!(legacy.before_url, None);
    assert_eq!(
        legacy.after_cursor.as_deref(),
        Some("MTcxMDY5MjQwNi4wfHwyNDg2OTkxMTAyMjM4OHw=")
    );
    assert!(
        legacy
            .after_url
            .as_deref()
            .unwrap()
            .ends_with("cursor=MTcxMDY5MjQwNi4wfHwyNDg2OTkxMTAyMjM4OHw%3D&limit=200")
    );
    assert_eq!(legacy.audits.len(), 2);
    let chat = &legacy.audits[0];
    assert_eq!(chat.via.as_ref().unwrap().channel, Some(json!("chat")));
    let chat_started = &chat.events[0];
    assert_eq!(chat_started.type_.as_deref(), Some("ChatStartedEvent"));
    let history = &field(chat_started, "value")["history"];
    assert_eq!(history[1]["type"], json!("ChatFileAttachment"));
    assert_eq!(history[2]["message_id"], json!("01HS7ZQ3C2V8N4B6"));
    let trigger_run = &legacy.audits[1];
    assert_eq!(trigger_run.author_id, Some(-1), "-1 is the system");
    let trigger_source = trigger_run.via.as_ref().unwrap().source.as_ref().unwrap();
    assert_eq!(trigger_source.rel.as_deref(), Some("trigger"));
    assert_eq!(trigger_source.from["id"], json!(360011422050_i64));
    assert_eq!(
        field(&trigger_run.events[0], "previous_value"),
        &Value::Null
    );

    assert_requests_clean(&server, "GET", 2).await;
    server.verify().await;
}

/// `GET /api/v2/tickets/{ticket_id}/audits`: cursor paging with event filters, sideloads
/// and boundary indicators, then offset paging on an archived ticket (whose answer is
/// not paginated and carries the offset envelope).
#[tokio::test]
async fn list_audits_for_ticket_sends_repeated_event_filters_and_decodes_cursor_and_offset_pages() {
    let server = MockServer::start().await;
    mock_for(
        "GET",
        "/api/v2/tickets/48213/audits",
        Some(
            "filter_events%5B%5D=Change&filter_events%5B%5D=Comment&include=users\
             &include_boundary_indicators=true&page%5Bsize%5D=2&sort=-created_at",
        ),
    )
    .respond_with(json_fixture(200, "list_audits_for_ticket_cursor.json"))
    .expect(1)
    .mount(&server)
    .await;
    mock_for(
        "GET",
        "/api/v2/tickets/31877/audits",
        Some("page=1&per_page=100&sort_order=asc"),
    )
    .respond_with(json_fixture(200, "list_audits_for_ticket_archived.json"))
    .expect(1)
    .mount(&server)
    .await;
    let client = Client::new(&server.uri());

    let page = expect_ok!(
        server,
        client
            .list_audits_for_ticket()
            .ticket_id(48213)
            .page_size(2)
            .sort("-created_at")
            .include("users")
            .include_boundary_indicators(true)
            .filter_events(vec!["Change".to_string(), "Comment".to_string()])
            .send()
    )
    .into_inner();
    let meta = page.meta.as_ref().unwrap();
    assert_eq!(meta.has_more, Some(true));
    assert!(meta.after_cursor.is_some() && meta.before_cursor.is_some());
    assert!(
        page.links.as_ref().unwrap().next.as_deref().unwrap().starts_with(
            "https://acme.zendesk.com/api/v2/tickets/48213/audits.json?filter_events%5B%5D=Change"
        )
    );
    assert_eq!(
        (page.count, &page.next_page, &page.previous_page),
        (None, &None, &None),
        "no offset fields in a cursor page"
    );
    assert_eq!(page.users.len(), 1);
    assert_eq!(page.users[0]["name"], json!("Tomás Oliveira"));
    assert!(page.tickets.is_empty());
    assert_eq!(page.audits.len(), 2);
    assert!(
        page.audits[0].created_at > page.audits[1].created_at,
        "sort=-created_at: newest first"
    );
    for audit in &page.audits {
        for kind in event_types(audit) {
            assert!(matches!(kind, "Change" | "Comment"), "filtered out: {kind}");
        }
    }
    let solved = &page.audits[0];
    assert_eq!(
        solved.metadata.as_ref().unwrap().custom["time_spent"],
        json!("4m05s")
    );
    assert_eq!(
        field(&solved.events[0], "redaction_state"),
        &json!("none"),
        "unknown event fields are kept"
    );
    assert_eq!(field(&solved.events[1], "value"), &json!("solved"));

    // Offset parameters on an archived ticket: one unpaginated answer, offset envelope.
    let archived = expect_ok!(
        server,
        client
            .list_audits_for_ticket()
            .ticket_id(31877)
            .page(1)
            .per_page(100)
            .sort_order("asc")
            .send()
    )
    .into_inner();
    assert_eq!(archived.count, Some(3));
    assert_eq!(
        (&archived.next_page, &archived.previous_page),
        (&None, &None)
    );
    assert!(archived.meta.is_none() && archived.links.is_none());
    assert_eq!(archived.audits.len(), 3);
    let opened = &archived.audits[0];
    assert_eq!(opened.created_at, Some(utc(2019, 5, 13, 11, 48, 2)));
    let old_tags = &opened.events[4];
    assert_eq!(field(old_tags, "field_name"), &json!("tags"));
    assert_eq!(
        field(old_tags, "value"),
        &json!("billing invoice_copy"),
        "old audits send tags as one space-separated string"
    );
    let solved_on_phone = &archived.audits[1];
    assert_eq!(
        solved_on_phone.via.as_ref().unwrap().channel,
        Some(json!("mobile"))
    );
    assert_eq!(
        field(&solved_on_phone.events[2], "previous_value"),
        &json!("billing invoice_copy")
    );
    let closed = &archived.audits[2];
    assert_eq!(closed.author_id, Some(-1));
    assert_eq!(
        closed.via.as_ref().unwrap().source.as_ref().unwrap().from["title"],
        json!("Close solved tickets after 4 days")
    );

    assert_requests_clean(&server, "GET", 2).await;
    server.verify().await;
}

/// `GET /api/v2/tickets/{ticket_id}/audits/{ticket_audit_id}`: a system audit with an
/// integer `via.channel` and an undocumented event kind; a deleted ticket's typed 404.
#[tokio::test]
async fn show_ticket_audit_decodes_a_system_audit_and_a_typed_404() {
    let server = MockServer::start().await;
    mock_for("GET", "/api/v2/tickets/48213/audits/24872016650047", None)
        .respond_with(json_fixture(200, "show_ticket_audit.json"))
        .expect(1)
        .mount(&server)
        .await;
    mock_for("GET", "/api/v2/tickets/40001/audits/24872016650047", None)
        .respond_with(json_fixture(404, "error_record_not_found.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());

    let shown = expect_ok!(
        server,
        client
            .show_ticket_audit()
            .ticket_id(48213)
            .ticket_audit_id(24872016650047_i64)
            .send()
    )
    .into_inner();
    let audit = shown.audit.expect("audit");
    assert_eq!(audit.id, Some(24872016650047));
    assert_eq!(audit.author_id, Some(-1), "-1 is the system");
    let via = audit.via.as_ref().unwrap();
    assert_eq!(via.channel, Some(json!(8)), "via.channel may be an integer");
    assert!(via.channel.as_ref().unwrap().is_i64());
    assert_eq!(
        via.source.as_ref().unwrap().rel.as_deref(),
        Some("automation")
    );
    let metadata = audit.metadata.as_ref().unwrap();
    assert!(metadata.system.is_empty() && metadata.custom.is_empty());
    assert_eq!(
        audit.extra.get("ticket_form_id"),
        Some(&json!(360001122334_i64))
    );
    assert_eq!(event_types(&audit), ["Change", "Change", "WebhookEvent"]);
    let webhook = &audit.events[2];
    assert_eq!(webhook.id, Some(24872016650053));
    assert_eq!(
        field(webhook, "webhook_name"),
        &json!("CRM: ticket closed"),
        "an undocumented event kind keeps all of its fields"
    );
    assert_eq!(field(webhook, "via")["channel"], json!("rule"));

    let missing = expect_error_response(
        client
            .show_ticket_audit()
            .ticket_id(40001)
            .ticket_audit_id(24872016650047_i64)
            .send()
            .await,
    );
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.error, Some(json!("RecordNotFound")));
    assert_eq!(missing.description.as_deref(), Some("Not found"));

    assert_requests_clean(&server, "GET", 2).await;
    server.verify().await;
}

/// `GET /api/v2/tickets/{ticket_id}/audits/count`: a fresh count, the capped count with
/// `refreshed_at: null`, and the 403 of a token without the global `read` scope.
#[tokio::test]
async fn count_audits_for_ticket_decodes_fresh_and_capped_counts_and_a_missing_scope_403() {
    let server = MockServer::start().await;
    mock_for("GET", "/api/v2/tickets/48213/audits/count", None)
        .respond_with(json_fixture(200, "count_audits_for_ticket.json"))
        .expect(1)
        .mount(&server)
        .await;
    mock_for("GET", "/api/v2/tickets/52990/audits/count", None)
        .respond_with(json_fixture(200, "count_audits_for_ticket_capped.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());

    let fresh = expect_ok!(
        server,
        client.count_audits_for_ticket().ticket_id(48213).send()
    )
    .into_inner()
    .count
    .expect("count");
    assert_eq!(fresh.value, Some(6));
    assert_eq!(fresh.refreshed_at, Some(utc(2024, 3, 24, 15, 2, 40)));

    let capped = expect_ok!(
        server,
        client.count_audits_for_ticket().ticket_id(52990).send()
    )
    .into_inner()
    .count
    .expect("count");
    assert_eq!(capped.value, Some(100_000));
    assert_eq!(
        capped.refreshed_at, None,
        "capped counts have refreshed_at: null"
    );

    assert_requests_clean(&server, "GET", 2).await;
    server.verify().await;

    // A token scoped `tickets:read` only: Ticket Audits need the global `read` scope.
    let scoped = MockServer::start().await;
    mock_for("GET", "/api/v2/tickets/48213/audits/count", None)
        .respond_with(json_fixture(403, "error_missing_scope.json"))
        .expect(1)
        .mount(&scoped)
        .await;
    let forbidden = expect_error_response(
        Client::new(&scoped.uri())
            .count_audits_for_ticket()
            .ticket_id(48213)
            .send()
            .await,
    );
    assert_eq!(forbidden.status(), 403);
    assert_eq!(forbidden.error, Some(json!("Forbidden")));
    assert!(
        forbidden
            .description
            .as_deref()
            .unwrap()
            .ends_with("required scopes: read")
    );
    assert!(forbidden.errors.is_none() && forbidden.details.is_none());
    assert_requests_clean(&scoped, "GET", 1).await;
    scoped.verify().await;
}

/// `PUT …/audits/{ticket_audit_id}/make_private`: `{}` goes out as JSON (as Zendesk's
/// examples send it; a bodiless PUT has no `Content-Length`, which proxies may refuse) and
/// the empty `200` comes back as `ResponseValue<()>` (not a JSON decoding error).
#[tokio::test]
async fn make_ticket_comment_private_sends_an_empty_json_object_and_accepts_the_empty_200() {
    let server = MockServer::start().await;
    mock_for(
        "PUT",
        "/api/v2/tickets/48213/audits/24871093215771/make_private",
        None,
    )
    .respond_with(ResponseTemplate::new(200))
    .expect(1)
    .mount(&server)
    .await;
    let client = Client::new(&server.uri());

    let done: ResponseValue<()> = expect_ok!(
        server,
        client
            .make_ticket_comment_private_from_audits()
            .ticket_id(48213)
            .ticket_audit_id(24871093215771_i64)
            .send()
    );
    assert_eq!(done.status(), 200);
    assert_eq!(done.content_length(), Some(0));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "PUT");
    assert_eq!(requests[0].body, b"{}");
    assert_eq!(requests[0].headers["content-type"], "application/json");
    assert_eq!(requests[0].headers["content-length"], "2");
    assert!(requests[0].headers.get("api-version").is_none());
    server.verify().await;
}

// ------------------------------------------------------------------------------------
// Audit Logs
// ------------------------------------------------------------------------------------

/// `GET /api/v2/audit_logs`: the `filter[created_at][]` pair as two repeated keys in
/// order (start, end), cursor paging to the last page (null cursors), offset paging, and
/// the typed 400 Zendesk returns for a single `filter[created_at][]` value.
#[tokio::test]
async fn list_audit_logs_sends_the_created_at_pair_in_order_and_decodes_every_envelope() {
    const AFTER: &str = "eyJvIjoiY3JlYXRlZF9hdCIsInYiOiJaSkJKdGtqTFNtUT0ifQ==";
    let server = MockServer::start().await;
    mock_for(
        "GET",
        "/api/v2/audit_logs",
        Some(
            "filter%5Bactor_id%5D%5B%5D=7700412231\
             &filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z\
             &filter%5Bcreated_at%5D%5B%5D=2024-03-31T23%3A59%3A59Z\
             &page%5Bsize%5D=100&sort=created_at",
        ),
    )
    .respond_with(json_fixture(200, "list_audit_logs_cursor.json"))
    .expect(1)
    .mount(&server)
    .await;
    mock_for(
        "GET",
        "/api/v2/audit_logs",
        Some(
            "filter%5Bactor_id%5D%5B%5D=7700412231\
             &filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z\
             &filter%5Bcreated_at%5D%5B%5D=2024-03-31T23%3A59%3A59Z\
             &page%5Bafter%5D=eyJvIjoiY3JlYXRlZF9hdCIsInYiOiJaSkJKdGtqTFNtUT0ifQ%3D%3D\
             &page%5Bsize%5D=100&sort=created_at",
        ),
    )
    .respond_with(json_fixture(200, "list_audit_logs_cursor_last.json"))
    .expect(1)
    .mount(&server)
    .await;
    mock_for(
        "GET",
        "/api/v2/audit_logs",
        Some("page=2&per_page=2&sort_by=created_at&sort_order=asc"),
    )
    .respond_with(json_fixture(200, "list_audit_logs_offset.json"))
    .expect(1)
    .mount(&server)
    .await;
    mock_for(
        "GET",
        "/api/v2/audit_logs",
        Some("filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z"),
    )
    .respond_with(json_fixture(400, "error_invalid_created_at_filter.json"))
    .expect(1)
    .mount(&server)
    .await;
    let client = Client::new(&server.uri());

    // Cursor mode, as the facade will page: one base builder, cloned per page.
    let window = vec![utc(2024, 3, 1, 0, 0, 0), utc(2024, 3, 31, 23, 59, 59)];
    let base = client
        .list_audit_logs()
        .filter_actor_id(vec![7700412231_i64])
        .filter_created_at(window.clone())
        .page_size(100)
        .sort("created_at");
    let first = expect_ok!(server, base.clone().send()).into_inner();
    assert_eq!(first.audit_logs.len(), 4);
    let meta = first.meta.as_ref().unwrap();
    assert_eq!(meta.has_more, Some(true));
    assert_eq!(meta.after_cursor.as_deref(), Some(AFTER));
    assert!(
        first
            .links
            .as_ref()
            .unwrap()
            .next
            .as_deref()
            .unwrap()
            .contains(
                "filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z\
             &filter%5Bcreated_at%5D%5B%5D=2024-03-31T23%3A59%3A59Z"
            )
    );
    assert_eq!((first.count, &first.next_page), (None, &None));

    let login = &first.audit_logs[0];
    assert_eq!(login.id, Some(19283740012));
    assert_eq!(login.action.as_deref(), Some("login"));
    assert_eq!(login.action_label.as_deref(), Some("Sign in"));
    assert_eq!(login.created_at, Some(utc(2024, 3, 18, 8, 55, 12)));
    assert!(
        login
            .change_description
            .as_deref()
            .unwrap()
            .starts_with("Successful sign-in")
    );
    let role_change = &first.audit_logs[1];
    assert_eq!(role_change.source_type.as_deref(), Some("user"));
    assert_eq!(role_change.source_id, Some(9120734455));
    assert_eq!(role_change.source_label.as_deref(), Some("Marco Bellini"));
    let token = &first.audit_logs[2];
    assert_eq!(token.source_type.as_deref(), Some("apitoken"));
    assert_eq!(token.action_label, None, "action_label may be absent");
    let trigger = &first.audit_logs[3];
    assert_eq!(trigger.source_type.as_deref(), Some("rule"));
    assert_eq!(trigger.source_id, Some(360011422057), "ids beyond 32 bits");
    assert_eq!(
        trigger
            .change_description
            .as_deref()
            .unwrap()
            .lines()
            .count(),
        2,
        "multi-line change descriptions survive"
    );
    assert_eq!(
        trigger.extra.get("actor_type"),
        Some(&json!("agent")),
        "unknown audit-log fields are kept"
    );

    // The next page, built from the same filters plus page[after]: the last, empty page.
    let last = expect_ok!(server, base.clone().page_after(AFTER).send()).into_inner();
    assert!(last.audit_logs.is_empty());
    let meta = last.meta.as_ref().unwrap();
    assert_eq!(meta.has_more, Some(false));
    assert_eq!((&meta.after_cursor, &meta.before_cursor), (&None, &None));
    let links = last.links.as_ref().unwrap();
    assert_eq!((&links.next, &links.prev), (&None, &None));

    // Offset mode.
    let offset = expect_ok!(
        server,
        client
            .list_audit_logs()
            .page(2)
            .per_page(2)
            .sort_by("created_at")
            .sort_order("asc")
            .send()
    )
    .into_inner();
    assert_eq!(offset.count, Some(5));
    assert!(offset.next_page.as_deref().unwrap().contains("page=3"));
    assert!(offset.previous_page.as_deref().unwrap().contains("page=1"));
    assert!(offset.meta.is_none() && offset.links.is_none());
    assert_eq!(
        offset
            .audit_logs
            .iter()
            .map(|r| r.id.unwrap())
            .collect::<Vec<_>>(),
        [19283751977, 19283760342]
    );

    // The raw client does not enforce "exactly two values"; Zendesk answers 400.
    let rejected = expect_error_response(
        client
            .list_audit_logs()
            .filter_created_at(vec![window[0]])
            .send()
            .await,
    );
    assert_eq!(rejected.status(), 400);
    assert_eq!(rejected.error, Some(json!("InvalidValue")));
    assert!(
        rejected
            .description
            .as_deref()
            .unwrap()
            .contains("?filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ&filter[created_at][]=")
    );

    assert_requests_clean(&server, "GET", 4).await;
    server.verify().await;
}

/// `GET /api/v2/audit_logs/{audit_log_id}`: nullable `action_label` and `ip_address`,
/// and an unknown field kept in `extra`.
#[tokio::test]
async fn show_audit_log_decodes_nulls_and_unknown_fields() {
    let server = MockServer::start().await;
    mock_for("GET", "/api/v2/audit_logs/19283775120", None)
        .respond_with(json_fixture(200, "show_audit_log.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());

    let shown = expect_ok!(
        server,
        client.show_audit_log().audit_log_id(19283775120_i64).send()
    );
    assert_eq!(shown.status(), 200);
    let record = shown.into_inner().audit_log.expect("audit_log");
    assert_eq!(record.id, Some(19283775120));
    assert_eq!(
        record.url.as_deref(),
        Some("https://acme.zendesk.com/api/v2/audit_logs/19283775120.json")
    );
    assert_eq!(record.action.as_deref(), Some("exported"));
    assert_eq!(record.action_label, None, "action_label: null");
    assert_eq!(record.ip_address, None, "ip_address: null");
    assert_eq!(record.actor_id, Some(7700412231));
    assert_eq!(record.actor_name.as_deref(), Some("Priya Raman"));
    assert_eq!(record.created_at, Some(utc(2024, 3, 19, 2, 0, 4)));
    assert_eq!(record.extra.get("actor_type"), Some(&json!("api_token")));

    assert_requests_clean(&server, "GET", 1).await;
    server.verify().await;
}

/// `POST /api/v2/audit_logs/export`: all six filters in the query and no body; the empty
/// `202` comes back as `ResponseValue<()>`; a second export within the minute gets the
/// `429`, whose JSON:API error body and rate-limit headers are readable.
#[tokio::test]
async fn export_audit_logs_sends_filters_without_a_body_and_accepts_the_empty_202() {
    const QUERY: &str = "filter%5Baction%5D%5B%5D=update&filter%5Bactor_id%5D%5B%5D=7700412231\
                         &filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z\
                         &filter%5Bcreated_at%5D%5B%5D=2024-03-18T23%3A59%3A59Z\
                         &filter%5Bip_address%5D%5B%5D=203.0.113.54\
                         &filter%5Bsource_id%5D%5B%5D=9120734455\
                         &filter%5Bsource_type%5D%5B%5D=user";
    let server = MockServer::start().await;
    mock_for("POST", "/api/v2/audit_logs/export", Some(QUERY))
        .respond_with(ResponseTemplate::new(202))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mock_for("POST", "/api/v2/audit_logs/export", Some(QUERY))
        .respond_with(
            json_fixture(429, "error_export_rate_limited.json")
                .insert_header("retry-after", "41")
                .insert_header(
                    "zendesk-ratelimit-audit-logs-export",
                    "total=1; remaining=0; resets=41",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());
    let export = || {
        client
            .export_audit_logs()
            .filter_source_type(vec!["user".to_string()])
            .filter_source_id(vec![9120734455_i64])
            .filter_actor_id(vec![7700412231_i64])
            .filter_ip_address(vec!["203.0.113.54".to_string()])
            .filter_action(vec!["update".to_string()])
            .filter_created_at(vec![utc(2024, 3, 1, 0, 0, 0), utc(2024, 3, 18, 23, 59, 59)])
    };

    let accepted: ResponseValue<()> = expect_ok!(server, export().send());
    assert_eq!(accepted.status(), 202);
    assert_eq!(accepted.content_length(), Some(0));

    let error = export()
        .send()
        .await
        .expect_err("second export within a minute");
    assert!(error.is_retryable(), "429 is retryable");
    let limited = expect_error_response::<ResponseValue<()>>(Err(error));
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "41");
    assert_eq!(
        limited.headers()["zendesk-ratelimit-audit-logs-export"],
        "total=1; remaining=0; resets=41"
    );
    assert_eq!(limited.error, None);
    let errors = limited.errors.as_deref().expect("JSON:API errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code.as_deref(), Some("TooManyRequests"));
    assert_eq!(errors[0].status.as_deref(), Some("429"));
    assert!(
        errors[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("wait 1 minute")
    );

    assert_requests_clean(&server, "POST", 2).await;
    server.verify().await;
}

// ------------------------------------------------------------------------------------
// Non-JSON error bodies keep their status
// ------------------------------------------------------------------------------------

/// Gateways answer with HTML. Without the raw crate's hook progenitor would report an
/// `InvalidResponsePayload` without the status; with it the status and headers survive, so
/// the facade can tell a 502 (retry) from a garbled success.
#[tokio::test]
async fn an_html_gateway_error_keeps_its_status_and_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs/498483"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("content-type", "text/html; charset=utf-8")
                .insert_header("retry-after", "30")
                .set_body_string("<html><h1>503 Service Unavailable</h1></html>"),
        )
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());
    let error = expect_error_response(
        client
            .show_audit_log()
            .audit_log_id(498483_i64)
            .send()
            .await,
    );
    assert_eq!(error.status(), 503);
    assert_eq!(error.headers()["retry-after"], "30");
    // The page's text, on one line (an error message quotes it).
    assert_eq!(
        error.description.as_deref(),
        Some("503 Service Unavailable")
    );
}

/// Every audit record is `raw_support::Recorded`: its JSON comes back exactly as the server
/// sent it (unknown fields, explicit nulls, key order), beside the typed view.
#[tokio::test]
async fn records_keep_the_vendor_json_untouched() {
    let server = MockServer::start().await;
    let body = fixture_json("zendesk/list_audit_logs_cursor.json");
    Mock::given(method("GET"))
        .and(path("/api/v2/audit_logs"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body.to_string()))
        .mount(&server)
        .await;
    let page = Client::new(&server.uri())
        .list_audit_logs()
        .send()
        .await
        .unwrap()
        .into_inner();
    let sent = body["audit_logs"].as_array().unwrap();
    assert_eq!(page.audit_logs.len(), sent.len());
    for (record, original) in page.audit_logs.iter().zip(sent) {
        assert_eq!(record.raw().to_string(), original.to_string());
        assert_eq!(record.id, original["id"].as_i64());
    }
}
