//! What a service built on `audit-core` does, written against the crate's public API alone
//! (no `zendesk-raw`, `genesys-raw` or `raw-support` dependency): it runs every stream with
//! a checkpoint saved and resumed, every single typed operation, classifies errors, and
//! shares one client between tasks. It runs against the in-process simulator of both
//! vendors; CI runs it (`tests/runs.rs`).
//!
//! `cargo run -p service-example`

use std::sync::Arc;

use audit_core::genesys::{
    AuditFilter, AuditQuery, GenesysClient, RealtimeQuery, RelatedQuery, ResultsRequest,
    SubmittedQuery,
};
use audit_core::zendesk::{
    AuditLogFilter, AuditLogQuery, AuditsForTicketQuery, TicketAuditsQuery, ZendeskAuth,
    ZendeskClient, types,
};
use audit_core::{
    AuditEvent, Checkpoint, Error, ErrorKind, EventPages, RecordPages, Recorded, SortOrder,
    StreamFilter, StreamKind, StreamOptions, Window,
};
use chrono::{Duration as Days, Utc};
use futures::{StreamExt, TryStreamExt};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    let acme = sim
        .tenant_credentials("acme")
        .ok_or("the simulator has no tenant acme")?;

    // Zendesk through OAuth client credentials (API tokens stop working on 2027-04-30).
    let zendesk = ZendeskClient::builder()
        .base_url(sim.zendesk_url())
        .tenant("acme")
        .auth(ZendeskAuth::client_credentials(
            acme.zendesk_client_id.clone(),
            acme.zendesk_client_secret.clone(),
            ["read", "auditlogs:read"],
        ))
        .build()?;
    let genesys = GenesysClient::builder()
        .api_base_url(sim.genesys_api_url())
        .login_base_url(sim.genesys_login_url())
        .client_credentials(
            acme.genesys_client_id.clone(),
            acme.genesys_client_secret.clone(),
        )
        .tenant("acme")
        .build()?;

    streams_resume_exactly(&zendesk, &genesys).await?;
    single_operations(&zendesk, &genesys, &acme.zendesk_oauth_token).await?;
    errors_are_classified(&sim, &zendesk).await?;
    one_client_many_tasks(zendesk).await?;
    println!("service example: all done");
    Ok(())
}

/// Every stream, interrupted after its first page and resumed from the saved JSON
/// checkpoint with the same filters: the two runs together hold every record of an
/// uninterrupted run, once.
async fn streams_resume_exactly(
    zendesk: &ZendeskClient,
    genesys: &GenesysClient,
) -> Result<(), Failure> {
    let now = Utc::now();
    let logins = StreamFilter::AuditLogs(AuditLogFilter::default().action("login"));
    let streams = [
        (StreamKind::ZendeskAuditLogs, Days::days(400), logins),
        (
            StreamKind::ZendeskAuditLogs,
            Days::days(400),
            StreamFilter::All,
        ),
        (
            StreamKind::ZendeskTicketAudits,
            Days::days(400),
            StreamFilter::All,
        ),
        (StreamKind::GenesysAudits, Days::days(20), StreamFilter::All),
        (
            StreamKind::GenesysRealtime,
            Days::days(13),
            StreamFilter::All,
        ),
    ];
    for (stream, back, filter) in streams {
        let window = Window::between(now - back, now)?;
        let options = || StreamOptions::new(window).with_filter(filter.clone());
        let open = |options| -> Result<EventPages, Error> {
            match stream.vendor() {
                audit_core::Vendor::Zendesk => zendesk.event_pages(stream, options),
                _ => genesys.event_pages(stream, options),
            }
        };
        let whole = ids(open(options())?).await?;

        let mut first = open(options())?;
        let page = first.try_next().await?.ok_or("no first page")?;
        let saved = page.checkpoint.to_json(); // what a service stores with the page
        drop(first); // the service stops here

        let resumed =
            StreamOptions::resume_from(Checkpoint::from_json(&saved)?).with_filter(filter.clone());
        let rest = ids(open(resumed)?).await?;
        let mut both: Vec<String> = page.events.iter().map(|e| e.id.clone()).collect();
        both.extend(rest);
        assert_eq!(
            both,
            whole,
            "{stream} ({}) resumed exactly",
            filter.selection()
        );
        println!(
            "{stream} ({}): {} records, resumed exactly",
            filter.selection(),
            whole.len()
        );
    }
    Ok(())
}

