//! `cargo xtask codegen` on the real specs: deterministic, `--check` passes on a fresh copy of
//! the workspace and fails, naming the stale file, after a one-line spec edit; and a spec that
//! progenitor would choke on gets a clear error and no written output.

use std::path::Path;
use std::process::Command;

use xtask::codegen::generated_source;
use xtask::spec::SPECS;

/// A scratch copy of what codegen reads and writes: specs, rustfmt.toml, generated files.
fn scratch_workspace() -> tempfile::TempDir {
    let root = xtask::workspace_root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("specs")).unwrap();
    std::fs::copy(root.join("rustfmt.toml"), dir.path().join("rustfmt.toml")).unwrap();
    for api in SPECS {
        std::fs::copy(root.join(api.spec_path), dir.path().join(api.spec_path)).unwrap();
        let output = dir.path().join(api.output_path);
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        std::fs::copy(root.join(api.output_path), output).unwrap();
    }
    dir
}

fn xtask(root: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn generation_is_deterministic() {
    let root = xtask::workspace_root();
    for api in &SPECS {
        let (first, _) = generated_source(&root, api).unwrap();
        let (second, _) = generated_source(&root, api).unwrap();
        assert!(
            first == second,
            "{} differs between two runs",
            api.spec_path
        );
        assert!(first.starts_with(&xtask::generate::header(api.spec_path)));
        // Block doc comments would be re-indented by rustfmt into code blocks for rustdoc.
        assert!(
            !first.contains("/**"),
            "{} has a block doc comment",
            api.output_path
        );
    }
}

#[test]
fn check_passes_on_the_checked_in_code_and_fails_after_a_one_line_spec_edit() {
    let dir = scratch_workspace();
    let (ok, stderr) = xtask(dir.path(), &["codegen", "--check"]);
    assert!(ok, "check failed on the checked-in code:\n{stderr}");
    assert!(
        stderr.contains("up to date: crates/zendesk-raw/src/generated.rs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("up to date: crates/genesys-raw/src/generated.rs"),
        "{stderr}"
    );

    // One line: rename an operation.
    let spec = dir.path().join("specs/zendesk.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let edited = text.replacen(
        "operationId: ShowAuditLog\n",
        "operationId: ShowAuditLogRecord\n",
        1,
    );
    assert_ne!(text, edited, "the spec no longer has ShowAuditLog");
    std::fs::write(&spec, edited).unwrap();

    let (ok, stderr) = xtask(dir.path(), &["codegen", "--check"]);
    assert!(!ok, "check passed on stale code:\n{stderr}");
    assert!(
        stderr.contains("STALE: crates/zendesk-raw/src/generated.rs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("up to date: crates/genesys-raw/src/generated.rs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("generated code is out of date: crates/zendesk-raw/src/generated.rs"),
        "{stderr}"
    );

    // Regenerating makes it pass again, and the new method appears.
    let (ok, stderr) = xtask(dir.path(), &["codegen"]);
    assert!(ok, "{stderr}");
    let regenerated = std::fs::read_to_string(dir.path().join(SPECS[0].output_path)).unwrap();
    assert!(regenerated.contains("pub fn show_audit_log_record("));
    let (ok, stderr) = xtask(dir.path(), &["codegen", "--check"]);
    assert!(ok, "{stderr}");
}

#[test]
fn a_spec_progenitor_would_panic_on_gets_a_clear_error_and_nothing_is_written() {
    let dir = scratch_workspace();
    let spec = dir.path().join("specs/zendesk.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    // Give the first response of the spec a second success type: progenitor asserts on this.
    let edited = text.replacen(
        "responses:\n",
        "responses:\n        \"204\":\n          description: nothing\n",
        1,
    );
    std::fs::write(&spec, edited).unwrap();
    let before = std::fs::read(dir.path().join(SPECS[0].output_path)).unwrap();

    let (ok, stderr) = xtask(dir.path(), &["codegen", "--only", "zendesk"]);
    assert!(!ok);
    assert!(
        stderr.contains("specs/zendesk.yaml breaks 1 rule(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rule `one-success-type` broken"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let after = std::fs::read(dir.path().join(SPECS[0].output_path)).unwrap();
    assert_eq!(
        before, after,
        "a failed run must not touch the generated file"
    );
}

#[test]
fn an_unknown_spec_name_is_a_clear_error() {
    let dir = scratch_workspace();
    let (ok, stderr) = xtask(dir.path(), &["codegen", "--only", "salesforce"]);
    assert!(!ok);
    assert!(
        stderr.contains("unknown spec \"salesforce\"; choose one of: zendesk, genesys"),
        "{stderr}"
    );
}
