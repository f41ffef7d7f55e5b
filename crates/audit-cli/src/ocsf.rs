//! `AuditEvent` → OCSF event, for SIEMs that ingest the Open Cybersecurity Schema Framework.
//!
//! The OCSF version is pinned ([`OCSF_VERSION`]). The class of each event is chosen from its
//! action and target in one place, [`classify`], so moving to a newer OCSF (1.9 replaces
//! Account Change and User Access Management with User Management) is a one-function change.
//!
//! | source | class | activity |
//! |---|---|---|
//! | sign-in / sign-out (Zendesk `login`, Genesys `Authenticate`, `AuthenticationFailed`, `SingleLogout*`) | 3002 Authentication (`service` = the vendor's product) | 1 Logon / 2 Logoff |
//! | a user account created or deleted (Zendesk `user`, Genesys `User`/`AuthUser`), password change | 3001 Account Change | 1 Create / 6 Delete / 3 Password Change |
//! | a Zendesk role change ("Role changed from X to Y", or per product: "Support role changed from X to Y") | 3005 User Access Management | 1 Assign Privileges (`privileges` = the new roles), 2 Revoke Privileges for a demotion (= the old roles) |
//! | a Genesys user update that changes `roles` | 3005 User Access Management | 1 Assign Privileges (roles added), 2 Revoke Privileges (roles only removed) |
//! | other user updates | 3001 Account Change | 99 Other (`Update`) |
//! | Genesys group membership and lifecycle (`Group`, `DirectoryGroup`, `SkillGroup`, `Team`) | 3006 Group Management | 3 Add User / 4 Remove User / 6 Create / 5 Delete / 99 |
//! | everything else (tickets, settings, rules, queues, flows, exports, …) | 3004 Entity Management | 1 Create / 2 Read / 3 Update / 4 Delete / 8–11 / 99 |
//!
//! A role's own definition (Genesys `Role`, an OAuth client's `roleIds`) stays in Entity
//! Management: User Access Management requires the user who gained or lost the privileges.
//! With `activity_id` 99 the `activity_name` is the vendor's word and `type_name` the caption
//! of `type_uid`, `"<class>: Other"`. `actor` is omitted when the record names no one; an app
//! that is a UUID (a Genesys OAuth client id) is `actor.app_uid`, any other `actor.app_name`.
//!
//! The tests validate every stream's output against the official OCSF 1.8.0 schema
//! (`tests/official_ocsf/`), not against [`ocsf_schema`], which documents our output.
//!
//! Fields without an OCSF home go to `unmapped` (`decode_issue` too, when the record did not
//! decode as sent); the vendor record is in `raw_data`.

use audit_core::event::{ActorKind, AuditEvent, Outcome, StreamKind, Vendor};
use audit_core::zendesk::description::parse_role_changes;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The OCSF schema version every event declares in `metadata.version`.
pub const OCSF_VERSION: &str = "1.8.0";

