//! Benchmark 4, latency-bound concurrency: the simulator adds `--latency-ms` (50) to every
//! list and results page; `trail export --all` of the four streams of one account (a
//! `trail.toml`) against each stream alone (`trail export STREAM`, same data, same window).
//! Target: the whole at most 1.3× the slowest single stream.

use std::path::Path;

use anyhow::{Result, bail};
use chrono::{DurationRound, TimeDelta, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::measure::{self, Usage};
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::{Ctx, count_lines};

/// `audit-bench concurrency`.
#[derive(Debug, Clone, Args)]
pub struct ConcurrencyArgs {
    /// Latency added to every page, ms.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Pages of the Zendesk audit-log stream (100 records each); the other streams are sized
    /// alike (Genesys 500 per page; ticket audits, heavier records in larger pages, 100 per page
    /// of audit logs).
    #[arg(long, default_value_t = 100)]
    pub pages: u64,
}

impl Default for ConcurrencyArgs {
    fn default() -> Self {
        ConcurrencyArgs {
            latency_ms: 50,
            pages: 100,
        }
    }
}

const STREAMS: [&str; 4] = [
    "zendesk-audit-logs",
    "zendesk-ticket-audits",
    "genesys-audits",
    "genesys-realtime",
];
const TENANT: &str = "cc";

#[derive(Debug, Clone, Serialize)]
struct Run {
    what: String,
    rep: usize,
    records: u64,
    usage: Usage,
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &ConcurrencyArgs) -> Result<()> {
    let env = ctx.settle("concurrency");
    let dir = ctx.dir("concurrency")?;
    // Within the last 14 days, so the realtime stream sees it too.
    let now = Utc::now().duration_trunc(TimeDelta::seconds(1))?;
    let (start, end) = (now - TimeDelta::days(10), now - TimeDelta::hours(2));
    let mut tenant = sim::tenant(TENANT, 41, start, end, args.pages * 100, args.pages * 500);
    tenant.zendesk.ticket_audits = args.pages * 100;
    let mut config = sim::config(vec![tenant]);
    config.faults.page_latency_ms = args.latency_ms;
    let sim = Sim::start(&ctx.sim, &dir, "concurrency", config)?;
    let t = sim.tenant(TENANT).clone();

    let toml = dir.join("trail.toml");
    let mut text = format!(
        "[zendesk.{TENANT}]\nsubdomain = \"{}\"\nbase_url = \"{}\"\nemail = \"{}\"\napi_token_env = \"BENCH_ZENDESK_TOKEN\"\n\n\
         [genesys.{TENANT}]\napi_base_url = \"{}\"\nlogin_base_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"BENCH_GENESYS_SECRET\"\ntenant = \"{TENANT}\"\n",
        t.zendesk.subdomain,
        sim.zendesk,
        t.zendesk.email,
        sim.genesys_api,
        sim.genesys_login,
        t.genesys.client_id
    );
    for stream in STREAMS {
        text.push_str(&format!(
            "\n[[export]]\nstream = \"{stream}\"\naccount = \"{TENANT}\"\nout = \"{}\"\n",
            dir.join(format!("all-{stream}.ndjson")).display()
        ));
    }
    std::fs::write(&toml, text)?;
    let window = [
        "--since".to_string(),
        sim::rfc3339(start),
        "--until".to_string(),
        sim::rfc3339(end),
    ];

    let mut runs = Vec::new();
    for rep in 0..ctx.common.reps {
        for what in std::iter::once("--all").chain(STREAMS) {
            let base = format!("{}-{rep}", what.trim_start_matches('-'));
            let (mut command, outputs) = if what == "--all" {
                let mut c = ctx.trail_zendesk(&sim, TENANT);
                c.env("BENCH_ZENDESK_TOKEN", &t.zendesk.api_token)
                    .env("BENCH_GENESYS_SECRET", &t.genesys.client_secret)
                    .arg("--all")
                    .arg("--config")
                    .arg(&toml);
                let outs: Vec<_> = STREAMS
                    .iter()
                    .map(|s| dir.join(format!("all-{s}.ndjson")))
                    .collect();
                (c, outs)
            } else {
                let mut c = if what.starts_with("zendesk") {
                    ctx.trail_zendesk(&sim, TENANT)
                } else {
                    ctx.trail_genesys(&sim, TENANT)
                };
                let out = dir.join(format!("{base}.ndjson"));
                c.arg(what).arg("--out").arg(&out);
                (c, vec![out])
            };
            command.args(&window);
            let usage = measure::run(
                &mut command,
                &dir.join(format!("{base}.stdout")),
                &dir.join(format!("{base}.stderr")),
            )?;
            if usage.exit_code != 0 {
                bail!("trail export {what} failed, see {}", dir.display());
            }
            let records = outputs
                .iter()
                .map(|o| lines_then_remove(o))
                .sum::<Result<u64>>()?;
            println!(
                "  rep {rep} {what:<22} {records:>7} records  {:>6.2} s wall  {:>5.2} s cpu",
                usage.wall_s,
                usage.cpu_s()
            );
            runs.push(Run {
                what: what.to_string(),
                rep,
                records,
                usage,
            });
        }
    }
    let stats = sim.stats()?;
    sim.stop();

    let wall = |what: &str| {
        Summary::of(
            &runs
                .iter()
                .filter(|r| r.what == what)
                .map(|r| r.usage.wall_s)
                .collect::<Vec<_>>(),
        )
    };
    let mut table = Table::new(&["export", "records", "wall s", "CPU s"]);
    for what in std::iter::once("--all").chain(STREAMS) {
        let rs: Vec<&Run> = runs.iter().filter(|r| r.what == what).collect();
        table.row(vec![
            if what == "--all" {
                "trail export --all (4 streams)".to_string()
            } else {
                format!("trail export {what}")
            },
            rs.first().map_or(0, |r| r.records).to_string(),
            wall(what).show(2),
            Summary::of(&rs.iter().map(|r| r.usage.cpu_s()).collect::<Vec<_>>()).show(2),
        ]);
    }
    let (slowest, slowest_wall) = STREAMS
        .iter()
        .map(|s| (*s, wall(s).median))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("four streams");
    let all = wall("--all").median;
    let sum: f64 = STREAMS.iter().map(|s| wall(s).median).sum();
    let targets = vec![Target::new(
        format!(
            "--all ÷ slowest single stream ({slowest}), {} ms per page",
            args.latency_ms
        ),
        "≤ 1.3×",
        format!(
            "{:.2}× ({all:.2} s vs {slowest_wall:.2} s; the four alone add up to {sum:.2} s)",
            all / slowest_wall
        ),
        all / slowest_wall <= 1.3,
    )];
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["latency_ms"] = json!(args.latency_ms);
    details["sim_requests"] = stats["requests"].clone();
    details["runs"] = serde_json::to_value(&runs)?;
    report::finish(
        &ctx.out,
        "concurrency",
        &[(
            &format!("{} ms added per page, median (min–max)", args.latency_ms),
            &table,
        )],
        &targets,
        details,
    )
}

fn lines_then_remove(path: &Path) -> Result<u64> {
    let n = count_lines(path)?;
    let _ = std::fs::remove_file(path);
    Ok(n)
}
