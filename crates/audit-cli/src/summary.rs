//! The table printed at the end of an export or of the demo.

use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::evidence::retention::ageing_out;
use crate::export::ExportReport;

/// One row per stream: records, pages, retries absorbed, rate-limit waits, time, output.
pub fn render(reports: &[ExportReport]) -> String {
    let header = [
        "stream",
        "records",
        "pages",
        "requests",
        "retries",
        "429s",
        "rate-limit wait",
        "elapsed",
        "output",
    ];
    let rows: Vec<[String; 9]> = reports
        .iter()
        .map(|r| {
            let waited = r.stats.waited_pacing + r.stats.waited_retry_after;
            [
                r.key.clone(),
                if r.total == r.written {
                    r.written.to_string()
                } else {
                    format!("{} (+{} earlier)", r.written, r.total - r.written)
                },
                r.stats.pages.to_string(),
                r.stats.requests.to_string(),
                r.stats.retries.to_string(),
                r.stats.rate_limited.to_string(),
                seconds(waited),
                seconds(r.elapsed),
                r.output.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, names left-aligned.
            let numeric = (1..=7).contains(&i);
            let _ = if numeric {
                write!(text, "{cell:>width$}  ")
            } else {
                write!(text, "{cell:<width$}  ")
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    out
}

/// What the summary adds when records did not decode as sent (`None` when every record did):
/// one line per stream, saying how many were marked and where the quarantined ones are. Such a
/// run exits with [`crate::errors::EXIT_QUARANTINED`].
pub fn decode_issues(reports: &[ExportReport]) -> Option<String> {
    let lines: Vec<String> = reports
        .iter()
        .filter(|r| r.marked > 0)
        .map(|r| {
            let mut line = format!(
                "{}: {} record(s) did not decode as sent; they are written as received, marked \
                 with `decode_issue`",
                r.key, r.marked
            );
            if let Some(quarantine) = &r.quarantine {
                let _ = write!(
                    line,
                    "; {} of them were not UTF-8 text: written from a lossy copy, their original \
                     bytes are in {quarantine}",
                    r.quarantined
                );
            }
            line
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What the summary adds when records these exports did not export yet are about to age
/// out of the vendor (`None` when none are): one line per stream.
pub fn retention_warnings(reports: &[ExportReport], now: DateTime<Utc>) -> Option<String> {
    let lines: Vec<String> = reports
        .iter()
        .filter_map(|r| ageing_out(r.stream, r.unexported_from?, now))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
