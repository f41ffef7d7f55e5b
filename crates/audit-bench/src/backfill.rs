//! Benchmark 8 (issue 18), a backfill at the vendor's rate limit, not its latency: the same
//! export sequential and with `--parallel` (time slices walked at once), side by side in one
//! run, against a simulator that answers every page after a fixed latency and enforces a
//! rate limit with its headers.
//!
//! The limit is Zendesk Enterprise's 700 requests a minute, scaled down tenfold in both count
//! and time (70 requests per 6 s window: the same rate, windows ten times as many per run).
//! Per export: wall time, CPU, peak RSS, requests accepted per full window ÷ allowed (the
//! simulator's counts; the first and last windows are cut by the run's start and end), 429s,
//! and whether the output is byte-identical to the sequential export's.

use anyhow::{Result, bail};
use chrono::{Duration, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::measure::{self, Usage};
use crate::rate_limit::windows_of;
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::throughput::{END, START};
use crate::{Ctx, at, count_lines};

/// `audit-bench backfill`.
#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    /// Requests allowed per window (both vendors).
    #[arg(long, default_value_t = 70)]
    pub limit: u32,
    /// Window length in seconds.
    #[arg(long, default_value_t = 6)]
    pub window_secs: u64,
    /// Latencies of every list page, in milliseconds (one simulator each).
    #[arg(long, value_delimiter = ',', default_value = "300,800")]
    pub latencies_ms: Vec<u64>,
    /// Zendesk audit-log pages of the export (100 records each).
    #[arg(long, default_value_t = 420)]
    pub pages: u64,
    /// Genesys realtime records over the last 14 days (pages of 500; 0: no realtime case).
    #[arg(long, default_value_t = 60_000)]
    pub realtime_records: u64,
    /// The simulator serves HTTPS, HTTP/2 by ALPN as the vendors do (every walk of a sliced
    /// export shares one connection), instead of plain HTTP/1.1.
    #[arg(long)]
    pub tls: bool,
}

impl Default for BackfillArgs {
    fn default() -> Self {
        BackfillArgs {
            limit: 70,
            window_secs: 6,
            latencies_ms: vec![300, 800],
            pages: 420,
            realtime_records: 60_000,
            tls: false,
        }
    }
}

const TENANT: &str = "backfill";

#[derive(Debug, Clone, Serialize)]
struct Run {
    case: String,
    parallel: bool,
    rep: usize,
    records: u64,
    usage: Usage,
    windows_spanned: usize,
    full_windows: Vec<u64>,
    rate_limited_429: u64,
    identical: Option<bool>,
}

/// One export to compare: a stream over a window, at one latency.
struct Case {
    name: String,
    vendor: &'static str,
    stream: &'static str,
    window: [String; 4],
    latency_ms: u64,
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &BackfillArgs) -> Result<()> {
    let env = ctx.settle("backfill");
    let dir = ctx.dir("backfill")?;
    let mut runs = Vec::new();
    for &latency_ms in &args.latencies_ms {
        let (start, end) = (at(START), at(END));
        let tenant = sim::tenant(TENANT, 41, start, end, args.pages * 100, 10);
        let case = Case {
            name: format!(
                "zendesk-audit-logs, {latency_ms} ms a page{}",
                transport(args)
            ),
            vendor: "zendesk",
            stream: "zendesk-audit-logs",
            window: window(start, end),
            latency_ms,
        };
        runs.extend(run_case(ctx, args, &dir, tenant, &case)?);
    }
    if args.realtime_records > 0 {
        let latency_ms = args.latencies_ms.first().copied().unwrap_or(300);
        // Realtime reaches 14 days back: the records span the last 13.
        let end = Utc::now() - Duration::minutes(10);
        let start = end - Duration::days(13);
        let tenant = sim::tenant(TENANT, 43, start, end, 10, args.realtime_records);
        let case = Case {
            name: format!(
                "genesys-realtime, 14 days, {latency_ms} ms a page{}",
                transport(args)
            ),
            vendor: "genesys",
            stream: "genesys-realtime",
            window: window(start - Duration::minutes(1), end + Duration::minutes(1)),
            latency_ms,
        };
        runs.extend(run_case(ctx, args, &dir, tenant, &case)?);
    }
    report(ctx, args, env, &runs)
}

/// How the case names say the transport: nothing for plain HTTP/1.1.
fn transport(args: &BackfillArgs) -> &'static str {
    if args.tls { ", HTTPS" } else { "" }
}

