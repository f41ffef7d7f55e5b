//! Snapshots of the `AuditEvent`s mapped from realistic Zendesk records: the shared fixtures,
//! one audit per documented event kind, every audit-log action, the awkward cases, and the
//! JSON Schema of `AuditEvent`.

use audit_core::zendesk::mapping::{audit_log_event, ticket_audit_event};
use audit_core::{Action, ActorKind, AuditEvent, Outcome, audit_event_schema};
use raw_support::Recorded;
use serde_json::{Value, json};
use zendesk_raw::types::{AuditLog, TicketAudit};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/zendesk/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn audits(value: &Value, key: &str) -> Vec<Recorded<TicketAudit>> {
    serde_json::from_value(value[key].clone()).unwrap()
}

fn logs(value: &Value, key: &str) -> Vec<Recorded<AuditLog>> {
    serde_json::from_value(value[key].clone()).unwrap()
}

fn map_audits(records: &[Recorded<TicketAudit>]) -> Vec<AuditEvent> {
    records
        .iter()
        .map(|a| ticket_audit_event("acme", a))
        .collect()
}

fn map_logs(records: &[Recorded<AuditLog>]) -> Vec<AuditEvent> {
    records.iter().map(|r| audit_log_event("acme", r)).collect()
}

/// The mapped fields only: the input is right next to the snapshot in the test.
fn without_raw(events: &[AuditEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|event| {
            let mut value = serde_json::to_value(event).unwrap();
            value.as_object_mut().unwrap().remove("raw");
            value
        })
        .collect()
}

#[test]
fn ticket_audits_of_the_fixtures() {
    for (name, key) in [
        ("list_ticket_audits_cursor", "audits"),
        ("list_ticket_audits_legacy", "audits"),
        ("list_audits_for_ticket_cursor", "audits"),
        ("list_audits_for_ticket_archived", "audits"),
    ] {
        let input = fixture(&format!("{name}.json"));
        let records = audits(&input, key);
        let events = map_audits(&records);
        // `raw` is the record untouched, unknown fields included.
        for (event, record) in events.iter().zip(&input[key].as_array().unwrap().clone()) {
            assert_eq!(&event.raw, record);
        }
        insta::assert_json_snapshot!(format!("ticket_audits__{name}"), events);
    }
    let show = fixture("show_ticket_audit.json");
    let audit: Recorded<TicketAudit> = serde_json::from_value(show["audit"].clone()).unwrap();
    insta::assert_json_snapshot!(
        "ticket_audits__show_ticket_audit",
        ticket_audit_event("acme", &audit)
    );
}

#[test]
fn audit_logs_of_the_fixtures() {
    for name in ["list_audit_logs_cursor", "list_audit_logs_offset"] {
        let input = fixture(&format!("{name}.json"));
        let events = map_logs(&logs(&input, "audit_logs"));
        insta::assert_json_snapshot!(format!("audit_logs__{name}"), events);
    }
    let show = fixture("show_audit_log.json");
    let record: Recorded<AuditLog> = serde_json::from_value(show["audit_log"].clone()).unwrap();
    insta::assert_json_snapshot!(
        "audit_logs__show_audit_log",
        audit_log_event("acme", &record)
    );
}

