//! Decoding the pages of `/ticket_audits` that the account-wide walk reads, each audit as the
//! gist the event mapping reads ([`AuditGist`]).
//!
//! The generated types decode every member of an audit, and every member of its events into
//! a `serde_json::Value` (serde's derive buffering each flattened member first): with the
//! audit's text kept and only its gist mapped, that was the most of a ticket-audit export's
//! CPU. [`decode_audit`] reads the gist straight from the text in one pass, with a cursor of
//! its own ([`Skim`]) rather than serde's visitors (which cost more than reading the bytes):
//! the members the mapping reads, and of the others only checks that they are what the
//! generated decoding would accept (numbers in range, strings of valid escapes, nesting within
//! the parser's depth), building nothing. It refuses anything out of the ordinary (a member
//! the gist reads given twice, a value of the wrong type, an escaped member name), and such a
//! record decodes as the generated type decodes it, with the same repairs and
//! [`raw_support::DecodeIssue`], and its gist is taken from that: the fast path only ever
//! reads what the generated decoding would read, the same way.
//!
//! An ordinary page is read in one pass ([`AuditsPage::read`]): each audit's text is taken
//! where [`Skim`] read its gist, rather than by serde first and by [`Skim`] again after.

use chrono::{DateTime, Utc};
use raw_support::{RecordText, Recorded};
use serde::{Deserialize, Deserializer, de};
use serde_json::Value;
use serde_json::value::RawValue;
use zendesk_raw::types::{CursorPaginationLinks, CursorPaginationMeta};

use super::audit_gist::{AuditGist, COUNTED, EventsGist, Members, READ, RuleSource};
use super::skim::Skim;

/// A page of `/ticket_audits` (`audits` required, as the generated `TicketAuditsResponse`
/// has it): the page's cursor, and its audits ([`PageAudit`]), to be decoded
/// ([`decode_all`]) after the next page has been asked for.
#[derive(Debug)]
pub(super) struct AuditsPage {
    pub(super) audits: Vec<PageAudit>,
    pub(super) links: Option<CursorPaginationLinks>,
    pub(super) meta: Option<CursorPaginationMeta>,
}

/// One audit of a page: its text, and its gist when the page was read in one pass
/// ([`AuditsPage::read`]).
#[derive(Debug)]
pub(super) struct PageAudit {
    text: RecordText,
    gist: Option<AuditGist>,
}

/// The page as serde reads it: each audit's text, its gist read later.
#[derive(Deserialize)]
struct PageTexts {
    #[serde(deserialize_with = "objects")]
    audits: Vec<RecordText>,
    links: Option<CursorPaginationLinks>,
    meta: Option<CursorPaginationMeta>,
}

/// A page read by serde: its audits' gists are read later.
impl From<PageTexts> for AuditsPage {
    fn from(page: PageTexts) -> Self {
        AuditsPage {
            audits: page
                .audits
                .into_iter()
                .map(|text| PageAudit { text, gist: None })
                .collect(),
            links: page.links,
            meta: page.meta,
        }
    }
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
    /// Reads a page's body. An ordinary page is read in one pass, each audit's gist with its
    /// text ([`skim_page`]): serde's pass to take each audit's text, and then the gist's
    /// over the same bytes, cost a ticket-audit export a tenth more instructions. Any other page
    /// (one the pass refuses anywhere) is read by serde, the audits' gists later, as the
    /// generated decoding reads them; so a page reads, or fails with serde's error, exactly
    /// as it would without the pass.
    pub(super) fn read(body: &[u8]) -> serde_json::Result<AuditsPage> {
        if let Some(page) = std::str::from_utf8(body).ok().and_then(skim_page) {
            return Ok(page);
        }
        serde_json::from_slice::<PageTexts>(body).map(AuditsPage::from)
    }

