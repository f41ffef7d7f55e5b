//! The `trail` binary against the simulator: each stream's output is exactly the simulator's
//! ground truth (ids, order, count), OCSF output validates against the schema trail prints, and
//! a second run with the same state file adds nothing.

mod common;

use audit_sim::Stream;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_audit_logs_equal_the_ground_truth() {
    let sim = start(config(2_345, 300)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", "zendesk-audit-logs", "--out", "logs.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);

    let expected = ground_truth(&sim, Stream::ZendeskAuditLogs);
    assert_eq!(expected.len(), 2_345);
    assert_eq!(exported_ids(&dir.path().join("logs.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_ticket_audits_equal_the_ground_truth() {
    let sim = start(config(10, 1_500)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", "zendesk-ticket-audits", "--out", "audits.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);

    let expected = ground_truth(&sim, Stream::ZendeskTicketAudits);
    assert!(
        expected.len() > 1_000,
        "archived tickets aside, most audits are listed"
    );
    assert_eq!(exported_ids(&dir.path().join("audits.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_audits_equal_the_ground_truth() {
    // 2,345 records over a week: one chunk, several result pages of 500.
    let sim = start(config(2_345, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", "genesys-audits", "--out", "audits.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &genesys_env(&sim), dir.path()).await;
    assert_success(&output);

    let expected = ground_truth(&sim, Stream::GenesysAudits { service: None });
    assert_eq!(expected.len(), 2_345);
    assert_eq!(exported_ids(&dir.path().join("audits.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_realtime_equals_the_ground_truth() {
    let sim = start(recent_config(1_800)).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &[
            "export",
            "genesys-realtime",
            "--since",
            "12d",
            "--out",
            "realtime.ndjson",
        ],
        &genesys_env(&sim),
        dir.path(),
    )
    .await;
    assert_success(&output);
    let (start, end) = sim.span("acme").unwrap();
    let expected = sim
        .ground_truth(
            "acme",
            Stream::GenesysRealtime { service: None },
            start,
            end,
        )
        .unwrap();
    assert!(!expected.is_empty());
    assert_eq!(exported_ids(&dir.path().join("realtime.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_all_runs_every_stream_of_the_config_file_concurrently() {
    let sim = start(config(700, 700)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
        {accounts}
        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"

        [[export]]
        stream = "zendesk-ticket-audits"
        account = "acme"
        out = "audits.ndjson"

        [[export]]
        stream = "genesys-audits"
        account = "acme"
        out = "genesys.ocsf"
        format = "ocsf"
        "#,
        accounts = acme_accounts(&sim),
    );
    std::fs::write(dir.path().join("trail.toml"), config).unwrap();
    let env = acme_account_env(&sim);
    let window = window_args();
    let mut args = vec!["export", "--all", "--state", "state.json"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);

    assert_eq!(
        exported_ids(&dir.path().join("logs.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert_eq!(
        exported_ids(&dir.path().join("audits.ndjson")),
        ground_truth(&sim, Stream::ZendeskTicketAudits)
    );
    let ocsf_ids: Vec<String> = std::fs::read_to_string(dir.path().join("genesys.ocsf"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["metadata"]["original_event_uid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ocsf_ids,
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    // One entry per stream and output: `<stream>@<tenant> -> <resolved output>`.
    let resolved = dir.path().canonicalize().unwrap();
    let keys: Vec<String> = state["streams"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "genesys-audits@acme -> ".to_string()
                + &resolved.join("genesys.ocsf").display().to_string(),
            "zendesk-audit-logs@acme -> ".to_string()
                + &resolved.join("logs.ndjson").display().to_string(),
            "zendesk-ticket-audits@acme -> ".to_string()
                + &resolved.join("audits.ndjson").display().to_string(),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ocsf_output_validates_against_the_printed_schema() {
    let sim = start(config(400, 400)).await;
    let dir = tempfile::tempdir().unwrap();
    let schema_output = run_trail(&["schema", "--ocsf"], &[], dir.path()).await;
    assert_success(&schema_output);
    let schema: serde_json::Value = serde_json::from_slice(&schema_output.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");

    let streams = [
        ("zendesk-audit-logs", Stream::ZendeskAuditLogs),
        ("zendesk-ticket-audits", Stream::ZendeskTicketAudits),
        ("genesys-audits", Stream::GenesysAudits { service: None }),
    ];
    for (stream, truth) in streams {
        let out = format!("{stream}.ocsf");
        let window = window_args();
        let mut args = vec!["export", stream, "--format", "ocsf", "--out", &out];
        args.extend(window.iter().map(String::as_str));
        let output = run_trail(&args, &all_env(&sim), dir.path()).await;
        assert_success(&output);
        let text = std::fs::read_to_string(dir.path().join(&out)).unwrap();
        let mut classes = std::collections::BTreeSet::new();
        for line in text.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&event)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{stream}: {errors:?}\n{event:#}");
            classes.insert(event["class_uid"].as_u64().unwrap());
        }
        assert_eq!(
            text.lines().count(),
            ground_truth(&sim, truth).len(),
            "{stream}"
        );
        if stream == "zendesk-audit-logs" {
            // The simulated account has sign-ins, user changes, role changes and settings.
            assert!(
                classes.contains(&3002) && classes.contains(&3004),
                "{classes:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_with_the_same_state_adds_nothing() {
    let sim = start(config(800, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "logs.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &zendesk_env(&sim), dir.path()).await);
    let first = std::fs::read(dir.path().join("logs.ndjson")).unwrap();
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);
    assert_eq!(
        std::fs::read(dir.path().join("logs.ndjson")).unwrap(),
        first
    );
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.contains("0 (+800 earlier)"), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_leaves_output_and_state_untouched() {
    let sim = start(config(300, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logs.ndjson"), "previous contents\n").unwrap();
    let mut env = zendesk_env(&sim);
    env.retain(|(name, _)| *name != "ZENDESK_API_TOKEN");
    env.push(("ZENDESK_API_TOKEN", "wrong-token".into()));
    let window = window_args();
    // --overwrite: without it, a file no state records is refused before any request.
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "logs.ndjson",
        "--state",
        "state.json",
        "--overwrite",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("logs.ndjson")).unwrap(),
        "previous contents\n"
    );
    assert!(!dir.path().join("state.json").exists());
}