/// One audit per documented event kind (ZD-EV and the client libraries), plus the kinds seen
/// in real data under other names.
fn one_audit_per_event_kind() -> Vec<Value> {
    let rule = json!({"channel": "rule", "source": {"from": {"id": 360011422049i64, "title": "Notify requester"}, "rel": "trigger"}});
    let events = vec![
        json!({"id": 1, "type": "Create", "field_name": "status", "value": "new"}),
        json!({"id": 2, "type": "Change", "field_name": "priority", "value": "high", "previous_value": "normal"}),
        json!({"id": 3, "type": "Comment", "author_id": 7700412298i64, "body": "Internal note", "html_body": "<p>Internal note</p>", "plain_body": "Internal note", "public": false, "attachments": [], "audit_id": 103}),
        json!({"id": 4, "type": "VoiceComment", "author_id": 7700412298i64, "public": false, "body": "Call recording", "data": {"from": "+351210000000", "to": "+442000000000", "recording_url": "https://acme.zendesk.com/recordings/1", "call_duration": 94, "transcription_text": "Hello"}, "formatted_from": "+351 21 000 0000", "formatted_to": "+44 20 0000 0000", "transcription_visible": false, "attachments": []}),
        json!({"id": 5, "type": "CommentPrivacyChange", "comment_id": 24871093300131i64, "public": false}),
        json!({"id": 6, "type": "CommentRedactionEvent", "comment_id": 24871093300131i64}),
        json!({"id": 7, "type": "AttachmentRedactionEvent", "attachment_id": 24871093215790i64, "comment_id": 24871093215781i64}),
        json!({"id": 8, "type": "Notification", "subject": "Your request was received", "body": "We got it.", "recipients": [7700519804i64], "via": rule}),
        json!({"id": 9, "type": "NotificationWithCcs", "subject": "Update", "body": "An update.", "recipients": [7700519804i64, 7700623340i64], "via": rule}),
        json!({"id": 10, "type": "Cc", "recipients": [7700623340i64], "via": rule}),
        json!({"id": 11, "type": "FollowerNotificationEvent", "subject": "Followed ticket updated", "body": "…", "recipients": [7700601177i64], "via": rule}),
        json!({"id": 12, "type": "FollowersChange", "previous_followers": [], "current_followers": ["kenji.mori@acme-outfitters.example"]}),
        json!({"id": 13, "type": "EmailCcChange", "previous_email_ccs": ["dana@example.net"], "current_email_ccs": []}),
        json!({"id": 14, "type": "AgentMacroReference", "macro_id": "360020117733", "macro_title": "Billing::Escalate to finance", "macro_deleted": false}),
        json!({"id": 15, "type": "SatisfactionRating", "score": "good", "assignee_id": 7700412298i64, "body": "Quick and kind"}),
        json!({"id": 16, "type": "TicketSharingEvent", "agreement_id": 4421, "action": "shared"}),
        json!({"id": 17, "type": "OrganizationActivity", "subject": "New ticket in your organization", "body": "…", "recipients": [7700519804i64], "via": rule}),
        json!({"id": 18, "type": "Error", "message": "Target CRM legacy failed: 500"}),
        json!({"id": 19, "type": "Tweet", "direct_message": false, "body": "@acme my parcel?", "recipients": []}),
        json!({"id": 20, "type": "SMS", "body": "Your ticket was updated"}),
        json!({"id": 21, "type": "FacebookEvent", "page": {"name": "Acme", "graph_id": "1234"}, "communication": 1, "ticket_via": "post", "body": "Hello"}),
        json!({"id": 22, "type": "FacebookComment", "data": {}, "body": "Nice", "public": true, "trusted": true, "author_id": 7700623340i64, "graph_object_id": "99", "attachments": []}),
        json!({"id": 23, "type": "External", "resource": "crm", "body": "Synced"}),
        json!({"id": 24, "type": "LogMeInTranscript", "body": "Session transcript"}),
        json!({"id": 25, "type": "Push", "value": "ticket 48213 updated", "value_reference": "crm"}),
        json!({"id": 26, "type": "ChatStartedEvent", "value": {"visitor_id": "v1", "chat_id": "c1", "history": [{"chat_index": 0, "type": "ChatMessage", "message": "Hi"}]}}),
        json!({"id": 27, "type": "FollowerChange", "previous_followers": ["a@acme.example"], "current_followers": []}),
        json!({"id": 28, "type": "FollowerNotification", "subject": "Followed", "recipients": [1, 2], "via": rule}),
        json!({"id": 29, "type": "SkillBasedRoutingAttributeChange", "attribute_value_ids": ["abc"]}),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            json!({
                "id": 100 + i, "ticket_id": 48213, "created_at": "2024-03-18T10:03:19Z",
                "author_id": 7700412298i64, "via": {"channel": "web"}, "metadata": {"system": {}, "custom": {}},
                "events": [event]
            })
        })
        .collect()
}

#[test]
fn every_documented_event_kind() {
    let records: Vec<Recorded<TicketAudit>> = one_audit_per_event_kind()
        .into_iter()
        .map(|v| Recorded::from_raw(v).unwrap())
        .collect();
    let events = map_audits(&records);
    insta::assert_json_snapshot!("ticket_audits__every_event_kind", without_raw(&events));
}

