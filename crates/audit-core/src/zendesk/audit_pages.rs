//! Decoding the pages of `/ticket_audits` that the account-wide walk reads, each audit as the
//! gist the event mapping reads ([`AuditGist`]).
//!
//! The generated types decode every member of an audit, and every member of its events into
//! a `serde_json::Value` (serde's derive buffering each flattened member first): with the
//! audit's text kept and only its gist mapped, that was the most of a ticket-audit export's
//! CPU. [`decode_audit`] reads the gist straight from the text in one pass: the members the
//! mapping reads, and of the others only checks that they are what the generated decoding
//! would accept (numbers in range, strings of valid escapes, nesting within the parser's
//! depth), building nothing. It refuses anything out of the ordinary (a member the gist reads
//! given twice, a value of the wrong type), and such a record decodes as the generated type
//! decodes it, with the same repairs and [`raw_support::DecodeIssue`], and its gist is taken
//! from that: the fast path only ever reads what the generated decoding would read, the same
//! way.

use std::fmt;

use chrono::{DateTime, Utc};
use raw_support::{RecordText, Recorded};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use zendesk_raw::types::{CursorPaginationLinks, CursorPaginationMeta};

use super::audit_gist::{AuditGist, COUNTED, EventsGist, Members, READ, RuleSource};
use super::checked_json::{
    Checked, CheckedMap, Count, IfObject, Key, Named, given_once, once, once_with,
};

/// A page of `/ticket_audits` (`audits` required, as the generated `TicketAuditsResponse`
/// has it): the page's cursor, and each audit's text, to be decoded into its gist
/// ([`decode_all`]) after the next page has been asked for.
#[derive(Debug, Deserialize)]
pub(super) struct AuditsPage {
    #[serde(deserialize_with = "objects")]
    pub(super) audits: Vec<RecordText>,
    pub(super) links: Option<CursorPaginationLinks>,
    pub(super) meta: Option<CursorPaginationMeta>,
}

/// The audits' texts, each a JSON object: an object always decodes (repaired, if need be),
/// so a page that reads is a page whose audits decode.
fn objects<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RecordText>, D::Error> {
    let audits = Vec::<RecordText>::deserialize(deserializer)?;
    match audits
        .iter()
        .position(|audit| !audit.raw_json().json().starts_with('{'))
    {
        Some(at) => Err(de::Error::custom(format!(
            "audit {at} of the page is not a JSON object"
        ))),
        None => Ok(audits),
    }
}

impl AuditsPage {
    /// The `created_at` of the first and of the last audit that has one, when at least three
    /// have one (read from their texts, which are not decoded yet).
    pub(super) fn first_and_last_times(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let time = |audit: &RecordText| -> Option<DateTime<Utc>> {
            serde_json::from_str(audit.raw_json().member_json("created_at")?).ok()
        };
        let (first_at, first) = self
            .audits
            .iter()
            .enumerate()
            .find_map(|(at, audit)| Some((at, time(audit)?)))?;
        let (last_at, last) = self
            .audits
            .iter()
            .enumerate()
            .rev()
            .find_map(|(at, audit)| Some((at, time(audit)?)))?;
        let between = self.audits.get(first_at + 1..last_at)?;
        between.iter().find_map(time)?;
        Some((first, last))
    }
}

/// Each audit of a page decoded into its gist ([`decode_audit`], else as the generated type
/// decodes it); an error (which a page of objects does not have) says which failed.
pub(super) fn decode_all(audits: Vec<RecordText>) -> Result<Vec<Recorded<AuditGist>>, String> {
    audits
        .into_iter()
        .enumerate()
        .map(|(at, audit)| {
            audit
                .decode_with(decode_audit)
                .map_err(|error| format!("audit {at} of the page does not decode: {error}"))
        })
        .collect()
}

/// The gist of one audit's text, as [`AuditGist`]'s `Deserialize` (the generated decoding)
/// reads it; an error for anything it might read otherwise.
pub(super) fn decode_audit(text: &str) -> serde_json::Result<AuditGist> {
    serde_json::from_str::<FastAudit>(text).map(|FastAudit(audit)| audit)
}

struct FastAudit(AuditGist);

