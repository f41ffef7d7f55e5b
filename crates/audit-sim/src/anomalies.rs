//! The vendor on a bad day: how the anomaly faults change records and pages.
//!
//! Page-level kinds (`empty_envelope`, `empty_page`, `fresh_cursor`, `out_of_order`,
//! `non_object_record`, `ascending_page`) are decided per request in
//! [`crate::faults::FaultPlan`] and applied by each list handler with the helpers here.
//! Record-level kinds (`null_timestamp`, `large_records`, `lone_surrogate`,
//! `invalid_utf8`, `huge_number`, `big_id`) are decided per record from (seed, kind, record):
//! the same record renders the same in every page, show and download that holds it.
//!
//! Records are patched as JSON *text*, because a lone surrogate, invalid UTF-8 or `1e400`
//! cannot live in a `serde_json::Value`:
//!
//! - `null_timestamp`: Zendesk `"created_at": null`; Genesys without `eventDate`.
//! - `lone_surrogate` / `invalid_utf8`: the value of one string field the typed view decodes
//!   (audit log `actor_name`, ticket audit comment `body`, Genesys `userHomeOrgId`; an extra
//!   `x_note` field when the record has none) starts with `\ud800` (the six characters of the
//!   escape) or the raw bytes `0xff 0xfe`.
//! - `huge_number`: an extra first field `"x_score":1e400`.
//! - `big_id` (Zendesk only): the `id` becomes the id plus 2^65, written as an integer beyond
//!   `i64` and `u64`. The ground truth names such a record by that decimal text (see
//!   [`native_id`]), which is what an exporter that keeps the vendor's id verbatim writes.
//! - `large_records` (ticket audits only): an extra `Comment` event whose body holds
//!   `large_record_bytes` bytes of text.

use serde_json::Value;

use crate::data::prng::{hash_str, mix};
use crate::faults::{FaultKind, FaultPlan};
use crate::http::PageReport;
use crate::server::Sim;

/// Which kind of record a record-level decision is about (so that an audit-log id and a
/// ticket-audit id that happen to be equal draw apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// A Zendesk audit-log record.
    ZendeskLog,
    /// A Zendesk ticket audit.
    ZendeskAudit,
    /// A Genesys audit record.
    Genesys,
}

impl RecordType {
    fn tag(self) -> u64 {
        match self {
            RecordType::ZendeskLog => 0xA101,
            RecordType::ZendeskAudit => 0xA102,
            RecordType::Genesys => 0xA103,
        }
    }

    /// The string field whose value carries the undecodable text.
    fn text_field(self) -> &'static [u8] {
        match self {
            RecordType::ZendeskLog => b"\"actor_name\":\"",
            RecordType::ZendeskAudit => b"\"body\":\"",
            RecordType::Genesys => b"\"userHomeOrgId\":\"",
        }
    }
}

/// 2^65: what `big_id` adds to a Zendesk id.
pub const BIG_ID_OFFSET: u128 = 1 << 65;

/// The key of a record's per-record decisions.
fn record_key(kind: RecordType, id: &str) -> u64 {
    mix(&[kind.tag(), hash_str(id)])
}

/// Whether per-record `fault` hits the record `id` (its native id as the vendor has it).
pub fn hits(sim: &Sim, fault: FaultKind, kind: RecordType, id: &str) -> bool {
    sim.faults.record_fires(fault, record_key(kind, id))
}

/// The native id of a Zendesk record as the vendor writes it: its id, or with `big_id` the
/// id plus 2^65 (decimal text).
pub fn native_id(sim: &Sim, kind: RecordType, id: i64) -> String {
    if sim.faults.config().big_id > 0.0
        && kind != RecordType::Genesys
        && hits(sim, FaultKind::BigId, kind, &id.to_string())
    {
        (id as u128 + BIG_ID_OFFSET).to_string()
    } else {
        id.to_string()
    }
}

/// A Zendesk record (audit log or ticket audit) as JSON text, with the record-level
/// anomalies that hit it.
pub fn zendesk_record(sim: &Sim, kind: RecordType, mut record: Value) -> Vec<u8> {
    if !record_level(sim) {
        return serde_json::to_vec(&record).expect("a record serialises");
    }
    let id = record["id"].as_i64().unwrap_or_default();
    let id_text = id.to_string();
    let fires = |f: FaultKind| {
        let hit = hits(sim, f, kind, &id_text);
        if hit {
            sim.stats.fault(f.name());
        }
        hit
    };
    if fires(FaultKind::NullTimestamp) {
        record["created_at"] = Value::Null;
    }
    if kind == RecordType::ZendeskAudit
        && fires(FaultKind::LargeRecords)
        && let Some(events) = record.get_mut("events").and_then(Value::as_array_mut)
    {
        events.push(large_comment(id, sim.config.faults.large_record_bytes));
    }
    let mut text = serde_json::to_vec(&record).expect("a record serialises");
    if fires(FaultKind::BigId) {
        let from = format!("\"id\":{id}");
        // The record's own id: the first `"id":{id}` not followed by another digit.
        let at = (0..text.len()).find(|&k| {
            text[k..].starts_with(from.as_bytes())
                && !text.get(k + from.len()).is_some_and(|b| b.is_ascii_digit())
        });
        if let Some(at) = at {
            let to = format!("\"id\":{}", native_id(sim, kind, id));
            text.splice(at..at + from.len(), to.into_bytes());
        }
    }
    undecodable(sim, kind, &id_text, &mut text);
    text
}

