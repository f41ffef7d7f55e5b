//! Benchmark 1, throughput: `trail export zendesk-audit-logs` (100 per page) and `trail export
//! genesys-audits` (500 per page) into a file, no rate limit, beside the floor (reqwest +
//! `serde_json::Value`) and the raw progenitor clients over the same pages; at two export
//! sizes, for peak RSS at each. `trail export zendesk-ticket-audits` (100 per page) too, `trail`
//! alone (vendor `zendesk-ticket-audits`), for its CPU per record beside the audit logs'.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::measure::{self, Usage};
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::{Ctx, at, count_lines};

/// `audit-bench throughput`.
#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    /// Records of the large export (each vendor).
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Records of the small export (peak RSS is compared between the two).
    #[arg(long, default_value_t = 100_000)]
    pub small: u64,
    /// Only these contenders (floor, raw, trail).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Only this vendor (zendesk, genesys or zendesk-ticket-audits).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Another trail binary (e.g. one built before a change), run beside the others as
    /// `trail-before`, for a before/after comparison in the same run.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<std::path::PathBuf>,
}

impl Default for ThroughputArgs {
    fn default() -> Self {
        ThroughputArgs {
            records: 1_000_000,
            small: 100_000,
            only: Vec::new(),
            vendor: None,
            baseline: None,
        }
    }
}

/// The vendor name of the ticket-audit export (`trail` only).
const TICKET_AUDITS: &str = "zendesk-ticket-audits";

/// The data span: 28 days, so one Genesys query (30-day chunks) covers it.
pub const START: &str = "2024-01-01T00:00:00Z";
/// The span's end.
pub const END: &str = "2024-01-29T00:00:00Z";

#[derive(Debug, Clone, Serialize)]
struct Run {
    vendor: &'static str,
    size: u64,
    contender: &'static str,
    rep: usize,
    records: u64,
    /// Bytes of the export (0 for the floor and the raw clients, whose output is not kept).
    bytes: u64,
    usage: Usage,
    sim_cpu_s: f64,
}

