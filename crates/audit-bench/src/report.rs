//! Medians and spreads, the printed tables, targets, and `results.json`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use serde_json::{Value, json};

/// Median and spread of repeated measurements.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// The median.
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// How many.
    pub n: usize,
}

impl Summary {
    /// Of these values (all zero when empty).
    pub fn of(values: &[f64]) -> Summary {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Summary::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        }
    }

    /// `median (min–max)` with `decimals`.
    pub fn show(&self, decimals: usize) -> String {
        if self.n <= 1 {
            return format!("{:.decimals$}", self.median);
        }
        format!(
            "{:.decimals$} ({:.decimals$}–{:.decimals$})",
            self.median, self.min, self.max
        )
    }
}

/// One target: what was asked, what was measured, whether it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The target, in words.
    pub target: String,
    /// The figure measured.
    pub measured: String,
    /// Whether it was met.
    pub pass: bool,
}

impl Target {
    /// A target.
    pub fn new(
        name: impl Into<String>,
        target: impl Into<String>,
        measured: String,
        pass: bool,
    ) -> Self {
        Target {
            name: name.into(),
            target: target.into(),
            measured,
            pass,
        }
    }
}

/// A text table.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// With these column names.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders it, first column left-aligned, the others right-aligned.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths = vec![0; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (k, row) in std::iter::once(&self.header).chain(&self.rows).enumerate() {
            for (i, cell) in row.iter().enumerate().take(cols) {
                let pad = widths[i] - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, "{cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "  {}{cell}", " ".repeat(pad));
                }
            }
            out.push('\n');
            if k == 0 {
                let total = widths.iter().sum::<usize>() + 2 * (cols - 1);
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        out
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        out.push_str(&format!(
            "|{}\n",
            self.header
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        ));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

/// Renders targets as a table.
pub fn targets_table(targets: &[Target]) -> Table {
    let mut t = Table::new(&["target", "wanted", "measured", "result"]);
    for target in targets {
        t.row(vec![
            target.name.clone(),
            target.target.clone(),
            target.measured.clone(),
            if target.pass { "PASS" } else { "MISS" }.to_string(),
        ]);
    }
    t
}

/// Prints a benchmark's tables and stores its result under `name` in `results.json`.
pub fn finish(
    out_dir: &Path,
    name: &str,
    tables: &[(&str, &Table)],
    targets: &[Target],
    mut details: Value,
) -> Result<()> {
    let mut text = String::new();
    for (title, table) in tables {
        let _ = writeln!(text, "\n## {name}: {title}\n");
        text.push_str(&table.render());
    }
    if !targets.is_empty() {
        let _ = writeln!(text, "\n## {name}: targets\n");
        text.push_str(&targets_table(targets).render());
    }
    println!("{text}");
    let mut md = String::new();
    for (title, table) in tables {
        let _ = writeln!(md, "\n#### {title}\n");
        md.push_str(&table.markdown());
    }
    if !targets.is_empty() {
        let _ = writeln!(md, "\n#### targets\n");
        md.push_str(&targets_table(targets).markdown());
    }
    std::fs::write(out_dir.join(format!("{name}.md")), md)?;
    details["targets"] = serde_json::to_value(targets)?;
    let path = out_dir.join("results.json");
    let mut all: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({}));
    all["machine"] = crate::machine();
    all["benchmarks"][name] = details;
    std::fs::write(&path, serde_json::to_string_pretty(&all)?)?;
    println!(
        "(results in {} and {})",
        path.display(),
        out_dir.join(format!("{name}.md")).display()
    );
    Ok(())
}
