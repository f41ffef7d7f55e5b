//! Zendesk records: ticket audits (with every event kind) and audit logs.
//!
//! # Ticket audits
//!
//! Audits are numbered `0..n` in time order (`created_at`, then `id`, ascending). They are
//! dealt to tickets in *epochs*: `open_tickets` tickets are open at a time, each receiving
//! `audits_per_ticket` audits round-robin, then the next epoch opens the next tickets. So
//! audit `i` belongs to ticket `k = (i / E) * W + (i % E) % W` as its `m = (i % E) / W`-th
//! audit (`W` open tickets, `E = W * audits_per_ticket`), and a ticket's audits are
//! computable without scanning. A ticket's first audit creates it; a complete ticket's last
//! audit is the automation that closes it.
//!
//! A fraction of the complete tickets of the older half of the data set are *archived*:
//! `/api/v2/ticket_audits` leaves their audits out; `/api/v2/tickets/{id}/audits` answers them
//! in one unpaginated response.
//!
//! # Audit logs
//!
//! Records `0..n` in time order, ids ascending with the index.

use serde_json::{Map, Value, json};

use super::names::*;
use super::prng::{Draw, mix, unit};
use super::{Timeline, zendesk_time};

const K_USER: u64 = 0x05E2;
const K_TICKET: u64 = 0x71C4;
const K_AUDIT: u64 = 0xA0D1;
const K_AUDIT_ID: u64 = 0xA1D0;
const K_ARCHIVE: u64 = 0xA2C4;
const K_LOG: u64 = 0x1065;
const K_LOG_DETAIL: u64 = 0x1066;
const K_LOG_ID: u64 = 0x1067;

/// How many admins, agents and end users each account has.
const ADMINS: u64 = 3;
const AGENTS: u64 = 12;
const END_USERS: u64 = 300;

/// The generator's parameters for one tenant.
#[derive(Debug, Clone)]
pub struct ZendeskParams {
    /// Data seed.
    pub seed: u64,
    /// The account's subdomain (used in e-mail addresses and descriptions).
    pub subdomain: String,
    /// First second of the span.
    pub start: i64,
    /// Last second of the span.
    pub end: i64,
    /// Number of ticket audits.
    pub ticket_audits: u64,
    /// Audits per (complete) ticket.
    pub audits_per_ticket: u64,
    /// Tickets receiving audits at the same time.
    pub open_tickets: u64,
    /// Fraction of eligible tickets that are archived.
    pub archived_fraction: f64,
    /// Number of audit-log records.
    pub audit_logs: u64,
}

/// A user of the account.
#[derive(Debug, Clone)]
pub struct User {
    /// User id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// `admin`, `agent` or `end-user`.
    pub role: &'static str,
}

/// The attributes of an audit-log record that the list filters look at.
#[derive(Debug, Clone)]
pub struct LogAttrs {
    /// `create`, `update`, `destroy`, `login`, `exported`.
    pub action: &'static str,
    /// Actor id (`-1` for Zendesk itself).
    pub actor_id: i64,
    /// Kind of item changed.
    pub source_type: &'static str,
    /// Id of the item changed.
    pub source_id: i64,
    /// IP address, if any.
    pub ip_address: Option<String>,
    template: LogTemplate,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LogTemplate {
    LoginOk,
    LoginFailed,
    RoleChange,
    AppRoleChange,
    RuleUpdate,
    RuleCreate,
    RuleDestroy,
    TokenCreate,
    TokenDestroy,
    SettingUpdate,
    MfaSetting,
    TicketDestroy,
    AppInstall,
    AppUninstall,
    Export,
    GroupCreate,
    BrandUpdate,
}

/// One tenant's Zendesk data.
#[derive(Debug, Clone)]
pub struct ZendeskData {
    seed: u64,
    subdomain: String,
    audits: Timeline,
    logs: Timeline,
    per_ticket: u64,
    open: u64,
    archived_fraction: f64,
    audit_base: i64,
    log_base: i64,
    ticket_base: i64,
    user_base: i64,
}

fn ip(d: &mut Draw) -> String {
    let prefixes = ["203.0.113", "198.51.100", "192.0.2"];
    format!("{}.{}", d.pick(&prefixes), d.range(2, 254))
}

impl ZendeskData {
    /// Builds the generator.
    pub fn new(p: &ZendeskParams) -> Self {
        let seed = p.seed;
        let audits = Timeline::new(mix(&[seed, K_AUDIT]), p.start, p.end, p.ticket_audits, 3, 2);
        let logs = Timeline::new(mix(&[seed, K_LOG]), p.start, p.end, p.audit_logs, 3, 3);
        let s = (seed % 997) as i64;
        ZendeskData {
            seed,
            subdomain: p.subdomain.clone(),
            audits,
            logs,
            per_ticket: p.audits_per_ticket.max(1),
            open: p.open_tickets.max(1),
            archived_fraction: p.archived_fraction,
            audit_base: 20_000_000_000_000 + s * 10_000_000_000,
            log_base: 19_000_000_000 + s * 1_000_000_000,
            ticket_base: 1_000 + s * 100_000,
            user_base: 7_700_000_000 + s * 1_000_000,
        }
    }

    /// The ticket-audit timeline (seconds).
    pub fn audits(&self) -> &Timeline {
        &self.audits
    }

    /// The audit-log timeline (seconds).
    pub fn logs(&self) -> &Timeline {
        &self.logs
    }

    // ------------------------------------------------------------------ people