    /// The `created_at` of the first and of the last audit that has one, when at least three
    /// have one (read from their gists, or texts when not decoded yet).
    pub(super) fn first_and_last_times(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let time = |audit: &PageAudit| -> Option<DateTime<Utc>> {
            match &audit.gist {
                Some(gist) => gist.created_at,
                None => serde_json::from_str(audit.text.raw_json().member_json("created_at")?).ok(),
            }
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

/// A page's body read in one pass, when everything in it is ordinary: every audit read by
/// [`skim_audit`], `links` and `meta` read by serde from their text, and nothing [`Skim`]
/// refuses (a member given twice, an escaped member name). `None` for anything else.
fn skim_page(text: &str) -> Option<AuditsPage> {
    let mut skim = Skim::new(text);
    let (mut audits, mut links, mut meta) = (None, None, None);
    skim.members(|skim, name| match name {
        "audits" => set_once(&mut audits, skim_audits(skim)?),
        "links" => set_once(&mut links, serde_json::from_str(skim.value_text()?).ok()?),
        "meta" => set_once(&mut meta, serde_json::from_str(skim.value_text()?).ok()?),
        _ => skim.skip(),
    })?;
    if !skim.at_end() {
        return None;
    }
    Some(AuditsPage {
        audits: audits?,
        links: links.flatten(),
        meta: meta.flatten(),
    })
}

/// A page's `audits`, each with its gist.
fn skim_audits(skim: &mut Skim<'_>) -> Option<Vec<PageAudit>> {
    let mut audits = Vec::new();
    skim.items(|skim| {
        let (text, gist) = skim.spanned(skim_audit)?;
        // SAFETY: `text` is one JSON value with no whitespace around it: `Skim` read it
        // whole (it accepts only JSON, and less of it than serde_json), from its first byte
        // to its last. Debug builds check this again (`from_string_unchecked` parses it).
        let text = unsafe { RawValue::from_string_unchecked(text.to_owned()) };
        audits.push(PageAudit {
            text: RecordText::from_raw_value(text),
            gist: Some(gist),
        });
        Some(())
    })?;
    Some(audits)
}

/// Each audit of a page decoded into its gist (read with the page, else [`decode_audit`],
/// else as the generated type decodes it); an error (which a page of objects does not have)
/// says which failed.
pub(super) fn decode_all(audits: Vec<PageAudit>) -> Result<Vec<Recorded<AuditGist>>, String> {
    audits
        .into_iter()
        .enumerate()
        .map(|(at, PageAudit { text, gist })| {
            match gist {
                Some(gist) => text.decode_or(Some(gist)),
                None => text.decode_with(decode_audit),
            }
            .map_err(|error| format!("audit {at} of the page does not decode: {error}"))
        })
        .collect()
}

/// The gist of one audit's text, as [`AuditGist`]'s `Deserialize` (the generated decoding)
/// reads it; an error for anything it might read otherwise.
pub(super) fn decode_audit(text: &str) -> serde_json::Result<AuditGist> {
    let mut skim = Skim::new(text);
    skim_audit(&mut skim)
        .filter(|_| skim.at_end())
        .ok_or_else(|| de::Error::custom("not an audit the fast path reads"))
}

/// The gist of the audit at `skim`, read by [`Skim`]; none for anything [`Skim`] refuses or
/// the generated decoding might read otherwise.
fn skim_audit(skim: &mut Skim<'_>) -> Option<AuditGist> {
    let (mut author_id, mut id, mut ticket_id) = (None, None, None);
    let mut created_at = None;
    let (mut metadata, mut via) = (None, None);
    let mut events = None;
    skim.members(|skim, name| match name {
        "author_id" => set_once(&mut author_id, skim.i64_or_null()?),
        "created_at" => set_once(&mut created_at, time_or_null(skim)?),
        "events" => set_once(&mut events, skim_events(skim)?),
        "id" => set_once(&mut id, skim.i64_or_null()?),
        "metadata" => set_once(&mut metadata, skim_metadata(skim)?),
        "ticket_id" => set_once(&mut ticket_id, skim.i64_or_null()?),
        "via" => set_once(&mut via, skim_via(skim)?),
        _ => skim.skip(),
    })?;
    let mut gist = AuditGist {
        id: id.flatten(),
        author_id: author_id.flatten(),
        created_at: created_at.flatten(),
        ticket_id: ticket_id.flatten(),
        events: events.unwrap_or_default(),
        ..AuditGist::default()
    };
    if let Some(via) = via.flatten() {
        let source = via.source.unwrap_or_default();
        let [from_id, from_title] = &source.from;
        gist.read_via(
            via.channel,
            source.rel,
            from_id.as_ref(),
            from_title.as_ref(),
        );
    }
    if let Some([ip_address, client, location]) = metadata.flatten() {
        gist.read_system(ip_address, client, location);
    }
    Some(gist)
}

/// Sets `slot` to `value`, refusing a member given twice (which the derive refuses, and of
/// which `Value` keeps the last).
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// An audit's `events`, read into their gist one by one.
fn skim_events(skim: &mut Skim<'_>) -> Option<EventsGist> {
    let mut gist = EventsGist::default();
    skim.items(|skim| skim_event(skim, &mut gist))?;
    Some(gist)
}

/// One event, added to the gist of the events before it.
fn skim_event<'a>(skim: &mut Skim<'a>, gist: &mut EventsGist) -> Option<()> {
    let mut id = None;
    // Borrowed from the text (a `String` read as the generated type reads it).
    let mut type_: Option<Option<&'a str>> = None;
    let mut members = EventMembers::default();
    skim.members(|skim, name| match name {
        "id" => set_once(&mut id, skim.i64_or_null()?),
        "type" => set_once(&mut type_, skim.plain_str_or_null()?),
        // Only what the gist reads of it: a few members, not a tree.
        "via" => set_once(&mut members.via, skim_event_via(skim)?),
        _ => match (read_slot(name), counted_slot(name)) {
            (Some(slot), _) => set_once(&mut members.values[slot], skim.value()?),
            (None, Some(slot)) => set_once(&mut members.counts[slot], skim.count()?),
            (None, None) => skim.skip(),
        },
    })?;
    gist.add(type_.flatten(), &mut members);
    Some(())
}

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

/// A time as the generated types read an `Option<DateTime<Utc>>` (chrono's RFC 3339 reading),
/// the form Zendesk sends (`2024-03-24T15:00:12Z`) read without chrono's general parser;
/// refused for text with escapes, or that is no time.
fn time_or_null(skim: &mut Skim<'_>) -> Option<Option<DateTime<Utc>>> {
    let Some(text) = skim.plain_str_or_null()? else {
        return Some(None);
    };
    let time = utc_seconds(text).or_else(|| {
        let time = text.parse::<DateTime<chrono::FixedOffset>>().ok()?;
        Some(time.with_timezone(&Utc))
    })?;
    Some(Some(time))
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

/// What the gist reads of an audit's `via`: `channel`, and in `source`, `rel` and the `id` and
/// `title` of `from`.
struct AuditVia<'a> {
    channel: Option<Value>,
    source: Option<AuditSource<'a>>,
}

#[derive(Default)]
struct AuditSource<'a> {
    rel: Option<&'a str>,
    from: [Option<Value>; 2],
}

/// An audit's `via` as the generated `Option<Via>` reads it (a member given twice refused),
/// the members the gist does not read checked.
fn skim_via<'a>(skim: &mut Skim<'a>) -> Option<Option<AuditVia<'a>>> {
    if skim.null()? {
        return Some(None);
    }
    let (mut channel, mut source) = (None, None);
    skim.members(|skim, name| match name {
        "channel" => set_once(&mut channel, skim.value()?),
        "source" => set_once(&mut source, skim_source(skim)?),
        _ => skim.skip(),
    })?;
    Some(Some(AuditVia {
        channel: channel.filter(|channel| !channel.is_null()),
        source: source.flatten(),
    }))
}