impl<'de> Deserialize<'de> for FastAudit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Audit;
        impl<'de> Visitor<'de> for Audit {
            type Value = FastAudit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticket audit")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastAudit, A::Error> {
                let (mut author_id, mut id, mut ticket_id) = (None, None, None);
                let mut created_at: Option<Option<FastTime>> = None;
                let mut metadata: Option<Option<FastMetadata>> = None;
                let mut via: Option<Option<FastVia>> = None;
                let mut events = None;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "author_id" => once(&mut map, &mut author_id, "author_id")?,
                        "created_at" => once(&mut map, &mut created_at, "created_at")?,
                        "events" => {
                            if events.is_some() {
                                return Err(de::Error::duplicate_field("events"));
                            }
                            events = Some(map.next_value::<FastEvents>()?.0);
                        }
                        "id" => once(&mut map, &mut id, "id")?,
                        "metadata" => once(&mut map, &mut metadata, "metadata")?,
                        "ticket_id" => once(&mut map, &mut ticket_id, "ticket_id")?,
                        "via" => once(&mut map, &mut via, "via")?,
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                let mut gist = AuditGist {
                    id: id.flatten(),
                    author_id: author_id.flatten(),
                    created_at: created_at.flatten().map(|FastTime(time)| time),
                    ticket_id: ticket_id.flatten(),
                    events: events.unwrap_or_default(),
                    ..AuditGist::default()
                };
                if let Some(via) = via.flatten() {
                    let source = via.source.unwrap_or_default();
                    gist.read_via(
                        via.channel,
                        source.rel.as_deref(),
                        source.from_id.as_ref(),
                        source.from_title.as_ref(),
                    );
                }
                if let Some(metadata) = metadata.flatten() {
                    let [ip_address, client, location] = metadata.system;
                    gist.read_system(ip_address, client, location);
                }
                Ok(FastAudit(gist))
            }
        }
        deserializer.deserialize_map(Audit)
    }
}

/// An audit's `events`, read into their gist one by one.
struct FastEvents(EventsGist);

impl<'de> Deserialize<'de> for FastEvents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Events;
        impl<'de> Visitor<'de> for Events {
            type Value = FastEvents;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of ticket audit events")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FastEvents, A::Error> {
                let mut gist = EventsGist::default();
                while seq.next_element_seed(FastEvent(&mut gist))?.is_some() {}
                Ok(FastEvents(gist))
            }
        }
        deserializer.deserialize_seq(Events)
    }
}

/// One event, added to the gist of the events before it.
struct FastEvent<'g>(&'g mut EventsGist);

/// The members of an event the gist reads ([`READ`], [`COUNTED`], `via`), as read from its
/// text.
#[derive(Default)]
struct EventMembers {
    values: [Option<Value>; READ.len()],
    counts: [Option<usize>; COUNTED.len()],
    /// `via`, when given: its `source`, when both are objects.
    via: Option<Option<EventSource>>,
}

/// Where [`EventMembers`] keeps the member `name` ([`READ`]'s order), if it keeps it.
fn read_slot(name: &str) -> Option<usize> {
    // A `match` rather than a search of `READ`: every member of every event is looked up.
    let slot = match name {
        "field_name" => 0,
        "value" => 1,
        "previous_value" => 2,
        "public" => 3,
        "comment_id" => 4,
        "attachment_id" => 5,
        "previous_followers" => 6,
        "current_followers" => 7,
        "previous_email_ccs" => 8,
        "current_email_ccs" => 9,
        "macro_title" => 10,
        "score" => 11,
        "action" => 12,
        "message" => 13,
        _ => return None,
    };
    debug_assert_eq!(READ[slot], name);
    Some(slot)
}

/// Where [`EventMembers`] keeps the count of the list `name` ([`COUNTED`]'s order).
fn counted_slot(name: &str) -> Option<usize> {
    let slot = match name {
        "attachments" => 0,
        "recipients" => 1,
        _ => return None,
    };
    debug_assert_eq!(COUNTED[slot], name);
    Some(slot)
}

impl Members for EventMembers {
    fn get(&self, key: &str) -> Option<&Value> {
        let slot = read_slot(key);
        debug_assert!(slot.is_some(), "`{key}` is not one of the members read");
        self.values[slot?].as_ref()
    }

