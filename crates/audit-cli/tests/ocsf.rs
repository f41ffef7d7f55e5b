//! OCSF rendering: each source condition lands in the class the mapping table names, every
//! rendered event validates against the official OCSF 1.8.0 schema (`official_ocsf/`) and
//! against the JSON Schema `trail schema --ocsf` prints, and the identifier rules hold
//! (`type_uid = class_uid * 100 + activity_id`).

mod official_ocsf;

use audit_cli::ocsf::{OCSF_VERSION, ocsf_schema, to_ocsf};
use audit_core::event::{
    Action, ActorKind, AuditEvent, Change, Outcome, Source, StreamKind, Target,
};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

fn event(
    stream: StreamKind,
    vendor_action: &str,
    target: Option<(&str, &str, &str)>,
) -> AuditEvent {
    let source = Source::new(stream, "acme");
    let mut event = AuditEvent::new(
        source,
        stream.record_kind(),
        "4242",
        Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap(),
        vendor_action,
        json!({"id": 4242, "action": vendor_action, "unknown_field": null}),
    );
    event.actor.kind = ActorKind::User;
    event.actor.id = Some("77".into());
    event.actor.name = Some("Ada Admin".into());
    event.actor.ip = Some("203.0.113.9".into());
    event.target =
        target.map(|(kind, id, name)| Target::new(kind, Some(id.into()), Some(name.into())));
    event
}

fn validate(rendered: &Value) {
    let schema = ocsf_schema();
    let validator = jsonschema::validator_for(&schema).expect("the OCSF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(rendered)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{rendered:#}\n{errors:#?}");
    official_ocsf::SCHEMA.assert_valid(rendered);
}

/// Renders, validates and returns `(class_uid, activity_id, rendered)`.
fn render(event: &AuditEvent) -> (u64, u64, Value) {
    let rendered = serde_json::to_value(to_ocsf(event)).unwrap();
    validate(&rendered);
    let class = rendered["class_uid"].as_u64().unwrap();
    let activity = rendered["activity_id"].as_u64().unwrap();
    assert_eq!(
        rendered["type_uid"].as_u64().unwrap(),
        class * 100 + activity
    );
    assert_eq!(rendered["category_uid"], 3);
    assert_eq!(rendered["metadata"]["version"], OCSF_VERSION);
    (class, activity, rendered)
}

#[test]
fn zendesk_sign_ins_are_authentication_with_their_outcome() {
    let mut login = event(
        StreamKind::ZendeskAuditLogs,
        "login",
        Some(("user", "77", "Ada Admin")),
    );
    login.action = Action::Login;
    login.outcome = Outcome::Failure;
    let (class, activity, rendered) = render(&login);
    assert_eq!((class, activity), (3002, 1));
    assert_eq!(rendered["status_id"], 2);
    assert_eq!(rendered["user"]["uid"], "77");
    assert_eq!(rendered["type_name"], "Authentication: Logon");
}

#[test]
fn zendesk_user_lifecycle_is_account_change() {
    for (action, expected) in [("create", 1), ("destroy", 6), ("update", 99)] {
        let e = event(
            StreamKind::ZendeskAuditLogs,
            action,
            Some(("user", "9", "Bo")),
        );
        let (class, activity, rendered) = render(&e);
        assert_eq!((class, activity), (3001, expected), "{action}");
        if expected == 99 {
            assert_eq!(rendered["activity_name"], "Update");
        }
    }
}

#[test]
fn a_zendesk_role_change_assigns_privileges() {
    let mut e = event(
        StreamKind::ZendeskAuditLogs,
        "update",
        Some(("user", "9", "Bo")),
    );
    e.description = Some("Role changed from End User to Administrator".into());
    let (class, activity, rendered) = render(&e);
    assert_eq!((class, activity), (3005, 1));
    assert_eq!(rendered["privileges"], json!(["Administrator"]));
    assert_eq!(rendered["user"]["name"], "Bo");
    assert_eq!(
        rendered["type_name"],
        "User Access Management: Assign Privileges"
    );
}

