//! Evidence an auditor can check (issue 20): real exports from the simulator, their manifests,
//! and `trail verify` run on them as an auditor would — after tampering with the files, after
//! SIGKILLs and resumes, across two runs with a gap between them, and across rotated segments.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use serde_json::Value;

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `trail verify ARGS --json` in `dir`: the exit code and the report.
async fn verify(args: &[&str], dir: &Path) -> (i32, Value) {
    let mut all = vec!["verify", "--json"];
    all.extend_from_slice(args);
    let output = run_trail(&all, &[], dir).await;
    let code = output.status.code().expect("verify exits");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "verify printed no JSON ({error}; exit {code}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, report)
}

/// The first problem `verify` reported for its first output.
fn problem(report: &Value) -> &Value {
    &report["outputs"][0]["problem"]
}

/// Byte offset of each line of `bytes` (from 0), and the lines.
fn lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut offset = 0;
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(|line| {
            let at = offset;
            offset += line.len();
            (at, line)
        })
        .collect()
}

/// A copy of `audit.ndjson` and its manifest into `dir/name/`, changed by `tamper`.
fn tampered(dir: &Path, name: &str, tamper: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) {
    let target = dir.join(name);
    std::fs::create_dir(&target).unwrap();
    let mut output = std::fs::read(dir.join("audit.ndjson")).unwrap();
    let mut manifest = std::fs::read(dir.join("audit.ndjson.manifest.jsonl")).unwrap();
    tamper(&mut output, &mut manifest);
    std::fs::write(target.join("audit.ndjson"), output).unwrap();
    std::fs::write(target.join("audit.ndjson.manifest.jsonl"), manifest).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_is_detected_and_named() {
    let sim = start(config(3_000, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let keygen = run_trail(&["keygen", "--out", "trail.key"], &[], dir).await;
    assert_success(&keygen);
    let said = String::from_utf8_lossy(&keygen.stdout).into_owned();
    let private = std::fs::read_to_string(dir.join("trail.key")).unwrap();
    let body = private.lines().nth(1).unwrap();
    assert!(!said.contains(body), "keygen printed the key: {said}");
    assert_success(&run_trail(&["keygen", "--out", "other.key"], &[], dir).await);
    let args: Vec<String> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--sign-key",
        "trail.key",
        "--commit-interval",
        "1ms",
    ]
    .into_iter()
    .map(String::from)
    .chain(window_args())
    .collect();
    assert_success(&run_trail(&strs(&args), &env, dir).await);
    let output = std::fs::read(dir.join("audit.ndjson")).unwrap();
    let all = lines(&output);
    assert_eq!(all.len(), 3_000);
    let entries = std::fs::read_to_string(dir.join("audit.ndjson.manifest.jsonl")).unwrap();
    assert!(entries.lines().count() > 3, "one entry per commit");

    let (code, report) = verify(&["audit.ndjson", "--public-key", "trail.key.pub"], dir).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["result"], "verified");
    assert_eq!(report["outputs"][0]["records"], 3_000);
    assert_eq!(report["outputs"][0]["signatures"], "checked");
    let (since, until) = fixed_span();
    let period = &report["periods"][0];
    assert_eq!(period["stream"], "zendesk-audit-logs");
    assert_eq!(period["since"].as_str().unwrap(), show(since));
    assert_eq!(period["through"].as_str().unwrap(), show(until));

    // One byte changed, inside line 100.
    tampered(dir, "byte", |output, _| {
        let at = all[99].0 + 20;
        output[at] = if output[at] == b'1' { b'2' } else { b'1' };
    });
    // Line 50 deleted.
    tampered(dir, "deleted", |output, _| {
        output.drain(all[49].0..all[50].0);
    });
    // Lines 70 and 71 swapped.
    tampered(dir, "swapped", |output, _| {
        let (a, b) = (all[69].1.to_vec(), all[70].1.to_vec());
        let mut swapped = b.clone();
        swapped.extend_from_slice(&a);
        output.splice(all[69].0..all[71].0, swapped);
    });
    // A line appended: a copy of the first.
    tampered(dir, "appended", |output, _| {
        output.extend_from_slice(all[0].1);
    });
    // Truncated in the middle of line 1,500.
    tampered(dir, "truncated", |output, _| {
        output.truncate(all[1_499].0 + 10);
    });
    // The manifest's first entry edited: its window made to start a day later.
    tampered(dir, "manifest", |_, manifest| {
        let text = String::from_utf8(manifest.clone()).unwrap();
        let edited = text.replacen(
            &since_text(since),
            &since_text(since + chrono::Duration::days(1)),
            1,
        );
        assert_ne!(edited, text);
        *manifest = edited.into_bytes();
    });
    // The last entry edited: nothing follows it, only its signature can tell.
    tampered(dir, "last-entry", |_, manifest| {
        let text = String::from_utf8(manifest.clone()).unwrap();
        let start = text.trim_end().rfind('\n').unwrap() + 1;
        let edited = format!(
            "{}{}",
            &text[..start],
            text[start..].replacen("\"committed_at\":\"20", "\"committed_at\":\"19", 1)
        );
        assert_ne!(edited, text);
        *manifest = edited.into_bytes();
    });

    let file = |name: &str| dir.join(name).join("audit.ndjson").display().to_string();
    let cases = [
        ("byte", "altered", 100),
        ("deleted", "removed", 50),
        ("swapped", "reordered", 70),
        ("appended", "added", 3_001),
        ("truncated", "truncated", 1_500),
    ];
    for (name, kind, line) in cases {
        let (code, report) = verify(&[&file(name)], dir).await;
        assert_eq!(code, 4, "{name}: {report:#}");
        let problem = problem(&report);
        assert_eq!(problem["kind"], kind, "{name}: {problem:#}");
        assert_eq!(problem["line"], line, "{name}: {problem:#}");
        let offset = if name == "appended" {
            output.len()
        } else {
            all[line - 1].0
        };
        assert_eq!(problem["offset"], offset as u64, "{name}: {problem:#}");
        assert_eq!(problem["file"], file(name), "{name}");
        let message = problem["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("line {line} (byte offset {offset})")),
            "{name}: {message}"
        );
    }

    // In words, for a person: the same place.
    let words = run_trail(&["verify", &file("deleted")], &[], dir).await;
    assert_eq!(words.status.code(), Some(4));
    let text = String::from_utf8_lossy(&words.stdout);
    assert!(text.contains("REMOVED"), "{text}");
    assert!(
        text.contains(&format!("line 50 (byte offset {})", all[49].0)),
        "{text}"
    );
    assert!(text.contains("NOT VERIFIED"), "{text}");

    // The manifest's first entry edited: the second entry records another hash of it.
    let (code, report) = verify(&[&file("manifest")], dir).await;
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(problem(&report)["kind"], "manifest");
    assert_eq!(problem(&report)["line"], 1);
    // Its last entry edited: the chain still matches, the signature does not.
    let (code, report) = verify(&[&file("last-entry")], dir).await;
    assert_eq!(code, 0, "unsigned checks cannot see it: {report:#}");
    let (code, report) = verify(&[&file("last-entry"), "--public-key", "trail.key.pub"], dir).await;
    assert_eq!(code, 5, "{report:#}");
    let signature = &report["outputs"][0]["signature_problem"];
    let last = entries.lines().count() as u64;
    assert_eq!(signature["line"], last, "{signature:#}");
    assert!(
        signature["message"]
            .as_str()
            .unwrap()
            .contains("changed after it was signed"),
        "{signature:#}"
    );
    // A signature from another key.
    let (code, report) = verify(&["audit.ndjson", "--public-key", "other.key.pub"], dir).await;
    assert_eq!(code, 5, "{report:#}");
    let signature = &report["outputs"][0]["signature_problem"];
    assert_eq!(signature["line"], 1);
    assert!(
        signature["message"]
            .as_str()
            .unwrap()
            .contains("signed by another key"),
        "{signature:#}"
    );
}

fn show(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn since_text(at: DateTime<Utc>) -> String {
    format!("\"since\":\"{}\"", show(at))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_between_two_runs_is_reported_with_its_exact_bounds() {
    let sim = start(config(2_000, 10)).await;
    let env = all_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let at = |day, hour| Utc.with_ymd_and_hms(2024, 5, day, hour, 0, 0).unwrap();
    let runs = [
        ("first.ndjson", at(1, 0), at(3, 12)),
        ("second.ndjson", at(4, 6), at(8, 0)),
    ];
    for (out, since, until) in runs {
        let since = since.to_rfc3339();
        let until = until.to_rfc3339();
        let args = [
            "export",
            "genesys-audits",
            "--out",
            out,
            "--since",
            &since,
            "--until",
            &until,
        ];
        let run = run_trail(&args, &env, dir).await;
        assert_success(&run);
        // What follows the window is not exported, and 2024 is past Genesys' year.
        let said = String::from_utf8_lossy(&run.stderr);
        let warning = format!(
            "warning: genesys-audits: records from {} on are not exported yet and may have aged out",
            until.replace("+00:00", "Z")
        );
        assert!(said.contains(&warning), "{said}");
    }
    let (code, report) = verify(&["first.ndjson", "second.ndjson"], dir).await;
    assert_eq!(code, 6, "{report:#}");
    assert_eq!(report["result"], "gap");
    let gaps = report["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{report:#}");
    assert_eq!(gaps[0]["stream"], "genesys-audits");
    assert_eq!(gaps[0]["account"], "acme");
    assert_eq!(gaps[0]["after"].as_str().unwrap(), show(at(3, 12)));
    assert_eq!(gaps[0]["before"].as_str().unwrap(), show(at(4, 6)));
    // Genesys keeps audits about a year: the gap of 2024 may be gone from the vendor.
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("2024-05-03T12:00:00Z") && w.contains("aged out")
        }),
        "{warnings:?}"
    );
    // Each alone has no gap.
    let (code, _) = verify(&["first.ndjson"], dir).await;
    assert_eq!(code, 0);
}

