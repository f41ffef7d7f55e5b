//! The `--rate-share` case of benchmark 3: `trail export --rate-share P%` on Zendesk beside
//! another integration of the same account that spends the rest of the limit — a plain HTTP
//! loop, evenly paced at (100 − P)% of the limit, that counts its own requests and 429s per
//! window (by the time it sent them). From the simulator's windows less the other
//! integration's: trail's accepted requests per full window ÷ the limit (wanted 0.9 P to P,
//! 0.45–0.50 at 50%), and the 429s each side received.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

use crate::measure::{self, Usage};
use crate::rate_limit::{RateLimitArgs, TENANT, windows_of};
use crate::report::{Summary, Target};
use crate::sim::{self, Sim};
use crate::throughput::{END, START};
use crate::{Ctx, at, count_lines};

/// Requests sent and 429s received, per window start (seconds since the epoch).
type Counts = Arc<Mutex<BTreeMap<i64, (u64, u64)>>>;

/// The other integration: one request every `every` until stopped.
struct Other {
    stop: Arc<AtomicBool>,
    counts: Counts,
    thread: std::thread::JoinHandle<()>,
}

impl Other {
    fn start(sim: &Sim, every: Duration, window_secs: u64) -> Other {
        let t = sim.tenant(TENANT);
        let url = format!("{}/api/v2/audit_logs?page[size]=1", sim.zendesk);
        let (user, token) = (
            format!("{}/token", t.zendesk.email),
            t.zendesk.api_token.clone(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Counts::default();
        let thread = std::thread::spawn({
            let (stop, counts) = (stop.clone(), counts.clone());
            move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async move {
                    let client = reqwest::Client::new();
                    let window_ms = window_secs as i64 * 1000;
                    // `Delay`: a late tick never makes a burst to catch up.
                    let mut ticks = tokio::time::interval(every);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    while !stop.load(Ordering::SeqCst) {
                        ticks.tick().await;
                        let sent = Utc::now().timestamp_millis();
                        let window = sent.div_euclid(window_ms) * window_ms / 1000;
                        let answer = client
                            .get(&url)
                            .basic_auth(&user, Some(&token))
                            .send()
                            .await;
                        let refused = matches!(&answer, Ok(a) if a.status() == 429);
                        let mut counts = counts.lock().expect("counts");
                        let entry = counts.entry(window).or_default();
                        entry.0 += 1;
                        entry.1 += u64::from(refused);
                    }
                });
            }
        });
        Other {
            stop,
            counts,
            thread,
        }
    }

    fn stop(self) -> BTreeMap<i64, (u64, u64)> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        self.counts.lock().expect("counts").clone()
    }
}

#[derive(Debug, Clone, Serialize)]
struct Run {
    rep: usize,
    records: u64,
    usage: Usage,
    windows_spanned: usize,
    /// Trail's accepted requests in each full window.
    full_windows: Vec<u64>,
    trail_429: u64,
    other_requests: u64,
    other_429: u64,
}

/// What the case adds to the benchmark's report.
pub struct Outcome {
    /// Rows of the utilisation table.
    pub row: Vec<String>,
    /// Its targets.
    pub targets: Vec<Target>,
    /// Its figures, for results.json.
    pub details: Value,
}

