//! The `trail` binary against the simulator where the vendors' own rules matter (issue 16):
//! repeatable audit-log filters sent as Zendesk's multi-value form and honoured by the
//! simulator, and realtime pages too large for the vendor read at a smaller size.

mod common;

use std::collections::HashSet;
use std::path::Path;

use audit_sim::Stream;
use common::*;
use serde_json::Value;

fn exported(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_audit_log_filters_export_exactly_the_matching_records() {
    let sim = start(config(2_345, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut all = vec!["export", "zendesk-audit-logs", "--out", "all.ndjson"];
    all.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&all, &zendesk_env(&sim), dir.path()).await);
    let mut filtered = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "filtered.ndjson",
        "--action",
        "create",
        "--action",
        "update",
        "--source-type",
        "user",
        "--source-type",
        "rule",
    ];
    filtered.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&filtered, &zendesk_env(&sim), dir.path()).await);

    let everything = exported(&dir.path().join("all.ndjson"));
    let ids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["native_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&everything),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    let matches = |e: &&Value| {
        let raw = &e["raw"];
        ["create", "update"].contains(&raw["action"].as_str().unwrap_or_default())
            && ["user", "rule"].contains(&raw["source_type"].as_str().unwrap_or_default())
    };
    let expected: Vec<Value> = everything.iter().filter(matches).cloned().collect();
    let got = exported(&dir.path().join("filtered.ndjson"));
    assert!(!expected.is_empty());
    assert_eq!(
        ids(&got),
        ids(&expected),
        "exactly the matching records, in order"
    );
    // Both values of both filters were honoured (not only the first of each).
    let actions: HashSet<&str> = got
        .iter()
        .filter_map(|e| e["raw"]["action"].as_str())
        .collect();
    let sources: HashSet<&str> = got
        .iter()
        .filter_map(|e| e["raw"]["source_type"].as_str())
        .collect();
    assert_eq!(actions, HashSet::from(["create", "update"]));
    assert_eq!(sources, HashSet::from(["user", "rule"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_log_filters_with_another_stream_are_a_usage_error() {
    let sim = start(config(10, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &["export", "zendesk-ticket-audits", "--action", "login"],
        &zendesk_env(&sim),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("zendesk-audit-logs"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn realtime_pages_too_large_for_the_vendor_are_read_smaller() {
    let mut config = recent_config(1_800);
    // Realtime pages of more than 300 records are refused as too large: trail asks for 500.
    config.genesys.too_large_threshold = 300;
    let sim = start(config).await;
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
    assert!(expected.len() > 500, "more than one page of the first size");
    assert_eq!(exported_ids(&dir.path().join("realtime.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_with_other_filters_is_refused_and_the_same_filters_continue() {
    let sim = start(config(400, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let (since, end) = fixed_span();
    let middle = since + (end - since) / 2;
    let (since, middle, end) = (since.to_rfc3339(), middle.to_rfc3339(), end.to_rfc3339());
    let run = |until: &str, actions: &[&str]| {
        let mut args: Vec<String> = [
            "export",
            "zendesk-audit-logs",
            "--out",
            "logins.ndjson",
            "--state",
            "state.json",
            "--since",
            &since,
            "--until",
            until,
        ]
        .map(String::from)
        .to_vec();
        for action in actions {
            args.extend(["--action".to_string(), action.to_string()]);
        }
        args
    };
    let first = run(&middle, &["login"]);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    assert_success(&run_trail(&first, &zendesk_env(&sim), dir.path()).await);
    let before = std::fs::read(dir.path().join("logins.ndjson")).unwrap();
    for other in [&[][..], &["login", "create"][..]] {
        let args = run(&end, other);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
        assert_eq!(output.status.code(), Some(2), "{other:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("which was started with the filters action=login"),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("logins.ndjson")).unwrap(),
            before,
            "nothing written"
        );
    }
    let same = run(&end, &["login"]);
    let same: Vec<&str> = same.iter().map(String::as_str).collect();
    assert_success(&run_trail(&same, &zendesk_env(&sim), dir.path()).await);
    let got = exported(&dir.path().join("logins.ndjson"));
    assert!(!got.is_empty());
    assert!(got.iter().all(|e| e["raw"]["action"] == "login"));
}
