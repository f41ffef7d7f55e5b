//! What the event mapping reads of a ticket audit: [`AuditGist`].
//!
//! The mapping reads little of an audit: its ids and time, who and where from, the channel
//! and the rule behind it, the fields its `Create` and `Change` events set, the follower and
//! CC lists they change, and a phrase for each other event. It reads no comment or e-mail
//! body, and of attachment and recipient lists only how many items they hold. An audit's
//! events are read here, one way, whatever they are read from ([`Members`]): an event's
//! members in a map (the typed view of a `TicketAudit`, or an audit's JSON), or the few
//! members the account-wide walk reads straight from a page's text (`super::audit_pages`,
//! which builds nothing of the members the mapping does not read: most of a ticket
//! audit's bytes, and before this view most of the CPU of exporting one).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use zendesk_raw::types::{TicketAudit, TicketAuditEvent};

use super::events::{EventKind, flag, int, into_text, text};
use super::mapping::{channel_name, non_empty, rule_from};
use crate::event::{Change, Rule};

/// The members of an event the mapping reads (besides `type`), by name.
pub(super) const READ: [&str; 14] = [
    "field_name",
    "value",
    "previous_value",
    "public",
    "comment_id",
    "attachment_id",
    "previous_followers",
    "current_followers",
    "previous_email_ccs",
    "current_email_ccs",
    "macro_title",
    "score",
    "action",
    "message",
];

/// The lists of an event of which the mapping reads only how many items they hold.
pub(super) const COUNTED: [&str; 2] = ["attachments", "recipients"];

/// An event's members, as the mapping reads them.
pub(super) trait Members {
    /// The member `key` (one of [`READ`]).
    fn get(&self, key: &str) -> Option<&Value>;

    /// What the mapping reads of the member `via`.
    fn rule_source(&self) -> Option<RuleSource<'_>>;

    /// The member `key` (one of [`READ`]), null when missing: taken out when the members are
    /// the reader's own, else a copy.
    fn take(&mut self, key: &str) -> Value;

    /// How many items the list `key` (one of [`COUNTED`]) holds, as [`Members::take_list`]
    /// reads it.
    fn count(&self, key: &str) -> usize;

    /// The list `key` (one of [`READ`]): an array's items, none for null or a missing member,
    /// the value alone for anything else.
    fn take_list(&mut self, key: &str) -> Vec<Value> {
        match self.take(key) {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => vec![other],
        }
    }
}

/// The members of an event of a typed audit, or of an audit's JSON.
impl Members for &Map<String, Value> {
    fn get(&self, key: &str) -> Option<&Value> {
        Map::get(self, key)
    }

    fn rule_source(&self) -> Option<RuleSource<'_>> {
        RuleSource::of_via(Map::get(self, "via")?)
    }

    fn take(&mut self, key: &str) -> Value {
        Map::get(self, key).cloned().unwrap_or(Value::Null)
    }

    fn count(&self, key: &str) -> usize {
        match Map::get(self, key) {
            Some(Value::Array(items)) => items.len(),
            Some(Value::Null) | None => 0,
            Some(_) => 1,
        }
    }
}

/// What the mapping reads of an event's `via`: the `rel` of its `source`, and the `id` and
/// `title` of the source's `from`, whichever of them it has. An event has none unless its
/// `via` and the `via`'s `source` are objects.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RuleSource<'a> {
    pub(super) rel: Option<&'a Value>,
    pub(super) from_id: Option<&'a Value>,
    pub(super) from_title: Option<&'a Value>,
}

