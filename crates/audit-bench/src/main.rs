//! `audit-bench`: the benchmarks of `trail` against `audit-sim`, as users run it.
//!
//! Every contender is its own process, measured by the OS (wall time, user + system CPU and
//! peak RSS from `wait4`; `VmRSS` sampled from `/proc` for the soak). The simulator is its own
//! release process too (`target/release/audit-sim --config FILE`), so its CPU is not counted
//! against the clients (it is reported beside them). Each comparison runs side by side in one
//! run, repeated and interleaved; tables give the median and the spread (min–max).
//!
//! ```text
//! cargo xtask bench                      # every benchmark (a long run: see docs/benchmarks.md)
//! cargo xtask bench throughput --reps 3  # one of them
//! cargo xtask bench soak --records 200000   # a short soak, e.g. for CI
//! cargo xtask bench verify               # trail verify of 1M records beside sha256sum
//! cargo xtask bench backfill --reps 1    # sequential against --parallel at the rate limit
//! ```
//!
//! Results: a table per benchmark on stdout, `bench-out/results.json`, and
//! `bench-out/<benchmark>.md`.

mod backfill;
mod concurrency;
mod measure;
mod peer;
mod rate_limit;
mod rate_share;
mod report;
mod sim;
mod soak;
mod throughput;
mod verify;
mod workers;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

/// Benchmarks of trail against audit-sim on loopback (see docs/benchmarks.md).
#[derive(Debug, Parser)]
#[command(name = "audit-bench", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    common: Common,
}

/// Settings of every benchmark.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where results, outputs and the Python virtualenv go.
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Runs of each contender (interleaved); medians and min–max are reported.
    #[arg(long, global = true, default_value_t = 3)]
    pub reps: usize,
    /// Before each benchmark, wait up to this many minutes for the machine to be idle (no
    /// rustc, cargo, audit-sim or trail of others; 1-minute load below 0.8). 0: do not wait.
    #[arg(long, global = true, default_value_t = 0)]
    pub wait_idle: u64,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Every benchmark below, one after the other.
    All(AllArgs),
    /// trail beside the floor (reqwest + serde_json::Value) and the raw progenitor clients.
    Throughput(throughput::ThroughputArgs),
    /// trail beside the Genesys Python SDK (and zenpy for Zendesk ticket audits).
    Peer(peer::PeerArgs),
    /// Requests per rate-limit window achieved against allowed, and 429s received.
    RateLimit(rate_limit::RateLimitArgs),
    /// `trail export --all` of four streams against each stream alone, with latency per page.
    Concurrency(concurrency::ConcurrencyArgs),
    /// A long `--follow` run: RSS sampled every second, output checked against ground truth.
    Soak(soak::SoakArgs),
    /// A backfill: the sequential export against `--parallel`, at a rate limit, with latency.
    Backfill(backfill::BackfillArgs),
    /// `trail verify` of a 1M-record export beside openssl, `sha256sum` and `cat` of the file.
    Verify(verify::VerifyArgs),
    /// A contender process (used by the benchmarks).
    #[command(hide = true)]
    Worker(workers::WorkerArgs),
}

#[derive(Debug, Args)]
struct AllArgs {
    /// Also the soak (long).
    #[arg(long)]
    soak: bool,
}

/// What every benchmark needs.
pub struct Ctx {
    /// Settings.
    pub common: Common,
    /// Output directory.
    pub out: PathBuf,
    /// The workspace root.
    pub root: PathBuf,
    /// target/release/trail.
    pub trail: PathBuf,
    /// target/release/audit-sim.
    pub sim: PathBuf,
    /// This binary.
    pub bench: PathBuf,
}