async fn ids(pages: EventPages) -> Result<Vec<String>, Error> {
    let events: Vec<AuditEvent> = pages.events().try_collect().await?;
    Ok(events.into_iter().map(|e| e.id).collect())
}

/// Every typed operation once, with the return types named through audit-core.
async fn single_operations(
    zendesk: &ZendeskClient,
    genesys: &GenesysClient,
    oauth_token: &str,
) -> Result<(), Failure> {
    let now = Utc::now();

    // Zendesk audit logs.
    let query = AuditLogQuery::default()
        .sort(SortOrder::Ascending)
        .page_size(50);
    let listed: types::AuditLogsResponse = zendesk.list_audit_logs(&query).await?;
    let first = listed.audit_logs.first().ok_or("no audit logs")?;
    let id = first.id.ok_or("an audit log without id")?;
    let shown: Recorded<types::AuditLog> = zendesk.show_audit_log(id).await?;
    assert_eq!(shown.id, Some(id));
    let pages: RecordPages<types::AuditLog> = zendesk.audit_log_pages(query);
    let records = pages.take(2).try_collect::<Vec<_>>().await?.len();
    let receipt = zendesk
        .export_audit_logs(&AuditLogFilter::default().created_between(now - Days::days(30), now))
        .await?;
    println!(
        "zendesk audit logs: listed, shown, {records} pages walked, export queued ({:?})",
        receipt.request_id
    );

    // Zendesk ticket audits.
    let listed: types::TicketAuditsResponse = zendesk
        .list_ticket_audits(&TicketAuditsQuery::default())
        .await?;
    let audit = listed.audits.first().ok_or("no ticket audits")?;
    let (ticket, audit_id) = (
        audit.ticket_id.ok_or("no ticket id")?,
        audit.id.ok_or("no id")?,
    );
    let shown: Recorded<types::TicketAudit> = zendesk.show_ticket_audit(ticket, audit_id).await?;
    assert_eq!(shown.id, Some(audit_id));
    let count: types::TicketAuditsCount = zendesk.count_audits_for_ticket(ticket).await?;
    let per_ticket = AuditsForTicketQuery::default().page_size(100);
    let listed = zendesk.list_audits_for_ticket(ticket, &per_ticket).await?;
    let walked: RecordPages<types::TicketAudit> =
        zendesk.audits_for_ticket_pages(ticket, per_ticket);
    let walked: usize = walked
        .map_ok(|page| page.items.len())
        .try_fold(0, |n, k| async move { Ok(n + k) })
        .await?;
    assert_eq!(listed.audits.len().min(100), walked.min(100));
    // A write, with a token that holds a write scope.
    let writer = ZendeskClient::builder()
        .base_url(zendesk.base_url().as_str())
        .tenant("acme")
        .auth(ZendeskAuth::oauth(oauth_token.to_string()))
        .build()?;
    writer.make_ticket_comment_private(ticket, audit_id).await?;
    println!(
        "zendesk ticket {ticket}: {:?} audits counted, {walked} walked, one comment made private",
        count.value
    );

    // Genesys Cloud.
    let org = genesys.organization().await?;
    let mapping = genesys.service_mapping().await?;
    let realtime_mapping = genesys.realtime_service_mapping().await?;
    let query = AuditQuery::new(now - Days::days(2), now).sort(SortOrder::Ascending);
    let SubmittedQuery {
        id: transaction, ..
    } = genesys.submit_audit_query(&query).await?;
    let _status = genesys.audit_query_status(&transaction).await?;
    let done = genesys.wait_for_audit_query(&transaction).await?;
    let page = genesys
        .audit_query_results(&transaction, &ResultsRequest::default().page_size(100))
        .await?;
    let all: usize = genesys
        .audit_result_pages(&transaction, ResultsRequest::default())
        .map_ok(|page| page.items.len())
        .try_fold(0, |n, k| async move { Ok(n + k) })
        .await?;
    let ran = genesys
        .run_audit_query(&AuditQuery::new(now - Days::days(1), now))
        .await?;
    let realtime = genesys
        .realtime_query(
            &RealtimeQuery::new(now - Days::days(1), now)
                .filter(AuditFilter::Action("Update".into())),
        )
        .await?;
    let audit = page
        .records
        .first()
        .and_then(|r| r.id.clone())
        .ok_or("no audit to relate")?;
    let related = genesys.related_audits(&RelatedQuery::new(audit)).await?;
    println!(
        "genesys org {:?}: {} services ({} realtime), query {transaction} {:?} with {all} records, another {:?}, {} realtime records, {} related",
        org.id,
        mapping.services.len(),
        realtime_mapping.services.len(),
        done.state,
        ran.state,
        realtime.entities.len(),
        related.len()
    );
    Ok(())
}