impl<'a> RuleSource<'a> {
    /// What the mapping reads of the event member `via`.
    pub(super) fn of_via(via: &'a Value) -> Option<RuleSource<'a>> {
        let source = via.get("source")?.as_object()?;
        let from = source.get("from").and_then(Value::as_object);
        Some(RuleSource {
            rel: source.get("rel"),
            from_id: from.and_then(|from| from.get("id")),
            from_title: from.and_then(|from| from.get("title")),
        })
    }

    /// The business rule the source names.
    fn rule(self) -> Option<Rule> {
        rule_from(
            self.rel.and_then(Value::as_str),
            self.from_id,
            self.from_title,
        )
    }

    /// ` (trigger "Title")`, as [`push_rule_label`] writes it.
    fn push_label(self, out: &mut String) {
        push_rule_label(
            out,
            self.rel.and_then(Value::as_str),
            self.from_title.and_then(Value::as_str),
        );
    }
}

/// What the mapping reads of one ticket audit.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AuditGist {
    pub(crate) id: Option<i64>,
    pub(crate) author_id: Option<i64>,
    pub(crate) created_at: Option<DateTime<Utc>>,
    pub(crate) ticket_id: Option<i64>,
    /// `metadata.system`'s `ip_address`, `client` and `location`, when non-empty text.
    pub(crate) ip_address: Option<String>,
    pub(crate) client: Option<String>,
    pub(crate) location: Option<String>,
    /// `via.channel` as a name ([`channel_name`]).
    pub(crate) channel: Option<String>,
    /// The description's ` via …` part: the channel and the rule `via.source` names.
    pub(crate) via_text: String,
    /// The rule `via.source` names.
    pub(crate) via_rule: Option<Rule>,
    pub(crate) events: EventsGist,
}

impl AuditGist {
    /// The gist of a typed audit.
    pub(crate) fn of_typed(audit: &TicketAudit) -> AuditGist {
        let mut gist = AuditGist {
            id: audit.id,
            author_id: audit.author_id,
            created_at: audit.created_at,
            ticket_id: audit.ticket_id,
            events: EventsGist::of_typed(&audit.events),
            ..AuditGist::default()
        };
        if let Some(via) = &audit.via {
            let source = via.source.as_ref();
            let from = |key: &str| source.and_then(|source| source.from.get(key));
            gist.read_via(
                via.channel.clone(),
                source.and_then(|source| source.rel.as_deref()),
                from("id"),
                from("title"),
            );
        }
        if let Some(metadata) = &audit.metadata {
            let system = |key: &str| metadata.system.get(key).cloned();
            gist.read_system(system("ip_address"), system("client"), system("location"));
        }
        gist
    }

    /// Reads what the mapping takes of the audit's `via`: its `channel`, and `rel` and the
    /// `id` and `title` of `from` in its `source`.
    pub(super) fn read_via(
        &mut self,
        channel: Option<Value>,
        rel: Option<&str>,
        from_id: Option<&Value>,
        from_title: Option<&Value>,
    ) {
        self.channel = channel.and_then(|channel| match channel {
            Value::String(name) => trimmed(name),
            other => channel_name(&other),
        });
        self.via_rule = rule_from(rel, from_id, from_title);
        let mut via_text = String::new();
        if let Some(channel) = &self.channel {
            via_text.push_str(match channel.bytes().all(|b| b.is_ascii_digit()) {
                true => " via channel ",
                false => " via ",
            });
            via_text.push_str(channel);
        }
        push_rule_label(&mut via_text, rel, from_title.and_then(Value::as_str));
        self.via_text = via_text;
    }

    /// Reads what the mapping takes of the audit's `metadata.system`.
    pub(super) fn read_system(
        &mut self,
        ip_address: Option<Value>,
        client: Option<Value>,
        location: Option<Value>,
    ) {
        let text = |member: Option<Value>| match member? {
            Value::String(text) => trimmed(text),
            _ => None,
        };
        self.ip_address = text(ip_address);
        self.client = text(client);
        self.location = text(location);
    }
}

/// An audit that does not read the fast way (`super::audit_pages`) reads as the generated
/// type does, then its gist is taken.
impl<'de> Deserialize<'de> for AuditGist {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        TicketAudit::deserialize(deserializer).map(|audit| AuditGist::of_typed(&audit))
    }
}