fn window(since: chrono::DateTime<Utc>, until: chrono::DateTime<Utc>) -> [String; 4] {
    [
        "--since".into(),
        sim::rfc3339(since),
        "--until".into(),
        sim::rfc3339(until),
    ]
}

/// The sequential and the sliced export of `case`, `--reps` times each, interleaved.
fn run_case(
    ctx: &Ctx,
    args: &BackfillArgs,
    dir: &std::path::Path,
    tenant: audit_sim::TenantConfig,
    case: &Case,
) -> Result<Vec<Run>> {
    println!("  {}", case.name);
    let mut config = sim::config(vec![tenant]);
    let limit = audit_sim::RateLimitConfig {
        requests: args.limit,
        window_secs: args.window_secs,
    };
    config.zendesk.rate_limit = limit;
    config.genesys.rate_limit = limit;
    config.faults.page_latency_ms = case.latency_ms;
    if args.tls {
        config.tls_ca_file = Some(dir.join("backfill-ca.pem"));
    }
    let sim = Sim::start(&ctx.sim, dir, "backfill", config)?;
    let mut runs = Vec::new();
    let mut reference: Option<Vec<u8>> = None;
    for rep in 0..ctx.common.reps {
        for parallel in [false, true] {
            // Start at a window boundary, so the run's windows are its own.
            let w = args.window_secs as i64 * 1000;
            let now = Utc::now().timestamp_millis();
            let next = (now.div_euclid(w) + 1) * w;
            std::thread::sleep(std::time::Duration::from_millis((next - now + 20) as u64));
            let before = sim.stats()?;
            let began = Utc::now();
            let base = format!(
                "{}-{rep}-{}",
                case.stream,
                if parallel { "sliced" } else { "sequential" }
            );
            let output = dir.join(format!("{base}.ndjson"));
            let mut command = match case.vendor {
                "zendesk" => ctx.trail_zendesk(&sim, TENANT),
                _ => ctx.trail_genesys(&sim, TENANT),
            };
            command
                .arg(case.stream)
                .args(&case.window)
                .arg("--out")
                .arg(&output);
            if parallel {
                command.arg("--parallel");
            }
            let usage = measure::run(
                &mut command,
                &dir.join(format!("{base}.stdout")),
                &dir.join(format!("{base}.stderr")),
            )?;
            let ended = Utc::now();
            let after = sim.stats()?;
            if usage.exit_code != 0 {
                bail!("trail {} failed, see {}", case.stream, dir.display());
            }
            let records = count_lines(&output)?;
            let bytes = std::fs::read(&output)?;
            let _ = std::fs::remove_file(&output);
            let identical = match &reference {
                None => {
                    reference = Some(bytes);
                    None
                }
                Some(reference) => Some(*reference == bytes),
            };
            let windows = windows_of(
                &after,
                TENANT,
                case.vendor,
                (began, ended),
                args.window_secs,
            );
            let full: Vec<u64> = match windows.len() {
                0..=2 => Vec::new(),
                n => windows[1..n - 1]
                    .iter()
                    .map(|(_, _, accepted)| *accepted)
                    .collect(),
            };
            let limited = |stats: &Value| {
                stats["rate_limited"][format!("{TENANT}/{}", case.vendor)]
                    .as_u64()
                    .unwrap_or(0)
            };
            let run = Run {
                case: case.name.clone(),
                parallel,
                rep,
                records,
                windows_spanned: windows.len(),
                full_windows: full,
                rate_limited_429: limited(&after) - limited(&before),
                identical,
                usage,
            };
            println!(
                "    rep {rep} {:<10} {} records in {:.1} s, {:.1} MiB: accepted per full window {:?}, 429s {}",
                if parallel { "--parallel" } else { "sequential" },
                run.records,
                run.usage.wall_s,
                run.usage.max_rss_mib(),
                run.full_windows,
                run.rate_limited_429
            );
            runs.push(run);
        }
    }
    sim.stop();
    Ok(runs)
}