/// A `via.source` as the generated `Option<ViaSource>` reads it: `from` and `to` objects, `rel`
/// text or null.
fn skim_source<'a>(skim: &mut Skim<'a>) -> Option<Option<AuditSource<'a>>> {
    if skim.null()? {
        return Some(None);
    }
    let (mut from, mut rel, mut to) = (None, None, None);
    skim.members(|skim, name| match name {
        "from" => set_once(&mut from, skim_named(skim, FROM)?),
        "rel" => set_once(&mut rel, skim.plain_str_or_null()?),
        "to" => set_once(&mut to, skim.skip_object()?),
        _ => skim.skip(),
    })?;
    Some(Some(AuditSource {
        rel: rel.flatten(),
        from: from.unwrap_or_default(),
    }))
}

/// What the gist reads of an audit's `metadata`: `ip_address`, `client` and `location` of
/// `system`, the rest checked as the generated `Option<TicketAuditMetadata>` would read it
/// (`system` and `custom` objects).
fn skim_metadata(skim: &mut Skim<'_>) -> Option<Option<[Option<Value>; 3]>> {
    if skim.null()? {
        return Some(None);
    }
    let (mut custom, mut system) = (None, None);
    skim.members(|skim, name| match name {
        "custom" => set_once(&mut custom, skim.skip_object()?),
        "system" => set_once(&mut system, skim_named(skim, SYSTEM)?),
        _ => skim.skip(),
    })?;
    Some(Some(system.unwrap_or_default()))
}

