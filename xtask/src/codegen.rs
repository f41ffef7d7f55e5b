//! `cargo xtask codegen [--check]`: regenerate (or verify) every raw client from its spec.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::generate::generate_client;
use crate::rules::normalise;
use crate::spec::{ApiSpec, SPECS, load_document};

/// What a codegen run should do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Compare with the checked-in files instead of writing them.
    pub check: bool,
    /// Restrict the run to one vendor (`zendesk`, `genesys`).
    pub only: Option<String>,
    /// Print the normalisation notes and, with `check`, a diff of stale files.
    pub verbose: bool,
}

/// Loads and normalises one spec; the returned document is what progenitor sees.
pub fn prepared_document(root: &Path, api: &ApiSpec) -> anyhow::Result<(Value, Vec<String>)> {
    let mut document = load_document(&root.join(api.spec_path))?;
    let notes = normalise(api.spec_path, &mut document)?;
    Ok((document, notes))
}

/// Generates the client source for one spec, exactly as it is checked in.
pub fn generated_source(root: &Path, api: &ApiSpec) -> anyhow::Result<(String, Vec<String>)> {
    let (document, notes) = prepared_document(root, api)?;
    let source = generate_client(api.spec_path, &document, &root.join("rustfmt.toml"))?;
    Ok((source, notes))
}

/// Runs codegen over the workspace at `root`. With `check`, fails naming every stale file.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    let selected: Vec<&ApiSpec> = SPECS
        .iter()
        .filter(|api| {
            options
                .only
                .as_deref()
                .is_none_or(|only| only == api.vendor)
        })
        .collect();
    if selected.is_empty() {
        let known: Vec<&str> = SPECS.iter().map(|api| api.vendor).collect();
        bail!(
            "unknown spec {:?}; choose one of: {}",
            options.only.as_deref().unwrap_or(""),
            known.join(", ")
        );
    }

    let mut stale = Vec::new();
    for api in selected {
        let (source, notes) = generated_source(root, api)?;
        if options.verbose {
            for note in &notes {
                eprintln!("  note: {}: {note}", api.spec_path);
            }
        }
        let output = root.join(api.output_path);
        if options.check {
            let current = std::fs::read_to_string(&output).unwrap_or_default();
            if normalise_newlines(&current) == source {
                eprintln!("up to date: {}", api.output_path);
            } else {
                eprintln!("STALE: {} (from {})", api.output_path, api.spec_path);
                if options.verbose {
                    eprintln!("{}", unified_diff(&current, &source, api.output_path));
                }
                stale.push(api.output_path);
            }
        } else {
            let current = std::fs::read_to_string(&output).ok();
            if current.as_deref() == Some(source.as_str()) {
                eprintln!("unchanged: {}", api.output_path);
            } else {
                std::fs::write(&output, &source)
                    .with_context(|| format!("cannot write {}", output.display()))?;
                eprintln!(
                    "wrote {} ({} lines) from {}",
                    api.output_path,
                    source.lines().count(),
                    api.spec_path
                );
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated code is out of date: {}\n  run `cargo xtask codegen` and commit the result \
             (add -v to see the diff)",
            stale.join(", ")
        );
    }
    Ok(())
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{name} (checked in)"),
            &format!("{name} (from spec)"),
        )
        .to_string()
}
