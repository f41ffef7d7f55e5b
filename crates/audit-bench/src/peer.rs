//! Benchmark 2, a peer side by side: the Genesys Cloud Python SDK (`PureCloudPlatformClientV2`)
//! paging the same historical query's results as `trail export genesys-audits`, and zenpy
//! paging Zendesk ticket audits beside `trail export zendesk-ticket-audits`.
//!
//! Scope: the **whole export** on both sides (process start to exit: token, query, paging;
//! trail also maps and writes its file, the peers only decode). The peers also report their
//! paging time alone; the ratio of that to trail's whole export is given too (conservative for
//! trail, whose whole run includes more than its paging).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::measure::{self, Usage};
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::throughput::{END, START, human};
use crate::{Ctx, at, count_lines};

/// `audit-bench peer`.
#[derive(Debug, Clone, Args)]
pub struct PeerArgs {
    /// Genesys audit records (and Zendesk ticket audits) of the peer tenant.
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Runs of each peer (they are slow); trail runs --reps times.
    #[arg(long, default_value_t = 2)]
    pub peer_reps: usize,
    /// Leave zenpy out.
    #[arg(long)]
    pub no_zenpy: bool,
    /// Another trail binary (e.g. one built before a change), run beside the others as
    /// `trail-before` (its ticket-audit export), for a before/after comparison in one run.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
}

impl Default for PeerArgs {
    fn default() -> Self {
        PeerArgs {
            records: 100_000,
            peer_reps: 2,
            no_zenpy: false,
            baseline: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Run {
    contender: &'static str,
    rep: usize,
    records: u64,
    paging_s: Option<f64>,
    usage: Usage,
}

const TENANT: &str = "peer";

/// The virtualenv with both peers, created on first use.
fn venv(ctx: &Ctx) -> Result<PathBuf> {
    let dir = ctx.out.join("venv");
    let python = dir.join("bin/python");
    if !python.exists() {
        println!(
            "creating {} and installing PureCloudPlatformClientV2 and zenpy",
            dir.display()
        );
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()?
            .success();
        anyhow::ensure!(ok, "python3 -m venv failed");
    }
    let check = Command::new(&python)
        .args(["-c", "import PureCloudPlatformClientV2, zenpy"])
        .status()?;
    if !check.success() {
        let ok = Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "PureCloudPlatformClientV2", "zenpy"])
            .status()?
            .success();
        anyhow::ensure!(ok, "pip install PureCloudPlatformClientV2 zenpy failed");
    }
    Ok(python)
}

fn version(python: &Path, package: &str) -> String {
    Command::new(python)
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version('{package}'))"),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &PeerArgs) -> Result<()> {
    let python = venv(ctx)?;
    let env = ctx.settle("peer");
    let dir = ctx.dir("peer")?;
    let (start, end) = (at(START), at(END));
    let mut tenant = sim::tenant(TENANT, 21, start, end, 1000, args.records);
    tenant.zendesk.ticket_audits = args.records;
    let sim = Sim::start(&ctx.sim, &dir, "peer", sim::config(vec![tenant]))?;
    let t = sim.tenant(TENANT).clone();
    let peers_dir = ctx.root.join("crates/audit-bench/peers");
    let interval = format!(
        "{}/{}",
        sim::rfc3339(start),
        sim::rfc3339(end + chrono::TimeDelta::milliseconds(1))
    );
    let zendesk_netloc = sim.zendesk.trim_start_matches("http://").to_string();

    let mut runs: Vec<Run> = Vec::new();
    let reps = ctx.common.reps.max(args.peer_reps);
    for rep in 0..reps {
        let mut plan: Vec<&'static str> = vec!["trail genesys-audits"];
        if rep < args.peer_reps {
            plan.push("Genesys Python SDK");
        }
        if !args.no_zenpy {
            plan.push("trail zendesk-ticket-audits");
            if args.baseline.is_some() {
                plan.push("trail-before zendesk-ticket-audits");
            }
            if rep < args.peer_reps {
                plan.push("zenpy");
            }
        }
        for contender in plan {
            let base = format!("{}-{rep}", contender.replace(' ', "_"));
            let (stdout, stderr) = (
                dir.join(format!("{base}.stdout")),
                dir.join(format!("{base}.stderr")),
            );
            let output = dir.join(format!("{base}.ndjson"));
            let mut command = match contender {
                "trail genesys-audits"
                | "trail zendesk-ticket-audits"
                | "trail-before zendesk-ticket-audits" => {
                    let mut c = if contender.contains("genesys") {
                        let mut c = ctx.trail_genesys(&sim, TENANT);
                        c.arg("genesys-audits");
                        c
                    } else {
                        let bin = match (contender.starts_with("trail-before"), &args.baseline) {
                            (true, Some(baseline)) => baseline.as_path(),
                            _ => ctx.trail.as_path(),
                        };
                        let mut c = ctx.trail_zendesk_with(bin, &sim, TENANT);
                        c.arg("zendesk-ticket-audits");
                        c
                    };
                    c.args([
                        "--since",
                        &sim::rfc3339(start),
                        "--until",
                        &sim::rfc3339(end),
                    ])
                    .arg("--out")
                    .arg(&output);
                    c
                }
                "Genesys Python SDK" => {
                    let mut c = Command::new(&python);
                    c.arg(peers_dir.join("genesys_sdk.py"))
                        .args(["--api", &sim.genesys_api, "--login", &sim.genesys_login])
                        .args(["--client-id", &t.genesys.client_id])
                        .args(["--client-secret", &t.genesys.client_secret])
                        .args(["--interval", &interval, "--page-size", "500"]);
                    c
                }
                _ => {
                    let mut c = Command::new(&python);
                    c.arg(peers_dir.join("zenpy_ticket_audits.py"))
                        .env("ZENPY_FORCE_SCHEME", "http")
                        .env("ZENPY_FORCE_NETLOC", &zendesk_netloc)
                        .args(["--subdomain", &t.zendesk.subdomain])
                        .args(["--email", &t.zendesk.email])
                        .args(["--token", &t.zendesk.api_token]);
                    c
                }
            };
            let usage = measure::run(&mut command, &stdout, &stderr)?;
            if usage.exit_code != 0 {
                bail!(
                    "{contender} failed (exit {}), see {}",
                    usage.exit_code,
                    stderr.display()
                );
            }
            let (records, paging_s) = if contender.starts_with("trail") {
                let n = count_lines(&output)?;
                let _ = std::fs::remove_file(&output);
                (n, None)
            } else {
                let line = std::fs::read_to_string(&stdout)?;
                let v: Value = serde_json::from_str(line.trim()).context("peer output")?;
                (v["records"].as_u64().unwrap_or(0), v["paging_s"].as_f64())
            };
            println!(
                "  rep {rep} {contender:<28} {records:>7} records  {:>7.2} s wall{}  {:>6.2} s cpu  {:>6.1} MiB",
                usage.wall_s,
                paging_s.map_or(String::new(), |p| format!(" ({p:.2} s paging)")),
                usage.cpu_s(),
                usage.max_rss_mib()
            );
            runs.push(Run {
                contender,
                rep,
                records,
                paging_s,
                usage,
            });
        }
    }
    sim.stop();

