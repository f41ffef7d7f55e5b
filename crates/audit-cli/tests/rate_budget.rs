//! The rate budget (`--max-rate`, `--rate-share`, `max_rate`/`rate_share` in trail.toml)
//! against the simulator, which counts every request of a tenant per window. Only bounds
//! are asserted (at most so many per window, no 429): a slow machine makes trail send fewer
//! requests, never more, so nothing here depends on timing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_sim::{SimHandle, Stream};
use common::*;

/// The simulator's windows of tenant `acme` on Zendesk: (start, requests, 429s).
fn zendesk_windows(sim: &SimHandle) -> Vec<(String, u64, u64)> {
    sim.stats()
        .windows
        .into_iter()
        .filter(|w| w.tenant == "acme" && w.vendor == "zendesk")
        .map(|w| (w.window_start.to_rfc3339(), w.requests, w.limited))
        .collect()
}

/// The configuration of `config`, with the simulator counting requests in windows of a
/// second (and no limit).
fn counted_per_second(audit_logs: u64, ticket_audits: u64) -> audit_sim::config::SimConfig {
    let mut config = config(audit_logs, ticket_audits);
    config.zendesk.rate_limit = audit_sim::RateLimitConfig {
        requests: 0,
        window_secs: 1,
    };
    config
}