impl Ctx {
    fn new(common: Common) -> Result<Ctx> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()?;
        let out = common.out.clone().unwrap_or_else(|| root.join("bench-out"));
        std::fs::create_dir_all(&out)?;
        let bench = std::env::current_exe()?;
        let bin_dir = bench.parent().context("no binary directory")?.to_path_buf();
        let ctx = Ctx {
            common,
            out: out.canonicalize()?,
            root,
            trail: bin_dir.join("trail"),
            sim: bin_dir.join("audit-sim"),
            bench,
        };
        for bin in [&ctx.trail, &ctx.sim] {
            anyhow::ensure!(
                bin.exists(),
                "{} is missing: run `cargo build --release -p audit-cli -p audit-sim` (or `cargo xtask bench`)",
                bin.display()
            );
        }
        Ok(ctx)
    }

    /// A fresh directory for one benchmark's files.
    pub fn dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Waits (up to `--wait-idle` minutes) for an idle machine; returns the load average
    /// then, and what was still busy.
    pub fn settle(&self, name: &str) -> Value {
        let limit = Duration::from_secs(self.common.wait_idle * 60);
        let started = Instant::now();
        let load1 = || -> f64 {
            measure::load_average()
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0)
        };
        loop {
            let busy = measure::busy_processes();
            let idle = busy.is_empty() && load1() < 0.8;
            if idle || started.elapsed() >= limit {
                let load = measure::load_average();
                println!(
                    "\n# {name}: load average {load}{} at {}",
                    if busy.is_empty() {
                        String::new()
                    } else {
                        format!(", still running: {}", busy.join(", "))
                    },
                    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                return json!({
                    "load_average_at_start": load,
                    "busy_processes_at_start": busy,
                    "waited_s": started.elapsed().as_secs(),
                    "started_at": Utc::now(),
                });
            }
            std::thread::sleep(Duration::from_secs(10));
        }
    }

    /// `trail export` with the simulator's Zendesk account in the environment.
    pub fn trail_zendesk(&self, sim: &sim::Sim, tenant: &str) -> Command {
        self.trail_zendesk_with(&self.trail, sim, tenant)
    }

    /// The same with another `trail` binary (a baseline).
    pub fn trail_zendesk_with(&self, bin: &Path, sim: &sim::Sim, tenant: &str) -> Command {
        let t = sim.tenant(tenant);
        let mut c = trail_command(bin);
        c.env("ZENDESK_BASE_URL", &sim.zendesk)
            .env("ZENDESK_SUBDOMAIN", &t.zendesk.subdomain)
            .env("ZENDESK_EMAIL", &t.zendesk.email)
            .env("ZENDESK_API_TOKEN", &t.zendesk.api_token);
        c.envs(sim.trust_env());
        c
    }

    /// `trail export` with the simulator's Genesys organisation in the environment.
    pub fn trail_genesys(&self, sim: &sim::Sim, tenant: &str) -> Command {
        self.trail_genesys_with(&self.trail, sim, tenant)
    }

    /// The same with another `trail` binary (a baseline).
    pub fn trail_genesys_with(&self, bin: &Path, sim: &sim::Sim, tenant: &str) -> Command {
        let t = sim.tenant(tenant);
        let mut c = trail_command(bin);
        c.env("GENESYS_API_BASE_URL", &sim.genesys_api)
            .env("GENESYS_LOGIN_BASE_URL", &sim.genesys_login)
            .env("GENESYS_CLIENT_ID", &t.genesys.client_id)
            .env("GENESYS_CLIENT_SECRET", &t.genesys.client_secret)
            .env("GENESYS_TENANT", &t.name);
        c.envs(sim.trust_env());
        c
    }
}

/// `BIN export` with a clean environment.
fn trail_command(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env_clear();
    // TRAIL_LOG: a run can be traced (its log goes to the run's stderr file).
    for keep in ["PATH", "HOME", "LANG", "TMPDIR", "TRAIL_LOG"] {
        if let Ok(v) = std::env::var(keep) {
            c.env(keep, v);
        }
    }
    c.arg("export");
    c
}

/// The machine: cores, CPU model, memory, kernel.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cpu_model": model,
        "mem_gib": (mem_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": kernel.trim(),
    })
}

/// Lines (records) of an NDJSON file.
pub fn count_lines(path: &Path) -> Result<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("a valid instant")
}

/// The command line a benchmark was run with, for the record.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or(BenchCommand::All(AllArgs { soak: false }));
    if let BenchCommand::Worker(args) = command {
        return match workers::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worker: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let result = Ctx::new(cli.common).and_then(|ctx| {
        println!(
            "audit-bench: {} ; output in {}",
            machine(),
            ctx.out.display()
        );
        match command {
            BenchCommand::All(all) => {
                throughput::run(&ctx, &throughput::ThroughputArgs::default())?;
                peer::run(&ctx, &peer::PeerArgs::default())?;
                rate_limit::run(&ctx, &rate_limit::RateLimitArgs::default())?;
                concurrency::run(&ctx, &concurrency::ConcurrencyArgs::default())?;
                verify::run(&ctx, &verify::VerifyArgs::default())?;
                backfill::run(&ctx, &backfill::BackfillArgs::default())?;
                if all.soak {
                    soak::run(&ctx, &soak::SoakArgs::default())?;
                }
                Ok(())
            }
            BenchCommand::Throughput(a) => throughput::run(&ctx, &a),
            BenchCommand::Peer(a) => peer::run(&ctx, &a),
            BenchCommand::RateLimit(a) => rate_limit::run(&ctx, &a),
            BenchCommand::Concurrency(a) => concurrency::run(&ctx, &a),
            BenchCommand::Soak(a) => soak::run(&ctx, &a),
            BenchCommand::Verify(a) => verify::run(&ctx, &a),
            BenchCommand::Backfill(a) => backfill::run(&ctx, &a),
            BenchCommand::Worker(_) => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
