//! Pages that are not UTF-8 text: read from a lossy copy, their bad records quarantined.
//!
//! JSON is UTF-8 text, and `serde_json` refuses a body with an invalid byte sequence: one bad
//! record would fail its page on every attempt, and stop the export for good. A caller that
//! sees such a failure asks for the page again inside [`with_lossy_bodies`]. Then
//! [`crate::execute_traced`] reads the whole body and, when it is not UTF-8, hands on a copy
//! with each invalid sequence replaced by U+FFFD (what [`String::from_utf8_lossy`] does),
//! after noting, for each record (an element of a list of the page) that held one, its
//! position and its bytes as received. Decoding the page then lets each such record
//! ([`crate::Recorded`]) claim its note, which becomes its [`crate::Quarantined`].
//!
//! Nothing of this runs for a page that decodes: the body is only read this way on the
//! request after a failure.

use std::cell::RefCell;
use std::future::Future;

use serde_json::value::RawValue;

use crate::Quarantined;

tokio::task_local! {
    static LOSSY: RefCell<Vec<Note>>;
}

/// A record of a lossy page that held invalid bytes: its text in the lossy copy, and what
/// becomes its [`Quarantined`].
#[derive(Debug)]
struct Note {
    lossy_text: String,
    quarantined: Quarantined,
}

/// Runs `future` with response bodies that are not UTF-8 read from a lossy copy (see the
/// module docs).
pub fn with_lossy_bodies<F: Future>(future: F) -> impl Future<Output = F::Output> {
    // Not an `async fn`: that would hold `future` twice (its argument and the scope).
    LOSSY.scope(RefCell::new(Vec::new()), future)
}

/// Whether the current task reads bodies lossily.
pub(crate) fn enabled() -> bool {
    LOSSY.try_with(|_| ()).is_ok()
}

/// The [`Quarantined`] of the record whose text (in the lossy copy) is `text`, if the page
/// being decoded is a lossy copy and that record held invalid bytes. Each note is claimed once.
pub(crate) fn claim(text: &str) -> Option<Quarantined> {
    LOSSY
        .try_with(|notes| {
            let mut notes = notes.borrow_mut();
            let at = notes.iter().position(|note| note.lossy_text == text)?;
            Some(notes.remove(at).quarantined)
        })
        .ok()
        .flatten()
}

/// `body` as UTF-8 text: itself when it is, else a lossy copy, after noting the records that
/// held invalid bytes (for [`claim`]). `page` names the request.
pub(crate) fn lossy_body(body: bytes::Bytes, page: &str) -> bytes::Bytes {
    if std::str::from_utf8(&body).is_ok() {
        return body;
    }
    // The copy, and where each invalid sequence went: (offset in the copy, offset in the body)
    // just past it, so offsets between two of them differ by a constant.
    let mut copy = String::with_capacity(body.len() + 16);
    let mut shifts = Vec::new();
    let mut invalid = Vec::new();
    let mut read = 0;
    for chunk in body.utf8_chunks() {
        copy.push_str(chunk.valid());
        read += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            invalid.push(copy.len());
            copy.push(char::REPLACEMENT_CHARACTER);
            read += chunk.invalid().len();
            shifts.push((copy.len(), read));
        }
    }
    let original = |offset_in_copy: usize| {
        let (copy_at, body_at) = shifts
            .iter()
            .rev()
            .find(|(copy_at, _)| *copy_at <= offset_in_copy)
            .copied()
            .unwrap_or((0, 0));
        body_at + (offset_in_copy - copy_at)
    };
    let mut notes = Vec::new();
    for list in lists(&copy) {
        for (position, record) in list.into_iter().enumerate() {
            let start = record.get().as_ptr() as usize - copy.as_ptr() as usize;
            let end = start + record.get().len();
            if invalid.iter().any(|at| (start..end).contains(at)) {
                notes.push(Note {
                    lossy_text: record.get().to_string(),
                    quarantined: Quarantined {
                        page: page.to_string(),
                        position,
                        bytes: body[original(start)..original(end)].to_vec(),
                    },
                });
            }
        }
    }
    let _ = LOSSY.try_with(|cell| cell.borrow_mut().extend(notes));
    bytes::Bytes::from(copy)
}

/// The lists of records a page may hold: the page itself when it is a list, else each of its
/// members that is one (`audit_logs`, `audits`, `entities`, …).
fn lists(page: &str) -> Vec<Vec<&RawValue>> {
    if let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(page) {
        return vec![list];
    }
    let Ok(members) = serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(page)
    else {
        return Vec::new();
    };
    members
        .into_values()
        .filter_map(|member| serde_json::from_str::<Vec<&RawValue>>(member.get()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_with_invalid_bytes_are_noted_with_their_bytes_and_position() {
        let mut body =
            br#"{"meta": {"x": 1}, "audit_logs": [{"id": 1}, {"id": 2, "a": "x"#.to_vec();
        body.extend_from_slice(b"\xff\xfe");
        body.extend_from_slice(br#"y"}, {"id": 3, "b": ""#);
        body.extend_from_slice(b"\xc3");
        body.extend_from_slice(br#""}]}"#);
        let bad_two = br#"{"id": 2, "a": "x"#.len();
        with_lossy_bodies(async {
            let copy = lossy_body(bytes::Bytes::from(body.clone()), "/api/v2/audit_logs?x=1");
            let text = std::str::from_utf8(&copy).unwrap();
            // One U+FFFD per invalid byte, as `String::from_utf8_lossy` does.
            assert!(
                text.contains("{\"id\": 2, \"a\": \"x\u{FFFD}\u{FFFD}y\"}"),
                "{text}"
            );
            assert!(claim("{\"id\": 1}").is_none());
            let two = claim("{\"id\": 2, \"a\": \"x\u{FFFD}\u{FFFD}y\"}").unwrap();
            assert_eq!(two.position, 1);
            assert_eq!(two.page, "/api/v2/audit_logs?x=1");
            assert_eq!(&two.bytes[bad_two..bad_two + 2], b"\xff\xfe");
            assert!(body.windows(two.bytes.len()).any(|w| w == two.bytes));
            let three = claim("{\"id\": 3, \"b\": \"\u{FFFD}\"}").unwrap();
            assert_eq!(three.position, 2);
            assert_eq!(three.bytes, b"{\"id\": 3, \"b\": \"\xc3\"}");
            assert!(
                claim("{\"id\": 3, \"b\": \"\u{FFFD}\"}").is_none(),
                "claimed once"
            );
        })
        .await;
    }

    #[test]
    fn outside_the_scope_nothing_is_claimed() {
        assert!(!enabled());
        assert!(claim("{}").is_none());
    }
}
