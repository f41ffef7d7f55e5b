//! Benchmark 7, verify: `trail verify` of a 1M-record export beside `openssl dgst -sha256`,
//! `sha256sum` and `cat` of the same file, in one run, interleaved. The export is made once (`trail export
//! genesys-audits` from the simulator, which writes the manifest as it goes), then each
//! contender reads the file `--reps` times. The file stays in the page cache (the machine has
//! room for it), so "disk speed" here is the speed of reading it from memory: the floor that
//! `cat` sets, and the single SHA-256 pass that `openssl` and `sha256sum` do (verify hashes each line and
//! chains the line hashes: a little more than one pass).

use std::process::Command;

use anyhow::{Result, bail};
use clap::Args;
use serde_json::json;

use crate::measure::{self, Usage};
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};
use crate::{Ctx, at, command_line, count_lines};

/// `audit-bench verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Records in the export.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Keep the export (about 2 GB for 1M records).
    #[arg(long)]
    pub keep: bool,
}

impl Default for VerifyArgs {
    fn default() -> Self {
        VerifyArgs {
            records: 1_000_000,
            keep: false,
        }
    }
}

const TENANT: &str = "verify";
/// The readers compared, in the order each repetition runs them.
const READERS: [&str; 4] = ["trail verify", "openssl sha256", "sha256sum", "cat"];

/// The command of reader `name` over `output`.
fn reader(ctx: &Ctx, name: &str, output: &std::path::Path) -> Command {
    let mut command = match name {
        "trail verify" => {
            let mut c = Command::new(&ctx.trail);
            c.arg("verify");
            c
        }
        // One SHA-256 pass with the CPU's SHA instructions (aws-lc, under trail, has them too;
        // coreutils' sha256sum may not).
        "openssl sha256" => {
            let mut c = Command::new("openssl");
            c.args(["dgst", "-sha256"]);
            c
        }
        other => Command::new(other),
    };
    command.arg(output);
    command
}
const START: &str = "2026-01-01T00:00:00Z";
const END: &str = "2026-03-01T00:00:00Z";

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Result<()> {
    let env = ctx.settle("verify");
    let dir = ctx.dir("verify")?;
    let (start, end) = (at(START), at(END));
    let tenant = sim::tenant(TENANT, 71, start, end, 1000, args.records);
    let sim = Sim::start(&ctx.sim, &dir, "verify", sim::config(vec![tenant]))?;
    let output = dir.join("export.ndjson");
    let mut export = ctx.trail_genesys(&sim, TENANT);
    export
        .arg("genesys-audits")
        .args(["--since", START, "--until", END])
        .arg("--out")
        .arg(&output);
    let exported = measure::run(
        &mut export,
        &dir.join("export.stdout"),
        &dir.join("export.stderr"),
    )?;
    sim.stop();
    let records = count_lines(&output)?;
    let bytes = std::fs::metadata(&output)?.len();
    if exported.exit_code != 0 || records == 0 {
        bail!(
            "the export failed (exit {}, {records} records; see {})",
            exported.exit_code,
            dir.display()
        );
    }
    println!(
        "  export: {records} records, {:.0} MB in {:.1} s",
        bytes as f64 / 1e6,
        exported.wall_s
    );

    // One read first, so every contender finds the file in the page cache.
    measure::run(
        &mut reader(ctx, "cat", &output),
        &std::path::PathBuf::from("/dev/null"),
        &dir.join("warm.stderr"),
    )?;
    let mut runs: Vec<(&str, Usage)> = Vec::new();
    for rep in 0..ctx.common.reps {
        for name in READERS {
            let stdout = if name == "cat" {
                std::path::PathBuf::from("/dev/null")
            } else {
                dir.join(format!("{}-{rep}.stdout", name.replace(' ', "-")))
            };
            let usage = measure::run(
                &mut reader(ctx, name, &output),
                &stdout,
                &dir.join("contender.stderr"),
            )?;
            if usage.exit_code != 0 {
                bail!("{name} exited {} (see {})", usage.exit_code, dir.display());
            }
            println!(
                "  rep {rep} {name:<13} {:>6.2} s wall  {:>6.2} s cpu  {:>8.0} MB/s  {:>9.0} records/s",
                usage.wall_s,
                usage.cpu_s(),
                bytes as f64 / 1e6 / usage.wall_s,
                records as f64 / usage.wall_s
            );
            runs.push((name, usage));
        }
    }
    if !args.keep {
        std::fs::remove_file(&output)?;
    }

    let of = |name: &str, f: &dyn Fn(&Usage) -> f64| {
        Summary::of(
            &runs
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, u)| f(u))
                .collect::<Vec<_>>(),
        )
    };
    let mut table = Table::new(&[
        "reader",
        "wall s",
        "CPU s",
        "MB/s",
        "records/s",
        "peak RSS MiB",
    ]);
    let mut details = Vec::new();
    for name in READERS {
        let wall = of(name, &|u| u.wall_s);
        let mbps = of(name, &|u| bytes as f64 / 1e6 / u.wall_s);
        let rps = of(name, &|u| records as f64 / u.wall_s);
        table.row(vec![
            name.to_string(),
            wall.show(2),
            of(name, &|u| u.cpu_s()).show(2),
            mbps.show(0),
            rps.show(0),
            of(name, &|u| u.max_rss_mib()).show(1),
        ]);
        details
            .push(json!({"reader": name, "wall_s": wall, "mb_per_s": mbps, "records_per_s": rps}));
    }
    let verify_s = of("trail verify", &|u| u.wall_s).median;
    let sha_s = of("openssl sha256", &|u| u.wall_s).median;
    let ratio = verify_s / sha_s;
    let targets = [Target::new(
        "trail verify ÷ openssl dgst -sha256, wall time",
        "≤ 2× (one SHA-256 pass per line plus the chain)",
        format!("{ratio:.2}×"),
        ratio <= 2.0,
    )];
    report::finish(
        &ctx.out,
        "verify",
        &[("reading a 1M-record export (median (min–max))", &table)],
        &targets,
        json!({
            "command": command_line(),
            "environment": env,
            "records": records,
            "bytes": bytes,
            "export": exported,
            "readers": details,
        }),
    )
}
