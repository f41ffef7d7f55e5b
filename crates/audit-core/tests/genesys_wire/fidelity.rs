//! Where the facade must do what Genesys specifies (issue 16): a results 302 is read, never
//! followed; the query submission is not repeated after an ambiguous failure; pages too
//! large shrink (realtime too) and, at the smallest size, give up `expand=user`.

use std::sync::Arc;

use audit_core::genesys::{AuditQuery, ResultsRequest};
use audit_core::{Error, Window};
use chrono::{SubsecRound, TimeDelta, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

fn too_large() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "message": "The response is over the size limit. Reduce pageSize or expand list to reduce response size if applicable",
        "code": "response.entity.too.large", "status": 400, "contextId": "ctx-large",
        "details": [], "errors": []
    }))
}

#[tokio::test(start_paused = true)]
async fn a_results_302_is_read_and_its_location_never_followed_with_the_token() {
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(3, since, TimeDelta::seconds(1))).await;
    let download = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/page.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(Value::Array(records(
                3,
                since,
                TimeDelta::seconds(1),
            ))),
        )
        .mount(&download)
        .await;
    // The 302 points back at the API host itself: a client that follows redirects sends the
    // bearer token there and loses the body's `downloadUrl` and `cursor`.
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q1/results"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/elsewhere", fake.api.uri()).as_str())
                .set_body_json(json!({
                    "id": "q1", "pageSize": 25, "downloadUrl": format!("{}/page.json", download.uri())
                })),
        )
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let query = AuditQuery::new(since, since + TimeDelta::hours(1));
    client.run_audit_query(&query).await.unwrap();
    let page = client
        .audit_query_results("q1", &ResultsRequest::default().allow_redirect(true))
        .await
        .unwrap();
    assert!(page.downloaded);
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.cursor, None);
    let elsewhere = fake
        .api
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/elsewhere")
        .count();
    assert_eq!(elsewhere, 0, "the redirect was followed");
    let downloads = download.received_requests().await.unwrap();
    assert_eq!(downloads.len(), 1);
    assert!(downloads[0].headers.get("authorization").is_none());
}

fn posts(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/v2/audits/query")
        .count()
}

#[tokio::test(start_paused = true)]
async fn the_query_post_is_not_repeated_after_a_server_error() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"code": "internal.server.error"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let query = AuditQuery::new(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"));
    let error = client.submit_audit_query(&query).await.unwrap_err();
    assert_eq!(error.status(), Some(500), "{error:?}");
    // Genesys may have started the query: a second POST would start another, which with one
    // query per organisation and no cancel operation blocks the organisation until it ends.
    assert_eq!(posts(&fake.api.received_requests().await.unwrap()), 1);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test(start_paused = true)]
async fn the_query_post_is_retried_after_a_429_that_says_it_was_not_processed() {
    let fake = Fake::start(Vec::new()).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let query = AuditQuery::new(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"));
    let status = client.submit_audit_query(&query).await.unwrap();
    assert_eq!(status.id, "q1");
    assert_eq!(posts(&fake.api.received_requests().await.unwrap()), 2);
}

#[tokio::test(start_paused = true)]
async fn the_query_post_is_retried_when_no_connection_could_be_opened() {
    let fake = Fake::start(Vec::new()).await;
    // A port nothing listens on: the request never left.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client = fake
        .builder()
        .api_base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let query = AuditQuery::new(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"));
    let error = client.submit_audit_query(&query).await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { .. }),
        "a connection that never opened is retried: {error:?}"
    );
    assert!(client.stats().retries > 0);
}

/// Refuses as too large every realtime page over `max` records, and every page asked for
/// with `expand=user`; serves the rest from the fake.
struct Refusing {
    fake: FakeApi,
    max: u64,
}

impl Respond for Refusing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let expanded = request
            .url
            .query_pairs()
            .any(|(k, v)| k == "expand" && v == "user");
        let size = if request.url.path().ends_with("/results") {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == "pageSize")
                .map_or(25, |(_, v)| v.parse().unwrap())
        } else {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            body["pageSize"].as_u64().unwrap_or(25)
        };
        if expanded || size > self.max {
            self.fake.0.log.lock().unwrap().push(format!(
                "REFUSED {size}{}",
                if expanded { " expanded" } else { "" }
            ));
            return too_large();
        }
        self.fake.respond(request)
    }
}

#[tokio::test(start_paused = true)]
async fn a_realtime_page_too_large_halves_the_page_size_and_the_walk_stays_exact() {
    let start = (Utc::now() - TimeDelta::days(2)).trunc_subsecs(0);
    let fake = Fake::start(records(45, start, TimeDelta::minutes(1))).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/audits/query/realtime"))
        .respond_with(Refusing {
            fake: FakeApi(Arc::clone(&fake.state)),
            max: 12,
        })
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let window = Window::between(start, start + TimeDelta::days(1)).unwrap();
    // Without `expand=user` (on by default), so that only the size is at stake here; the
    // fallback that drops it has its own test.
    let events: Vec<_> = client
        .realtime_events(window)
        .page_size(40)
        .expand_user(false)
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        ids(&events),
        (0..45).map(|i| format!("r{i:03}")).collect::<Vec<_>>()
    );
    let log: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("REFUSED") || l.starts_with("REALTIME"))
        .collect();
    assert_eq!(
        log[..3],
        ["REFUSED 40", "REFUSED 20", "REALTIME 1 10"],
        "{log:?}"
    );
    assert!(
        log[3..].iter().all(|l| l.ends_with(" 10")),
        "the size stays halved: {log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn realtime_page_sizes_above_500_are_not_refused() {
    let start = (Utc::now() - TimeDelta::days(2)).trunc_subsecs(0);
    let fake = Fake::start(records(3, start, TimeDelta::minutes(1))).await;
    let client = fake.client();
    let window = Window::between(start, start + TimeDelta::days(1)).unwrap();
    let events: Vec<_> = client
        .realtime_events(window)
        .page_size(1000)
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    let bodies = fake.state.realtime_bodies.lock().unwrap().clone();
    assert_eq!(bodies[0]["pageSize"], 1000);
}

#[tokio::test(start_paused = true)]
async fn results_too_large_at_the_smallest_size_are_asked_for_without_expand() {
    let since = at("2024-05-01T00:00:00Z");
    let fake = Fake::start(records(30, since, TimeDelta::seconds(1))).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/audits/query/q1/results"))
        .respond_with(Refusing {
            fake: FakeApi(Arc::clone(&fake.state)),
            max: 500,
        })
        .with_priority(1)
        .mount(&fake.api)
        .await;
    let client = fake.client();
    let window = Window::between(since, since + TimeDelta::hours(1)).unwrap();
    let events: Vec<_> = client
        .audit_events(window)
        .page_size(40)
        .expand_user(true)
        .events()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 30);
    let log: Vec<String> = fake
        .state
        .log()
        .into_iter()
        .filter(|l| l.starts_with("REFUSED") || l.starts_with("RESULTS"))
        .collect();
    assert_eq!(
        log,
        [
            "REFUSED 40 expanded",
            "REFUSED 20 expanded",
            "REFUSED 10 expanded",
            "RESULTS q1 - 10",
            "RESULTS q1 10 10",
            "RESULTS q1 20 10",
        ]
    );
    let requests = fake.api.received_requests().await.unwrap();
    let unexpanded = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/results"))
        .skip(3);
    for request in unexpanded {
        assert!(
            !request.url.query().unwrap_or_default().contains("expand"),
            "expand stays given up for the rest of the walk: {}",
            request.url
        );
    }
}
