//! Rotated, sealed output files (`--rotate-size`, `--rotate-interval`), the checks that keep a
//! resumed run from cutting what it did not write, and standard output (`--out -`, a closed
//! pipe). Real `trail` processes against the simulator.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// The sealed segments of `audit.ndjson` in `dir`, by number.
fn sealed_segments(dir: &Path) -> BTreeMap<u64, Vec<u8>> {
    let mut segments = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(number) = name
            .strip_prefix("audit.")
            .and_then(|rest| rest.strip_suffix(".ndjson"))
        else {
            continue;
        };
        assert_eq!(number.len(), 6, "zero-padded segment number: {name}");
        let number: u64 = number.parse().unwrap();
        segments.insert(number, std::fs::read(dir.join(&name)).unwrap());
    }
    segments
}

/// An unrotated export of the fixed window to `reference.ndjson`, and its bytes.
async fn reference(env: &[(&str, String)], dir: &Path) -> Vec<u8> {
    let args: Vec<String> = ["export", "zendesk-audit-logs", "--out", "reference.ndjson"]
        .into_iter()
        .map(String::from)
        .chain(window_args())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&run_trail(&args, env, dir).await);
    std::fs::read(dir.join("reference.ndjson")).unwrap()
}

fn with_window(args: &[&str]) -> Vec<String> {
    args.iter()
        .map(|arg| arg.to_string())
        .chain(window_args())
        .collect()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotated_segments_survive_sigkill_and_deleted_segments() {
    // 120 pages at 100 ms each: an export of about 12 s to kill in.
    let sim = start_slow(12_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(&env, dir.path()).await;

    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--state",
        "state.json",
        "--commit-interval",
        "300ms",
        "--rotate-size",
        "150KB",
    ]);
    let args = as_strs(&args);
    // Every segment as first seen: a sealed segment never changes, even after it is deleted.
    let mut seen: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let check_sealed = |seen: &mut BTreeMap<u64, Vec<u8>>| {
        for (number, bytes) in sealed_segments(dir.path()) {
            let first = seen.entry(number).or_insert_with(|| bytes.clone());
            assert!(*first == bytes, "sealed segment {number} changed");
            assert!(bytes.ends_with(b"\n"), "segment {number} ends mid-line");
        }
    };
    let mut kill_points = Seeded(15);
    let mut kills = 0;
    for round in 0..22 {
        let mut child = trail(&args, &env, dir.path()).spawn().unwrap();
        let delay = kill_points.next_in(200, 800);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = child.kill();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        if status.signal() == Some(libc::SIGKILL) {
            kills += 1;
        }
        check_sealed(&mut seen);
        // A shipper takes the sealed segments away now and then.
        if round % 5 == 4 {
            for number in sealed_segments(dir.path()).into_keys() {
                let name = format!("audit.{number:06}.ndjson");
                std::fs::remove_file(dir.path().join(name)).unwrap();
            }
        }
        eprintln!(
            "kill {round} after {delay} ms: {status:?}, {} committed, {} segments sealed",
            committed_records(&dir.path().join("state.json")),
            seen.len()
        );
    }
    assert!(
        kills >= 20,
        "only {kills} of the 22 kills hit a running trail"
    );
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    check_sealed(&mut seen);

    let numbers: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(
        numbers,
        (1..=numbers.len() as u64).collect::<Vec<_>>(),
        "segments are numbered 1, 2, … without a gap"
    );
    assert!(numbers.len() > 10, "{} segments", numbers.len());
    let live = std::fs::read(dir.path().join("audit.ndjson.live")).unwrap();
    assert!(live.is_empty(), "a completed run seals its last segment");
    let concatenated: Vec<u8> = seen.into_values().flatten().collect();
    assert_eq!(concatenated.len(), reference.len(), "sizes differ");
    assert!(
        concatenated == reference,
        "the segments differ from an unrotated export"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_seals_segments_of_at_least_that_size_in_whole_lines() {
    let sim = start(config(3_000, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(&env, dir.path()).await;
    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--rotate-size",
        "100KB",
    ]);
    assert_success(&run_trail(&as_strs(&args), &env, dir.path()).await);

    let segments = sealed_segments(dir.path());
    assert!(segments.len() >= 5, "{} segments", segments.len());
    let last = *segments.keys().last().unwrap();
    for (number, bytes) in &segments {
        assert!(bytes.ends_with(b"\n"), "segment {number} ends mid-line");
        if *number != last {
            // Sealed at the page that reached the size: at most one page (100 records) more.
            assert!(
                bytes.len() >= 100_000,
                "segment {number}: {} bytes",
                bytes.len()
            );
            assert!(
                bytes.len() < 200_000,
                "segment {number}: {} bytes",
                bytes.len()
            );
        }
    }
    let concatenated: Vec<u8> = segments.into_values().flatten().collect();
    assert!(
        concatenated == reference,
        "the segments differ from an unrotated export"
    );
    assert!(!dir.path().join("audit.ndjson").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interval_seals_the_live_segment_at_that_age() {
    // 30 pages at 100 ms: about 3 s of export.
    let sim = start_slow(3_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(&env, dir.path()).await;
    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--state",
        "state.json",
        "--commit-interval",
        "200ms",
        "--rotate-interval",
        "1s",
    ]);
    assert_success(&run_trail(&as_strs(&args), &env, dir.path()).await);

    let segments = sealed_segments(dir.path());
    assert!(
        segments.len() >= 2,
        "a 3 s export sealed {} segments",
        segments.len()
    );
    let concatenated: Vec<u8> = segments.into_values().flatten().collect();
    assert!(
        concatenated == reference,
        "the segments differ from an unrotated export"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_rotated_export_does_not_number_over_an_earlier_ones_segments() {
    let sim = start(config(300, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("audit.000001.ndjson"), "earlier\n").unwrap();
    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--rotate-size",
        "10KB",
    ]);
    let output = run_trail(&as_strs(&args), &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("audit.000001.ndjson already exists"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("audit.000001.ndjson")).unwrap(),
        "earlier\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn out_dash_writes_to_standard_output() {
    let sim = start(config(500, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(&env, dir.path()).await;
    let args = with_window(&["export", "zendesk-audit-logs", "--out", "-"]);
    let output = run_trail(&as_strs(&args), &env, dir.path()).await;
    assert_success(&output);
    assert!(
        output.stdout == reference,
        "standard output holds the export"
    );
    assert!(!dir.path().join("-").exists(), "no file named `-`");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pipe_ends_the_export_quietly() {
    let sim = start(config(12_000, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    // No --out: standard output (as `--out -`, tested above).
    let args = with_window(&["export", "zendesk-audit-logs"]);
    let mut child = trail(&as_strs(&args), &env, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // `| head -n 2`: read two lines, then close the pipe.
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(2)
        .map(Result::unwrap)
        .collect();
    assert_eq!(lines.len(), 2);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(!stderr.contains("disk"), "{stderr}");
}

/// A complete export of 300 records to `out.ndjson` with `state.json`; its arguments.
async fn exported_with_state(env: &[(&str, String)], dir: &Path) -> Vec<String> {
    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ]);
    assert_success(&run_trail(&as_strs(&args), env, dir).await);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_appended_by_hand_is_refused_not_cut() {
    let sim = start(config(300, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let args = exported_with_state(&env, dir.path()).await;
    let path = dir.path().join("out.ndjson");
    let exported = std::fs::read(&path).unwrap();
    let mut edited = exported.clone();
    edited.extend_from_slice(b"my note: checked on Monday\n");
    std::fs::write(&path, &edited).unwrap();

    let output = run_trail(&as_strs(&args), &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("a line at byte offset {}", exported.len())),
        "{stderr}"
    );
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert!(std::fs::read(&path).unwrap() == edited, "nothing cut");

    let mut overwrite = args.clone();
    overwrite.push("--overwrite".into());
    assert_success(&run_trail(&as_strs(&overwrite), &env, dir.path()).await);
    assert!(
        std::fs::read(&path).unwrap() == exported,
        "cut at the last commit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_output_is_refused_with_what_happened() {
    let sim = start(config(300, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let args = exported_with_state(&env, dir.path()).await;
    let path = dir.path().join("out.ndjson");
    let exported = std::fs::read(&path).unwrap();
    std::fs::rename(&path, dir.path().join("elsewhere.ndjson")).unwrap();

    let output = run_trail(&as_strs(&args), &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("moved, truncated or replaced"), "{stderr}");
    assert!(stderr.contains("put the file back"), "{stderr}");
    assert!(!path.exists(), "the refused run leaves no file behind");

    let mut overwrite = args.clone();
    overwrite.push("--overwrite".into());
    assert_success(&run_trail(&as_strs(&overwrite), &env, dir.path()).await);
    assert!(
        std::fs::read(&path).unwrap() == exported,
        "--overwrite exports again from the start"
    );
}

/// The state file's one entry.
fn state_entry(dir: &Path) -> serde_json::Value {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    state["streams"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

/// Rewrites the state file's one entry's output position with `change`.
fn edit_position(dir: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = state["streams"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    change(&mut entry["output"]);
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
}

/// The two crash points of a seal that the state cannot tell apart by itself, made on disk as a
/// SIGKILL leaves them: the state records `sealing` at the last segment's length, and either
/// the rename happened (the live segment is gone) or not (the segment is still live).
#[tokio::test(flavor = "multi_thread")]
async fn a_seal_interrupted_before_or_after_its_rename_resolves_exactly() {
    let sim = start(config(1_000, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let args = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--state",
        "state.json",
        "--rotate-size",
        "100KB",
    ]);
    let args = as_strs(&args);
    assert_success(&run_trail(&args, &env, dir.path()).await);
    let segments = sealed_segments(dir.path());
    let last = *segments.keys().last().unwrap();
    let last_bytes = segments[&last].clone();
    assert_eq!(
        state_entry(dir.path())["output"]["segments"]["sealed"],
        last
    );
    let live = dir.path().join("audit.ndjson.live");
    let last_path = dir.path().join(format!("audit.{last:06}.ndjson"));
    let sealing = |output: &mut serde_json::Value| {
        output["bytes"] = last_bytes.len().into();
        output["segments"]["sealed"] = (last - 1).into();
        output["segments"]["sealing"] = true.into();
    };

    // Killed after the rename, before the state recorded it (and a shipper took the segment).
    edit_position(dir.path(), sealing);
    std::fs::remove_file(&live).unwrap();
    std::fs::remove_file(&last_path).unwrap();
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        state_entry(dir.path())["output"]["segments"]["sealed"],
        last
    );
    assert_eq!(std::fs::read(&live).unwrap().len(), 0);
    assert!(!last_path.exists(), "not sealed again");
    let next = dir.path().join(format!("audit.{:06}.ndjson", last + 1));
    assert!(!next.exists(), "nothing more to seal");

    // Killed after recording `sealing`, before the rename: the segment is still live.
    edit_position(dir.path(), sealing);
    std::fs::write(&live, &last_bytes).unwrap();
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        state_entry(dir.path())["output"]["segments"]["sealed"],
        last
    );
    assert!(
        std::fs::read(&last_path).unwrap() == last_bytes,
        "sealed once, whole"
    );
    assert_eq!(std::fs::read(&live).unwrap().len(), 0);
    assert!(!next.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_without_the_rotation_flags_is_refused_not_started_over() {
    let sim = start(config(300, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let rotated = with_window(&[
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--state",
        "state.json",
        "--rotate-size",
        "10KB",
    ]);
    assert_success(&run_trail(&as_strs(&rotated), &env, dir.path()).await);
    let plain = &rotated[..rotated.len() - 6];
    let plain: Vec<String> = plain.iter().cloned().chain(window_args()).collect();
    assert!(!plain.iter().any(|arg| arg == "--rotate-size"));
    let output = run_trail(&as_strs(&plain), &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rotated; this run would start it over"),
        "{stderr}"
    );
    assert!(stderr.contains("--rotate-size"), "{stderr}");
    assert!(!dir.path().join("audit.ndjson").exists(), "nothing written");
}

/// The sealed segments `<stem>.NNNNNN.<extension>` in `dir`, concatenated in order, and how
/// many there are.
fn concatenated_segments(dir: &Path, stem: &str, extension: &str) -> (Vec<u8>, usize) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.strip_prefix(&format!("{stem}."))
                .and_then(|rest| rest.strip_suffix(&format!(".{extension}")))
                .is_some_and(|number| number.len() == 6)
        })
        .collect();
    names.sort();
    let bytes = names
        .iter()
        .flat_map(|name| std::fs::read(dir.join(name)).unwrap())
        .collect();
    (bytes, names.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stream_of_a_config_rotates_with_its_own_size() {
    let sim = start(config(600, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
        {accounts}
        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"
        rotate_size = "20KB"

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
    let args = with_window(&[
        "export",
        "--all",
        "--state",
        "state.json",
        "--rotate-size",
        "100KB",
    ]);
    assert_success(&run_trail(&as_strs(&args), &env, dir.path()).await);

    let (logs, log_segments) = concatenated_segments(dir.path(), "logs", "ndjson");
    let ids: Vec<String> = String::from_utf8(logs)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["native_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ground_truth(&sim, audit_sim::Stream::ZendeskAuditLogs));
    let (genesys, genesys_segments) = concatenated_segments(dir.path(), "genesys", "ocsf");
    let events = genesys.iter().filter(|byte| **byte == b'\n').count();
    assert_eq!(
        events,
        ground_truth(&sim, audit_sim::Stream::GenesysAudits { service: None }).len()
    );
    // The entry's 20KB against the command's 100KB.
    assert!(
        log_segments >= 3 * genesys_segments.max(1),
        "{log_segments} log segments, {genesys_segments} Genesys segments"
    );
    assert!(genesys_segments >= 2, "{genesys_segments} Genesys segments");
    for live in ["logs.ndjson.live", "genesys.ocsf.live"] {
        assert_eq!(std::fs::read(dir.path().join(live)).unwrap().len(), 0);
    }
}
