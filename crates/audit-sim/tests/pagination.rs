//! Every pagination style visits exactly the ground-truth ids of a window, in the stream's
//! order, including when records share a timestamp across a page boundary; filters and sort
//! behave as the references say.

mod common;

use std::collections::HashSet;

use audit_sim::{SimConfig, Stream, TimeSpec};
use chrono::{DateTime, Utc};
use common::*;
use genesys_raw::types;

/// Dense data (several records per second) over a short past span.
fn dense() -> SimConfig {
    let mut c = SimConfig::default();
    let t = &mut c.tenants[0];
    t.start = "2024-03-10T00:00:00Z".parse::<TimeSpec>().unwrap();
    t.end = "2024-03-10T00:30:00Z".parse::<TimeSpec>().unwrap();
    t.zendesk.ticket_audits = 4000;
    t.zendesk.audit_logs = 4000;
    t.genesys.audits = 4000;
    c
}

const W_START: &str = "2024-03-10T00:05:00Z";
const W_END: &str = "2024-03-10T00:20:00Z";

fn ties_across_boundaries(times: &[DateTime<Utc>], page: usize) -> usize {
    (page..times.len())
        .step_by(page)
        .filter(|&k| times[k] == times[k - 1])
        .count()
}

#[tokio::test]
async fn audit_logs_cursor_and_offset_visit_the_ground_truth() {
    let sim = start(dense()).await;
    let zd = zendesk(&sim, "acme");
    let truth = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, at(W_START), at(W_END))
        .unwrap();
    assert!(truth.len() > 1500);

    // Cursor, ascending, 100 per page.
    let mut ids = vec![];
    let mut times = vec![];
    let mut after: Option<String> = None;
    loop {
        let mut req = zd
            .list_audit_logs()
            .page_size(100)
            .sort("created_at")
            .filter_created_at(vec![at(W_START), at(W_END)]);
        if let Some(a) = &after {
            req = req.page_after(a.clone());
        }
        let page = req.send().await.unwrap().into_inner();
        for r in &page.audit_logs {
            ids.push(r.id.unwrap().to_string());
            times.push(r.created_at.unwrap());
        }
        let meta = page.meta.unwrap();
        if !meta.has_more.unwrap() {
            assert!(page.links.unwrap().next.is_none());
            break;
        }
        after = meta.after_cursor;
    }
    assert_eq!(ids, truth);
    assert!(
        ties_across_boundaries(&times, 100) > 0,
        "the window has ties across page boundaries"
    );
    assert_eq!(
        times.first().unwrap(),
        &at(W_START),
        "the start bound is inclusive"
    );
    assert_eq!(
        times.last().unwrap(),
        &at(W_END),
        "the end bound is inclusive"
    );

    // Cursor, descending (the default sort), by following links.next.
    let http = http_with(zendesk_headers(&sim, "acme"));
    let mut url = format!(
        "{}/api/v2/audit_logs?filter%5Bcreated_at%5D%5B%5D={}&filter%5Bcreated_at%5D%5B%5D={}&page%5Bsize%5D=77",
        sim.zendesk_url(),
        W_START.replace(':', "%3A"),
        W_END.replace(':', "%3A")
    );
    let mut desc = vec![];
    loop {
        let page: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        desc.extend(
            page["audit_logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].to_string()),
        );
        match page["links"]["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let mut reversed = truth.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);

    // page[before] walks back.
    let first = zd
        .list_audit_logs()
        .page_size(10)
        .sort("created_at")
        .filter_created_at(vec![at(W_START), at(W_END)])
        .send()
        .await
        .unwrap()
        .into_inner();
    let second = zd
        .list_audit_logs()
        .page_size(10)
        .sort("created_at")
        .filter_created_at(vec![at(W_START), at(W_END)])
        .page_after(first.meta.unwrap().after_cursor.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let back = zd
        .list_audit_logs()
        .page_size(10)
        .sort("created_at")
        .filter_created_at(vec![at(W_START), at(W_END)])
        .page_before(second.meta.unwrap().before_cursor.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let back_ids: Vec<String> = back
        .audit_logs
        .iter()
        .map(|r| r.id.unwrap().to_string())
        .collect();
    assert_eq!(back_ids, truth[..10]);

    // Offset, ascending and descending.
    for (order, expected) in [("asc", truth.clone()), ("desc", reversed.clone())] {
        let mut ids = vec![];
        let mut page_no = 1;
        loop {
            let page = zd
                .list_audit_logs()
                .page(page_no)
                .per_page(100)
                .sort_order(order)
                .filter_created_at(vec![at(W_START), at(W_END)])
                .send()
                .await
                .unwrap()
                .into_inner();
            assert_eq!(page.count, Some(truth.len() as i64));
            ids.extend(page.audit_logs.iter().map(|r| r.id.unwrap().to_string()));
            if page.next_page.is_none() {
                break;
            }
            page_no += 1;
        }
        assert_eq!(ids, expected, "offset {order}");
    }
}

#[tokio::test]
async fn audit_log_filters_select_what_they_say() {
    let sim = start(dense()).await;
    let zd = zendesk(&sim, "acme");
    let truth = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, at(W_START), at(W_END))
        .unwrap();
    // Every record of the window, to filter locally.
    let mut all = vec![];
    let mut page_no = 1;
    loop {
        let page = zd
            .list_audit_logs()
            .page(page_no)
            .per_page(100)
            .sort_order("asc")
            .filter_created_at(vec![at(W_START), at(W_END)])
            .send()
            .await
            .unwrap()
            .into_inner();
        all.extend(page.audit_logs.into_iter().map(|r| r.raw().clone()));
        if page.next_page.is_none() {
            break;
        }
        page_no += 1;
    }
    assert_eq!(all.len(), truth.len());
    let walk =
        |action: Vec<&'static str>, actor: Vec<i64>, source: Vec<&'static str>, ip: Vec<String>| {
            let zd = zd.clone();
            async move {
                let mut ids = vec![];
                let mut after: Option<String> = None;
                loop {
                    let mut req = zd
                        .list_audit_logs()
                        .page_size(100)
                        .sort("created_at")
                        .filter_created_at(vec![at(W_START), at(W_END)]);
                    if !action.is_empty() {
                        req = req.filter_action(
                            action.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                        );
                    }
                    if !actor.is_empty() {
                        req = req.filter_actor_id(actor.clone());
                    }
                    if !source.is_empty() {
                        req = req.filter_source_type(
                            source.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                        );
                    }
                    if !ip.is_empty() {
                        req = req.filter_ip_address(ip.clone());
                    }
                    if let Some(a) = &after {
                        req = req.page_after(a.clone());
                    }
                    let page = req.send().await.unwrap().into_inner();
                    ids.extend(page.audit_logs.iter().map(|r| r.id.unwrap()));
                    let meta = page.meta.unwrap();
                    if !meta.has_more.unwrap() {
                        break;
                    }
                    after = meta.after_cursor;
                }
                ids
            }
        };
    let expect = |f: &dyn Fn(&serde_json::Value) -> bool| -> Vec<i64> {
        all.iter()
            .filter(|r| f(r))
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let logins = walk(vec!["login"], vec![], vec![], vec![]).await;
    assert!(!logins.is_empty());
    assert_eq!(logins, expect(&|r| r["action"] == "login"));
    let mut actors: Vec<i64> = all
        .iter()
        .map(|r| r["actor_id"].as_i64().unwrap())
        .filter(|id| *id > 0)
        .collect();
    actors.dedup();
    let actor = actors[0];
    assert_eq!(
        walk(vec![], vec![actor], vec![], vec![]).await,
        expect(&|r| r["actor_id"] == actor)
    );
    // Several values of one filter: any of them; of several filters: all of them.
    let two = actors.iter().copied().find(|id| *id != actor).unwrap();
    let either = walk(vec![], vec![actor, two], vec![], vec![]).await;
    assert_eq!(
        either,
        expect(&|r| r["actor_id"] == actor || r["actor_id"] == two)
    );
    assert!(either.len() > walk(vec![], vec![actor], vec![], vec![]).await.len());
    assert_eq!(
        walk(vec![], vec![], vec!["rule"], vec![]).await,
        expect(&|r| r["source_type"] == "rule")
    );
    assert_eq!(
        walk(
            vec!["create", "update"],
            vec![],
            vec!["rule", "user"],
            vec![]
        )
        .await,
        expect(&|r| (r["action"] == "create" || r["action"] == "update")
            && (r["source_type"] == "rule" || r["source_type"] == "user"))
    );
    let ip = all
        .iter()
        .find_map(|r| r["ip_address"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(
        walk(vec![], vec![], vec![], vec![ip.clone()]).await,
        expect(&|r| r["ip_address"] == ip.as_str())
    );
    assert_eq!(
        walk(vec!["update"], vec![], vec!["user"], vec![]).await,
        expect(&|r| r["action"] == "update" && r["source_type"] == "user")
    );
    // filter[action][] with several values.
    let http = http_with(zendesk_headers(&sim, "acme"));
    let page: serde_json::Value = http
        .get(format!(
            "{}/api/v2/audit_logs?filter[action][]=create&filter[action][]=destroy&per_page=100",
            sim.zendesk_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: HashSet<&str> = page["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, HashSet::from(["create", "destroy"]));
}

#[tokio::test]
async fn ticket_audits_legacy_and_standard_visit_the_ground_truth() {
    let sim = start(dense()).await;
    let zd = zendesk(&sim, "acme");
    let (start_t, end_t) = sim.span("acme").unwrap();
    let truth = sim
        .ground_truth("acme", Stream::ZendeskTicketAudits, start_t, end_t)
        .unwrap();
    assert!(truth.len() > 2000);

    // Legacy: from the newest page, along before_cursor.
    let mut ids = vec![];
    let mut times = vec![];
    let mut cursor: Option<String> = None;
    let last_page = loop {
        let mut req = zd.list_ticket_audits().limit(300);
        if let Some(c) = &cursor {
            req = req.cursor(c.clone());
        }
        let page = req.send().await.unwrap().into_inner();
        for a in &page.audits {
            ids.push(a.id.unwrap().to_string());
            times.push(a.created_at.unwrap());
        }
        match page.before_cursor.clone() {
            Some(c) => cursor = Some(c),
            None => break page,
        }
    };
    assert_eq!(
        ids, truth,
        "legacy, newest first, archived tickets left out"
    );
    assert!(ties_across_boundaries(&times, 300) > 0);
    // Back up along after_url from the oldest page.
    let http = http_with(zendesk_headers(&sim, "acme"));
    let oldest_len = last_page.audits.len();
    let mut url = last_page.after_url.clone();
    let mut newer = vec![];
    while let Some(u) = url {
        assert!(u.contains("limit=300"), "the URLs keep limit: {u}");
        let page: serde_json::Value = http.get(&u).send().await.unwrap().json().await.unwrap();
        let page_ids: Vec<String> = page["audits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].to_string())
            .collect();
        newer.splice(0..0, page_ids);
        url = page["after_url"].as_str().map(str::to_string);
    }
    assert_eq!(newer, truth[..truth.len() - oldest_len]);

    // Standard cursor, 100 per page.
    let mut ids = vec![];
    let mut after: Option<String> = None;
    loop {
        let mut req = zd.list_ticket_audits().page_size(100);
        if let Some(a) = &after {
            req = req.page_after(a.clone());
        }
        let page = req.send().await.unwrap().into_inner();
        ids.extend(page.audits.iter().map(|a| a.id.unwrap().to_string()));
        let meta = page.meta.unwrap();
        if !meta.has_more.unwrap() {
            break;
        }
        after = meta.after_cursor;
    }
    assert_eq!(ids, truth);

    // Archived tickets: absent from /ticket_audits, complete on the per-ticket endpoint.
    let tickets = audit_sim::ground_truth::tickets(sim.sim(), "acme", Utc::now()).unwrap();
    let archived: Vec<i64> = tickets.iter().filter(|t| t.1).map(|t| t.0).collect();
    assert!(!archived.is_empty());
    let in_stream: HashSet<&String> = truth.iter().collect();
    for ticket in archived.iter().take(5) {
        let expected = sim
            .ground_truth(
                "acme",
                Stream::ZendeskTicketAuditsOfTicket(*ticket),
                start_t,
                end_t,
            )
            .unwrap();
        let one = zd
            .list_audits_for_ticket()
            .ticket_id(*ticket)
            .page_size(2)
            .send()
            .await
            .unwrap()
            .into_inner();
        let got: Vec<String> = one
            .audits
            .iter()
            .map(|a| a.id.unwrap().to_string())
            .collect();
        assert_eq!(
            got, expected,
            "an archived ticket comes in one response, whatever the page size"
        );
        assert!(
            one.meta.is_none()
                && one.next_page.is_none()
                && one.count == Some(expected.len() as i64)
        );
        assert!(got.iter().all(|id| !in_stream.contains(id)));
    }
}

#[tokio::test]
async fn per_ticket_cursor_and_offset_visit_the_ground_truth() {
    let mut c = dense();
    c.tenants[0].zendesk.audits_per_ticket = 37;
    c.tenants[0].zendesk.open_tickets = 10;
    let sim = start(c).await;
    let zd = zendesk(&sim, "acme");
    let (s, e) = sim.span("acme").unwrap();
    let tickets = audit_sim::ground_truth::tickets(sim.sim(), "acme", Utc::now()).unwrap();
    for (ticket, _) in tickets.iter().filter(|t| !t.1).take(4) {
        let truth = sim
            .ground_truth("acme", Stream::ZendeskTicketAuditsOfTicket(*ticket), s, e)
            .unwrap();
        assert_eq!(truth.len(), 37);
        let mut ids = vec![];
        let mut after: Option<String> = None;
        loop {
            let mut req = zd
                .list_audits_for_ticket()
                .ticket_id(*ticket)
                .page_size(5)
                .filter_events(vec!["Change".to_string()]);
            if let Some(a) = &after {
                req = req.page_after(a.clone());
            }
            let page = req.send().await.unwrap().into_inner();
            for a in &page.audits {
                assert!(
                    a.events
                        .iter()
                        .all(|e| e.type_.as_deref() == Some("Change")),
                    "filter_events[] keeps only Change events"
                );
            }
            ids.extend(page.audits.iter().map(|a| a.id.unwrap().to_string()));
            let meta = page.meta.unwrap();
            if !meta.has_more.unwrap() {
                break;
            }
            after = meta.after_cursor;
        }
        assert_eq!(ids, truth);
        // Offset, newest first.
        let mut ids = vec![];
        let mut page_no = 1;
        loop {
            let page = zd
                .list_audits_for_ticket()
                .ticket_id(*ticket)
                .page(page_no)
                .per_page(4)
                .sort_order("desc")
                .send()
                .await
                .unwrap()
                .into_inner();
            ids.extend(page.audits.iter().map(|a| a.id.unwrap().to_string()));
            if page.next_page.is_none() {
                break;
            }
            page_no += 1;
        }
        let mut reversed = truth.clone();
        reversed.reverse();
        assert_eq!(ids, reversed);
        // sort=-created_at in cursor mode.
        let page = zd
            .list_audits_for_ticket()
            .ticket_id(*ticket)
            .page_size(3)
            .sort("-created_at")
            .send()
            .await
            .unwrap()
            .into_inner();
        let got: Vec<String> = page
            .audits
            .iter()
            .map(|a| a.id.unwrap().to_string())
            .collect();
        assert_eq!(got, reversed[..3]);
    }
}

async fn walk_results(
    g: &genesys_raw::Client,
    id: &str,
    page_size: i32,
) -> (Vec<String>, Vec<DateTime<Utc>>) {
    let mut ids = vec![];
    let mut times = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut req = g
            .get_audits_query_transaction_id_results()
            .transaction_id(id)
            .page_size(page_size);
        if let Some(c) = &cursor {
            req = req.cursor(c.clone());
        }
        let page = req.send().await.unwrap().into_inner();
        for e in &page.entities {
            ids.push(e.id.clone().unwrap());
            times.push(e.event_date.unwrap());
        }
        match page.cursor {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    (ids, times)
}

#[tokio::test]
async fn genesys_results_visit_the_ground_truth() {
    let sim = start(dense()).await;
    let g = genesys(&sim, "acme").await;
    let interval = format!("{W_START}/{W_END}");
    let truth = sim
        .ground_truth(
            "acme",
            Stream::GenesysAudits { service: None },
            at(W_START),
            at(W_END),
        )
        .unwrap();
    assert!(truth.len() > 1500);

    let id = run_query(&g, query(&interval)).await;
    let (ids, times) = walk_results(&g, &id, 500).await;
    assert_eq!(ids, truth);
    assert!(
        times.first().unwrap() >= &at(W_START) && times.last().unwrap() < &at(W_END),
        "start inclusive, end exclusive"
    );
    let (small, times) = walk_results(&g, &id, 7).await;
    assert_eq!(small, truth);
    assert!(
        ties_across_boundaries(&times, 7) > 0,
        "eventDate ties across page boundaries"
    );

    // Descending.
    let mut q = query(&interval);
    q.sort[0].sort_order = "descending".into();
    let id = run_query(&g, q).await;
    let (desc, _) = walk_results(&g, &id, 300).await;
    let mut reversed = truth.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);

    // One service, then filters.
    let mut q = query(&interval);
    q.service_name = Some("Routing".into());
    let id = run_query(&g, q).await;
    let (routing, _) = walk_results(&g, &id, 100).await;
    let truth_routing = sim
        .ground_truth(
            "acme",
            Stream::GenesysAudits {
                service: Some("Routing".into()),
            },
            at(W_START),
            at(W_END),
        )
        .unwrap();
    assert!(!routing.is_empty());
    assert_eq!(routing, truth_routing);
    let mut q = query(&interval);
    q.filters = vec![
        types::AuditQueryFilter {
            property: "EntityType".into(),
            value: "Queue".into(),
        },
        types::AuditQueryFilter {
            property: "Action".into(),
            value: "Update".into(),
        },
    ];
    let id = run_query(&g, q).await;
    let page = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .page_size(500)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!page.entities.is_empty());
    assert!(page.entities.iter().all(
        |e| e.entity_type.as_deref() == Some("Queue") && e.action.as_deref() == Some("Update")
    ));
    let user = page.entities[0].user.as_ref().unwrap().id.clone().unwrap();
    let mut q = query(&interval);
    q.filters = vec![types::AuditQueryFilter {
        property: "UserId".into(),
        value: user.clone(),
    }];
    let id = run_query(&g, q).await;
    let (by_user, _) = walk_results(&g, &id, 500).await;
    assert!(!by_user.is_empty());
    let page = g
        .get_audits_query_transaction_id_results()
        .transaction_id(&id)
        .page_size(500)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.entities
            .iter()
            .all(|e| e.user.as_ref().unwrap().id.as_deref() == Some(user.as_str()))
    );
}

#[tokio::test]
async fn realtime_pages_visit_the_ground_truth_of_the_last_14_days() {
    let mut c = SimConfig::default();
    c.tenants[0].start = "now-20d".parse().unwrap();
    c.tenants[0].end = "now".parse().unwrap();
    c.tenants[0].genesys.audits = 3000;
    let sim = start(c).await;
    let g = genesys(&sim, "acme").await;
    let now = Utc::now();
    let (since, until) = (
        now - chrono::Duration::days(18),
        now - chrono::Duration::days(1),
    );
    let interval = format!("{}/{}", since.to_rfc3339(), until.to_rfc3339());
    let truth = sim
        .ground_truth(
            "acme",
            Stream::GenesysRealtime { service: None },
            since,
            until,
        )
        .unwrap();
    let all = sim
        .ground_truth(
            "acme",
            Stream::GenesysAudits { service: None },
            since,
            until,
        )
        .unwrap();
    assert!(
        truth.len() < all.len(),
        "older records and non-realtime services are left out"
    );
    let mut ids = vec![];
    let mut page_number = 1;
    loop {
        let page = g
            .post_audits_query_realtime()
            .body(types::AuditRealtimeQueryRequest {
                filters: vec![],
                interval: interval.clone(),
                page_number: Some(page_number),
                page_size: Some(100),
                service_name: None,
                sort: ascending(),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total, Some(truth.len() as i64));
        ids.extend(page.entities.iter().map(|e| e.id.clone().unwrap()));
        if page_number >= page.page_count.unwrap() {
            break;
        }
        page_number += 1;
    }
    assert_eq!(ids, truth);
    assert!(ids.iter().all(|id| all.contains(id)));
}

#[tokio::test]
async fn records_appear_over_time_when_the_span_ends_in_the_future() {
    let mut c = SimConfig::default();
    c.tenants[0].start = "now-10m".parse().unwrap();
    c.tenants[0].end = "now+10m".parse().unwrap();
    c.tenants[0].zendesk.audit_logs = 12_000;
    let sim = start(c).await;
    let zd = zendesk(&sim, "acme");
    let (s, e) = sim.span("acme").unwrap();
    let before = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, s, e)
        .unwrap();
    assert!(
        before.len() > 4000 && before.len() < 8000,
        "about half is visible: {}",
        before.len()
    );
    let count = zd
        .list_audit_logs()
        .per_page(1)
        .send()
        .await
        .unwrap()
        .into_inner()
        .count
        .unwrap();
    assert!(count as usize >= before.len());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, s, e)
        .unwrap();
    assert!(after.len() > before.len(), "new records arrived");
    assert_eq!(after[..before.len()], before[..], "a past window is stable");
}
