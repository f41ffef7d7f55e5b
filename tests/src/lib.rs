//! Shared helpers for the end-to-end suites in this directory.

pub mod kafka_broker;

use std::path::PathBuf;

/// Path of a fixture file under `tests/fixtures/`.
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// A fixture file's contents parsed as JSON; panics with the path when it is missing or invalid.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    let path = fixture_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

pub mod net;
