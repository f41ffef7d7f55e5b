//! The fault matrix (issue 7, item 1): for each fault kind the simulator has, at 10%, and all
//! kinds together, an export of 100,000 records per stream ends with exactly the simulator's
//! ground-truth ids, each once, in order.
//!
//! The exports go through the library, as `trail` runs them: `event_pages` of each
//! [`StreamKind`] on a `ZendeskClient` or `GenesysClient`, one client per stream, the four
//! streams concurrently. Retries are made fast (backoff of a few milliseconds, `Retry-After:
//! 0`, slow responses of 25 ms) so that the whole matrix fits in CI; what is measured is the
//! extra time each fault kind costs over the fault-free baseline, printed as a table on stderr
//! (`cargo test -p trail-tests --test fault_matrix -- --nocapture`).
//!
//! `TRAIL_FAULT_MATRIX_RECORDS` sets the records per stream (default 100,000) and
//! `TRAIL_FAULT_MATRIX_ONLY` a comma-separated list of settings to run (e.g. `status_429,all`),
//! for local runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use audit_core::genesys::{GenesysClient, PollPolicy};
use audit_core::zendesk::ZendeskClient;
use audit_core::{RetryPolicy, StatsSnapshot, StreamKind, StreamOptions, Window};
use audit_sim::config::{FaultConfig, SimConfig, TenantConfig, TimeSpec};
use audit_sim::{SimHandle, Stream, TenantCredentials};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;

/// One row of the matrix: a name and the faults it turns on.
struct Setting {
    name: &'static str,
    apply: fn(&mut FaultConfig),
}

/// Every fault kind of the simulator ([`FaultConfig::rates`] and the page latency), alone at
/// 10%, then all together.
const SETTINGS: &[Setting] = &[
    Setting {
        name: "baseline",
        apply: |_| {},
    },
    Setting {
        name: "status_429",
        apply: |f| f.status_429 = 0.10,
    },
    Setting {
        name: "status_500",
        apply: |f| f.status_500 = 0.10,
    },
    Setting {
        name: "status_502",
        apply: |f| f.status_502 = 0.10,
    },
    Setting {
        name: "status_503",
        apply: |f| f.status_503 = 0.10,
    },
    Setting {
        name: "status_504",
        apply: |f| f.status_504 = 0.10,
    },
    Setting {
        name: "connection_reset",
        apply: |f| f.connection_reset = 0.10,
    },
    Setting {
        name: "truncated_body",
        apply: |f| f.truncated_body = 0.10,
    },
    Setting {
        name: "slow_response",
        apply: |f| f.slow_response = 0.10,
    },
    Setting {
        name: "duplicate_across_pages",
        apply: |f| f.duplicate_across_pages = 0.10,
    },
    Setting {
        name: "repeated_cursor",
        apply: |f| f.repeated_cursor = 0.10,
    },
    Setting {
        name: "expired_token",
        apply: |f| f.expired_token = 0.10,
    },
    Setting {
        name: "page_latency",
        apply: |f| f.page_latency_ms = PAGE_LATENCY_MS,
    },
    Setting {
        name: "all",
        apply: all_together,
    },
];

/// The fixed delay of the `page_latency` setting, per list page.
const PAGE_LATENCY_MS: u64 = 5;

/// The rate of each kind when all are on: 2% each, so that about 20% of requests
/// (1 − 0.98¹¹) meet at least one fault.
const ALL_TOGETHER_EACH: f64 = 0.02;

fn all_together(f: &mut FaultConfig) {
    f.status_429 = ALL_TOGETHER_EACH;
    f.status_500 = ALL_TOGETHER_EACH;
    f.status_502 = ALL_TOGETHER_EACH;
    f.status_503 = ALL_TOGETHER_EACH;
    f.status_504 = ALL_TOGETHER_EACH;
    f.connection_reset = ALL_TOGETHER_EACH;
    f.truncated_body = ALL_TOGETHER_EACH;
    f.slow_response = ALL_TOGETHER_EACH;
    f.duplicate_across_pages = ALL_TOGETHER_EACH;
    f.repeated_cursor = ALL_TOGETHER_EACH;
    f.expired_token = ALL_TOGETHER_EACH;
    f.page_latency_ms = PAGE_LATENCY_MS;
}

const STREAMS: [StreamKind; 4] = [
    StreamKind::ZendeskAuditLogs,
    StreamKind::ZendeskTicketAudits,
    StreamKind::GenesysAudits,
    StreamKind::GenesysRealtime,
];

