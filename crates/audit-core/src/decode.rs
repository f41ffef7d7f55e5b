//! Records that did not decode as the vendor's schema says: what their events say about it.
//!
//! `raw_support::Recorded` decodes such a record from a repaired copy and says what it
//! repaired (and, for bytes that were not UTF-8, keeps the bytes as received); the mappers
//! build the event from that typed view as from any other (an id it could not hold taken
//! from the record's text, [`id_from_text`]), then [`mark`] carries the issue into the
//! event. No single record stops an export.

use raw_support::Recorded;
use serde_json::Value;

use crate::event::AuditEvent;

/// Carries `record`'s decode issue, if it has one, into `event` (mapped from it).
pub(crate) fn mark<T>(event: &mut AuditEvent, record: &Recorded<T>) {
    let Some(issue) = record.decode_issue() else {
        return;
    };
    event.decode_issue = Some(issue.message.clone());
    event.quarantined = issue.quarantined.clone().map(Box::new);
}

/// The record's top-level `id` as its text says: a number as written, or a string's content.
///
/// The mappers take the native id from it when the typed view has none: a vendor id the
/// typed view could not hold (an integer beyond 64 bits, a number where a string belongs) was
/// read as null, and the event must still carry the vendor's id.
pub(crate) fn id_from_text<T>(record: &Recorded<T>) -> Option<String> {
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
