//! Decoding the pages of `/ticket_audits` that the account-wide walk reads.
//!
//! The generated types decode a ticket audit with serde's derive, and every event of an
//! audit (`TicketAuditEvent`: `id`, `type` and a flattened map of everything else) goes
//! through serde's buffering of flattened members: each member is read into an intermediate
//! tree, then copied into the map. With the audit's text kept and mapped from the typed view,
//! that was the largest cost of a ticket-audit export. [`decode_audit`] reads the same typed
//! view in one pass. It refuses anything out of the ordinary (a member twice, a value of the
//! wrong type), and such a record decodes as the generated type decodes it, with the same
//! repairs and [`raw_support::DecodeIssue`]: the fast path only ever reads what the
//! generated decoder would read, the same way.

use std::fmt;

use raw_support::Recorded;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use zendesk_raw::types::{
    CursorPaginationLinks, CursorPaginationMeta, TicketAudit, TicketAuditEvent,
    TicketAuditsResponse,
};

/// A page of `/ticket_audits`, as [`TicketAuditsResponse`] decodes it (`audits` required),
/// its audits through [`decode_audit`].
#[derive(Debug, Deserialize)]
pub(super) struct AuditsPage {
    #[serde(deserialize_with = "audits")]
    audits: Vec<Recorded<TicketAudit>>,
    after_cursor: Option<String>,
    after_url: Option<String>,
    before_cursor: Option<String>,
    before_url: Option<String>,
    links: Option<CursorPaginationLinks>,
    meta: Option<CursorPaginationMeta>,
}

impl From<AuditsPage> for TicketAuditsResponse {
    fn from(page: AuditsPage) -> Self {
        TicketAuditsResponse {
            after_cursor: page.after_cursor,
            after_url: page.after_url,
            audits: page.audits,
            before_cursor: page.before_cursor,
            before_url: page.before_url,
            links: page.links,
            meta: page.meta,
        }
    }
}

fn audits<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Recorded<TicketAudit>>, D::Error> {
    struct Fast(Recorded<TicketAudit>);
    impl<'de> Deserialize<'de> for Fast {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Recorded::deserialize_with(deserializer, decode_audit).map(Fast)
        }
    }
    let audits = Vec::<Fast>::deserialize(deserializer)?;
    Ok(audits.into_iter().map(|Fast(audit)| audit).collect())
}

/// The typed view of one audit's text, as the generated `Deserialize` reads it; an error for
/// anything it might read otherwise.
pub(super) fn decode_audit(text: &str) -> serde_json::Result<TicketAudit> {
    serde_json::from_str::<FastAudit>(text).map(|FastAudit(audit)| audit)
}

struct FastAudit(TicketAudit);

struct FastEvent(TicketAuditEvent);

/// A member's name, borrowed from the text unless it holds escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_ref(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    fn into_owned(self) -> String {
        match self {
            Key::Borrowed(key) => key.to_string(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_string()))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// Sets `slot` to the next value, refusing a member given twice (the derive refuses it).
fn once<'de, A: MapAccess<'de>, T: DeserializeOwned>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Adds a member the typed view does not name to `extra`, refusing one given twice (the
/// derive would keep the last; the fast path leaves such a record to it).
fn extra<'de, A: MapAccess<'de>>(
    map: &mut A,
    extra: &mut Map<String, Value>,
    key: String,
) -> Result<(), A::Error> {
    let value: Value = map.next_value()?;
    match extra.insert(key, value) {
        Some(_) => Err(de::Error::custom("a member given twice")),
        None => Ok(()),
    }
}

impl<'de> Deserialize<'de> for FastAudit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Audit;
        impl<'de> Visitor<'de> for Audit {
            type Value = FastAudit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticket audit")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastAudit, A::Error> {
                let (mut author_id, mut created_at, mut events, mut id) = (None, None, None, None);
                let (mut metadata, mut ticket_id, mut via) = (None, None, None);
                let mut rest = Map::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "author_id" => once(&mut map, &mut author_id, "author_id")?,
                        "created_at" => once(&mut map, &mut created_at, "created_at")?,
                        "events" => {
                            if events.is_some() {
                                return Err(de::Error::duplicate_field("events"));
                            }
                            let list: Vec<FastEvent> = map.next_value()?;
                            events = Some(list.into_iter().map(|FastEvent(e)| e).collect());
                        }
                        "id" => once(&mut map, &mut id, "id")?,
                        "metadata" => once(&mut map, &mut metadata, "metadata")?,
                        "ticket_id" => once(&mut map, &mut ticket_id, "ticket_id")?,
                        "via" => once(&mut map, &mut via, "via")?,
                        _ => extra(&mut map, &mut rest, key.into_owned())?,
                    }
                }
                Ok(FastAudit(TicketAudit {
                    author_id: author_id.flatten(),
                    created_at: created_at.flatten(),
                    events: events.unwrap_or_default(),
                    id: id.flatten(),
                    metadata: metadata.flatten(),
                    ticket_id: ticket_id.flatten(),
                    via: via.flatten(),
                    extra: rest,
                }))
            }
        }
        deserializer.deserialize_map(Audit)
    }
}

