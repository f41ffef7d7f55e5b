//! Benchmark 6, soak: records keep arriving (the simulator's span ends in the future and it
//! serves only records whose time has passed, `--rate` per second), `trail export
//! zendesk-audit-logs --follow --poll-interval 1s --state … --out …` follows them until at
//! least `--records` are written, its `VmRSS` sampled every second; then it is stopped with
//! SIGINT (it commits and exits 130) and its output is checked against the simulator's ground
//! truth: the ids, their order and their count.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::Args;
use serde_json::json;

use crate::Ctx;
use crate::measure;
use crate::report::{self, Summary, Table, Target};
use crate::sim::{self, Sim};

/// `audit-bench soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Stop once this many records are written (5,000,000 for the issue; 200,000 makes a soak
    /// of about a minute for CI).
    #[arg(long, default_value_t = 5_000_000)]
    pub records: u64,
    /// Records arriving per second.
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
    /// Keep the output file (several GB for 5M records).
    #[arg(long)]
    pub keep: bool,
}

impl Default for SoakArgs {
    fn default() -> Self {
        SoakArgs {
            records: 5_000_000,
            rate: 20_000,
            keep: false,
        }
    }
}

const TENANT: &str = "soak";
/// trail's settle lag for an open window: records are read up to 30 s before now.
const SETTLE_S: i64 = 30;
/// Seconds ignored at the start of the RSS series (at most a tenth of the run).
const WARM_UP_S: f64 = 30.0;

/// Runs the benchmark.
pub fn run(ctx: &Ctx, args: &SoakArgs) -> Result<()> {
    let env = ctx.settle("soak");
    let dir = ctx.dir("soak")?;
    let needed_s = (args.records / args.rate.max(1)) as i64 + 1;
    let now = Utc::now().duration_trunc(TimeDelta::seconds(1))?;
    // A backlog of one settle lag, so the first pass has records at once; then `rate` per
    // second for twice as long as needed (records arrive beyond the stop).
    let start = now - TimeDelta::seconds(SETTLE_S);
    let end = now + TimeDelta::seconds(2 * needed_s + 120);
    let total = args.rate * (end - start).num_seconds() as u64;
    let mut tenant = sim::tenant(TENANT, 51, start, end, total, 1000);
    tenant.zendesk.ticket_audits = 1000;
    let sim = Sim::start(&ctx.sim, &dir, "soak", sim::config(vec![tenant]))?;
    let output = dir.join("soak.ndjson");
    let state = dir.join("trail-state.json");
    let mut command = ctx.trail_zendesk(&sim, TENANT);
    command
        .arg("zendesk-audit-logs")
        .args(["--since", &sim::rfc3339(start)])
        .args(["--follow", "--poll-interval", "1s"])
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&output);
    println!(
        "  soak: {} records/s arriving from {} ; stopping at {} records written",
        args.rate,
        sim::rfc3339(start),
        args.records
    );
    let child = measure::spawn(
        &mut command,
        &dir.join("trail.stdout"),
        &dir.join("trail.stderr"),
    )?;
    let deadline = Duration::from_secs((2 * needed_s + SETTLE_S + 120) as u64);
    let written = Arc::new(AtomicU64::new(0));
    let mut counter = LineCounter::new(&output);
    let target = args.records;
    let seen = written.clone();
    let mut last_print = Duration::ZERO;
    let usage = measure::wait(
        child,
        Some(Duration::from_secs(1)),
        move |elapsed, rss_kib| {
            let n = counter.update();
            seen.store(n, Ordering::Relaxed);
            if elapsed >= last_print + Duration::from_secs(15) {
                last_print = elapsed;
                println!(
                    "  {:>5.0} s: {n} records written, trail VmRSS {} KiB",
                    elapsed.as_secs_f64(),
                    rss_kib.unwrap_or(0)
                );
            }
            n >= target || elapsed >= deadline
        },
    )?;
    let stats = sim.stats()?;

    // The check against the ground truth.
    let (ids, last_at) = read_output(&output)?;
    let n = ids.len() as u64;
    let check = match last_at {
        None => Err("the output is empty".to_string()),
        Some(last) => {
            let last_second = last.duration_trunc(TimeDelta::seconds(1))?;
            let full = sim.ground_truth(TENANT, "zendesk-audit-logs", start, last_second)?;
            let before = sim
                .ground_truth(
                    TENANT,
                    "zendesk-audit-logs",
                    start,
                    last_second - TimeDelta::milliseconds(1),
                )?
                .len();
            verify(&ids, &full, before)
        }
    };
    sim.stop();
    if !args.keep {
        let _ = std::fs::remove_file(&output);
    }
    println!(
        "  trail exited {} after {:.0} s; {n} records; check: {}",
        usage.exit_code,
        usage.wall_s,
        match &check {
            Ok(s) => s.clone(),
            Err(e) => format!("FAILED: {e}"),
        }
    );

    // RSS over time, after the warm-up (30 s, or a tenth of a short run).
    let warm_up = WARM_UP_S.min(usage.wall_s / 10.0);
    let series: Vec<f64> = usage
        .rss_samples
        .iter()
        .filter(|(t, _)| *t >= warm_up)
        .map(|(_, kib)| *kib as f64 / 1024.0)
        .collect();
    let rss = Summary::of(&series);
    let quarter = series.len() / 4;
    let (first_q, last_q) = if quarter > 0 {
        (
            Summary::of(&series[..quarter]).median,
            Summary::of(&series[series.len() - quarter..]).median,
        )
    } else {
        (rss.median, rss.median)
    };
    let flat = rss.n > 0 && rss.max <= rss.median * 1.10 && last_q <= first_q * 1.10;
    let mut table = Table::new(&["measure", "value"]);
    table.row(vec!["records written".into(), n.to_string()]);
    table.row(vec!["wall s".into(), format!("{:.0}", usage.wall_s)]);
    table.row(vec![
        "records/s (arrival rate set)".into(),
        format!("{:.0} ({})", n as f64 / usage.wall_s, args.rate),
    ]);
    table.row(vec!["CPU s".into(), format!("{:.1}", usage.cpu_s())]);
    table.row(vec![
        format!(
            "VmRSS MiB, {} samples after {warm_up:.0} s: median (min–max)",
            rss.n
        ),
        rss.show(1),
    ]);
    table.row(vec![
        "VmRSS MiB: median of the first quarter → the last quarter".into(),
        format!("{first_q:.1} → {last_q:.1}"),
    ]);
    table.row(vec![
        "peak RSS MiB (VmHWM)".into(),
        format!("{:.1}", usage.max_rss_mib()),
    ]);
    table.row(vec![
        "simulator pages served".into(),
        stats["pages"].to_string(),
    ]);
    table.row(vec![
        "ground-truth check".into(),
        match &check {
            Ok(s) => s.clone(),
            Err(e) => format!("FAILED: {e}"),
        },
    ]);
    let targets = vec![
        Target::new(
            "records followed",
            format!("≥ {}", args.records),
            n.to_string(),
            n >= args.records,
        ),
        Target::new(
            "RSS flat (after warm-up: max ≤ median + 10%, last quarter ≤ first + 10%)",
            "flat",
            format!(
                "{:.1} MiB median, {:.1} max; quarters {first_q:.1} → {last_q:.1}",
                rss.median, rss.max
            ),
            flat,
        ),
        Target::new(
            "nothing lost (ids, order, count against ground truth)",
            "exact",
            match &check {
                Ok(s) => s.clone(),
                Err(e) => e.clone(),
            },
            check.is_ok(),
        ),
    ];
    let mut details = env;
    details["command"] = json!(crate::command_line());
    details["rate"] = json!(args.rate);
    details["records_written"] = json!(n);
    details["rss_mib"] = json!(rss);
    details["rss_quarters_mib"] = json!([first_q, last_q]);
    details["usage"] = serde_json::to_value(&usage)?;
    details["check"] = json!(check.as_ref().map_err(|e| e.clone()));
    report::finish(
        &ctx.out,
        "soak",
        &[("follow run", &table)],
        &targets,
        details,
    )
}