fn records_per_stream() -> u64 {
    std::env::var("TRAIL_FAULT_MATRIX_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn selected(name: &str) -> bool {
    match std::env::var("TRAIL_FAULT_MATRIX_ONLY") {
        Ok(list) if !list.trim().is_empty() => {
            name == "baseline" || list.split(',').any(|s| s.trim() == name)
        }
        _ => true,
    }
}

/// The tenant whose Genesys data set is sized so that the realtime services (a subset of all
/// services) hold `records` records: see [`realtime_audits_for`].
const REALTIME_TENANT: &str = "rt";

/// The simulator: tenant `acme` with `records` Zendesk audit logs, ticket audits (none
/// archived: `/ticket_audits` would leave them out) and Genesys audits over the last 10 days;
/// tenant `rt` with enough Genesys audits that the realtime services hold `records` of them.
fn sim_config(records: u64, realtime_audits: u64, seed: u64, setting: &Setting) -> SimConfig {
    let tenant = |name: &str, seed: u64, genesys: u64| {
        let mut t = TenantConfig::named(name, seed);
        t.start = TimeSpec::Now(chrono::Duration::days(-10));
        t.end = TimeSpec::Now(chrono::Duration::minutes(-10));
        t.zendesk.audit_logs = records;
        t.zendesk.ticket_audits = records;
        t.zendesk.archived_fraction = 0.0;
        t.genesys.audits = genesys;
        t
    };
    let mut config = SimConfig {
        tenants: vec![
            tenant("acme", 21, records),
            tenant(REALTIME_TENANT, 22, realtime_audits),
        ],
        ..SimConfig::default()
    };
    config.genesys.query_queued_ms = 20;
    config.genesys.query_running_ms = 30;
    config.faults.seed = seed;
    // Whole seconds only; 0 asks for an immediate retry (the decision for the retried request
    // is drawn again, so this is no busy loop).
    config.faults.retry_after_secs = 0;
    config.faults.slow_response_ms = 25;
    (setting.apply)(&mut config.faults);
    config
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(2), Duration::from_millis(20))
}

fn tenant_of(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::GenesysRealtime => REALTIME_TENANT,
        _ => "acme",
    }
}

fn truth_stream(stream: StreamKind) -> Stream {
    match stream {
        StreamKind::ZendeskAuditLogs => Stream::ZendeskAuditLogs,
        StreamKind::ZendeskTicketAudits => Stream::ZendeskTicketAudits,
        StreamKind::GenesysAudits => Stream::GenesysAudits { service: None },
        StreamKind::GenesysRealtime => Stream::GenesysRealtime { service: None },
    }
}

/// What one stream of one setting did.
struct StreamRun {
    stream: StreamKind,
    elapsed: Duration,
    stats: StatsSnapshot,
    exported: usize,
}

/// Where a stream's client connects, and as whom.
#[derive(Clone)]
struct Target {
    zendesk: String,
    genesys_api: String,
    genesys_login: String,
    credentials: TenantCredentials,
}

impl Target {
    fn of(sim: &SimHandle, stream: StreamKind) -> Self {
        Target {
            zendesk: sim.zendesk_url().to_string(),
            genesys_api: sim.genesys_api_url().to_string(),
            genesys_login: sim.genesys_login_url().to_string(),
            credentials: sim
                .tenant_credentials(tenant_of(stream))
                .expect("the tenant exists"),
        }
    }
}

/// Exports `stream` over `window` through the library; returns the native ids in stream
/// order and the client's counters.
async fn export(
    target: Target,
    stream: StreamKind,
    window: Window,
) -> Result<(Vec<String>, StatsSnapshot), String> {
    let tenant = tenant_of(stream);
    let credentials = target.credentials;
    let options = StreamOptions::new(window);
    let (mut pages, stats): (_, Box<dyn Fn() -> StatsSnapshot + Send>) = match stream {
        StreamKind::ZendeskAuditLogs | StreamKind::ZendeskTicketAudits => {
            let client = ZendeskClient::builder()
                .base_url(target.zendesk)
                .tenant(tenant)
                .api_token(credentials.zendesk_email, credentials.zendesk_api_token)
                .retry_policy(retry_policy())
                .build()
                .map_err(|e| e.to_string())?;
            let pages = client
                .event_pages(stream, options)
                .map_err(|e| e.to_string())?;
            (pages, Box::new(move || client.stats()))
        }
        StreamKind::GenesysAudits | StreamKind::GenesysRealtime => {
            let client = GenesysClient::builder()
                .api_base_url(target.genesys_api)
                .login_base_url(target.genesys_login)
                .tenant(tenant)
                .client_credentials(
                    credentials.genesys_client_id,
                    credentials.genesys_client_secret,
                )
                .retry_policy(retry_policy())
                .query_polling(
                    PollPolicy::default()
                        .with_delays(Duration::from_millis(10), Duration::from_millis(100)),
                )
                .build()
                .map_err(|e| e.to_string())?;
            let pages = client
                .event_pages(stream, options)
                .map_err(|e| e.to_string())?;
            (pages, Box::new(move || client.stats()))
        }
    };
    let mut ids = Vec::new();
    while let Some(page) = pages.try_next().await.map_err(|e| {
        format!(
            "{stream}: the export failed after {} records: {e}",
            ids.len()
        )
    })? {
        ids.extend(page.events.into_iter().map(|event| event.native_id));
    }
    Ok((ids, stats()))
}

