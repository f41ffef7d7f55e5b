//! Genesys Cloud `AuditLogMessage`s.
//!
//! Records `0..n` are in time order (`eventDate` in milliseconds, then `id`). Ids are
//! UUID-shaped: the first 48 bits are the record's `eventDate` in milliseconds and the next bits
//! carry its index, so ordering by `(eventDate, id)` is ordering by index, and an id can be
//! turned back into its record without a scan. Records of one timeline *burst* may form a
//! transaction: they share `initiatingAction` (the first one is the initiator, and the
//! transaction id is its id), which is what the related-audits operation returns.

use serde_json::{Value, json};

use super::json_text::{write_bool, write_fragment, write_str, write_u64, write_upper_fragment};
use super::names::{FIRST, GENESYS_APPS, GENESYS_OBJECTS, LAST};
use super::prng::{Draw, mix, uuid_string, uuid_text, uuid_text_from};
use super::{Timeline, write_genesys_time};

const K_TIME: u64 = 0x6E51;
const K_REC: u64 = 0x6E52;
const K_GROUP: u64 = 0x6E53;
const K_DETAIL: u64 = 0x6E54;
const K_ID: u64 = 0x6E55;
const K_USER: u64 = 0x6E56;
const K_CLIENT: u64 = 0x6E57;
const K_ENTITY: u64 = 0x6E58;

const USERS: u64 = 24;
const CLIENTS: u64 = 4;

/// A name in a record.
#[derive(Debug, Clone, Copy)]
enum Name {
    /// A user's given and family names.
    Person(&'static str, &'static str),
    /// An object's name.
    Object(&'static str),
}

/// Writes a name escaped as inside a JSON string (a user's as `{first} {last}`).
fn write_name_fragment(out: &mut Vec<u8>, name: Name) {
    match name {
        Name::Person(first, last) => {
            write_fragment(out, first);
            out.push(b' ');
            write_fragment(out, last);
        }
        Name::Object(name) => write_fragment(out, name),
    }
}

/// Writes a name as a JSON string.
fn write_name(out: &mut Vec<u8>, name: Name) {
    out.push(b'"');
    write_name_fragment(out, name);
    out.push(b'"');
}

/// An entity type a service audits.
#[derive(Debug)]
pub struct EntityDef {
    /// `entityType`.
    pub name: &'static str,
    /// The actions recorded for it.
    pub actions: &'static [&'static str],
    /// API path prefix of its `selfUri`.
    pub uri: &'static str,
    /// Properties that change.
    pub props: &'static [&'static str],
}

/// A service that writes audit records.
#[derive(Debug)]
pub struct ServiceDef {
    /// `serviceName`.
    pub name: &'static str,
    /// Whether the realtime query covers it.
    pub realtime: bool,
    /// Its entity types.
    pub entities: &'static [EntityDef],
    /// Relative frequency.
    pub weight: u32,
}

macro_rules! entity {
    ($name:expr, [$($a:expr),*], $uri:expr, [$($p:expr),*]) => {
        EntityDef { name: $name, actions: &[$($a),*], uri: $uri, props: &[$($p),*] }
    };
}

