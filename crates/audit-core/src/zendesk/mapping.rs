//! Zendesk records → [`AuditEvent`]s.
//!
//! Mapping is total: every record that decodes maps to exactly one event, whatever it holds;
//! the vendor record is kept untouched in [`AuditEvent::raw`].
//!
//! **Ticket audits** (one event per audit, i.e. per ticket update): `native_id` is the audit
//! id, the target is the ticket (named after its subject when the audit sets it), the
//! correlation id is the ticket id. `Create` and `Change` events become `changes` (tags as
//! arrays, also when older audits send them as one space-separated string), as do follower
//! and e-mail CC changes; the action is `create` when the audit holds a `Create` event, else
//! `update`. `author_id = -1` is Zendesk itself: a `system` actor. The IP address and user
//! agent come from `metadata.system`, and so does the actor's `location`; the channel
//! (`via.channel`, a name, or a via id read as the name it stands for: 8 is `rule`) is the
//! actor's `app`; the trigger or automation behind the audit, or behind one of its events
//! (`via.source.rel` and `via.source.from`), is the event's `rule`. The other events (comments, notifications, macros, …) are summarised in the
//! description, without comment or e-mail bodies.
//!
//! **Ticket events** (the incremental export, [`ticket_event_event`]): an exported update is
//! the ticket audit of that update (its `id` is the audit's id), so it maps exactly as the
//! audit would, under the same event id, with the exported record as `raw`. Its child events
//! are read as audit events: `event_type` is the kind, and a `Create`/`Change` names its field
//! by the member that holds the new value (`"status": "open"`); `updater_id` is the author,
//! `system` the audit's `metadata.system`, and a `via` given as a display name is the channel.
//!
//! **Audit logs**: the action is `create` / `update` / `delete` (`destroy`) / `login` /
//! `export` (`exported`), anything else kept verbatim; the target is `source_type`,
//! `source_id`, `source_label`; the description is `change_description`, from which sign-in
//! outcomes and role changes are read (see [`super::description`]). `actor_id = -1` is the
//! system.
//!
//! Zendesk records applied changes only, so the outcome is `success`, except for sign-ins,
//! whose outcome comes from the description (`unknown` when it cannot be read).

use chrono::{DateTime, Utc};
use raw_support::{RawJson, Recorded};
use serde_json::Value;
use zendesk_raw::types::{AuditLog, IncrementalTicketEvent, TicketAudit};

use super::audit_gist::{AuditGist, EventsGist};
use super::description::{parse_role_changes, parse_sign_in};
use crate::event::fallback_native_id as fallback_id;
use crate::event::{
    Action, Actor, ActorKind, AuditEvent, Change, Outcome, RecordKind, Rule, Source, StreamKind,
    Target,
};

/// Zendesk's `author_id` / `actor_id` for changes made by Zendesk itself.
///
/// ```
/// use audit_core::ActorKind;
/// use audit_core::Recorded;
/// use audit_core::zendesk::mapping::{SYSTEM_USER_ID, audit_log_event};
/// use audit_core::zendesk::types::AuditLog;
///
/// let json = format!(r#"{{"id": 1, "created_at": "2024-03-18T08:55:12Z", "action": "update", "actor_id": {SYSTEM_USER_ID}}}"#);
/// let record: Recorded<AuditLog> = serde_json::from_str(&json).unwrap();
/// assert_eq!(audit_log_event("acme", &record).actor.kind, ActorKind::System);
/// ```
pub const SYSTEM_USER_ID: i64 = -1;

pub(super) fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn actor_kind(id: Option<i64>) -> ActorKind {
    match id {
        Some(SYSTEM_USER_ID) => ActorKind::System,
        Some(_) => ActorKind::User,
        None => ActorKind::Unknown,
    }
}