/// A Genesys record as JSON text: `text` as the data set writes it, with the record-level
/// anomalies that hit it.
pub fn genesys_record(sim: &Sim, id: &str, text: &mut Vec<u8>) {
    if hits(sim, FaultKind::NullTimestamp, RecordType::Genesys, id) {
        sim.stats.fault(FaultKind::NullTimestamp.name());
        if let Some(at) = find(text, b",\"eventDate\":\"") {
            let value = at + b",\"eventDate\":\"".len();
            if let Some(end) = text[value..].iter().position(|b| *b == b'"') {
                text.drain(at..value + end + 1);
            }
        }
    }
    undecodable(sim, RecordType::Genesys, id, text);
}

/// Genesys records as a JSON array, each with the record-level anomalies that hit it, and the
/// record at `non_object` (`non_object_record`, see [`non_object_position`]) written as the
/// number `5`.
pub fn write_genesys_records(
    sim: &Sim,
    g: &crate::data::genesys::GenesysData,
    out: &mut Vec<u8>,
    indices: &[u64],
    expand_user: bool,
    non_object: Option<usize>,
) {
    if !record_level(sim) && non_object.is_none() {
        return g.write_records(out, indices, expand_user);
    }
    out.push(b'[');
    let mut record = Vec::new();
    for (k, &i) in indices.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        if non_object == Some(k) {
            out.extend_from_slice(NON_OBJECT);
            continue;
        }
        record.clear();
        g.write_record(&mut record, i, expand_user);
        genesys_record(sim, &g.record_id(i), &mut record);
        out.extend_from_slice(&record);
    }
    out.push(b']');
}

/// Whether any record-level kind can fire (records are rendered untouched otherwise).
fn record_level(sim: &Sim) -> bool {
    let c = sim.faults.config();
    [
        c.null_timestamp,
        c.large_records,
        c.lone_surrogate,
        c.invalid_utf8,
        c.huge_number,
        c.big_id,
    ]
    .iter()
    .any(|r| *r > 0.0)
}

/// `lone_surrogate`, `invalid_utf8` and `huge_number`, shared by every record type.
fn undecodable(sim: &Sim, kind: RecordType, id: &str, text: &mut Vec<u8>) {
    for (fault, payload) in [
        (FaultKind::LoneSurrogate, &b"\\ud800"[..]),
        (FaultKind::InvalidUtf8, &[0xff, 0xfe][..]),
    ] {
        if hits(sim, fault, kind, id) {
            sim.stats.fault(fault.name());
            match find(text, kind.text_field()) {
                Some(at) => {
                    let value = at + kind.text_field().len();
                    text.splice(value..value, payload.iter().copied());
                }
                None => {
                    let mut field = b"\"x_note\":\"".to_vec();
                    field.extend_from_slice(payload);
                    field.extend_from_slice(b"\",");
                    text.splice(1..1, field);
                }
            }
        }
    }
    if hits(sim, FaultKind::HugeNumber, kind, id) {
        sim.stats.fault(FaultKind::HugeNumber.name());
        text.splice(1..1, b"\"x_score\":1e400,".iter().copied());
    }
}

/// The extra comment of a `large_records` audit: `bytes` bytes of plain text.
fn large_comment(audit_id: i64, bytes: u64) -> Value {
    const LINE: &str = "The customer pasted the whole log file into the reply again. ";
    let body: String = LINE.chars().cycle().take(bytes as usize).collect();
    serde_json::json!({
        "id": audit_id * 10 + 9,
        "type": "Comment",
        "author_id": -1,
        "body": body,
        "public": false,
        "attachments": [],
        "audit_id": audit_id,
    })
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `{"<key>":[records…],<the fields of rest>}`: a list body from record texts and the rest
/// of its envelope (an object).
pub fn list_body(key: &str, records: &[Vec<u8>], rest: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(Vec::len).sum::<usize>() + 256);
    out.extend_from_slice(b"{");
    out.extend_from_slice(&serde_json::to_vec(&key).expect("a key serialises"));
    out.extend_from_slice(b":[");
    for (k, r) in records.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.push(b']');
    let rest = serde_json::to_vec(rest).expect("an envelope serialises");
    if rest.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&rest[1..rest.len() - 1]);
    }
    out.push(b'}');
    out
}

