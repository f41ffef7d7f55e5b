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

use crate::export::ProgressSink;

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
        }),
        _ => Progress::Lines(Lines {
            last: Mutex::new(HashMap::new()),
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

/// One spinner line per stream: records, rate, and the time of the latest record.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>) {
        let mut bars = self.bars.lock().expect("progress lock");
        let bar = bars.entry(key.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:.bold} {pos} records ({per_sec}) {msg} [{elapsed}]",
                )
                .expect("a valid template"),
            );
            bar.set_prefix(key.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_position(records);
        if let Some(at) = position {
            bar.set_message(format!("at {}", at.format("%Y-%m-%d %H:%M:%S")));
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
        tracing::info!(
            stream = key,
            records,
            rate = format!("{rate:.0}/s"),
            at,
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
