//! Genesys Cloud `AuditLogMessage`s → [`AuditEvent`]s.
//!
//! Mapping is total: every record maps to exactly one event whatever it holds (empty strings
//! and empty objects count as absent), and the record is kept untouched in
//! [`AuditEvent::raw`], so the fields without a place in the unified model
//! (`transactionInitiator`, the message template and code) are still there.
//!
//! | record | event |
//! |---|---|
//! | `id` | `native_id` (a `no-id-…` hash of the record when it has none) |
//! | `eventDate` (`eventTime` in downloaded result files) | `occurred_at` |
//! | `action` | `vendor_action`; `action`: `Create`, `Update`, `Delete` (also `HardDelete`, `SoftDelete`) → create / update / delete; `View`, `Read` → read; `Download`, `Export` → export; `Authenticate`, `AuthenticationFailed` → login; `SingleLogout`, `SingleLogoutFailed` → logout; anything else kept verbatim |
//! | `status` | `outcome`: `SUCCESS`, `FAILURE`, `WARNING` → success, failure, warning; anything else verbatim; absent → unknown. `AuthenticationFailed` and `SingleLogoutFailed` are failures whatever the status |
//! | `level`, `user`, `client` | `actor.kind`: `SYSTEM` or `GENESYS_INTERNAL` → system; else a user id → user; else a client id → api_client; else unknown |
//! | `user.id`, `user.name` | `actor.id`, `actor.name` (the name only with `expand=user`); an API client's actor id is its client id |
//! | `client.id`, `application` | `actor.app`: the OAuth client id, else the application; for an api_client actor (whose id already is the client id) the application |
//! | `application` | `actor.application` |
//! | `userHomeOrgId` | `actor.home_org` |
//! | `remoteIp[0]` | `actor.ip` (else `context.remoteIp`); the other addresses, once each, `actor.other_ips` |
//! | `serviceName`, `level`, `context` | `service`, `level`, `context` |
//! | `entityType`, `entity.id`, `entity.name` | `target` (kind `unknown` when only the entity is named) |
//! | `propertyChanges[]` | `changes`: `field` = `property`, `old` / `new` = `oldValues` / `newValues` |
//! | `entityChanges[]` | `changes`: `field` = `{entityType}/{entityName}` (the entity id when it has no name), `old` / `new` = `oldValues` / `newValues` |
//! | `message.message` | `description` |
//! | `initiatingAction.transactionId` | `correlation_id` |
//!
//! **Change values are always arrays.** Genesys sends every old and new value as an array of
//! strings, even scalars (`["30000"]`) and booleans (`["true"]`); the event keeps those arrays
//! as they are (`[]` when there was no value) rather than unwrapping single elements, so a
//! property always has the same JSON type whatever the number of values, and nothing is
//! lost.
//!
//! Records of a downloaded result file (`allowRedirect`) may use the notification-topic shape:
//! `eventTime` instead of `eventDate`, `userId` / `username` instead of `user`, `clientId` (an
//! id or an object) instead of `client`. The mapper reads both shapes.

use chrono::{DateTime, Utc};
use genesys_raw::types::AuditLogMessage;
use raw_support::{RawJson, Recorded};
use serde_json::Value;

use crate::event::{
    Action, Actor, ActorKind, AuditEvent, Change, Outcome, RecordKind, Source, StreamKind, Target,
    fallback_native_id,
};

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A string, or the `id` of an object (`clientId` comes both ways in topic-shaped records).
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => non_empty(Some(s)),
        Value::Object(object) => non_empty(object.get("id")?.as_str()),
        _ => None,
    }
}

/// The normalised verb of a Genesys action.
///
/// ```
/// use audit_core::Action;
/// use audit_core::genesys::mapping::action_of;
///
/// assert_eq!(action_of("Update"), Action::Update);
/// assert_eq!(action_of("AuthenticationFailed"), Action::Login);
/// assert_eq!(action_of("Publish"), Action::Other("Publish".into()));
/// ```
pub fn action_of(action: &str) -> Action {
    match action {
        "Create" => Action::Create,
        "Update" => Action::Update,
        "Delete" | "HardDelete" | "SoftDelete" => Action::Delete,
        "View" | "Read" => Action::Read,
        "Download" | "Export" => Action::Export,
        "Authenticate" | "AuthenticationFailed" => Action::Login,
        "SingleLogout" | "SingleLogoutFailed" => Action::Logout,
        other => Action::Other(other.to_string()),
    }
}

