//! Wire tests of the generated Genesys Cloud audit client (`genesys-raw`), one per operation of
//! `specs/genesys.yaml`.
//!
//! Each test runs the builder against a wiremock server and pins two things:
//!
//! - what goes out: method, path, query (wire names, encoding, repeated keys), the JSON body,
//!   and that progenitor's `api-version` header is stripped by the raw crate's hooks;
//! - what comes back: realistic bodies from `tests/fixtures/genesys/` decode into the generated
//!   types, including what Genesys really sends (empty strings and objects, `null`s, values and
//!   fields the spec does not list), and error bodies decode into `types::ErrorBody` with the
//!   response headers still readable.

use chrono::{DateTime, TimeZone, Utc};
use genesys_raw::{Client, Error, types};
use serde_json::{Value, json};
use trail_tests::fixture_json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The query id used throughout the fixtures.
const TRANSACTION_ID: &str = "4f1e2d3c-6b5a-4978-8c1d-2e3f4a5b6c7d";
/// The cursor of `results-page-first.json`: base64 with `+`, `/` and `=`, all of which must be
/// percent-encoded in the query string.
const CURSOR: &str = "eyJwYWdlIjoxLCJsYXN0IjpbMTcxNjIyMTM2NTAwMF19+/Zw==";
const CURSOR_ENCODED: &str = "eyJwYWdlIjoxLCJsYXN0IjpbMTcxNjIyMTM2NTAwMF19%2B%2FZw%3D%3D";
const CORRELATION_ID: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

fn fixture(name: &str) -> Value {
    fixture_json(&format!("genesys/{name}.json"))
}

/// A JSON response built from a fixture, with the correlation header Genesys always sends.
fn respond(status: u16, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(fixture(fixture_name))
        .insert_header("ININ-Correlation-Id", CORRELATION_ID)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid RFC 3339 in the test")
        .with_timezone(&Utc)
}

/// Every request the server received, after checking that none carries `api-version`.
async fn received(server: &MockServer) -> Vec<Request> {
    let requests = server
        .received_requests()
        .await
        .expect("request recording is on by default");
    for request in &requests {
        assert!(
            !request.headers.contains_key("api-version"),
            "{} {} carried an api-version header: {:?}",
            request.method,
            request.url,
            request.headers.get("api-version")
        );
    }
    requests
}

/// The decoded query pairs, sorted, so that a repeated key shows as repeated pairs.
fn query_pairs(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

/// Method and path of a request, then its JSON body compared as parsed JSON.
fn assert_json_post(request: &Request, expected_path: &str, expected_body: &Value) {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), expected_path);
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = request.body_json().expect("the request body is JSON");
    assert_eq!(&body, expected_body, "request body of POST {expected_path}");
}

fn assert_get(request: &Request, expected_path: &str) {
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), expected_path);
    assert!(request.body.is_empty(), "GET {expected_path} sent a body");
}

fn error_body(error: Error<types::ErrorBody>, status: u16) -> types::ErrorBody {
    match error {
        Error::ErrorResponse(response) => {
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response
                    .headers()
                    .get("inin-correlation-id")
                    .and_then(|v| v.to_str().ok()),
                Some(CORRELATION_ID)
            );
            response.into_inner()
        }
        other => panic!("expected a typed {status} error, got {other:?}"),
    }
}

fn timestamp_ascending() -> types::AuditQuerySort {
    types::AuditQuerySort {
        name: "Timestamp".to_string(),
        sort_order: "ascending".to_string(),
    }
}

fn filter(property: &str, value: &str) -> types::AuditQueryFilter {
    types::AuditQueryFilter {
        property: property.to_string(),
        value: value.to_string(),
    }
}

