//! The fault matrix (issue 7, item 1; issue 13): for each fault kind the simulator has, at a
//! sensible rate, and the transport kinds all together, an export of 100,000 records per
//! stream ends with exactly the simulator's ground-truth ids, each once, in order — after as
//! many reruns as its failures need. A stream that fails is resumed from the last checkpoint
//! it yielded (as `trail` does when run again after a failed run), with a new client; the
//! reruns are counted, printed in the table, and capped at [`MAX_RERUNS`] per stream.
//!
//! The anomaly rows of issue 13 (the vendor on a bad day) run on an eighth of the records
//! ([`Setting::scale`]) to keep CI time in check. Rows with `out_of_order` compare the records
//! without their order (the vendor's own order within a page is not the stream's). A page the
//! walk refuses (`non_object_record`: a record that is not an object, on every stream;
//! `ascending_page`: a `/ticket_audits` page oldest first) is asked for again, so those rows
//! expect the ground truth in order. Records
//! that do not decode as sent (`invalid_utf8`, `lone_surrogate`, …) are events like any other
//! (marked with `decode_issue`), so every row expects the whole ground truth.
//!
//! The exports go through the library, as `trail` runs them: `event_pages` of each
//! [`StreamKind`] on a `ZendeskClient` or `GenesysClient`, one client per stream, the five
//! streams concurrently, and beside them audit logs and realtime audits read in time slices
//! (`trail export --parallel`, [`SLICED`]). Retries are made fast (backoff of a few milliseconds, `Retry-After:
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
use audit_core::{RetryPolicy, Slicing, StatsSnapshot, StreamKind, StreamOptions, Window};
use audit_sim::config::{FaultConfig, SimConfig, TenantConfig, TimeSpec};
use audit_sim::{SimHandle, Stream, TenantCredentials};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;

/// One row of the matrix: a name and the faults it turns on.
struct Setting {
    name: &'static str,
    apply: fn(&mut FaultConfig),
    /// The row runs on `records / scale` records per stream.
    scale: u64,
}

/// A row of the transport faults, on every record.
const fn row(name: &'static str, apply: fn(&mut FaultConfig)) -> Setting {
    Setting {
        name,
        apply,
        scale: 1,
    }
}

/// A row of the vendor's anomalies (issue 13), on an eighth of the records.
const fn anomaly(name: &'static str, apply: fn(&mut FaultConfig)) -> Setting {
    Setting {
        name,
        apply,
        scale: 8,
    }
}

/// The most reruns a stream may need before its export is complete.
const MAX_RERUNS: u32 = 20;

/// Longest a stream may go without yielding a page: longer is a hang (a sleep of a day, a
/// walk that never ends), which fails the row instead of the CI job's time limit.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Every fault kind of the simulator ([`FaultConfig::rates`] and the page latency), alone at
/// 10%, then all together.
const SETTINGS: &[Setting] = &[
    row("baseline", |_| {}),
    row("status_429", |f| f.status_429 = 0.10),
    row("status_500", |f| f.status_500 = 0.10),
    row("status_502", |f| f.status_502 = 0.10),
    row("status_503", |f| f.status_503 = 0.10),
    row("status_504", |f| f.status_504 = 0.10),
    row("connection_reset", |f| f.connection_reset = 0.10),
    row("truncated_body", |f| f.truncated_body = 0.10),
    row("slow_response", |f| f.slow_response = 0.10),
    row("duplicate_across_pages", |f| {
        f.duplicate_across_pages = 0.10
    }),
    row("repeated_cursor", |f| f.repeated_cursor = 0.10),
    row("expired_token", |f| f.expired_token = 0.10),
    row("page_latency", |f| f.page_latency_ms = PAGE_LATENCY_MS),
    anomaly("empty_envelope", |f| f.empty_envelope = 0.05),
    anomaly("empty_page", |f| f.empty_page = 0.05),
    anomaly("fresh_cursor", |f| f.fresh_cursor = 0.10),
    anomaly("null_timestamp", |f| f.null_timestamp = 0.001),
    anomaly("out_of_order", |f| f.out_of_order = 0.10),
    anomaly("non_object_record", |f| f.non_object_record = 0.10),
    anomaly("ascending_page", |f| f.ascending_page = 0.10),
    anomaly("huge_rate_limit_reset", |f| f.huge_rate_limit_reset = 0.03),
    anomaly("retry_after_past_date", |f| f.retry_after_past_date = 0.10),
    anomaly("large_records", |f| f.large_records = 0.001),
    anomaly("lone_surrogate", |f| f.lone_surrogate = 0.001),
    anomaly("invalid_utf8", |f| f.invalid_utf8 = 0.001),
    anomaly("huge_number", |f| f.huge_number = 0.001),
    anomaly("big_id", |f| f.big_id = 0.001),
    anomaly("realtime_ignores_page_size", |f| {
        f.realtime_ignores_page_size = 1.0
    }),
    row("all", all_together),
    anomaly("all_anomalies", all_anomalies),
];

