//! Exactly-once resume under SIGKILL: `trail export --state` is killed at several seeded
//! random points of a large export and started again with the same command each time; the
//! final output is byte-identical to an uninterrupted run. Six seeded kills per stream, each
//! checked to have hit a running export: 24 SIGKILLs over the four streams (issue 7 asks for
//! 20), 20 more on `zendesk-ticket-events` alone (issue 17 asks for 20 on it), and 20 on a
//! sliced (`--parallel`) export of audit logs (issue 18).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use audit_sim::config::{RateLimitConfig, SimConfig};
use common::*;

/// Records committed in the state file for the one stream it holds (0 when there is none).
fn committed_records(state: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(state) else {
        return 0;
    };
    let state: serde_json::Value =
        serde_json::from_str(&text).expect("the state file is whole JSON");
    state["streams"]
        .as_object()
        .and_then(|streams| streams.values().next())
        .map_or(0, |stream| stream["output"]["records"].as_u64().unwrap())
}

async fn kill_and_resume(stream: &str, seed: u64, sim_config: SimConfig, window: &[String]) {
    kill_and_resume_times(stream, seed, sim_config, window, 6).await;
}

async fn kill_and_resume_times(
    stream: &str,
    seed: u64,
    sim_config: SimConfig,
    window: &[String],
    times: u32,
) {
    let run = Killed {
        times,
        delays_ms: (300, 1_500),
        commit_interval: "500ms",
        extra: &[],
    };
    kill_and_resume_with(stream, seed, sim_config, window, run).await;
}

/// How the runs of a kill test are killed, and what they are given beyond the reference's
/// arguments.
struct Killed<'a> {
    times: u32,
    /// The kill comes this long after the start (ms, seeded uniform).
    delays_ms: (u64, u64),
    commit_interval: &'a str,
    extra: &'a [&'a str],
}

async fn kill_and_resume_with(
    stream: &str,
    seed: u64,
    mut sim_config: SimConfig,
    window: &[String],
    run: Killed<'_>,
) {
    let times = run.times;
    // About 60 pages at 100 ms each: an export of about 6 s to kill in.
    sim_config.faults.page_latency_ms = 100;
    let sim = start(sim_config).await;
    let mut env = all_env(&sim);
    // The incremental export's own limit is lifted in the simulator: not paced either.
    env.push(("ZENDESK_INCREMENTAL_RPM", "0".to_string()));
    let dir = tempfile::tempdir().unwrap();

    let reference_args: Vec<&str> = ["export", stream, "--out", "reference.ndjson"]
        .into_iter()
        .chain(window.iter().map(String::as_str))
        .collect();
    assert_success(&run_trail(&reference_args, &env, dir.path()).await);
    let reference = std::fs::read(dir.path().join("reference.ndjson")).unwrap();
    let total = reference.iter().filter(|b| **b == b'\n').count() as u64;

    let args: Vec<&str> = [
        "export",
        stream,
        "--out",
        "resumed.ndjson",
        "--state",
        "state.json",
        // Several pages per commit, so kills strand written but uncommitted records (and
        // partial lines) that the next run must drop.
        "--commit-interval",
        run.commit_interval,
    ]
    .into_iter()
    .chain(window.iter().map(String::as_str))
    .chain(run.extra.iter().copied())
    .collect();
    let mut kill_points = Seeded(seed);
    let mut killed_mid_export = 0;
    let mut kills = 0;
    for _ in 0..times {
        let mut child = trail(&args, &env, dir.path()).spawn().unwrap();
        let delay = kill_points.next_in(run.delays_ms.0, run.delays_ms.1);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        // `Child::kill` is SIGKILL: no chance to clean up.
        let _ = child.kill();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        let committed = committed_records(&dir.path().join("state.json"));
        eprintln!("{stream}: kill after {delay} ms: {status:?}, {committed} of {total} committed");
        if status.signal() == Some(libc::SIGKILL) {
            kills += 1;
        }
        if !status.success() && committed > 0 && committed < total {
            killed_mid_export += 1;
        }
    }
    // Issue 7 asks for 20 SIGKILLs over exports of every stream: 6 per stream, each of which
    // must hit a running export (24 in all).
    assert_eq!(
        kills, times,
        "{stream}: only {kills} of the {times} kills hit a running trail"
    );
    assert!(
        killed_mid_export >= times / 2,
        "only {killed_mid_export} kills landed between two commits of the export"
    );
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    let resumed = std::fs::read(dir.path().join("resumed.ndjson")).unwrap();
    assert_eq!(resumed.len(), reference.len(), "{stream}: sizes differ");
    assert!(
        resumed == reference,
        "{stream}: the resumed output differs from the reference"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_audit_logs_survive_sigkill() {
    kill_and_resume("zendesk-audit-logs", 1, config(6_000, 10), &window_args()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sliced_zendesk_audit_logs_survive_20_sigkills() {
    // `--parallel` against a limit of 20 requests a second (the sequential reference, at
    // 100 ms a page, makes 10): the walks grow until the limit binds, slices ahead spool,
    // and every kill throws the spools away. 200 pages: each run, killed after 150–700 ms,
    // commits a few of them, so all 20 kills land in a running export. The reference is an
    // uninterrupted sequential export.
    let mut sim_config = config(20_000, 10);
    sim_config.zendesk.rate_limit = RateLimitConfig {
        requests: 20,
        window_secs: 1,
    };
    let run = Killed {
        times: 20,
        delays_ms: (150, 700),
        commit_interval: "200ms",
        extra: &["--parallel"],
    };
    kill_and_resume_with("zendesk-audit-logs", 6, sim_config, &window_args(), run).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_ticket_audits_survive_sigkill() {
    kill_and_resume(
        "zendesk-ticket-audits",
        2,
        config(10, 6_000),
        &window_args(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_ticket_events_survive_20_sigkills() {
    // 24,000 updates, archived tickets included, in pages of 100 (the simulator's page length):
    // every page's last second comes again at the start of the next. At 100 ms a page, a run
    // killed after 300–1,500 ms exports at most about 1,200 of them: all 20 kills land in a
    // running export (10,000 ran out after 18 in CI).
    let mut sim_config = config(10, 24_000);
    sim_config.zendesk.incremental_page_size = 100;
    sim_config.zendesk.incremental_rate_limit.requests = 0;
    kill_and_resume_times("zendesk-ticket-events", 5, sim_config, &window_args(), 20).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_audits_survive_sigkill() {
    // 30,000 records in pages of 500.
    kill_and_resume("genesys-audits", 3, config(30_000, 10), &window_args()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_realtime_survives_sigkill() {
    let window = ["--since".to_string(), "12d".to_string()];
    kill_and_resume("genesys-realtime", 4, recent_config(30_000), &window).await;
}
