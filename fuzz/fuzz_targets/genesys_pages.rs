//! Any bytes as every Genesys Cloud answer: results, realtime and related pages, the large
//! results redirect, query statuses, service mappings, errors, downloaded result files; every
//! record that decodes mapped to its event.

#![no_main]

use audit_core::ErrorBody;
use audit_core::event::StreamKind;
use audit_core::genesys::mapping::{audit_event, native_id, occurred_at};
use audit_core::genesys::{QueryState, retry_after_in_message};
use genesys_raw::types as gt;
use libfuzzer_sys::fuzz_target;
use raw_support::Recorded;

fn record(record: &Recorded<gt::AuditLogMessage>) {
    let _ = occurred_at(record);
    for stream in [StreamKind::GenesysAudits, StreamKind::GenesysRealtime] {
        let event = audit_event("acme", stream, record);
        assert_eq!(&event.raw, record.raw());
        assert_eq!(event.native_id, native_id(record));
        assert_eq!(event.id, format!("genesys:acme:audit:{}", event.native_id));
        serde_json::to_vec(&event).unwrap();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<gt::AuditQueryExecutionResultsResponse>(data) {
        page.entities.iter().for_each(record);
    }
    if let Ok(page) = serde_json::from_slice::<gt::AuditRealtimeQueryResultsResponse>(data) {
        page.entities.iter().for_each(record);
    }
    if let Ok(page) = serde_json::from_slice::<gt::AuditRealtimeRelatedResultsResponse>(data) {
        page.entities.iter().for_each(record);
    }
    // A downloaded result file: a JSON array of records.
    if let Ok(records) = serde_json::from_slice::<Vec<Recorded<gt::AuditLogMessage>>>(data) {
        records.iter().for_each(record);
    }
    if let Ok(single) = serde_json::from_slice::<Recorded<gt::AuditLogMessage>>(data) {
        record(&single);
    }
    let _ = serde_json::from_slice::<gt::AuditQueryExecutionLargeResultsResponse>(data);
    if let Ok(status) = serde_json::from_slice::<gt::AuditQueryExecutionStatusResponse>(data) {
        let state = QueryState::of(&status);
        let _ = (state.is_failed(), state.is_pending(), state.as_str().len());
    }
    let _ = serde_json::from_slice::<gt::AuditQueryServiceMapping>(data);
    if let Ok(error) = serde_json::from_slice::<gt::ErrorBody>(data) {
        let detail = error.detail();
        let _ = retry_after_in_message(&detail);
        let _ = detail.to_string();
    }
});
