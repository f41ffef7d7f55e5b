//! Project automation for the trail workspace, run as `cargo xtask <command>`.
//!
//! `codegen` turns each OpenAPI spec in `specs/` into the generated client of its raw crate:
//! normalise and check the spec ([`rules`]), generate with progenitor and format
//! ([`generate`]), then write or, with `--check`, compare ([`codegen`]).

pub mod codegen;
pub mod generate;
pub mod operations;
pub mod rules;
pub mod spec;

use std::path::PathBuf;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