    fn rule_source(&self) -> Option<RuleSource<'_>> {
        let source = self.via.as_ref()?.as_ref()?;
        let [from_id, from_title] = source
            .from
            .as_ref()
            .map_or([None, None], |from| [from[0].as_ref(), from[1].as_ref()]);
        Some(RuleSource {
            rel: source.rel.as_ref(),
            from_id,
            from_title,
        })
    }

    fn take(&mut self, key: &str) -> Value {
        let slot = read_slot(key);
        debug_assert!(slot.is_some(), "`{key}` is not one of the members read");
        slot.and_then(|slot| self.values[slot].take())
            .unwrap_or(Value::Null)
    }

    fn count(&self, key: &str) -> usize {
        let slot = counted_slot(key);
        debug_assert!(slot.is_some(), "`{key}` is not one of the lists counted");
        slot.and_then(|slot| self.counts[slot]).unwrap_or(0)
    }
}

impl<'de> DeserializeSeed<'de> for FastEvent<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        struct Event<'g>(&'g mut EventsGist);
        impl<'de> Visitor<'de> for Event<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticket audit event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                let mut id: Option<Option<i64>> = None;
                // Borrowed from the text (a `String` read as the generated type reads it).
                let mut type_: Option<Option<Key<'de>>> = None;
                let mut members = EventMembers::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let name = key.as_ref();
                    match name {
                        "id" => once(&mut map, &mut id, "id")?,
                        "type" => once(&mut map, &mut type_, "type")?,
                        // Only what the gist reads of it: a few members, not a tree.
                        "via" => {
                            given_once(&members.via)?;
                            members.via = Some(map.next_value_seed(IfObject(Via))?.flatten());
                        }
                        _ => {
                            if let Some(slot) = read_slot(name) {
                                given_once(&members.values[slot])?;
                                members.values[slot] = Some(map.next_value()?);
                            } else if let Some(slot) = counted_slot(name) {
                                given_once(&members.counts[slot])?;
                                members.counts[slot] = Some(map.next_value::<Count>()?.0);
                            } else {
                                map.next_value::<Checked>()?;
                            }
                        }
                    }
                }
                self.0
                    .add(type_.flatten().as_ref().map(Key::as_ref), &mut members);
                Ok(())
            }
        }
        deserializer.deserialize_map(Event(self.0))
    }
}

/// A time as the generated types read a `DateTime<Utc>` (chrono's RFC 3339 reading), the form
/// Zendesk sends (`2024-03-24T15:00:12Z`) read without chrono's general parser.
struct FastTime(DateTime<Utc>);

impl<'de> Deserialize<'de> for FastTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Time;
        impl Visitor<'_> for Time {
            type Value = FastTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<FastTime, E> {
                match utc_seconds(text) {
                    Some(time) => Ok(FastTime(time)),
                    None => text
                        .parse::<DateTime<chrono::FixedOffset>>()
                        .map(|time| FastTime(time.with_timezone(&Utc)))
                        .map_err(E::custom),
                }
            }
        }
        deserializer.deserialize_str(Time)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (a valid date and time, no leap second); none for any other text.
fn utc_seconds(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 20
        || (b[4], b[7], b[10], b[13], b[16], b[19]) != (b'-', b'-', b'T', b':', b':', b'Z')
    {
        return None;
    }
    let number = |at: usize, digits: usize| -> Option<u32> {
        b[at..at + digits].iter().try_fold(0, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 2)?,
        number(8, 2)?,
    )?;
    let time = date.and_hms_opt(number(11, 2)?, number(14, 2)?, number(17, 2)?)?;
    Some(time.and_utc())
}

/// What the gist reads of an audit's `via` (`channel`; `rel`, and `id` and `title` of `from`,
/// in `source`), the rest checked as the generated `Via` would read it.
#[derive(Default)]
struct FastVia {
    channel: Option<Value>,
    source: Option<FastSource>,
}

#[derive(Default)]
struct FastSource {
    rel: Option<String>,
    from_id: Option<Value>,
    from_title: Option<Value>,
}

impl<'de> Deserialize<'de> for FastVia {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Via;
        impl<'de> Visitor<'de> for Via {
            type Value = FastVia;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a via")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastVia, A::Error> {
                let (mut channel, mut source) = (None, None);
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "channel" => once(&mut map, &mut channel, "channel")?,
                        "source" => once(&mut map, &mut source, "source")?,
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                Ok(FastVia {
                    channel: channel.flatten(),
                    source: source.flatten(),
                })
            }
        }
        deserializer.deserialize_map(Via)
    }
}