/// The kinds `all` turns on (the transport faults of issue 7).
const ALL_KINDS: [&str; 11] = [
    "status_429",
    "status_500",
    "status_502",
    "status_503",
    "status_504",
    "connection_reset",
    "truncated_body",
    "slow_response",
    "duplicate_across_pages",
    "repeated_cursor",
    "expired_token",
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

/// Every vendor anomaly at a low rate, on top of every transport fault of `all`: the
/// anomalies meet each other, retries and reruns.
fn all_anomalies(f: &mut FaultConfig) {
    all_together(f);
    f.empty_envelope = 0.02;
    f.empty_page = 0.02;
    f.fresh_cursor = 0.02;
    f.out_of_order = 0.02;
    f.non_object_record = 0.02;
    f.ascending_page = 0.02;
    f.retry_after_past_date = 0.02;
    f.huge_rate_limit_reset = 0.002;
    f.null_timestamp = 0.001;
    f.large_records = 0.0005;
    f.lone_surrogate = 0.0005;
    f.invalid_utf8 = 0.0005;
    f.huge_number = 0.0005;
    f.big_id = 0.0005;
}

const STREAMS: [StreamKind; 5] = [
    StreamKind::ZendeskAuditLogs,
    StreamKind::ZendeskTicketAudits,
    StreamKind::GenesysAudits,
    StreamKind::GenesysRealtime,
    StreamKind::ZendeskTicketEvents,
];

/// The streams also exported in time slices (`trail export --parallel`), beside their
/// sequential exports, against the same faults.
const SLICED: [StreamKind; 2] = [StreamKind::ZendeskAuditLogs, StreamKind::GenesysRealtime];

/// One export of a row: a stream, sequential or sliced.
#[derive(Debug, Clone, Copy)]
struct Walk {
    stream: StreamKind,
    sliced: bool,
}

impl std::fmt::Display for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sliced = if self.sliced { " (sliced)" } else { "" };
        write!(f, "{}{sliced}", self.stream)
    }
}

fn walks() -> impl Iterator<Item = Walk> {
    let sequential = STREAMS.map(|stream| Walk {
        stream,
        sliced: false,
    });
    let sliced = SLICED.map(|stream| Walk {
        stream,
        sliced: true,
    });
    sequential.into_iter().chain(sliced)
}

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
    // The incremental export's 10 requests a minute would make the row last minutes: lifted
    // here (and not paced by the client); its pacing is tested on its own.
    config.zendesk.incremental_rate_limit.requests = 0;
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
        StreamKind::ZendeskTicketEvents => Stream::ZendeskTicketEvents,
        other => panic!("the simulator keeps no ground truth of {other}"),
    }
}