/// What the mapping reads of an audit's events, in their order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct EventsGist {
    /// Whether an event's `type` is `Create` (as sent), and `Change`.
    create_type: bool,
    change_type: bool,
    /// The first non-empty `type`.
    first_type: Option<String>,
    /// Whether a `Create` event sets a field.
    sets_a_field: bool,
    /// The rule behind the first event that names one in its own `via`.
    pub(crate) rule: Option<Rule>,
    /// The ticket's subject, as the last event setting it to text gives it.
    pub(crate) subject: Option<String>,
    /// The fields and lists the events change.
    pub(crate) changes: Vec<Change>,
    /// The description's phrases, each followed by `"; "`: the fields set, the fields changed
    /// (each where its first event was), one for each other event. Written into one text as
    /// they are read, not built one by one and joined.
    phrases: String,
    /// Where the phrases of the fields set and of the fields changed end in `phrases`.
    set_phrase_end: Option<usize>,
    changed_phrase_end: Option<usize>,
}

impl EventsGist {
    /// The gist of an audit's typed events.
    pub(crate) fn of_typed(events: &[TicketAuditEvent]) -> EventsGist {
        let mut gist = EventsGist::default();
        for event in events {
            gist.add(event.type_.as_deref(), &mut &event.extra);
        }
        gist
    }

    /// The gist of the `events` of an audit's JSON (a member that is not an object is an
    /// untyped event).
    pub(crate) fn of_json(audit: &Value) -> EventsGist {
        let mut gist = EventsGist::default();
        let nothing = Map::new();
        let events = audit.get("events").and_then(Value::as_array);
        for event in events.into_iter().flatten() {
            match event.as_object() {
                Some(members) => {
                    gist.add(members.get("type").and_then(Value::as_str), &mut &*members)
                }
                None => gist.add(None, &mut &nothing),
            }
        }
        gist
    }

