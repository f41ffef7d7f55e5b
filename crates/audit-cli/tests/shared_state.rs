//! The state file and the outputs are safe to share: the `trail` binary against the simulator.
//!
//! - two processes on one state file keep each other's entries (50 rounds, both outputs
//!   exact), and one export started twice at once writes its output once;
//! - an output belongs to one export: a second owner, an output no state records, `--out` =
//!   `--state`, and one file spelled two ways are refused before the first request;
//! - one stream written to two outputs keeps two entries and resumes both;
//! - a state directory that does not exist is refused before the first request;
//! - a failed write leaves no partial line and no temporary file behind, in the output or
//!   in the state file.

mod common;

use std::path::Path;
use std::process::Output;

use audit_sim::{SimHandle, Stream};
use common::*;

fn state_entries(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["streams"].as_object().unwrap().clone()
}

fn requests(sim: &SimHandle) -> u64 {
    sim.stats().requests.values().sum()
}

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

/// `export <stream> --out <out> --state <state>` over the fixed span, committing every page.
fn export_args<'a>(
    stream: &'a str,
    out: &'a str,
    state: &'a str,
    window: &'a [String],
) -> Vec<&'a str> {
    let mut args = vec![
        "export",
        stream,
        "--out",
        out,
        "--state",
        state,
        "--commit-interval",
        "1ms",
    ];
    args.extend(window.iter().map(String::as_str));
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_sharing_a_state_file_keep_each_others_entries() {
    let sim = start(config(450, 10)).await;
    let env = all_env(&sim);
    let window = window_args();
    let logs = ground_truth(&sim, Stream::ZendeskAuditLogs);
    let audits = ground_truth(&sim, Stream::GenesysAudits { service: None });
    for round in 0..50 {
        let dir = tempfile::tempdir().unwrap();
        // Four processes at once: two streams on one state file, and one stream to two
        // outputs on another.
        let runs = [
            ("zendesk-audit-logs", "a.ndjson", "shared.json"),
            ("genesys-audits", "b.ndjson", "shared.json"),
            ("zendesk-audit-logs", "c.ndjson", "same.json"),
            ("zendesk-audit-logs", "d.ndjson", "same.json"),
        ];
        let children: Vec<_> = runs
            .iter()
            .map(|(stream, out, state)| {
                trail(&export_args(stream, out, state, &window), &env, dir.path())
                    .stderr(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|child| child.wait_with_output().unwrap())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for (output, (stream, out, _)) in outputs.iter().zip(&runs) {
            assert!(
                output.status.success(),
                "round {round}, {stream} to {out}: {}",
                stderr(output)
            );
        }
        let path = |name: &str| dir.path().join(name);
        assert_eq!(exported_ids(&path("a.ndjson")), logs, "round {round}");
        assert_eq!(exported_ids(&path("b.ndjson")), audits, "round {round}");
        assert_eq!(exported_ids(&path("c.ndjson")), logs, "round {round}");
        assert_eq!(exported_ids(&path("d.ndjson")), logs, "round {round}");
        for (state, expected) in [
            ("shared.json", [logs.len(), audits.len()]),
            ("same.json", [logs.len(), logs.len()]),
        ] {
            let entries = state_entries(&path(state));
            let records: Vec<usize> = entries
                .values()
                .map(|entry| entry["output"]["records"].as_u64().unwrap() as usize)
                .collect();
            let mut records = records;
            records.sort();
            let mut expected = expected.to_vec();
            expected.sort();
            assert_eq!(
                records, expected,
                "round {round}: entries of {state}: {entries:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_export_started_twice_at_once_writes_its_output_once() {
    let sim = start(config(450, 10)).await;
    let env = zendesk_env(&sim);
    let window = window_args();
    let logs = ground_truth(&sim, Stream::ZendeskAuditLogs);
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let args = export_args("zendesk-audit-logs", "out.ndjson", "state.json", &window);
        let children: Vec<_> = (0..2)
            .map(|_| {
                trail(&args, &env, dir.path())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|child| child.wait_with_output().unwrap())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        // Each run either did the export (or found it done), or was refused while the other
        // one wrote.
        for output in &outputs {
            match output.status.code() {
                Some(0) => {}
                Some(2) => assert!(
                    stderr(output).contains("another trail process is writing out.ndjson"),
                    "round {round}: {}",
                    stderr(output)
                ),
                _ => panic!("round {round}: {}", stderr(output)),
            }
        }
        assert!(outputs.iter().any(|o| o.status.success()), "round {round}");
        assert_eq!(
            exported_ids(&dir.path().join("out.ndjson")),
            logs,
            "round {round}"
        );
        assert_eq!(state_entries(&dir.path().join("state.json")).len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_belongs_to_one_export() {
    let sim = start(config(120, 10)).await;
    let env = all_env(&sim);
    let window = window_args();
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &export_args("zendesk-audit-logs", "dup.ndjson", "one.json", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_success(&output);
    let exported = std::fs::read(dir.path().join("dup.ndjson")).unwrap();
    let state = std::fs::read(dir.path().join("one.json")).unwrap();
    let before = requests(&sim);

    // A second stream, same output, same state file (spelled another way).
    let second_owner = export_args("genesys-audits", "./dup.ndjson", "one.json", &window);
    let output = run_trail(&second_owner, &env, dir.path()).await;
    assert_usage_error(
        &output,
        "is the output of zendesk-audit-logs@acme in the state file",
    );
    // The same, with another (new, or mistyped) state file, and with none.
    let output = run_trail(
        &export_args("genesys-audits", "dup.ndjson", "two.json", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_usage_error(&output, "that no entry of the state file two.json records");
    assert!(
        stderr(&output).contains("--overwrite"),
        "{}",
        stderr(&output)
    );
    let mut no_state = vec!["export", "genesys-audits", "--out", "dup.ndjson"];
    no_state.extend(window.iter().map(String::as_str));
    let output = run_trail(&no_state, &env, dir.path()).await;
    assert_usage_error(&output, "that no --state records");
    // The output is the state file.
    let output = run_trail(
        &export_args("genesys-audits", "./one.json", "one.json", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_usage_error(&output, "is the state file");
    // Two exports of one --all run, one file spelled two ways.
    let config = format!(
        "{}\
         [[export]]\nstream = \"zendesk-audit-logs\"\naccount = \"acme\"\nout = \"all.ndjson\"\n\n\
         [[export]]\nstream = \"zendesk-ticket-audits\"\naccount = \"acme\"\nout = \"./all.ndjson\"\n",
        zendesk_account(&sim, &env),
    );
    std::fs::write(dir.path().join("trail.toml"), config).unwrap();
    let mut all = vec![
        "export",
        "--all",
        "--config",
        "trail.toml",
        "--state",
        "one.json",
    ];
    all.extend(window.iter().map(String::as_str));
    let output = run_trail(&all, &env, dir.path()).await;
    assert_usage_error(&output, "[[export]] #1 and #2 both write to");

    assert_eq!(requests(&sim), before, "refused before the first request");
    assert_eq!(
        std::fs::read(dir.path().join("dup.ndjson")).unwrap(),
        exported
    );
    assert_eq!(std::fs::read(dir.path().join("one.json")).unwrap(), state);
    assert!(!dir.path().join("all.ndjson").exists());

    // --overwrite replaces an output no state records, as the hint says.
    no_state.push("--overwrite");
    let output = run_trail(&no_state, &env, dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("dup.ndjson")),
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_stream_to_two_outputs_keeps_two_entries_and_resumes_both() {
    let sim = start(config(300, 10)).await;
    let env = zendesk_env(&sim);
    let window = window_args();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\
         [[export]]\nstream = \"zendesk-audit-logs\"\naccount = \"acme\"\nout = \"archive.ndjson\"\n\n\
         [[export]]\nstream = \"zendesk-audit-logs\"\naccount = \"acme\"\nout = \"copy.ocsf\"\nformat = \"ocsf\"\n",
        zendesk_account(&sim, &env),
    );
    std::fs::write(dir.path().join("trail.toml"), config).unwrap();
    let mut all = vec![
        "export",
        "--all",
        "--config",
        "trail.toml",
        "--state",
        "state.json",
    ];
    all.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&all, &env, dir.path()).await);
    let archive = std::fs::read(dir.path().join("archive.ndjson")).unwrap();
    let copy = std::fs::read(dir.path().join("copy.ocsf")).unwrap();
    assert_eq!(state_entries(&dir.path().join("state.json")).len(), 2);

    // The next run resumes both: nothing new, nothing written twice.
    let output = run_trail(&all, &env, dir.path()).await;
    assert_success(&output);
    assert_eq!(
        std::fs::read(dir.path().join("archive.ndjson")).unwrap(),
        archive
    );
    assert_eq!(std::fs::read(dir.path().join("copy.ocsf")).unwrap(), copy);
    assert_eq!(
        exported_ids(&dir.path().join("archive.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert_eq!(
        std::str::from_utf8(&copy).unwrap().lines().count(),
        300,
        "the OCSF copy holds every record once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_state_directory_is_refused_before_the_first_request() {
    let sim = start(config(50, 10)).await;
    let window = window_args();
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &export_args(
            "zendesk-audit-logs",
            "out.ndjson",
            "missing/state.json",
            &window,
        ),
        &zendesk_env(&sim),
        dir.path(),
    )
    .await;
    assert_usage_error(&output, "missing/state.json");
    assert!(
        stderr(&output).contains("existing, writable directory"),
        "{}",
        stderr(&output)
    );
    assert_eq!(requests(&sim), 0);
    assert!(!dir.path().join("out.ndjson").exists());
}

/// Runs `trail` with writes limited to `limit` bytes per file (RLIMIT_FSIZE; SIGXFSZ ignored
/// so a write past it fails with EFBIG, as on a full disk).
async fn run_trail_with_file_size_limit(
    args: &[&str],
    env: &[(&str, String)],
    dir: &Path,
    limit: u64,
) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = trail(args, env, dir);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_write_leaves_no_partial_line_and_no_temporary_file() {
    let sim = start(config(2_000, 10)).await;
    let env = zendesk_env(&sim);
    let window = window_args();
    let dir = tempfile::tempdir().unwrap();
    // What a crashed run of a process that no longer runs left behind.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = dir.path().join(format!(".state.json.{dead}.tmp"));
    std::fs::write(&stale, "{").unwrap();

    let args = export_args("zendesk-audit-logs", "out.ndjson", "state.json", &window);
    let output = run_trail_with_file_size_limit(&args, &env, dir.path(), 150_000).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let written = std::fs::read(dir.path().join("out.ndjson")).unwrap();
    assert!(!written.is_empty(), "some pages were committed first");
    assert_eq!(written.last(), Some(&b'\n'), "no partial last line");
    let entries = state_entries(&dir.path().join("state.json"));
    let entry = entries.values().next().unwrap();
    assert_eq!(
        entry["output"]["bytes"].as_u64(),
        Some(written.len() as u64)
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "temporary files left: {names:?}");

    // With room again, the same command completes the export exactly once.
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_state_write_leaves_no_temporary_file_and_no_output() {
    let sim = start(config(50, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    // Room for no state file at all: the first state write (the claim of the output, before
    // the first request) fails half-way.
    let args = export_args("zendesk-audit-logs", "out.ndjson", "state.json", &window);
    let output = run_trail_with_file_size_limit(&args, &zendesk_env(&sim), dir.path(), 64).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot sync the state file state.json")
            || stderr(&output).contains("cannot write the state file state.json"),
        "{}",
        stderr(&output)
    );
    assert_eq!(requests(&sim), 0);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// The `[zendesk.acme]` table of a trail.toml for the simulator, with its credentials' names.
fn zendesk_account(sim: &audit_sim::SimHandle, env: &[(&str, String)]) -> String {
    let email = &env
        .iter()
        .find(|(name, _)| *name == "ZENDESK_EMAIL")
        .unwrap()
        .1;
    format!(
        "[zendesk.acme]\nbase_url = \"{}\"\nsubdomain = \"acme\"\nemail = \"{email}\"\n\
         api_token_env = \"ZENDESK_API_TOKEN\"\n\n",
        sim.zendesk_url()
    )
}