/// What one stream of one setting did.
struct StreamRun {
    walk: Walk,
    elapsed: Duration,
    stats: StatsSnapshot,
    exported: usize,
    reruns: u32,
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

/// A stream of event pages and a way to read its client's counters.
type Pages = (
    audit_core::EventPages,
    Box<dyn Fn() -> StatsSnapshot + Send>,
);

/// One run of `stream` through the library with a new client, as one `trail` run.
fn open(target: &Target, stream: StreamKind, options: StreamOptions) -> Result<Pages, String> {
    let tenant = tenant_of(stream);
    let credentials = target.credentials.clone();
    Ok(match stream {
        StreamKind::ZendeskAuditLogs
        | StreamKind::ZendeskTicketAudits
        | StreamKind::ZendeskTicketEvents => {
            let client = ZendeskClient::builder()
                .base_url(target.zendesk.clone())
                .tenant(tenant)
                .api_token(credentials.zendesk_email, credentials.zendesk_api_token)
                .retry_policy(retry_policy())
                .incremental_requests_per_minute(0)
                .build()
                .map_err(|e| e.to_string())?;
            let pages = client
                .event_pages(stream, options)
                .map_err(|e| e.to_string())?;
            (pages, Box::new(move || client.stats()))
        }
        _ => {
            let client = GenesysClient::builder()
                .api_base_url(target.genesys_api.clone())
                .login_base_url(target.genesys_login.clone())
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
    })
}

/// Exports `stream` over `window` through the library; a run that fails is followed by
/// another from the last checkpoint it yielded (from the start when it yielded none), at
/// most [`MAX_RERUNS`] times. Returns the native ids in stream order, the clients' counters
/// summed over the runs, and the number of reruns.
async fn export(
    target: Target,
    walk: Walk,
    window: Window,
) -> Result<(Vec<String>, StatsSnapshot, u32), String> {
    let stream = walk.stream;
    let mut ids = Vec::new();
    let mut checkpoint = None;
    let mut stats = StatsSnapshot::default();
    let mut errors = Vec::new();
    for reruns in 0..=MAX_RERUNS {
        let mut options = StreamOptions::new(window);
        if walk.sliced {
            options = options.with_slicing(Slicing::default());
        }
        if let Some(c) = &checkpoint {
            options = options.with_resume(Clone::clone(c));
        }
        let (mut pages, read_stats) = open(&target, stream, options)?;
        let outcome = loop {
            let next = tokio::time::timeout(PAGE_TIMEOUT, pages.try_next())
                .await
                .map_err(|_| {
                    format!(
                        "{walk}: hung: no page for {PAGE_TIMEOUT:?} (run {}, after {} records)",
                        reruns + 1,
                        ids.len()
                    )
                })?;
            match next {
                Ok(Some(page)) => {
                    ids.extend(page.events.into_iter().map(|event| event.native_id));
                    checkpoint = Some(page.checkpoint);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        };
        drop(pages);
        add(&mut stats, &read_stats());
        match outcome {
            Ok(()) => return Ok((ids, stats, reruns)),
            Err(e) => errors.push(format!(
                "run {} after {} records: {e}",
                reruns + 1,
                ids.len()
            )),
        }
    }
    // The first runs' errors and the last one's, each cut short: enough to see why.
    let shown: Vec<String> = errors
        .iter()
        .enumerate()
        .filter(|(k, _)| *k < 2 || *k + 1 == errors.len())
        .map(|(_, e)| e.chars().take(400).collect())
        .collect();
    Err(format!(
        "{walk}: still failing after {MAX_RERUNS} reruns:\n  {}",
        shown.join("\n  ")
    ))
}

/// Adds the counters the matrix prints.
fn add(total: &mut StatsSnapshot, run: &StatsSnapshot) {
    total.requests += run.requests;
    total.retries += run.retries;
    total.duplicates_skipped += run.duplicates_skipped;
    total.waited_backoff += run.waited_backoff;
    total.waited_retry_after += run.waited_retry_after;
}

/// A setting's outcome: per stream, and the simulator's fault counters.
struct SettingRun {
    name: &'static str,
    records: u64,
    streams: Vec<StreamRun>,
    faults: BTreeMap<String, u64>,
    wall: Duration,
}

/// Runs the five streams of one setting concurrently against a fresh simulator and checks
/// each against its ground truth.
async fn run_setting(
    setting: &'static Setting,
    records: u64,
    realtime_audits: u64,
) -> Result<SettingRun, String> {
    // An anomaly row runs on a share of the records (the realtime tenant scaled alike).
    let (records, realtime_audits) = (records / setting.scale, realtime_audits / setting.scale);
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
    let tasks: Vec<_> = walks()
        .map(|walk| {
            let target = Target::of(&sim, walk.stream);
            tokio::spawn(async move {
                let began = Instant::now();
                let result = export(target, walk, window).await;
                (walk, began.elapsed(), result)
            })
        })
        .collect();
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
    for (walk, elapsed, result) in runs {
        let stream = walk.stream;
        let (ids, stats, reruns) = match result {
            Ok(done) => done,
            Err(error) => {
                failures.push(format!("{}: {error}", setting.name));
                continue;
            }
        };
        let truth = sim
            .ground_truth(tenant_of(stream), truth_stream(stream), since, until)
            .map_err(|e| e.to_string())?;
        let (mut exported, mut expected) = (ids.clone(), truth);
        // Neighbours the vendor swapped come out in the vendor's order, not the ground
        // truth's: compare the records, each once, without their order.
        let mut probe = FaultConfig::default();
        (setting.apply)(&mut probe);
        if probe.out_of_order > 0.0 {
            exported.sort();
            expected.sort();
        }
        if let Some(problem) = compare(&exported, &expected) {
            failures.push(format!("{} / {walk}: {problem}", setting.name));
        }
        streams.push(StreamRun {
            walk,
            elapsed,
            stats,
            exported: ids.len(),
            reruns,
        });
    }
    let faults = sim.stats().faults;
    sim.shutdown().await;
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    Ok(SettingRun {
        name: setting.name,
        records,
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
    let probe = &row("probe", |_| {});
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
/// five streams run concurrently; a debug build on two busy cores varies by a few seconds
/// from run to run, so small differences are noise), the records exported and the reruns
/// the streams needed. The baseline runs first and last; the faster of the two is the
/// reference. The anomaly rows run on an eighth of the records, so their `+requests` and
/// `extra` read below the baseline's.
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
        "reruns",
    ];
    let _ = writeln!(
        out,
        "\n{:<27} {:>8} {:>8} {:>6} {:>9} {:>9} {:>10} {:>7} {:>7} {:>8} {:>6}",
        header[0],
        header[1],
        header[2],
        header[3],
        header[4],
        header[5],
        header[6],
        header[7],
        header[8],
        header[9],
        header[10]
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
            "{:<27} {:>8} {:>8} {:>6} {:>9} {:>+9} {:>9.2}s {:>7} {:>7} {:>8} {:>6}",
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
            run.streams.iter().map(|s| s.reruns).sum::<u32>(),
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
                            "{} {} ({} requests, {} retries, {} duplicates dropped, {} reruns)",
                            s.walk,
                            ms(s.elapsed),
                            s.stats.requests,
                            s.stats.retries,
                            s.stats.duplicates_skipped,
                            s.reruns
                        )
                    })
                    .collect();
                eprintln!(
                    "fault matrix: {:<27} {} ({} records per stream: {})",
                    run.name,
                    ms(run.wall),
                    run.records,
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
            "all" | "all_anomalies" if records < 20_000 => {}
            // A mix: it must have met several anomalies (each alone has its own row).
            "all_anomalies" => {
                let met = [
                    "empty_envelope",
                    "empty_page",
                    "fresh_cursor",
                    "out_of_order",
                    "non_object_record",
                    "ascending_page",
                ]
                .iter()
                .filter(|kind| run.faults.get(**kind).copied().unwrap_or(0) > 0)
                .count();
                assert!(met >= 3, "all_anomalies: {:?}", run.faults);
            }
            "baseline" => assert!(run.faults.is_empty(), "baseline: {:?}", run.faults),
            "all" => {
                for kind in ALL_KINDS {
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
                stream.exported as u64 >= run.records * 9 / 10,
                "{} / {}: only {} records",
                run.name,
                stream.walk,
                stream.exported
            );
        }
    }
}