/// One OCSF event: the base attributes, the class-specific ones, and what has no home.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OcsfEvent {
    /// The activity within the class.
    pub activity_id: u32,
    /// The activity's name (the vendor's word when `activity_id` is 99).
    pub activity_name: String,
    /// 3 (Identity & Access Management).
    pub category_uid: u32,
    /// The category's name.
    pub category_name: String,
    /// The class: 3001, 3002, 3004, 3005 or 3006.
    pub class_uid: u32,
    /// The class's name.
    pub class_name: String,
    /// `class_uid * 100 + activity_id`.
    pub type_uid: u64,
    /// The caption of `type_uid`: `"<class name>: <activity name>"`, and `"<class name>: Other"`
    /// for `activity_id` 99 (whose `activity_name` is the vendor's word).
    pub type_name: String,
    /// Always 1 (Informational): audit records are not findings.
    pub severity_id: u32,
    /// The severity's name.
    pub severity: String,
    /// When the activity happened, in epoch milliseconds (UTC).
    pub time: i64,
    /// 0 Unknown, 1 Success, 2 Failure, 99 Other.
    pub status_id: u32,
    /// The status's name (the vendor's word when `status_id` is 99).
    pub status: String,
    /// A human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where the event came from.
    pub metadata: Metadata,
    /// Who acted; omitted when the record names no one (OCSF's actor needs one of its members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<OcsfActor>,
    /// Where the action came from (when the record has an IP address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_endpoint: Option<NetworkEndpoint>,
    /// The HTTP client used (when the record has a user agent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<HttpRequest>,
    /// The service signed in to (Authentication, which needs `service` or `dst_endpoint`): the
    /// vendor's product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The user concerned (Authentication, Account Change, User Access Management).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The privileges assigned or revoked (User Access Management).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<String>>,
    /// The group concerned (Group Management).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The entity managed (Entity Management).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<ManagedEntity>,
    /// The vendor record, verbatim JSON.
    pub raw_data: String,
    /// Source attributes without an OCSF home: `changes`, `target`, `vendor_action`, `level`,
    /// `context`, `rule` (the Zendesk trigger or automation behind a change), `location`.
    pub unmapped: Map<String, Value>,
}

/// OCSF `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Metadata {
    /// The OCSF version, [`OCSF_VERSION`].
    pub version: String,
    /// The product that logged the event.
    pub product: Product,
    /// Our stable event id (`AuditEvent::id`).
    pub uid: String,
    /// The vendor's own id of the record.
    pub original_event_uid: String,
    /// The stream the event was read from.
    pub log_name: String,
    /// The vendor account.
    pub tenant_uid: String,
    /// The vendor's action or event type, verbatim.
    pub event_code: String,
    /// Groups related events (a ticket, a Genesys transaction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_uid: Option<String>,
}

/// OCSF `product`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Product {
    /// "Zendesk Support" or "Genesys Cloud".
    pub name: String,
    /// "Zendesk" or "Genesys".
    pub vendor_name: String,
    /// The part of the product the action was in (Genesys `serviceName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<Feature>,
}

/// OCSF `feature`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Feature {
    /// The feature's name.
    pub name: String,
}

/// OCSF `organization`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Organization {
    /// The organisation's id.
    pub uid: String,
}

/// OCSF `actor`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OcsfActor {
    /// The acting user, service or system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The application or channel used, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// The API client used, by id (a Genesys OAuth client's UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_uid: Option<String>,
}

/// OCSF `service`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Service {
    /// The service's name.
    pub name: String,
}

/// OCSF `user` (at least one of `uid`, `name`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct User {
    /// The vendor's id of the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 0 Unknown, 1 User, 3 System, 4 Service.
    pub type_id: u32,
    /// The type's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The organisation the user belongs to (Genesys `userHomeOrgId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<Organization>,
}

/// OCSF `network_endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct NetworkEndpoint {
    /// The IP address.
    pub ip: String,
    /// The other addresses the action came through (Genesys `remoteIp` after the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediate_ips: Vec<String>,
}

/// OCSF `http_request`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HttpRequest {
    /// The user agent.
    pub user_agent: String,
}

/// OCSF `group`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Group {
    /// The group's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The group's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The vendor's kind of group (`Team`, `SkillGroup`, …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// OCSF `managed_entity`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManagedEntity {
    /// The entity's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The entity's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The vendor's kind of entity (`ticket`, `Queue`, `account_setting`, …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The OCSF classes [`classify`] chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 3001 Account Change.
    AccountChange,
    /// 3002 Authentication.
    Authentication,
    /// 3004 Entity Management.
    EntityManagement,
    /// 3005 User Access Management.
    UserAccessManagement,
    /// 3006 Group Management.
    GroupManagement,
}