impl<'de> Deserialize<'de> for FastSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Source;
        impl<'de> Visitor<'de> for Source {
            type Value = FastSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a via source")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastSource, A::Error> {
                let (mut from, mut rel, mut to) = (None, None, None);
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "from" => once_with(&mut map, &mut from, Named(FROM), "from")?,
                        "rel" => once(&mut map, &mut rel, "rel")?,
                        "to" => once(&mut map, &mut to, "to")?,
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                let _: Option<CheckedMap> = to;
                let [from_id, from_title] = from.unwrap_or_default();
                Ok(FastSource {
                    rel: rel.flatten(),
                    from_id,
                    from_title,
                })
            }
        }
        deserializer.deserialize_map(Source)
    }
}

/// What the gist reads of an audit's `metadata`: `ip_address`, `client` and `location` of
/// `system`, the rest checked as the generated `TicketAuditMetadata` would read it.
struct FastMetadata {
    system: [Option<Value>; 3],
}

impl<'de> Deserialize<'de> for FastMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Metadata;
        impl<'de> Visitor<'de> for Metadata {
            type Value = FastMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("audit metadata")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastMetadata, A::Error> {
                let (mut custom, mut system) = (None, None);
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "custom" => once(&mut map, &mut custom, "custom")?,
                        "system" => once_with(&mut map, &mut system, Named(SYSTEM), "system")?,
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                let _: Option<CheckedMap> = custom;
                Ok(FastMetadata {
                    system: system.unwrap_or_default(),
                })
            }
        }
        deserializer.deserialize_map(Metadata)
    }
}

/// What the gist reads of an event's `via` ([`RuleSource`]): its `source`, when an object.
/// A member given twice is read as `Value` reads it: the last one.
struct Via;

impl<'de> Visitor<'de> for Via {
    type Value = Option<EventSource>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event's via")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut source = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_ref() {
                "source" => source = map.next_value_seed(IfObject(EventSourceVisitor))?,
                _ => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(source)
    }
}

/// An event's `via.source` as the gist reads it: `rel`, and `id` and `title` of `from`, when
/// `from` is an object.
struct EventSource {
    rel: Option<Value>,
    from: Option<[Option<Value>; 2]>,
}

struct EventSourceVisitor;

impl<'de> Visitor<'de> for EventSourceVisitor {
    type Value = EventSource;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a via source")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventSource, A::Error> {
        let (mut rel, mut from) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_ref() {
                "rel" => rel = Some(map.next_value()?),
                "from" => from = map.next_value_seed(IfObject(Named(FROM)))?,
                _ => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(EventSource { rel, from })
    }
}

/// The members of a `via.source.from` the gist reads.
const FROM: [&str; 2] = ["id", "title"];

/// The members of a `metadata.system` the gist reads.
const SYSTEM: [&str; 3] = ["ip_address", "client", "location"];

#[cfg(test)]
mod tests {
    use zendesk_raw::types::TicketAudit;

    use super::*;

    /// The gist of what the generated `Deserialize` makes of `text`.
    fn generated(text: &str) -> Result<AuditGist, String> {
        serde_json::from_str::<TicketAudit>(text)
            .map(|audit| AuditGist::of_typed(&audit))
            .map_err(|error| error.to_string())
    }

    fn fast(text: &str) -> Result<AuditGist, String> {
        decode_audit(text).map_err(|error| error.to_string())
    }

    /// Every audit the simulator writes (every event kind, documented or not, unknown
    /// members, numeric and named channels, rules on audits and on events) reads the same on
    /// the fast path as through the generated decoding, and its events as from its JSON.
    #[tokio::test]
    async fn the_fast_path_reads_every_simulated_audit_as_the_generated_decoding() {
        use crate::zendesk::TicketAuditsQuery;

        let sim = audit_sim::start(audit_sim::SimConfig::default())
            .await
            .unwrap();
        let client = crate::test_support::acme_zendesk(&sim);
        let mut query = TicketAuditsQuery::default().limit(1000);
        let (mut audits, mut event_rules, mut lists) = (0, 0, 0);
        loop {
            let page = client.list_ticket_audits(&query).await.unwrap();
            for audit in &page.audits {
                let text = audit.raw_json().json();
                assert!(audit.typed_is_exact(), "{text}");
                let gist = AuditGist::of_typed(audit.typed());
                assert_eq!(fast(text).as_ref(), Ok(&gist), "{text}");
                assert_eq!(EventsGist::of_json(audit.raw()), gist.events, "{text}");
                audits += 1;
                event_rules += usize::from(gist.via_rule.is_none() && gist.events.rule.is_some());
                lists += usize::from(gist.events.changes.iter().any(|c| c.old.is_array()));
            }
            match page.before_cursor {
                Some(cursor) if !page.audits.is_empty() => query.cursor = Some(cursor),
                _ => break,
            }
        }
        assert!(
            audits >= 1000 && event_rules > 0 && lists > 0,
            "{audits} {event_rules} {lists}"
        );
    }

