//! `zendesk-ticket-events` (issue 17) through the `trail` binary against the simulator: every
//! ticket update, archived tickets included, exactly once; the same event id as
//! `zendesk-ticket-audits` gives the same update; `--follow` picks up updates written during
//! the run; a ticket archived while a backfill runs is neither lost nor duplicated.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use audit_sim::Stream;
use audit_sim::config::{SimConfig, TimeSpec};
use chrono::Utc;
use common::*;

/// The environment for the simulator, with the incremental export unpaced (the simulator's
/// own limit is lifted where a test does not measure it).
fn env(sim: &audit_sim::SimHandle, rpm: u32) -> Vec<(&'static str, String)> {
    let mut env = zendesk_env(sim);
    env.push(("ZENDESK_INCREMENTAL_RPM", rpm.to_string()));
    env
}

fn unlimited(mut config: SimConfig) -> SimConfig {
    config.zendesk.incremental_rate_limit.requests = 0;
    config
}

/// The `id` of every line of an NDJSON export, by native id.
fn ids_by_native_id(path: &std::path::Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                event["native_id"].as_str().unwrap().to_string(),
                event["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_events_are_every_update_archived_tickets_included() {
    let mut sim_config = unlimited(config(10, 2_000));
    // Pages of 300: the updates of a page's last second come again at the next page's start.
    sim_config.zendesk.incremental_page_size = 300;
    let sim = start(sim_config).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", "zendesk-ticket-events", "--out", "events.ndjson"];
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &env(&sim, 0), dir.path()).await);

    let expected = ground_truth(&sim, Stream::ZendeskTicketEvents);
    assert_eq!(expected.len(), 2_000, "every update, archived or not");
    let listed = ground_truth(&sim, Stream::ZendeskTicketAudits);
    assert!(
        listed.len() < expected.len(),
        "the data set has archived tickets, which /ticket_audits leaves out"
    );
    assert_eq!(exported_ids(&dir.path().join("events.ndjson")), expected);

    // The same update has the same event id whichever stream read it.
    let mut args = vec!["export", "zendesk-ticket-audits", "--out", "audits.ndjson"];
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &env(&sim, 0), dir.path()).await);
    let events = ids_by_native_id(&dir.path().join("events.ndjson"));
    let audits = ids_by_native_id(&dir.path().join("audits.ndjson"));
    assert_eq!(audits.len(), listed.len());
    for (native_id, id) in &audits {
        assert_eq!(events.get(native_id), Some(id), "update {native_id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_archived_during_a_backfill_is_neither_lost_nor_duplicated() {
    let mut sim_config = unlimited(config(10, 3_000));
    sim_config.zendesk.incremental_page_size = 200;
    // The tickets to be archived are archived 2 s after the simulator starts, while the
    // backfill (15 pages, one a quarter second) runs.
    sim_config.zendesk.archive_delay_secs = 2;
    let sim = start(sim_config).await;
    let archived_before = audit_sim::ground_truth::tickets(sim.sim(), "acme", Utc::now())
        .unwrap()
        .into_iter()
        .filter(|(_, archived)| *archived)
        .count();
    assert_eq!(archived_before, 0, "nothing is archived yet");
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", "zendesk-ticket-events", "--out", "events.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let started = Instant::now();
    assert_success(&run_trail(&args, &env(&sim, 240), dir.path()).await);
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the backfill ran across the archiving ({:?})",
        started.elapsed()
    );
    let archived: HashSet<i64> = audit_sim::ground_truth::tickets(sim.sim(), "acme", Utc::now())
        .unwrap()
        .into_iter()
        .filter(|(_, archived)| *archived)
        .map(|(ticket, _)| ticket)
        .collect();
    assert!(!archived.is_empty(), "tickets were archived during the run");

    let exported = exported_ids(&dir.path().join("events.ndjson"));
    let unique: HashSet<&String> = exported.iter().collect();
    assert_eq!(unique.len(), exported.len(), "no update twice");
    assert_eq!(exported, ground_truth(&sim, Stream::ZendeskTicketEvents));
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    let of_archived = text
        .lines()
        .filter(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            event["raw"]["ticket_id"]
                .as_i64()
                .is_some_and(|t| archived.contains(&t))
        })
        .count();
    assert!(of_archived > 0, "the archived tickets' updates are there");
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_picks_up_updates_written_during_the_run() {
    // Updates keep arriving for the next 6 seconds; the export withholds its last second.
    let mut sim_config = unlimited(config(10, 1_500));
    sim_config.tenants[0].start = TimeSpec::Now(chrono::Duration::seconds(-60));
    sim_config.tenants[0].end = TimeSpec::Now(chrono::Duration::seconds(6));
    sim_config.zendesk.incremental_holdback_secs = 1;
    sim_config.zendesk.incremental_page_size = 200;
    let sim = start(sim_config).await;
    let (start_at, end_at) = sim.span("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = follow_args("zendesk-ticket-events", start_at, &[]);
    let mut environment = env(&sim, 0);
    environment.push(("ZENDESK_INCREMENTAL_HOLDBACK_SECS", "1".to_string()));
    let child = trail(&args, &environment, dir.path()).spawn().unwrap();
    let state = dir.path().join("state.json");
    let status = follow_then_stop(child, &state, 1_500, end_at).await;
    assert_eq!(status.code(), Some(0));
    let expected = sim
        .ground_truth("acme", Stream::ZendeskTicketEvents, start_at, end_at)
        .unwrap();
    assert_eq!(expected.len(), 1_500);
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")), expected);
}