/// The members `names` of an object, as `Map<String, Value>` reads them (the last of a member
/// given twice); refused for anything but an object.
fn skim_named<const N: usize>(skim: &mut Skim<'_>, names: [&str; N]) -> Option<[Option<Value>; N]> {
    let mut values = std::array::from_fn(|_| None);
    skim.members(
        |skim, name| match names.iter().position(|named| *named == name) {
            Some(slot) => skim.value().map(|value| values[slot] = Some(value)),
            None => skim.skip(),
        },
    )?;
    Some(values)
}

/// What the gist reads of an event's `via` ([`RuleSource`]) as `Value::get` reads it: its
/// `source`, when both are objects (the last of a member given twice); anything else checked.
fn skim_event_via(skim: &mut Skim<'_>) -> Option<Option<EventSource>> {
    if skim.peek()? != b'{' {
        return skim.skip().map(|()| None);
    }
    let mut source = None;
    skim.members(|skim, name| match name {
        "source" => skim_event_source(skim).map(|read| source = read),
        _ => skim.skip(),
    })?;
    Some(source)
}

/// An event's `via.source`, when an object: `rel`, and `id` and `title` of `from`, when `from`
/// is an object.
fn skim_event_source(skim: &mut Skim<'_>) -> Option<Option<EventSource>> {
    if skim.peek()? != b'{' {
        return skim.skip().map(|()| None);
    }
    let (mut rel, mut from) = (None, None);
    skim.members(|skim, name| match name {
        "rel" => skim.value().map(|value| rel = Some(value)),
        "from" if skim.peek()? == b'{' => skim_named(skim, FROM).map(|read| from = Some(read)),
        "from" => skim.skip().map(|()| from = None),
        _ => skim.skip(),
    })?;
    Some(Some(EventSource { rel, from }))
}

/// An event's `via.source` as the gist reads it: `rel`, and `id` and `title` of `from`, when
/// `from` is an object.
struct EventSource {
    rel: Option<Value>,
    from: Option<[Option<Value>; 2]>,
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

    /// A seeded source of made-up audits: every member the gist reads, of the type the
    /// generated decoding wants or of any other, given once or twice, among members it does
    /// not read, with values of every shape JSON has (escapes and lone surrogates, numbers
    /// in and out of range, nesting), spaced any way.
    struct Audits(u64);

    impl Audits {
        fn below(&mut self, n: usize) -> usize {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
        }