/// Records committed in the state file's one entry.
fn committed(state: &Path) -> u64 {
    committed_records(state)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_continues_exactly_through_20_sigkills() {
    const RECORDS: u64 = 10_000;
    // 100 pages at 60 ms each: an export of about 6 s to kill in. (5,000 records ran out
    // before the 20th kill on a lightly loaded machine: each run commits about 250.)
    let sim = start_slow(RECORDS, 60).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let reference: Vec<String> = ["export", "zendesk-audit-logs", "--out", "reference.ndjson"]
        .into_iter()
        .map(String::from)
        .chain(window_args())
        .collect();
    assert_success(&run_trail(&strs(&reference), &env, dir).await);
    let args: Vec<String> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "resumed.ndjson",
        "--state",
        "state.json",
        "--commit-interval",
        "100ms",
    ]
    .into_iter()
    .map(String::from)
    .chain(window_args())
    .collect();
    let mut kill_points = Seeded(20);
    let (mut kills, mut mid_export) = (0, 0);
    for _ in 0..20 {
        let mut child = trail(&strs(&args), &env, dir).spawn().unwrap();
        let delay = kill_points.next_in(120, 320);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = child.kill();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        if status.signal() == Some(libc::SIGKILL) {
            kills += 1;
        }
        let committed = committed(&dir.join("state.json"));
        if committed > 0 && committed < RECORDS {
            mid_export += 1;
        }
    }
    assert_eq!(kills, 20, "every kill hit a running trail");
    assert!(
        mid_export >= 10,
        "only {mid_export} kills landed mid-export"
    );
    assert_success(&run_trail(&strs(&args), &env, dir).await);
    assert_eq!(
        std::fs::read(dir.join("resumed.ndjson")).unwrap(),
        std::fs::read(dir.join("reference.ndjson")).unwrap()
    );
    let (code, report) = verify(&["resumed.ndjson"], dir).await;
    assert_eq!(code, 0, "{report:#}");
    let (_, uninterrupted) = verify(&["reference.ndjson"], dir).await;
    // The chain depends on the lines only, not on where the commits fell.
    assert_eq!(
        report["outputs"][0]["head"],
        uninterrupted["outputs"][0]["head"]
    );
    assert!(
        report["outputs"][0]["entries"].as_u64().unwrap()
            > uninterrupted["outputs"][0]["entries"].as_u64().unwrap(),
        "the resumed export committed more often"
    );
    assert_eq!(
        report["periods"][0]["through"],
        uninterrupted["periods"][0]["through"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotated_segments_verify_across_resumes() {
    let sim = start_slow(4_000, 60).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let args: Vec<String> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "audit.ndjson",
        "--state",
        "state.json",
        "--commit-interval",
        "100ms",
        "--rotate-size",
        "400KB",
    ]
    .into_iter()
    .map(String::from)
    .chain(window_args())
    .collect();
    let mut kill_points = Seeded(7);
    for _ in 0..4 {
        let mut child = trail(&strs(&args), &env, dir).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(kill_points.next_in(200, 600))).await;
        let _ = child.kill();
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
    }
    assert_success(&run_trail(&strs(&args), &env, dir).await);
    let (code, report) = verify(&["audit.ndjson"], dir).await;
    assert_eq!(code, 0, "{report:#}");
    let files = report["outputs"][0]["files"].as_array().unwrap();
    assert!(files.len() > 3, "several segments: {files:?}");
    assert_eq!(report["outputs"][0]["records"], 4_000);
    // A sealed segment gone is named.
    let second = dir.join("audit.000002.ndjson");
    std::fs::remove_file(&second).unwrap();
    let (code, report) = verify(&["audit.ndjson"], dir).await;
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(problem(&report)["kind"], "missing");
    assert_eq!(problem(&report)["file"], "audit.000002.ndjson");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_export_continues_its_manifest_and_refuses_one_cut_short() {
    let sim = start(config(600, 10)).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (since, until) = fixed_span();
    let since = since.to_rfc3339();
    let halfway = (fixed_span().0 + chrono::Duration::days(3)).to_rfc3339();
    let until = until.to_rfc3339();
    let args = |until: &str| {
        [
            "export",
            "zendesk-audit-logs",
            "--out",
            "audit.ndjson",
            "--state",
            "state.json",
            "--since",
            &since,
            "--until",
            until,
        ]
        .map(String::from)
    };
    assert_success(&run_trail(&strs(&args(&halfway)), &env, dir).await);
    let manifest = dir.join("audit.ndjson.manifest.jsonl");
    let whole = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &whole[..whole.len() / 2]).unwrap();
    let refused = run_trail(&strs(&args(&until)), &env, dir).await;
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains(&format!(
            "holds {} bytes but the state file says {} were committed",
            whole.len() / 2,
            whole.len()
        )),
        "{said}"
    );
    assert!(said.contains("put the manifest back"), "{said}");
    std::fs::write(&manifest, &whole).unwrap();
    assert_success(&run_trail(&strs(&args(&until)), &env, dir).await);
    let (code, report) = verify(&["audit.ndjson"], dir).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["periods"][0]["since"].as_str().unwrap(),
        show(fixed_span().0)
    );
    assert_eq!(
        report["periods"][0]["through"].as_str().unwrap(),
        show(fixed_span().1)
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.starts_with(std::str::from_utf8(&whole).unwrap()),
        "appended to"
    );

    // Standard output has no manifest to sign.
    let to_stdout = run_trail(
        &[
            "export",
            "zendesk-audit-logs",
            "--out",
            "-",
            "--sign-key",
            "none.key",
        ],
        &env,
        dir,
    )
    .await;
    assert_eq!(to_stdout.status.code(), Some(2));
    let said = String::from_utf8_lossy(&to_stdout.stderr);
    assert!(said.contains("standard output has none"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_output_of_all_gets_its_manifest_signed_with_the_config_key() {
    let sim = start(config(300, 200)).await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    assert_success(&run_trail(&["keygen", "--out", "trail.key"], &[], dir).await);
    let (since, until) = fixed_span();
    let config = format!(
        "sign_key = \"trail.key\"\n\n\
         {}\
         [[export]]\nstream = \"zendesk-audit-logs\"\naccount = \"acme\"\nout = \"logs.ndjson\"\n\n\
         [[export]]\nstream = \"zendesk-ticket-audits\"\naccount = \"acme\"\nout = \"tickets.ndjson\"\n",
        acme_zendesk_account(&sim, "")
    );
    std::fs::write(dir.join("trail.toml"), config).unwrap();
    let (since, until) = (since.to_rfc3339(), until.to_rfc3339());
    let run = run_trail(
        &["export", "--all", "--since", &since, "--until", &until],
        &[("ACME_TOKEN", credentials.zendesk_api_token.clone())],
        dir,
    )
    .await;
    assert_success(&run);
    let (code, report) = verify(
        &[
            "logs.ndjson",
            "tickets.ndjson",
            "--public-key",
            "trail.key.pub",
        ],
        dir,
    )
    .await;
    assert_eq!(code, 0, "{report:#}");
    let outputs = report["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2);
    for output in outputs {
        assert_eq!(output["signatures"], "checked", "{output:#}");
        assert!(output["records"].as_u64().unwrap() > 0, "{output:#}");
    }
    let streams: Vec<&str> = report["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|period| period["stream"].as_str().unwrap())
        .collect();
    assert_eq!(streams, ["zendesk-audit-logs", "zendesk-ticket-audits"]);
}