/// Every service the simulator writes records for.
pub static SERVICES: &[ServiceDef] = &[
    ServiceDef {
        name: "PeoplePermissions",
        realtime: true,
        weight: 20,
        entities: &[
            entity!(
                "User",
                ["Create", "Update", "Delete", "View"],
                "/api/v2/users/",
                ["roles", "email", "title", "department"]
            ),
            entity!(
                "Role",
                ["Create", "Update", "Delete"],
                "/api/v2/authorization/roles/",
                ["permissionPolicies", "description", "name"]
            ),
            entity!(
                "OAuthClient",
                ["Create", "Update", "Delete"],
                "/api/v2/oauth/clients/",
                ["authorizedGrantType", "roleIds", "state"]
            ),
            entity!(
                "Division",
                ["Create", "Update"],
                "/api/v2/authorization/divisions/",
                ["name", "description"]
            ),
        ],
    },
    ServiceDef {
        name: "Architect",
        realtime: true,
        weight: 14,
        entities: &[
            entity!(
                "Flow",
                [
                    "Create", "Update", "Delete", "Publish", "CheckIn", "CheckOut", "Revert"
                ],
                "/api/v2/flows/",
                ["publishedVersion", "description", "inboundCallFlow"]
            ),
            entity!(
                "Prompt",
                ["Create", "Update", "Delete"],
                "/api/v2/architect/prompts/",
                ["name", "resources"]
            ),
        ],
    },
    ServiceDef {
        name: "Routing",
        realtime: true,
        weight: 14,
        entities: &[
            entity!(
                "Queue",
                ["Create", "Update", "Delete", "MemberAdd", "MemberRemove"],
                "/api/v2/routing/queues/",
                [
                    "acwTimeoutMs",
                    "skillEvaluationMethod",
                    "enableTranscription"
                ]
            ),
            entity!(
                "Skill",
                ["Create", "Delete"],
                "/api/v2/routing/skills/",
                ["name"]
            ),
            entity!(
                "WrapupCode",
                ["Create", "Delete"],
                "/api/v2/routing/wrapupcodes/",
                ["name"]
            ),
        ],
    },
    ServiceDef {
        name: "AnalyticsReporting",
        realtime: true,
        weight: 8,
        entities: &[entity!(
            "Exports",
            ["Create", "Delete", "Download"],
            "/api/v2/analytics/reporting/exports/",
            []
        )],
    },
    ServiceDef {
        name: "Directory",
        realtime: false,
        weight: 14,
        entities: &[entity!(
            "AuthUser",
            ["Authenticate", "AuthenticationFailed", "SingleLogout"],
            "/api/v2/users/",
            []
        )],
    },
    ServiceDef {
        name: "Integrations",
        realtime: true,
        weight: 6,
        entities: &[entity!(
            "Integration",
            ["Create", "Update", "Delete", "Enable", "Disable"],
            "/api/v2/integrations/",
            ["intendedState", "config"]
        )],
    },
    ServiceDef {
        name: "Telephony",
        realtime: true,
        weight: 5,
        entities: &[
            entity!(
                "Phone",
                ["Create", "Update", "Delete"],
                "/api/v2/telephony/providers/edges/phones/",
                ["lineAppearance", "webRtcUser"]
            ),
            entity!(
                "Trunk",
                ["Update"],
                "/api/v2/telephony/providers/edges/trunks/",
                ["state"]
            ),
        ],
    },
    ServiceDef {
        name: "Outbound",
        realtime: true,
        weight: 5,
        entities: &[entity!(
            "Campaign",
            ["Create", "Update", "Delete", "Activate", "Deactivate"],
            "/api/v2/outbound/campaigns/",
            ["campaignStatus", "callerName"]
        )],
    },
    ServiceDef {
        name: "Groups",
        realtime: true,
        weight: 5,
        entities: &[entity!(
            "Group",
            ["Create", "Update", "Delete", "MemberAdd", "MemberRemove"],
            "/api/v2/groups/",
            ["name", "visibility"]
        )],
    },
    ServiceDef {
        name: "WorkforceManagement",
        realtime: false,
        weight: 5,
        entities: &[
            entity!(
                "ManagementUnit",
                ["Create", "Update", "Delete"],
                "/api/v2/workforcemanagement/managementunits/",
                ["name", "startDayOfWeek"]
            ),
            entity!(
                "Schedule",
                ["Publish"],
                "/api/v2/workforcemanagement/schedules/",
                ["published"]
            ),
        ],
    },
    ServiceDef {
        name: "Quality",
        realtime: false,
        weight: 4,
        entities: &[entity!(
            "Evaluation",
            ["Create", "Update", "Delete"],
            "/api/v2/quality/evaluations/",
            ["status", "score"]
        )],
    },
];

