//! Which specs exist, where their generated clients go, and how a spec file is loaded.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// One vendor API: its checked-in spec and the raw crate generated from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSpec {
    /// Short name, used by `--only`.
    pub vendor: &'static str,
    /// The spec, relative to the workspace root.
    pub spec_path: &'static str,
    /// The generated client, relative to the workspace root.
    pub output_path: &'static str,
}

/// Every spec this workspace generates a client from.
pub const SPECS: [ApiSpec; 2] = [
    ApiSpec {
        vendor: "zendesk",
        spec_path: "specs/zendesk.yaml",
        output_path: "crates/zendesk-raw/src/generated.rs",
    },
    ApiSpec {
        vendor: "genesys",
        spec_path: "specs/genesys.yaml",
        output_path: "crates/genesys-raw/src/generated.rs",
    },
];

/// Reads a YAML (or JSON) spec into a JSON value, the form the normalisation pass works on.
pub fn load_document(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read spec {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
}