/// A `via.channel` as text: names as they are, numeric via ids as the via type they stand for
/// (Zendesk's "Via types reference": 8 is `rule`, as a trigger's change says either way), ids
/// not in that table as digits.
///
/// ```
/// # use serde_json::json;
/// # fn channel(v: serde_json::Value) -> Option<String> {
/// #     audit_core::zendesk::mapping::channel_name(&v)
/// # }
/// assert_eq!(channel(json!(8)).as_deref(), Some("rule"));
/// assert_eq!(channel(json!("rule")).as_deref(), Some("rule"));
/// assert_eq!(channel(json!(4)).as_deref(), Some("mail"));
/// assert_eq!(channel(json!(999)).as_deref(), Some("999"));
/// ```
pub fn channel_name(channel: &Value) -> Option<String> {
    const VIA_TYPES: &[(u64, &str)] = &[
        (0, "web_form"),
        (4, "mail"),
        (5, "web_service"),
        (8, "rule"),
        (9, "linked_problem"),
        (10, "group_deletion"),
        (11, "user_change"),
        (12, "user_deletion"),
        (13, "group_change"),
        (14, "resource_push"),
        (15, "iphone"),
        (16, "get_satisfaction"),
        (17, "dropbox"),
        (19, "merge"),
        (20, "batch"),
        (21, "recovered_from_suspended_tickets"),
        (22, "automatic_solution_suggestions"),
    ];
    match channel {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(
            n.as_u64()
                .and_then(|id| VIA_TYPES.iter().find(|(v, _)| *v == id))
                .map(|(_, name)| name.to_string())
                .unwrap_or_else(|| n.to_string()),
        ),
        _ => None,
    }
}

/// A rule of kind `rel` (none without one), named by its `id` and `title` (the members of a
/// `via.source.from`).
pub(super) fn rule_from(
    rel: Option<&str>,
    id: Option<&Value>,
    title: Option<&Value>,
) -> Option<Rule> {
    let kind = non_empty(rel)?;
    let id = id.and_then(|id| match id {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => non_empty(Some(s)),
        _ => None,
    });
    let title = title.and_then(|t| non_empty(t.as_str()));
    Some(Rule { kind, id, title })
}

/// The event of one ticket audit.
///
/// ```
/// use audit_core::zendesk::mapping::ticket_audit_event;
/// use audit_core::{ActorKind, Action};
/// use raw_support::Recorded;
///
/// let audit: Recorded<zendesk_raw::types::TicketAudit> = serde_json::from_str(r#"{
///     "id": 24872016650047, "ticket_id": 48213, "created_at": "2024-03-24T15:00:12Z",
///     "author_id": -1, "via": {"channel": 8},
///     "events": [{"id": 1, "type": "Change", "field_name": "status", "value": "closed", "previous_value": "solved"}]
/// }"#).unwrap();
/// let event = ticket_audit_event("acme", &audit);
/// assert_eq!(event.id, "zendesk:acme:ticket-audit:24872016650047");
/// assert_eq!(event.action, Action::Update);
/// assert_eq!(event.actor.kind, ActorKind::System);
/// assert_eq!(event.actor.app.as_deref(), Some("rule"));
/// assert_eq!(event.changes[0].field, "status");
/// ```
pub fn ticket_audit_event(tenant: &str, audit: &Recorded<TicketAudit>) -> AuditEvent {
    let mut event = map_ticket_audit(tenant, AuditGist::of_typed(audit.typed()), audit);
    event.raw = audit.raw_json().clone();
    event
}

/// [`ticket_audit_event`] for an audit the caller gives up: its JSON moves into
/// [`AuditEvent::raw`] instead of being copied.
///
/// ```
/// use audit_core::Recorded;
/// use audit_core::zendesk::mapping::ticket_audit_event_owned;
/// use audit_core::zendesk::types::TicketAudit;
///
/// let json = r#"{"id": 1201, "ticket_id": 48213, "created_at": "2024-03-24T15:00:12Z", "events": []}"#;
/// let audit: Recorded<TicketAudit> = serde_json::from_str(json).unwrap();
/// let event = ticket_audit_event_owned("acme", audit);
/// assert_eq!(event.id, "zendesk:acme:ticket-audit:1201");
/// assert_eq!(event.raw.json(), json); // the audit's text, moved in untouched
/// ```
pub fn ticket_audit_event_owned(tenant: &str, audit: Recorded<TicketAudit>) -> AuditEvent {
    let mut event = map_ticket_audit(tenant, AuditGist::of_typed(audit.typed()), &audit);
    event.raw = audit.into_parts().0;
    event
}

/// [`ticket_audit_event_owned`] for an audit read as its gist (the account-wide walk's).
pub(super) fn audit_gist_event(tenant: &str, audit: Recorded<AuditGist>) -> AuditEvent {
    let (audit, gist) = audit.take_typed();
    let mut event = map_ticket_audit(tenant, gist, &audit);
    event.raw = audit.into_parts().0;
    event
}