    fn user(&self, kind: u64, idx: u64) -> User {
        let mut d = Draw::new(&[self.seed, K_USER, kind, idx]);
        let first = *d.pick(FIRST);
        let last = *d.pick(LAST);
        let id = self.user_base + (kind as i64) * 100_000 + (idx as i64) * 37 + 11;
        let (role, domain) = match kind {
            0 => ("admin", format!("{}-outfitters.example", self.subdomain)),
            1 => ("agent", format!("{}-outfitters.example", self.subdomain)),
            _ => ("end-user", "example.net".to_string()),
        };
        let local: String = format!("{first}.{last}.{idx}")
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    'x'
                }
            })
            .collect();
        User {
            id,
            name: format!("{first} {last}"),
            email: format!("{local}@{domain}"),
            role,
        }
    }

    /// The user with this id, if it is one of the account's users.
    pub fn user_by_id(&self, id: i64) -> Option<User> {
        let rel = id - self.user_base - 11;
        if rel < 0 {
            return None;
        }
        let kind = (rel / 100_000) as u64;
        let rest = rel % 100_000;
        if rest % 37 != 0 {
            return None;
        }
        let idx = (rest / 37) as u64;
        let max = match kind {
            0 => ADMINS,
            1 => AGENTS,
            2 => END_USERS,
            _ => return None,
        };
        (idx < max).then(|| self.user(kind, idx))
    }

    fn admin(&self, d: &mut Draw) -> User {
        self.user(0, d.below(ADMINS))
    }
    fn agent(&self, d: &mut Draw) -> User {
        self.user(1, d.below(AGENTS))
    }

    /// A sideloaded user object (`include=users`).
    pub fn user_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "url": format!("https://{}.zendesk.com/api/v2/users/{}.json", self.subdomain, u.id),
            "name": u.name,
            "email": u.email,
            "role": u.role,
            "active": true,
            "time_zone": "Europe/London",
            "locale": "en-US",
            "created_at": zendesk_time(self.audits.start() - 86_400 * 400),
        })
    }

    // ------------------------------------------------------------------ tickets

    fn epoch_len(&self) -> u64 {
        self.open * self.per_ticket
    }

    /// Ticket number `k` and position `m` of audit `i`.
    pub fn ticket_of(&self, i: u64) -> (u64, u64) {
        let e = self.epoch_len();
        let (epoch, r) = (i / e, i % e);
        (epoch * self.open + r % self.open, r / self.open)
    }

    /// The index of the `m`-th audit of ticket `k`.
    pub fn audit_index(&self, k: u64, m: u64) -> u64 {
        (k / self.open) * self.epoch_len() + k % self.open + m * self.open
    }

    /// How many audits ticket `k` has in the whole data set (visible or not).
    pub fn ticket_audit_total(&self, k: u64) -> u64 {
        let first = self.audit_index(k, 0);
        let n = self.audits.len();
        if first >= n {
            0
        } else {
            self.per_ticket.min((n - 1 - first) / self.open + 1)
        }
    }

    /// How many of ticket `k`'s audits have an index below `end` (the visible ones when `end`
    /// is the visible count).
    pub fn ticket_audits_before(&self, k: u64, end: u64) -> u64 {
        let first = self.audit_index(k, 0);
        if first >= end {
            0
        } else {
            self.ticket_audit_total(k)
                .min((end - 1 - first) / self.open + 1)
        }
    }

    /// Number of ticket numbers that may exist.
    pub fn ticket_slots(&self) -> u64 {
        self.audits.len().div_ceil(self.epoch_len()) * self.open
    }

    /// The id of ticket `k`.
    pub fn ticket_id(&self, k: u64) -> i64 {
        self.ticket_base + k as i64
    }

    /// The ticket number of a ticket id, if such a ticket exists.
    pub fn ticket_k(&self, ticket_id: i64) -> Option<u64> {
        let k = ticket_id - self.ticket_base;
        (k >= 0 && self.ticket_audit_total(k as u64) > 0).then_some(k as u64)
    }

    /// Whether ticket `k` is archived.
    pub fn ticket_archived(&self, k: u64) -> bool {
        let total = self.ticket_audit_total(k);
        if total < self.per_ticket || self.archived_fraction <= 0.0 {
            return false;
        }
        let last = self.audit_index(k, total - 1);
        last < self.audits.len() / 2
            && unit(mix(&[self.seed, K_ARCHIVE, k])) < self.archived_fraction
    }

    /// Whether audit `i` belongs to an archived ticket.
    pub fn audit_archived(&self, i: u64) -> bool {
        self.ticket_archived(self.ticket_of(i).0)
    }

    // ------------------------------------------------------------------ audit ids

    /// The id of audit `i`.
    pub fn audit_id(&self, i: u64) -> i64 {
        let jitter = (mix(&[self.seed, K_AUDIT_ID, i]) % 400) as i64;
        self.audit_base + (i as i64) * 1000 + jitter
    }

    /// The index of the audit with this id, if it exists.
    pub fn audit_index_of_id(&self, id: i64) -> Option<u64> {
        let rel = id - self.audit_base;
        if rel < 0 {
            return None;
        }
        let i = (rel / 1000) as u64;
        (i < self.audits.len() && self.audit_id(i) == id).then_some(i)
    }

    /// The `created_at` of audit `i`, in seconds.
    pub fn audit_time(&self, i: u64) -> i64 {
        self.audits.time_of(i)
    }

    /// The authors of audit `i` and its comment (for `include=users`).
    pub fn audit_author(&self, i: u64) -> i64 {
        self.render_audit(i, false)["author_id"]
            .as_i64()
            .unwrap_or(-1)
    }

    // ------------------------------------------------------------------ audit rendering

    fn support_address(&self) -> String {
        format!("support@{}.zendesk.com", self.subdomain)
    }

    fn via_plain(channel: &str) -> Value {
        json!({"channel": channel, "source": {"from": {}, "to": {}, "rel": null}})
    }

    fn via_rule(d: &mut Draw, want: Option<&str>) -> Value {
        let candidates: Vec<&(i64, &str, &str)> = RULES
            .iter()
            .filter(|r| want.is_none_or(|w| r.2 == w))
            .collect();
        let (id, title, rel) = **d.pick(&candidates);
        // Some payloads send the numeric via id instead of the name.
        let channel = if d.chance(0.2) {
            json!(8)
        } else {
            json!("rule")
        };
        json!({"channel": channel, "source": {"from": {"id": id, "title": title}, "to": {}, "rel": rel}})
    }

    fn via_email(&self, from: &User) -> Value {
        json!({"channel": "email", "source": {
            "from": {"address": from.email, "name": from.name, "original_recipients": [self.support_address()]},
            "to": {"address": self.support_address(), "name": format!("{} Support", title_case(&self.subdomain)), "email_ccs": []},
            "rel": null}})
    }

    fn metadata_browser(d: &mut Draw) -> Value {
        let (location, lat, lon) = *d.pick(PLACES);
        let mut system = json!({
            "client": d.pick(&CLIENTS[..3]),
            "ip_address": ip(d),
            "location": location,
            "latitude": lat,
            "longitude": lon,
        });
        if d.chance(0.2) {
            system.as_object_mut().map(|o| o.remove("location"));
        }
        let custom = if d.chance(0.3) {
            json!({"time_spent": format!("{}m{:02}s", d.range(1, 15), d.below(60))})
        } else {
            json!({})
        };
        json!({"system": system, "custom": custom})
    }

    fn tags(d: &mut Draw, old: bool, extra: usize) -> Value {
        let mut tags: Vec<&str> = Vec::new();
        for _ in 0..(1 + extra) {
            let t = *d.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if old {
            Value::String(tags.join(" "))
        } else {
            json!(tags)
        }
    }

    /// Audit `i` as Zendesk sends it. `private` makes its comments private (after
    /// make_private).
    pub fn render_audit(&self, i: u64, private: bool) -> Value {
        let (k, m) = self.ticket_of(i);
        let id = self.audit_id(i);
        let ticket_id = self.ticket_id(k);
        let created = zendesk_time(self.audit_time(i));
        let old = i < self.audits.len() / 4;
        let mut td = Draw::new(&[self.seed, K_TICKET, k]);
        let requester = self.user(2, td.below(END_USERS));
        let assignee = self.user(1, td.below(AGENTS));
        let channel = *td.weighted(&[
            (35, "email"),
            (20, "web"),
            (12, "chat"),
            (8, "voice"),
            (8, "api"),
            (5, "mobile"),
            (4, "twitter"),
            (4, "facebook"),
            (4, "sms"),
        ]);
        let subject = format!("{} {}", td.pick(SUBJECTS), 50_000 + k % 10_000);
        let mut d = Draw::new(&[self.seed, K_AUDIT, i]);
        let mut ev = Events::new(id);
        let total = self.ticket_audit_total(k);
        let closing = m + 1 == self.per_ticket && total == self.per_ticket;

        let (author, via, metadata) = if m == 0 {
            self.creation(&mut d, &mut ev, channel, &requester, &subject, old)
        } else if closing {
            let via = Self::via_rule(&mut d, Some("automation"));
            ev.change("status", json!("closed"), json!("solved"));
            ev.change("custom_status_id", json!(4), json!(3));
            if d.chance(0.5) {
                ev.push(json!({"type": "WebhookEvent", "webhook_id": format!("01HQ{}", d.hex(22).to_uppercase()), "webhook_name": "CRM: ticket closed",
                    "via": Self::via_rule(&mut d, Some("trigger"))}));
            }
            (-1, via, json!({"system": {}, "custom": {}}))
        } else {
            let kind = *d.weighted(&[
                (30u32, 0u8),
                (15, 1),
                (15, 2),
                (8, 3),
                (4, 4),
                (4, 5),
                (3, 6),
                (2, 7),
                (7, 8),
                (6, 9),
                (6, 10),
            ]);
            match kind {
                0 => self.agent_update(&mut d, &mut ev, &assignee, old),
                1 => self.trigger_run(&mut d, &mut ev, &requester),
                2 => self.customer_reply(&mut d, &mut ev, &requester, channel),
                3 => {
                    let via = Self::via_rule(&mut d, Some("automation"));
                    ev.change("status", json!("pending"), json!("open"));
                    ev.push(
                        json!({"type": "SlaTargetChange", "field_name": "first_reply_time",
                        "value": {"minutes": 480, "in_business_hours": true},
                        "previous_value": {"minutes": 1440, "in_business_hours": false}}),
                    );
                    ev.change(
                        "first_reply_time",
                        json!({"minutes": 480, "in_business_hours": true}),
                        json!({"minutes": 1440, "in_business_hours": false}),
                    );
                    (-1, via, json!({"system": {}, "custom": {}}))
                }
                4 => {
                    let score = *d.pick(&["good", "bad", "offered"]);
                    ev.push(json!({"type": "SatisfactionRating", "score": score, "assignee_id": assignee.id,
                        "body": if score == "bad" { "Took far too long." } else { "Quick and friendly, thanks!" }}));
                    ev.change("satisfaction_score", json!(score), json!("offered"));
                    ev.push(json!({"type": "SurveyResponseSubmitted", "survey_id": d.range(1000, 9999), "responses": [{"question": "CSAT", "answer": d.range(1, 5)}]}));
                    (
                        requester.id,
                        Self::via_plain("web"),
                        Self::metadata_browser(&mut d),
                    )
                }
                5 => {
                    let comment_id = id - 1000 + 1;
                    ev.push(json!({"type": "CommentRedactionEvent", "comment_id": comment_id}));
                    ev.push(json!({"type": "AttachmentRedactionEvent", "attachment_id": comment_id + 7, "comment_id": comment_id}));
                    ev.push(json!({"type": "CommentPrivacyChange", "comment_id": comment_id, "public": false}));
                    let a = self.agent(&mut d);
                    (a.id, Self::via_plain("web"), Self::metadata_browser(&mut d))
                }
                6 => {
                    ev.push(json!({"type": "TicketSharingEvent", "agreement_id": d.range(10_000, 99_999), "action": *d.pick(&["shared", "unshared"])}));
                    ev.push(json!({"type": "OrganizationActivity", "subject": "New activity in your organization",
                        "body": "A ticket was shared with a partner account.", "recipients": [assignee.id],
                        "via": Self::via_rule(&mut d, Some("trigger"))}));
                    (
                        assignee.id,
                        Self::via_plain("web"),
                        Self::metadata_browser(&mut d),
                    )
                }
                7 => {
                    ev.push(json!({"type": "Error", "message": "Target 'CRM webhook' failed: HTTP 503 Service Unavailable"}));
                    ev.push(json!({"type": "SuspendedTicketRecovery", "suspended_ticket_id": d.range(100_000, 999_999), "cause": "Detected as spam"}));
                    (
                        -1,
                        Self::via_plain("system"),
                        json!({"system": {}, "custom": {}}),
                    )
                }
                8 => self.social(&mut d, &mut ev, &requester),
                9 => {
                    ev.push(json!({"type": "OfferedToEvent", "offered_to": [assignee.id], "channel": "messaging"}));
                    ev.push(json!({"type": "SkillBasedRoutingAttributeChange", "attribute_values_added": ["Spanish"], "attribute_values_removed": []}));
                    ev.push(json!({"type": "ScheduleAssignment", "previous_schedule_id": null, "new_schedule_id": d.range(1000, 9999)}));
                    ev.push(json!({"type": "AssociateAttValsEvent", "attribute_values": [{"id": d.hex(8), "name": "Tier 2"}]}));
                    ev.push(json!({"type": "RoutingChannel", "value": "messaging"}));
                    ev.push(json!({"type": "SkillAssigned", "skills": ["Billing", "Spanish"]}));
                    (
                        -1,
                        Self::via_plain("system"),
                        json!({"system": {}, "custom": {}}),
                    )
                }
                _ => {
                    ev.push(json!({"type": "KnowledgeLinked", "article_id": d.range(360_000_000, 369_999_999), "locale": "en-us"}));
                    ev.push(json!({"type": "CollaborationThreadCreated", "thread_id": d.hex(24), "subject": "Need finance approval"}));
                    ev.push(json!({"type": "NotificationWithHTML", "subject": "Side conversation started", "body": "<p>Please approve the refund.</p>", "recipients": [assignee.id]}));
                    ev.push(json!({"type": "CcNotification", "subject": "You were CC'd", "body": "You have been copied on a ticket.", "recipients": [requester.id]}));
                    ev.push(json!({"type": "SurveyOffered", "survey_id": d.range(1000, 9999), "channel": "email"}));
                    (
                        assignee.id,
                        Self::via_plain("web"),
                        Self::metadata_browser(&mut d),
                    )
                }
            }
        };

        let mut audit = Map::new();
        audit.insert("id".into(), json!(id));
        audit.insert("ticket_id".into(), json!(ticket_id));
        audit.insert("created_at".into(), json!(created));
        audit.insert("author_id".into(), json!(author));
        audit.insert("metadata".into(), metadata);
        audit.insert("via".into(), via);
        let mut events = ev.finish();
        if private {
            for e in &mut events {
                if matches!(
                    e["type"].as_str(),
                    Some("Comment" | "VoiceComment" | "FacebookComment")
                ) {
                    e["public"] = json!(false);
                }
            }
        }
        audit.insert("events".into(), Value::Array(events));
        // Fields Zendesk adds without notice.
        if d.chance(0.08) {
            audit.insert("ticket_form_id".into(), json!(360_001_122_334i64));
        }
        if d.chance(0.04) {
            audit.insert("ingest_pipeline".into(), json!("mail-v2"));
        }
        Value::Object(audit)
    }

    fn comment(&self, d: &mut Draw, ev: &mut Events, author: &User, body: &str, public: bool) {
        let attachments = if d.chance(0.15) {
            let name = format!("receipt-{}.pdf", d.range(1000, 9999));
            vec![json!({
                "id": ev.audit_id + 90 + d.below(9) as i64,
                "file_name": name,
                "content_url": format!("https://{}.zendesk.com/attachments/token/{}/?name={name}", self.subdomain, d.hex(16)),
                "content_type": "application/pdf",
                "size": d.range(10_000, 900_000),
                "inline": false,
                "deleted": false,
                "thumbnails": []
            })]
        } else {
            vec![]
        };
        let mut c = json!({
            "type": "Comment",
            "author_id": author.id,
            "body": body,
            "html_body": format!("<div class=\"zd-comment\" dir=\"auto\"><p>{body}</p></div>"),
            "plain_body": body,
            "public": public,
            "attachments": attachments,
            "audit_id": ev.audit_id,
        });
        if d.chance(0.05) {
            c["redaction_state"] = json!("none");
        }
        ev.push(c);
    }

    fn creation(
        &self,
        d: &mut Draw,
        ev: &mut Events,
        channel: &str,
        requester: &User,
        subject: &str,
        old: bool,
    ) -> (i64, Value, Value) {
        let body = *d.pick(CUSTOMER_MESSAGES);
        let (via, metadata) = match channel {
            "email" => (
                self.via_email(requester),
                json!({"system": {
                    "message_id": format!("<CAF{}@mail.example.net>", d.hex(10)),
                    "email_id": format!("01HS{}", d.hex(22).to_uppercase()),
                    "raw_email_identifier": format!("{}/{}.eml", ev.audit_id, d.uuid()),
                    "json_email_identifier": format!("{}/{}.json", ev.audit_id, d.uuid())
                }, "custom": {}}),
            ),
            "chat" => (
                json!({"channel": "chat", "source": {"from": {}, "to": {}, "rel": "chat"}}),
                json!({"system": {"ip_address": ip(d)}, "custom": {}}),
            ),
            "voice" => (
                json!({"channel": "voice", "source": {"from": {"formatted_phone": "+44 20 7946 0312", "phone": "+442079460312", "name": requester.name},
                    "to": {"formatted_phone": "+44 20 7946 0000", "phone": "+442079460000", "name": "Support line"}, "rel": "inbound"}}),
                json!({"system": {}, "custom": {}}),
            ),
            "api" => (
                Self::via_plain("api"),
                json!({"system": {"client": *d.pick(&CLIENTS[4..]), "ip_address": ip(d)}, "custom": {"sync_job": "nightly-crm-import"}}),
            ),
            "twitter" => (
                json!({"channel": "twitter", "source": {"from": {"profile_url": format!("https://twitter.com/user{}", d.below(10_000)), "username": format!("user{}", d.below(10_000))}, "to": {}, "rel": "mention"}}),
                json!({"system": {}, "custom": {}}),
            ),
            "facebook" => (
                json!({"channel": "facebook", "source": {"from": {"name": requester.name, "facebook_id": d.range(1_000_000, 9_999_999).to_string()}, "to": {}, "rel": "post"}}),
                json!({"system": {}, "custom": {}}),
            ),
            "sms" => (
                json!({"channel": "sms", "source": {"from": {"phone": "+15555550123"}, "to": {"phone": "+15555550100"}, "rel": null}}),
                json!({"system": {}, "custom": {}}),
            ),
            other => (Self::via_plain(other), Self::metadata_browser(d)),
        };
        match channel {
            "chat" => ev.push(json!({"type": "ChatStartedEvent", "value": {
                "visitor_id": format!("{}-{}", d.range(10_000_000, 99_999_999), d.hex(12)),
                "chat_id": format!("2403.{}.{}", d.range(10_000_000, 99_999_999), d.hex(12)),
                "history": [
                    {"chat_index": 0, "type": "ChatMessage", "message": body},
                    {"chat_index": 1, "type": "ChatFileAttachment", "filename": "screenshot.png"},
                    {"chat_index": 2, "type": "ChatMessage", "message": "Order 55187.", "message_id": d.hex(16).to_uppercase()}
                ]}})),
            "voice" => ev.push(json!({"type": "VoiceComment", "data": {
                    "from": "+442079460312", "to": "+442079460000",
                    "recording_url": format!("https://{}.zendesk.com/api/v2/channels/voice/calls/{}/twilio/call/recording", self.subdomain, d.hex(32)),
                    "recording_duration": d.range(30, 900), "call_duration": d.range(30, 900), "call_id": d.range(1_000_000, 9_999_999),
                    "answered_by_id": self.agent(d).id, "transcription_text": null, "transcription_status": "failed",
                    "started_at": zendesk_time(self.audit_time(0)), "location": "London, United Kingdom",
                    "voice_transcription": false, "outbound": false},
                "formatted_from": "+44 20 7946 0312", "formatted_to": "+44 20 7946 0000", "transcription_visible": false,
                "body": "Inbound call from +44 20 7946 0312", "html_body": "<p>Inbound call from +44 20 7946 0312</p>",
                "public": false, "trusted": true, "author_id": requester.id, "attachments": []})),
            "twitter" => {
                ev.push(json!({"type": "Tweet", "direct_message": d.chance(0.5), "body": body, "recipients": [requester.id]}));
                self.comment(d, ev, requester, body, true);
            }
            "facebook" => {
                ev.push(json!({"type": "FacebookEvent", "page": {"name": "Acme Outfitters", "graph_id": d.range(100_000_000, 999_999_999).to_string()},
                    "communication": d.range(1, 9), "ticket_via": "post", "body": body}));
                ev.push(json!({"type": "FacebookComment", "data": {"type": "post", "id": d.hex(12)}, "body": body, "html_body": format!("<p>{body}</p>"),
                    "public": true, "trusted": true, "author_id": requester.id, "graph_object_id": d.hex(16), "attachments": []}));
            }
            "sms" => {
                ev.push(json!({"type": "SMS", "body": body, "recipient": "+15555550123"}));
                self.comment(d, ev, requester, body, true);
            }
            _ => self.comment(d, ev, requester, body, true),
        }
        ev.create("subject", json!(subject));
        ev.create("requester_id", json!(requester.id.to_string()));
        ev.create("status", json!("new"));
        let priority = if d.chance(0.4) {
            Value::Null
        } else {
            json!(*d.pick(&["low", "normal", "high", "urgent"]))
        };
        ev.create("priority", priority);
        let tags = Self::tags(d, old, 1);
        ev.create("tags", tags);
        if d.chance(0.6) {
            ev.create(
                "360044012345",
                json!(format!("{}", d.range(50_000, 59_999))),
            );
        }
        ev.create(
            "first_reply_time",
            json!({"minutes": 1440, "in_business_hours": false}),
        );
        let rule = Self::via_rule(d, Some("trigger"));
        ev.push(json!({"type": "Notification",
            "subject": format!("[Request received] {subject}"),
            "body": "Your request has been received and is being reviewed by our support staff.\n\nTo add additional comments, reply to this email.",
            "recipients": [requester.id], "via": rule}));
        if channel == "sms" {
            ev.push(json!({"type": "SmsNotification", "recipient_id": requester.id, "body": "We received your message."}));
        }
        (requester.id, via, metadata)
    }

    fn agent_update(
        &self,
        d: &mut Draw,
        ev: &mut Events,
        assignee: &User,
        old: bool,
    ) -> (i64, Value, Value) {
        let body = *d.pick(AGENT_REPLIES);
        let public = !body.starts_with("Internal");
        self.comment(d, ev, assignee, body, public);
        let (prev, next) = *d.pick(&[
            ("new", "open"),
            ("open", "pending"),
            ("pending", "solved"),
            ("open", "solved"),
            ("hold", "open"),
        ]);
        ev.change("status", json!(next), json!(prev));
        if d.chance(0.5) {
            ev.change("assignee_id", json!(assignee.id.to_string()), Value::Null);
        }
        if d.chance(0.5) {
            let prev_tags = Self::tags(d, old, 0);
            let tags = Self::tags(d, old, 2);
            ev.change("tags", tags, prev_tags);
        }
        if d.chance(0.5) {
            ev.change("custom_status_id", json!(d.range(2, 4460213)), json!(1));
        }
        if d.chance(0.3) {
            ev.change("group_id", json!("360004455661"), Value::Null);
        }
        if d.chance(0.3) {
            ev.change(
                "360044012399",
                json!("refund_reason_not_received"),
                Value::Null,
            );
        }
        if d.chance(0.3) {
            ev.push(json!({"type": "AgentMacroReference", "macro_id": "360020117733", "macro_title": "Billing::Escalate to finance",
                "macro_deleted": false, "via": Self::via_plain("web")}));
        }
        if d.chance(0.3) {
            // A trigger fired inside the agent's update: the event has its own via.
            let mut e = json!({"type": "Change", "field_name": "priority", "value": "high", "previous_value": "normal"});
            e["via"] = Self::via_rule(d, Some("trigger"));
            ev.push(e);
        }
        if d.chance(0.2) {
            let f = if d.chance(0.5) {
                "FollowersChange"
            } else {
                "FollowerChange"
            };
            ev.push(json!({"type": f, "previous_followers": [], "current_followers": [self.agent(d).email]}));
        }
        (
            assignee.id,
            Self::via_plain(if d.chance(0.85) { "web" } else { "mobile" }),
            Self::metadata_browser(d),
        )
    }

    fn trigger_run(&self, d: &mut Draw, ev: &mut Events, requester: &User) -> (i64, Value, Value) {
        let via = Self::via_rule(d, Some("trigger"));
        ev.change("priority", json!("normal"), Value::Null);
        let subject = "Your ticket has been updated";
        let body = "An agent replied to your request.";
        match d.below(5) {
            0 => ev.push(json!({"type": "Notification", "subject": subject, "body": body, "recipients": [requester.id], "via": via.clone()})),
            1 => ev.push(json!({"type": "NotificationWithCcs", "subject": subject, "body": body, "recipients": [requester.id, self.agent(d).id], "via": via.clone()})),
            2 => ev.push(json!({"type": "Cc", "recipients": [self.agent(d).id], "via": via.clone()})),
            3 => {
                let t = if d.chance(0.5) { "FollowerNotificationEvent" } else { "FollowerNotification" };
                ev.push(json!({"type": t, "subject": subject, "body": body, "recipients": [self.agent(d).id], "via": via.clone()}));
            }
            _ => {
                ev.push(json!({"type": "External", "resource": "https://crm.example.com/hooks/zendesk", "body": "{\"ticket\": \"updated\"}"}));
                ev.push(json!({"type": "Push", "value": "<ticket><status>open</status></ticket>", "value_reference": "CRM ticket sync"}));
            }
        }
        if d.chance(0.3) {
            ev.push(json!({"type": "WebhookEvent", "webhook_id": format!("01HQ{}", d.hex(22).to_uppercase()), "webhook_name": "CRM: ticket updated"}));
        }
        (-1, via, json!({"system": {}, "custom": {}}))
    }

    fn customer_reply(
        &self,
        d: &mut Draw,
        ev: &mut Events,
        requester: &User,
        channel: &str,
    ) -> (i64, Value, Value) {
        let body = *d.pick(CUSTOMER_MESSAGES);
        self.comment(d, ev, requester, body, true);
        ev.change("status", json!("open"), json!("pending"));
        if d.chance(0.3) {
            ev.push(json!({"type": "EmailCcChange", "previous_email_ccs": [], "current_email_ccs": [format!("colleague{}@example.net", d.below(100))]}));
        }
        if channel == "email" {
            (
                requester.id,
                self.via_email(requester),
                json!({"system": {"message_id": format!("<CAF{}@mail.example.net>", d.hex(10))}, "custom": {}}),
            )
        } else {
            (
                requester.id,
                Self::via_plain("web"),
                Self::metadata_browser(d),
            )
        }
    }

    fn social(&self, d: &mut Draw, ev: &mut Events, requester: &User) -> (i64, Value, Value) {
        let body = *d.pick(CUSTOMER_MESSAGES);
        match d.below(5) {
            0 => {
                ev.push(json!({"type": "Tweet", "direct_message": true, "body": body, "recipients": [requester.id]}));
                (
                    requester.id,
                    json!({"channel": "twitter", "source": {"from": {}, "to": {}, "rel": "direct_message"}}),
                    json!({"system": {}, "custom": {}}),
                )
            }
            1 => {
                ev.push(json!({"type": "FacebookComment", "data": {"type": "message"}, "body": body, "html_body": format!("<p>{body}</p>"),
                    "public": true, "trusted": true, "author_id": requester.id, "graph_object_id": d.hex(16), "attachments": []}));
                (
                    requester.id,
                    json!({"channel": "facebook", "source": {"from": {}, "to": {}, "rel": "message"}}),
                    json!({"system": {}, "custom": {}}),
                )
            }
            2 => {
                ev.push(json!({"type": "LogMeInTranscript", "body": "Session transcript: remote session of 14 minutes."}));
                let a = self.agent(d);
                (a.id, Self::via_plain("web"), Self::metadata_browser(d))
            }
            3 => {
                ev.push(json!({"type": "SMS", "body": body, "recipient": "+15555550123"}));
                ev.push(json!({"type": "ChatEndedEvent", "value": {"chat_id": d.hex(12), "reason": "visitor_left"}}));
                (
                    requester.id,
                    json!({"channel": "sms", "source": {"from": {}, "to": {}, "rel": null}}),
                    json!({"system": {}, "custom": {}}),
                )
            }
            _ => {
                ev.push(json!({"type": "External", "resource": "https://status.example.com/incidents", "body": "Linked to incident INC-2231"}));
                (
                    -1,
                    Self::via_plain("api"),
                    json!({"system": {"client": "zendesk_api_ruby/3.1.0", "ip_address": ip(d)}, "custom": {}}),
                )
            }
        }
    }

    // ------------------------------------------------------------------ audit logs

    /// The id of audit-log record `i`.
    pub fn log_id(&self, i: u64) -> i64 {
        let jitter = (mix(&[self.seed, K_LOG_ID, i]) % 60) as i64;
        self.log_base + (i as i64) * 100 + jitter
    }

    /// The index of the audit-log record with this id.
    pub fn log_index_of_id(&self, id: i64) -> Option<u64> {
        let rel = id - self.log_base;
        if rel < 0 {
            return None;
        }
        let i = (rel / 100) as u64;
        (i < self.logs.len() && self.log_id(i) == id).then_some(i)
    }

    /// The `created_at` of record `i`, in seconds.
    pub fn log_time(&self, i: u64) -> i64 {
        self.logs.time_of(i)
    }

    /// The filterable attributes of record `i`.
    pub fn log_attrs(&self, i: u64) -> LogAttrs {
        use LogTemplate::*;
        let mut d = Draw::new(&[self.seed, K_LOG, i]);
        let template = *d.weighted(&[
            (22u32, LoginOk),
            (6, LoginFailed),
            (8, RoleChange),
            (3, AppRoleChange),
            (12, RuleUpdate),
            (4, RuleCreate),
            (3, RuleDestroy),
            (4, TokenCreate),
            (2, TokenDestroy),
            (8, SettingUpdate),
            (2, MfaSetting),
            (6, TicketDestroy),
            (3, AppInstall),
            (2, AppUninstall),
            (6, Export),
            (3, GroupCreate),
            (3, BrandUpdate),
        ]);
        let system = matches!(template, RuleUpdate | TicketDestroy) && d.chance(0.15);
        let actor = if matches!(template, LoginOk | LoginFailed) && d.chance(0.5) {
            self.agent(&mut d)
        } else {
            self.admin(&mut d)
        };
        let actor_id = if system { -1 } else { actor.id };
        let (action, source_type, source_id) = match template {
            LoginOk | LoginFailed => ("login", "user", actor.id),
            RoleChange | AppRoleChange => ("update", "user", self.user(1, d.below(AGENTS)).id),
            RuleUpdate => (
                "update",
                "rule",
                RULES[d.below(RULES.len() as u64) as usize].0,
            ),
            RuleCreate => ("create", "rule", 360_011_500_000 + d.below(10_000) as i64),
            RuleDestroy => ("destroy", "rule", 360_011_500_000 + d.below(10_000) as i64),
            TokenCreate => ("create", "apitoken", 3000 + d.below(500) as i64),
            TokenDestroy => ("destroy", "apitoken", 3000 + d.below(500) as i64),
            SettingUpdate | MfaSetting => ("update", "account_setting", 1_000 + d.below(40) as i64),
            TicketDestroy => (
                "destroy",
                "ticket",
                self.ticket_base + d.below(self.ticket_slots().max(1)) as i64,
            ),
            AppInstall => (
                "create",
                "zendesk/app_market/app",
                900_000 + d.below(1000) as i64,
            ),
            AppUninstall => (
                "destroy",
                "zendesk/app_market/app",
                900_000 + d.below(1000) as i64,
            ),
            Export => ("exported", "user", actor.id),
            GroupCreate => ("create", "group", 360_004_455_000 + d.below(1000) as i64),
            BrandUpdate => ("update", "brand", 360_000_100_000 + d.below(10) as i64),
        };
        let ip_address = if system || d.chance(0.05) {
            None
        } else {
            Some(ip(&mut d))
        };
        LogAttrs {
            action,
            actor_id,
            source_type,
            source_id,
            ip_address,
            template,
        }
    }

    /// Record `i` as Zendesk sends it; `base_url` is the simulator's Zendesk base URL.
    pub fn render_log(&self, i: u64, base_url: &str) -> Value {
        self.render_log_with(i, &self.log_attrs(i), base_url)
    }

    /// Record `i` from already computed attributes.
    pub fn render_log_with(&self, i: u64, a: &LogAttrs, base_url: &str) -> Value {
        use LogTemplate::*;
        let mut d = Draw::new(&[self.seed, K_LOG_DETAIL, i]);
        let id = self.log_id(i);
        let actor_name = if a.actor_id == -1 {
            "Zendesk".to_string()
        } else {
            self.user_by_id(a.actor_id)
                .map(|u| u.name)
                .unwrap_or_default()
        };
        let login_url = format!("https://{}.zendesk.com/access/login", self.subdomain);
        let (label, source_label, description) = match a.template {
            LoginOk => (
                "Sign in",
                actor_name.clone(),
                format!(
                    "Successful sign-in using {} from {login_url}",
                    d.pick(SIGN_IN_METHODS)
                ),
            ),
            LoginFailed => (
                "Sign in",
                actor_name.clone(),
                format!(
                    "Failed sign-in using {} from {login_url}",
                    d.pick(SIGN_IN_METHODS)
                ),
            ),
            RoleChange => {
                let from = d.below(ROLES.len() as u64 - 1) as usize;
                let to = (from + 1 + d.below(ROLES.len() as u64 - 1) as usize) % ROLES.len();
                let name = self
                    .user_by_id(a.source_id)
                    .map(|u| u.name)
                    .unwrap_or_default();
                (
                    "Updated",
                    name,
                    format!("Role changed from {} to {}", ROLES[from], ROLES[to]),
                )
            }
            AppRoleChange => {
                let name = self
                    .user_by_id(a.source_id)
                    .map(|u| u.name)
                    .unwrap_or_default();
                ("Updated", name, "Support role changed from Agent to Administrator\nGuide role changed from Viewer to Manager".to_string())
            }
            RuleUpdate => {
                let title = RULES
                    .iter()
                    .find(|r| r.0 == a.source_id)
                    .map(|r| r.1)
                    .unwrap_or("Trigger");
                ("Updated", format!("Trigger: {title}"), "Conditions: Status changed to Closed\nActions: Notify webhook CRM: ticket closed (was: Notify target CRM legacy)".to_string())
            }
            RuleCreate => (
                "Created",
                format!(
                    "Macro: {}",
                    d.pick(&["Refund approved", "Escalate to finance", "Close as spam"])
                ),
                "Created".to_string(),
            ),
            RuleDestroy => (
                "Deleted",
                format!(
                    "View: {}",
                    d.pick(&["Old unassigned", "Legacy VIP", "Test view"])
                ),
                "Deleted".to_string(),
            ),
            TokenCreate => (
                "Created",
                d.pick(&["CRM sync", "BI export", "Status page"])
                    .to_string(),
                "Created".to_string(),
            ),
            TokenDestroy => (
                "Deleted",
                d.pick(&["CRM sync", "BI export", "Status page"])
                    .to_string(),
                "Deleted".to_string(),
            ),
            SettingUpdate => {
                let (label, from, to) = *d.pick(&[
                    ("Agent session timeout", "8 hours", "2 hours"),
                    (
                        "Allow users to change their password",
                        "Enabled",
                        "Disabled",
                    ),
                    ("IP restrictions", "Off", "On"),
                ]);
                (
                    "Updated",
                    label.to_string(),
                    format!("{label} changed from {from} to {to}"),
                )
            }
            MfaSetting => (
                "Updated",
                "Two-Factor authentication for all admins and agents".to_string(),
                d.pick(&["Disabled", "Enabled"]).to_string(),
            ),
            TicketDestroy => (
                "Deleted",
                format!("#{} {}", a.source_id, d.pick(SUBJECTS)),
                "Deleted".to_string(),
            ),
            AppInstall => (
                "Created",
                d.pick(&["Slack", "Jira", "Shopify"]).to_string(),
                "Installed".to_string(),
            ),
            AppUninstall => (
                "Deleted",
                d.pick(&["Slack", "Jira", "Shopify"]).to_string(),
                "Uninstalled".to_string(),
            ),
            Export => (
                "Exported",
                actor_name.clone(),
                format!(
                    "Audit log CSV export requested\nFilters: created_at {}..{}",
                    zendesk_time(self.logs.start()),
                    zendesk_time(self.log_time(i))
                ),
            ),
            GroupCreate => (
                "Created",
                format!("{} Team", d.pick(&["Billing", "Returns", "Escalations"])),
                "Created".to_string(),
            ),
            BrandUpdate => (
                "Updated",
                format!("{} Brand", title_case(&self.subdomain)),
                "Host mapping changed from help.example.com to support.example.com".to_string(),
            ),
        };
        let mut r = Map::new();
        r.insert("id".into(), json!(id));
        r.insert(
            "url".into(),
            json!(format!("{base_url}/api/v2/audit_logs/{id}.json")),
        );
        r.insert("created_at".into(), json!(zendesk_time(self.log_time(i))));
        r.insert("action".into(), json!(a.action));
        // `action_label` is missing from Zendesk's own examples and sometimes null.
        match d.below(10) {
            0 => {
                r.insert("action_label".into(), Value::Null);
            }
            1 => {}
            _ => {
                r.insert("action_label".into(), json!(label));
            }
        }
        r.insert("actor_id".into(), json!(a.actor_id));
        r.insert("actor_name".into(), json!(actor_name));
        r.insert("source_id".into(), json!(a.source_id));
        r.insert("source_type".into(), json!(a.source_type));
        r.insert("source_label".into(), json!(source_label));
        r.insert("change_description".into(), json!(description));
        r.insert("ip_address".into(), json!(a.ip_address));
        if d.chance(0.1) {
            r.insert(
                "actor_type".into(),
                json!(if a.actor_id == -1 { "system" } else { "agent" }),
            );
        }
        Value::Object(r)
    }
}