    /// Records out of the ordinary: the fast path reads each as the generated decoding does,
    /// or refuses it (and the record then decodes the generated way); it never accepts one
    /// the generated decoding refuses.
    #[test]
    fn the_fast_path_never_reads_a_record_otherwise() {
        let cases = [
            r#"{}"#,
            r#"{"id": 1, "events": []}"#,
            r#"{"id": null, "author_id": null, "created_at": null, "via": null, "metadata": null}"#,
            r#"{"id": 1, "x": 1, "x": 2, "events": [{"type": "Comment", "html_body": "<p>", "html_body": 1}]}"#,
            r#"{"events": [{"type": "Comment", "public": "false", "attachments": {"id": 1}}, {"type": "Cc", "recipients": 7}]}"#,
            r#"{"events": [{"type": "Notification", "recipients": null, "via": {"source": {"rel": "trigger", "from": {"title": "T"}}}}]}"#,
            r#"{"events": [{"type": "Create", "field_name": 5, "value": "x"}, {"type": "Change", "value": 1}]}"#,
            r#"{"events": [{"type": "FollowerChange", "previous_followers": "a@x", "current_followers": null}]}"#,
            r#"{"events": [{"type": "Cc", "via": "mail"}, {"type": "Cc", "via": {"source": "x"}}, {"type": "Cc", "via": {"source": {"rel": 5, "from": [1]}}}]}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger", "from": {"title": "A"}}, "source": {"rel": "automation"}}}]}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger", "rel": "automation", "from": {"id": "9", "title": "A", "title": "B"}}}}]}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger", "from": {"title": "A"}}, "source": 5}}]}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger", "from": {"id": 1, "title": "A"}, "from": "x"}}}]}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger"}}, "via": {"channel": 8}}]}"#,
            r#"{"id": 1, "id": 2}"#,
            r#"{"id": "7"}"#,
            r#"{"id": 7.0}"#,
            r#"{"id": 18446744073709551616}"#,
            r#"{"created_at": "not a time"}"#,
            r#"{"created_at": "2024-03-24T15:00:12+02:00"}"#,
            r#"{"events": null}"#,
            r#"{"events": [null]}"#,
            r#"{"events": [[1, "Change"]]}"#,
            r#"{"events": [{"id": 1, "type": "Change", "type": "Create"}]}"#,
            r#"{"events": [{"id": 1, "type": "Change", "field_name": "a", "field_name": "b"}]}"#,
            r#"{"events": [{"id": 1, "type": "Comment", "attachments": [], "attachments": [1]}]}"#,
            r#"{"events": [{"id": 1, "type": null, "value": null, "via": {"channel": 8}}]}"#,
            r#"{"events": [{"i\u0064": 1, "t\u0079pe": "Comment", "b\u006fdy": "x"}]}"#,
            r#"{"events": [{"id": 1, "value": 1e400}]}"#,
            r#"{"events": [{"id": 1, "html_body": 1e400}]}"#,
            r#"{"events": [{"id": 1, "attachments": [{"size": 1e400}]}]}"#,
            r#"{"events": [{"id": 1, "body": "\ud800"}]}"#,
            r#"{"events": [{"id": 1, "recipients": ["\udc00"]}]}"#,
            r#"{"unknown": {"\ud800": 1}}"#,
            r#"{"via": {"channel": "rule", "source": {"from": {"id": 1, "title": "T"}, "rel": "trigger", "extra": [1]}, "more": {}}}"#,
            r#"{"events": [{"type": "Cc", "via": {"source": {"rel": "trigger", "from": {"title": "A", "x": 1e400}}}}]}"#,
            r#"{"via": {"source": {"from": null}}}"#,
            r#"{"via": {"channel": 4, "source": {"rel": 5}}}"#,
            r#"{"metadata": {"system": {"ip_address": "203.0.113.9"}, "custom": null}}"#,
            r#"{"metadata": {"system": {}, "custom": {}, "unknown": true}, "ticket_form_id": 36}"#,
            r#"[1, 2]"#,
            r#""an audit""#,
        ];
        for text in cases {
            // A record the fast path refuses is the generated decoding's to read.
            if let Ok(read) = fast(text) {
                assert_eq!(generated(text), Ok(read), "{text}");
            }
        }
        // The ordinary shapes above are read by the fast path, not left to the slow one.
        for text in &cases[..13] {
            assert!(fast(text).is_ok(), "{text}");
        }
    }