/// A setting's outcome: per stream, and the simulator's fault counters.
struct SettingRun {
    name: &'static str,
    streams: Vec<StreamRun>,
    faults: BTreeMap<String, u64>,
    wall: Duration,
}

/// Runs the four streams of one setting concurrently against a fresh simulator and checks
/// each against its ground truth.
async fn run_setting(
    setting: &'static Setting,
    records: u64,
    realtime_audits: u64,
) -> Result<SettingRun, String> {
    let sim = audit_sim::start(sim_config(records, realtime_audits, 7, setting))
        .await
        .map_err(|e| e.to_string())?;
    let (start, end) = sim.span("acme").expect("tenant acme");
    // The whole span, with a margin: every record of the data set is in the window.
    let since = start - chrono::Duration::minutes(1);
    let until: DateTime<Utc> = end + chrono::Duration::minutes(1);
    let window = Window::between(since, until).expect("a valid window");
    let started = Instant::now();
    // Each stream on its own task (as `trail export --all` runs them), so that both cores
    // work.
    let tasks = STREAMS.map(|stream| {
        let target = Target::of(&sim, stream);
        tokio::spawn(async move {
            let began = Instant::now();
            let result = export(target, stream, window).await;
            (stream, began.elapsed(), result)
        })
    });
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(
            task.await
                .map_err(|e| format!("an export task failed: {e}"))?,
        );
    }
    let wall = started.elapsed();
    let mut streams = Vec::new();
    let mut failures = Vec::new();
    for (stream, elapsed, result) in runs {
        let (ids, stats) = match result {
            Ok(done) => done,
            Err(error) => {
                failures.push(format!("{}: {error}", setting.name));
                continue;
            }
        };
        let truth = sim
            .ground_truth(tenant_of(stream), truth_stream(stream), since, until)
            .map_err(|e| e.to_string())?;
        if let Some(problem) = compare(&ids, &truth) {
            failures.push(format!("{} / {stream}: {problem}", setting.name));
        }
        streams.push(StreamRun {
            stream,
            elapsed,
            stats,
            exported: ids.len(),
        });
    }
    let faults = sim.stats().faults;
    sim.shutdown().await;
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    Ok(SettingRun {
        name: setting.name,
        streams,
        faults,
        wall,
    })
}

/// `None` when `exported` is exactly `truth`; else what differs.
fn compare(exported: &[String], truth: &[String]) -> Option<String> {
    if exported == truth {
        return None;
    }
    let mut seen = std::collections::HashSet::new();
    let duplicates = exported.iter().filter(|id| !seen.insert(*id)).count();
    let truth_set: std::collections::HashSet<&String> = truth.iter().collect();
    let missing = truth.iter().filter(|id| !seen.contains(id)).count();
    let extra = exported.iter().filter(|id| !truth_set.contains(id)).count();
    let first_difference = exported
        .iter()
        .zip(truth)
        .position(|(a, b)| a != b)
        .unwrap_or(exported.len().min(truth.len()));
    Some(format!(
        "{} exported, {} in the ground truth: {duplicates} duplicates, {missing} missing, \
         {extra} not in the ground truth, first difference at position {first_difference}",
        exported.len(),
        truth.len()
    ))
}

/// How many Genesys records the `rt` tenant needs for its realtime services to hold about
/// `records`: the share of realtime records, measured on a small data set of the same seed.
async fn realtime_audits_for(records: u64) -> u64 {
    let sample = 20_000;
    let probe = &Setting {
        name: "probe",
        apply: |_| {},
    };
    let sim = audit_sim::start(sim_config(10, sample, 0, probe))
        .await
        .expect("the simulator starts");
    let (start, end) = sim.span(REALTIME_TENANT).unwrap();
    let realtime = sim
        .ground_truth(
            REALTIME_TENANT,
            Stream::GenesysRealtime { service: None },
            start,
            end + chrono::Duration::minutes(1),
        )
        .unwrap()
        .len() as u64;
    sim.shutdown().await;
    assert!(realtime > 0, "the realtime services hold records");
    records * sample / realtime + 1
}