fn tenant_name(size: u64) -> String {
    format!("n{size}")
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &ThroughputArgs) -> Result<()> {
    let env = ctx.settle("throughput");
    let dir = ctx.dir("throughput")?;
    let (start, end) = (at(START), at(END));
    let sizes = [args.small, args.records];
    let tenants = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut t = sim::tenant(&tenant_name(n), 11 + i as u64, start, end, n, n);
            t.zendesk.ticket_audits = n;
            t
        })
        .collect();
    let sim = Sim::start(&ctx.sim, &dir, "throughput", sim::config(tenants))?;
    let vendors: Vec<&'static str> = ["zendesk", "genesys", TICKET_AUDITS]
        .into_iter()
        .filter(|v| args.vendor.as_deref().is_none_or(|o| o == *v))
        .collect();
    let contenders: Vec<&'static str> = ["floor", "raw", "trail-before", "trail"]
        .into_iter()
        .filter(|c| *c != "trail-before" || args.baseline.is_some())
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| o == c))
        .collect();

    // What each export must hold, from the simulator's ground truth.
    let mut expected = BTreeMap::new();
    for &size in &sizes {
        for &vendor in &vendors {
            let stream = match vendor {
                "zendesk" => "zendesk-audit-logs",
                TICKET_AUDITS => TICKET_AUDITS,
                _ => "genesys-audits",
            };
            let until = match vendor {
                "genesys" => end + chrono::TimeDelta::milliseconds(1),
                _ => end,
            };
            let ids = sim.ground_truth(&tenant_name(size), stream, start, until)?;
            expected.insert((vendor, size), ids.len() as u64);
        }
    }
    println!("expected records: {expected:?}");

    let mut runs = Vec::new();
    for rep in 0..ctx.common.reps {
        for &size in &sizes {
            for &vendor in &vendors {
                for &contender in &contenders {
                    if vendor == TICKET_AUDITS && !contender.starts_with("trail") {
                        continue; // The floor and the raw clients read audit logs only.
                    }
                    let r = one(
                        ctx,
                        args.baseline.as_deref(),
                        &sim,
                        &dir,
                        (vendor, size, contender, rep),
                        (start, end),
                    )?;
                    let want = expected[&(vendor, size)];
                    println!(
                        "  rep {rep} {vendor:<7} {size:>8} {contender:<5}  {:>7.2} s wall  {:>6.2} s cpu  {:>6.1} MiB  {:>9.0} rec/s  sim cpu {:>6.2} s",
                        r.usage.wall_s,
                        r.usage.cpu_s(),
                        r.usage.max_rss_mib(),
                        r.records as f64 / r.usage.wall_s,
                        r.sim_cpu_s
                    );
                    if r.usage.exit_code != 0 || r.records != want {
                        bail!(
                            "{contender} {vendor} {size}: exit {} with {} records, {want} expected (see {})",
                            r.usage.exit_code,
                            r.records,
                            dir.display()
                        );
                    }
                    runs.push(r);
                }
            }
        }
    }
    sim.stop();

    // Tables.
    let pick = |vendor: &str, size: u64, contender: &str| -> Vec<&Run> {
        runs.iter()
            .filter(|r| r.vendor == vendor && r.size == size && r.contender == contender)
            .collect()
    };
    let stat = |rs: &[&Run], f: &dyn Fn(&Run) -> f64| {
        Summary::of(&rs.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    let rate = |r: &Run| r.records as f64 / r.usage.wall_s;
    let cpu_per_m = |r: &Run| r.usage.cpu_s() / r.records as f64 * 1e6;
    let rss = |r: &Run| r.usage.max_rss_mib();
    let mut table = Table::new(&[
        "export",
        "records/s",
        "vs floor",
        "CPU s / 1M records",
        "bytes / record",
        "peak RSS MiB",
        "wall s",
        "simulator CPU s",
    ]);
    let mut summaries = Vec::new();
    let mut targets = Vec::new();
    for &vendor in &vendors {
        for &size in &sizes {
            let floor_rate = stat(&pick(vendor, size, "floor"), &rate).median;
            for &contender in &contenders {
                let rs = pick(vendor, size, contender);
                if rs.is_empty() {
                    continue;
                }
                let (rt, cpu, bytes, mem, wall, simcpu) = (
                    stat(&rs, &rate),
                    stat(&rs, &cpu_per_m),
                    stat(&rs, &|r| r.bytes as f64 / r.records.max(1) as f64),
                    stat(&rs, &rss),
                    stat(&rs, &|r| r.usage.wall_s),
                    stat(&rs, &|r| r.sim_cpu_s),
                );
                table.row(vec![
                    format!("{vendor} {} {contender}", human(size)),
                    rt.show(0),
                    if floor_rate > 0.0 {
                        format!("{:.0}%", rt.median / floor_rate * 100.0)
                    } else {
                        "-".into()
                    },
                    cpu.show(2),
                    match bytes.median {
                        0.0 => "-".into(),
                        b => format!("{b:.0}"),
                    },
                    mem.show(1),
                    wall.show(2),
                    simcpu.show(2),
                ]);
                summaries.push(json!({
                    "vendor": vendor, "records": size, "contender": contender,
                    "records_per_s": rt, "cpu_s_per_million": cpu, "bytes_per_record": bytes, "peak_rss_mib": mem,
                    "wall_s": wall, "sim_cpu_s": simcpu,
                }));
            }
        }
        if contenders.contains(&"trail") {
            let big = args.records;
            let trail_rate = stat(&pick(vendor, big, "trail"), &rate);
            let floor_rate = stat(&pick(vendor, big, "floor"), &rate);
            if floor_rate.n > 0 {
                let share = trail_rate.median / floor_rate.median;
                targets.push(Target::new(
                    format!("{vendor}: trail records/s ÷ floor, {}", human(big)),
                    "≥ 75%",
                    format!(
                        "{:.0}% ({:.0} vs {:.0} records/s)",
                        share * 100.0,
                        trail_rate.median,
                        floor_rate.median
                    ),
                    share >= 0.75,
                ));
            }
            let rss_big = stat(&pick(vendor, big, "trail"), &rss);
            let rss_small = stat(&pick(vendor, args.small, "trail"), &rss);
            targets.push(Target::new(
                format!("{vendor}: trail peak RSS, {}", human(big)),
                "≤ 64 MiB",
                format!("{:.1} MiB (largest run)", rss_big.max),
                rss_big.max <= 64.0,
            ));
            let growth = (rss_big.median - rss_small.median) / rss_small.median;
            targets.push(Target::new(
                format!(
                    "{vendor}: trail peak RSS {} vs {}",
                    human(big),
                    human(args.small)
                ),
                "within 10%",
                format!(
                    "{:+.1}% ({:.1} vs {:.1} MiB, medians)",
                    growth * 100.0,
                    rss_big.median,
                    rss_small.median
                ),
                growth.abs() <= 0.10,
            ));
        }
    }
    // Issue 18: a ticket audit costs at most 1.5× the CPU of an audit log. Beside it, the
    // same per byte written: a ticket audit's line is about twice an audit log's.
    let big = args.records;
    let (ticket_runs, log_runs) = (
        pick(TICKET_AUDITS, big, "trail"),
        pick("zendesk", big, "trail"),
    );
    let cpu_per_gb = |r: &Run| r.usage.cpu_s() / r.bytes.max(1) as f64 * 1e9;
    let (tickets, tickets_per_gb) = (
        stat(&ticket_runs, &cpu_per_m),
        stat(&ticket_runs, &cpu_per_gb),
    );
    let (logs, logs_per_gb) = (stat(&log_runs, &cpu_per_m), stat(&log_runs, &cpu_per_gb));
    if tickets.n > 0 && logs.n > 0 {
        let ratio = tickets.median / logs.median;
        targets.push(Target::new(
            format!(
                "trail CPU per record, ticket audits ÷ audit logs, {}",
                human(big)
            ),
            "≤ 1.5×",
            format!(
                "{ratio:.2}× ({:.2} vs {:.2} s per 1M records; per byte written {:.2}×: \
                 {:.2} vs {:.2} s per GB)",
                tickets.median,
                logs.median,
                tickets_per_gb.median / logs_per_gb.median,
                tickets_per_gb.median,
                logs_per_gb.median,
            ),
            ratio <= 1.5,
        ));
    }
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["span"] = json!([START, END]);
    details["summaries"] = json!(summaries);
    details["runs"] = serde_json::to_value(&runs)?;
    report::finish(
        &ctx.out,
        "throughput",
        &[(
            "records/s, CPU and memory (median (min–max) of the runs)",
            &table,
        )],
        &targets,
        details,
    )
}

/// `1M`, `100k`.
pub fn human(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn one(
    ctx: &Ctx,
    baseline: Option<&std::path::Path>,
    sim: &Sim,
    dir: &std::path::Path,
    (vendor, size, contender, rep): (&'static str, u64, &'static str, usize),
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Run> {
    let tenant = tenant_name(size);
    let t = sim.tenant(&tenant);
    let base = format!("{vendor}-{size}-{contender}-{rep}");
    let (stdout, stderr) = (
        dir.join(format!("{base}.stdout")),
        dir.join(format!("{base}.stderr")),
    );
    let output = dir.join(format!("{base}.ndjson"));
    let mut command = match contender {
        "trail" | "trail-before" => {
            let bin = match contender {
                "trail" => ctx.trail.as_path(),
                _ => baseline.expect("a baseline binary"),
            };
            let mut c = match vendor {
                "zendesk" | TICKET_AUDITS => {
                    let mut c = ctx.trail_zendesk_with(bin, sim, &tenant);
                    c.arg(match vendor {
                        "zendesk" => "zendesk-audit-logs",
                        _ => TICKET_AUDITS,
                    });
                    c
                }
                _ => {
                    let mut c = ctx.trail_genesys_with(bin, sim, &tenant);
                    c.arg("genesys-audits");
                    c
                }
            };
            c.arg("--since")
                .arg(sim::rfc3339(start))
                .arg("--until")
                .arg(sim::rfc3339(end))
                .arg("--out")
                .arg(&output);
            c
        }
        kind => {
            let mut c = Command::new(&ctx.bench);
            c.args(["worker", "--kind", kind, "--vendor", vendor]);
            match vendor {
                "zendesk" => c
                    .args(["--base", &sim.zendesk])
                    .args(["--user", &t.zendesk.email])
                    .args(["--secret", &t.zendesk.api_token])
                    .args(["--page-size", "100"]),
                _ => c
                    .args(["--base", &sim.genesys_api])
                    .args(["--login", &sim.genesys_login])
                    .args(["--user", &t.genesys.client_id])
                    .args(["--secret", &t.genesys.client_secret])
                    .args(["--page-size", "500"]),
            };
            c.args([
                "--since",
                &sim::rfc3339(start),
                "--until",
                &sim::rfc3339(end),
            ]);
            c
        }
    };
    let sim_before = sim.cpu_s();
    let usage = measure::run(&mut command, &stdout, &stderr)?;
    let sim_cpu_s = sim.cpu_s() - sim_before;
    let (records, bytes) = if contender.starts_with("trail") {
        let n = count_lines(&output).unwrap_or(0);
        let bytes = std::fs::metadata(&output).map_or(0, |m| m.len());
        let _ = std::fs::remove_file(&output);
        (n, bytes)
    } else {
        let n = std::fs::read_to_string(&stdout)?
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (n, 0)
    };
    Ok(Run {
        vendor,
        size,
        contender,
        rep,
        records,
        bytes,
        usage,
        sim_cpu_s,
    })
}
