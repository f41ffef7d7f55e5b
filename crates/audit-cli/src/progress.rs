//! Progress: a bar per stream on a terminal, periodic log lines otherwise, nothing with `-q`;
//! and the `tracing` setup that goes with it (log lines never tear a progress bar).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::export::{ProgressSink, Span};

/// How chatty the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Progress, warnings and the summary.
    Normal,
    /// `-v`: debug logs of trail's own crates.
    Debug,
    /// `-vv`: trace logs of trail's own crates, debug logs of the HTTP stack.
    Trace,
}

impl Verbosity {
    /// From the `-v` count and `-q`.
    pub fn from_flags(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Debug,
            (false, _) => Verbosity::Trace,
        }
    }
}

/// Where progress goes for this run.
pub enum Progress {
    /// Bars on a terminal.
    Bars(Bars),
    /// A log line per stream every few seconds.
    Lines(Lines),
    /// Nothing.
    Silent,
}

/// Sets up logging and returns the progress reporter: bars when stderr is a terminal.
pub fn init(verbosity: Verbosity) -> Progress {
    let terminal = std::io::stderr().is_terminal();
    let ours = "audit_cli,audit_core,raw_support,zendesk_raw,genesys_raw,audit_sim";
    let directives = match verbosity {
        Verbosity::Quiet => "error".to_string(),
        Verbosity::Normal if terminal => "warn".to_string(),
        Verbosity::Normal => format!("warn,{}", with_level(ours, "info")),
        Verbosity::Debug => format!("warn,{}", with_level(ours, "debug")),
        Verbosity::Trace => format!("debug,{}", with_level(ours, "trace")),
    };
    let filter =
        EnvFilter::try_from_env("TRAIL_LOG").unwrap_or_else(|_| EnvFilter::new(directives));
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let writer = SuspendingWriter {
        bars: (terminal && verbosity != Verbosity::Quiet).then(|| bars.clone()),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(terminal)
        .with_target(verbosity >= Verbosity::Debug)
        .try_init();
    match verbosity {
        Verbosity::Quiet => Progress::Silent,
        _ if terminal => Progress::Bars(Bars {
            multi: bars,
            bars: Mutex::new(HashMap::new()),
            spans: Spans::default(),
        }),
        _ => Progress::Lines(Lines {
            last: Mutex::new(HashMap::new()),
            spans: Spans::default(),
        }),
    }
}

fn with_level(targets: &str, level: &str) -> String {
    targets
        .split(',')
        .map(|t| format!("{t}={level}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl ProgressSink for Progress {
    fn begin(&self, key: &str, span: Span) {
        match self {
            Progress::Bars(bars) => bars.spans.begin(key, span),
            Progress::Lines(lines) => lines.spans.begin(key, span),
            Progress::Silent => {}
        }
    }

    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>) {
        match self {
            Progress::Bars(bars) => bars.update(key, records, position),
            Progress::Lines(lines) => lines.update(key, records, position),
            Progress::Silent => {}
        }
    }

    fn finish(&self, key: &str) {
        if let Progress::Bars(bars) = self {
            bars.finish(key);
        }
    }
}

/// Each stream's window and when it started, to say how far along it is.
#[derive(Default)]
struct Spans(Mutex<HashMap<String, (Span, Instant)>>);

impl Spans {
    fn begin(&self, key: &str, span: Span) {
        let mut spans = self.0.lock().expect("progress lock");
        spans.insert(key.to_string(), (span, Instant::now()));
    }

    /// "42% of the window, about 3m left", once a record's time says how far the stream is.
    fn done(&self, key: &str, position: Option<DateTime<Utc>>) -> Option<String> {
        let spans = self.0.lock().expect("progress lock");
        let (span, started) = spans.get(key)?;
        let fraction = span.fraction(position?)?;
        let percent = format!("{:.0}% of the window", fraction * 100.0);
        let elapsed = started.elapsed().as_secs_f64();
        // Too early to tell: a few seconds in, or barely started.
        if fraction < 0.01 || elapsed < 3.0 || fraction >= 1.0 {
            return Some(percent);
        }
        let left = Duration::from_secs_f64(elapsed * (1.0 - fraction) / fraction);
        Some(format!("{percent}, about {} left", whole_units(left)))
    }
}

/// A duration in its largest unit or two (`45s`, `3m 20s`, `2h 5m`).
fn whole_units(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3_600, s % 3_600 / 60),
    }
}