/// Builds an audit's event list, numbering the events after the audit id.
struct Events {
    audit_id: i64,
    events: Vec<Value>,
}

impl Events {
    fn new(audit_id: i64) -> Self {
        Events {
            audit_id,
            events: Vec::new(),
        }
    }

    fn push(&mut self, mut e: Value) {
        let id = self.audit_id + 1 + self.events.len() as i64;
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        if let Value::Object(o) = &mut e {
            for (k, v) in std::mem::take(o) {
                m.insert(k, v);
            }
        }
        self.events.push(Value::Object(m));
    }

    fn create(&mut self, field: &str, value: Value) {
        self.push(json!({"type": "Create", "field_name": field, "value": value}));
    }

    fn change(&mut self, field: &str, value: Value, previous: Value) {
        self.push(json!({"type": "Change", "field_name": field, "value": value, "previous_value": previous}));
    }

    fn finish(self) -> Vec<Value> {
        self.events
    }
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn data(n: u64) -> ZendeskData {
        ZendeskData::new(&ZendeskParams {
            seed: 42,
            subdomain: "acme".into(),
            start: 1_700_000_000,
            end: 1_700_000_000 + 30 * 86_400,
            ticket_audits: n,
            audits_per_ticket: 6,
            open_tickets: 20,
            archived_fraction: 0.3,
            audit_logs: n,
        })
    }