    /// Nested past the parser's depth in a member the gist does not read: refused, as the
    /// generated decoding refuses it.
    #[test]
    fn a_member_nested_too_deep_is_refused_as_the_generated_decoding_refuses_it() {
        let deep = format!(
            r#"{{"events": [{{"id": 1, "type": "Comment", "html_body": {}1{}}}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(generated(&deep).is_err());
        assert!(fast(&deep).is_err());
    }

    fn page(times: &[Option<&str>]) -> serde_json::Result<AuditsPage> {
        let audits: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(id, time)| match time {
                Some(time) => format!(r#"{{"id": {id}, "created_at": "{time}"}}"#),
                None => format!(r#"{{"id": {id}}}"#),
            })
            .collect();
        serde_json::from_str(&format!(r#"{{"audits": [{}]}}"#, audits.join(", ")))
    }

    /// A time reads as chrono reads it for the generated types, whether or not it has the
    /// form read without chrono.
    #[test]
    fn a_time_reads_as_chrono_reads_it() {
        let texts = [
            "2024-03-24T15:00:12Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-10T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-03-24T24:00:00Z",
            "2024-03-24T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2024-03-24t15:00:12z",
            "2024-03-24 15:00:12Z",
            "2024-03-24T15:00:12+02:00",
            "2024-03-24T15:00:12.5Z",
            "2024-03-24T15:00:1xZ",
            "+024-03-24T15:00:12Z",
            "2024-03-24T15:00:12",
            "",
        ];
        for text in texts {
            let json = serde_json::to_string(text).unwrap();
            let ours = serde_json::from_str::<FastTime>(&json).map(|FastTime(time)| time);
            let chrono = serde_json::from_str::<DateTime<Utc>>(&json);
            assert_eq!(ours.ok(), chrono.ok(), "{text}");
        }
        assert!(
            utc_seconds("2024-03-24T15:00:12Z").is_some(),
            "read without chrono"
        );
    }

    /// The order check reads the first and the last time of a page from its texts, when at
    /// least three audits have one.
    #[test]
    fn a_page_gives_its_first_and_last_times_when_three_audits_have_one() {
        let (a, b, c) = (
            "2024-01-01T00:00:00Z",
            "2024-01-02T00:00:00Z",
            "2024-01-03T00:00:00+00:00",
        );
        let time = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let times = |page: serde_json::Result<AuditsPage>| page.unwrap().first_and_last_times();
        assert_eq!(
            times(page(&[Some(c), Some(b), Some(a)])),
            Some((time(c), time(a)))
        );
        assert_eq!(
            times(page(&[
                None,
                Some(a),
                None,
                Some("not a time"),
                Some(b),
                Some(c),
                None
            ])),
            Some((time(a), time(c)))
        );
        assert_eq!(times(page(&[Some(a), Some(b)])), None);
        assert_eq!(times(page(&[Some(a), None, Some("x"), Some(b)])), None);
        assert_eq!(times(page(&[])), None);
    }

    /// A page whose audits are not all objects does not read (it would not decode later).
    #[test]
    fn a_page_of_an_audit_that_is_not_an_object_does_not_read() {
        assert!(page(&[None, None]).is_ok());
        let error = serde_json::from_str::<AuditsPage>(r#"{"audits": [{"id": 1}, 5]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("audit 1 of the page is not a JSON object"),
            "{error}"
        );
    }
}