/// Everything but `raw` (left `null` for the callers to fill), from `gist`, the gist of
/// `audit`.
fn map_ticket_audit<T>(tenant: &str, gist: AuditGist, audit: &Recorded<T>) -> AuditEvent {
    let AuditGist {
        id,
        author_id,
        created_at,
        ticket_id,
        ip_address,
        client,
        location,
        channel,
        via_text,
        via_rule,
        events,
    } = gist;
    // A view read from a repaired or null-free copy may lack what the text holds: the events
    // are then read from the text.
    let events = match audit.typed_is_exact() {
        true => events,
        false => EventsGist::of_json(audit.raw()),
    };
    let source = Source::new(StreamKind::ZendeskTicketAudits, tenant);
    let native_id = id
        .map(|id| id.to_string())
        .or_else(|| crate::decode::id_from_text(audit))
        .unwrap_or_else(|| fallback_id(audit.raw()));
    let occurred_at = created_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let action = match events.creates() {
        true => Action::Create,
        false => Action::Update,
    };
    let mut event = AuditEvent::with_action(
        source,
        RecordKind::ZendeskTicketAudit,
        native_id,
        occurred_at,
        (action, events.vendor_action().to_string()),
        RawJson::default(),
    );
    event.occurred_at_inferred = created_at.is_none();
    event.outcome = Outcome::Success;
    event.actor = Actor {
        kind: actor_kind(author_id),
        id: author_id.map(|id| id.to_string()),
        name: None,
        ip: ip_address,
        user_agent: client,
        app: channel,
        location,
        ..Actor::default()
    };
    event.description = Some(events.summary(ticket_id, &via_text));
    // The audit's own rule, else the first rule behind one of its events (a trigger's change
    // inside an agent's web update carries its own `via`).
    event.rule = via_rule.or(events.rule);
    event.target = ticket_id.map(|id| Target {
        kind: "ticket".to_string(),
        id: Some(id.to_string()),
        name: events.subject,
    });
    event.correlation_id = ticket_id.map(|id| id.to_string());
    event.changes = events.changes;
    crate::decode::mark(&mut event, audit);
    event
}

/// Members of an exported child event that are not the field a `Create`/`Change` sets.
const CHILD_EVENT_KEYS: &[&str] = &[
    "id",
    "via",
    "via_reference_id",
    "event_type",
    "type",
    "previous_value",
    "created_at",
    "audit_id",
    "comment_present",
    "comment_public",
    "added_tags",
    "removed_tags",
];

/// An exported child event in the shape of a ticket-audit event (`type`, and for field events
/// `field_name` and `value`), so one reader ([`TicketEvent`]) serves both streams.
fn audit_event_of_child(child: &Value) -> Value {
    let Some(object) = child.as_object() else {
        return child.clone();
    };
    let mut event = object.clone();
    let kind = object
        .get("type")
        .or_else(|| object.get("event_type"))
        .cloned()
        .unwrap_or(Value::Null);
    event.insert("type".into(), kind.clone());
    let field_event = matches!(kind.as_str(), Some("Create" | "Change"));
    if field_event && !object.contains_key("field_name") {
        // Tags come as the whole list, with what was added and removed beside it.
        let field = if object.contains_key("tags") {
            Some("tags")
        } else {
            object
                .keys()
                .map(String::as_str)
                .find(|key| !CHILD_EVENT_KEYS.contains(key))
        };
        if let Some(field) = field {
            event.insert("field_name".into(), Value::String(field.to_string()));
            event.insert("value".into(), object[field].clone());
        }
    }
    Value::Object(event)
}

