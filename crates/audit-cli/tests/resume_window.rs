//! A resumed run whose window or mode differs from the recorded one does what was asked
//! (extends the window, follows) or refuses, before the first request; a realtime window
//! older than realtime reaches is refused. The `trail` binary against the simulator.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use audit_sim::Stream;
use chrono::TimeDelta;
use common::*;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_usage_error(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(
        stderr(output).contains(expected),
        "expected `{expected}` in:\n{}",
        stderr(output)
    );
}

/// The ground truth of the audit logs that end no later than `until`.
fn logs_until(sim: &audit_sim::SimHandle, until: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let (start, _) = fixed_span();
    sim.ground_truth("acme", Stream::ZendeskAuditLogs, start, until)
        .unwrap()
}

fn export<'a>(since: &'a str, until: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
        "--since",
        since,
    ];
    if let Some(until) = until {
        args.extend(["--until", until]);
    }
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_until_extends_and_an_earlier_window_is_refused() {
    let sim = start(config(600, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let (start, end) = fixed_span();
    let middle = start + (end - start) / 2;
    let (start, middle_text, end_text) =
        (start.to_rfc3339(), middle.to_rfc3339(), end.to_rfc3339());

    assert_success(&run_trail(&export(&start, Some(&middle_text)), &env, dir.path()).await);
    let half = logs_until(&sim, middle);
    assert!(half.len() > 100 && half.len() < 500, "{}", half.len());
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")), half);

    // A later --until continues from the checkpoint to the new end.
    assert_success(&run_trail(&export(&start, Some(&end_text)), &env, dir.path()).await);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    let exported = std::fs::read(dir.path().join("out.ndjson")).unwrap();
    let requests = sim.stats().requests.values().sum::<u64>();

    // An earlier --until, or an earlier --since, is refused, and says how to start anew.
    let output = run_trail(&export(&start, Some(&middle_text)), &env, dir.path()).await;
    assert_usage_error(&output, "ends before the export of zendesk-audit-logs@acme");
    assert!(
        stderr(&output).contains("another --out"),
        "{}",
        stderr(&output)
    );
    let earlier = (fixed_span().0 - TimeDelta::days(1)).to_rfc3339();
    let output = run_trail(&export(&earlier, Some(&end_text)), &env, dir.path()).await;
    assert_usage_error(
        &output,
        "starts before the export of zendesk-audit-logs@acme",
    );
    assert!(
        stderr(&output).contains("--since 2024-05-01T00:00:00Z (or later)"),
        "{}",
        stderr(&output)
    );

    assert_eq!(sim.stats().requests.values().sum::<u64>(), requests);
    assert_eq!(
        std::fs::read(dir.path().join("out.ndjson")).unwrap(),
        exported
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_on_resume_follows() {
    let sim = start(config(400, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let (start, end) = fixed_span();
    let middle = start + (end - start) / 2;
    let start = start.to_rfc3339();
    assert_success(
        &run_trail(
            &export(&start, Some(&middle.to_rfc3339())),
            &env,
            dir.path(),
        )
        .await,
    );
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        logs_until(&sim, middle)
    );

    let mut args = export(&start, None);
    args.extend([
        "--follow",
        "--poll-interval",
        "1s",
        "--commit-interval",
        "10ms",
    ]);
    let mut child = trail(&args, &env, dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let expected = ground_truth(&sim, Stream::ZendeskAuditLogs);
    let out = dir.path().join("out.ndjson");
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_ids(&out).len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Following: still running once caught up; Ctrl-C (SIGTERM) stops it.
    assert!(
        child.try_wait().unwrap().is_none(),
        "a follow run keeps running"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(exported_ids(&out), expected);
}

/// The ids in `path`, complete lines only (a writer may be in the middle of one).
fn read_ids(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            event["native_id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_relative_since_is_the_same_window() {
    let sim = start(recent_config(200)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    assert_success(&run_trail(&export("12d", None), &env, dir.path()).await);
    let exported = std::fs::read(dir.path().join("out.ndjson")).unwrap();
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")).len(), 200);
    // `12d` again, moments later, resolves a little later: the same export, nothing new.
    assert_success(&run_trail(&export("12d", None), &env, dir.path()).await);
    assert_eq!(
        std::fs::read(dir.path().join("out.ndjson")).unwrap(),
        exported
    );
    // `13d` starts earlier than the export did.
    let output = run_trail(&export("13d", None), &env, dir.path()).await;
    assert_usage_error(&output, "--since 13d starts before");
    assert!(
        stderr(&output).contains("--since 12d"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_realtime_window_older_than_14_days_is_a_usage_error() {
    let sim = start(recent_config(50)).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &[
            "export",
            "genesys-realtime",
            "--since",
            "20d",
            "--out",
            "rt.ndjson",
        ],
        &genesys_env(&sim),
        dir.path(),
    )
    .await;
    assert_usage_error(&output, "realtime queries reach back 14 days only");
    assert!(
        stderr(&output).contains("genesys-audits"),
        "{}",
        stderr(&output)
    );
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
    assert!(!dir.path().join("rt.ndjson").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stream_extends_its_window_exactly_once() {
    let sim = start(config(600, 600)).await;
    let env = all_env(&sim);
    let (start, end) = fixed_span();
    let middle = start + (end - start) / 2;
    for (stream, truth) in [
        ("zendesk-ticket-audits", Stream::ZendeskTicketAudits),
        ("genesys-audits", Stream::GenesysAudits { service: None }),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = |until: String| {
            let args: Vec<String> = [
                "export",
                stream,
                "--out",
                "out.ndjson",
                "--state",
                "state.json",
                "--since",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([start.to_rfc3339(), "--until".into(), until])
            .collect();
            let (env, dir) = (env.clone(), dir.path().to_path_buf());
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run_trail(&args, &env, &dir).await
            }
        };
        assert_success(&run(middle.to_rfc3339()).await);
        let half = exported_ids(&dir.path().join("out.ndjson"));
        assert_success(&run(end.to_rfc3339()).await);
        let mut exported = exported_ids(&dir.path().join("out.ndjson"));
        assert!(
            half.len() > 100 && exported.len() > half.len() + 100,
            "{stream}"
        );
        assert_eq!(
            exported[..half.len()],
            half[..],
            "{stream}: the first run's records stay"
        );
        // Every record once (a newest-first stream reads the extension as a pass of its own).
        let mut expected = ground_truth(&sim, truth);
        exported.sort();
        expected.sort();
        assert_eq!(exported, expected, "{stream}");
    }
}