/// The parameters of one tenant's Genesys data.
#[derive(Debug, Clone)]
pub struct GenesysParams {
    /// Data seed.
    pub seed: u64,
    /// The organisation id.
    pub org_id: String,
    /// First millisecond of the span.
    pub start_ms: i64,
    /// Last millisecond of the span.
    pub end_ms: i64,
    /// Number of records.
    pub audits: u64,
}

/// The filterable attributes of a record.
#[derive(Debug, Clone)]
pub struct GAttrs {
    /// The service.
    pub service: &'static ServiceDef,
    /// The entity type.
    pub entity: &'static EntityDef,
    /// The action.
    pub action: &'static str,
    /// The acting user (pool index), if any.
    pub user: Option<u64>,
    /// Whether the user is a trustee from another organisation.
    pub trustee: bool,
    /// The OAuth client (pool index), if any.
    pub client: Option<u64>,
    /// Which entity of its type.
    pub entity_idx: u64,
    /// `level`.
    pub level: &'static str,
    /// `status`.
    pub status: &'static str,
    /// First index of its transaction when it is part of one.
    pub transaction: Option<u64>,
}

/// One tenant's Genesys data.
#[derive(Debug, Clone)]
pub struct GenesysData {
    seed: u64,
    org_id: String,
    trustee_org: String,
    timeline: Timeline,
}

impl GenesysData {
    /// Builds the generator.
    pub fn new(p: &GenesysParams) -> Self {
        let timeline = Timeline::new(
            mix(&[p.seed, K_TIME]),
            p.start_ms,
            p.end_ms,
            p.audits,
            4,
            450,
        );
        let mut d = Draw::new(&[p.seed, 0x7257]);
        GenesysData {
            seed: p.seed,
            org_id: p.org_id.clone(),
            trustee_org: d.uuid(),
            timeline,
        }
    }

    /// The timeline (milliseconds).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The organisation id.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The trustee organisation whose users sometimes act in this one.
    pub fn trustee_org(&self) -> &str {
        &self.trustee_org
    }

    /// `eventDate` of record `i`, in milliseconds.
    pub fn time_of(&self, i: u64) -> i64 {
        self.timeline.time_of(i)
    }

    /// The id of record `i`.
    pub fn record_id(&self, i: u64) -> String {
        uuid_string(self.record_id_text(i, self.time_of(i)))
    }

    /// The id of record `i` whose `eventDate` is `ms`, as text.
    fn record_id_text(&self, i: u64, ms: i64) -> [u8; 36] {
        let ms = (ms.max(0) as u64) & 0xFFFF_FFFF_FFFF;
        let idx = i & ((1 << 40) - 1);
        let h = mix(&[self.seed, K_ID, i]);
        let hi = (ms << 16) | 0x4000 | ((idx >> 28) & 0xFFF);
        let lo = (0b10u64 << 62) | ((idx & 0xFFF_FFFF) << 34) | (h & ((1 << 34) - 1));
        uuid_text(hi, lo)
    }

    /// The index of the record with this id.
    pub fn index_of_id(&self, id: &str) -> Option<u64> {
        let hex: String = id.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || id.len() != 36 {
            return None;
        }
        let hi = u64::from_str_radix(&hex[..16], 16).ok()?;
        let lo = u64::from_str_radix(&hex[16..], 16).ok()?;
        let i = ((hi & 0xFFF) << 28) | ((lo >> 34) & 0xFFF_FFFF);
        (i < self.timeline.len() && self.record_id(i) == id.to_ascii_lowercase()).then_some(i)
    }

    /// The id of user `u` of the pool.
    pub fn user_id(&self, u: u64) -> String {
        uuid_string(self.user_id_text(u))
    }

    fn user_id_text(&self, u: u64) -> [u8; 36] {
        Draw::new(&[self.seed, K_USER, u]).uuid_text()
    }

    /// The name of user `u`.
    pub fn user_name(&self, u: u64) -> String {
        let mut out = Vec::new();
        write_name_fragment(&mut out, self.user_name_parts(u));
        String::from_utf8(out).expect("UTF-8")
    }