impl Class {
    fn uid(self) -> u32 {
        match self {
            Class::AccountChange => 3001,
            Class::Authentication => 3002,
            Class::EntityManagement => 3004,
            Class::UserAccessManagement => 3005,
            Class::GroupManagement => 3006,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Class::AccountChange => "Account Change",
            Class::Authentication => "Authentication",
            Class::EntityManagement => "Entity Management",
            Class::UserAccessManagement => "User Access Management",
            Class::GroupManagement => "Group Management",
        }
    }

    /// The activity names of the class, by id (OCSF 1.8.0).
    fn activity_name(self, id: u32) -> Option<&'static str> {
        let names: &[&str] = match self {
            Class::AccountChange => &[
                "Create",
                "Enable",
                "Password Change",
                "Password Reset",
                "Disable",
                "Delete",
                "Attach Policy",
                "Detach Policy",
                "Lock",
                "MFA Factor Enable",
                "MFA Factor Disable",
                "Unlock",
            ],
            Class::Authentication => &["Logon", "Logoff"],
            Class::EntityManagement => &[
                "Create",
                "Read",
                "Update",
                "Delete",
                "Move",
                "Enroll",
                "Unenroll",
                "Enable",
                "Disable",
                "Activate",
                "Deactivate",
                "Suspend",
                "Resume",
            ],
            Class::UserAccessManagement => &["Assign Privileges", "Revoke Privileges"],
            Class::GroupManagement => &[
                "Assign Privileges",
                "Revoke Privileges",
                "Add User",
                "Remove User",
                "Delete",
                "Create",
                "Add Subgroup",
                "Remove Subgroup",
            ],
        };
        names.get((id as usize).checked_sub(1)?).copied()
    }
}

/// The class and activity of an event: `(class, activity_id, privileges)`; `activity_id` 99
/// means "Other", named after the vendor's action.
pub fn classify(event: &AuditEvent) -> (Class, u32, Option<Vec<String>>) {
    let action = event.vendor_action.as_str();
    let target_kind = event.target.as_ref().map(|t| t.kind.as_str()).unwrap_or("");
    match event.source.vendor {
        Vendor::Zendesk
            if matches!(
                event.source.stream,
                StreamKind::ZendeskTicketAudits | StreamKind::ZendeskTicketEvents
            ) =>
        {
            let activity = if event.action == audit_core::Action::Create {
                1
            } else {
                3
            };
            (Class::EntityManagement, activity, None)
        }
        Vendor::Zendesk => match (action, target_kind) {
            ("login", _) => (Class::Authentication, 1, None),
            ("create", "user") => (Class::AccountChange, 1, None),
            ("destroy", "user") => (Class::AccountChange, 6, None),
            ("update", "user") => match zendesk_role_change(event) {
                Some((activity, privileges)) => {
                    (Class::UserAccessManagement, activity, Some(privileges))
                }
                None => (Class::AccountChange, 99, None),
            },
            ("create", _) => (Class::EntityManagement, 1, None),
            ("update", _) => (Class::EntityManagement, 3, None),
            ("destroy", _) => (Class::EntityManagement, 4, None),
            _ => (Class::EntityManagement, 99, None),
        },
        Vendor::Genesys => match (action, target_kind) {
            ("Authenticate" | "AuthenticationFailed", _) => (Class::Authentication, 1, None),
            ("SingleLogout" | "SingleLogoutFailed", _) => (Class::Authentication, 2, None),
            (_, "Group" | "DirectoryGroup" | "SkillGroup" | "Team") => {
                let activity = match action {
                    "MemberAdd" => 3,
                    "MemberRemove" => 4,
                    "Delete" => 5,
                    "Create" => 6,
                    _ => 99,
                };
                (Class::GroupManagement, activity, None)
            }
            ("Create", "User" | "AuthUser") => (Class::AccountChange, 1, None),
            ("Delete", "User" | "AuthUser") => (Class::AccountChange, 6, None),
            ("ChangePassword", _) => (Class::AccountChange, 3, None),
            ("Update", "User" | "AuthUser") if genesys_role_change(event).is_some() => {
                let (activity, privileges) = genesys_role_change(event).expect("checked");
                (Class::UserAccessManagement, activity, Some(privileges))
            }
            _ => {
                let activity = match action {
                    "Create" => 1,
                    "View" | "Read" | "Download" | "Export" => 2,
                    "Update" | "Save" | "Publish" => 3,
                    "Delete" | "HardDelete" | "SoftDelete" => 4,
                    "Enable" => 8,
                    "Disable" => 9,
                    "Activate" => 10,
                    "Deactivate" => 11,
                    _ => 99,
                };
                (Class::EntityManagement, activity, None)
            }
        },
        // A vendor this version of trail does not know: a generic change of an entity.
        _ => (Class::EntityManagement, 99, None),
    }
}

