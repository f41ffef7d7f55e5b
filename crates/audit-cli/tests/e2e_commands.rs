//! The other commands and modes against the simulator: `count`, `make-private`, Ctrl-C
//! during an export, and `--follow` picking up records as they arrive until SIGTERM.

mod common;

use std::time::Duration;

use audit_sim::Stream;
use audit_sim::config::TimeSpec;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn count_reports_the_audits_of_a_ticket() {
    let sim = start(config(10, 300)).await;
    let (ticket, audits) = a_ticket(&sim);
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &["count", &ticket.to_string()],
        &zendesk_env(&sim),
        dir.path(),
    )
    .await;
    assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("ticket {ticket}: {} audits", audits.len())),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn make_private_succeeds_and_an_unknown_ticket_is_a_clear_error() {
    let sim = start(config(10, 300)).await;
    let (ticket, audits) = a_ticket(&sim);
    let dir = tempfile::tempdir().unwrap();
    let env = zendesk_env(&sim);
    let output = run_trail(
        &["make-private", &ticket.to_string(), &audits[0]],
        &env,
        dir.path(),
    )
    .await;
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("is now private"));

    let output = run_trail(&["make-private", "999999999", "1"], &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

fn interrupt(pid: u32) {
    signal(pid, libc::SIGINT);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_commits_and_exits_0_and_the_same_command_finishes_the_export() {
    let sim = start_slow(5_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let reference: Vec<&str> = ["export", "zendesk-audit-logs", "--out", "reference.ndjson"]
        .into_iter()
        .chain(window.iter().map(String::as_str))
        .collect();
    assert_success(&run_trail(&reference, &env, dir.path()).await);

    let args: Vec<&str> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ]
    .into_iter()
    .chain(window.iter().map(String::as_str))
    .collect();
    let child = trail(&args, &env, dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    interrupt(child.id());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stopped: everything written so far is committed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run the same command to continue"),
        "{stderr}"
    );
    // Stopped cleanly: what was written is exactly what was committed.
    let committed = committed_records(&dir.path().join("state.json"));
    assert!(committed > 0 && committed < 5_000, "{committed}");
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")).len() as u64,
        committed
    );

    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        std::fs::read(dir.path().join("out.ndjson")).unwrap(),
        std::fs::read(dir.path().join("reference.ndjson")).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_picks_up_records_as_they_arrive() {
    // Records keep arriving for the next 6 seconds.
    let mut sim_config = config(3_000, 10);
    sim_config.tenants[0].start = TimeSpec::Now(chrono::Duration::seconds(-60));
    sim_config.tenants[0].end = TimeSpec::Now(chrono::Duration::seconds(6));
    let sim = start(sim_config).await;
    let (start_at, end_at) = sim.span("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = follow_args("zendesk-audit-logs", start_at, &[]);
    let child = trail(&args, &zendesk_env(&sim), dir.path())
        .spawn()
        .unwrap();
    // Let the last record arrive and be exported; then stopped as a service manager stops it:
    // SIGTERM commits and exits 0, like Ctrl-C.
    let state = dir.path().join("state.json");
    let status = follow_then_stop(child, &state, 3_000, end_at).await;
    assert_eq!(status.code(), Some(0));
    let expected = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, start_at, end_at)
        .unwrap();
    assert_eq!(expected.len(), 3_000);
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")), expected);
}