/// The busiest window's requests, after checking the run made `at_least` requests (so the
/// bound proves something).
fn busiest(sim: &SimHandle, at_least: u64) -> u64 {
    let windows = zendesk_windows(sim);
    let total: u64 = windows.iter().map(|(_, requests, _)| requests).sum();
    assert!(
        total >= at_least,
        "only {total} requests: too few to show pacing"
    );
    windows
        .iter()
        .map(|(_, requests, _)| *requests)
        .max()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn max_rate_keeps_trail_at_or_under_the_cap_in_every_window() {
    // No vendor limit: the simulator counts requests in windows of a second. 2,000 audit
    // logs are 20 pages; 240 a minute is one request every 250 ms, 4 a second.
    let sim = start(counted_per_second(2_000, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "logs.ndjson",
        "--max-rate",
        "240/min",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("logs.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    // One more than the cap for a request that arrives a moment late.
    let busiest = busiest(&sim, 20);
    assert!(
        busiest <= 5,
        "{busiest} requests in one second under 4 a second: {:?}",
        zendesk_windows(&sim)
    );
}

/// Another integration of the account: one request every `every`, each answer counted as
/// accepted or 429, until stopped.
struct OtherIntegration {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl OtherIntegration {
    fn start(sim: &SimHandle, every: Duration) -> Self {
        let credentials = sim.tenant_credentials("acme").unwrap();
        let url = format!("{}/api/v2/audit_logs?page[size]=1", sim.zendesk_url());
        let (stop, sent, refused) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let task = tokio::spawn({
            let (stop, sent, refused) = (stop.clone(), sent.clone(), refused.clone());
            async move {
                let client = reqwest::Client::new();
                // `Delay`: a late tick never makes a burst to catch up.
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::SeqCst) {
                    ticks.tick().await;
                    let answer = client
                        .get(&url)
                        .basic_auth(
                            format!("{}/token", credentials.zendesk_email),
                            Some(&credentials.zendesk_api_token),
                        )
                        .send()
                        .await
                        .expect("the simulator answers");
                    sent.fetch_add(1, Ordering::SeqCst);
                    if answer.status() == 429 {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
        OtherIntegration {
            stop,
            sent,
            refused,
            task,
        }
    }

    /// Stops it: (requests sent, 429s met).
    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        (
            self.sent.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_share_leaves_the_rest_of_the_limit_to_another_integration() {
    // 40 requests per 2 s window. The other integration spends 16 of them (every 125 ms);
    // trail may spend half, 20: together they stay under the limit, and nobody meets a 429.
    // Without the share trail spends what `remaining` says is left, and the limit is hit.
    let mut sim_config = config(6_000, 10);
    sim_config.zendesk.rate_limit = audit_sim::RateLimitConfig {
        requests: 40,
        window_secs: 2,
    };
    let sim = start(sim_config).await;
    let dir = tempfile::tempdir().unwrap();
    let other = OtherIntegration::start(&sim, Duration::from_millis(125));
    // Let the other integration run for a window first: trail joins an account in use.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "logs.ndjson",
        "--rate-share",
        "50%",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    let elapsed = started.elapsed();
    let (other_sent, other_refused) = other.stop().await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("logs.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );

    let windows = zendesk_windows(&sim);
    let total: u64 = windows.iter().map(|(_, requests, _)| requests).sum();
    let refused: u64 = windows.iter().map(|(_, _, limited)| limited).sum();
    assert_eq!(
        (refused, other_refused),
        (0, 0),
        "429s (all, the other integration's) with trail at half the limit: {windows:?}"
    );
    // Trail's requests: at most half of 40 per 2 s over its run, and one window more for
    // the window it joined in (spread over what was left of it).
    let trail = total - other_sent;
    let windows_run = elapsed.as_secs_f64() / 2.0;
    assert!(trail >= 60, "only {trail} requests: too few to show pacing");
    assert!(
        trail as f64 <= 20.0 * (windows_run + 1.0),
        "trail sent {trail} requests in {elapsed:?}: more than 20 per 2 s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_streams_of_one_account_share_one_budget() {
    // The account's budget is 240 a minute; two streams each alone would reach it.
    let sim = start(counted_per_second(2_000, 2_000)).await;
    let dir = tempfile::tempdir().unwrap();
    let credentials = sim.tenant_credentials("acme").unwrap();
    let config = format!(
        r#"
        {account}
        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"

        [[export]]
        stream = "zendesk-ticket-audits"
        account = "acme"
        out = "audits.ndjson"
        "#,
        account = acme_zendesk_account(&sim, r#"max_rate = "240/min""#),
    );
    std::fs::write(dir.path().join("trail.toml"), config).unwrap();
    let env = [("ACME_TOKEN", credentials.zendesk_api_token.clone())];
    let window = window_args();
    let mut args = vec!["export", "--all"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("logs.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert_eq!(
        exported_ids(&dir.path().join("audits.ndjson")),
        ground_truth(&sim, Stream::ZendeskTicketAudits)
    );
    let busiest = busiest(&sim, 30);
    assert!(
        busiest <= 5,
        "{busiest} requests of the account in one second under 4 a second: {:?}",
        zendesk_windows(&sim)
    );
}

/// Runs `trail export` with `extra` flags and returns its stderr, checking it refused the
/// call (exit 2) before any request.
async fn refused(sim: &SimHandle, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["export", "zendesk-audit-logs", "--out", "logs.ndjson"];
    args.extend(extra);
    let output = run_trail(&args, &zendesk_env(sim), dir.path()).await;
    assert_eq!(output.status.code(), Some(2), "{extra:?} was not refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rates_and_shares_are_refused_in_words() {
    let sim = start(config(10, 10)).await;
    for (flags, words) in [
        (
            &["--max-rate", "700"][..],
            "`700` is not a rate: give requests per minute or per second, such as 700/min or 12/s",
        ),
        (&["--max-rate", "0/min"], "`0/min` allows no request at all"),
        (
            &["--rate-share", "0%"],
            "`0%` leaves trail no request at all: give more than 0%, at most 100%",
        ),
        (
            &["--rate-share", "150%"],
            "`150%` is more than the whole limit: give at most 100%",
        ),
        (&["--rate-share", "50"], "(for 50%, write the % sign)"),
    ] {
        let stderr = refused(&sim, flags).await;
        assert!(stderr.contains(words), "{flags:?}: {stderr}");
    }
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0, "no request");

    // The same words for the config file's keys, naming the key and the account.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trail.toml"),
        format!(
            "{}[[export]]\nstream = \"zendesk-audit-logs\"\naccount = \"acme\"\n\
             out = \"logs.ndjson\"\n",
            acme_zendesk_account(&sim, "rate_share = \"0\"")
        ),
    )
    .unwrap();
    let output = run_trail(&["export", "--all"], &acme_account_env(&sim), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "`rate_share` of [zendesk.acme] in the config file: `0` leaves trail no request at all"
        ) && stderr.contains("rate_share = \"50%\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_share_of_the_genesys_limit_holds_in_every_window() {
    // 10 requests per 2 s window, reported by `inin-ratelimit-allowed`: half is 5. Without
    // the share trail spends all 10 (and the windows hold up to 10).
    let mut sim_config = config(6_000, 10);
    sim_config.genesys.rate_limit = audit_sim::RateLimitConfig {
        requests: 10,
        window_secs: 2,
    };
    let sim = start(sim_config).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "genesys-audits",
        "--out",
        "audits.ndjson",
        "--rate-share",
        "50%",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &genesys_env(&sim), dir.path()).await;
    assert_success(&output);
    // The token's answer (from the login host) reports no limit; the API's do.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("a share of it cannot"), "{stderr}");
    assert_eq!(
        exported_ids(&dir.path().join("audits.ndjson")),
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
    let windows: Vec<(String, u64, u64)> = sim
        .stats()
        .windows
        .into_iter()
        .filter(|w| w.tenant == "acme" && w.vendor == "genesys")
        .map(|w| (w.window_start.to_rfc3339(), w.requests, w.limited))
        .collect();
    let total: u64 = windows.iter().map(|(_, requests, _)| requests).sum();
    assert!(total >= 12, "only {total} requests: too few to show pacing");
    // One more than half for a request that arrives a moment late.
    assert!(
        windows
            .iter()
            .all(|(_, requests, limited)| *requests <= 6 && *limited == 0),
        "more than half of 10 in a window: {windows:?}"
    );
}
