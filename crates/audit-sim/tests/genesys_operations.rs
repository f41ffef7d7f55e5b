//! The Genesys token endpoint and the seven audit operations, with the generated raw client:
//! every answer decodes; the lifecycle, the limits, token expiry and the redirect download
//! behave as described.

mod common;

use std::time::Duration;

use audit_sim::Stream;
use common::*;
use genesys_raw::{Error, types};

fn error_body<T: std::fmt::Debug>(e: Error<T>) -> (u16, T, reqwest::header::HeaderMap) {
    match e {
        Error::ErrorResponse(r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (status, r.into_inner(), headers)
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[tokio::test]
async fn token_endpoint_credentials_and_expiry() {
    let mut c = config();
    c.genesys.token_expires_in = 1;
    let sim = start(c).await;
    let creds = sim.tenant_credentials("acme").unwrap();
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth/token", sim.genesys_login_url());

    let bad = http
        .post(&token_url)
        .basic_auth(&creds.genesys_client_id, Some("wrong"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let grant = http
        .post(&token_url)
        .basic_auth(&creds.genesys_client_id, Some(&creds.genesys_client_secret))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    let ok: serde_json::Value = http
        .post(&token_url)
        .basic_auth(&creds.genesys_client_id, Some(&creds.genesys_client_secret))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["token_type"], "bearer");
    assert_eq!(ok["expires_in"], 1);
    let token = ok["access_token"].as_str().unwrap().to_string();

    // The token endpoint lives only on the login host, the API only on the API host.
    let r = http
        .post(format!("{}/oauth/token", sim.genesys_api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "the API host has no token endpoint and wants a token"
    );
    let r = http
        .get(format!(
            "{}/api/v2/audits/query/servicemapping",
            sim.genesys_login_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let client =
        genesys_raw::Client::new_with_client(sim.genesys_api_url(), http_with(bearer(&token)));
    client
        .get_audits_query_servicemapping()
        .send()
        .await
        .unwrap();
    // No token at all.
    let anonymous = genesys_raw::Client::new(sim.genesys_api_url());
    let (status, body, headers) = error_body(
        anonymous
            .get_audits_query_servicemapping()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.code.as_deref()),
        (401, Some("authentication.required"))
    );
    assert!(headers.contains_key("inin-correlation-id"));
    // The token expires for real.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body, _) = error_body(
        client
            .get_audits_query_servicemapping()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.code.as_deref()),
        (401, Some("bad.credentials"))
    );
    assert_eq!(sim.stats().tokens_issued, 1);
}

#[tokio::test]
async fn all_seven_operations_decode() {
    let sim = start(config()).await;
    let g = genesys(&sim, "acme").await;

    // postAuditsQuery, getAuditsQueryTransactionId (202 then 200), results.
    let created = g
        .post_audits_query()
        .body(query("2024-03-05T00:00:00Z/2024-03-12T00:00:00Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 202);
    let created = created.into_inner();
    assert_eq!(created.state.as_deref(), Some("Queued"));
    assert_eq!(
        created.interval.as_deref(),
        Some("2024-03-05T00:00:00.000Z/2024-03-12T00:00:00.000Z")
    );
    let id = created.id.unwrap();
    let mut states = vec![];
    let status = loop {
        let s = g
            .get_audits_query_transaction_id()
            .transaction_id(&id)
            .send()
            .await
            .unwrap();
        let code = s.status().as_u16();
        let s = s.into_inner();
        let state = s.state.clone().unwrap();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if state == "Succeeded" {
            assert_eq!(code, 200);
            break s;
        }
        assert_eq!(code, 202);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(states, ["Queued", "Running", "Succeeded"]);
    assert_eq!(status.sort.as_ref().map(Vec::len), Some(1));
    let page = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .page_size(50)
        .expand(vec![types::AuditExpand::User])
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.entities.len(), 50);
    assert_eq!(page.page_size, Some(50));
    assert!(page.cursor.is_some());
    assert!(
        page.entities
            .iter()
            .any(|e| e.user.as_ref().is_some_and(|u| u.name.is_some())),
        "expand=user adds names"
    );
    let plain = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plain.entities.len(), 25, "pageSize defaults to 25");
    assert!(
        plain
            .entities
            .iter()
            .all(|e| e.user.as_ref().is_none_or(|u| u.name.is_none()))
    );
    for e in &page.entities {
        assert!(e.id.is_some() && e.event_date.is_some() && e.service_name.is_some());
    }

    // Service mappings.
    let all = g
        .get_audits_query_servicemapping()
        .send()
        .await
        .unwrap()
        .into_inner();
    let rt = g
        .get_audits_query_realtime_servicemapping()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        rt.services.len() < all.services.len(),
        "realtime covers fewer services"
    );
    assert!(all.services.iter().all(|s| !s.entities.is_empty()));

    // Realtime (needs recent data) and related.
    let mut recent = config();
    recent.tenants[0].start = "now-20d".parse().unwrap();
    recent.tenants[0].end = "now".parse().unwrap();
    let sim2 = start(recent).await;
    let g2 = genesys(&sim2, "acme").await;
    let now = chrono::Utc::now();
    let interval = format!(
        "{}/{}",
        (now - chrono::Duration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let rt_page = g2
        .post_audits_query_realtime()
        .expand(vec![types::AuditExpand::User])
        .body(types::AuditRealtimeQueryRequest {
            filters: vec![],
            interval,
            page_number: Some(2),
            page_size: Some(20),
            service_name: None,
            sort: ascending(),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rt_page.entities.len(), 20);
    assert_eq!(rt_page.page_number, Some(2));
    let total = rt_page.total.unwrap();
    assert_eq!(rt_page.page_count, Some(((total + 19) / 20) as i32));
    let member = rt_page
        .entities
        .iter()
        .find(|e| {
            e.initiating_action
                .as_ref()
                .is_some_and(|a| a.transaction_id.is_some())
        })
        .expect("some records belong to a transaction");
    let tx = member
        .initiating_action
        .as_ref()
        .unwrap()
        .transaction_id
        .clone();
    let related = g2
        .post_audits_query_realtime_related()
        .body(types::AuditRealtimeRelatedRequest {
            audit_id: member.id.clone().unwrap(),
            sort: ascending(),
            trustor_org_id: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(related.entities.len() >= 2);
    assert!(
        related
            .entities
            .iter()
            .all(|e| e.initiating_action.as_ref().unwrap().transaction_id == tx)
    );
    assert_eq!(
        related
            .entities
            .iter()
            .filter(|e| e.transaction_initiator == Some(true))
            .count(),
        1
    );
    assert!(related.entities.iter().any(|e| e.id == member.id));
    let (status, body, _) = error_body(
        g2.post_audits_query_realtime_related()
            .body(types::AuditRealtimeRelatedRequest {
                audit_id: "0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b".into(),
                sort: vec![],
                trustor_org_id: None,
            })
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, body.code.as_deref()), (404, Some("not.found")));

    let stats = sim.stats();
    for op in [
        "postAuditsQuery",
        "getAuditsQueryTransactionId",
        "getAuditsQueryTransactionIdResults",
        "getAuditsQueryServicemapping",
        "getAuditsQueryRealtimeServicemapping",
    ] {
        assert!(stats.requests_of(&format!("genesys.{op}")) > 0, "{op}");
    }
    let stats2 = sim2.stats();
    assert!(stats2.requests_of("genesys.postAuditsQueryRealtime") > 0);
    assert!(stats2.requests_of("genesys.postAuditsQueryRealtimeRelated") > 0);
}

#[tokio::test]
async fn failed_queries_interval_limit_and_one_query_at_a_time() {
    let mut c = config();
    c.genesys.query_queued_ms = 80;
    c.genesys.query_running_ms = 80;
    c.genesys.query_fail_nth = vec![2];
    let sim = start(c).await;
    let g = genesys(&sim, "acme").await;

    // 31 days is the limit.
    let (status, body, _) = error_body(
        g.post_audits_query()
            .body(query("2024-03-01T00:00:00Z/2024-04-02T00:00:00Z"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert_eq!(body.code.as_deref(), Some("bad.request"));
    assert_eq!(
        body.message.as_deref(),
        Some(
            "You must specify a search interval as part of your query that does not exceed 31 days."
        )
    );
    let (status, body, _) = error_body(
        g.post_audits_query()
            .body(query("yesterday/today"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, body.code.as_deref()), (400, Some("invalid.date")));
    let mut bad_filter = query("2024-03-01T00:00:00Z/2024-03-02T00:00:00Z");
    bad_filter.filters.push(types::AuditQueryFilter {
        property: "entityType".into(),
        value: "User".into(),
    });
    let (status, body, _) = error_body(
        g.post_audits_query()
            .body(bad_filter)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, body.code.as_deref()), (400, Some("invalid.value")));

    // The first query (exactly 31 days) runs; a second one meanwhile is refused.
    let first = g
        .post_audits_query()
        .body(query("2024-03-01T00:00:00Z/2024-04-01T00:00:00Z"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let (status, body, headers) = error_body(
        g.post_audits_query()
            .body(query("2024-03-01T00:00:00Z/2024-03-02T00:00:00Z"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.code.as_deref()),
        (429, Some("too.many.requests.retry.after"))
    );
    assert!(headers.contains_key("retry-after"));
    assert!(body.message.unwrap().contains("Retry the request in ["));
    // Results are refused until it has succeeded.
    let (status, _, _) = error_body(
        g.get_audits_query_transaction_id_results()
            .transaction_id(first.id.clone().unwrap())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The second query of the tenant fails, as configured.
    let second = g
        .post_audits_query()
        .body(query("2024-03-01T00:00:00Z/2024-03-02T00:00:00Z"))
        .send()
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = g
        .get_audits_query_transaction_id()
        .transaction_id(second.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(s.status().as_u16(), 200);
    assert_eq!(s.into_inner().state.as_deref(), Some("Failed"));
    let (status, _, _) = error_body(
        g.get_audits_query_transaction_id_results()
            .transaction_id(second.id.unwrap())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    // Unknown ids.
    let (status, body, _) = error_body(
        g.get_audits_query_transaction_id()
            .transaction_id("nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, body.code.as_deref()), (404, Some("not.found")));
    // The first one's results are still there.
    g.get_audits_query_transaction_id_results()
        .transaction_id(first.id.unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn large_pages_redirect_to_a_download_host_that_refuses_credentials() {
    let mut c = config();
    c.genesys.redirect_threshold = 100;
    c.genesys.too_large_threshold = 300;
    let sim = start(c).await;
    let g = genesys(&sim, "acme").await;
    let id = run_query(&g, query("2024-03-05T00:00:00Z/2024-03-15T00:00:00Z")).await;
    let truth = sim
        .ground_truth(
            "acme",
            Stream::GenesysAudits { service: None },
            at("2024-03-05T00:00:00Z"),
            at("2024-03-15T00:00:00Z"),
        )
        .unwrap();
    assert!(truth.len() > 400);

    // Without allowRedirect, a page over the size limit is refused.
    let (status, body, _) = error_body(
        g.get_audits_query_transaction_id_results()
            .transaction_id(&id)
            .page_size(400)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.code.as_deref()),
        (400, Some("response.entity.too.large"))
    );

    // With allowRedirect, a 302 (no Location) whose body points at the download host.
    let err = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .page_size(150)
        .allow_redirect(true)
        .expand(vec![types::AuditExpand::User])
        .send()
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(response) = err else {
        panic!("expected the 302, got {err:?}")
    };
    assert_eq!(response.status().as_u16(), 302);
    assert!(response.headers().get("location").is_none());
    let large: types::AuditQueryExecutionLargeResultsResponse = response.json().await.unwrap();
    let url = large.download_url.unwrap();
    assert!(url.starts_with(sim.download_url()), "{url}");
    assert_ne!(sim.download_url(), sim.genesys_api_url());

    // The download host refuses a request carrying Authorization …
    let token = genesys_token(&sim, "acme").await;
    let refused = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(sim.stats().download_auth_rejected, 1);
    // … and answers a plain one with the records, not expanded.
    let records: Vec<serde_json::Value> = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let ids: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, truth[..150]);
    assert!(records.iter().all(|r| r["user"].get("name").is_none()));
    // A tampered URL is refused.
    let tampered = reqwest::get(url.replace("page-start-150", "page-start-151"))
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);

    // The cursor continues after the downloaded records; small pages come inline.
    let next = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .page_size(50)
        .allow_redirect(true)
        .cursor(large.cursor.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let next_ids: Vec<String> = next
        .entities
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(next_ids, truth[150..200]);
}
