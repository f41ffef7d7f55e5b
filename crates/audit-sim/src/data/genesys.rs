//! Genesys Cloud `AuditLogMessage`s.
//!
//! Records `0..n` are in time order (`eventDate` in milliseconds, then `id`). Ids are
//! UUID-shaped: the first 48 bits are the record's `eventDate` in milliseconds and the next bits
//! carry its index, so ordering by `(eventDate, id)` is ordering by index, and an id can be
//! turned back into its record without a scan. Records of one timeline *burst* may form a
//! transaction: they share `initiatingAction` (the first one is the initiator, and the
//! transaction id is its id), which is what the related-audits operation returns.

use serde_json::{Map, Value, json};

use super::names::{FIRST, GENESYS_APPS, GENESYS_OBJECTS, LAST};
use super::prng::{Draw, mix, uuid_from};
use super::{Timeline, genesys_time};

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
        let ms = (self.time_of(i).max(0) as u64) & 0xFFFF_FFFF_FFFF;
        let idx = i & ((1 << 40) - 1);
        let h = mix(&[self.seed, K_ID, i]);
        let hi = (ms << 16) | 0x4000 | ((idx >> 28) & 0xFFF);
        let lo = (0b10u64 << 62) | ((idx & 0xFFF_FFFF) << 34) | (h & ((1 << 34) - 1));
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
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
        let mut d = Draw::new(&[self.seed, K_USER, u]);
        d.uuid()
    }

    /// The name of user `u`.
    pub fn user_name(&self, u: u64) -> String {
        let mut d = Draw::new(&[self.seed, K_USER, u, 1]);
        format!("{} {}", d.pick(FIRST), d.pick(LAST))
    }

    /// The id of OAuth client `c`.
    pub fn client_id(&self, c: u64) -> String {
        Draw::new(&[self.seed, K_CLIENT, c]).uuid()
    }

    /// The id of an entity.
    pub fn entity_id(&self, a: &GAttrs) -> String {
        if a.entity.name == "AuthUser" || a.entity.name == "User" && a.entity_idx < USERS {
            return self.user_id(a.entity_idx % USERS);
        }
        let h = mix(&[
            self.seed,
            K_ENTITY,
            crate::data::prng::hash_str(a.entity.name),
            a.entity_idx,
        ]);
        uuid_from(h, crate::data::prng::splitmix64(h))
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

    /// Record `i` as Genesys sends it; `expand_user` adds `user.name`.
    pub fn render(&self, i: u64, expand_user: bool) -> Value {
        self.render_with(i, &self.attrs(i), expand_user)
    }

    /// Record `i` from already computed attributes.
    pub fn render_with(&self, i: u64, a: &GAttrs, expand_user: bool) -> Value {
        let mut d = Draw::new(&[self.seed, K_DETAIL, i]);
        let id = self.record_id(i);
        let entity_id = self.entity_id(a);
        let entity_name = if a.entity.name == "AuthUser" || a.entity.name == "User" {
            self.user_name(a.entity_idx % USERS)
        } else {
            (*d.pick(GENESYS_OBJECTS)).to_string()
        };
        let mut r = Map::new();
        r.insert("id".into(), json!(id));
        r.insert(
            "userHomeOrgId".into(),
            json!(if a.trustee {
                &self.trustee_org
            } else {
                &self.org_id
            }),
        );
        if let Some(u) = a.user {
            let uid = self.user_id(u);
            let mut user = Map::new();
            user.insert("id".into(), json!(uid));
            if expand_user {
                user.insert("name".into(), json!(self.user_name(u)));
            }
            user.insert("selfUri".into(), json!(format!("/api/v2/users/{uid}")));
            r.insert("user".into(), Value::Object(user));
        }
        match a.client {
            Some(c) => {
                let cid = self.client_id(c);
                r.insert(
                    "client".into(),
                    json!({"id": cid, "selfUri": format!("/api/v2/oauth/clients/{cid}")}),
                );
            }
            None => {
                r.insert("client".into(), json!({"id": ""}));
            }
        }
        let mut ips = vec![format!("203.0.113.{}", d.range(2, 254))];
        if d.chance(0.4) {
            ips.push(format!("10.20.0.{}", d.range(2, 254)));
        }
        r.insert("remoteIp".into(), json!(ips));
        r.insert("serviceName".into(), json!(a.service.name));
        r.insert("level".into(), json!(a.level));
        r.insert("eventDate".into(), json!(genesys_time(self.time_of(i))));
        if !d.chance(0.1) {
            let code = format!(
                "AUDIT_{}_{}",
                a.entity.name.to_uppercase(),
                a.action.to_uppercase()
            );
            let verb = match a.action {
                "Create" => "created",
                "Update" => "updated",
                "Delete" => "deleted",
                "Publish" => "published",
                "Authenticate" => "authenticated",
                "AuthenticationFailed" => "refused",
                other => other,
            };
            r.insert(
                "message".into(),
                json!({
                    "localizableMessageCode": code,
                    "message": format!("{} {} was {}", a.entity.name, entity_name, verb),
                    "messageWithParams": format!("{} {{entityName}} was {}", a.entity.name, verb),
                    "messageParams": {"entityName": entity_name},
                }),
            );
        }
        r.insert("action".into(), json!(a.action));
        r.insert(
            "entity".into(),
            json!({"id": entity_id, "name": entity_name, "selfUri": format!("{}{}", a.entity.uri, entity_id)}),
        );
        r.insert("entityType".into(), json!(a.entity.name));
        r.insert("status".into(), json!(a.status));
        r.insert("application".into(), json!(d.pick(GENESYS_APPS)));
        match a.transaction {
            Some(start) => {
                let first = self.attrs(start);
                r.insert(
                    "initiatingAction".into(),
                    json!({"transactionId": self.record_id(start), "actionContext": first.action}),
                );
                r.insert("transactionInitiator".into(), json!(start == i));
            }
            None => {
                r.insert("initiatingAction".into(), json!({}));
                r.insert("transactionInitiator".into(), json!(d.chance(0.5)));
            }
        }
        let mut props = Vec::new();
        if !a.entity.props.is_empty() {
            let count = match a.action {
                "Update" | "Create" | "Delete" => d.range(1, 3),
                _ => 0,
            };
            let first = d.below(a.entity.props.len() as u64);
            for k in 0..count.min(a.entity.props.len() as u64) {
                let p = a.entity.props[(first + k) as usize % a.entity.props.len()];
                let old = vec![format!("{p}-v{}", d.below(50))];
                let new = vec![format!("{p}-v{}", 50 + d.below(50))];
                let (old, new) = match a.action {
                    "Create" => (vec![], new),
                    "Delete" => (old, vec![]),
                    _ => (old, new),
                };
                props.push(json!({"property": p, "oldValues": old, "newValues": new}));
            }
        }
        r.insert("propertyChanges".into(), Value::Array(props));
        let context = match a.entity.name {
            "Exports" => json!({"ExportType": "CSV", "HasEmail": "true"}),
            "Flow" => json!({"flowType": "INBOUNDCALL"}),
            _ if d.chance(0.3) => json!({"divisionId": self.user_id(99)}),
            _ => json!({}),
        };
        r.insert("context".into(), context);
        let mut changes = Vec::new();
        if matches!(a.action, "MemberAdd" | "MemberRemove") {
            let u = d.below(USERS);
            let (old, new) = if a.action == "MemberAdd" {
                (vec![], vec![self.user_name(u)])
            } else {
                (vec![self.user_name(u)], vec![])
            };
            changes.push(json!({"entityId": self.user_id(u), "entityName": self.user_name(u), "entityType": "User", "oldValues": old, "newValues": new}));
        } else if let Some(start) = a.transaction.filter(|s| *s != i) {
            let first = self.attrs(start);
            changes.push(json!({"entityId": self.entity_id(&first), "entityName": first.entity.name, "entityType": first.entity.name,
                "oldValues": [], "newValues": [first.action]}));
        }
        r.insert("entityChanges".into(), Value::Array(changes));
        Value::Object(r)
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
}