    /// The given and family names of user `u`.
    fn user_name_parts(&self, u: u64) -> Name {
        let mut d = Draw::new(&[self.seed, K_USER, u, 1]);
        let first = *d.pick(FIRST);
        let last = *d.pick(LAST);
        Name::Person(first, last)
    }

    /// The id of OAuth client `c`.
    pub fn client_id(&self, c: u64) -> String {
        uuid_string(self.client_id_text(c))
    }

    fn client_id_text(&self, c: u64) -> [u8; 36] {
        Draw::new(&[self.seed, K_CLIENT, c]).uuid_text()
    }

    /// The id of an entity.
    pub fn entity_id(&self, a: &GAttrs) -> String {
        uuid_string(self.entity_id_text(a))
    }

    fn entity_id_text(&self, a: &GAttrs) -> [u8; 36] {
        if a.entity.name == "AuthUser" || a.entity.name == "User" && a.entity_idx < USERS {
            return self.user_id_text(a.entity_idx % USERS);
        }
        let h = mix(&[
            self.seed,
            K_ENTITY,
            crate::data::prng::hash_str(a.entity.name),
            a.entity_idx,
        ]);
        uuid_text_from(h, crate::data::prng::splitmix64(h))
    }

    fn group(&self, i: u64) -> (u64, bool) {
        let r = self.timeline.burst_of(i);
        let transaction =
            r.end - r.start > 1 && Draw::new(&[self.seed, K_GROUP, r.start]).chance(0.45);
        (r.start, transaction)
    }