    /// Reads the next event: of kind `type_` (as sent), with `members`.
    pub(super) fn add(&mut self, type_: Option<&str>, members: &mut impl Members) {
        let kind = type_.unwrap_or_default();
        match kind {
            "Create" => self.create_type = true,
            "Change" => self.change_type = true,
            _ => {}
        }
        if self.first_type.is_none() && !kind.is_empty() {
            self.first_type = Some(kind.to_string());
        }
        if self.rule.is_none() {
            self.rule = members.rule_source().and_then(RuleSource::rule);
        }
        if self.phrases.capacity() == 0 {
            // Room for the phrases of most audits at once.
            self.phrases.reserve(96);
        }
        let phrase = &mut self.phrases;
        match EventKind::of(kind) {
            EventKind::Create | EventKind::Change => match into_text(members.take("field_name")) {
                Some(field) => return self.add_field(kind == "Create", field, members),
                None => {
                    phrase.push_str(kind);
                    phrase.push_str(" event");
                }
            },
            which @ (EventKind::Comment | EventKind::VoiceComment | EventKind::FacebookComment) => {
                phrase.push_str(match flag(members.get("public")) {
                    Some(true) => "public ",
                    Some(false) => "private ",
                    None => "",
                });
                phrase.push_str(match which {
                    EventKind::VoiceComment => "voice comment",
                    EventKind::FacebookComment => "Facebook comment",
                    _ => "comment",
                });
                match members.count("attachments") {
                    0 => {}
                    n => {
                        phrase.push_str(" with ");
                        push_count(phrase, n, "attachment", "attachments");
                    }
                }
            }
            EventKind::CommentPrivacyChange => {
                let state = match flag(members.get("public")) {
                    Some(true) => "public",
                    Some(false) => "private",
                    None => "public or private",
                };
                match int(members.get("comment_id")) {
                    Some(id) => write!(phrase, "comment {id} made {state}"),
                    None => write!(phrase, "a comment made {state}"),
                }
                .expect("writing to a String");
            }
            EventKind::CommentRedaction => match int(members.get("comment_id")) {
                Some(id) => write!(phrase, "comment {id} redacted").expect("writing to a String"),
                None => phrase.push_str("a comment redacted"),
            },
            EventKind::AttachmentRedaction => match int(members.get("attachment_id")) {
                Some(id) => {
                    write!(phrase, "attachment {id} redacted").expect("writing to a String")
                }
                None => phrase.push_str("an attachment redacted"),
            },
            which @ (EventKind::Notification
            | EventKind::NotificationWithCcs
            | EventKind::Cc
            | EventKind::FollowerNotification
            | EventKind::OrganizationActivity) => {
                phrase.push_str(match which {
                    EventKind::NotificationWithCcs => "notification with CCs",
                    EventKind::Cc => "CC notification",
                    EventKind::FollowerNotification => "follower notification",
                    EventKind::OrganizationActivity => "organization notification",
                    _ => "notification",
                });
                phrase.push_str(" to ");
                push_count(
                    phrase,
                    members.count("recipients"),
                    "recipient",
                    "recipients",
                );
                if let Some(source) = members.rule_source() {
                    source.push_label(phrase);
                }
            }
            EventKind::FollowersChange => {
                phrase.push_str("followers changed");
                self.add_list(
                    "followers",
                    members,
                    "previous_followers",
                    "current_followers",
                );
            }
            EventKind::EmailCcChange => {
                phrase.push_str("e-mail CCs changed");
                self.add_list(
                    "email_ccs",
                    members,
                    "previous_email_ccs",
                    "current_email_ccs",
                );
            }
            EventKind::AgentMacroReference => match text(members.get("macro_title")) {
                Some(title) => {
                    phrase.push_str("macro \"");
                    phrase.push_str(&title);
                    phrase.push_str("\" applied");
                }
                None => phrase.push_str("a macro applied"),
            },
            EventKind::SatisfactionRating => {
                phrase.push_str("satisfaction rating");
                push_detail(phrase, text(members.get("score")));
            }
            EventKind::TicketSharing => {
                phrase.push_str("ticket sharing");
                push_detail(phrase, text(members.get("action")));
            }
            EventKind::Error => {
                phrase.push_str("error");
                push_detail(phrase, text(members.get("message")));
            }
            EventKind::ChatStarted => phrase.push_str("chat started"),
            EventKind::Channel => phrase.push_str(match kind {
                "Tweet" => "tweet",
                "FacebookEvent" => "Facebook message",
                "External" => "external event",
                "LogMeInTranscript" => "LogMeIn transcript",
                "Push" => "push to an external target",
                other => other,
            }),
            EventKind::Other => match kind {
                "" => phrase.push_str("an untyped event"),
                other if other.ends_with("Event") => phrase.push_str(other),
                other => {
                    phrase.push_str(other);
                    phrase.push_str(" event");
                }
            },
        }
        self.phrases.push_str(PHRASE_END);
    }

    /// A `Create` (`created`) or `Change` of `field`: a change, and the field named in the
    /// phrase of the fields set or changed.
    fn add_field(&mut self, created: bool, field: String, members: &mut impl Members) {
        let value = members.take("value");
        if field == "subject"
            && let Some(subject) = non_empty(value.as_str())
        {
            self.subject = Some(subject);
        }
        let (end, other_end, verb) = match created {
            true => (
                &mut self.set_phrase_end,
                &mut self.changed_phrase_end,
                "set ",
            ),
            false => (
                &mut self.changed_phrase_end,
                &mut self.set_phrase_end,
                "changed ",
            ),
        };
        match *end {
            // The field joins its phrase, which may be followed by others.
            Some(at) => {
                self.phrases.insert_str(at, &field);
                self.phrases.insert_str(at, ", ");
                let added = ", ".len() + field.len();
                *end = Some(at + added);
                if let Some(other) = other_end.as_mut().filter(|other| **other > at) {
                    *other += added;
                }
            }
            None => {
                self.phrases.push_str(verb);
                self.phrases.push_str(&field);
                *end = Some(self.phrases.len());
                self.phrases.push_str(PHRASE_END);
            }
        }
        self.sets_a_field |= created;
        let previous = members.take("previous_value");
        self.changes.push(Change {
            old: tag_value(&field, previous),
            new: tag_value(&field, value),
            field,
        });
    }