fn ms(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn signed(extra: f64) -> String {
    format!("{extra:+.1}s")
}

/// The table on stderr, one row per setting: the faults the simulator injected (of the
/// setting's kind; every kind for `all`), the retries the clients absorbed, the duplicates
/// they dropped, the requests they made beyond the baseline's, the time they spent waiting
/// in retries (backoff and `Retry-After`), and the wall-clock time over the baseline (the
/// four streams run concurrently; a debug build on two busy cores varies by a few seconds
/// from run to run, so small differences are noise). The baseline runs first and last; the
/// faster of the two is the reference.
fn table(runs: &[SettingRun]) -> String {
    let baselines: Vec<&SettingRun> = runs.iter().filter(|r| r.name == "baseline").collect();
    let baseline = baselines.iter().copied().min_by_key(|r| r.wall);
    let base_requests: u64 =
        baseline.map_or(0, |b| b.streams.iter().map(|s| s.stats.requests).sum());
    let mut out = String::new();
    let header = [
        "fault kind",
        "injected",
        "retries",
        "dups",
        "requests",
        "+requests",
        "retry wait",
        "wall",
        "extra",
        "records",
    ];
    let _ = writeln!(
        out,
        "\n{:<23} {:>8} {:>8} {:>6} {:>9} {:>9} {:>10} {:>7} {:>7} {:>8}",
        header[0],
        header[1],
        header[2],
        header[3],
        header[4],
        header[5],
        header[6],
        header[7],
        header[8],
        header[9]
    );
    for run in runs {
        let injected: u64 = match run.name {
            "baseline" | "all" => run.faults.values().sum(),
            name => run.faults.get(name).copied().unwrap_or(0),
        };
        let sum = |f: &dyn Fn(&StatsSnapshot) -> u64| -> u64 {
            run.streams.iter().map(|s| f(&s.stats)).sum()
        };
        let requests = sum(&|s| s.requests);
        let retry_wait: Duration = run
            .streams
            .iter()
            .map(|s| s.stats.waited_backoff + s.stats.waited_retry_after)
            .sum();
        let records: usize = run.streams.iter().map(|s| s.exported).sum();
        let extra = baseline.map_or(0.0, |b| run.wall.as_secs_f64() - b.wall.as_secs_f64());
        let _ = writeln!(
            out,
            "{:<23} {:>8} {:>8} {:>6} {:>9} {:>+9} {:>9.2}s {:>7} {:>7} {:>8}",
            run.name,
            injected,
            sum(&|s| s.retries),
            sum(&|s| s.duplicates_skipped),
            requests,
            requests as i64 - base_requests as i64,
            retry_wait.as_secs_f64(),
            ms(run.wall),
            signed(extra),
            records,
        );
    }
    if let Some(all) = runs.iter().find(|r| r.name == "all") {
        let _ = writeln!(out, "\n`all`, faults injected per kind: {:?}", all.faults);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_keeps_every_record_exactly_once_in_order() {
    let records = records_per_stream();
    let realtime_audits = realtime_audits_for(records).await;
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    // The baseline again at the end: the first run of a process is often the slowest.
    let settings = SETTINGS
        .iter()
        .filter(|s| selected(s.name))
        .chain(SETTINGS.iter().take(1));
    for setting in settings {
        match run_setting(setting, records, realtime_audits).await {
            Ok(run) => {
                let each: Vec<String> = run
                    .streams
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} ({} requests, {} retries, {} duplicates dropped)",
                            s.stream,
                            ms(s.elapsed),
                            s.stats.requests,
                            s.stats.retries,
                            s.stats.duplicates_skipped
                        )
                    })
                    .collect();
                eprintln!(
                    "fault matrix: {:<23} {} ({} records per stream: {})",
                    run.name,
                    ms(run.wall),
                    records,
                    each.join(", ")
                );
                runs.push(run);
            }
            Err(error) => {
                eprintln!("fault matrix: {} FAILED:\n{error}", setting.name);
                failures.push(error);
            }
        }
    }
    eprintln!("{}", table(&runs));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every setting injected what it names, so no row passed by meeting no fault (a small
    // local run of a few thousand records may meet no fault of a rare kind in `all`).
    for run in &runs {
        match run.name {
            "all" if records < 20_000 => {}
            "baseline" => assert!(run.faults.is_empty(), "baseline: {:?}", run.faults),
            "all" => {
                for (kind, _) in FaultConfig::default().rates() {
                    assert!(
                        run.faults.get(kind).copied().unwrap_or(0) > 0,
                        "all: no {kind} was injected: {:?}",
                        run.faults
                    );
                }
            }
            name => assert!(
                run.faults.get(name).copied().unwrap_or(0) > 0,
                "{name}: no such fault was injected: {:?}",
                run.faults
            ),
        }
        for stream in &run.streams {
            assert!(
                stream.exported as u64 >= records * 9 / 10,
                "{} / {}: only {} records",
                run.name,
                stream.stream,
                stream.exported
            );
        }
    }
}