/// `postAuditsQuery`: the request body is the `AuditQueryRequest` we built; 202 and 200 both
/// decode as the status response (the vendor answers either); an interval over 31 days comes
/// back as a typed 400.
#[tokio::test]
async fn post_audits_query_sends_the_query_and_accepts_202_and_200() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(respond(202, "query-status-queued"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(respond(200, "query-status-running"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(respond(400, "error-400-interval-too-long"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());

    let create = client.post_audits_query().body_map(|body| {
        body.interval("2024-05-01T00:00:00.000Z/2024-05-31T00:00:00.000Z")
            .service_name("PeoplePermissions".to_string())
            .filters(vec![
                filter("EntityType", "Role"),
                filter("Action", "Update"),
            ])
            .sort(vec![timestamp_ascending()])
    });

    let accepted = create.clone().send().await.expect("202 is a success");
    assert_eq!(accepted.status().as_u16(), 202);
    assert_eq!(accepted.id.as_deref(), Some(TRANSACTION_ID));
    assert_eq!(accepted.state.as_deref(), Some("Queued"));
    assert_eq!(accepted.start_date, Some(utc("2024-06-01T08:00:01.123Z")));
    assert_eq!(
        accepted.interval.as_deref(),
        Some("2024-05-01T00:00:00.000Z/2024-05-31T00:00:00.000Z")
    );
    assert_eq!(accepted.service_name.as_deref(), Some("PeoplePermissions"));
    let echoed: Vec<(&str, &str)> = accepted
        .filters
        .iter()
        .flatten()
        .map(|f| (f.property.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(echoed, [("EntityType", "Role"), ("Action", "Update")]);
    let sort = accepted.sort.as_deref().expect("the sort is echoed");
    assert_eq!(sort.len(), 1);
    assert_eq!(sort[0].name, "Timestamp");
    assert_eq!(sort[0].sort_order, "ascending");

    let ok = create.send().await.expect("200 is a success too");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.state.as_deref(), Some("Running"));

    let too_long = client
        .post_audits_query()
        .body(types::AuditQueryRequest {
            interval: "2024-03-01T00:00:00Z/2024-05-01T00:00:00Z".to_string(),
            service_name: None,
            filters: vec![],
            sort: vec![],
        })
        .send()
        .await
        .expect_err("the server refused the interval");
    let refused = error_body(too_long, 400);
    assert_eq!(refused.code.as_deref(), Some("bad.request"));
    assert!(
        refused
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("31 days")
    );

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    let expected = json!({
        "interval": "2024-05-01T00:00:00.000Z/2024-05-31T00:00:00.000Z",
        "serviceName": "PeoplePermissions",
        "filters": [
            {"property": "EntityType", "value": "Role"},
            {"property": "Action", "value": "Update"}
        ],
        "sort": [{"name": "Timestamp", "sortOrder": "ascending"}]
    });
    for request in &requests[..2] {
        assert_json_post(request, "/api/v2/audits/query", &expected);
        assert_eq!(request.url.query(), None);
    }
    // Optional fields left empty are not sent at all (no `null`, no `[]`).
    assert_json_post(
        &requests[2],
        "/api/v2/audits/query",
        &json!({"interval": "2024-03-01T00:00:00Z/2024-05-01T00:00:00Z"}),
    );
}

/// `getAuditsQueryTransactionId`: a poll sequence 202 `Running` → 200 `Succeeded`; a state the
/// spec does not list (`Expired`), open-string filter and sort echoes, `null`s and unknown fields
/// still decode; an unknown id is a typed 404.
#[tokio::test]
async fn get_audits_query_transaction_id_polls_until_a_final_state() {
    let server = MockServer::start().await;
    let status_path = format!("/api/v2/audits/query/{TRANSACTION_ID}");
    for (status, name) in [
        (202, "query-status-running"),
        (200, "query-status-succeeded"),
    ] {
        Mock::given(method("GET"))
            .and(path(status_path.as_str()))
            .respond_with(respond(status, name))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(status_path.as_str()))
        .respond_with(respond(200, "query-status-unknown-state"))
        .expect(1)
        .mount(&server)
        .await;
    let unknown_id = "00000000-dead-4bad-8bad-000000000000";
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/audits/query/{unknown_id}")))
        .respond_with(respond(404, "error-404-not-found"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());
    let poll = client
        .get_audits_query_transaction_id()
        .transaction_id(TRANSACTION_ID);

    let running = poll.clone().send().await.expect("202 is a success");
    assert_eq!(running.status().as_u16(), 202);
    assert_eq!(running.id.as_deref(), Some(TRANSACTION_ID));
    assert_eq!(running.state.as_deref(), Some("Running"));

    let done = poll.clone().send().await.expect("200");
    assert_eq!(done.status().as_u16(), 200);
    assert_eq!(done.state.as_deref(), Some("Succeeded"));
    assert_eq!(done.filters.as_ref().map(Vec::len), Some(2));

    let expired = poll.send().await.expect("an unknown state must decode");
    assert_eq!(expired.state.as_deref(), Some("Expired"));
    assert_eq!(
        expired.start_date,
        Some(Utc.with_ymd_and_hms(2024, 6, 1, 8, 0, 1).unwrap())
    );
    assert_eq!(expired.service_name, None, "`null` decodes as absent");
    let (filters, sort) = (
        expired.filters.as_ref().unwrap(),
        expired.sort.as_ref().unwrap(),
    );
    assert_eq!(filters[0].property, "ApplicationId");
    assert_eq!(sort[0].name, "EventDate");
    assert_eq!(sort[0].sort_order, "desc");

    let missing = client
        .get_audits_query_transaction_id()
        .transaction_id(unknown_id)
        .send()
        .await
        .expect_err("unknown id");
    let not_found = error_body(missing, 404);
    assert_eq!(not_found.code.as_deref(), Some("not.found"));
    assert_eq!(not_found.entity_id.as_deref(), Some(unknown_id));

    let requests = received(&server).await;
    assert_eq!(requests.len(), 4);
    for request in &requests[..3] {
        assert_get(request, &status_path);
        assert_eq!(request.url.query(), None);
    }
    assert_get(&requests[3], &format!("/api/v2/audits/query/{unknown_id}"));
}

/// `getAuditsQueryTransactionIdResults`: `pageSize`, `expand=user`, the encoded `cursor`; a first
/// page with a cursor and expanded user names, a last page without either, with the awkward
/// values Genesys really sends; the 400 for a page that is too large; and the 302
/// large-results answer, which is only visible with redirects turned off.
#[tokio::test]
async fn get_audits_query_transaction_id_results_pages_with_a_cursor() {
    let server = MockServer::start().await;
    let results_path = format!("/api/v2/audits/query/{TRANSACTION_ID}/results");
    for (status, name) in [
        (200, "results-page-first"),
        (200, "results-page-last"),
        (400, "error-400-response-too-large"),
    ] {
        Mock::given(method("GET"))
            .and(path(results_path.as_str()))
            .respond_with(respond(status, name))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = Client::new(&server.uri());
    let results = client
        .get_audits_query_transaction_id_results()
        .transaction_id(TRANSACTION_ID)
        .page_size(3);

    // First page, with `expand=user`: a cursor, and users with names.
    let first = results
        .clone()
        .expand(vec![types::AuditExpand::User])
        .send()
        .await
        .expect("first page")
        .into_inner();
    assert_eq!(first.id.as_deref(), Some(TRANSACTION_ID));
    assert_eq!(first.page_size, Some(3));
    assert_eq!(first.cursor.as_deref(), Some(CURSOR));
    assert_eq!(first.entities.len(), 3);

    let role_update = &first.entities[0];
    assert_eq!(
        role_update.id.as_deref(),
        Some("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
    );
    let user = role_update.user.as_ref().expect("user");
    assert_eq!(user.name.as_deref(), Some("Priya Raman"));
    assert_eq!(
        user.self_uri.as_deref(),
        Some("/api/v2/users/5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d"),
        "selfUri is a relative path, kept as a plain string"
    );
    assert_eq!(role_update.remote_ip, ["203.0.113.10", "10.20.0.5"]);
    assert_eq!(
        role_update.event_date,
        Some(utc("2024-05-14T09:21:07.512Z"))
    );
    assert_eq!(role_update.level.as_deref(), Some("USER"));
    assert_eq!(role_update.status.as_deref(), Some("SUCCESS"));
    assert_eq!(role_update.entity_type.as_deref(), Some("Role"));
    let message = role_update.message.as_ref().expect("message");
    assert_eq!(
        message.message_with_params.as_deref(),
        Some("Role {roleName} was updated")
    );
    assert_eq!(
        message.message_params.get("roleName").map(String::as_str),
        Some("Supervisor")
    );
    assert_eq!(role_update.transaction_initiator, Some(true));
    assert_eq!(role_update.property_changes.len(), 2);
    let policies = &role_update.property_changes[0];
    assert_eq!(policies.property.as_deref(), Some("permissionPolicies"));
    assert_eq!(policies.old_values, ["routing:queue:view"]);
    assert_eq!(
        policies.new_values,
        ["routing:queue:view", "routing:queue:edit"]
    );
    assert!(role_update.property_changes[1].old_values.is_empty());

    let user_update = &first.entities[1];
    assert_eq!(user_update.transaction_initiator, Some(false));
    assert_eq!(
        user_update
            .initiating_action
            .as_ref()
            .and_then(|a| a.transaction_id.as_deref()),
        Some("7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
    );
    let role_granted = &user_update.entity_changes[0];
    assert_eq!(role_granted.entity_type.as_deref(), Some("Role"));
    assert_eq!(role_granted.entity_name.as_deref(), Some("Supervisor"));
    assert!(role_granted.old_values.is_empty());
    assert_eq!(role_granted.new_values, ["Supervisor"]);

    let failed_by_system = &first.entities[2];
    assert_eq!(failed_by_system.level.as_deref(), Some("SYSTEM"));
    assert_eq!(failed_by_system.status.as_deref(), Some("FAILURE"));
    assert!(failed_by_system.user.is_none());
    assert_eq!(
        failed_by_system.property_changes[0].new_values,
        ["45000"],
        "numbers arrive as strings"
    );

    // Last page, without `expand`: no cursor, users without names, awkward values.
    let last = results
        .clone()
        .cursor(CURSOR)
        .send()
        .await
        .expect("last page")
        .into_inner();
    assert_eq!(last.cursor, None, "the last page has no cursor");
    assert_eq!(last.entities.len(), 3);

    let export = &last.entities[0];
    let user = export.user.as_ref().expect("user");
    assert_eq!(
        user.id.as_deref(),
        Some("5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d")
    );
    assert_eq!(user.name, None, "not expanded");
    let client_ref = export.client.as_ref().expect("client");
    assert_eq!(client_ref.id.as_deref(), Some(""));
    assert_eq!(client_ref.self_uri, None);
    assert_eq!(export.application.as_deref(), Some(""));
    let initiating = export.initiating_action.as_ref().expect("`{}` decodes");
    assert!(initiating.transaction_id.is_none() && initiating.action_context.is_none());
    assert!(export.message.is_none());
    assert!(export.property_changes.is_empty());
    assert_eq!(
        export.context.get("ExportType").map(String::as_str),
        Some("CSV")
    );
    assert_eq!(export.event_date, Some(utc("2024-05-22T12:34:56Z")));

    let unknown = &last.entities[1];
    assert_eq!(unknown.service_name.as_deref(), Some("AgentCopilot"));
    assert_eq!(unknown.action.as_deref(), Some("BulkReassign"));
    assert_eq!(unknown.entity_type.as_deref(), Some("CopilotConfiguration"));
    assert_eq!(unknown.level.as_deref(), Some("PARTNER"));
    assert_eq!(unknown.status.as_deref(), Some("PARTIAL_SUCCESS"));
    assert_eq!(unknown.remote_ip[0], "2001:db8::7");
    assert_eq!(
        unknown.property_changes[0].new_values,
        ["Tier 1 Support", "Tier 2 Support"]
    );

    let nulls = &last.entities[2];
    assert_eq!(nulls.action.as_deref(), Some("Authenticate"));
    assert!(nulls.message.is_none());
    assert!(nulls.client.is_none());
    assert!(nulls.application.is_none());
    assert!(nulls.initiating_action.is_none());
    assert!(nulls.transaction_initiator.is_none());
    let entity = nulls.entity.as_ref().expect("entity");
    assert!(entity.name.is_none() && entity.self_uri.is_none());

    // A page over the size limit without `allowRedirect`: a typed 400 saying so.
    let too_large = results
        .clone()
        .page_size(500)
        .expand(vec![types::AuditExpand::User])
        .send()
        .await
        .expect_err("too large");
    assert_eq!(
        error_body(too_large, 400).code.as_deref(),
        Some("response.entity.too.large")
    );

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_get(request, &results_path);
    }
    assert_eq!(
        query_pairs(&requests[0]),
        pairs(&[("pageSize", "3"), ("expand", "user")])
    );
    assert_eq!(
        query_pairs(&requests[1]),
        pairs(&[("pageSize", "3"), ("cursor", CURSOR)])
    );
    let raw = requests[1].url.query().unwrap_or_default();
    assert!(
        raw.contains(&format!("cursor={CURSOR_ENCODED}")),
        "`+`, `/` and `=` of the cursor are percent-encoded: {raw}"
    );
    assert_eq!(
        query_pairs(&requests[2]),
        pairs(&[("pageSize", "500"), ("expand", "user")])
    );

    // `allowRedirect=true`: the page comes back as a 302 with a download link. Whether Genesys
    // sends a `Location` header is not documented; this mock does, the worst case.
    let redirecting = MockServer::start().await;
    let download_path = "/audit-results/page-0003.json";
    Mock::given(method("GET"))
        .and(path(results_path.as_str()))
        .respond_with(
            respond(302, "results-large-redirect")
                .insert_header("Location", format!("{}{download_path}", redirecting.uri())),
        )
        .expect(2)
        .mount(&redirecting)
        .await;
    Mock::given(method("GET"))
        .and(path(download_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&redirecting)
        .await;

    let no_redirects = Client::new_with_client(
        &redirecting.uri(),
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client"),
    );
    let large = no_redirects
        .get_audits_query_transaction_id_results()
        .transaction_id(TRANSACTION_ID)
        .page_size(500)
        .allow_redirect(true)
        .send()
        .await
        .expect_err("a 302 is not a success");
    let Error::UnexpectedResponse(response) = large else {
        panic!("expected the 302 as an unexpected response, got {large:?}");
    };
    assert_eq!(response.status().as_u16(), 302);
    let large: types::AuditQueryExecutionLargeResultsResponse =
        response.json().await.expect("the 302 body decodes");
    assert_eq!(large.id.as_deref(), Some(TRANSACTION_ID));
    assert_eq!(large.page_size, Some(500));
    assert_eq!(
        large.cursor.as_deref(),
        Some("eyJwYWdlIjozLCJsYXN0IjpbMTcxNjQ2MTIwMDAwMF19")
    );
    assert!(
        large
            .download_url
            .as_deref()
            .unwrap_or_default()
            .starts_with("https://prod-us-east-1-audit-query-results.s3.amazonaws.com/")
    );

    // With reqwest's default policy the 302 is followed to the download, whose JSON array is
    // not a results page: the facade must build its client without redirects.
    let followed = Client::new(&redirecting.uri())
        .get_audits_query_transaction_id_results()
        .transaction_id(TRANSACTION_ID)
        .allow_redirect(true)
        .send()
        .await
        .expect_err("the download is not a results page");
    assert!(
        matches!(followed, Error::InvalidResponsePayload(..)),
        "got {followed:?}"
    );

    let requests = received(&redirecting).await;
    assert_eq!(requests.len(), 3);
    assert_eq!(
        query_pairs(&requests[0]),
        pairs(&[("pageSize", "500"), ("allowRedirect", "true")])
    );
    assert_eq!(
        query_pairs(&requests[1]),
        pairs(&[("allowRedirect", "true")])
    );
    assert_eq!(requests[2].url.path(), download_path);
}

/// `getAuditsQueryServicemapping`: services, entity types and actions decode, including a
/// service and actions the spec never heard of, unknown fields and an entity without actions;
/// a missing permission is a typed 403.
#[tokio::test]
async fn get_audits_query_servicemapping_lists_services() {
    let server = MockServer::start().await;
    let mapping_path = "/api/v2/audits/query/servicemapping";
    for (status, name) in [
        (200, "servicemapping"),
        (403, "error-403-missing-permissions"),
    ] {
        Mock::given(method("GET"))
            .and(path(mapping_path))
            .respond_with(respond(status, name))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = Client::new(&server.uri());

    let mapping = client
        .get_audits_query_servicemapping()
        .send()
        .await
        .expect("mapping")
        .into_inner();
    let names: Vec<&str> = mapping
        .services
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert_eq!(
        names,
        [
            "PeoplePermissions",
            "Architect",
            "Routing",
            "AnalyticsReporting",
            "Directory",
            "AgentCopilot"
        ]
    );
    let architect = &mapping.services[1];
    assert_eq!(architect.entities[0].name.as_deref(), Some("Flow"));
    assert!(architect.entities[0].actions.iter().any(|a| a == "Publish"));
    let copilot = &mapping.services[5];
    assert_eq!(
        copilot.entities[0].actions,
        ["Create", "Update", "BulkReassign"]
    );
    assert_eq!(copilot.entities[1].name.as_deref(), Some("CopilotSummary"));
    assert!(copilot.entities[1].actions.is_empty());

    let forbidden = client
        .get_audits_query_servicemapping()
        .send()
        .await
        .expect_err("403");
    let forbidden = error_body(forbidden, 403);
    assert_eq!(forbidden.code.as_deref(), Some("missing.permissions"));
    assert_eq!(
        forbidden
            .message_params
            .get("permissions")
            .map(String::as_str),
        Some("[audits:audit:view]")
    );

    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_get(request, mapping_path);
        assert_eq!(request.url.query(), None);
    }
}

/// `postAuditsQueryRealtime`: `expand=user` in the query and the paging fields in the body; a
/// numbered page decodes; a 400 with nested `errors` and `details`; a 429 decodes as the typed
/// error with `Retry-After`, the `[12]` in its message and the `limit` that was hit.
#[tokio::test]
async fn post_audits_query_realtime_pages_by_number() {
    let server = MockServer::start().await;
    let realtime_path = "/api/v2/audits/query/realtime";
    Mock::given(method("POST"))
        .and(path(realtime_path))
        .respond_with(respond(200, "realtime-page"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(realtime_path))
        .respond_with(respond(400, "error-400-invalid-filter"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(realtime_path))
        .respond_with(
            respond(429, "error-429-retry-after")
                .insert_header("Retry-After", "12")
                .insert_header("inin-ratelimit-count", "301")
                .insert_header("inin-ratelimit-allowed", "300")
                .insert_header("inin-ratelimit-reset", "12"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());
    let query = types::AuditRealtimeQueryRequest {
        interval: "2024-05-13T00:00:00Z/2024-05-14T00:00:00Z".to_string(),
        service_name: Some("Architect".to_string()),
        filters: vec![filter("EntityType", "Flow")],
        sort: vec![timestamp_ascending()],
        page_number: Some(2),
        page_size: Some(2),
    };

    let page = client
        .post_audits_query_realtime()
        .expand(vec![types::AuditExpand::User])
        .body(query.clone())
        .send()
        .await
        .expect("page")
        .into_inner();
    assert_eq!(page.page_number, Some(2));
    assert_eq!(page.page_size, Some(2));
    assert_eq!(page.total, Some(5));
    assert_eq!(page.page_count, Some(3));
    assert_eq!(page.entities.len(), 2);
    let publish = &page.entities[0];
    assert_eq!(publish.action.as_deref(), Some("Publish"));
    assert_eq!(
        publish.user.as_ref().and_then(|u| u.name.as_deref()),
        Some("Lena Fischer")
    );
    assert_eq!(publish.property_changes[0].new_values, ["42.0"]);
    assert_eq!(page.entities[1].status.as_deref(), Some("WARNING"));
    assert_eq!(
        page.entities[1]
            .client
            .as_ref()
            .and_then(|c| c.id.as_deref()),
        Some("")
    );

    let lowercase = client
        .post_audits_query_realtime()
        .body(types::AuditRealtimeQueryRequest {
            filters: vec![filter("entityType", "Flow")],
            ..query.clone()
        })
        .send()
        .await
        .expect_err("400");
    let invalid = error_body(lowercase, 400);
    assert_eq!(invalid.code.as_deref(), Some("invalid.value"));
    assert_eq!(
        invalid.details[0].field_name.as_deref(),
        Some("filters[0].property")
    );
    assert_eq!(invalid.errors.len(), 1, "nested errors decode recursively");
    assert_eq!(invalid.errors[0].code.as_deref(), Some("invalid.value"));
    assert_eq!(
        invalid.errors[0].details[0].error_code.as_deref(),
        Some("invalid.value")
    );

    let limited = client
        .post_audits_query_realtime()
        .body(query)
        .send()
        .await
        .expect_err("429");
    assert!(limited.is_retryable());
    let Error::ErrorResponse(response) = limited else {
        panic!("expected the typed 429, got {limited:?}");
    };
    assert_eq!(response.status().as_u16(), 429);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("retry-after").as_deref(), Some("12"));
    assert_eq!(header("inin-ratelimit-allowed").as_deref(), Some("300"));
    assert_eq!(
        header("inin-correlation-id").as_deref(),
        Some(CORRELATION_ID)
    );
    let body = response.into_inner();
    assert_eq!(body.code.as_deref(), Some("too.many.requests.retry.after"));
    assert_eq!(body.status, Some(429));
    let message = body.message.as_deref().unwrap_or_default();
    let seconds: u64 = message
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(n, _)| n.parse().ok())
        .expect("the message says how long to wait in brackets");
    assert_eq!(seconds, 12);
    assert_eq!(
        body.context_id.as_deref(),
        Some("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    );
    let limit = body.limit.expect("limit");
    assert_eq!(limit.namespace.as_deref(), Some("platform.api"));
    assert_eq!(
        limit.key.as_deref(),
        Some("client.credentials.token.rate.per.minute")
    );
    assert_eq!(limit.value, Some(300));

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    let expected = json!({
        "interval": "2024-05-13T00:00:00Z/2024-05-14T00:00:00Z",
        "serviceName": "Architect",
        "filters": [{"property": "EntityType", "value": "Flow"}],
        "sort": [{"name": "Timestamp", "sortOrder": "ascending"}],
        "pageNumber": 2,
        "pageSize": 2
    });
    assert_json_post(&requests[0], realtime_path, &expected);
    assert_eq!(requests[0].url.query(), Some("expand=user"));
    let mut lowercase_body = expected.clone();
    lowercase_body["filters"][0]["property"] = json!("entityType");
    assert_json_post(&requests[1], realtime_path, &lowercase_body);
    assert_eq!(requests[1].url.query(), None);
    assert_json_post(&requests[2], realtime_path, &expected);
}

/// `getAuditsQueryRealtimeServicemapping`: its own path, the same mapping type; an expired
/// token is a typed 401.
#[tokio::test]
async fn get_audits_query_realtime_servicemapping_lists_realtime_services() {
    let server = MockServer::start().await;
    let mapping_path = "/api/v2/audits/query/realtime/servicemapping";
    for (status, name) in [
        (200, "realtime-servicemapping"),
        (401, "error-401-bad-credentials"),
    ] {
        Mock::given(method("GET"))
            .and(path(mapping_path))
            .respond_with(respond(status, name))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = Client::new(&server.uri());

    let mapping = client
        .get_audits_query_realtime_servicemapping()
        .send()
        .await
        .expect("mapping")
        .into_inner();
    let names: Vec<&str> = mapping
        .services
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert_eq!(names, ["Architect", "PeoplePermissions", "Routing"]);
    assert_eq!(
        mapping.services[1].entities[1].name.as_deref(),
        Some("Role")
    );
    assert_eq!(
        mapping.services[2].entities[0].actions,
        ["Create", "Update", "Delete"]
    );

    let unauthorized = client
        .get_audits_query_realtime_servicemapping()
        .send()
        .await
        .expect_err("401");
    assert_eq!(
        error_body(unauthorized, 401).code.as_deref(),
        Some("bad.credentials")
    );

    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_get(request, mapping_path);
        assert_eq!(request.url.query(), None);
    }
}

/// `postAuditsQueryRealtimeRelated`: the body names one audit (and the trustor org), `expand` is
/// sent as one `expand=` key per element; the records of the same transaction decode.
#[tokio::test]
async fn post_audits_query_realtime_related_returns_the_transaction() {
    let server = MockServer::start().await;
    let related_path = "/api/v2/audits/query/realtime/related";
    Mock::given(method("POST"))
        .and(path(related_path))
        .respond_with(respond(200, "realtime-related"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri());

    let related = client
        .post_audits_query_realtime_related()
        // One element per `expand=` key: a list is never joined with commas.
        .expand(vec![types::AuditExpand::User, types::AuditExpand::User])
        .body(types::AuditRealtimeRelatedRequest {
            audit_id: "1a9f2b3c-4d5e-4f60-8172-839a4b5c6d7e".to_string(),
            trustor_org_id: Some("2b4d6f80-1a3c-4e5f-9718-2a3b4c5d6e7f".to_string()),
            sort: vec![timestamp_ascending()],
        })
        .send()
        .await
        .expect("related")
        .into_inner();
    assert_eq!(related.entities.len(), 2);
    let transactions: Vec<Option<&str>> = related
        .entities
        .iter()
        .map(|e| {
            e.initiating_action
                .as_ref()
                .and_then(|a| a.transaction_id.as_deref())
        })
        .collect();
    assert_eq!(
        transactions,
        [Some("7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"); 2]
    );
    let initiators: Vec<Option<bool>> = related
        .entities
        .iter()
        .map(|e| e.transaction_initiator)
        .collect();
    assert_eq!(initiators, [Some(true), Some(false)]);
    assert_eq!(related.entities[1].entity_type.as_deref(), Some("User"));
    assert_eq!(
        related.entities[1]
            .context
            .get("divisionId")
            .map(String::as_str),
        Some("b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e")
    );

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_json_post(
        &requests[0],
        related_path,
        &json!({
            "auditId": "1a9f2b3c-4d5e-4f60-8172-839a4b5c6d7e",
            "trustorOrgId": "2b4d6f80-1a3c-4e5f-9718-2a3b4c5d6e7f",
            "sort": [{"name": "Timestamp", "sortOrder": "ascending"}]
        }),
    );
    assert_eq!(requests[0].url.query(), Some("expand=user&expand=user"));
}

/// Every audit message is `raw_support::Recorded`: its JSON comes back exactly as the server
/// sent it (unknown fields, explicit nulls, key order), beside the typed view.
#[tokio::test]
async fn records_keep_the_vendor_json_untouched() {
    let server = MockServer::start().await;
    let body = fixture("results-page-last");
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q-1/results"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body.to_string()))
        .mount(&server)
        .await;
    let page = Client::new(&server.uri())
        .get_audits_query_transaction_id_results()
        .transaction_id("q-1")
        .send()
        .await
        .unwrap()
        .into_inner();
    let sent = body["entities"].as_array().unwrap();
    assert_eq!(page.entities.len(), sent.len());
    for (record, original) in page.entities.iter().zip(sent) {
        assert_eq!(record.raw().to_string(), original.to_string());
        assert_eq!(record.id.as_deref(), original["id"].as_str());
    }
}

/// A status that echoes `"filters": null` / `"sort": null` decodes: polling must not break on it.
#[tokio::test]
async fn a_status_echoing_null_filters_and_sort_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q-9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "q-9", "state": "Running", "filters": null, "sort": null
        })))
        .mount(&server)
        .await;
    let status = Client::new(&server.uri())
        .get_audits_query_transaction_id()
        .transaction_id("q-9")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state.as_deref(), Some("Running"));
    assert!(status.filters.is_none() && status.sort.is_none());
}