    /// A change of the list `field`, from the members `previous` to `current`.
    fn add_list(&mut self, field: &str, members: &mut impl Members, previous: &str, current: &str) {
        self.changes.push(Change {
            field: field.to_string(),
            old: Value::Array(members.take_list(previous)),
            new: Value::Array(members.take_list(current)),
        });
    }

    /// The vendor's own name of the audit's action: `Create` or `Change` when an event has
    /// that type, else the first event's type (`Audit` when none has one).
    pub(crate) fn vendor_action(&self) -> &str {
        if self.create_type {
            "Create"
        } else if self.change_type {
            "Change"
        } else {
            self.first_type.as_deref().unwrap_or("Audit")
        }
    }

    /// Whether an event's `type` is `Create`: the audit made the ticket.
    pub(crate) fn creates(&self) -> bool {
        self.create_type
    }

    /// A one-line summary of the audit of ticket `ticket_id`, ` via …` as `via_text` says.
    pub(crate) fn summary(&self, ticket_id: Option<i64>, via_text: &str) -> String {
        let phrases = self.phrases.strip_suffix(PHRASE_END).unwrap_or_default();
        let mut summary = String::with_capacity(32 + via_text.len() + phrases.len());
        summary.push_str(match self.sets_a_field {
            true => "Created ticket",
            false => "Updated ticket",
        });
        if let Some(id) = ticket_id {
            write!(summary, " #{id}").expect("writing to a String");
        }
        summary.push_str(via_text);
        if !phrases.is_empty() {
            summary.push_str(": ");
            summary.push_str(phrases);
        }
        summary
    }
}

/// What follows each of the description's phrases but the last.
const PHRASE_END: &str = "; ";

/// `text`, when it is not empty and has no space to trim (else [`non_empty`]'s copy).
fn trimmed(text: String) -> Option<String> {
    match text.trim().len() == text.len() {
        true => (!text.is_empty()).then_some(text),
        false => non_empty(Some(&text)),
    }
}

/// `n one` or `n many`.
fn push_count(out: &mut String, n: usize, one: &str, many: &str) {
    write!(out, "{n} {}", if n == 1 { one } else { many }).expect("writing to a String");
}

/// `: detail`, when there is one.
fn push_detail(out: &mut String, detail: Option<String>) {
    if let Some(detail) = detail {
        out.push_str(": ");
        out.push_str(&detail);
    }
}

/// ` (rel "title")`, ` ("title")` or nothing.
fn push_rule_label(out: &mut String, rel: Option<&str>, title: Option<&str>) {
    let Some(title) = title else {
        return;
    };
    out.push_str(" (");
    if let Some(rel) = rel {
        out.push_str(rel);
        out.push(' ');
    }
    out.push('"');
    out.push_str(title);
    out.push_str("\")");
}

/// Tags as an array: older audits send them as one space-separated string.
fn tag_value(field: &str, value: Value) -> Value {
    match value {
        Value::String(tags) if field == "tags" => Value::Array(
            tags.split_whitespace()
                .map(|tag| Value::String(tag.to_string()))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The fields set and the fields changed each make one phrase, where its first event was,
    /// however the events around them interleave.
    #[test]
    fn fields_join_their_phrase_where_its_first_event_was() {
        let audit = json!({"events": [
            {"type": "Comment", "public": false},
            {"type": "Change", "field_name": "status", "value": "open"},
            {"type": "Create", "field_name": "subject", "value": "Printer on fire"},
            {"type": "Notification", "recipients": [1, 2]},
            {"type": "Change", "field_name": "priority", "value": "high"},
            {"type": "Create", "field_name": "tags", "value": "fire"},
            {"type": "Change", "field_name": "assignee_id", "value": 7},
            {"type": "Error", "message": "Target failed"},
        ]});
        let events = EventsGist::of_json(&audit);
        assert_eq!(
            events.summary(Some(12), " via web"),
            "Created ticket #12 via web: private comment; changed status, priority, assignee_id; \
             set subject, tags; notification to 2 recipients; error: Target failed"
        );
        assert_eq!(EventsGist::default().summary(None, ""), "Updated ticket");
    }
}