/// Branching on errors with `Error::kind`, as a service's retry and alerting code does.
async fn errors_are_classified(
    sim: &audit_sim::SimHandle,
    zendesk: &ZendeskClient,
) -> Result<(), Failure> {
    let missing = zendesk.show_audit_log(1).await.expect_err("no audit log 1");
    assert!(missing.is_not_found(), "{missing}");

    let refused = ZendeskClient::builder()
        .base_url(sim.zendesk_url())
        .tenant("acme")
        .auth(ZendeskAuth::client_credentials(
            "no-such-client",
            "wrong",
            ["read"],
        ))
        .build()?
        .show_audit_log(1)
        .await
        .expect_err("unknown OAuth client");
    assert_eq!(refused.kind(), ErrorKind::Unauthenticated, "{refused}");

    let now = Utc::now();
    let filtered = StreamOptions::new(Window::between(now - Days::days(400), now)?).with_filter(
        StreamFilter::AuditLogs(AuditLogFilter::default().action("login")),
    );
    let mut pages = zendesk.event_pages(StreamKind::ZendeskAuditLogs, filtered)?;
    let checkpoint = pages.try_next().await?.ok_or("no page")?.checkpoint;
    let unfiltered = zendesk
        .event_pages(
            StreamKind::ZendeskAuditLogs,
            StreamOptions::resume_from(checkpoint),
        )?
        .try_next()
        .await
        .expect_err("resuming a filtered export without its filter is refused");
    assert_eq!(unfiltered.kind(), ErrorKind::Config, "{unfiltered}");

    for error in [&missing, &refused, &unfiltered] {
        let action = match error.kind() {
            ErrorKind::RateLimited | ErrorKind::Unavailable => "retry later",
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => {
                "page the owner of the credentials"
            }
            ErrorKind::NotFound => "skip",
            _ => "fix the configuration",
        };
        println!("{:?} -> {action}: {error}", error.kind());
    }
    Ok(())
}

/// One client, shared by tasks (clients are cheap to clone and `Send + Sync`; streams are
/// `'static + Send + Sync`), pacing and token shared.
async fn one_client_many_tasks(zendesk: ZendeskClient) -> Result<(), Failure> {
    let shared = Arc::new(zendesk);
    let now = Utc::now();
    let mut tasks = Vec::new();
    for days in [30, 90, 365] {
        let client = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let window = Window::between(now - Days::days(days), now)?;
            let events: Vec<AuditEvent> = client
                .audit_log_events(window)
                .events()
                .try_collect()
                .await?;
            Ok::<_, Error>(events.len())
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await??);
    }
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    let requests = shared.stats().requests;
    println!("three tasks on one client: {counts:?} events, {requests} requests");
    Ok(())
}