/// Counts the lines of a growing file, reading only what is new.
struct LineCounter {
    path: std::path::PathBuf,
    offset: u64,
    lines: u64,
    buf: Vec<u8>,
}

impl LineCounter {
    fn new(path: &Path) -> Self {
        LineCounter {
            path: path.to_path_buf(),
            offset: 0,
            lines: 0,
            buf: vec![0; 1 << 20],
        }
    }

    fn update(&mut self) -> u64 {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return self.lines;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return self.lines;
        }
        while let Ok(n) = file.read(&mut self.buf) {
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            self.lines += self.buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.lines
    }
}

/// The native ids of the output, in order, and the time of its last record.
fn read_output(path: &Path) -> Result<(Vec<String>, Option<DateTime<Utc>>)> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut ids = Vec::new();
    let mut last = None;
    for line in std::io::BufReader::with_capacity(1 << 20, file).lines() {
        let line = line?;
        ids.push(
            field(&line, "\"native_id\":\"")
                .context("a line without native_id")?
                .to_string(),
        );
        last = Some(
            field(&line, "\"occurred_at\":\"")
                .context("a line without occurred_at")?
                .to_string(),
        );
    }
    let last = last.map(|s| s.parse()).transpose()?;
    Ok((ids, last))
}

/// The string value after `key` (the first occurrence: the event's own fields come before
/// `raw`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let from = line.find(key)? + key.len();
    let len = line[from..].find('"')?;
    Some(&line[from..from + len])
}

/// `ids` must be exactly the first `ids.len()` of the ground truth up to the last record's
/// second (`full`), and hold at least every record before that second (`before`).
fn verify(ids: &[String], full: &[String], before: usize) -> std::result::Result<String, String> {
    if ids.len() < before {
        return Err(format!(
            "{} records written but {before} exist before the last one's second",
            ids.len()
        ));
    }
    if ids.len() > full.len() {
        return Err(format!(
            "{} records written but the ground truth holds {} up to the last one's second",
            ids.len(),
            full.len()
        ));
    }
    if let Some(k) = ids.iter().zip(full).position(|(a, b)| a != b) {
        return Err(format!(
            "record {k} is {} where the ground truth has {}",
            ids[k], full[k]
        ));
    }
    Ok(format!(
        "exact: {} records, the ground truth's ids in its order, none missing or repeated",
        ids.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_wants_an_exact_prefix() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let truth = s(&["1", "2", "3", "4"]);
        assert!(verify(&s(&["1", "2", "3"]), &truth, 2).is_ok());
        assert!(verify(&s(&["1", "3"]), &truth, 1).is_err(), "a gap");
        assert!(
            verify(&s(&["1", "2", "2"]), &truth, 2).is_err(),
            "a duplicate"
        );
        assert!(verify(&s(&["1"]), &truth, 2).is_err(), "stopped too early");
    }

    #[test]
    fn fields_come_from_the_event_not_raw() {
        let line = r#"{"id":"x","native_id":"42","occurred_at":"2024-01-01T00:00:00Z","raw":{"native_id":"7"}}"#;
        assert_eq!(field(line, "\"native_id\":\""), Some("42"));
        assert_eq!(
            field(line, "\"occurred_at\":\""),
            Some("2024-01-01T00:00:00Z")
        );
    }
}