/// Runs the case on the benchmark's simulator (its limit already set).
pub fn run(ctx: &Ctx, sim: &Sim, dir: &Path, args: &RateLimitArgs) -> Result<Outcome> {
    let share = f64::from(args.share_percent) / 100.0;
    let limit = f64::from(args.limit);
    // The rest of the limit, evenly: (1 − share) × limit per window.
    let others = ((1.0 - share) * limit).floor().max(1.0);
    let every = Duration::from_secs_f64(args.window_secs as f64 / others);
    // The export is sized to span `windows` windows at the share: the first `share` of the
    // data, which spreads evenly over [START, END].
    let (start, end) = (at(START), at(END));
    let until = start + (end - start) * args.share_percent as i32 / 100;

    let mut runs = Vec::new();
    for rep in 0..ctx.common.reps {
        let other = Other::start(sim, every, args.window_secs);
        // A window of the other integration alone, then trail joins at a window boundary.
        let w = args.window_secs as i64 * 1000;
        let now = Utc::now().timestamp_millis();
        let next = (now.div_euclid(w) + 2) * w;
        std::thread::sleep(Duration::from_millis((next - now + 20) as u64));
        let began = Utc::now();
        let base = format!("share-{rep}");
        let output = dir.join(format!("{base}.ndjson"));
        let mut command = ctx.trail_zendesk(sim, TENANT);
        command
            .arg("zendesk-audit-logs")
            .args([
                "--since",
                &sim::rfc3339(start),
                "--until",
                &sim::rfc3339(until),
            ])
            .args(["--rate-share", &format!("{}%", args.share_percent)])
            .arg("--out")
            .arg(&output);
        let usage = measure::run(
            &mut command,
            &dir.join(format!("{base}.stdout")),
            &dir.join(format!("{base}.stderr")),
        );
        let ended = Utc::now();
        let counts = other.stop();
        let usage = usage?;
        let stats = sim.stats()?;
        let records = count_lines(&output)?;
        let _ = std::fs::remove_file(&output);
        if usage.exit_code != 0 {
            bail!("trail --rate-share failed, see {}", dir.display());
        }
        let windows = windows_of(&stats, TENANT, "zendesk", (began, ended), args.window_secs);
        let theirs = |t: i64| counts.get(&t).copied().unwrap_or((0, 0));
        // Per window: trail's accepted = accepted − the other's accepted; trail's 429s =
        // 429s − the other's.
        let per_window: Vec<(u64, u64)> = windows
            .iter()
            .map(|&(t, requests, accepted)| {
                let (sent, refused) = theirs(t);
                let limited = requests - accepted;
                (
                    accepted.saturating_sub(sent - refused),
                    limited.saturating_sub(refused),
                )
            })
            .collect();
        let full: Vec<u64> = if per_window.len() > 2 {
            per_window[1..per_window.len() - 1]
                .iter()
                .map(|(accepted, _)| *accepted)
                .collect()
        } else {
            Vec::new()
        };
        let r = Run {
            rep,
            records,
            windows_spanned: windows.len(),
            full_windows: full,
            trail_429: per_window.iter().map(|(_, limited)| limited).sum(),
            other_requests: windows.iter().map(|&(t, ..)| theirs(t).0).sum(),
            other_429: windows.iter().map(|&(t, ..)| theirs(t).1).sum(),
            usage,
        };
        println!(
            "  rep {rep} zendesk --rate-share {}% {} records in {:.1} s: {} windows, trail's accepted per full window {:?}, 429s trail {} other {} (of {} requests)",
            args.share_percent,
            r.records,
            r.usage.wall_s,
            r.windows_spanned,
            r.full_windows,
            r.trail_429,
            r.other_429,
            r.other_requests
        );
        runs.push(r);
    }

    let full: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.full_windows.iter().map(|&a| a as f64 / limit))
        .collect();
    let mean = full.iter().sum::<f64>() / full.len().max(1) as f64;
    let spread = Summary::of(&full);
    let spanned: usize = runs.iter().map(|r| r.windows_spanned).sum();
    let trail_429: u64 = runs.iter().map(|r| r.trail_429).sum();
    let other_429: u64 = runs.iter().map(|r| r.other_429).sum();
    let row = vec![
        format!(
            "trail zendesk --rate-share {}% beside another client at {:.0}% ({} req / {} s)",
            args.share_percent,
            others / limit * 100.0,
            args.limit,
            args.window_secs
        ),
        runs.first().map_or(0, |r| r.records).to_string(),
        Summary::of(&runs.iter().map(|r| r.usage.wall_s).collect::<Vec<_>>()).show(1),
        Summary::of(
            &runs
                .iter()
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
        format!(
            "trail {trail_429}, the other client {other_429}, in {} runs",
            runs.len()
        ),
    ];
    let wanted = (0.9 * share, share);
    let targets = vec![
        Target::new(
            format!(
                "zendesk --rate-share {}%: trail's share of the limit per window",
                args.share_percent
            ),
            format!("{:.2}–{:.2}", wanted.0, wanted.1),
            format!(
                "{mean:.3} (mean of {} full windows; {:.2}–{:.2})",
                full.len(),
                spread.min,
                spread.max
            ),
            mean >= wanted.0 - 1e-9 && mean <= wanted.1 + 1e-9,
        ),
        Target::new(
            format!(
                "zendesk --rate-share {}%: 429s, trail and the other client",
                args.share_percent
            ),
            "0 caused by trail",
            format!("trail {trail_429}, the other client {other_429}, in {spanned} windows"),
            trail_429 == 0 && other_429 == 0,
        ),
    ];
    let details = json!({
        "share_percent": args.share_percent,
        "other_requests_per_window": others,
        "share_mean": mean,
        "share": spread,
        "windows_spanned": spanned,
        "trail_429": trail_429,
        "other_429": other_429,
        "runs": serde_json::to_value(&runs)?,
    });
    Ok(Outcome {
        row,
        targets,
        details,
    })
}