        fn pick<'t>(&mut self, from: &[&'t str]) -> &'t str {
            from[self.below(from.len())]
        }

        fn space(&mut self) -> &'static str {
            self.pick(&["", "", "", " ", "\n  ", "\t"])
        }

        /// Mostly ordinary values, sometimes one out of the ordinary.
        fn scalar(&mut self) -> String {
            let ordinary = [
                r#""""#,
                r#""open""#,
                r#""Comment""#,
                r#"" web ""#,
                r#""203.0.113.9""#,
                r#""caf\u00e9\n""#,
                r#""2024-03-24T15:00:12Z""#,
                "0",
                "7",
                "-1",
                "1.5",
                "true",
                "false",
                "null",
            ];
            let odd = [
                r#""\ud83d\ude00""#,
                r#""\ud800""#,
                r#""x\udc00""#,
                r#""a\/b""#,
                "-0",
                "2e3",
                "1e400",
                "-1e400",
                "18446744073709551616",
                "9223372036854775808",
                "-9223372036854775809",
                "123456789012345678901234",
            ];
            match self.below(10) {
                0 => self.pick(&odd),
                _ => self.pick(&ordinary),
            }
            .to_string()
        }

        fn value(&mut self, depth: usize) -> String {
            match (self.below(6), depth) {
                (0, 0..3) => {
                    let items: Vec<String> =
                        (0..self.below(4)).map(|_| self.value(depth + 1)).collect();
                    format!("[{}]", items.join(&format!(",{}", self.space())))
                }
                (1, 0..3) => {
                    let names = ["id", "title", "rel", "source", "from", "channel", "x"];
                    let members: Vec<(String, String)> = (0..self.below(4))
                        .map(|_| (self.pick(&names).to_string(), self.value(depth + 1)))
                        .collect();
                    self.object(members)
                }
                _ => self.scalar(),
            }
        }

        fn object(&mut self, members: Vec<(String, String)>) -> String {
            let mut text = String::from("{");
            for (at, (name, value)) in members.iter().enumerate() {
                let name = match self.below(200) {
                    0 => name.replacen('i', r"\u0069", 1),
                    _ => name.clone(),
                };
                let comma = if at == 0 { "" } else { "," };
                let (a, b) = (self.space(), self.space());
                text.push_str(&format!("{comma}{a}\"{name}\"{b}:{}{value}", self.space()));
            }
            text.push_str(self.space());
            text.push('}');
            text
        }

        /// `typed` most of the time, else any value.
        fn either(&mut self, typed: String) -> String {
            match self.below(30) {
                0 => self.value(1),
                _ => typed,
            }
        }

        /// Members from `wanted` (name and typed value), some twice, and some not read.
        fn members(&mut self, wanted: Vec<(&str, String)>) -> String {
            let mut members = Vec::new();
            for (name, value) in wanted {
                if self.below(3) > 0 {
                    let value = self.either(value);
                    members.push((name.to_string(), value));
                }
                if self.below(60) == 0 {
                    let value = self.value(1);
                    members.push((name.to_string(), value));
                }
            }
            for _ in 0..self.below(3) {
                let name = self.pick(&["html_body", "extra", "ticket_form_id", "via_reference_id"]);
                let value = self.value(1);
                members.push((name.to_string(), value));
            }
            let at = self.below(members.len() + 1).min(members.len());
            members.rotate_left(at);
            self.object(members)
        }

        fn id(&mut self) -> String {
            self.pick(&["1", "-1", "20120299999004", "null", "9223372036854775807"])
                .to_string()
        }

        fn source(&mut self) -> String {
            let id = self.id();
            let from = self.members(vec![("id", id), ("title", r#""Escalate""#.into())]);
            let rel = self.pick(&[r#""trigger""#, r#""automation""#, "null", r#""r\u0065l""#]);
            self.members(vec![
                ("from", from),
                ("rel", rel.into()),
                ("to", "{}".into()),
            ])
        }

        fn via(&mut self) -> String {
            let channel = self.pick(&[r#""web""#, r#""rule""#, "4", "null", r#"" api ""#]);
            let source = self.source();
            self.members(vec![("channel", channel.into()), ("source", source)])
        }

        fn event(&mut self) -> String {
            let kind = self.pick(&[
                r#""Create""#,
                r#""Change""#,
                r#""Comment""#,
                r#""Notification""#,
                r#""Cc""#,
                r#""FollowersChange""#,
                r#""EmailCcChange""#,
                r#""AgentMacroReference""#,
                r#""SatisfactionRating""#,
                r#""Error""#,
                r#""WebhookEvent""#,
                "null",
            ]);
            let field = self.pick(&[r#""status""#, r#""subject""#, r#""tags""#, "5"]);
            let list = || r#"["a@example.com", 7]"#.to_string();
            let wanted = vec![
                ("id", self.id()),
                ("type", kind.into()),
                ("field_name", field.into()),
                ("value", self.value(1)),
                ("previous_value", self.value(1)),
                ("public", self.pick(&["true", "false", r#""false""#]).into()),
                ("comment_id", self.id()),
                ("attachments", self.value(1)),
                ("recipients", self.value(1)),
                ("previous_followers", list()),
                ("current_followers", list()),
                ("macro_title", r#""Close""#.into()),
                ("message", self.scalar()),
                ("via", self.via()),
            ];
            self.members(wanted)
        }

        fn audit(&mut self) -> String {
            let events: Vec<String> = (0..self.below(5)).map(|_| self.event()).collect();
            let time = self.pick(&[
                r#""2024-03-24T15:00:12Z""#,
                r#""2024-03-24T15:00:12+02:00""#,
                r#""2024-02-30T00:00:00Z""#,
                r#""2024-03-24T15:00:12\u005a""#,
                "null",
            ]);
            let location = self.scalar();
            let system = self.members(vec![
                ("ip_address", r#""203.0.113.9""#.into()),
                ("client", r#"" Mozilla ""#.into()),
                ("location", location),
            ]);
            let metadata = self.members(vec![("system", system), ("custom", "{}".into())]);
            let wanted = vec![
                ("id", self.id()),
                ("ticket_id", self.id()),
                ("author_id", self.id()),
                ("created_at", time.into()),
                ("via", self.via()),
                ("metadata", metadata),
                ("events", format!("[{}]", events.join(","))),
            ];
            self.members(wanted)
        }
    }

    /// Made-up audits of every shape: the fast path reads each as the generated decoding
    /// does, or refuses it; and it reads most of them (else it would prove nothing).
    #[test]
    fn the_fast_path_reads_made_up_audits_as_the_generated_decoding() {
        let mut audits = Audits(0x5eed_a0d1_7000_0001);
        let (mut read, mut refused, mut generated_ok) = (0, 0, 0);
        for _ in 0..20_000 {
            let text = audits.audit();
            let generated = generated(&text);
            generated_ok += usize::from(generated.is_ok());
            match fast(&text) {
                Ok(gist) => {
                    assert_eq!(generated, Ok(gist), "{text}");
                    read += 1;
                }
                Err(_) => refused += 1,
            }
        }
        // Many are read, many refused, and some of those the generated decoding reads (the
        // fast path refuses escaped names, times and `rel`, which it could read but need not).
        assert!(
            read > 4_000 && refused > 2_000,
            "{read} read, {refused} refused"
        );
        assert!(generated_ok > read, "{generated_ok} {read}");
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

    /// A page of audits with these times, its audits on one line (read in one pass) or
    /// spread over lines (read by serde).
    fn page_spaced(times: &[Option<&str>], space: &str) -> serde_json::Result<AuditsPage> {
        let audits: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(id, time)| match time {
                Some(time) => format!(r#"{{"id": {id},{space}"created_at": "{time}"}}"#),
                None => format!(r#"{{"id": {id}}}"#),
            })
            .collect();
        AuditsPage::read(format!(r#"{{"audits": [{}]}}"#, audits.join(", ")).as_bytes())
    }

    fn page(times: &[Option<&str>]) -> serde_json::Result<AuditsPage> {
        page_spaced(times, " ")
    }

    /// What a page reads as, compared whole: each audit's text, gist and issue, the order
    /// check's times, the cursor.
    type PageRead = (Vec<(String, AuditGist, bool)>, String);

    fn compared(page: AuditsPage) -> Result<PageRead, String> {
        let times = page.first_and_last_times();
        let cursor = format!("{:?} {:?} {times:?}", page.links, page.meta);
        let audits = decode_all(page.audits)?
            .into_iter()
            .map(|audit| {
                let issue = audit.decode_issue().is_some();
                let (raw, gist) = audit.into_parts();
                (raw.json().to_string(), gist, issue)
            })
            .collect();
        Ok((audits, cursor))
    }

    /// The page as read before the one pass: serde's texts, each audit's gist read after.
    fn by_serde(body: &str) -> Result<PageRead, String> {
        let page: PageTexts = serde_json::from_str(body).map_err(|error| error.to_string())?;
        compared(page.into())
    }

    /// Made-up pages of made-up audits, with cursors and members of every shape: a page
    /// reads the same in one pass as by serde with each gist read after (the same texts,
    /// gists, issues, times and cursor, or the same error), and most ordinary pages are
    /// read in one pass (else this would prove nothing).
    #[test]
    fn a_page_read_in_one_pass_reads_as_serde_and_the_gists_read_after() {
        let mut audits = Audits(0x5eed_9a9e_0000_0001);
        let (mut one_pass, mut by_serde_only, mut failed) = (0, 0, 0);
        for _ in 0..4_000 {
            let count = audits.below(4);
            let mut members: Vec<(&str, String)> = Vec::new();
            // Half the pages of audits on one line that the fast path reads (one pass, unless
            // the page is odd), half of any audits.
            let ordinary = audits.below(2) == 0;
            let texts: Vec<String> = (0..count)
                .map(|_| {
                    loop {
                        let text = audits.audit();
                        if !ordinary {
                            break text;
                        }
                        let text = text.replace('\n', " ");
                        if fast(&text).is_ok() {
                            break text;
                        }
                    }
                })
                .collect();
            members.push(("audits", format!("[{}]", texts.join(","))));
            let links = audits.pick(&[
                r#"{"prev": null, "next": "https://acme.zendesk.com/api/v2/ticket_audits?page[after]=x"}"#,
                r#"{"prev": null, "next": null}"#,
                r#"{"next": 5}"#,
                "null",
            ]);
            let meta = audits.pick(&[
                r#"{"has_more": true, "after_cursor": "x", "before_cursor": "y"}"#,
                r#"{"has_more": false, "after_cursor": null, "before_cursor": null}"#,
                r#"{"has_more": "yes"}"#,
                "null",
            ]);
            members.push(("links", links.into()));
            members.push(("meta", meta.into()));
            match audits.below(12) {
                0 => members.push(("audits", "[]".into())),
                1 => members.push(("count", r#""\ud800""#.into())),
                2 => members.push(("next_page", "1e400".into())),
                3 => members.push(("audits", "[7]".into())),
                4 => members.push((r"\u0061udits", "[]".into())),
                _ => {}
            }
            let mut shuffled = Vec::new();
            while !members.is_empty() {
                shuffled.push(members.remove(audits.below(members.len())));
            }
            let body = format!(
                "{{{}}}",
                shuffled
                    .iter()
                    .map(|(name, value)| format!(r#""{name}": {value}"#))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let expected = by_serde(&body);
            let read = AuditsPage::read(body.as_bytes()).map_err(|error| error.to_string());
            if let Ok(page) = &read {
                match page.audits.iter().all(|audit| audit.gist.is_some()) {
                    true if count > 0 => one_pass += 1,
                    _ => by_serde_only += 1,
                }
            } else {
                failed += 1;
            }
            assert_eq!(read.and_then(compared), expected, "{body}");
        }
        assert!(
            one_pass > 400 && by_serde_only > 400 && failed > 400,
            "{one_pass} in one pass, {by_serde_only} by serde, {failed} failed"
        );
    }

    /// A page not UTF-8, or not JSON, fails as serde fails it.
    #[test]
    fn a_page_that_is_not_json_fails_as_serde_fails_it() {
        for body in [
            &b"{\"audits\": [{\"id\": 1, \"x\": \"\xff\"}]}"[..],
            b"{\"audits\": [{\"id\": 1}]",
            b"{\"audits\": [{\"id\": 1}]} x",
            b"",
        ] {
            let serde = serde_json::from_slice::<PageTexts>(body)
                .err()
                .map(|e| e.to_string());
            let read = AuditsPage::read(body).err().map(|e| e.to_string());
            assert!(serde.is_some());
            assert_eq!(read, serde, "{}", String::from_utf8_lossy(body));
        }
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
            let ours = time_or_null(&mut Skim::new(&json)).flatten();
            let chrono = serde_json::from_str::<DateTime<Utc>>(&json);
            assert_eq!(ours, chrono.ok(), "{text}");
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
        // The same from the texts of a page read by serde (its audits spread over lines).
        assert_eq!(
            times(page_spaced(&[Some(c), None, Some(b), Some(a)], "\n")),
            Some((time(c), time(a)))
        );
    }

    /// A page whose audits are not all objects does not read (it would not decode later).
    #[test]
    fn a_page_of_an_audit_that_is_not_an_object_does_not_read() {
        assert!(page(&[None, None]).is_ok());
        let error = AuditsPage::read(br#"{"audits": [{"id": 1}, 5]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("audit 1 of the page is not a JSON object"),
            "{error}"
        );
    }
}
