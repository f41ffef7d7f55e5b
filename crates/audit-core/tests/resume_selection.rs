//! A checkpoint remembers the filters its stream was read with: resuming with the same
//! filters continues exactly, resuming with others is refused (it would mix two selections
//! into one output). Against the in-process simulator of both vendors.

use audit_core::genesys::{AuditFilter, GenesysClient};
use audit_core::zendesk::{AuditLogFilter, ZendeskClient};
use audit_core::{Checkpoint, Error, StreamFilter, StreamKind, StreamOptions, Window};
use chrono::{Duration, Utc};
use futures::TryStreamExt;

async fn zendesk(sim: &audit_sim::SimHandle) -> ZendeskClient {
    let acme = sim.tenant_credentials("acme").unwrap();
    ZendeskClient::builder()
        .base_url(sim.zendesk_url())
        .tenant("acme")
        .api_token(acme.zendesk_email, acme.zendesk_api_token)
        .build()
        .unwrap()
}

fn logins() -> StreamFilter {
    StreamFilter::AuditLogs(AuditLogFilter::default().action("login"))
}

/// The events' ids and the checkpoint after the first page.
async fn first_page(client: &ZendeskClient, options: StreamOptions) -> (Vec<String>, Checkpoint) {
    let mut pages = client
        .event_pages(StreamKind::ZendeskAuditLogs, options)
        .unwrap();
    let page = pages.try_next().await.unwrap().expect("a first page");
    let ids = page.events.iter().map(|e| e.id.clone()).collect();
    (ids, page.checkpoint)
}

async fn all_ids(client: &ZendeskClient, options: StreamOptions) -> Result<Vec<String>, Error> {
    let pages = client.event_pages(StreamKind::ZendeskAuditLogs, options)?;
    let pages: Vec<_> = pages.try_collect().await?;
    Ok(pages
        .iter()
        .flat_map(|page| page.events.iter().map(|e| e.id.clone()))
        .collect())
}

#[tokio::test]
async fn a_filtered_audit_log_export_resumes_with_its_filters_and_refuses_others() {
    let sim = audit_sim::start(audit_sim::SimConfig::default())
        .await
        .unwrap();
    let client = zendesk(&sim).await;
    let window = Window::between(Utc::now() - Duration::days(400), Utc::now()).unwrap();
    let options = || StreamOptions::new(window).with_filter(logins());

    let whole = all_ids(&client, options()).await.unwrap();
    let (first, checkpoint) = first_page(&client, options()).await;
    assert!(
        !first.is_empty() && whole.len() > first.len(),
        "the window holds more than one page of logins ({} in all)",
        whole.len()
    );
    assert_eq!(
        checkpoint.selection.to_string(),
        "action=login",
        "the checkpoint records the filter"
    );

    // Resumed with the same filters, from the saved JSON: exactly the rest.
    let saved = Checkpoint::from_json(&checkpoint.to_json()).unwrap();
    let rest = all_ids(
        &client,
        StreamOptions::resume_from(saved.clone()).with_filter(logins()),
    )
    .await
    .unwrap();
    assert_eq!([first, rest].concat(), whole);

    // Resumed without the filter (what the README's resume loop did before): refused at
    // once, naming both selections, instead of 'resuming' into every action.
    let error = all_ids(&client, StreamOptions::resume_from(saved.clone()))
        .await
        .unwrap_err();
    let Error::InvalidCheckpoint(message) = &error else {
        panic!("expected an invalid checkpoint, got {error:?}");
    };
    assert!(
        message.contains("`action=login`") && message.contains("every record"),
        "{message}"
    );

    // Through the builder, with another action: refused too.
    let other = client
        .audit_log_events(saved.window)
        .resume(saved)
        .unwrap()
        .filter(AuditLogFilter::default().action("create"))
        .pages()
        .try_next()
        .await
        .unwrap_err();
    assert!(other.to_string().contains("`action=create`"), "{other}");
}

#[tokio::test]
async fn a_genesys_export_resumed_with_another_service_is_refused() {
    let sim = audit_sim::start(audit_sim::SimConfig::default())
        .await
        .unwrap();
    let acme = sim.tenant_credentials("acme").unwrap();
    let client = GenesysClient::builder()
        .api_base_url(sim.genesys_api_url())
        .login_base_url(sim.genesys_login_url())
        .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
        .tenant("acme")
        .build()
        .unwrap();
    let window = Window::between(Utc::now() - Duration::days(3), Utc::now()).unwrap();
    let checkpoint = client
        .audit_events(window)
        .service("Directory")
        .filter(AuditFilter::EntityType("Role".into()))
        .checkpoint();
    assert_eq!(
        checkpoint.selection.to_string(),
        "EntityType=Role; service=Directory"
    );
    for (filter, wanted) in [
        (StreamFilter::All, "every record"),
        (
            StreamFilter::Genesys {
                service: Some("Routing".into()),
                filters: vec![AuditFilter::EntityType("Role".into())],
            },
            "`EntityType=Role; service=Routing`",
        ),
    ] {
        let options = StreamOptions::resume_from(checkpoint.clone()).with_filter(filter);
        let error = client
            .event_pages(StreamKind::GenesysAudits, options)
            .unwrap()
            .try_next()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidCheckpoint(m) if m.contains(wanted)),
            "{error}"
        );
    }
    // The same service and filters resume.
    let same = StreamFilter::Genesys {
        service: Some("Directory".into()),
        filters: vec![AuditFilter::EntityType("Role".into())],
    };
    let options = StreamOptions::resume_from(checkpoint).with_filter(same);
    let pages: Vec<_> = client
        .event_pages(StreamKind::GenesysAudits, options)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(!pages.is_empty());
}

#[tokio::test]
async fn a_filter_a_stream_cannot_apply_is_refused_before_any_request() {
    let sim = audit_sim::start(audit_sim::SimConfig::default())
        .await
        .unwrap();
    let client = zendesk(&sim).await;
    let options = StreamOptions::new(Window::since(Utc::now())).with_filter(logins());
    let error = client
        .event_pages(StreamKind::ZendeskTicketAudits, options)
        .expect_err("refused");
    assert!(matches!(error, Error::InvalidConfig(_)), "{error}");
}
