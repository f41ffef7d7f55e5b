//! `trail demo` runs the whole pipeline against the in-process simulator, verifies every
//! output against the simulator's ground truth, and prints its summary.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_exports_every_stream_and_prints_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &["demo", "--records", "2000", "--dir", "out"],
        &[],
        dir.path(),
    )
    .await;
    assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for stream in [
        "zendesk-audit-logs",
        "zendesk-ticket-audits",
        "genesys-audits",
        "genesys-realtime",
    ] {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(&format!("{stream}@acme")))
            .unwrap_or_else(|| panic!("no summary row for {stream}:\n{stdout}"));
        let records: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(records > 0, "{row}");
        let file = dir.path().join("out").join(format!("{stream}.ndjson"));
        assert_eq!(exported_ids(&file).len() as u64, records, "{stream}");
    }
    assert!(stdout.contains("Verified: each output holds exactly the simulator's ground truth"));
    assert!(dir.path().join("out/state.json").exists());

    // A second demo in the same directory starts over rather than mixing data sets.
    let again = run_trail(
        &["demo", "--records", "500", "--dir", "out"],
        &[],
        dir.path(),
    )
    .await;
    assert_success(&again);
    let logs = exported_ids(&dir.path().join("out/zendesk-audit-logs.ndjson"));
    assert_eq!(logs.len(), 500);
}