    #[test]
    fn tickets_and_ids_round_trip() {
        let z = data(5000);
        for i in (0..5000).step_by(7) {
            let (k, m) = z.ticket_of(i);
            assert_eq!(z.audit_index(k, m), i);
            assert!(m < z.ticket_audit_total(k));
            assert_eq!(z.audit_index_of_id(z.audit_id(i)), Some(i));
            assert_eq!(z.log_index_of_id(z.log_id(i)), Some(i));
        }
        assert!(z.audit_id(1) > z.audit_id(0));
        assert!((0..z.ticket_slots()).any(|k| z.ticket_archived(k)));
    }

    #[test]
    fn every_event_kind_appears() {
        let z = data(6000);
        let mut kinds = BTreeSet::new();
        let mut int_channel = false;
        let mut system_author = false;
        let mut string_tags = false;
        for i in 0..6000 {
            let a = z.render_audit(i, false);
            int_channel |= a["via"]["channel"].is_i64();
            system_author |= a["author_id"] == json!(-1);
            for e in a["events"].as_array().unwrap() {
                kinds.insert(e["type"].as_str().unwrap().to_string());
                string_tags |= e["field_name"] == json!("tags") && e["value"].is_string();
            }
        }
        for k in [
            "Create",
            "Change",
            "Comment",
            "VoiceComment",
            "CommentPrivacyChange",
            "CommentRedactionEvent",
            "AttachmentRedactionEvent",
            "Notification",
            "NotificationWithCcs",
            "Cc",
            "FollowerNotificationEvent",
            "FollowerNotification",
            "FollowersChange",
            "FollowerChange",
            "EmailCcChange",
            "AgentMacroReference",
            "SatisfactionRating",
            "TicketSharingEvent",
            "OrganizationActivity",
            "Error",
            "Tweet",
            "SMS",
            "FacebookEvent",
            "FacebookComment",
            "External",
            "LogMeInTranscript",
            "Push",
            "ChatStartedEvent",
            "WebhookEvent",
            "SlaTargetChange",
            "SuspendedTicketRecovery",
            "ChatEndedEvent",
            "SkillAssigned",
            "SurveyOffered",
            "SurveyResponseSubmitted",
            "OfferedToEvent",
            "RoutingChannel",
            "CollaborationThreadCreated",
            "SmsNotification",
        ] {
            assert!(kinds.contains(k), "missing {k}: {kinds:?}");
        }
        assert!(int_channel && system_author && string_tags);
    }
}