#[test]
fn a_zendesk_demotion_revokes_privileges() {
    let mut e = event(
        StreamKind::ZendeskAuditLogs,
        "update",
        Some(("user", "9", "Bo")),
    );
    e.description = Some("Role changed from Administrator to End User".into());
    let (class, activity, rendered) = render(&e);
    assert_eq!((class, activity), (3005, 2));
    assert_eq!(rendered["activity_name"], "Revoke Privileges");
    assert_eq!(rendered["privileges"], json!(["Administrator"]));
}

#[test]
fn a_zendesk_per_product_role_change_is_user_access_management() {
    let mut e = event(
        StreamKind::ZendeskAuditLogs,
        "update",
        Some(("user", "9", "Bo")),
    );
    e.description = Some(
        "Support role changed from Agent to Administrator\nGuide role changed from Viewer to Manager"
            .into(),
    );
    let (class, activity, rendered) = render(&e);
    assert_eq!((class, activity), (3005, 1));
    assert_eq!(
        rendered["privileges"],
        json!(["Support: Administrator", "Guide: Manager"])
    );
}

#[test]
fn a_genesys_change_of_a_users_roles_assigns_or_revokes_them() {
    for (old, new, activity, privileges) in [
        (
            json!(["employee"]),
            json!(["employee", "admin"]),
            1,
            json!(["admin"]),
        ),
        (
            json!(["employee", "admin"]),
            json!(["employee"]),
            2,
            json!(["admin"]),
        ),
    ] {
        let mut e = event(
            StreamKind::GenesysAudits,
            "Update",
            Some(("User", "u-1", "Bo")),
        );
        e.changes = vec![Change::new("roles", old, new)];
        let (class, got, rendered) = render(&e);
        assert_eq!((class, got), (3005, activity));
        assert_eq!(rendered["privileges"], privileges);
        assert_eq!(rendered["user"]["uid"], "u-1");
    }
}

#[test]
fn sign_ins_name_the_service_signed_in_to() {
    for (stream, action) in [
        (StreamKind::ZendeskAuditLogs, "login"),
        (StreamKind::GenesysAudits, "Authenticate"),
    ] {
        let (class, _, rendered) = render(&event(stream, action, None));
        assert_eq!(class, 3002);
        assert_eq!(
            rendered["service"]["name"],
            stream.vendor().product_name(),
            "{action}"
        );
    }
}

#[test]
fn other_activities_have_the_other_type_name_and_the_vendors_activity_name() {
    let e = event(
        StreamKind::GenesysAudits,
        "Checkin",
        Some(("Flow", "f", "Main")),
    );
    let (_, activity, rendered) = render(&e);
    assert_eq!(activity, 99);
    assert_eq!(rendered["type_uid"], 300499);
    assert_eq!(rendered["type_name"], "Entity Management: Other");
    assert_eq!(rendered["activity_name"], "Checkin");
}

#[test]
fn an_actor_naming_no_one_is_omitted_and_client_ids_are_app_uids() {
    let mut e = event(
        StreamKind::GenesysAudits,
        "Update",
        Some(("Queue", "q", "S")),
    );
    e.actor.id = None;
    e.actor.name = None;
    let (_, _, rendered) = render(&e);
    assert!(rendered.get("actor").is_none(), "{rendered:#}");

    e.actor.app = Some("6a1b2c3d-0000-1111-2222-333344445555".into());
    let (_, _, rendered) = render(&e);
    assert_eq!(
        rendered["actor"]["app_uid"],
        "6a1b2c3d-0000-1111-2222-333344445555"
    );
    assert!(rendered["actor"].get("app_name").is_none());
}

