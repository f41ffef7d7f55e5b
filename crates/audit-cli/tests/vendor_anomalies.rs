//! The vendor on a bad day (issue 13): the `trail` binary against the simulator with one
//! anomaly each. The contract, per anomaly:
//!
//! - the same command (with a state file), run again after a non-zero exit, ends after at most
//!   [`MAX_RUNS`] runs with exactly the ground truth once, in order (for records the vendor
//!   swapped within a page: the same records, each once); each non-zero exit is exit 1 with a
//!   message on stderr saying what the vendor answered;
//! - `fresh_cursor` at 1.0: a non-zero exit after a bounded number of requests, never a loop;
//! - `huge_rate_limit_reset`: a non-zero exit within seconds whose message names the wait;
//! - an expired ticket-audit cursor in the state: the rerun ends exactly once;
//! - a page the walk refuses (an audit or audit log that is not an object, a ticket-audit
//!   page oldest first) on every attempt of a run: exit 1 naming the problem after the run's attempts,
//!   the output and the state's checkpoint at the last whole page before it; the rerun ends
//!   exactly once;
//! - records the decoder refuses: exit 3, every record present (verbatim JSON text in the
//!   output; invalid UTF-8 in `<out>.quarantine.ndjson` beside it).
//!
//! Every run is bounded by [`RUN_TIMEOUT`]: a hang is a failure, not a stuck test.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;

use audit_sim::anomalies::{RecordType, hits};
use audit_sim::config::SimConfig;
use audit_sim::faults::FaultKind;
use audit_sim::{SimHandle, Stream};
use common::*;

/// Runs of the same command allowed before the export must be complete.
const MAX_RUNS: usize = 4;

/// Longest a single run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(45);

/// What one run did.
struct Run {
    /// Exit code, or `None` when it was killed at the timeout.
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
}

