//! Snapshots of the `AuditEvent`s mapped from realistic Genesys Cloud `AuditLogMessage`s: the
//! shared fixtures (with and without `expand=user`, empty `client.id`, unknown service, action,
//! entity type, level and status, explicit `null`s), every status, every level, every action
//! the mapper knows, API-client and system actors, and a downloaded (topic-shaped) record.

use audit_core::genesys::mapping::audit_event;
use audit_core::{Action, ActorKind, AuditEvent, Outcome, StreamKind};
use genesys_raw::types::AuditLogMessage;
use raw_support::Recorded;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/genesys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn map(stream: StreamKind, records: &[Value]) -> Vec<AuditEvent> {
    records
        .iter()
        .map(|value| {
            let record: Recorded<AuditLogMessage> = Recorded::from_raw(value.clone()).unwrap();
            let event = audit_event("acme", stream, &record);
            // `raw` is the record untouched, unknown fields and explicit nulls included.
            assert_eq!(&event.raw, value);
            event
        })
        .collect()
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
fn records_of_the_fixtures() {
    for (name, stream) in [
        ("results-page-first", StreamKind::GenesysAudits),
        ("results-page-last", StreamKind::GenesysAudits),
        ("realtime-page", StreamKind::GenesysRealtime),
        ("realtime-related", StreamKind::GenesysRealtime),
    ] {
        let input = fixture(&format!("{name}.json"));
        let events = map(stream, input["entities"].as_array().unwrap());
        insta::assert_json_snapshot!(format!("genesys__{name}"), events);
    }
}

/// A complete record whose fields the cases below replace.
fn base() -> Value {
    json!({
        "id": "0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
        "userHomeOrgId": "a3c5e7f9-1b2d-4f60-8a9c-0e1f2a3b4c5d",
        "user": {"id": "5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d", "selfUri": "/api/v2/users/5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d"},
        "client": {"id": "c8e0a2b4-6d8f-4012-b345-6789abcdef01", "selfUri": "/api/v2/oauth/clients/c8e0a2b4-6d8f-4012-b345-6789abcdef01"},
        "remoteIp": ["203.0.113.10", "10.20.0.5"],
        "serviceName": "PeoplePermissions",
        "level": "USER",
        "eventDate": "2024-05-14T09:21:07.512Z",
        "message": {"localizableMessageCode": "AUDIT_ROLE_UPDATED", "message": "Role Supervisor was updated", "messageWithParams": "Role {roleName} was updated", "messageParams": {"roleName": "Supervisor"}},
        "action": "Update",
        "entity": {"id": "9d8c7b6a-1234-5678-9abc-def012345678", "name": "Supervisor", "selfUri": "/api/v2/authorization/roles/9d8c7b6a-1234-5678-9abc-def012345678"},
        "entityType": "Role",
        "status": "SUCCESS",
        "application": "Genesys Cloud Admin UI",
        "initiatingAction": {"transactionId": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "actionContext": "Update"},
        "transactionInitiator": true,
        "propertyChanges": [{"property": "permissionPolicies", "oldValues": ["routing:queue:view"], "newValues": ["routing:queue:view", "routing:queue:edit"]}],
        "context": {},
        "entityChanges": []
    })
}

fn with(id: &str, changes: Value) -> Value {
    let mut record = base();
    let object = record.as_object_mut().unwrap();
    object.insert("id".into(), json!(id));
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    record
}

#[test]
fn with_and_without_expand_user() {
    let expanded = with(
        "expanded",
        json!({"user": {"id": "5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d", "name": "Priya Raman", "selfUri": "/api/v2/users/5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d"}}),
    );
    let plain = with("plain", json!({}));
    let events = map(StreamKind::GenesysAudits, &[expanded, plain]);
    assert_eq!(events[0].actor.name.as_deref(), Some("Priya Raman"));
    assert_eq!(events[1].actor.name, None);
    assert_eq!(events[0].actor.id, events[1].actor.id);
    insta::assert_json_snapshot!("genesys__expand_user", without_raw(&events));
}

#[test]
fn every_status() {
    let records: Vec<Value> = [
        ("success", json!("SUCCESS")),
        ("failure", json!("FAILURE")),
        ("warning", json!("WARNING")),
        ("unknown-status", json!("PARTIAL_SUCCESS")),
        ("empty-status", json!("")),
        ("no-status", Value::Null),
    ]
    .into_iter()
    .map(|(id, status)| with(id, json!({"status": status})))
    .collect();
    let events = map(StreamKind::GenesysAudits, &records);
    let outcomes: Vec<Outcome> = events.iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Warning,
            Outcome::Other("PARTIAL_SUCCESS".into()),
            Outcome::Unknown,
            Outcome::Unknown
        ]
    );
    insta::assert_json_snapshot!("genesys__every_status", without_raw(&events));
}

