//! Any bytes as every Zendesk answer: decoded into the generated page types, and every record
//! that decodes mapped to its event (and its ticket events, sign-in and role changes).

#![no_main]

use audit_core::ErrorBody;
use audit_core::zendesk::TicketEvent;
use audit_core::zendesk::description::{parse_role_changes, parse_sign_in};
use audit_core::zendesk::mapping::{audit_log_event, ticket_audit_event};
use libfuzzer_sys::fuzz_target;
use raw_support::Recorded;
use zendesk_raw::types as zt;

fn ticket_audit(record: &Recorded<zt::TicketAudit>) {
    let event = ticket_audit_event("acme", record);
    assert_eq!(&event.raw, record.raw());
    assert_eq!(
        event.id,
        format!("zendesk:acme:ticket-audit:{}", event.native_id)
    );
    let events = TicketEvent::all_from_audit(record.raw());
    let expected = record
        .raw()
        .get("events")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(events.len(), expected);
    serde_json::to_vec(&event).unwrap();
}

fn audit_log(record: &Recorded<zt::AuditLog>) {
    let event = audit_log_event("acme", record);
    assert_eq!(&event.raw, record.raw());
    assert_eq!(
        event.id,
        format!("zendesk:acme:audit-log:{}", event.native_id)
    );
    if let Some(description) = &record.change_description {
        let _ = parse_sign_in(description);
        let _ = parse_role_changes(description);
    }
    serde_json::to_vec(&event).unwrap();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<zt::AuditLogsResponse>(data) {
        page.audit_logs.iter().for_each(audit_log);
    }
    if let Ok(page) = serde_json::from_slice::<zt::TicketAuditsResponse>(data) {
        page.audits.iter().for_each(ticket_audit);
    }
    if let Ok(page) = serde_json::from_slice::<zt::TicketAuditsForTicketResponse>(data) {
        page.audits.iter().for_each(ticket_audit);
    }
    if let Ok(zt::TicketAuditResponse { audit: Some(audit) }) = serde_json::from_slice(data) {
        ticket_audit(&audit);
    }
    if let Ok(zt::AuditLogResponse {
        audit_log: Some(record),
    }) = serde_json::from_slice(data)
    {
        audit_log(&record);
    }
    if let Ok(record) = serde_json::from_slice::<Recorded<zt::TicketAudit>>(data) {
        ticket_audit(&record);
    }
    if let Ok(record) = serde_json::from_slice::<Recorded<zt::AuditLog>>(data) {
        audit_log(&record);
    }
    let _ = serde_json::from_slice::<zt::TicketAuditsCountResponse>(data);
    if let Ok(error) = serde_json::from_slice::<zt::ErrorResponse>(data) {
        let _ = error.detail().to_string();
    }
});