#[test]
fn other_zendesk_changes_are_entity_management() {
    for (action, expected) in [
        ("create", 1),
        ("update", 3),
        ("destroy", 4),
        ("exported", 99),
    ] {
        let e = event(
            StreamKind::ZendeskAuditLogs,
            action,
            Some(("rule", "5", "Escalate")),
        );
        let (class, activity, rendered) = render(&e);
        assert_eq!((class, activity), (3004, expected), "{action}");
        assert_eq!(rendered["entity"]["type"], "rule");
    }
}

#[test]
fn ticket_audits_are_entity_management_of_the_ticket() {
    let mut created = event(
        StreamKind::ZendeskTicketAudits,
        "Create",
        Some(("ticket", "123", "")),
    );
    created.action = Action::Create;
    created.actor.kind = ActorKind::System;
    created.changes = vec![Change::new("status", Value::Null, json!("new"))];
    let (class, activity, rendered) = render(&created);
    assert_eq!((class, activity), (3004, 1));
    assert_eq!(rendered["actor"]["user"]["type_id"], 3);
    assert_eq!(rendered["unmapped"]["changes"][0]["new"], "new");

    let mut updated = created.clone();
    updated.action = Action::Update;
    assert_eq!(render(&updated).1, 3);
}

#[test]
fn genesys_actions_choose_their_classes() {
    let cases = [
        ("Authenticate", "User", 3002, 1),
        ("AuthenticationFailed", "User", 3002, 1),
        ("SingleLogout", "User", 3002, 2),
        ("MemberAdd", "Team", 3006, 3),
        ("MemberRemove", "Group", 3006, 4),
        ("Create", "SkillGroup", 3006, 6),
        ("Delete", "DirectoryGroup", 3006, 5),
        ("Create", "User", 3001, 1),
        ("Delete", "AuthUser", 3001, 6),
        ("ChangePassword", "User", 3001, 3),
        ("Update", "Queue", 3004, 3),
        ("Download", "Recording", 3004, 2),
        ("HardDelete", "Flow", 3004, 4),
        ("Deactivate", "Integration", 3004, 11),
        ("Publish", "Flow", 3004, 3),
        ("Checkin", "Flow", 3004, 99),
    ];
    for (action, kind, class, activity) in cases {
        let e = event(
            StreamKind::GenesysAudits,
            action,
            Some((kind, "id-1", "name")),
        );
        let (got_class, got_activity, rendered) = render(&e);
        assert_eq!(
            (got_class, got_activity),
            (class, activity),
            "{action} on {kind}"
        );
        if activity == 99 {
            assert_eq!(rendered["activity_name"], action);
        }
    }
}

#[test]
fn genesys_warnings_are_status_other_named_warning() {
    let mut e = event(
        StreamKind::GenesysRealtime,
        "Update",
        Some(("Queue", "q", "Support")),
    );
    e.outcome = Outcome::Warning;
    let (_, _, rendered) = render(&e);
    assert_eq!(rendered["status_id"], 99);
    assert_eq!(rendered["status"], "Warning");
}

#[test]
fn metadata_and_raw_data_carry_the_source() {
    let mut e = event(
        StreamKind::GenesysAudits,
        "Update",
        Some(("Queue", "q", "Support")),
    );
    e.correlation_id = Some("tx-1".into());
    e.actor.app = Some("Admin UI".into());
    e.actor.user_agent = Some("curl/8".into());
    let (_, _, rendered) = render(&e);
    assert_eq!(rendered["metadata"]["uid"], e.id);
    assert_eq!(rendered["metadata"]["original_event_uid"], "4242");
    assert_eq!(rendered["metadata"]["log_name"], "genesys-audits");
    assert_eq!(rendered["metadata"]["tenant_uid"], "acme");
    assert_eq!(rendered["metadata"]["correlation_uid"], "tx-1");
    assert_eq!(rendered["metadata"]["product"]["name"], "Genesys Cloud");
    assert_eq!(rendered["time"], 1_714_557_600_000_i64);
    assert_eq!(rendered["src_endpoint"]["ip"], "203.0.113.9");
    assert_eq!(rendered["http_request"]["user_agent"], "curl/8");
    assert_eq!(rendered["actor"]["app_name"], "Admin UI");
    let raw: Value = serde_json::from_str(rendered["raw_data"].as_str().unwrap()).unwrap();
    assert_eq!(raw, e.raw);
}