/// Runs `trail` with a deadline; a run still going at `timeout` is killed.
async fn run_bounded(args: &[&str], env: &[(&str, String)], dir: &Path, timeout: Duration) -> Run {
    let stderr_path = dir.join(format!("stderr-{}.txt", std::process::id()));
    let mut command = trail(args, env, dir);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let started = Instant::now();
    let mut child = command.spawn().expect("trail starts");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Run {
        code,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// `export <stream> --out out.ndjson --state state.json` plus `extra`.
fn export_args<'a>(stream: &'a str, extra: &'a [String]) -> Vec<&'a str> {
    let mut args = vec![
        "export",
        stream,
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(extra.iter().map(String::as_str));
    args
}

/// Runs the same export until it exits 0, at most [`MAX_RUNS`] times; every failed run must
/// exit 1 and say why. Returns the runs.
async fn export_until_complete(
    stream: &str,
    extra: &[String],
    env: &[(&str, String)],
    dir: &Path,
) -> Vec<Run> {
    let args = export_args(stream, extra);
    let mut runs = Vec::new();
    for _ in 0..MAX_RUNS {
        let run = run_bounded(&args, env, dir, RUN_TIMEOUT).await;
        let code = run.code;
        match code {
            Some(0) => {
                runs.push(run);
                return runs;
            }
            None => panic!(
                "{stream}: run {} hung (killed after {:?}); stderr:\n{}",
                runs.len() + 1,
                RUN_TIMEOUT,
                run.stderr
            ),
            Some(code) => {
                assert_eq!(
                    code, 1,
                    "{stream}: a failed run exits 1; stderr:\n{}",
                    run.stderr
                );
                let said = run.stderr.to_lowercase();
                assert!(
                    said.contains("answered") || said.contains("vendor"),
                    "{stream}: a failed run says what the vendor answered:\n{}",
                    run.stderr
                );
                runs.push(run);
            }
        }
    }
    panic!(
        "{stream}: still failing after {MAX_RUNS} runs; last stderr:\n{}",
        runs.last().map_or("", |r| r.stderr.as_str())
    );
}

/// The native ids of the output, read as text (a line may hold JSON no `Value` can hold,
/// such as a lone surrogate).
fn output_ids(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|line| {
            let key = "\"native_id\":\"";
            let at = line.find(key).expect("every line has a native_id") + key.len();
            let end = line[at..].find('"').expect("a closed string");
            line[at..at + end].to_string()
        })
        .collect()
}

/// Asserts the output is exactly `truth`, saying how it differs.
fn assert_exact(dir: &Path, truth: &[String], what: &str) {
    let ids = output_ids(&dir.join("out.ndjson"));
    if ids == truth {
        return;
    }
    let set: std::collections::HashSet<&String> = ids.iter().collect();
    let missing = truth.iter().filter(|id| !set.contains(id)).count();
    let mut seen = std::collections::HashSet::new();
    let duplicates = ids.iter().filter(|id| !seen.insert(*id)).count();
    panic!(
        "{what}: {} exported, {} in the ground truth ({missing} missing, {duplicates} duplicates)",
        ids.len(),
        truth.len()
    );
}

/// Records committed in the state file for the one stream it holds (0 when there is none).
fn committed_records(state: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(state) else {
        return 0;
    };
    let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
        return 0;
    };
    state["streams"]
        .as_object()
        .and_then(|streams| streams.values().next())
        .and_then(|stream| stream["output"]["records"].as_u64())
        .unwrap_or(0)
}

fn with(mut config: SimConfig, f: impl FnOnce(&mut SimConfig)) -> SimConfig {
    config.faults.seed = 13;
    // Injected 429s and 503s ask for no wait, so that reruns stay fast.
    config.faults.retry_after_secs = 0;
    f(&mut config);
    config
}

fn window() -> Vec<String> {
    window_args().to_vec()
}

/// Runs the contract for a stream over the fixed span and checks the ground truth.
async fn survives(sim: &SimHandle, stream: &str, truth: Stream, what: &str) -> Vec<Run> {
    let dir = tempfile::tempdir().unwrap();
    let runs = export_until_complete(stream, &window(), &all_env(sim), dir.path()).await;
    let truth = ground_truth(sim, truth);
    assert!(!truth.is_empty());
    assert_exact(dir.path(), &truth, what);
    runs
}

// ---------------------------------------------------------------- silent loss

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_envelope_in_the_ticket_audit_walk_loses_nothing() {
    let sim = start(with(config(10, 1_000), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        c.faults.empty_envelope = 0.2;
    }))
    .await;
    survives(
        &sim,
        "zendesk-ticket-audits",
        Stream::ZendeskTicketAudits,
        "ticket audits with `200 {}` pages",
    )
    .await;
    assert!(sim.stats().faults_of("empty_envelope") > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_envelope_among_genesys_results_loses_nothing() {
    let sim = start(with(config(5_000, 10), |c| c.faults.empty_envelope = 0.4)).await;
    survives(
        &sim,
        "genesys-audits",
        Stream::GenesysAudits { service: None },
        "Genesys results with `200 {}` pages",
    )
    .await;
    assert!(sim.stats().faults_of("empty_envelope") > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_page_before_the_end_is_not_believed() {
    let sim = start(with(config(10, 1_000), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        // A premature end is answered only the first time a page is asked for.
        c.faults.empty_page = 0.5;
    }))
    .await;
    survives(
        &sim,
        "zendesk-ticket-audits",
        Stream::ZendeskTicketAudits,
        "ticket audits with premature empty last pages",
    )
    .await;
    assert!(sim.stats().faults_of("empty_page") > 0);

    let sim = start(with(config(6_000, 10), |c| c.faults.empty_page = 0.5)).await;
    survives(
        &sim,
        "genesys-audits",
        Stream::GenesysAudits { service: None },
        "Genesys results with premature empty last pages",
    )
    .await;
    assert!(sim.stats().faults_of("empty_page") > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn records_without_a_timestamp_are_exported_where_the_vendor_placed_them() {
    for (stream, truth, records) in [
        (
            "zendesk-ticket-audits",
            Stream::ZendeskTicketAudits,
            (10, 1_000),
        ),
        ("zendesk-audit-logs", Stream::ZendeskAuditLogs, (1_000, 10)),
        (
            "genesys-audits",
            Stream::GenesysAudits { service: None },
            (1_000, 10),
        ),
    ] {
        let sim = start(with(config(records.0, records.1), |c| {
            c.tenants[0].zendesk.archived_fraction = 0.0;
            c.faults.null_timestamp = 0.01;
        }))
        .await;
        survives(
            &sim,
            stream,
            truth,
            &format!("{stream} with null timestamps"),
        )
        .await;
        assert!(sim.stats().faults_of("null_timestamp") > 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_out_of_order_within_a_page_are_not_lost() {
    for (stream, truth, records) in [
        (
            "zendesk-ticket-audits",
            Stream::ZendeskTicketAudits,
            (10, 1_000),
        ),
        (
            "genesys-audits",
            Stream::GenesysAudits { service: None },
            (3_000, 10),
        ),
    ] {
        let sim = start(with(config(records.0, records.1), |c| {
            c.tenants[0].zendesk.archived_fraction = 0.0;
            c.faults.out_of_order = 0.3;
        }))
        .await;
        let dir = tempfile::tempdir().unwrap();
        export_until_complete(stream, &window(), &all_env(&sim), dir.path()).await;
        assert!(sim.stats().faults_of("out_of_order") > 0);
        // The vendor's own order within a page is not the stream's order: the same records,
        // each once, is the contract here.
        let mut ids = output_ids(&dir.path().join("out.ndjson"));
        let mut expected = ground_truth(&sim, truth);
        assert_eq!(
            ids.len(),
            expected.len(),
            "{stream}: records lost or repeated"
        );
        ids.sort();
        expected.sort();
        assert_eq!(
            ids, expected,
            "{stream}: other records than the ground truth"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn realtime_that_ignores_page_size_is_read_to_the_end() {
    let sim = start(with(recent_config(1_500), |c| {
        c.faults.realtime_ignores_page_size = 1.0;
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let extra = vec!["--since".to_string(), "12d".to_string()];
    export_until_complete("genesys-realtime", &extra, &genesys_env(&sim), dir.path()).await;
    let (start_, end) = sim.span("acme").unwrap();
    let truth = sim
        .ground_truth(
            "acme",
            Stream::GenesysRealtime { service: None },
            start_,
            end,
        )
        .unwrap();
    assert!(truth.len() > 100, "more than a few pages of 25");
    assert_exact(dir.path(), &truth, "realtime pages of 25 without pageCount");
}

// ---------------------------------------------------------------- hangs and dead ends

#[tokio::test(flavor = "multi_thread")]
async fn fresh_cursors_forever_end_in_an_error_not_a_loop() {
    let sim = start(with(config(1_000, 10), |c| c.faults.fresh_cursor = 1.0)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window();
    let args = export_args("zendesk-audit-logs", &window);
    let run = run_bounded(
        &args,
        &zendesk_env(&sim),
        dir.path(),
        Duration::from_secs(30),
    )
    .await;
    let requests = sim.stats().requests_of("zendesk.ListAuditLogs");
    assert!(
        run.code.is_some(),
        "still running after 30 s: a loop ({requests} list requests)"
    );
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    assert!(
        requests <= 200,
        "{requests} list requests before giving up: not bounded"
    );
    assert!(!run.stderr.trim().is_empty());

    // At a tenth, following the cursors reaches everything.
    let sim = start(with(config(1_000, 10), |c| c.faults.fresh_cursor = 0.1)).await;
    survives(
        &sim,
        "zendesk-audit-logs",
        Stream::ZendeskAuditLogs,
        "audit logs with a tenth of fresh cursors",
    )
    .await;
    assert!(sim.stats().faults_of("fresh_cursor") > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_reset_a_day_away_fails_fast_and_names_the_wait() {
    let sim = start(with(config(500, 10), |c| {
        c.faults.huge_rate_limit_reset = 1.0
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let window = window();
    let args = export_args("zendesk-audit-logs", &window);
    let run = run_bounded(
        &args,
        &zendesk_env(&sim),
        dir.path(),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        run.code.is_some(),
        "still sleeping after 20 s (the vendor asked for a day)"
    );
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(20));
    let stderr = run.stderr.to_lowercase();
    assert!(
        ["86400", "86,400", "24h", "24 h", "1 day", "a day", "1d"]
            .iter()
            .any(|w| stderr.contains(w)),
        "the message names the wait:\n{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_dates_in_the_past_do_not_burn_the_retries() {
    // A vendor still limited for 2 s after each such 429, asking every request meanwhile to
    // retry at a time already past: retrying at once burns every attempt within the 2 s.
    let sim = start(with(config(2_000, 10), |c| {
        c.faults.retry_after_past_date = 0.2;
        c.faults.retry_after_past_date_window_ms = 2_000;
    }))
    .await;
    let runs = survives(
        &sim,
        "zendesk-audit-logs",
        Stream::ZendeskAuditLogs,
        "audit logs with 429s asking to retry in the past",
    )
    .await;
    assert!(sim.stats().faults_of("retry_after_past_date") > 0);
    for run in &runs[..runs.len() - 1] {
        assert!(run.stderr.contains("429"), "names the 429:\n{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_ticket_audit_export_whose_cursor_expired_ends_exactly_once() {
    let sim = start(with(config(10, 3_000), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        c.zendesk.cursor_ttl_secs = 2;
        // About 30 pages at 150 ms: a run to interrupt in.
        c.faults.page_latency_ms = 150;
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let window = window();
    let mut args = export_args("zendesk-ticket-audits", &window);
    args.extend(["--commit-interval", "100ms"]);
    let env = zendesk_env(&sim);
    // Interrupt the first run part-way (Ctrl-C commits the output and the cursor).
    let mut child = trail(&args, &env, dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once some pages are committed (the state then holds the next page's cursor).
    let state_path = dir.path().join("state.json");
    wait_for(
        "some records are committed",
        Duration::from_secs(20),
        || committed_records(&state_path) > 0,
        || "nothing committed".to_string(),
    )
    .await;
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the first run was stopped (and committed): {status:?}"
    );
    let committed = committed_records(&state_path);
    let total = ground_truth(&sim, Stream::ZendeskTicketAudits).len() as u64;
    assert!(
        committed > 0 && committed < total,
        "interrupted part-way: {committed} of {total} committed"
    );
    // Let the stored cursor expire.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let run = run_bounded(&args, &env, dir.path(), RUN_TIMEOUT).await;
    assert_eq!(run.code, Some(0), "the rerun ends; stderr:\n{}", run.stderr);
    assert!(
        sim.stats().faults_of("expired_cursor") > 0,
        "the cursor had expired"
    );
    assert_exact(
        dir.path(),
        &ground_truth(&sim, Stream::ZendeskTicketAudits),
        "ticket audits resumed past an expired cursor",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_audits_too_large_for_the_body_cap_shrink_the_page() {
    // 100 audits of 800 KB: 80 MB, over the client's 64 MiB body cap.
    let sim = start(with(config(10, 250), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        c.faults.large_records = 1.0;
        c.faults.large_record_bytes = 800_000;
    }))
    .await;
    survives(
        &sim,
        "zendesk-ticket-audits",
        Stream::ZendeskTicketAudits,
        "ticket audits of 800 KB each",
    )
    .await;
}

// ---------------------------------------------------------------- pages refused on every attempt

/// Attempts of one run at a page (`--max-retries 2`), and how many asks of a page the
/// simulator answers wrongly once it is drawn (`sticky_page_attempts`): every attempt of a
/// run, then right.
const ATTEMPTS: u64 = 3;

/// A stream whose pages `fault` hits (at 0.2, drawn per page) on every attempt of a run: each
/// run that meets one exits 1 saying `said` and that it gave up after its attempts; the output
/// then holds exactly the whole pages before the refused one (a prefix of the ground truth, in
/// pages of 100 where they start from the window's start or a vendor cursor), the state
/// commits that many records, and its checkpoint goes no further (ticket audits: the vendor
/// cursor it resumes from is the last record written; audit logs: the high-water mark is the
/// last record written; the ids kept with either were written).
/// The same command run again continues (the vendor answering those pages by then) and ends
/// with the ground truth once, in order.
async fn a_page_refused_on_every_attempt(stream: &str, fault: FaultKind, said: &str) {
    let (records, truth) = match stream {
        "zendesk-ticket-audits" => ((10, 1_000), Stream::ZendeskTicketAudits),
        "zendesk-audit-logs" => ((1_000, 10), Stream::ZendeskAuditLogs),
        other => panic!("{other}: not a stream of this test"),
    };
    let sim = start(with(config(records.0, records.1), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        match fault {
            FaultKind::NonObjectRecord => c.faults.non_object_record = 0.2,
            FaultKind::AscendingPage => c.faults.ascending_page = 0.2,
            other => panic!("{other:?} is not a page the walk refuses"),
        }
        c.faults.sticky_page_attempts = ATTEMPTS;
    }))
    .await;
    let truth = ground_truth(&sim, truth);
    let z = &sim.sim().tenants[0].zendesk;
    let dir = tempfile::tempdir().unwrap();
    let mut extra = window();
    extra.extend(["--max-retries".to_string(), (ATTEMPTS - 1).to_string()]);
    let args = export_args(stream, &extra);
    let env = zendesk_env(&sim);
    let (out, state) = (dir.path().join("out.ndjson"), dir.path().join("state.json"));
    let mut failed_after_pages = 0;
    for run in 1.. {
        assert!(
            run <= 12,
            "{stream}, {fault:?}: still failing after 12 runs"
        );
        let outcome = run_bounded(&args, &env, dir.path(), RUN_TIMEOUT).await;
        if outcome.code == Some(0) {
            break;
        }
        let stderr = &outcome.stderr;
        assert_eq!(
            outcome.code,
            Some(1),
            "{stream}, run {run}: exit 1; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(said) && stderr.contains(&format!("gave up after {ATTEMPTS} attempt")),
            "{stream}, run {run}: names the problem ({said}) and the attempts:\n{stderr}"
        );
        let written = if out.exists() {
            output_ids(&out)
        } else {
            vec![]
        };
        assert_eq!(
            written,
            truth[..written.len()],
            "{stream}, run {run}: the output is the ground truth up to the refused page"
        );
        // Pages of 100 from the start; a rerun of audit logs re-queries from the high-water
        // second, so its pages start there.
        if run == 1 || stream == "zendesk-ticket-audits" {
            assert_eq!(
                written.len() % 100,
                0,
                "{stream}, run {run}: whole pages only"
            );
        }
        assert_eq!(
            committed_records(&state),
            written.len() as u64,
            "{stream}, run {run}: the state commits what was written"
        );
        let Some(last) = written.last() else {
            continue;
        };
        failed_after_pages += 1;
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        let entry = saved["streams"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        let position = &entry["checkpoint"]["position"];
        let kept = match position["kind"].as_str() {
            Some("newest_first") => {
                assert_eq!(position["complete"], false, "run {run}: {position}");
                let cursor = position["next"]["cursor"].as_str().unwrap();
                let words = audit_sim::paging::decode_cursor_nonced(cursor, 4)
                    .unwrap_or_else(|| panic!("run {run}: a cursor of the simulator: {cursor}"));
                assert_eq!(
                    z.audit_id(words[2]).to_string(),
                    *last,
                    "{stream}, run {run}: the checkpoint resumes after the last record written"
                );
                &position["boundary"]["ids"]
            }
            Some("high_water") => {
                let text = std::fs::read_to_string(&out).unwrap();
                let last_line: serde_json::Value =
                    serde_json::from_str(text.lines().last().unwrap()).unwrap();
                let at = |t: &serde_json::Value| {
                    chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap()
                };
                assert_eq!(
                    at(&position["at"]),
                    at(&last_line["occurred_at"]),
                    "{stream}, run {run}: the high-water mark is the last record written"
                );
                assert!(
                    position["ids"]
                        .as_array()
                        .unwrap()
                        .contains(&last.as_str().into()),
                    "{stream}, run {run}: {position}"
                );
                &position["ids"]
            }
            _ => panic!("{stream}, run {run}: a checkpoint of another kind: {position}"),
        };
        for id in kept.as_array().unwrap() {
            assert!(
                written.contains(&id.as_str().unwrap().to_string()),
                "{stream}, run {run}: the checkpoint's id {id} was written"
            );
        }
    }
    assert_exact(dir.path(), &truth, &format!("{stream} with {fault:?}"));
    assert!(sim.stats().faults_of(fault.name()) > 0);
    assert!(
        failed_after_pages > 0,
        "{stream}, {fault:?}: no run failed part-way (the seed or rate hit no page but the \
         first, or the walk did not refuse the page)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_audit_that_is_not_an_object_fails_the_run_at_the_last_page_written() {
    a_page_refused_on_every_attempt(
        "zendesk-ticket-audits",
        FaultKind::NonObjectRecord,
        "of the page is not a JSON object",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_audit_page_oldest_first_fails_the_run_at_the_last_page_written() {
    a_page_refused_on_every_attempt(
        "zendesk-ticket-audits",
        FaultKind::AscendingPage,
        "the page reads oldest first",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_log_that_is_not_an_object_fails_the_run_at_the_last_page_written() {
    a_page_refused_on_every_attempt(
        "zendesk-audit-logs",
        FaultKind::NonObjectRecord,
        "a record of the page is not a JSON object: 5",
    )
    .await;
}

// ---------------------------------------------------------------- records the decoder refuses

/// A record a record-level kind hit: its native id (before `big_id`) and its text as the
/// simulator serves it.
struct Hit {
    id: String,
    text: Vec<u8>,
}

/// Exports `stream` (audit logs or ticket audits, 300 records) with one record-level kind at
/// 2%; returns the records hit, the directory and the ground truth.
async fn refused(kind: FaultKind, stream: &str) -> (Vec<Hit>, tempfile::TempDir, Vec<String>, Run) {
    let (records, truth, record_type) = match stream {
        "zendesk-audit-logs" => ((300, 10), Stream::ZendeskAuditLogs, RecordType::ZendeskLog),
        "zendesk-ticket-audits" => (
            (10, 300),
            Stream::ZendeskTicketAudits,
            RecordType::ZendeskAudit,
        ),
        other => panic!("{other}: not a stream of this test"),
    };
    let sim = start(with(config(records.0, records.1), |c| {
        c.tenants[0].zendesk.archived_fraction = 0.0;
        match kind {
            FaultKind::LoneSurrogate => c.faults.lone_surrogate = 0.02,
            FaultKind::InvalidUtf8 => c.faults.invalid_utf8 = 0.02,
            FaultKind::HugeNumber => c.faults.huge_number = 0.02,
            FaultKind::BigId => c.faults.big_id = 0.02,
            other => panic!("{other:?} is not a record kind"),
        }
    }))
    .await;
    let truth = ground_truth(&sim, truth);
    let z = &sim.sim().tenants[0].zendesk;
    let (start_, end) = fixed_span();
    let in_span = |time: i64| (start_.timestamp()..=end.timestamp()).contains(&time);
    let (id, render): (Vec<i64>, Vec<serde_json::Value>) = match record_type {
        RecordType::ZendeskLog => (0..300)
            .filter(|&i| in_span(z.log_time(i)))
            .map(|i| (z.log_id(i), z.render_log(i, sim.zendesk_url())))
            .unzip(),
        _ => (0..300)
            .filter(|&i| in_span(z.audit_time(i)))
            .map(|i| (z.audit_id(i), z.render_audit(i, false)))
            .unzip(),
    };
    let hit: Vec<Hit> = id
        .into_iter()
        .zip(render)
        .map(|(id, record)| (id.to_string(), record))
        .filter(|(id, _)| hits(sim.sim(), kind, record_type, id))
        .map(|(id, record)| Hit {
            id,
            text: audit_sim::anomalies::zendesk_record(sim.sim(), record_type, record),
        })
        .collect();
    assert!(!hit.is_empty(), "{stream}: {kind:?} hit some record");
    let dir = tempfile::tempdir().unwrap();
    let window = window();
    let args = export_args(stream, &window);
    let run = run_bounded(&args, &zendesk_env(&sim), dir.path(), RUN_TIMEOUT).await;
    assert_eq!(
        run.code,
        Some(3),
        "{stream}, {kind:?}: complete with refused records is exit 3; stderr:\n{}",
        run.stderr
    );
    (hit, dir, truth, run)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lone_surrogate_is_written_verbatim() {
    let (hit, dir, truth, _) = refused(FaultKind::LoneSurrogate, "zendesk-audit-logs").await;
    assert_exact(dir.path(), &truth, "audit logs with lone surrogates");
    let text = std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap();
    assert_eq!(
        text.matches("\\ud800").count(),
        hit.len(),
        "the escape is kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_beyond_f64_is_written_verbatim() {
    let (hit, dir, truth, _) = refused(FaultKind::HugeNumber, "zendesk-audit-logs").await;
    assert_exact(dir.path(), &truth, "audit logs with 1e400");
    let text = std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap();
    assert_eq!(
        text.matches("1e400").count(),
        hit.len(),
        "the number is kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_beyond_i64_is_written_verbatim() {
    let (hit, dir, truth, _) = refused(FaultKind::BigId, "zendesk-audit-logs").await;
    // The ground truth names those records by their big ids (the id plus 2^65).
    assert_exact(dir.path(), &truth, "audit logs with ids beyond i64");
    for Hit { id, .. } in &hit {
        let big = (id.parse::<u128>().unwrap() + audit_sim::anomalies::BIG_ID_OFFSET).to_string();
        assert!(truth.contains(&big));
    }
}

/// Audit logs (decoded with their page) and ticket audits (decoded after the next page is
/// asked for, each carrying its quarantine claim as a `raw_support::RecordText`): every record
/// with bytes that are not UTF-8 is exported from a lossy copy, marked, and its bytes as the
/// vendor sent them are in the quarantine file, one line each, naming the output line that
/// holds it.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_goes_to_the_quarantine_file_byte_for_byte() {
    for stream in ["zendesk-audit-logs", "zendesk-ticket-audits"] {
        let (hit, dir, truth, _) = refused(FaultKind::InvalidUtf8, stream).await;
        // Every record is exported (those with bad bytes from a lossy copy, marked) ...
        assert_exact(dir.path(), &truth, &format!("{stream} with invalid UTF-8"));
        let output = std::fs::read(dir.path().join("out.ndjson")).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(output)
            .expect("the output is UTF-8 text")
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        // ... and the original bytes of each of those are in the quarantine file.
        let quarantine = dir.path().join("out.ndjson.quarantine.ndjson");
        let text = std::fs::read_to_string(&quarantine)
            .unwrap_or_else(|e| panic!("{stream}: {}: {e}", quarantine.display()));
        let entries: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            entries.len(),
            hit.len(),
            "{stream}: one quarantine line per record hit"
        );
        for Hit { id, text } in &hit {
            let entry = entries
                .iter()
                .find(|e| {
                    e["id"]
                        .as_str()
                        .is_some_and(|i| i.ends_with(&format!(":{id}")))
                })
                .unwrap_or_else(|| panic!("{stream}: record {id} is in the quarantine file"));
            assert_eq!(entry["stream"], stream, "{entry}");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(entry["bytes_base64"].as_str().unwrap())
                .unwrap();
            assert!(
                bytes.windows(2).any(|w| w == [0xff, 0xfe]),
                "{stream}: record {id}: the bytes that are not UTF-8 are kept"
            );
            assert!(
                bytes == *text,
                "{stream}: record {id}: its bytes are the record as sent, byte for byte"
            );
            let line = &lines[entry["record"].as_u64().unwrap() as usize];
            assert_eq!(
                line["native_id"].as_str(),
                Some(id.as_str()),
                "{stream}: the quarantine line names the output line of record {id}"
            );
            assert!(
                line["decode_issue"].is_object() || line["decode_issue"].is_string(),
                "{stream}: record {id} is marked: {line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_wait_is_announced_at_the_default_verbosity() {
    // Issue 13: every wait longer than a few seconds is visible (what, why, until when). A
    // warning is shown on a terminal too (where only warnings and errors are logged).
    let sim = start(with(config(300, 10), |c| {
        c.faults.status_429 = 0.3;
        c.faults.retry_after_secs = 6;
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let window = window();
    let args = export_args("zendesk-audit-logs", &window);
    let run = run_bounded(&args, &zendesk_env(&sim), dir.path(), RUN_TIMEOUT).await;
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(sim.stats().faults_of("status_429") > 0, "no 429 was met");
    let announced = run
        .stderr
        .lines()
        .find(|line| line.contains("WARN") && line.contains("waiting before retrying"))
        .unwrap_or_else(|| panic!("no warning of the wait:\n{}", run.stderr));
    assert!(announced.contains("wait_s=6"), "how long: {announced}");
    assert!(announced.contains("until="), "until when: {announced}");
    assert!(announced.contains("429"), "why: {announced}");
}