/// The outcome of a Genesys `status` (and action: the `…Failed` actions are failures).
///
/// ```
/// use audit_core::Outcome;
/// use audit_core::genesys::mapping::outcome_of;
///
/// assert_eq!(outcome_of(Some("WARNING"), "Update"), Outcome::Warning);
/// assert_eq!(outcome_of(Some("SUCCESS"), "AuthenticationFailed"), Outcome::Failure);
/// assert_eq!(outcome_of(None, "Update"), Outcome::Unknown);
/// ```
pub fn outcome_of(status: Option<&str>, action: &str) -> Outcome {
    if matches!(action, "AuthenticationFailed" | "SingleLogoutFailed") {
        return Outcome::Failure;
    }
    match status.map(str::trim).filter(|s| !s.is_empty()) {
        Some("SUCCESS") => Outcome::Success,
        Some("FAILURE") => Outcome::Failure,
        Some("WARNING") => Outcome::Warning,
        Some(other) => Outcome::Other(other.to_string()),
        None => Outcome::Unknown,
    }
}

/// A member of the record's JSON that the typed view does not have (the topic-shaped fields of
/// downloaded result files). Most records have none of them, so the record's text is searched
/// first and only parsed into a `Value` when it may hold `key`: spelled out, or written with
/// escapes (the text then holds a backslash).
fn untyped<'a>(record: &'a Recorded<AuditLogMessage>, key: &str) -> Option<&'a Value> {
    let text = record.raw_json().json();
    if !text.contains(key) && !text.contains('\\') {
        return None;
    }
    record.raw().get(key)
}