#[test]
fn every_level_and_actor_kind() {
    let records = vec![
        with("user", json!({"level": "USER"})),
        with(
            "system",
            json!({"level": "SYSTEM", "user": null, "client": {"id": ""}, "application": ""}),
        ),
        with(
            "genesys-internal",
            json!({"level": "GENESYS_INTERNAL", "remoteIp": []}),
        ),
        with("unknown-level", json!({"level": "PARTNER"})),
        with("no-level", json!({"level": null})),
        // An OAuth client acting on its own: the client is the actor.
        with(
            "api-client",
            json!({"user": null, "application": "terraform-provider-genesyscloud"}),
        ),
        // An empty client id is no client.
        with(
            "empty-client-id",
            json!({"client": {"id": ""}, "application": ""}),
        ),
        // Nothing says who.
        with(
            "nobody",
            json!({"user": {"id": ""}, "client": null, "application": null, "level": null, "remoteIp": null, "context": {"remoteIp": "198.51.100.9"}}),
        ),
    ];
    let events = map(StreamKind::GenesysAudits, &records);
    let kinds: Vec<ActorKind> = events.iter().map(|e| e.actor.kind).collect();
    assert_eq!(
        kinds,
        [
            ActorKind::User,
            ActorKind::System,
            ActorKind::System,
            ActorKind::User,
            ActorKind::User,
            ActorKind::ApiClient,
            ActorKind::User,
            ActorKind::Unknown
        ]
    );
    insta::assert_json_snapshot!("genesys__every_level_and_actor_kind", without_raw(&events));
}

#[test]
fn every_action_the_mapper_knows_and_some_it_does_not() {
    let actions = [
        "Create",
        "Update",
        "Delete",
        "HardDelete",
        "SoftDelete",
        "View",
        "Read",
        "Download",
        "Export",
        "Authenticate",
        "AuthenticationFailed",
        "SingleLogout",
        "SingleLogoutFailed",
        "Publish",
        "MemberAdd",
        "BulkReassign",
    ];
    let records: Vec<Value> = actions
        .iter()
        .map(|action| {
            with(
                &format!("action-{action}"),
                json!({"action": action, "entityType": "AuthUser", "propertyChanges": []}),
            )
        })
        .collect();
    let events = map(StreamKind::GenesysAudits, &records);
    assert_eq!(events[10].action, Action::Login);
    assert_eq!(events[10].outcome, Outcome::Failure);
    assert_eq!(events[12].action, Action::Logout);
    assert_eq!(events[15].action, Action::Other("BulkReassign".into()));
    let summary: Vec<Value> = events
        .iter()
        .map(
            |e| json!({"vendor_action": e.vendor_action, "action": e.action, "outcome": e.outcome}),
        )
        .collect();
    insta::assert_json_snapshot!("genesys__every_action", summary);
}

#[test]
fn unknown_service_entity_type_and_changes_of_every_shape() {
    let record = with(
        "odd",
        json!({
            "serviceName": "AgentCopilot",
            "action": "Reconfigure",
            "entityType": "CopilotConfiguration",
            "entity": {"id": "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d"},
            "propertyChanges": [
                {"property": "enabled", "oldValues": ["false"], "newValues": ["true"]},
                {"property": "queues", "oldValues": [], "newValues": ["Tier 1", "Tier 2"]},
                {"oldValues": ["x"], "newValues": []}
            ],
            "entityChanges": [
                {"entityId": "9d8c7b6a", "entityName": "Supervisor", "entityType": "Role", "oldValues": [], "newValues": ["Supervisor"]},
                {"entityId": "1e2d3c4b", "entityType": "Queue", "oldValues": ["member"], "newValues": []}
            ],
            "initiatingAction": {},
            "message": {"localizableMessageCode": "AUDIT_X"},
            "brandNewField": {"nested": [1, 2, 3]}
        }),
    );
    let only_entity = with(
        "only-entity",
        json!({"entityType": null, "entity": {"name": "Main IVR"}}),
    );
    let no_target = with("no-target", json!({"entityType": "", "entity": {}}));
    let events = map(StreamKind::GenesysAudits, &[record, only_entity, no_target]);
    assert!(events[2].target.is_none());
    insta::assert_json_snapshot!("genesys__odd_records", without_raw(&events));
}

#[test]
fn a_downloaded_topic_shaped_record() {
    let record = json!({
        "id": "9c49d4b6-0000-4000-8000-000000000001",
        "userId": "11f27f54-aaaa-bbbb-cccc-ddddeeeeffff",
        "username": {"id": "11f27f54-aaaa-bbbb-cccc-ddddeeeeffff", "name": "Jane Admin"},
        "userDisplay": "Jane Admin",
        "clientId": {"id": "6a1b2c3d-0000-1111-2222-333344445555", "selfUri": "/api/v2/oauth/clients/6a1b2c3d-0000-1111-2222-333344445555"},
        "remoteIp": ["203.0.113.10"],
        "serviceName": "Directory",
        "level": "USER",
        "eventTime": "2025-04-01T12:34:56Z",
        "message": {"message": "User signed in"},
        "action": "Authenticate",
        "entityType": "AuthUser",
        "entity": {"id": "11f27f54-aaaa-bbbb-cccc-ddddeeeeffff"},
        "propertyChanges": [],
        "context": {}
    });
    let events = map(StreamKind::GenesysAudits, &[record]);
    insta::assert_json_snapshot!("genesys__downloaded_record", without_raw(&events));
}
