//! The eight Zendesk operations, called with the generated raw client: every answer decodes,
//! and the errors carry Zendesk's bodies.

mod common;

use std::collections::BTreeSet;

use audit_sim::{Plan, Stream};
use common::*;
use zendesk_raw::Error;

fn error_status<T: std::fmt::Debug>(e: Error<T>) -> (u16, T) {
    match e {
        Error::ErrorResponse(r) => (r.status().as_u16(), r.into_inner()),
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[tokio::test]
async fn all_eight_operations_decode() {
    let sim = start(config()).await;
    let zd = zendesk(&sim, "acme");

    // ListTicketAudits, legacy (the default) and standard.
    let legacy = zd
        .list_ticket_audits()
        .limit(50)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(legacy.audits.len(), 50);
    assert!(legacy.before_cursor.is_some() && legacy.before_url.is_some());
    assert!(
        legacy.after_cursor.is_none() && legacy.after_url.is_none(),
        "the first page is the newest"
    );
    assert!(legacy.meta.is_none());
    let standard = zd
        .list_ticket_audits()
        .page_size(10)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(standard.audits.len(), 10);
    let meta = standard.meta.unwrap();
    assert_eq!(meta.has_more, Some(true));
    assert!(
        standard
            .links
            .unwrap()
            .next
            .unwrap()
            .starts_with(sim.zendesk_url())
    );
    let newest: Vec<i64> = legacy
        .audits
        .iter()
        .take(10)
        .map(|a| a.id.unwrap())
        .collect();
    let newest_std: Vec<i64> = standard.audits.iter().map(|a| a.id.unwrap()).collect();
    assert_eq!(newest, newest_std, "both styles start at the newest audit");

    // ListAuditsForTicket, ShowTicketAudit, CountAuditsForTicket, make_private.
    let tickets = audit_sim::ground_truth::tickets(sim.sim(), "acme", chrono::Utc::now()).unwrap();
    let (ticket, _) = *tickets.iter().find(|(_, archived)| !archived).unwrap();
    let page = zd
        .list_audits_for_ticket()
        .ticket_id(ticket)
        .per_page(2)
        .send()
        .await
        .unwrap()
        .into_inner();
    let truth = sim
        .ground_truth(
            "acme",
            Stream::ZendeskTicketAuditsOfTicket(ticket),
            at(START),
            at(END),
        )
        .unwrap();
    assert_eq!(page.count, Some(truth.len() as i64));
    assert_eq!(page.audits.len(), 2);
    assert!(page.next_page.is_some() && page.previous_page.is_none());
    let cursor = zd
        .list_audits_for_ticket()
        .ticket_id(ticket)
        .page_size(2)
        .include("users")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(cursor.meta.is_some() && !cursor.users.is_empty());
    let audit_id = page.audits[0].id.unwrap();
    let shown = zd
        .show_ticket_audit()
        .ticket_id(ticket)
        .ticket_audit_id(audit_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let shown = shown.audit.unwrap();
    assert_eq!(shown.raw(), page.audits[0].raw());
    let count = zd
        .count_audits_for_ticket()
        .ticket_id(ticket)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(count.count.unwrap().value, Some(truth.len() as i64));
    let first_comment_public = shown
        .events
        .iter()
        .find(|e| e.type_.as_deref() == Some("Comment"))
        .map(|e| e.extra["public"].clone());
    zd.make_ticket_comment_private_from_audits()
        .ticket_id(ticket)
        .ticket_audit_id(audit_id)
        .send()
        .await
        .unwrap();
    let after = zd
        .show_ticket_audit()
        .ticket_id(ticket)
        .ticket_audit_id(audit_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    if first_comment_public.is_some() {
        let comment = after
            .audit
            .unwrap()
            .events
            .iter()
            .find(|e| e.type_.as_deref() == Some("Comment"))
            .cloned()
            .unwrap();
        assert_eq!(
            comment.extra["public"],
            serde_json::json!(false),
            "make_private made the comment private"
        );
    }

    // ListAuditLogs (cursor and offset), ShowAuditLog, ExportAuditLogs.
    let logs = zd
        .list_audit_logs()
        .page_size(100)
        .sort("created_at")
        .filter_created_at(vec![at(START), at(END)])
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(logs.audit_logs.len(), 100);
    assert!(logs.meta.unwrap().after_cursor.is_some());
    let next = logs.links.unwrap().next.unwrap();
    assert!(
        next.contains("filter%5Bcreated_at%5D%5B%5D=2024-03-01T00%3A00%3A00Z"),
        "links keep every parameter: {next}"
    );
    let offset = zd
        .list_audit_logs()
        .page(2)
        .per_page(50)
        .sort_order("asc")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(offset.count, Some(1500));
    assert_eq!(offset.audit_logs[0].id, logs.audit_logs[50].id);
    let one = zd
        .show_audit_log()
        .audit_log_id(logs.audit_logs[3].id.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.audit_log.unwrap().raw(), logs.audit_logs[3].raw());
    let export = zd
        .export_audit_logs()
        .filter_action(vec!["login".to_string()])
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 202);
    assert_eq!(
        export
            .headers()
            .get("zendesk-ratelimit-audit-logs-export")
            .unwrap(),
        "total=1; remaining=0; resets=60"
    );

    let stats = sim.stats();
    for op in [
        "ListTicketAudits",
        "ListAuditsForTicket",
        "ShowTicketAudit",
        "CountAuditsForTicket",
        "MakeTicketCommentPrivateFromAudits",
        "ListAuditLogs",
        "ShowAuditLog",
        "ExportAuditLogs",
    ] {
        assert!(
            stats.requests_of(&format!("zendesk.{op}")) > 0,
            "{op} counted"
        );
    }
}

/// Every audit of the data set decodes, and the awkward values are all there.
#[tokio::test]
async fn every_record_decodes_with_the_awkward_values() {
    let sim = start(config()).await;
    let zd = zendesk(&sim, "acme");
    let mut kinds = BTreeSet::new();
    let (
        mut int_channel,
        mut system,
        mut string_tags,
        mut object_value,
        mut int_value,
        mut extra_field,
    ) = (false, false, false, false, false, false);
    let mut cursor: Option<String> = None;
    loop {
        let mut req = zd.list_ticket_audits().page_size(100);
        if let Some(c) = &cursor {
            req = req.page_after(c.clone());
        }
        let page = req.send().await.unwrap().into_inner();
        for a in &page.audits {
            assert!(a.id.is_some() && a.created_at.is_some() && a.ticket_id.is_some());
            int_channel |= a
                .via
                .as_ref()
                .unwrap()
                .channel
                .as_ref()
                .is_some_and(|c| c.is_i64());
            system |= a.author_id == Some(-1);
            extra_field |= !a.extra.is_empty();
            for e in &a.events {
                kinds.insert(e.type_.clone().unwrap());
                let v = e.extra.get("value");
                string_tags |= e.extra.get("field_name") == Some(&serde_json::json!("tags"))
                    && v.is_some_and(|v| v.is_string());
                object_value |= v.is_some_and(|v| v.is_object());
                int_value |= v.is_some_and(|v| v.is_i64());
            }
        }
        let meta = page.meta.unwrap();
        if meta.has_more != Some(true) {
            break;
        }
        cursor = meta.after_cursor;
    }
    assert!(int_channel && system && string_tags && object_value && int_value && extra_field);
    assert!(kinds.len() >= 35, "event kinds seen: {kinds:?}");

    let mut actions = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let (mut null_label, mut null_ip, mut failed_login, mut role_change) =
        (false, false, false, false);
    let mut page_no = 1;
    loop {
        let page = zd
            .list_audit_logs()
            .page(page_no)
            .per_page(100)
            .send()
            .await
            .unwrap()
            .into_inner();
        for r in &page.audit_logs {
            actions.insert(r.action.clone().unwrap());
            sources.insert(r.source_type.clone().unwrap());
            null_label |= r.raw()["action_label"].is_null();
            null_ip |= r.ip_address.is_none();
            let d = r.change_description.clone().unwrap_or_default();
            failed_login |= d.starts_with("Failed sign-in using");
            role_change |= d.starts_with("Role changed from");
        }
        if page.next_page.is_none() {
            break;
        }
        page_no += 1;
    }
    assert_eq!(
        actions,
        ["create", "destroy", "exported", "login", "update"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    for s in [
        "apitoken",
        "rule",
        "ticket",
        "user",
        "zendesk/app_market/app",
        "account_setting",
    ] {
        assert!(sources.contains(s), "source type {s}");
    }
    assert!(null_label && null_ip && failed_login && role_change);
}

#[tokio::test]
async fn errors_carry_zendesk_bodies() {
    let mut c = config();
    let mut pro = audit_sim::TenantConfig::named("smallco", 9);
    pro.zendesk.plan = Plan::Professional;
    let mut scoped = audit_sim::TenantConfig::named("scoped", 10);
    scoped.zendesk.oauth_scopes = vec!["auditlogs:read".into()];
    c.tenants.push(pro);
    c.tenants.push(scoped);
    let sim = start(c).await;
    let zd = zendesk(&sim, "acme");

    // 401: a wrong token, and a wrong bearer token.
    let wrong = zendesk_raw::Client::new_with_client(
        sim.zendesk_url(),
        http_with(basic("admin@acme.example/token", "nope")),
    );
    let (status, body) = error_status(wrong.list_audit_logs().send().await.unwrap_err());
    assert_eq!(
        (status, body.error),
        (401, Some(serde_json::json!("Couldn't authenticate you")))
    );
    let wrong = zendesk_raw::Client::new_with_client(sim.zendesk_url(), http_with(bearer("nope")));
    let (status, body) = error_status(wrong.list_ticket_audits().send().await.unwrap_err());
    assert_eq!(
        (status, body.error),
        (401, Some(serde_json::json!("invalid_token")))
    );
    // Bearer works with the right token.
    let creds = sim.tenant_credentials("acme").unwrap();
    let ok = zendesk_raw::Client::new_with_client(
        sim.zendesk_url(),
        http_with(bearer(&creds.zendesk_oauth_token)),
    );
    ok.list_ticket_audits().limit(1).send().await.unwrap();

    // 403: no audit logs on the plan; a token without the `read` scope on ticket audits.
    let (status, body) = error_status(
        zendesk(&sim, "smallco")
            .list_audit_logs()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.error),
        (403, Some(serde_json::json!("Forbidden")))
    );
    zendesk(&sim, "smallco")
        .list_ticket_audits()
        .limit(1)
        .send()
        .await
        .unwrap();
    let scoped = zendesk_raw::Client::new_with_client(
        sim.zendesk_url(),
        http_with(bearer(
            &sim.tenant_credentials("scoped")
                .unwrap()
                .zendesk_oauth_token,
        )),
    );
    let (status, body) = error_status(scoped.list_ticket_audits().send().await.unwrap_err());
    assert_eq!(status, 403);
    assert_eq!(
        body.description.as_deref(),
        Some("You are missing the following required scopes: read")
    );
    scoped.list_audit_logs().send().await.unwrap();

    // 404s.
    let (status, body) = error_status(
        zd.list_audits_for_ticket()
            .ticket_id(1)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, body.error),
        (404, Some(serde_json::json!("RecordNotFound")))
    );
    let (status, _) = error_status(
        zd.show_audit_log()
            .audit_log_id(5)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);

    // 400s.
    let (status, body) = error_status(
        zd.list_audit_logs()
            .filter_created_at(vec![at(START)])
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert_eq!(body.error, Some(serde_json::json!("InvalidValue")));
    assert_eq!(
        body.description.as_deref(),
        Some(
            "Invalid filter[created_at] specified; format is ?filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ&filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ"
        )
    );
    let (status, _) = error_status(
        zd.list_audit_logs()
            .page_size(101)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    let (status, body) = error_status(
        zd.list_audit_logs()
            .page_after("x")
            .page_before("y")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body.errors.unwrap()[0].code.as_deref(),
        Some("InvalidPaginationParameter")
    );
    let (status, _) = error_status(
        zd.list_audit_logs()
            .page(101)
            .per_page(100)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400, "offset pagination stops at 10,000 records");
    zd.list_audit_logs()
        .page(100)
        .per_page(100)
        .send()
        .await
        .unwrap();
    let (status, _) = error_status(
        zd.list_ticket_audits()
            .limit(1001)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    let (status, _) = error_status(
        zd.list_audit_logs()
            .page_after("garbage")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    let (status, _) = error_status(
        zd.list_audit_logs()
            .filter_source_id(vec![5])
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400, "filter[source_id] needs filter[source_type]");

    // Unknown paths, the `.json` suffix.
    let http = http_with(zendesk_headers(&sim, "acme"));
    let r = http
        .get(format!("{}/api/v2/nothing", sim.zendesk_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(format!(
            "{}/api/v2/audit_logs.json?per_page=1",
            sim.zendesk_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn count_is_capped_above_100000() {
    let mut c = config();
    let t = &mut c.tenants[0];
    t.zendesk.ticket_audits = 100_050;
    t.zendesk.audits_per_ticket = 100_050;
    t.zendesk.open_tickets = 1;
    let sim = start(c).await;
    let zd = zendesk(&sim, "acme");
    let tickets = audit_sim::ground_truth::tickets(sim.sim(), "acme", chrono::Utc::now()).unwrap();
    assert_eq!(tickets.len(), 1);
    let count = zd
        .count_audits_for_ticket()
        .ticket_id(tickets[0].0)
        .send()
        .await
        .unwrap()
        .into_inner();
    let count = count.count.unwrap();
    assert_eq!(count.value, Some(100_000));
    assert_eq!(count.refreshed_at, None);
}

#[tokio::test]
async fn the_incremental_ticket_event_export_pages_by_time_with_its_own_limit() {
    let mut config = config();
    config.zendesk.incremental_page_size = 50;
    config.zendesk.incremental_rate_limit.requests = 3;
    config.zendesk.incremental_rate_limit.window_secs = 3_600;
    let sim = start(config).await;
    let zd = zendesk(&sim, "acme");
    let (start_at, end_at) = sim.span("acme").unwrap();
    let first = zd
        .incremental_ticket_event_export()
        .start_time(start_at.timestamp())
        .include("comment_events")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.ticket_events.len(), 50);
    assert_eq!(first.end_of_stream, Some(false));
    let end_time = first.end_time.unwrap();
    let last = first.ticket_events.last().unwrap();
    assert_eq!(
        last.timestamp,
        Some(end_time),
        "end_time is the last update's time"
    );
    assert!(
        first
            .next_page
            .unwrap()
            .contains(&format!("start_time={end_time}"))
    );
    // The next page starts at `end_time`: the updates of that second come again.
    let second = zd
        .incremental_ticket_event_export()
        .start_time(end_time)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.ticket_events[0].timestamp, Some(end_time));
    assert!(
        second.ticket_events.iter().any(|e| e.id == last.id),
        "the last update of a page comes again on the next"
    );
    // Archived tickets are in the export (they are not in /ticket_audits).
    let every = sim
        .ground_truth("acme", Stream::ZendeskTicketEvents, start_at, end_at)
        .unwrap();
    let listed = sim
        .ground_truth("acme", Stream::ZendeskTicketAudits, start_at, end_at)
        .unwrap();
    assert!(every.len() > listed.len());
    // Without the sideload, a comment is only flagged.
    assert!(second.ticket_events.iter().all(|e| {
        e.child_events
            .iter()
            .all(|c| c.type_.as_deref() != Some("Comment"))
    }));
    // The minute before the request is left out.
    let now = chrono::Utc::now().timestamp();
    let too_recent = zd
        .incremental_ticket_event_export()
        .start_time(now - 10)
        .send()
        .await;
    assert_eq!(error_status(too_recent.unwrap_err()).0, 400);
    // Its own budget (3 in this window here): the fourth request is refused.
    let refused = zd
        .incremental_ticket_event_export()
        .start_time(start_at.timestamp())
        .send()
        .await;
    let (status, _) = error_status(refused.unwrap_err());
    assert_eq!(status, 429);
}