    let of = |c: &str| runs.iter().filter(|r| r.contender == c).collect::<Vec<_>>();
    let wall = |c: &str| Summary::of(&of(c).iter().map(|r| r.usage.wall_s).collect::<Vec<_>>());
    let paging =
        |c: &str| Summary::of(&of(c).iter().filter_map(|r| r.paging_s).collect::<Vec<_>>());
    let mut table = Table::new(&[
        "export",
        "records",
        "wall s",
        "paging s (peer's own clock)",
        "records/s (wall)",
        "CPU s",
        "peak RSS MiB",
    ]);
    let mut pairs = vec![("Genesys Python SDK", "trail genesys-audits")];
    if !args.no_zenpy {
        pairs.push(("zenpy", "trail zendesk-ticket-audits"));
        if args.baseline.is_some() {
            pairs.push(("zenpy", "trail-before zendesk-ticket-audits"));
        }
    }
    let mut targets = Vec::new();
    let mut ratios = Vec::new();
    let mut ratio_table = Table::new(&["peer ÷ trail (wall, medians)", "ratio"]);
    let mut shown: Vec<&str> = Vec::new();
    for (peer, ours) in &pairs {
        for c in [*ours, *peer] {
            if shown.contains(&c) {
                continue;
            }
            shown.push(c);
            let rs = of(c);
            let records = rs.first().map_or(0, |r| r.records);
            let p = paging(c);
            table.row(vec![
                c.to_string(),
                records.to_string(),
                wall(c).show(2),
                if p.n > 0 { p.show(2) } else { "-".into() },
                Summary::of(
                    &rs.iter()
                        .map(|r| r.records as f64 / r.usage.wall_s)
                        .collect::<Vec<_>>(),
                )
                .show(0),
                Summary::of(&rs.iter().map(|r| r.usage.cpu_s()).collect::<Vec<_>>()).show(2),
                Summary::of(&rs.iter().map(|r| r.usage.max_rss_mib()).collect::<Vec<_>>()).show(1),
            ]);
        }
        let (pw, ow, pp) = (wall(peer).median, wall(ours).median, paging(peer).median);
        let same = of(peer).first().map(|r| r.records) == of(ours).first().map(|r| r.records);
        ratios.push(json!({"peer": peer, "trail": ours, "whole_ratio": pw / ow,
            "peer_paging_vs_trail_whole": pp / ow, "same_records": same}));
        let measured = format!(
            "{:.1}× ({:.2} s vs {:.2} s; the peer's paging alone {:.1}× trail's whole export){}",
            pw / ow,
            pw,
            ow,
            pp / ow,
            if same { "" } else { "; record counts differ" }
        );
        ratio_table.row(vec![format!("{peer} ÷ {ours}"), measured.clone()]);
        if *ours == "trail zendesk-ticket-audits" {
            targets.push(Target::new(
                "zenpy ÷ trail, ticket audits (issue 18)",
                "≥ 10×",
                measured.clone(),
                pw / ow >= 10.0,
            ));
        }
        if *peer != "zenpy" {
            targets.push(Target::new(
                format!(
                    "{peer} ÷ trail, whole export of {} records",
                    human(args.records)
                ),
                "≥ 30×",
                measured,
                pw / ow >= 30.0,
            ));
        }
    }
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["versions"] = json!({
        "PureCloudPlatformClientV2": version(&python, "PureCloudPlatformClientV2"),
        "zenpy": version(&python, "zenpy"),
        "python": Command::new(&python).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default(),
    });
    details["ratios"] = json!(ratios);
    details["runs"] = serde_json::to_value(&runs)?;
    report::finish(
        &ctx.out,
        "peer",
        &[
            ("whole export, median (min–max)", &table),
            ("ratios", &ratio_table),
        ],
        &targets,
        details,
    )
}