fn report(ctx: &Ctx, args: &BackfillArgs, env: Value, runs: &[Run]) -> Result<()> {
    let per_window = f64::from(args.limit);
    let mut table = Table::new(&[
        "export",
        "mode",
        "records",
        "wall s",
        "CPU s",
        "peak RSS MiB",
        "accepted ÷ allowed per full window (mean; min–max)",
        "429s",
        "same bytes as sequential",
    ]);
    let mut targets = Vec::new();
    let mut cases: Vec<&str> = runs.iter().map(|r| r.case.as_str()).collect();
    cases.dedup();
    for case in cases {
        let mut medians = [0.0; 2];
        let mut rss = [0.0; 2];
        for (mode, parallel) in [("sequential", false), ("--parallel", true)] {
            let rs: Vec<&Run> = runs
                .iter()
                .filter(|r| r.case == case && r.parallel == parallel)
                .collect();
            let full: Vec<f64> = rs
                .iter()
                .flat_map(|r| r.full_windows.iter().map(|&a| a as f64 / per_window))
                .collect();
            let mean = full.iter().sum::<f64>() / full.len().max(1) as f64;
            let spread = Summary::of(&full);
            let wall = Summary::of(&rs.iter().map(|r| r.usage.wall_s).collect::<Vec<_>>());
            let peak = Summary::of(&rs.iter().map(|r| r.usage.max_rss_mib()).collect::<Vec<_>>());
            medians[usize::from(parallel)] = wall.median;
            rss[usize::from(parallel)] = peak.median;
            let received: u64 = rs.iter().map(|r| r.rate_limited_429).sum();
            let spanned: usize = rs.iter().map(|r| r.windows_spanned).sum();
            let identical: Vec<bool> = rs.iter().filter_map(|r| r.identical).collect();
            table.row(vec![
                case.to_string(),
                mode.to_string(),
                rs.first().map_or(0, |r| r.records).to_string(),
                wall.show(1),
                Summary::of(&rs.iter().map(|r| r.usage.cpu_s()).collect::<Vec<_>>()).show(2),
                peak.show(1),
                match full.len() {
                    0 => "(no full window)".to_string(),
                    n => format!(
                        "{mean:.3}; {:.2}–{:.2} ({n} windows)",
                        spread.min, spread.max
                    ),
                },
                format!("{received} in {spanned} windows"),
                match identical.is_empty() {
                    true => "(reference)".to_string(),
                    false => format!(
                        "{} of {}",
                        identical.iter().filter(|&&b| b).count(),
                        identical.len()
                    ),
                },
            ]);
            // The targets are Zendesk's (700 a minute); realtime is reported.
            if parallel && case.contains("zendesk") {
                targets.push(Target::new(
                    format!("{case}: --parallel, requests per window achieved ÷ allowed"),
                    "≥ 0.90",
                    format!(
                        "{mean:.3} (mean of {} full windows; lowest {:.2})",
                        full.len(),
                        spread.min
                    ),
                    mean >= 0.90,
                ));
                targets.push(Target::new(
                    format!("{case}: --parallel, 429s received"),
                    "≤ 1 per 10 windows",
                    format!("{received} in {spanned} windows"),
                    received as f64 <= spanned as f64 / 10.0,
                ));
                targets.push(Target::new(
                    format!("{case}: --parallel output byte-identical to the sequential export's"),
                    "every run",
                    format!(
                        "{} of {}",
                        identical.iter().filter(|&&b| b).count(),
                        identical.len()
                    ),
                    identical.iter().all(|&b| b),
                ));
            }
        }
        let speedup = medians[0] / medians[1].max(f64::EPSILON);
        let wanted = if case.contains("zendesk") && case.contains("300 ms") {
            Some(3.0)
        } else {
            None
        };
        targets.push(Target::new(
            format!("{case}: sequential wall ÷ --parallel wall"),
            wanted.map_or("(reported)".to_string(), |w| format!("≥ {w:.0}×")),
            format!("{speedup:.2}× ({:.1} s vs {:.1} s)", medians[0], medians[1]),
            wanted.is_none_or(|w| speedup >= w),
        ));
        let growth = rss[1] / rss[0].max(f64::EPSILON) - 1.0;
        let zendesk = case.contains("zendesk");
        targets.push(Target::new(
            format!("{case}: --parallel peak RSS against sequential"),
            if zendesk { "within 10%" } else { "(reported)" },
            format!(
                "{:+.1}% ({:.1} MiB vs {:.1} MiB)",
                growth * 100.0,
                rss[1],
                rss[0]
            ),
            growth <= 0.10 || !zendesk,
        ));
    }
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["limit"] = json!({"requests": args.limit, "window_secs": args.window_secs});
    details["runs"] = serde_json::to_value(runs)?;
    report::finish(
        &ctx.out,
        "backfill",
        &[("sequential and sliced exports at the rate limit", &table)],
        &targets,
        details,
    )
}