impl<'de> Deserialize<'de> for FastEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Event;
        impl<'de> Visitor<'de> for Event {
            type Value = FastEvent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticket audit event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastEvent, A::Error> {
                let (mut id, mut type_) = (None, None);
                let mut rest = Map::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "id" => once(&mut map, &mut id, "id")?,
                        "type" => once(&mut map, &mut type_, "type")?,
                        _ => extra(&mut map, &mut rest, key.into_owned())?,
                    }
                }
                Ok(FastEvent(TicketAuditEvent {
                    id: id.flatten(),
                    type_: type_.flatten(),
                    extra: rest,
                }))
            }
        }
        deserializer.deserialize_map(Event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the generated `Deserialize` makes of `text`, field by field (the generated types
    /// have no `PartialEq`; `Debug` shows every field, maps in order).
    fn generated(text: &str) -> Result<String, String> {
        serde_json::from_str::<TicketAudit>(text)
            .map(|audit| format!("{audit:?}"))
            .map_err(|error| error.to_string())
    }

    fn fast(text: &str) -> Result<String, String> {
        decode_audit(text)
            .map(|audit| format!("{audit:?}"))
            .map_err(|error| error.to_string())
    }

    /// Every audit the simulator writes (every event kind, unknown members, rules, channels)
    /// reads the same on the fast path as through the generated decoding.
    #[tokio::test]
    async fn the_fast_path_reads_every_simulated_audit_as_the_generated_decoding() {
        use crate::zendesk::TicketAuditsQuery;

        let sim = audit_sim::start(audit_sim::SimConfig::default())
            .await
            .unwrap();
        let client = crate::test_support::acme_zendesk(&sim);
        let mut query = TicketAuditsQuery::default().limit(1000);
        let mut audits = 0;
        loop {
            let page = client.list_ticket_audits(&query).await.unwrap();
            for audit in &page.audits {
                let text = audit.raw_json().json();
                assert_eq!(fast(text), Ok(format!("{:?}", audit.typed())), "{text}");
                audits += 1;
            }
            match page.before_cursor {
                Some(cursor) if !page.audits.is_empty() => query.cursor = Some(cursor),
                _ => break,
            }
        }
        assert!(audits >= 1000, "{audits}");
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
            r#"{"id": 1, "id": 2}"#,
            r#"{"id": 1, "x": 1, "x": 2}"#,
            r#"{"id": "7"}"#,
            r#"{"id": 7.0}"#,
            r#"{"id": 18446744073709551616}"#,
            r#"{"created_at": "not a time"}"#,
            r#"{"created_at": "2024-03-24T15:00:12+02:00"}"#,
            r#"{"events": null}"#,
            r#"{"events": [null]}"#,
            r#"{"events": [[1, "Change"]]}"#,
            r#"{"events": [{"id": 1, "type": "Change", "type": "Create"}]}"#,
            r#"{"events": [{"id": 1, "type": null, "value": null, "via": {"channel": 8}}]}"#,
            r#"{"events": [{"i\u0064": 1, "t\u0079pe": "Comment", "b\u006fdy": "x"}]}"#,
            r#"{"events": [{"id": 1, "value": 1e400}]}"#,
            r#"{"events": [{"id": 1, "body": "\ud800"}]}"#,
            r#"{"via": {"channel": "rule", "source": {"from": {"id": 1, "title": "T"}, "rel": "trigger", "extra": [1]}, "more": {}}}"#,
            r#"{"via": {"source": {"from": null}}}"#,
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
        for text in &cases[..3] {
            assert!(fast(text).is_ok(), "{text}");
        }
    }
}
