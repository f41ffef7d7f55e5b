//! `trail export --out kafka://…` against a real Kafka-compatible broker (noida-db, installed
//! by `.ci/kafka-broker`; see `trail_tests::kafka_broker`): the committed records of the topic
//! are the ground truth, keyed and labelled; after seeded SIGKILLs they are still the ground
//! truth exactly once, in order, read `read_committed`; a paused export whose stream was taken
//! over is fenced and cannot write.
//!
//! Read `read_committed` is what makes the kill test prove something: a kill strands records
//! of an open transaction, which the next run's producer aborts (the test checks that
//! `read_uncommitted` does see such records, so there was something to hide).

#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use audit_sim::Stream;
use common::kafka::*;
use common::*;
use trail_tests::kafka_broker::Broker;

fn export_args<'a>(stream: &'a str, out: &'a str, window: &'a [String]) -> Vec<&'a str> {
    ["export", stream, "--out", out]
        .into_iter()
        .chain(window.iter().map(String::as_str))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_into_kafka_is_the_ground_truth_keyed_and_labelled() {
    let broker = Broker::start();
    let sim = start(config(1_500, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = format!("kafka://{}/audit", broker.bootstrap());
    let window = window_args();
    let args = export_args("zendesk-audit-logs", &out, &window);
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);

    let records = read_topic(&broker, "audit", "read_committed");
    let ids: Vec<_> = records
        .iter()
        .map(|r| r.value["native_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ground_truth(&sim, Stream::ZendeskAuditLogs));
    for record in &records {
        assert_eq!(record.key, record.value["id"].as_str().unwrap());
        assert_eq!(
            record.headers,
            BTreeMap::from([
                ("stream".to_string(), "zendesk-audit-logs".to_string()),
                ("tenant".to_string(), "acme".to_string()),
                ("vendor".to_string(), "zendesk".to_string()),
            ])
        );
    }
    let checkpoints = read_topic(&broker, "audit.trail-checkpoints", "read_committed");
    let last = checkpoints.last().expect("a checkpoint record");
    assert_eq!(last.key, "zendesk-audit-logs@acme");
    assert_eq!(last.value["records"], 1_500);
    assert_eq!(last.value["format"], "ndjson");

    // The same command again resumes from the checkpoint in Kafka: nothing is written twice.
    let again = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&again);
    assert_eq!(committed_ids(&broker, "audit").len(), 1_500);
    assert!(
        !dir.path().read_dir().unwrap().any(|_| true),
        "a Kafka export leaves no file behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_with_a_kafka_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "kafka://127.0.0.1:9/audit",
        "--state",
        "state.json",
    ];
    let output = run_trail(&args, &[], dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("keeps its checkpoint in Kafka, in audit.trail-checkpoints"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signing_key_with_a_kafka_output_is_refused() {
    // The evidence manifest lives beside a file; a topic has none to sign.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "kafka://127.0.0.1:9/audit",
        "--sign-key",
        "trail-signing.key",
    ];
    let output = run_trail(&args, &[], dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a Kafka output has no manifest") && stderr.contains("drop --sign-key"),
        "{stderr}"
    );
}

/// Waits until the simulator has been asked for `pages` audit-log pages: the export is then
/// part-way, its transactional producer up (it meets the broker before its first request) and
/// pages read. (A fixed wait would not say so on a loaded machine, where starting up and
/// meeting the broker can take longer than the wait.)
async fn pages_served(sim: &audit_sim::SimHandle, pages: u64) {
    let served = || sim.stats().requests_of("zendesk.ListAuditLogs");
    wait_for(
        &format!("{pages} audit-log pages are asked for"),
        Duration::from_secs(60),
        || served() >= pages,
        || format!("{} asked for", served()),
    )
    .await;
}

/// Kills an export into `topic` `kills` times at seeded points, then lets it finish: the
/// topic's committed records are the ground truth, exactly once, in order.
async fn kill_and_resume(stream: &str, truth: Stream, records: u64, seed: u64, kills: usize) {
    let broker = Broker::start();
    // About 100 pages at 100 ms each: an export of about 10 s to kill in.
    let sim = start_slow(records, 100).await;
    let env = all_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = format!("kafka://{}/audit", broker.bootstrap());
    let window = window_args();
    let mut args = export_args(stream, &out, &window);
    // Several pages per transaction, so kills strand records of an open transaction.
    args.extend(["--commit-interval", "500ms"]);
    let mut points = Seeded(seed);
    let mut hit = 0;
    for _ in 0..kills {
        let mut child = trail(&args, &env, dir.path()).spawn().unwrap();
        // A run spends about a second on the broker before its first request.
        let delay = points.next_in(1_200, 2_600);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = child.kill();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        hit += usize::from(status.signal() == Some(libc::SIGKILL));
    }
    assert_eq!(hit, kills, "{stream}: only {hit} kills hit a running trail");
    let committed_before = committed_ids(&broker, "audit").len();
    let raw = read_topic(&broker, "audit", "read_uncommitted").len();
    assert!(
        committed_before > 0 && raw > committed_before,
        "{stream}: the kills should strand uncommitted records ({raw} sent, {committed_before} \
         committed)"
    );
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_exactly(
        &committed_ids(&broker, "audit"),
        &ground_truth(&sim, truth),
        stream,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_audit_logs_into_kafka_survive_sigkill() {
    // Pages of 100 records.
    // Pages of 100 records.
    kill_and_resume(
        "zendesk-audit-logs",
        Stream::ZendeskAuditLogs,
        10_000,
        19,
        11,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_audits_into_kafka_survive_sigkill() {
    // Pages of 500 records.
    kill_and_resume(
        "genesys-audits",
        Stream::GenesysAudits { service: None },
        50_000,
        20,
        11,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_export_whose_stream_was_taken_over_is_fenced() {
    let broker = Broker::start();
    let sim = start_slow(3_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = format!("kafka://{}/audit", broker.bootstrap());
    let window = window_args();
    let args = export_args("zendesk-audit-logs", &out, &window);

    // The zombie: paused in the middle of its export, an open transaction and all.
    let zombie = trail(&args, &env, dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    pages_served(&sim, 3).await;
    signal(zombie.id(), libc::SIGSTOP);
    // The new owner fences it and completes the stream.
    assert_success(&run_trail(&args, &env, dir.path()).await);
    let truth = ground_truth(&sim, Stream::ZendeskAuditLogs);
    assert_exactly(
        &committed_ids(&broker, "audit"),
        &truth,
        "after the takeover",
    );
    signal(zombie.id(), libc::SIGCONT);
    let output = tokio::task::spawn_blocking(move || zombie.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this one is fenced"), "{stderr}");
    // Nothing it sent after waking counts.
    assert_exactly(
        &committed_ids(&broker, "audit"),
        &truth,
        "after the zombie woke",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_exports_into_kafka_and_files_side_by_side() {
    let broker = Broker::start();
    let sim = start(config(1_000, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let kafka = format!("kafka://{}/audit", broker.bootstrap());
    let config = format!(
        r#"
        {accounts}
        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "{kafka}"

        [[export]]
        stream = "genesys-audits"
        account = "acme"
        out = "{kafka}"

        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"
        "#,
        accounts = acme_accounts(&sim),
    );
    std::fs::write(dir.path().join("trail.toml"), config).unwrap();
    let env = acme_account_env(&sim);
    let window = window_args();
    let mut args = vec!["export", "--all", "--state", "state.json"];
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &env, dir.path()).await);

    let records = read_topic(&broker, "audit", "read_committed");
    let of = |stream: &str| -> Vec<String> {
        records
            .iter()
            .filter(|record| record.headers["stream"] == stream)
            .map(|record| record.value["native_id"].as_str().unwrap().to_string())
            .collect()
    };
    let zendesk = ground_truth(&sim, Stream::ZendeskAuditLogs);
    assert_exactly(&of("zendesk-audit-logs"), &zendesk, "zendesk-audit-logs");
    let genesys = ground_truth(&sim, Stream::GenesysAudits { service: None });
    assert_exactly(&of("genesys-audits"), &genesys, "genesys-audits");
    assert_eq!(exported_ids(&dir.path().join("logs.ndjson")), zendesk);
    // The state file records the file output alone.
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(!state.contains("kafka://"), "{state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_commits_and_the_same_command_finishes_the_export() {
    let broker = Broker::start();
    let sim = start_slow(3_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = format!("kafka://{}/audit", broker.bootstrap());
    let window = window_args();
    let mut args = export_args("zendesk-audit-logs", &out, &window);
    // No commit falls due before the signal: what is committed, the stop committed.
    args.extend(["--commit-interval", "1h"]);
    let child = trail(&args, &env, dir.path()).spawn().unwrap();
    pages_served(&sim, 3).await;
    assert!(committed_ids(&broker, "audit").is_empty());
    signal(child.id(), libc::SIGTERM);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_success(&output);
    let truth = ground_truth(&sim, Stream::ZendeskAuditLogs);
    let stopped = committed_ids(&broker, "audit");
    assert!(
        !stopped.is_empty() && stopped.len() < truth.len(),
        "stopped with {} of {} committed",
        stopped.len(),
        truth.len()
    );
    assert_exactly(&stopped, &truth[..stopped.len()], "at the stop");
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_exactly(&committed_ids(&broker, "audit"), &truth, "after the rerun");
}

/// A follower into Kafka waits out a vendor outage as one into a file does: it commits what it
/// sent, says it waits, and when the vendor is back catches up, every record once.
#[tokio::test(flavor = "multi_thread")]
async fn a_follower_into_kafka_waits_out_an_outage_and_ends_exact() {
    let broker = Broker::start();
    let sim = start_slow(1_500, 150).await;
    let dir = tempfile::tempdir().unwrap();
    let out = format!("kafka://{}/audit", broker.bootstrap());
    let args = outage_follower_args(&out);
    let mut trail = Running::spawn(&args, &zendesk_env(&sim), dir.path());
    trail
        .wait_until("a first commit", Duration::from_secs(30), |_| {
            !committed_ids(&broker, "audit").is_empty()
        })
        .await;

    // The vendor goes away: connections dropped without an answer.
    sim.set_outage(Some("zendesk"), Some(audit_sim::outage::OutageMode::Reset))
        .unwrap();
    trail
        .wait_until("the follower says it waits", Duration::from_secs(30), |t| {
            t.stderr().contains("waiting for the vendor since")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        trail.is_running(),
        "a follower outlives an outage:\n{}",
        trail.stderr()
    );
    let committed_during = committed_ids(&broker, "audit").len();
    assert!(committed_during < 1_500, "the outage came mid-export");

    // The vendor is back: the follower says so and catches up.
    sim.set_outage(Some("zendesk"), None).unwrap();
    trail
        .wait_until(
            "every record is committed",
            Duration::from_secs(120),
            |_| committed_ids(&broker, "audit").len() >= 1_500,
        )
        .await;
    assert!(
        trail.stderr().contains("the vendor answers again after"),
        "{}",
        trail.stderr()
    );
    assert_eq!(
        trail.stop(Duration::from_secs(30)).await,
        Some(0),
        "{}",
        trail.stderr()
    );
    assert_exactly(
        &committed_ids(&broker, "audit"),
        &ground_truth(&sim, Stream::ZendeskAuditLogs),
        "after the outage",
    );
}