/// When the record happened: `eventDate`, else a download's `eventTime`.
///
/// ```
/// use audit_core::Recorded;
/// use audit_core::genesys::mapping::occurred_at;
/// use audit_core::genesys::types::AuditLogMessage;
///
/// // A record of a downloaded page has `eventTime` where the API's pages have `eventDate`.
/// let record: Recorded<AuditLogMessage> =
///     serde_json::from_str(r#"{"id": "583cae9f", "eventTime": "2024-05-22T12:34:56Z"}"#).unwrap();
/// assert_eq!(occurred_at(&record).unwrap().to_rfc3339(), "2024-05-22T12:34:56+00:00");
/// ```
pub fn occurred_at(record: &Recorded<AuditLogMessage>) -> Option<DateTime<Utc>> {
    record.event_date.or_else(|| {
        let text = untyped(record, "eventTime")?.as_str()?;
        DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The record's native id: its `id` (as its text says when the typed view could not hold it,
/// a number say), or a stable `no-id-…` hash of the record.
///
/// ```
/// use audit_core::Recorded;
/// use audit_core::genesys::mapping::native_id;
/// use audit_core::genesys::types::AuditLogMessage;
///
/// let record: Recorded<AuditLogMessage> = serde_json::from_str(r#"{"id": "583cae9f"}"#).unwrap();
/// assert_eq!(native_id(&record), "583cae9f");
/// let without: Recorded<AuditLogMessage> = serde_json::from_str(r#"{"action": "Create"}"#).unwrap();
/// assert!(native_id(&without).starts_with("no-id-"), "stable: the same record, the same id");
/// ```
pub fn native_id(record: &Recorded<AuditLogMessage>) -> String {
    non_empty(record.id.as_deref())
        .or_else(|| crate::decode::id_from_text(record))
        .unwrap_or_else(|| fallback_native_id(record.raw()))
}

fn strings(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

/// The event of one record read from `stream` (`genesys-audits` or `genesys-realtime`; the
/// event id is the same for both) of `tenant`.
///
/// ```
/// use audit_core::genesys::mapping::audit_event;
/// use audit_core::{Action, ActorKind, Outcome, StreamKind};
/// use raw_support::Recorded;
///
/// let record: Recorded<genesys_raw::types::AuditLogMessage> = serde_json::from_str(r#"{
///     "id": "583cae9f-0d1e-4f2a-9b3c-4d5e6f708192", "eventDate": "2024-05-22T12:34:56Z",
///     "user": {"id": "5b7d9f1a"}, "client": {"id": ""}, "remoteIp": ["12.34.56.78"],
///     "serviceName": "AnalyticsReporting", "level": "USER", "action": "Create",
///     "entity": {"id": "5b7d9f1a"}, "entityType": "Exports", "status": "SUCCESS",
///     "application": "", "initiatingAction": {}, "propertyChanges": [],
///     "context": {"ExportType": "CSV"}, "entityChanges": []
/// }"#).unwrap();
/// let event = audit_event("acme", StreamKind::GenesysAudits, &record);
/// assert_eq!(event.id, "genesys:acme:audit:583cae9f-0d1e-4f2a-9b3c-4d5e6f708192");
/// assert_eq!(event.action, Action::Create);
/// assert_eq!(event.outcome, Outcome::Success);
/// assert_eq!(event.actor.kind, ActorKind::User);
/// assert_eq!(event.actor.app, None, "an empty client id is no client");
/// assert_eq!(event.actor.ip.as_deref(), Some("12.34.56.78"));
/// assert_eq!(&event.raw, record.raw());
/// ```
pub fn audit_event(
    tenant: &str,
    stream: StreamKind,
    record: &Recorded<AuditLogMessage>,
) -> AuditEvent {
    let mut event = map_record(tenant, stream, record);
    crate::decode::mark(&mut event, record);
    event.raw = record.raw_json().clone();
    event
}

/// [`audit_event`] for a record the caller gives up: its JSON moves into [`AuditEvent::raw`]
/// instead of being copied (what the event streams use).
///
/// ```
/// use audit_core::{Recorded, StreamKind};
/// use audit_core::genesys::mapping::audit_event_owned;
/// use audit_core::genesys::types::AuditLogMessage;
///
/// let json = r#"{"id": "583cae9f", "eventDate": "2024-05-22T12:34:56Z", "action": "Delete"}"#;
/// let record: Recorded<AuditLogMessage> = serde_json::from_str(json).unwrap();
/// let event = audit_event_owned("acme", StreamKind::GenesysRealtime, record);
/// assert_eq!(event.id, "genesys:acme:audit:583cae9f");
/// assert_eq!(event.raw.json(), json);
/// ```
pub fn audit_event_owned(
    tenant: &str,
    stream: StreamKind,
    record: Recorded<AuditLogMessage>,
) -> AuditEvent {
    let mut event = map_record(tenant, stream, &record);
    crate::decode::mark(&mut event, &record);
    event.raw = record.into_parts().0;
    event
}

/// Everything but `raw`, which is left `null` for the callers to fill.
fn map_record(tenant: &str, stream: StreamKind, record: &Recorded<AuditLogMessage>) -> AuditEvent {
    let source = Source::new(stream, tenant);
    let vendor_action = record
        .action
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_string();
    let at = occurred_at(record);
    let mut event = AuditEvent::new(
        source,
        RecordKind::GenesysAudit,
        native_id(record),
        at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        vendor_action.clone(),
        RawJson::default(),
    );
    event.occurred_at_inferred = at.is_none();
    event.action = action_of(&vendor_action);
    event.outcome = outcome_of(record.status.as_deref(), &vendor_action);
    event.actor = actor(record);
    event.target = target(record);
    event.changes = changes(record);
    event.description = record
        .message
        .as_ref()
        .and_then(|m| non_empty(m.message.as_deref()));
    event.correlation_id = record
        .initiating_action
        .as_ref()
        .and_then(|a| non_empty(a.transaction_id.as_deref()));
    event.service = non_empty(record.service_name.as_deref());
    event.level = non_empty(record.level.as_deref());
    event.context = record
        .context
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    event
}

fn actor(record: &Recorded<AuditLogMessage>) -> Actor {
    let user_id = record
        .user
        .as_ref()
        .and_then(|u| non_empty(u.id.as_deref()))
        .or_else(|| id_of(untyped(record, "userId")))
        .or_else(|| id_of(untyped(record, "username")));
    let user_name = record
        .user
        .as_ref()
        .and_then(|u| non_empty(u.name.as_deref()))
        .or_else(|| non_empty(untyped(record, "username")?.get("name")?.as_str()));
    let client_id = record
        .client
        .as_ref()
        .and_then(|c| non_empty(c.id.as_deref()))
        .or_else(|| id_of(untyped(record, "clientId")));
    let application = non_empty(record.application.as_deref());
    let app_application = application.clone();
    let system = matches!(
        record.level.as_deref().map(str::trim),
        Some("SYSTEM" | "GENESYS_INTERNAL")
    );
    let kind = if system {
        ActorKind::System
    } else if user_id.is_some() {
        ActorKind::User
    } else if client_id.is_some() {
        ActorKind::ApiClient
    } else {
        ActorKind::Unknown
    };
    let (id, app) = match kind {
        ActorKind::ApiClient => (client_id, app_application),
        _ => (user_id, client_id.or(app_application)),
    };
    let ip = record
        .remote_ip
        .iter()
        .find_map(|ip| non_empty(Some(ip)))
        .or_else(|| non_empty(record.context.get("remoteIp").map(String::as_str)));
    let other_ips = record
        .remote_ip
        .iter()
        .filter_map(|ip| non_empty(Some(ip)))
        .filter(|other| Some(other) != ip.as_ref())
        .fold(Vec::new(), |mut ips, other| {
            if !ips.contains(&other) {
                ips.push(other);
            }
            ips
        });
    Actor {
        kind,
        id,
        name: user_name,
        ip,
        user_agent: None,
        app,
        application,
        other_ips,
        location: None,
        home_org: non_empty(record.user_home_org_id.as_deref()),
    }
}

fn target(record: &Recorded<AuditLogMessage>) -> Option<Target> {
    let kind = non_empty(record.entity_type.as_deref());
    let id = record
        .entity
        .as_ref()
        .and_then(|e| non_empty(e.id.as_deref()));
    let name = record
        .entity
        .as_ref()
        .and_then(|e| non_empty(e.name.as_deref()));
    if kind.is_none() && id.is_none() && name.is_none() {
        return None;
    }
    Some(Target {
        kind: kind.unwrap_or_else(|| "unknown".to_string()),
        id,
        name,
    })
}

fn changes(record: &Recorded<AuditLogMessage>) -> Vec<Change> {
    let properties = record.property_changes.iter().map(|change| Change {
        field: change.property.clone().unwrap_or_default(),
        old: strings(&change.old_values),
        new: strings(&change.new_values),
    });
    let entities = record.entity_changes.iter().map(|change| {
        let kind = non_empty(change.entity_type.as_deref()).unwrap_or_else(|| "unknown".into());
        let which = non_empty(change.entity_name.as_deref())
            .or_else(|| non_empty(change.entity_id.as_deref()))
            .unwrap_or_default();
        Change {
            field: format!("{kind}/{which}"),
            old: strings(&change.old_values),
            new: strings(&change.new_values),
        }
    });
    properties.chain(entities).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Recorded<AuditLogMessage> {
        Recorded::from_raw(value).unwrap()
    }

    #[test]
    fn topic_shaped_fields_are_found_when_their_keys_are_written_with_escapes() {
        // `untyped` skips parsing records whose text does not spell the key; a key written
        // with escapes must still be found.
        let r: Recorded<AuditLogMessage> = serde_json::from_str(
            r#"{"id": "a", "eventTim\u0065": "2024-05-14T09:21:07Z", "user\u0049d": "u1"}"#,
        )
        .unwrap();
        let event = audit_event("acme", StreamKind::GenesysAudits, &r);
        assert_eq!(event.actor.id.as_deref(), Some("u1"));
        assert_eq!(event.occurred_at.to_rfc3339(), "2024-05-14T09:21:07+00:00");
        let plain: Recorded<AuditLogMessage> =
            serde_json::from_str(r#"{"id": "a", "user": {"id": ""}}"#).unwrap();
        let event = audit_event("acme", StreamKind::GenesysAudits, &plain);
        assert_eq!(event.actor.id, None);
    }

    #[test]
    fn topic_shaped_records_of_a_download_map_too() {
        let r = record(json!({
            "id": "a", "eventTime": "2024-05-14T09:21:07Z", "userId": "u1",
            "username": {"id": "u1", "name": "Jane"}, "clientId": {"id": "c1"},
            "action": "Delete", "status": "SUCCESS", "level": "USER"
        }));
        let event = audit_event("acme", StreamKind::GenesysAudits, &r);
        assert_eq!(event.occurred_at.to_rfc3339(), "2024-05-14T09:21:07+00:00");
        assert_eq!(event.actor.kind, ActorKind::User);
        assert_eq!(event.actor.id.as_deref(), Some("u1"));
        assert_eq!(event.actor.name.as_deref(), Some("Jane"));
        assert_eq!(event.actor.app.as_deref(), Some("c1"));
        let client_only = record(json!({"id": "b", "clientId": "c2", "action": "Update"}));
        let event = audit_event("acme", StreamKind::GenesysAudits, &client_only);
        assert_eq!(event.actor.kind, ActorKind::ApiClient);
        assert_eq!(event.actor.id.as_deref(), Some("c2"));
        assert_eq!(event.actor.app, None);
    }

    #[test]
    fn a_record_without_anything_still_maps() {
        let r = record(json!({}));
        let event = audit_event("acme", StreamKind::GenesysRealtime, &r);
        assert!(event.native_id.starts_with("no-id-"));
        assert_eq!(event.occurred_at, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(event.outcome, Outcome::Unknown);
        assert_eq!(event.actor.kind, ActorKind::Unknown);
        assert!(event.target.is_none());
    }
}
