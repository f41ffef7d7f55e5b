//! Snapshots of what users read: `--help`, a short NDJSON and OCSF export, and the message of
//! each mistake users make — each error also exits non-zero and leaves no output or state.

mod common;

use audit_sim::config::Plan;
use common::*;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn help_texts() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("help", vec!["--help"]),
        ("export_help", vec!["export", "--help"]),
        ("demo_help", vec!["demo", "--help"]),
        ("verify_help", vec!["verify", "--help"]),
        ("keygen_help", vec!["keygen", "--help"]),
    ] {
        let output = run_trail(&args, &[], dir.path()).await;
        assert_success(&output);
        insta::assert_snapshot!(name, String::from_utf8_lossy(&output.stdout));
    }
}

async fn short_export(format: &str) -> String {
    let sim = start(config(4, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--format",
        format,
        "--out",
        "out",
    ];
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &zendesk_env(&sim), dir.path()).await);
    // Records carry their API URL, which holds the simulator's ephemeral port.
    std::fs::read_to_string(dir.path().join("out"))
        .unwrap()
        .replace(sim.zendesk_url(), "http://zendesk.simulator")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_ndjson_export() {
    insta::assert_snapshot!(short_export("ndjson").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_ocsf_export() {
    insta::assert_snapshot!(short_export("ocsf").await);
}

/// Runs a failing export in an empty directory; returns stderr after checking the exit code
/// and that nothing was written.
async fn failing(args: &[&str], env: &[(&str, String)], code: i32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(args, env, dir.path()).await;
    assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a failed run must leave no output or state"
    );
    stderr(&output)
}

const OUT: [&str; 4] = ["--out", "out.ndjson", "--state", "state.json"];

#[tokio::test(flavor = "multi_thread")]
async fn error_missing_variable() {
    let mut args = vec!["export", "zendesk-audit-logs"];
    args.extend(OUT);
    let env = [("ZENDESK_SUBDOMAIN", "acme".to_string())];
    insta::assert_snapshot!(failing(&args, &env, 2).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bad_date() {
    let mut args = vec!["export", "zendesk-audit-logs", "--since", "yesterday"];
    args.extend(OUT);
    insta::assert_snapshot!(failing(&args, &[], 2).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_window_backwards() {
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--since",
        "2024-05-02T00:00:00Z",
        "--until",
        "2024-05-01T00:00:00Z",
    ];
    args.extend(OUT);
    let env = [
        ("ZENDESK_SUBDOMAIN", "acme".to_string()),
        ("ZENDESK_EMAIL", "a@acme.example".to_string()),
        ("ZENDESK_API_TOKEN", "t".to_string()),
    ];
    insta::assert_snapshot!(failing(&args, &env, 2).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_unknown_stream() {
    let mut args = vec!["export", "zendesk-logs"];
    args.extend(OUT);
    insta::assert_snapshot!(failing(&args, &[], 2).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_unwritable_path() {
    let sim = start(config(4, 2)).await;
    let args = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "missing/out.ndjson",
    ];
    insta::assert_snapshot!(failing(&args, &zendesk_env(&sim), 2).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bad_credentials() {
    let sim = start(config(4, 2)).await;
    let mut env = zendesk_env(&sim);
    env.retain(|(name, _)| *name != "ZENDESK_API_TOKEN");
    env.push(("ZENDESK_API_TOKEN", "not-the-token".into()));
    let window = window_args();
    let mut args = vec!["export", "zendesk-audit-logs"];
    args.extend(OUT);
    args.extend(window.iter().map(String::as_str));
    let message = failing(&args, &env, 1).await;
    assert!(
        !message.contains("not-the-token"),
        "the secret leaked: {message}"
    );
    insta::assert_snapshot!(message);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_plan_without_audit_logs() {
    let mut sim_config = config(4, 2);
    sim_config.tenants[0].zendesk.plan = Plan::Professional;
    let sim = start(sim_config).await;
    let window = window_args();
    let mut args = vec!["export", "zendesk-audit-logs"];
    args.extend(OUT);
    args.extend(window.iter().map(String::as_str));
    insta::assert_snapshot!(failing(&args, &zendesk_env(&sim), 1).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(&["regions"], &[], dir.path()).await;
    assert_success(&output);
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_missing_genesys_secret() {
    let mut args = vec!["export", "genesys-audits"];
    args.extend(OUT);
    let env = [
        ("GENESYS_REGION", "mypurecloud.ie".to_string()),
        ("GENESYS_CLIENT_ID", "my-client".to_string()),
    ];
    insta::assert_snapshot!(failing(&args, &env, 2).await);
}