#[test]
fn a_record_that_did_not_decode_as_sent_carries_its_mark_and_its_record_verbatim() {
    let text = r#"{"id":4242,"action":"login","actor_name":"Ann \ud800"}"#;
    let mut e = event(StreamKind::ZendeskAuditLogs, "login", None);
    e.raw = serde_json::from_str(text).unwrap();
    e.decode_issue = Some("1 lone surrogate escape(s) read as U+FFFD".into());
    let (_, _, rendered) = render(&e);
    assert_eq!(rendered["unmapped"]["decode_issue"], json!(e.decode_issue));
    assert_eq!(rendered["raw_data"], text, "the record as sent");
    let plain = event(StreamKind::ZendeskAuditLogs, "login", None);
    let (_, _, rendered) = render(&plain);
    assert!(rendered["unmapped"].get("decode_issue").is_none());
}

#[test]
fn an_event_without_a_target_still_satisfies_its_class() {
    let e = event(StreamKind::ZendeskAuditLogs, "login", None);
    let (class, _, rendered) = render(&e);
    assert_eq!(class, 3002);
    assert_eq!(rendered["user"]["uid"], "77", "falls back to the actor");
}

#[test]
fn the_schema_rejects_an_event_missing_its_class_attribute() {
    let e = event(
        StreamKind::ZendeskAuditLogs,
        "login",
        Some(("user", "77", "Ada")),
    );
    let mut rendered = serde_json::to_value(to_ocsf(&e)).unwrap();
    rendered.as_object_mut().unwrap().remove("user");
    let schema = ocsf_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        !validator.is_valid(&rendered),
        "an Authentication event needs `user`"
    );
}

#[test]
fn promoted_fields_land_where_ocsf_has_a_home() {
    let mut e = event(
        StreamKind::GenesysAudits,
        "Update",
        Some(("Queue", "q", "Support")),
    );
    e.actor.app = Some("6a1b2c3d-0000-1111-2222-333344445555".into());
    e.actor.application = Some("Genesys Cloud Admin UI".into());
    e.actor.other_ips = vec!["10.0.0.5".into()];
    e.actor.home_org = Some("f7110c89-1111-2222-3333-444455556666".into());
    e.service = Some("PeoplePermissions".into());
    e.level = Some("USER".into());
    e.context = [("ExportType".to_string(), "CSV".to_string())].into();
    e.rule = Some(audit_core::Rule::new(
        "trigger",
        Some("35079792".into()),
        Some("Assign to first responder".into()),
    ));
    let (_, _, rendered) = render(&e);
    assert_eq!(
        rendered["metadata"]["product"]["feature"]["name"],
        "PeoplePermissions"
    );
    assert_eq!(
        rendered["actor"]["app_uid"],
        "6a1b2c3d-0000-1111-2222-333344445555"
    );
    assert_eq!(rendered["actor"]["app_name"], "Genesys Cloud Admin UI");
    assert_eq!(
        rendered["actor"]["user"]["org"]["uid"],
        "f7110c89-1111-2222-3333-444455556666"
    );
    assert_eq!(
        rendered["src_endpoint"]["intermediate_ips"],
        json!(["10.0.0.5"])
    );
    assert_eq!(rendered["unmapped"]["level"], "USER");
    assert_eq!(rendered["unmapped"]["context"]["ExportType"], "CSV");
    assert_eq!(rendered["unmapped"]["rule"]["kind"], "trigger");
}