/// The event of one update of the incremental ticket-event export: the same event, with the
/// same id, as the ticket audit of that update ([`ticket_audit_event`]); the source is the
/// `zendesk-ticket-events` stream and `raw` the exported record.
///
/// ```
/// use audit_core::zendesk::mapping::ticket_event_event;
/// use audit_core::{Action, StreamKind};
/// use raw_support::Recorded;
///
/// let record: Recorded<zendesk_raw::types::IncrementalTicketEvent> = serde_json::from_str(r#"{
///     "id": 24872016650047, "ticket_id": 48213, "timestamp": 1711292412,
///     "created_at": "2024-03-24T15:00:12Z", "updater_id": 7700412231, "via": "Web form",
///     "event_type": "Audit",
///     "child_events": [{"id": 1, "via": "Web form", "via_reference_id": null,
///                       "status": "solved", "previous_value": "open", "event_type": "Change"}]
/// }"#).unwrap();
/// let event = ticket_event_event("acme", &record);
/// assert_eq!(event.id, "zendesk:acme:ticket-audit:24872016650047");
/// assert_eq!(event.source.stream, StreamKind::ZendeskTicketEvents);
/// assert_eq!(event.action, Action::Update);
/// assert_eq!(event.changes[0].field, "status");
/// assert_eq!(event.changes[0].old, "open");
/// ```
pub fn ticket_event_event(tenant: &str, record: &Recorded<IncrementalTicketEvent>) -> AuditEvent {
    let raw = record.raw();
    let typed = record.typed();
    let native_id = typed
        .id
        .map(|id| id.to_string())
        .or_else(|| crate::decode::id_from_text(record))
        .unwrap_or_else(|| fallback_id(raw));
    let created_at = typed.created_at.or_else(|| {
        typed
            .timestamp
            .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
    });
    let via = match raw.get("via") {
        Some(Value::String(name)) => serde_json::json!({ "channel": name }),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let metadata = match raw.get("metadata") {
        Some(Value::Object(metadata)) => Value::Object(metadata.clone()),
        _ => serde_json::json!({ "system": typed.system, "custom": {} }),
    };
    let events: Vec<Value> = raw
        .get("child_events")
        .and_then(Value::as_array)
        .map(|children| children.iter().map(audit_event_of_child).collect())
        .unwrap_or_default();
    let audit = serde_json::json!({
        "id": typed.id,
        "ticket_id": typed.ticket_id,
        "created_at": created_at,
        "author_id": typed.updater_id,
        "via": via,
        "metadata": metadata,
        "events": events,
    });
    // An object always decodes (a member that does not fit is read as null).
    let audit: Recorded<TicketAudit> =
        Recorded::from_json(raw_support::RawJson::from(audit)).expect("an object decodes");
    let mut event = map_ticket_audit(tenant, AuditGist::of_typed(audit.typed()), &audit);
    event.source = Source::new(StreamKind::ZendeskTicketEvents, tenant);
    event.id = AuditEvent::stable_id(&event.source, RecordKind::ZendeskTicketAudit, &native_id);
    event.native_id = native_id;
    event.raw = record.raw_json().clone();
    event.decode_issue = None;
    event.quarantined = None;
    crate::decode::mark(&mut event, record);
    event
}

/// The event of one audit-log record.
///
/// ```
/// use audit_core::zendesk::mapping::audit_log_event;
/// use audit_core::{Action, Outcome};
/// use raw_support::Recorded;
///
/// let record: Recorded<zendesk_raw::types::AuditLog> = serde_json::from_str(r#"{
///     "id": 19283740012, "created_at": "2024-03-18T08:55:12Z", "action": "login",
///     "actor_id": 7700412231, "actor_name": "Priya Raman", "source_type": "user",
///     "source_id": 7700412231, "source_label": "Priya Raman", "ip_address": "203.0.113.54",
///     "change_description": "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login"
/// }"#).unwrap();
/// let event = audit_log_event("acme", &record);
/// assert_eq!(event.id, "zendesk:acme:audit-log:19283740012");
/// assert_eq!(event.action, Action::Login);
/// assert_eq!(event.outcome, Outcome::Success);
/// ```
pub fn audit_log_event(tenant: &str, record: &Recorded<AuditLog>) -> AuditEvent {
    let mut event = map_audit_log(tenant, record);
    crate::decode::mark(&mut event, record);
    event.raw = record.raw_json().clone();
    event
}

/// [`audit_log_event`] for a record the caller gives up: its JSON moves into
/// [`AuditEvent::raw`] instead of being copied (what the event streams use).
///
/// ```
/// use audit_core::Recorded;
/// use audit_core::zendesk::mapping::audit_log_event_owned;
/// use audit_core::zendesk::types::AuditLog;
///
/// let json = r#"{"id": 19283740012, "created_at": "2024-03-18T08:55:12Z", "action": "login"}"#;
/// let record: Recorded<AuditLog> = serde_json::from_str(json).unwrap();
/// let event = audit_log_event_owned("acme", record);
/// assert_eq!(event.id, "zendesk:acme:audit-log:19283740012");
/// assert_eq!(event.raw.json(), json); // the record's text, moved in untouched
/// ```
pub fn audit_log_event_owned(tenant: &str, record: Recorded<AuditLog>) -> AuditEvent {
    let mut event = map_audit_log(tenant, &record);
    crate::decode::mark(&mut event, &record);
    event.raw = record.into_parts().0;
    event
}

/// Everything but `raw`, which is left `null` for the callers to fill.
fn map_audit_log(tenant: &str, record: &Recorded<AuditLog>) -> AuditEvent {
    let log = record.typed();
    let source = Source::new(StreamKind::ZendeskAuditLogs, tenant);
    let native_id = log
        .id
        .map(|id| id.to_string())
        .or_else(|| crate::decode::id_from_text(record))
        .unwrap_or_else(|| fallback_id(record.raw()));
    let occurred_at = log.created_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let vendor_action = log.action.clone().unwrap_or_default();
    let mut event = AuditEvent::new(
        source,
        RecordKind::ZendeskAuditLog,
        native_id,
        occurred_at,
        vendor_action.clone(),
        RawJson::default(),
    );
    event.occurred_at_inferred = log.created_at.is_none();
    event.action = match vendor_action.as_str() {
        "create" => Action::Create,
        "update" => Action::Update,
        "destroy" | "delete" => Action::Delete,
        "login" => Action::Login,
        "logout" => Action::Logout,
        "exported" | "export" => Action::Export,
        other => Action::from(other),
    };
    let description = non_empty(log.change_description.as_deref());
    event.outcome = if event.action == Action::Login {
        match description.as_deref().and_then(parse_sign_in) {
            Some(sign_in) if sign_in.succeeded => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Unknown,
        }
    } else {
        Outcome::Success
    };
    event.actor = Actor {
        kind: actor_kind(log.actor_id),
        id: log.actor_id.map(|id| id.to_string()),
        name: non_empty(log.actor_name.as_deref()),
        ip: non_empty(log.ip_address.as_deref()),
        ..Actor::default()
    };
    let target_kind = non_empty(log.source_type.as_deref());
    let target_name = non_empty(log.source_label.as_deref());
    if target_kind.is_some() || log.source_id.is_some() || target_name.is_some() {
        event.target = Some(Target {
            kind: target_kind.unwrap_or_else(|| "unknown".to_string()),
            id: log.source_id.map(|id| id.to_string()),
            name: target_name,
        });
    }
    if let Some(text) = &description {
        event.changes = parse_role_changes(text)
            .into_iter()
            .map(|role| Change {
                field: match &role.product {
                    Some(product) => format!("{product} role"),
                    None => "role".to_string(),
                },
                old: Value::String(role.old),
                new: Value::String(role.new),
            })
            .collect();
    }
    event.description = description.or_else(|| non_empty(log.action_label.as_deref()));
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn audit(value: Value) -> Recorded<TicketAudit> {
        Recorded::from_raw(value).unwrap()
    }

    #[test]
    fn space_separated_tags_become_arrays() {
        let event = ticket_audit_event(
            "acme",
            &audit(json!({
                "id": 1, "ticket_id": 2, "created_at": "2019-05-13T13:05:40Z", "author_id": 5,
                "events": [{"id": 3, "type": "Change", "field_name": "tags",
                            "value": "billing  invoice_sent", "previous_value": ""}]
            })),
        );
        assert_eq!(event.changes[0].new, json!(["billing", "invoice_sent"]));
        assert_eq!(event.changes[0].old, json!([]));
    }

    /// An audit whose typed view was read from a copy without its `null`s (no decode issue
    /// to say so) is mapped from its text, which still has the event the copy lost.
    #[test]
    fn an_audit_read_without_its_nulls_maps_from_its_text() {
        let record = audit(json!({
            "id": 1, "ticket_id": 2, "created_at": "2019-05-13T13:05:40Z", "author_id": 5,
            "events": [null, {"id": 3, "type": "Change", "field_name": "status",
                              "value": "open", "previous_value": "new"}]
        }));
        assert!(!record.typed_is_exact() && record.decode_issue().is_none());
        assert_eq!(record.typed().events.len(), 1, "the copy lost the null");
        let event = ticket_audit_event_owned("acme", record);
        assert_eq!(
            event.description.as_deref(),
            Some("Updated ticket #2: an untyped event; changed status")
        );
    }

    #[test]
    fn a_record_without_id_or_time_still_maps() {
        let record: Recorded<AuditLog> =
            Recorded::from_raw(json!({"action": "frobnicate"})).unwrap();
        let event = audit_log_event("acme", &record);
        assert!(event.native_id.starts_with("no-id-"));
        assert_eq!(event.native_id, audit_log_event("acme", &record).native_id);
        assert_eq!(event.action, Action::Other("frobnicate".into()));
        assert_eq!(event.actor.kind, ActorKind::Unknown);
        assert!(event.target.is_none());
    }

    #[test]
    fn system_actor_on_audit_logs() {
        let record: Recorded<AuditLog> = Recorded::from_raw(json!({
            "id": 1, "action": "update", "actor_id": -1, "actor_name": "Zendesk"
        }))
        .unwrap();
        assert_eq!(
            audit_log_event("acme", &record).actor.kind,
            ActorKind::System
        );
    }
}