#[test]
fn every_audit_log_action() {
    let record = |id: i64, action: &str, description: Value, extra: Value| {
        let mut value = json!({
            "id": id, "url": format!("https://acme.zendesk.com/api/v2/audit_logs/{id}.json"),
            "created_at": "2024-03-18T10:02:51Z", "action": action, "action_label": "Label",
            "actor_id": 7700412231i64, "actor_name": "Priya Raman",
            "source_id": 9120734455i64, "source_type": "user", "source_label": "Marco Bellini",
            "change_description": description, "ip_address": "203.0.113.54"
        });
        for (key, field) in extra.as_object().unwrap() {
            value[key] = field.clone();
        }
        Recorded::<AuditLog>::from_raw(value).unwrap()
    };
    let records = vec![
        record(
            1,
            "create",
            json!("Created"),
            json!({"source_type": "apitoken", "source_id": 3104, "source_label": "CRM sync"}),
        ),
        record(
            2,
            "update",
            json!("Role changed from Light Agent to Agent"),
            json!({}),
        ),
        record(
            3,
            "update",
            json!(
                "Support role changed from Agent to Admin\nGuide role changed from Viewer to Manager"
            ),
            json!({}),
        ),
        record(
            4,
            "destroy",
            json!("Deleted"),
            json!({"source_type": "rule", "source_label": "Trigger: old"}),
        ),
        record(
            5,
            "login",
            json!(
                "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login"
            ),
            json!({}),
        ),
        record(
            6,
            "login",
            json!("Failed sign-in using Google from https://acme.zendesk.com/access/google"),
            json!({}),
        ),
        record(7, "login", json!("Anmeldung erfolgreich"), json!({})),
        record(
            8,
            "exported",
            json!("Audit log CSV export requested"),
            json!({"action_label": null, "ip_address": null}),
        ),
        record(9, "suspend", json!("Suspended"), json!({})),
        record(
            10,
            "update",
            json!("Two-Factor authentication for all admins and agents: disabled"),
            json!({"actor_id": -1, "actor_name": "Zendesk", "ip_address": "", "source_type": "account_setting", "source_label": "Two-Factor authentication for all admins and agents"}),
        ),
        record(
            11,
            "update",
            Value::Null,
            json!({"action_label": "Updated", "source_type": null, "source_id": null, "source_label": null}),
        ),
    ];
    let events = map_logs(&records);
    assert_eq!(events[3].action, Action::Delete);
    assert_eq!(events[4].outcome, Outcome::Success);
    assert_eq!(events[5].outcome, Outcome::Failure);
    assert_eq!(events[6].outcome, Outcome::Unknown);
    assert_eq!(events[7].action, Action::Export);
    assert_eq!(events[8].action, Action::Other("suspend".into()));
    assert_eq!(events[9].actor.kind, ActorKind::System);
    insta::assert_json_snapshot!("audit_logs__every_action", without_raw(&events));
}

/// The awkward records, asserted field by field (the snapshots above show them whole).
#[test]
fn awkward_records_map_without_loss() {
    // Undocumented event kind, integer via.channel, author_id -1, unknown audit field.
    let show = fixture("show_ticket_audit.json");
    let audit: Recorded<TicketAudit> = serde_json::from_value(show["audit"].clone()).unwrap();
    let event = ticket_audit_event("acme", &audit);
    assert_eq!(event.actor.kind, ActorKind::System);
    assert_eq!(event.actor.id.as_deref(), Some("-1"));
    // A numeric via id reads as the via type it stands for: 8 is `rule`, as in the string form.
    assert_eq!(event.actor.app.as_deref(), Some("rule"));
    assert!(
        event
            .description
            .as_deref()
            .unwrap()
            .contains("WebhookEvent")
    );
    assert_eq!(event.raw["ticket_form_id"], 360001122334i64);
    assert_eq!(event.changes[1].old, json!(3));
    assert_eq!(event.changes[1].new, json!(4));

    // Object value (SLA), tag arrays, null values.
    let cursor = fixture("list_ticket_audits_cursor.json");
    let event = ticket_audit_event("acme", &audits(&cursor, "audits")[0]);
    let sla = event
        .changes
        .iter()
        .find(|c| c.field == "first_reply_time")
        .unwrap();
    assert_eq!(
        sla.new,
        json!({"minutes": 1440, "in_business_hours": false})
    );
    let priority = event
        .changes
        .iter()
        .find(|c| c.field == "priority")
        .unwrap();
    assert_eq!(priority.new, Value::Null);
    assert_eq!(event.action, Action::Create);
    assert_eq!(event.raw["ingest_pipeline"], "mail-v2");

    // Space-separated tag strings.
    let archived = fixture("list_audits_for_ticket_archived.json");
    let events = map_audits(&audits(&archived, "audits"));
    let created = events[0]
        .changes
        .iter()
        .find(|c| c.field == "tags")
        .unwrap();
    assert_eq!(created.new, json!(["billing", "invoice_copy"]));
    let changed = events[1]
        .changes
        .iter()
        .find(|c| c.field == "tags")
        .unwrap();
    assert_eq!(changed.old, json!(["billing", "invoice_copy"]));
    assert_eq!(
        changed.new,
        json!(["billing", "invoice_copy", "invoice_sent"])
    );
    assert_eq!(
        events[1].actor.user_agent.as_deref(),
        Some("Zendesk for iPhone/5.9.2")
    );
    assert_eq!(events[1].actor.app.as_deref(), Some("mobile"));

    // Unknown audit-log field.
    let show = fixture("show_audit_log.json");
    let record: Recorded<AuditLog> = serde_json::from_value(show["audit_log"].clone()).unwrap();
    let event = audit_log_event("acme", &record);
    assert_eq!(event.raw["actor_type"], "api_token");
    assert_eq!(event.actor.ip, None);
}

#[test]
fn audit_event_json_schema() {
    insta::assert_json_snapshot!("audit_event_schema", audit_event_schema());
}