/// `out_of_order`: swaps two neighbouring positions of a page, the first pair from a
/// position drawn from `draw` whose timestamps differ (so the second is older than the
/// first). Returns whether a pair was swapped.
pub fn swap_neighbours(positions: &mut [u64], draw: u64, time: impl Fn(u64) -> i64) -> bool {
    let n = positions.len();
    if n < 2 {
        return false;
    }
    let first = (draw % (n as u64 - 1)) as usize;
    let k = (0..n - 1)
        .map(|j| (first + j) % (n - 1))
        .find(|&k| time(positions[k]) != time(positions[k + 1]))
        .unwrap_or(first);
    positions.swap(k, k + 1);
    true
}

/// What `non_object_record` writes in place of a record.
pub const NON_OBJECT: &[u8] = b"5";

/// `non_object_record`: which record of a page of `len` becomes [`NON_OBJECT`], from the
/// request's draw; `None` for an empty page.
pub fn non_object_position(len: usize, draw: u64) -> Option<usize> {
    (len > 0).then(|| (mix(&[draw, 0x0B1E]) % len as u64) as usize)
}

/// `non_object_record`, when the request's `plan` has it: the record of a page of `len` to
/// write as [`NON_OBJECT`] ([`non_object_position`]), reported as met; none on an empty page.
pub fn non_object_at(plan: &FaultPlan, len: usize, report: &mut PageReport) -> Option<usize> {
    let at = plan
        .non_object_record
        .then(|| non_object_position(len, plan.draw))
        .flatten();
    if at.is_some() {
        report.anomalies.push(FaultKind::NonObjectRecord);
    }
    at
}

/// [`non_object_at`] applied to a page's record texts.
pub fn non_object_record(plan: &FaultPlan, records: &mut [Vec<u8>], report: &mut PageReport) {
    if let Some(at) = non_object_at(plan, records.len(), report) {
        records[at] = NON_OBJECT.to_vec();
    }
}

/// `ascending_page`: a page served newest first, reversed (oldest first). Returns whether that
/// shows: the first and last records' times differ (else the page is left as it is).
pub fn ascending_page(positions: &mut [u64], time: impl Fn(u64) -> i64) -> bool {
    match (positions.first(), positions.last()) {
        (Some(&first), Some(&last)) if time(first) != time(last) => {
            positions.reverse();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_bodies_splice_records_into_the_envelope() {
        let body = list_body(
            "audits",
            &[b"{\"id\":1}".to_vec(), b"{\"id\":2}".to_vec()],
            &serde_json::json!({"before_cursor": null}),
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"audits":[{"id":1},{"id":2}],"before_cursor":null}"#
        );
        let empty = list_body("entities", &[], &serde_json::json!({}));
        assert_eq!(empty, br#"{"entities":[]}"#);
    }

    #[test]
    fn a_swap_makes_the_second_record_older() {
        let mut p = vec![1, 2, 2, 3];
        assert!(swap_neighbours(&mut p, 1, |x| x as i64));
        assert_eq!(p, vec![1, 2, 3, 2]);
        let mut one = vec![7];
        assert!(!swap_neighbours(&mut one, 0, |x| x as i64));
    }

    #[test]
    fn a_non_object_record_is_the_number_5_somewhere_in_the_page() {
        let plan = FaultPlan {
            non_object_record: true,
            draw: 3,
            ..FaultPlan::default()
        };
        let mut report = PageReport::default();
        let mut records = vec![b"{\"id\":1}".to_vec(), b"{\"id\":2}".to_vec()];
        non_object_record(&plan, &mut records, &mut report);
        assert_eq!(records.iter().filter(|r| r.as_slice() == b"5").count(), 1);
        assert_eq!(report.anomalies, [FaultKind::NonObjectRecord]);
        let body = list_body("audits", &records, &serde_json::json!({}));
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert!(page["audits"].as_array().unwrap().contains(&Value::from(5)));
        let mut report = PageReport::default();
        non_object_record(&plan, &mut [], &mut report);
        assert!(report.anomalies.is_empty(), "an empty page has none");
        let spread: std::collections::HashSet<usize> = (0..64)
            .filter_map(|draw| non_object_position(10, draw))
            .collect();
        assert!(
            spread.len() > 5,
            "the position follows the draw: {spread:?}"
        );
    }

    #[test]
    fn an_ascending_page_is_reversed_only_when_that_shows() {
        let mut p = vec![5, 4, 3];
        assert!(ascending_page(&mut p, |x| x as i64));
        assert_eq!(p, vec![3, 4, 5]);
        let mut same = vec![5, 4, 3];
        assert!(
            !ascending_page(&mut same, |_| 9),
            "one second: nothing shows"
        );
        assert_eq!(same, vec![5, 4, 3]);
        assert!(!ascending_page(&mut [], |x| x as i64));
    }
}
