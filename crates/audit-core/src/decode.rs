//! Records that did not decode as the vendor's schema says: what their events say about it.
//!
//! `raw_support::Recorded` decodes such a record from a repaired copy and says what it
//! repaired (and, for bytes that were not UTF-8, keeps the bytes as received); the mappers
//! build the event from that typed view as from any other, then [`mark`] carries the issue
//! into the event. No single record stops an export.

use raw_support::Recorded;
use serde_json::Value;

use crate::event::AuditEvent;

/// Carries `record`'s decode issue, if it has one, into `event` (mapped from it).
///
/// A vendor id the typed view could not hold (an integer beyond 64 bits, a number where a
/// string belongs) was read as null, and the mapper gave the event a `no-id-…` hash; the id is
/// then taken from the record's text, so the event keeps the vendor's native id.
pub(crate) fn mark<T>(event: &mut AuditEvent, record: &Recorded<T>) {
    let Some(issue) = record.decode_issue() else {
        return;
    };
    event.decode_issue = Some(issue.message.clone());
    event.quarantined = issue.quarantined.clone().map(Box::new);
    if event.native_id.starts_with("no-id-")
        && let Some(native_id) = id_from_text(record)
    {
        let prefix = event.id.len() - event.native_id.len();
        event.id = format!("{}{native_id}", &event.id[..prefix]);
        event.native_id = native_id;
    }
}

/// The record's top-level `id` as text: a number as written, or a string's content.
fn id_from_text<T>(record: &Recorded<T>) -> Option<String> {
    let text = record.raw_json().member_json("id")?;
    let id = if text.starts_with('"') {
        // Read from the (repaired) value: the text may hold escapes.
        record.raw().get("id").and_then(Value::as_str)?.to_string()
    } else if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        text.to_string()
    } else {
        return None;
    };
    (!id.trim().is_empty()).then_some(id)
}