    fn pick_service(d: &mut Draw) -> &'static ServiceDef {
        let total: u64 = SERVICES.iter().map(|s| u64::from(s.weight)).sum();
        let mut r = d.below(total);
        for s in SERVICES {
            if r < u64::from(s.weight) {
                return s;
            }
            r -= u64::from(s.weight);
        }
        &SERVICES[0]
    }

    /// The filterable attributes of record `i`.
    pub fn attrs(&self, i: u64) -> GAttrs {
        let (start, transaction) = self.group(i);
        let mut d = Draw::new(&[self.seed, K_REC, i]);
        let (service, entity, action, user, client) = if transaction {
            // The whole transaction: one service, one user and client; the initiator's action,
            // then updates of related entities.
            let mut g = Draw::new(&[self.seed, K_GROUP, start, 1]);
            let service = Self::pick_service(&mut g);
            let first = g.pick(service.entities);
            let first_action = *g.pick(first.actions);
            let user = g.below(USERS);
            let client = if g.chance(0.3) {
                None
            } else {
                Some(g.below(CLIENTS))
            };
            if i == start {
                (service, first, first_action, Some(user), client)
            } else {
                let e = d.pick(service.entities);
                let action = if e.actions.contains(&"Update") {
                    "Update"
                } else {
                    *d.pick(e.actions)
                };
                (service, e, action, Some(user), client)
            }
        } else {
            let service = Self::pick_service(&mut d);
            let e = d.pick(service.entities);
            let action = *d.pick(e.actions);
            let user = if d.chance(0.08) {
                None
            } else {
                Some(d.below(USERS))
            };
            let client = if d.chance(0.25) {
                None
            } else {
                Some(d.below(CLIENTS))
            };
            (service, e, action, user, client)
        };
        let level = *d.weighted(&[(80u32, "USER"), (16, "SYSTEM"), (4, "GENESYS_INTERNAL")]);
        let status = if action == "AuthenticationFailed" {
            "FAILURE"
        } else {
            *d.weighted(&[(85u32, "SUCCESS"), (10, "FAILURE"), (5, "WARNING")])
        };
        let user = if level == "USER" {
            user.or(Some(0))
        } else {
            user.filter(|_| d.chance(0.5))
        };
        let trustee = user.is_some() && d.chance(0.05);
        let entity_idx = if entity.name == "AuthUser" {
            user.unwrap_or(0)
        } else {
            d.below(40)
        };
        GAttrs {
            service,
            entity,
            action,
            user,
            trustee,
            client,
            entity_idx,
            level,
            status,
            transaction: transaction.then_some(start),
        }
    }

    /// The indices of the records of `i`'s transaction (just `i` when it has none).
    pub fn related(&self, i: u64) -> std::ops::Range<u64> {
        match self.attrs(i).transaction {
            Some(_) => self.timeline.burst_of(i),
            None => i..i + 1,
        }
    }

    /// Whether record `i` matches a filter `property` = `value` (the query filters).
    pub fn matches(&self, a: &GAttrs, property: &str, value: &str) -> bool {
        match property {
            "UserId" => a.user.is_some_and(|u| self.user_id(u) == value),
            "TrusteeOrganizationId" => a.trustee && self.trustee_org == value,
            "ClientId" => a.client.is_some_and(|c| self.client_id(c) == value),
            "Action" => a.action == value,
            "EntityType" => a.entity.name == value,
            "EntityId" => self.entity_id(a) == value,
            _ => false,
        }
    }

    /// Record `i` as Genesys sends it (`expand_user` adds `user.name`), parsed from
    /// [`GenesysData::write_record`]'s text.
    pub fn render(&self, i: u64, expand_user: bool) -> Value {
        let mut out = Vec::new();
        self.write_record(&mut out, i, expand_user);
        serde_json::from_slice(&out).expect("a record is valid JSON")
    }

    /// Writes records as a JSON array (serde_json's compact text).
    pub fn write_records(&self, out: &mut Vec<u8>, indices: &[u64], expand_user: bool) {
        out.reserve(2 + indices.len() * 1000);
        out.push(b'[');
        for (k, &i) in indices.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            self.write_record(out, i, expand_user);
        }
        out.push(b']');
    }

    /// Writes record `i` as Genesys sends it, as JSON text (serde_json's compact text, keys in
    /// Genesys' order); `expand_user` adds `user.name`.
    pub fn write_record(&self, out: &mut Vec<u8>, i: u64, expand_user: bool) {
        let a = self.attrs(i);
        // The draws of `d`, in order: the entity name (unless a user's), the remote IPs, the
        // message, the application, the initiator flag (outside a transaction), the property
        // changes, the context, the member of a member change.
        let mut d = Draw::new(&[self.seed, K_DETAIL, i]);
        let ms = self.time_of(i);
        let entity_id = self.entity_id_text(&a);
        let entity_name = if a.entity.name == "AuthUser" || a.entity.name == "User" {
            self.user_name_parts(a.entity_idx % USERS)
        } else {
            let object = *d.pick(GENESYS_OBJECTS);
            Name::Object(object)
        };
        let raw = |out: &mut Vec<u8>, bytes: &[u8]| out.extend_from_slice(bytes);

        raw(out, b"{\"id\":\"");
        raw(out, &self.record_id_text(i, ms));
        raw(out, b"\",\"userHomeOrgId\":");
        write_str(
            out,
            if a.trustee {
                &self.trustee_org
            } else {
                &self.org_id
            },
        );
        if let Some(u) = a.user {
            let uid = self.user_id_text(u);
            raw(out, b",\"user\":{\"id\":\"");
            raw(out, &uid);
            raw(out, b"\"");
            if expand_user {
                raw(out, b",\"name\":");
                write_name(out, self.user_name_parts(u));
            }
            raw(out, b",\"selfUri\":\"/api/v2/users/");
            raw(out, &uid);
            raw(out, b"\"}");
        }
        match a.client {
            Some(c) => {
                let cid = self.client_id_text(c);
                raw(out, b",\"client\":{\"id\":\"");
                raw(out, &cid);
                raw(out, b"\",\"selfUri\":\"/api/v2/oauth/clients/");
                raw(out, &cid);
                raw(out, b"\"}");
            }
            None => raw(out, b",\"client\":{\"id\":\"\"}"),
        }
        raw(out, b",\"remoteIp\":[\"203.0.113.");
        write_u64(out, d.range(2, 254));
        if d.chance(0.4) {
            raw(out, b"\",\"10.20.0.");
            write_u64(out, d.range(2, 254));
        }
        raw(out, b"\"],\"serviceName\":");
        write_str(out, a.service.name);
        raw(out, b",\"level\":");
        write_str(out, a.level);
        raw(out, b",\"eventDate\":\"");
        write_genesys_time(out, ms);
        raw(out, b"\"");
        if !d.chance(0.1) {
            let verb = match a.action {
                "Create" => "created",
                "Update" => "updated",
                "Delete" => "deleted",
                "Publish" => "published",
                "Authenticate" => "authenticated",
                "AuthenticationFailed" => "refused",
                other => other,
            };
            raw(out, b",\"message\":{\"localizableMessageCode\":\"AUDIT_");
            write_upper_fragment(out, a.entity.name);
            raw(out, b"_");
            write_upper_fragment(out, a.action);
            raw(out, b"\",\"message\":\"");
            write_fragment(out, a.entity.name);
            raw(out, b" ");
            write_name_fragment(out, entity_name);
            raw(out, b" was ");
            write_fragment(out, verb);
            raw(out, b"\",\"messageWithParams\":\"");
            write_fragment(out, a.entity.name);
            raw(out, b" {entityName} was ");
            write_fragment(out, verb);
            raw(out, b"\",\"messageParams\":{\"entityName\":");
            write_name(out, entity_name);
            raw(out, b"}}");
        }
        raw(out, b",\"action\":");
        write_str(out, a.action);
        raw(out, b",\"entity\":{\"id\":\"");
        raw(out, &entity_id);
        raw(out, b"\",\"name\":");
        write_name(out, entity_name);
        raw(out, b",\"selfUri\":\"");
        write_fragment(out, a.entity.uri);
        raw(out, &entity_id);
        raw(out, b"\"},\"entityType\":");
        write_str(out, a.entity.name);
        raw(out, b",\"status\":");
        write_str(out, a.status);
        raw(out, b",\"application\":");
        let application = *d.pick(GENESYS_APPS);
        write_str(out, application);
        // The initiator's attributes (`a` itself for the initiator).
        let first = a
            .transaction
            .map(|start| (start, (start != i).then(|| self.attrs(start))));
        match &first {
            Some((start, initiator)) => {
                let initiator = initiator.as_ref().unwrap_or(&a);
                raw(out, b",\"initiatingAction\":{\"transactionId\":\"");
                raw(out, &self.record_id_text(*start, self.time_of(*start)));
                raw(out, b"\",\"actionContext\":");
                write_str(out, initiator.action);
                raw(out, b"},\"transactionInitiator\":");
                write_bool(out, *start == i);
            }
            None => {
                raw(out, b",\"initiatingAction\":{},\"transactionInitiator\":");
                write_bool(out, d.chance(0.5));
            }
        }
        raw(out, b",\"propertyChanges\":[");
        if !a.entity.props.is_empty() {
            let count = match a.action {
                "Update" | "Create" | "Delete" => d.range(1, 3),
                _ => 0,
            };
            let first = d.below(a.entity.props.len() as u64);
            for k in 0..count.min(a.entity.props.len() as u64) {
                let p = a.entity.props[(first + k) as usize % a.entity.props.len()];
                let old = d.below(50);
                let new = 50 + d.below(50);
                if k > 0 {
                    raw(out, b",");
                }
                // `["{p}-v{n}"]`, or `[]` for the side the action does not have.
                let values = |out: &mut Vec<u8>, present: bool, n: u64| {
                    raw(out, b"[");
                    if present {
                        raw(out, b"\"");
                        write_fragment(out, p);
                        raw(out, b"-v");
                        write_u64(out, n);
                        raw(out, b"\"");
                    }
                    raw(out, b"]");
                };
                raw(out, b"{\"property\":");
                write_str(out, p);
                raw(out, b",\"oldValues\":");
                values(out, a.action != "Create", old);
                raw(out, b",\"newValues\":");
                values(out, a.action != "Delete", new);
                raw(out, b"}");
            }
        }
        raw(out, b"],\"context\":");
        match a.entity.name {
            "Exports" => raw(out, b"{\"ExportType\":\"CSV\",\"HasEmail\":\"true\"}"),
            "Flow" => raw(out, b"{\"flowType\":\"INBOUNDCALL\"}"),
            _ if d.chance(0.3) => {
                raw(out, b"{\"divisionId\":\"");
                raw(out, &self.user_id_text(99));
                raw(out, b"\"}");
            }
            _ => raw(out, b"{}"),
        }
        raw(out, b",\"entityChanges\":[");
        if matches!(a.action, "MemberAdd" | "MemberRemove") {
            let u = d.below(USERS);
            let name = self.user_name_parts(u);
            raw(out, b"{\"entityId\":\"");
            raw(out, &self.user_id_text(u));
            raw(out, b"\",\"entityName\":");
            write_name(out, name);
            raw(out, b",\"entityType\":\"User\",\"oldValues\":[");
            if a.action != "MemberAdd" {
                write_name(out, name);
            }
            raw(out, b"],\"newValues\":[");
            if a.action == "MemberAdd" {
                write_name(out, name);
            }
            raw(out, b"]}");
        } else if let Some((_, Some(initiator))) = &first {
            raw(out, b"{\"entityId\":\"");
            raw(out, &self.entity_id_text(initiator));
            raw(out, b"\",\"entityName\":");
            write_str(out, initiator.entity.name);
            raw(out, b",\"entityType\":");
            write_str(out, initiator.entity.name);
            raw(out, b",\"oldValues\":[],\"newValues\":[");
            write_str(out, initiator.action);
            raw(out, b"]}");
        }
        raw(out, b"]}");
    }

    /// The service mapping of the asynchronous query (`realtime = false`) or of the realtime
    /// query (`realtime = true`).
    pub fn service_mapping(realtime: bool) -> Value {
        let services: Vec<Value> = SERVICES
            .iter()
            .filter(|s| !realtime || s.realtime)
            .map(|s| {
                json!({"name": s.name, "entities": s.entities.iter().map(|e| json!({"name": e.name, "actions": e.actions})).collect::<Vec<_>>()})
            })
            .collect();
        json!({ "services": services })
    }

    /// Whether the realtime query covers this service.
    pub fn realtime_service(name: &str) -> bool {
        SERVICES.iter().any(|s| s.realtime && s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_like_the_records() {
        let g = GenesysData::new(&GenesysParams {
            seed: 7,
            org_id: "a3c5e7f9-1b2d-4f60-8a9c-0e1f2a3b4c5d".into(),
            start_ms: 1_715_000_000_000,
            end_ms: 1_715_000_000_000 + 86_400_000,
            audits: 3000,
        });
        let mut prev = String::new();
        let mut transactions = 0;
        for i in 0..3000 {
            let id = g.record_id(i);
            assert_eq!(g.index_of_id(&id), Some(i));
            assert!(id > prev, "ids sort like the records");
            prev = id;
            let r = g.render(i, true);
            assert_eq!(r["id"], json!(g.record_id(i)));
            if r["transactionInitiator"] == json!(true)
                && r["initiatingAction"]["transactionId"].is_string()
            {
                transactions += 1;
            }
        }
        assert!(transactions > 50);
        assert_eq!(g.index_of_id("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"), None);
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn record_text_is_compact_json_in_genesys_key_order() {
        // An organisation id that needs escaping (it comes from the configuration).
        let org = "org \"quoted\" \\ back\\slash\n\t\u{1} Tomás ✓";
        let g = GenesysData::new(&GenesysParams {
            seed: 3,
            org_id: org.into(),
            start_ms: 1_715_000_000_000,
            end_ms: 1_715_000_000_000 + 86_400_000,
            audits: 5000,
        });
        let (mut home_org, mut non_ascii, mut transactions, mut members) = (0, 0, 0, 0);
        for expand in [false, true] {
            let mut page = Vec::new();
            let indices: Vec<u64> = (0..5000).collect();
            g.write_records(&mut page, &indices, expand);
            let records: Value = serde_json::from_slice(&page).expect("valid JSON");
            // Written as serde_json writes it: compact, same escapes.
            assert_eq!(serde_json::to_vec(&records).unwrap(), page);
            let records = records.as_array().expect("an array");
            assert_eq!(records.len(), 5000);
            for (i, r) in (0u64..).zip(records) {
                let a = g.attrs(i);
                let has = |k: &str| r.get(k).is_some();
                let mut want = vec!["id", "userHomeOrgId"];
                if a.user.is_some() {
                    want.push("user");
                }
                want.extend(["client", "remoteIp", "serviceName", "level", "eventDate"]);
                if has("message") {
                    want.push("message");
                    assert_eq!(
                        keys(&r["message"]),
                        [
                            "localizableMessageCode",
                            "message",
                            "messageWithParams",
                            "messageParams"
                        ]
                    );
                    assert_eq!(
                        r["message"]["messageParams"]["entityName"],
                        r["entity"]["name"]
                    );
                }
                want.extend([
                    "action",
                    "entity",
                    "entityType",
                    "status",
                    "application",
                    "initiatingAction",
                    "transactionInitiator",
                    "propertyChanges",
                    "context",
                    "entityChanges",
                ]);
                assert_eq!(keys(r), want, "record {i}");
                // Ids round-trip.
                let id = r["id"].as_str().unwrap();
                assert_eq!(id, g.record_id(i));
                assert_eq!(g.index_of_id(id), Some(i));
                assert_eq!(
                    r["eventDate"],
                    json!(crate::data::genesys_time(g.time_of(i)))
                );
                if r["userHomeOrgId"] == json!(org) {
                    home_org += 1;
                } else {
                    assert_eq!(r["userHomeOrgId"], json!(g.trustee_org()));
                }
                if let Some(u) = a.user {
                    let mut user = vec!["id"];
                    if expand {
                        user.push("name");
                        assert_eq!(r["user"]["name"], json!(g.user_name(u)));
                        non_ascii += usize::from(!g.user_name(u).is_ascii());
                    }
                    user.push("selfUri");
                    assert_eq!(keys(&r["user"]), user);
                    assert_eq!(r["user"]["id"], json!(g.user_id(u)));
                }
                match a.client {
                    Some(c) => {
                        assert_eq!(keys(&r["client"]), ["id", "selfUri"]);
                        assert_eq!(r["client"]["id"], json!(g.client_id(c)));
                    }
                    None => assert_eq!(r["client"], json!({"id": ""})),
                }
                assert_eq!(keys(&r["entity"]), ["id", "name", "selfUri"]);
                assert_eq!(r["entity"]["id"], json!(g.entity_id(&a)));
                assert_eq!(r["action"], json!(a.action));
                for p in r["propertyChanges"].as_array().unwrap() {
                    assert_eq!(keys(p), ["property", "oldValues", "newValues"]);
                }
                for c in r["entityChanges"].as_array().unwrap() {
                    assert_eq!(
                        keys(c),
                        [
                            "entityId",
                            "entityName",
                            "entityType",
                            "oldValues",
                            "newValues"
                        ]
                    );
                    members += usize::from(c["entityType"] == json!("User"));
                }
                match a.transaction {
                    Some(start) => {
                        transactions += 1;
                        assert_eq!(
                            keys(&r["initiatingAction"]),
                            ["transactionId", "actionContext"]
                        );
                        assert_eq!(
                            r["initiatingAction"]["transactionId"],
                            json!(g.record_id(start))
                        );
                        assert_eq!(r["transactionInitiator"], json!(start == i));
                    }
                    None => assert_eq!(r["initiatingAction"], json!({})),
                }
                // One record on its own is the same text as in a page.
                assert_eq!(&g.render(i, expand), r);
            }
        }
        assert!(home_org > 1000 && non_ascii > 0 && transactions > 100 && members > 0);
    }
}