/// 1 Assign Privileges, or 2 Revoke Privileges for a demotion.
const ASSIGN: u32 = 1;
const REVOKE: u32 = 2;

/// The rank of a Zendesk role, to tell a promotion from a demotion. Custom roles (agent roles
/// of Enterprise plans, "Team Lead") rank as agents.
fn zendesk_role_rank(role: &str) -> u8 {
    match role.trim().to_lowercase().as_str() {
        "end user" | "end-user" | "enduser" | "not set" | "none" => 0,
        "light agent" | "viewer" | "contributor" => 1,
        "admin" | "administrator" | "manager" => 4,
        "account owner" | "owner" => 5,
        _ => 2,
    }
}

/// A Zendesk role change, from its description: "Role changed from X to Y", or one line per
/// product ("Support role changed from Agent to Administrator\nGuide role changed from …").
/// A change that only demotes revokes the old roles; any other assigns the new ones.
fn zendesk_role_change(event: &AuditEvent) -> Option<(u32, Vec<String>)> {
    let description = event.description.as_deref()?;
    let changes: Vec<(Option<String>, String, String)> = parse_role_changes(description)
        .into_iter()
        .map(|c| {
            (
                c.product,
                c.old.trim().to_string(),
                c.new.trim().to_string(),
            )
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    let named = |product: &Option<String>, role: &str| match product {
        Some(product) => format!("{product}: {role}"),
        None => role.to_string(),
    };
    let demotion = changes
        .iter()
        .all(|(_, old, new)| zendesk_role_rank(new) < zendesk_role_rank(old));
    Some(if demotion {
        (
            REVOKE,
            changes.iter().map(|(p, old, _)| named(p, old)).collect(),
        )
    } else {
        (
            ASSIGN,
            changes.iter().map(|(p, _, new)| named(p, new)).collect(),
        )
    })
}

/// A Genesys user update that changes the user's roles (`propertyChanges` of `roles`): roles
/// added are assigned; a change that only removes roles revokes them.
fn genesys_role_change(event: &AuditEvent) -> Option<(u32, Vec<String>)> {
    let change = event
        .changes
        .iter()
        .find(|c| c.field.eq_ignore_ascii_case("roles"))?;
    let values = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect()
    };
    let (old, new) = (values(&change.old), values(&change.new));
    let added: Vec<String> = new.iter().filter(|r| !old.contains(r)).cloned().collect();
    let removed: Vec<String> = old.iter().filter(|r| !new.contains(r)).cloned().collect();
    match (added.is_empty(), removed.is_empty()) {
        (false, _) => Some((ASSIGN, added)),
        (true, false) => Some((REVOKE, removed)),
        (true, true) => None,
    }
}

/// Renders one event as OCSF.
pub fn to_ocsf(event: &AuditEvent) -> OcsfEvent {
    let (class, activity_id, privileges) = classify(event);
    let activity_name = class
        .activity_name(activity_id)
        .map(str::to_string)
        .unwrap_or_else(|| capitalise(&event.vendor_action));
    let (status_id, status) = match &event.outcome {
        Outcome::Success => (1, "Success".to_string()),
        Outcome::Failure => (2, "Failure".to_string()),
        Outcome::Unknown => (0, "Unknown".to_string()),
        other => (99, capitalise(other.as_str())),
    };
    let actor_user = actor_user(event);
    let target = event.target.as_ref();
    let target_user = || {
        target
            .map(|t| User {
                uid: t.id.clone(),
                name: t.name.clone(),
                type_id: 1,
                kind: "User".into(),
                org: None,
            })
            .or_else(|| actor_user.clone())
            .unwrap_or_else(|| User {
                uid: None,
                name: Some("unknown".into()),
                type_id: 0,
                kind: "Unknown".into(),
                org: None,
            })
    };
    let (user, group, entity) = match class {
        Class::Authentication | Class::AccountChange | Class::UserAccessManagement => {
            (Some(target_user()), None, None)
        }
        Class::GroupManagement => (
            None,
            Some(Group {
                uid: target.and_then(|t| t.id.clone()),
                name: target.and_then(|t| t.name.clone()),
                kind: target_kind_or(event, "Group"),
            }),
            None,
        ),
        Class::EntityManagement => (
            None,
            None,
            Some(ManagedEntity {
                uid: target.and_then(|t| t.id.clone()),
                name: target.and_then(|t| t.name.clone()),
                kind: target_kind_or(event, "Unknown"),
            }),
        ),
    };

    let mut unmapped = Map::new();
    unmapped.insert("vendor_action".into(), json!(event.vendor_action));
    if !event.changes.is_empty() {
        unmapped.insert("changes".into(), json!(event.changes));
    }
    if let Some(target) = target {
        unmapped.insert("target".into(), json!(target));
    }
    if let Some(level) = &event.level {
        unmapped.insert("level".into(), json!(level));
    }
    if !event.context.is_empty() {
        unmapped.insert("context".into(), json!(event.context));
    }
    if let Some(rule) = &event.rule {
        unmapped.insert("rule".into(), json!(rule));
    }
    if let Some(location) = &event.actor.location {
        unmapped.insert("location".into(), json!(location));
    }
    // The record did not decode as sent: the same mark as in NDJSON (`raw_data` is the record).
    if let Some(issue) = &event.decode_issue {
        unmapped.insert("decode_issue".into(), json!(issue));
    }

    let class_uid = class.uid();
    OcsfEvent {
        activity_id,
        type_name: format!(
            "{}: {}",
            class.name(),
            class.activity_name(activity_id).unwrap_or("Other")
        ),
        activity_name,
        category_uid: 3,
        category_name: "Identity & Access Management".into(),
        class_uid,
        class_name: class.name().into(),
        type_uid: u64::from(class_uid) * 100 + u64::from(activity_id),
        severity_id: 1,
        severity: "Informational".into(),
        time: event.occurred_at.timestamp_millis(),
        status_id,
        status,
        message: event.description.clone(),
        metadata: Metadata {
            version: OCSF_VERSION.into(),
            product: Product {
                name: event.source.vendor.product_name().into(),
                vendor_name: vendor_name(event.source.vendor).into(),
                feature: event.service.clone().map(|name| Feature { name }),
            },
            uid: event.id.clone(),
            original_event_uid: event.native_id.clone(),
            log_name: event.source.stream.as_str().into(),
            tenant_uid: event.source.tenant.clone(),
            event_code: event.vendor_action.clone(),
            correlation_uid: event.correlation_id.clone(),
        },
        actor: ocsf_actor(event, actor_user),
        service: (class == Class::Authentication).then(|| Service {
            name: event.source.vendor.product_name().into(),
        }),
        src_endpoint: event.actor.ip.clone().map(|ip| NetworkEndpoint {
            ip,
            intermediate_ips: event.actor.other_ips.clone(),
        }),
        http_request: event
            .actor
            .user_agent
            .clone()
            .map(|user_agent| HttpRequest { user_agent }),
        user,
        privileges,
        group,
        entity,
        raw_data: event.raw.json().to_string(),
        unmapped,
    }
}

/// Whether `text` is a UUID in its 8-4-4-4-12 hex form (either case).
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The actor, `None` when the record names neither a user nor an application. An app that is a
/// UUID is an API client's id (Genesys `client.id`): OCSF's `app_uid`, not `app_name`.
fn ocsf_actor(event: &AuditEvent, user: Option<User>) -> Option<OcsfActor> {
    let app = event.actor.app.clone();
    let (app_uid, app_name) = match app {
        Some(app) if is_uuid(&app) => (Some(app), event.actor.application.clone()),
        other => (None, other.or_else(|| event.actor.application.clone())),
    };
    (user.is_some() || app_uid.is_some() || app_name.is_some()).then_some(OcsfActor {
        user,
        app_name,
        app_uid,
    })
}

fn actor_user(event: &AuditEvent) -> Option<User> {
    let actor = &event.actor;
    if actor.id.is_none() && actor.name.is_none() {
        return None;
    }
    let (type_id, kind) = match actor.kind {
        ActorKind::User => (1, "User"),
        ActorKind::System => (3, "System"),
        ActorKind::ApiClient => (4, "Service"),
        ActorKind::Unknown => (0, "Unknown"),
        _ => (99, "Other"),
    };
    Some(User {
        uid: actor.id.clone(),
        name: actor.name.clone(),
        type_id,
        kind: kind.into(),
        org: actor.home_org.clone().map(|uid| Organization { uid }),
    })
}

fn target_kind_or(event: &AuditEvent, fallback: &str) -> String {
    event
        .target
        .as_ref()
        .map(|t| t.kind.clone())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

fn vendor_name(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Zendesk => "Zendesk",
        Vendor::Genesys => "Genesys",
        _ => vendor.product_name(),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Other".into(),
    }
}

/// The JSON Schema of the OCSF events `trail` writes: the shape of [`OcsfEvent`], plus what
/// OCSF 1.8.0 requires of each class (`user` for 3001/3002/3005, `privileges` for 3005,
/// `group` for 3006, `entity` for 3004) and the identifier rules (`type_uid`, `category_uid`).
pub fn ocsf_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(OcsfEvent)).expect("schema is JSON");
    let class_requirements = [
        (3001, vec!["user"]),
        (3002, vec!["user", "service"]),
        (3004, vec!["entity"]),
        (3005, vec!["user", "privileges"]),
        (3006, vec!["group"]),
    ];
    let mut all_of: Vec<Value> = class_requirements
        .iter()
        .map(|(class, required)| {
            json!({
                "if": {"properties": {"class_uid": {"const": class}}},
                "then": {"required": required, "properties": {"category_uid": {"const": 3}}}
            })
        })
        .collect();
    all_of.push(json!({"properties": {
        "class_uid": {"enum": class_requirements.iter().map(|(c, _)| c).collect::<Vec<_>>()},
        "severity_id": {"enum": [0, 1, 2, 3, 4, 5, 6, 99]},
        "status_id": {"enum": [0, 1, 2, 99]},
        "metadata": {"properties": {"version": {"const": OCSF_VERSION}}},
        "actor": {"properties": {"user": {"anyOf": [{"required": ["uid"]}, {"required": ["name"]}]}}},
        "user": {"anyOf": [{"required": ["uid"]}, {"required": ["name"]}]},
    }}));
    let object = schema.as_object_mut().expect("a schema object");
    object.insert("allOf".into(), Value::Array(all_of));
    object.insert(
        "description".into(),
        json!(format!(
            "An audit event as trail writes it with --format ocsf: OCSF {OCSF_VERSION}, classes 3001, 3002, 3004, 3005 and 3006. `type_uid` is `class_uid * 100 + activity_id`."
        )),
    );
    schema
}