/// Records per second, rounded to a whole number with thousands separators (`12,345/s`).
fn per_second(rate: f64) -> String {
    let digits = format!("{:.0}", rate.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + "/s"
}

/// One spinner line per stream: records, rate, the time of the latest record, how much of
/// the window is done and about how long is left.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    spans: Spans,
}

impl Bars {
    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>) {
        let mut bars = self.bars.lock().expect("progress lock");
        let bar = bars.entry(key.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:.bold} {human_pos} records ({rate}) {msg} [{elapsed}]",
                )
                .expect("a valid template")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&per_second(state.per_sec()));
                    },
                ),
            );
            bar.set_prefix(key.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_position(records);
        if let Some(at) = position {
            let mut message = format!("at {}", at.format("%Y-%m-%d %H:%M:%S"));
            if let Some(done) = self.spans.done(key, position) {
                message = format!("{message}, {done}");
            }
            bar.set_message(message);
        }
    }

    fn finish(&self, key: &str) {
        if let Some(bar) = self.bars.lock().expect("progress lock").get(key) {
            bar.finish();
        }
    }
}

/// A log line per stream at most every [`Lines::EVERY`].
pub struct Lines {
    last: Mutex<HashMap<String, (Instant, u64)>>,
    spans: Spans,
}

impl Lines {
    /// The interval between two lines of one stream.
    pub const EVERY: Duration = Duration::from_secs(5);

    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>) {
        let mut last = self.last.lock().expect("progress lock");
        let now = Instant::now();
        let (since, before) = *last.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(since) < Self::EVERY {
            return;
        }
        let rate = (records - before) as f64 / now.duration_since(since).as_secs_f64();
        let at = position.map(|p| p.to_rfc3339()).unwrap_or_default();
        let done = self.spans.done(key, position).unwrap_or_default();
        tracing::info!(
            stream = key,
            records,
            rate = per_second(rate),
            at,
            done,
            "progress"
        );
        last.insert(key.to_string(), (now, records));
    }
}

/// Writes log lines to stderr, suspending the progress bars while it does.
#[derive(Clone)]
struct SuspendingWriter {
    bars: Option<MultiProgress>,
}

impl<'a> MakeWriter<'a> for SuspendingWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            bars: self.bars.clone(),
            buffer: Vec::new(),
        }
    }
}

/// Buffers one log event and writes it whole.
struct LineWriter {
    bars: Option<MultiProgress>,
    buffer: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        let write = || {
            let _ = std::io::stderr().write_all(&buffer);
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_whole_numbers_with_separators() {
        assert_eq!(per_second(296_515.908_7), "296,516/s");
        assert_eq!(per_second(999.4), "999/s");
        assert_eq!(per_second(1_000.0), "1,000/s");
        assert_eq!(per_second(0.0), "0/s");
    }

    #[test]
    fn durations_left_are_in_their_largest_units() {
        assert_eq!(whole_units(Duration::from_secs(45)), "45s");
        assert_eq!(whole_units(Duration::from_secs(200)), "3m 20s");
        assert_eq!(whole_units(Duration::from_secs(7_500)), "2h 05m");
    }

    #[test]
    fn the_fraction_done_follows_the_direction_of_the_walk() {
        let since = "2026-01-01T00:00:00Z".parse().unwrap();
        let until = "2026-01-11T00:00:00Z".parse().unwrap();
        let at = "2026-01-03T12:00:00Z".parse().unwrap();
        let oldest_first = Span {
            since,
            until,
            newest_first: false,
        };
        let newest_first = Span {
            since,
            until,
            newest_first: true,
        };
        assert_eq!(oldest_first.fraction(at), Some(0.25));
        assert_eq!(newest_first.fraction(at), Some(0.75));
        assert_eq!(
            Span {
                since,
                until: since,
                newest_first: false
            }
            .fraction(at),
            None
        );
    }
}
