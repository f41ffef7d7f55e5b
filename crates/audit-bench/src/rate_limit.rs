//! Benchmark 3, rate-limit utilisation: the simulator enforces a short fixed window (50
//! requests per 5 s by default) with real headers, on both vendors; `trail export` runs over
//! enough records to span at least `--windows` windows. From the simulator's own
//! `/_sim/stats`: requests accepted per window ÷ allowed (full windows only: the first and the
//! last are cut by the run's start and end), and 429s sent. Then `--rate-share` beside another
//! client spending the rest of the limit ([`crate::rate_share`]).

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::measure::{self, Usage};
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::throughput::{END, START};
use crate::{Ctx, at, count_lines};

/// `audit-bench rate-limit`.
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// Requests allowed per window.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Window length in seconds.
    #[arg(long, default_value_t = 5)]
    pub window_secs: u64,
    /// Windows an export should span (its records are sized for this many full windows).
    #[arg(long, default_value_t = 12)]
    pub windows: u64,
    /// The `--rate-share` case: trail's share of the limit in percent, beside another client
    /// spending the rest (0: no such case).
    #[arg(long, default_value_t = 50)]
    pub share_percent: u32,
}

impl Default for RateLimitArgs {
    fn default() -> Self {
        RateLimitArgs {
            limit: 50,
            window_secs: 5,
            windows: 12,
            share_percent: 50,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Run {
    vendor: &'static str,
    rep: usize,
    records: u64,
    usage: Usage,
    windows_spanned: usize,
    full_windows: Vec<u64>,
    requests: u64,
    rate_limited_429: u64,
}

/// The benchmark's tenant.
pub(crate) const TENANT: &str = "rl";

fn limited(stats: &Value, vendor: &str) -> u64 {
    stats["rate_limited"][format!("{TENANT}/{vendor}")]
        .as_u64()
        .unwrap_or(0)
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &RateLimitArgs) -> Result<()> {
    let env = ctx.settle("rate-limit");
    let dir = ctx.dir("rate-limit")?;
    let (start, end) = (at(START), at(END));
    let per_window = u64::from(args.limit);
    let tenant = sim::tenant(
        TENANT,
        31,
        start,
        end,
        per_window * 100 * args.windows,
        per_window * 500 * args.windows,
    );
    let mut config = sim::config(vec![tenant]);
    let limit = audit_sim::RateLimitConfig {
        requests: args.limit,
        window_secs: args.window_secs,
    };
    config.zendesk.rate_limit = limit;
    config.genesys.rate_limit = limit;
    let sim = Sim::start(&ctx.sim, &dir, "rate-limit", config)?;

    let mut runs = Vec::new();
    for rep in 0..ctx.common.reps {
        for vendor in ["zendesk", "genesys"] {
            // Start at a window boundary, so the run's windows are its own.
            let w = args.window_secs as i64 * 1000;
            let now = Utc::now().timestamp_millis();
            let next = (now.div_euclid(w) + 1) * w;
            std::thread::sleep(std::time::Duration::from_millis((next - now + 20) as u64));
            let before = sim.stats()?;
            let began = Utc::now();
            let base = format!("{vendor}-{rep}");
            let output = dir.join(format!("{base}.ndjson"));
            let mut command = if vendor == "zendesk" {
                let mut c = ctx.trail_zendesk(&sim, TENANT);
                c.arg("zendesk-audit-logs");
                c
            } else {
                let mut c = ctx.trail_genesys(&sim, TENANT);
                c.arg("genesys-audits");
                c
            };
            command
                .args([
                    "--since",
                    &sim::rfc3339(start),
                    "--until",
                    &sim::rfc3339(end),
                ])
                .arg("--out")
                .arg(&output);
            let usage = measure::run(
                &mut command,
                &dir.join(format!("{base}.stdout")),
                &dir.join(format!("{base}.stderr")),
            )?;
            let ended = Utc::now();
            let after = sim.stats()?;
            let records = count_lines(&output)?;
            let _ = std::fs::remove_file(&output);
            if usage.exit_code != 0 {
                bail!("trail {vendor} failed, see {}", dir.display());
            }
            let windows = windows_of(&after, TENANT, vendor, (began, ended), args.window_secs);
            let full: Vec<u64> = if windows.len() > 2 {
                windows[1..windows.len() - 1]
                    .iter()
                    .map(|&(_, _, accepted)| accepted)
                    .collect()
            } else {
                Vec::new()
            };
            let r = Run {
                vendor,
                rep,
                records,
                windows_spanned: windows.len(),
                requests: windows.iter().map(|&(_, requests, _)| requests).sum(),
                rate_limited_429: limited(&after, vendor) - limited(&before, vendor),
                full_windows: full,
                usage,
            };
            println!(
                "  rep {rep} {vendor:<7} {} records in {:.1} s: {} windows, accepted per full window {:?}, 429s {}",
                r.records, r.usage.wall_s, r.windows_spanned, r.full_windows, r.rate_limited_429
            );
            runs.push(r);
        }
    }
    let share = (args.share_percent > 0)
        .then(|| crate::rate_share::run(ctx, &sim, &dir, args))
        .transpose()?;
    sim.stop();

    let mut table = Table::new(&[
        "export",
        "records",
        "wall s",
        "windows spanned",
        "accepted ÷ allowed per full window (mean; min–max)",
        "429s received",
    ]);
    let mut targets = Vec::new();
    let mut summaries = Vec::new();
    for vendor in ["zendesk", "genesys"] {
        let rs: Vec<&Run> = runs.iter().filter(|r| r.vendor == vendor).collect();
        let full: Vec<f64> = rs
            .iter()
            .flat_map(|r| r.full_windows.iter().map(|&a| a as f64 / per_window as f64))
            .collect();
        let mean = full.iter().sum::<f64>() / full.len().max(1) as f64;
        let spread = Summary::of(&full);
        let spanned: usize = rs.iter().map(|r| r.windows_spanned).sum();
        let received: u64 = rs.iter().map(|r| r.rate_limited_429).sum();
        table.row(vec![
            format!(
                "trail {vendor} ({} req / {} s)",
                args.limit, args.window_secs
            ),
            rs.first().map_or(0, |r| r.records).to_string(),
            Summary::of(&rs.iter().map(|r| r.usage.wall_s).collect::<Vec<_>>()).show(1),
            Summary::of(
                &rs.iter()
                    .map(|r| r.windows_spanned as f64)
                    .collect::<Vec<_>>(),
            )
            .show(0),
            format!(
                "{mean:.3}; {:.2}–{:.2} ({} windows)",
                spread.min,
                spread.max,
                full.len()
            ),
            format!("{received} in {} runs", rs.len()),
        ]);
        targets.push(Target::new(
            format!("{vendor}: requests per window achieved ÷ allowed"),
            "≥ 0.95",
            format!(
                "{mean:.3} (mean of {} full windows; lowest {:.2})",
                full.len(),
                spread.min
            ),
            mean >= 0.95,
        ));
        targets.push(Target::new(
            format!("{vendor}: 429s received"),
            "≤ 1 per 10 windows",
            format!("{received} in {spanned} windows"),
            received as f64 <= spanned as f64 / 10.0,
        ));
        summaries.push(
            json!({"vendor": vendor, "utilisation_mean": mean, "utilisation": spread,
            "windows_spanned": spanned, "rate_limited_429": received}),
        );
    }
    if let Some(share) = &share {
        table.row(share.row.clone());
        targets.extend(share.targets.iter().cloned());
    }
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["rate_share"] = share.map_or(Value::Null, |share| share.details);
    details["limit"] = json!({"requests": args.limit, "window_secs": args.window_secs});
    details["summaries"] = json!(summaries);
    details["runs"] = serde_json::to_value(&runs)?;
    report::finish(
        &ctx.out,
        "rate-limit",
        &[("utilisation and 429s", &table)],
        &targets,
        details,
    )
}

/// The windows of `vendor` that a run touched, in order: (start in seconds since the epoch,
/// requests, accepted).
pub(crate) fn windows_of(
    stats: &Value,
    tenant: &str,
    vendor: &str,
    (began, ended): (DateTime<Utc>, DateTime<Utc>),
    window_secs: u64,
) -> Vec<(i64, u64, u64)> {
    let first = began.timestamp().div_euclid(window_secs as i64) * window_secs as i64;
    let mut found: Vec<(i64, u64, u64)> = stats["windows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["tenant"] == tenant && w["vendor"] == vendor)
        .filter_map(|w| {
            let at: DateTime<Utc> = w["window_start"].as_str()?.parse().ok()?;
            let t = at.timestamp();
            if t < first || t > ended.timestamp() {
                return None;
            }
            let requests = w["requests"].as_u64()?;
            let limited = w["limited"].as_u64()?;
            Some((t, requests, requests - limited))
        })
        .collect();
    found.sort();
    // Windows with no request at all (a pause longer than a window) still count.
    let mut out = Vec::new();
    let mut expected = first;
    for (t, requests, accepted) in found {
        while expected < t {
            if !out.is_empty() {
                out.push((expected, 0, 0));
            }
            expected += window_secs as i64;
        }
        out.push((t, requests, accepted));
        expected = t + window_secs as i64;
    }
    out
}
