//! `trail verify`: recomputes the chain and the counts of outputs against their manifests,
//! names the first line that differs, and reports the periods covered, the gaps between them
//! and the periods about to age out of the vendor.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use audit_core::StreamKind;
use aws_lc_rs::digest::{Context, SHA256};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::chain::{Chain, FINGERPRINT, Fingerprint, sha256_hex, to_hex};
use super::keys::PublicKey;
use super::manifest::{Entry, genesis_prev, manifest_path, read_lines, split_signature};
use super::retention::ageing_out;
use crate::rotate::{live_path, sealed_path};

/// Exit code: an output or its manifest differs from what was exported.
pub const EXIT_ALTERED: u8 = 4;
/// Exit code: everything matches, but a signature is missing, from another key, or wrong.
pub const EXIT_SIGNATURE: u8 = 5;
/// Exit code: everything matches, but periods between the outputs were never exported.
pub const EXIT_GAP: u8 = 6;

/// How far past a first difference `verify` looks to say what happened to the line.
const LOOKAHEAD: usize = 16;

/// What `trail verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Each output checked.
    pub outputs: Vec<OutputReport>,
    /// The periods the outputs cover, per stream and account, merged.
    pub periods: Vec<Period>,
    /// Time ranges between periods that no output covers.
    pub gaps: Vec<Gap>,
    /// Periods not exported that are about to age out of the vendor.
    pub warnings: Vec<String>,
    /// `verified`, `altered`, `signature` or `gap`.
    pub result: &'static str,
    /// The exit code.
    pub exit_code: u8,
}

/// One output against its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    /// The output as given.
    pub output: String,
    /// The manifest read.
    pub manifest: String,
    /// The files read, in order (the segments of a rotated output).
    pub files: Vec<String>,
    /// Manifest entries (commits).
    pub entries: u64,
    /// Records the manifest covers.
    pub records: u64,
    /// Bytes the manifest covers.
    pub bytes: u64,
    /// The chain head the manifest ends on.
    pub head: String,
    /// `checked` (every entry signed by the given key), `checked: NOT valid` (see
    /// `signature_problem`), `signed, not checked` (no `--public-key`), or `not signed`.
    pub signatures: String,
    /// The first difference found, if any.
    pub problem: Option<Problem>,
    /// The first signature problem, if any.
    pub signature_problem: Option<Problem>,
}

/// A place where an output or its manifest differs from what was exported.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `altered`, `removed`, `reordered`, `added`, `truncated`, `missing`, `manifest` or
    /// `signature`.
    pub kind: &'static str,
    /// The file the place is in.
    pub file: String,
    /// The line (from 1) in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The byte offset of that line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What is wrong, in words.
    pub message: String,
}

/// A period a stream's records were exported for.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// The stream.
    pub stream: String,
    /// The account.
    pub account: String,
    /// The start, inclusive.
    pub since: DateTime<Utc>,
    /// The end of the last completed pass, inclusive.
    pub through: DateTime<Utc>,
    /// The outputs that cover it.
    pub outputs: Vec<String>,
}

/// A time range between two periods of a stream that no output covers.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// The stream.
    pub stream: String,
    /// The account.
    pub account: String,
    /// The end of the period before, exclusive: records after it are missing.
    pub after: DateTime<Utc>,
    /// The start of the period after, exclusive: records before it are missing.
    pub before: DateTime<Utc>,
}

/// Why `verify` could not check at all (a usage error).
#[derive(Debug)]
pub struct CannotVerify(pub String, pub Option<String>);

/// Checks `outputs` (each with the manifest beside it, or `manifest` for a single output).
pub fn verify(
    outputs: &[PathBuf],
    manifest: Option<&Path>,
    public_key: Option<&PublicKey>,
    now: DateTime<Utc>,
) -> Result<Report, CannotVerify> {
    if manifest.is_some() && outputs.len() != 1 {
        return Err(CannotVerify(
            "--manifest names the manifest of one output, and several were given".into(),
            Some("verify the outputs one at a time, or drop --manifest".into()),
        ));
    }
    let mut reports = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    for output in outputs {
        let manifest = manifest.map_or_else(|| manifest_path(output), Path::to_path_buf);
        let (report, entries) = verify_one(output, &manifest, public_key)?;
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            let span = last
                .covered_through
                .map(|through| (first.window.since, through));
            spans.push(Span {
                stream: last.stream.clone(),
                account: last.account.clone(),
                covered: span,
                output: output.display().to_string(),
            });
        }
        reports.push(report);
    }
    let (periods, gaps) = periods_and_gaps(&spans);
    let mut warnings = Vec::new();
    for gap in &gaps {
        if let Some(warning) = stream_of(&gap.stream).and_then(|s| ageing_out(s, gap.after, now)) {
            warnings.push(format!("{}@{}: {warning}", gap.stream, gap.account));
        }
    }
    let mut last_of: BTreeMap<(String, String), DateTime<Utc>> = BTreeMap::new();
    for period in &periods {
        let key = (period.stream.clone(), period.account.clone());
        let at = last_of.entry(key).or_insert(period.through);
        *at = (*at).max(period.through);
    }
    for ((stream, account), through) in last_of {
        if let Some(warning) = stream_of(&stream).and_then(|s| ageing_out(s, through, now)) {
            warnings.push(format!("{stream}@{account}: {warning}"));
        }
    }
    let (result, exit_code) = if reports.iter().any(|r| r.problem.is_some()) {
        ("altered", EXIT_ALTERED)
    } else if reports.iter().any(|r| r.signature_problem.is_some()) {
        ("signature", EXIT_SIGNATURE)
    } else if !gaps.is_empty() {
        ("gap", EXIT_GAP)
    } else {
        ("verified", 0)
    };
    Ok(Report {
        outputs: reports,
        periods,
        gaps,
        warnings,
        result,
        exit_code,
    })
}

fn stream_of(name: &str) -> Option<StreamKind> {
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

/// What one output covers: `covered` = (since, through) once a pass completed.
struct Span {
    stream: String,
    account: String,
    covered: Option<(DateTime<Utc>, DateTime<Utc>)>,
    output: String,
}

/// Merges the spans of each stream and account; what lies between them is a gap.
fn periods_and_gaps(spans: &[Span]) -> (Vec<Period>, Vec<Gap>) {
    type Covered = (DateTime<Utc>, DateTime<Utc>, String);
    let mut by_stream: BTreeMap<(String, String), Vec<Covered>> = BTreeMap::new();
    for Span {
        stream,
        account,
        covered,
        output,
    } in spans
    {
        if let Some((since, through)) = covered {
            by_stream
                .entry((stream.clone(), account.clone()))
                .or_default()
                .push((*since, *through, output.clone()));
        }
    }
    let (mut periods, mut gaps) = (Vec::new(), Vec::new());
    for ((stream, account), mut spans) in by_stream {
        spans.sort();
        let mut current: Option<Period> = None;
        for (since, through, output) in spans {
            match &mut current {
                Some(period) if since <= period.through => {
                    period.through = period.through.max(through);
                    period.outputs.push(output);
                }
                _ => {
                    if let Some(period) = current.take() {
                        gaps.push(Gap {
                            stream: stream.clone(),
                            account: account.clone(),
                            after: period.through,
                            before: since,
                        });
                        periods.push(period);
                    }
                    current = Some(Period {
                        stream: stream.clone(),
                        account: account.clone(),
                        since,
                        through,
                        outputs: vec![output],
                    });
                }
            }
        }
        periods.extend(current);
    }
    (periods, gaps)
}

/// The manifest's entries, checked among themselves (numbering, the hash of each line in
/// the next, signatures, counts).
struct Manifest {
    entries: Vec<Entry>,
    /// The manifest line (from 1) of each entry.
    problem: Option<Problem>,
    signature_problem: Option<Problem>,
    signed: usize,
}

fn read_manifest(path: &Path, public_key: Option<&PublicKey>) -> Result<Manifest, CannotVerify> {
    let shown = path.display().to_string();
    let lines = read_lines(path).map_err(|error| {
        CannotVerify(
            format!("cannot read the manifest {shown}: {error}"),
            Some(
                "trail writes <out>.manifest.jsonl beside each file output; name another with \
                 --manifest"
                    .into(),
            ),
        )
    })?;
    let mut manifest = Manifest {
        entries: Vec::new(),
        problem: None,
        signature_problem: None,
        signed: 0,
    };
    let mut prev = genesis_prev();
    let (mut records, mut bytes) = (0u64, 0u64);
    let at = |number: usize, message: String| Problem {
        kind: "manifest",
        file: shown.clone(),
        line: Some(number as u64),
        offset: None,
        message,
    };
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(entry) => entry,
            Err(error) => {
                manifest.problem = Some(at(
                    number,
                    format!("manifest line {number} is not a manifest entry ({error})"),
                ));
                return Ok(manifest);
            }
        };
        if entry.seq != index as u64 {
            manifest.problem = Some(at(
                number,
                format!(
                    "manifest line {number} holds entry {} where entry {index} belongs: entries \
                     were removed, added or reordered",
                    entry.seq
                ),
            ));
            return Ok(manifest);
        }
        if entry.prev != prev {
            manifest.problem = Some(at(
                number - 1,
                format!(
                    "manifest line {} was changed after it was written: line {number} records \
                     another hash of it",
                    number - 1
                ),
            ));
            return Ok(manifest);
        }
        let signed = split_signature(line);
        if signed.signature.is_some() {
            manifest.signed += 1;
        }
        if let Some(key) = public_key
            && manifest.signature_problem.is_none()
        {
            let message = match (signed.signature, &entry.signer) {
                (None, _) => Some(format!("manifest line {number} is not signed")),
                (Some(signature), signer) if !key.verifies(&signed.message, signature) => {
                    Some(match signer {
                        Some(signer) if *signer != key.hex() => format!(
                            "manifest line {number} is signed by another key ({signer}), not by \
                             the public key given ({})",
                            key.hex()
                        ),
                        _ => format!(
                            "the signature of manifest line {number} does not verify with the \
                             public key given: the line was changed after it was signed"
                        ),
                    })
                }
                _ => None,
            };
            if let Some(message) = message {
                manifest.signature_problem = Some(Problem {
                    kind: "signature",
                    ..at(number, message)
                });
            }
        }
        let fingerprints = &entry.lines.0;
        let counted = fingerprints.len() as u64 == entry.added.records * FINGERPRINT as u64;
        if !counted
            || entry.records != records + entry.added.records
            || entry.bytes != bytes + entry.added.bytes
            || entry.chain().is_none()
        {
            manifest.problem = Some(at(
                number,
                format!(
                    "manifest line {number} does not add up: {} records and {} bytes after \
                     adding {} and {} to {records} and {bytes} (with {} line fingerprints)",
                    entry.records,
                    entry.bytes,
                    entry.added.records,
                    entry.added.bytes,
                    fingerprints.len() / FINGERPRINT
                ),
            ));
            return Ok(manifest);
        }
        records = entry.records;
        bytes = entry.bytes;
        prev = sha256_hex(line);
        manifest.entries.push(entry);
    }
    Ok(manifest)
}

/// A line read from the output: where it is, its fingerprint, whether it ended in a newline.
struct LineSeen {
    file: usize,
    line: u64,
    offset: u64,
    fingerprint: Fingerprint,
    whole: bool,
}

fn verify_one(
    output: &Path,
    manifest_path: &Path,
    public_key: Option<&PublicKey>,
) -> Result<(OutputReport, Vec<Entry>), CannotVerify> {
    let manifest = read_manifest(manifest_path, public_key)?;
    let entries = &manifest.entries;
    let signatures = match (public_key, manifest.signed) {
        (Some(_), _) if manifest.signature_problem.is_some() => "checked: NOT valid".to_string(),
        (Some(_), _) => "checked".to_string(),
        (None, 0) => "not signed".to_string(),
        (None, _) => "signed, not checked (give --public-key)".to_string(),
    };
    let files = files_of(output, entries);
    let last = entries.last();
    let mut report = OutputReport {
        output: output.display().to_string(),
        manifest: manifest_path.display().to_string(),
        files: files
            .iter()
            .map(|(path, _)| path.display().to_string())
            .collect(),
        entries: entries.len() as u64,
        records: last.map_or(0, |e| e.records),
        bytes: last.map_or(0, |e| e.bytes),
        head: last.map_or_else(|| to_hex(&Chain::default().head), |e| e.head.clone()),
        signatures,
        problem: manifest.problem.clone(),
        signature_problem: manifest.signature_problem.clone(),
    };
    if report.problem.is_none() {
        report.problem = check_lines(&files, entries);
    }
    Ok((report, manifest.entries))
}

/// The files an output's lines are in, in order, each with whether it must exist: the output
/// itself, or for a rotated output its segments and then the live segment.
fn files_of(output: &Path, entries: &[Entry]) -> Vec<(PathBuf, bool)> {
    let numbers: Vec<u64> = entries
        .iter()
        .filter_map(|entry| entry.segment.map(|segment| segment.number))
        .collect();
    let (Some(&first), Some(&last)) = (numbers.first(), numbers.last()) else {
        return vec![(output.to_path_buf(), true)];
    };
    let live = live_path(output);
    let mut files = Vec::new();
    for number in first..=last {
        let sealed = sealed_path(output, number);
        if number == last && !sealed.exists() && live.exists() {
            files.push((live.clone(), true));
            return files;
        }
        files.push((sealed, true));
    }
    // Whatever the live segment holds came after the last commit.
    files.push((live, false));
    files
}

/// Reads the lines of `files` and compares them with the manifest's fingerprints and heads.
fn check_lines(files: &[(PathBuf, bool)], entries: &[Entry]) -> Option<Problem> {
    let mut expected: Vec<Fingerprint> = Vec::new();
    for entry in entries {
        let fingerprints = &entry.lines.0;
        expected.extend(
            fingerprints
                .chunks_exact(FINGERPRINT)
                .map(|chunk| -> Fingerprint { chunk.try_into().expect("chunks of 4") }),
        );
    }
    let mut seen: Vec<LineSeen> = Vec::with_capacity(expected.len());
    let mut chain = Chain::default();
    let mut entry_index = 0;
    // The first entry whose head the recomputed chain does not reach.
    let mut head_differs: Option<usize> = None;
    let mut check_boundaries = |chain: &Chain, entry_index: &mut usize| {
        while let Some(entry) = entries.get(*entry_index)
            && entry.records == chain.lines
        {
            if head_differs.is_none()
                && (entry.head != to_hex(&chain.head) || entry.bytes != chain.bytes)
            {
                head_differs = Some(*entry_index);
            }
            *entry_index += 1;
        }
    };
    check_boundaries(&chain, &mut entry_index);
    for (index, (path, required)) in files.iter().enumerate() {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound && !required => continue,
            Err(error) => {
                return Some(Problem {
                    kind: "missing",
                    file: path.display().to_string(),
                    line: None,
                    offset: None,
                    message: format!(
                        "cannot read {} ({error}): the lines the manifest records there cannot \
                         be checked",
                        path.display()
                    ),
                });
            }
        };
        let read = read_file_lines(file, |line, offset, number, digest, whole| {
            let fingerprint = chain.push_digest(digest, line);
            seen.push(LineSeen {
                file: index,
                line: number,
                offset,
                fingerprint,
                whole,
            });
            check_boundaries(&chain, &mut entry_index);
        });
        if let Err(error) = read {
            return Some(Problem {
                kind: "missing",
                file: path.display().to_string(),
                line: None,
                offset: None,
                message: format!("cannot read {}: {error}", path.display()),
            });
        }
    }
    let first_difference = (0..expected.len().max(seen.len())).find(|&i| {
        !matches!((seen.get(i), expected.get(i)), (Some(s), Some(e)) if s.whole && s.fingerprint == *e)
    });
    let reached_all = entry_index == entries.len();
    match (first_difference, head_differs, reached_all) {
        (None, None, true) => None,
        (None, _, _) => {
            let entry = head_differs.unwrap_or(entries.len().saturating_sub(1));
            Some(Problem {
                kind: "manifest",
                file: String::new(),
                line: Some(entry as u64 + 1),
                offset: None,
                message: format!(
                    "the chain head of manifest line {} does not match the output, although \
                     every line's fingerprint does: the manifest's head was changed (or lines \
                     were changed to collide with their fingerprints)",
                    entry + 1
                ),
            })
        }
        (Some(i), differs, _) => {
            if differs.is_none() && reached_all && i >= expected.len() {
                return Some(describe(files, &seen, &expected, i));
            }
            if differs.is_none() && reached_all {
                let entry = entries
                    .iter()
                    .position(|entry| entry.records > i as u64)
                    .unwrap_or(0);
                return Some(Problem {
                    kind: "manifest",
                    file: String::new(),
                    line: Some(entry as u64 + 1),
                    offset: None,
                    message: format!(
                        "the line fingerprints of manifest line {} do not match the output, \
                         whose chain does: the manifest was changed",
                        entry + 1
                    ),
                });
            }
            Some(describe(files, &seen, &expected, i))
        }
    }
}

/// Says what happened at the first line `i` (from 0) that differs.
fn describe(
    files: &[(PathBuf, bool)],
    seen: &[LineSeen],
    expected: &[Fingerprint],
    i: usize,
) -> Problem {
    let place = |line: &LineSeen| {
        (
            files[line.file].0.display().to_string(),
            Some(line.line),
            Some(line.offset),
        )
    };
    let problem =
        |kind, (file, line, offset): (String, Option<u64>, Option<u64>), message| Problem {
            kind,
            file,
            line,
            offset,
            message,
        };
    let at = |line: &LineSeen| {
        format!(
            "line {} (byte offset {}) of {}",
            line.line,
            line.offset,
            files[line.file].0.display()
        )
    };
    let fp = |i: usize| seen.get(i).filter(|s| s.whole).map(|s| s.fingerprint);
    let Some(line) = seen.get(i) else {
        // The output ends before the manifest does.
        let (file, end) = match seen.last() {
            Some(last) => (
                files[last.file].0.display().to_string(),
                format!("after line {}", last.line),
            ),
            None => (
                files
                    .first()
                    .map(|f| f.0.display().to_string())
                    .unwrap_or_default(),
                "before its first line".to_string(),
            ),
        };
        let missing = expected.len() - i;
        return problem(
            "removed",
            (file.clone(), seen.last().map(|l| l.line + 1), None),
            format!(
                "{file} ends {end}: the last {missing} line(s) the manifest records (from line \
                 {} of the export) were removed",
                i + 1
            ),
        );
    };
    if i >= expected.len() {
        return problem(
            "added",
            place(line),
            format!(
                "{} was added after export: the manifest records {} line(s); if a run was \
                 interrupted, running the same export again cuts what it did not commit",
                at(line),
                expected.len()
            ),
        );
    }
    if !line.whole {
        return problem(
            "truncated",
            place(line),
            format!(
                "{} is cut short: the file was truncated inside it ({} more line(s) recorded)",
                at(line),
                expected.len() - i - 1
            ),
        );
    }
    if fp(i) == expected.get(i + 1).copied() && fp(i + 1) == Some(expected[i]) {
        return problem(
            "reordered",
            place(line),
            format!(
                "{} and the line after it are in each other's place (reordered)",
                at(line)
            ),
        );
    }
    if let Some(j) = (1..=LOOKAHEAD).find(|&j| fp(i) == expected.get(i + j).copied()) {
        return problem(
            "removed",
            place(line),
            format!(
                "{j} line(s) were removed before {}: the line there is the manifest's line {} \
                 of the export",
                at(line),
                i + j + 1
            ),
        );
    }
    if let Some(j) = (1..=LOOKAHEAD).find(|&j| fp(i + j) == Some(expected[i])) {
        return problem(
            "added",
            place(line),
            format!("{j} line(s) were added at {}", at(line)),
        );
    }
    problem(
        "altered",
        place(line),
        format!(
            "{} was altered after export: it is not the line the manifest records there",
            at(line)
        ),
    )
}

/// Reads `file` line by line without copying, calling `each(length, offset, number from 1,
/// SHA-256, ends with a newline)`.
fn read_file_lines(file: File, mut each: impl FnMut(u64, u64, u64, &[u8], bool)) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (mut offset, mut number) = (0u64, 0u64);
    let mut context = Context::new(&SHA256);
    let mut length = 0u64;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            if length > 0 {
                number += 1;
                let digest = context.finish();
                each(length, offset, number, digest.as_ref(), false);
            }
            return Ok(());
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', buffer) {
            context.update(&buffer[start..=end]);
            length += (end + 1 - start) as u64;
            number += 1;
            let digest = std::mem::replace(&mut context, Context::new(&SHA256)).finish();
            each(length, offset, number, digest.as_ref(), true);
            offset += length;
            length = 0;
            start = end + 1;
        }
        context.update(&buffer[start..]);
        length += (buffer.len() - start) as u64;
        let consumed = buffer.len();
        reader.consume(consumed);
    }
}

/// The report in words, for a person.
pub fn render(report: &Report) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for output in &report.outputs {
        let _ = writeln!(
            text,
            "{}: {} records, {} bytes, {} commits in {} (chain head {}); signatures: {}",
            output.output,
            output.records,
            output.bytes,
            output.entries,
            output.manifest,
            output.head,
            output.signatures
        );
        if output.files.len() > 1 || output.files.first() != Some(&output.output) {
            let _ = writeln!(text, "  files: {}", output.files.join(", "));
        }
        for problem in [&output.problem, &output.signature_problem]
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                text,
                "  {}: {}",
                problem.kind.to_uppercase(),
                problem.message
            );
        }
        if output.problem.is_none() {
            let _ = writeln!(text, "  every line matches the manifest");
        }
    }
    if !report.periods.is_empty() {
        let _ = writeln!(
            text,
            "periods covered (every record from the first instant through the second):"
        );
    }
    for period in &report.periods {
        let _ = writeln!(
            text,
            "  {}@{}: {} .. {} ({})",
            period.stream,
            period.account,
            show(period.since),
            show(period.through),
            period.outputs.join(", ")
        );
    }
    for gap in &report.gaps {
        let _ = writeln!(
            text,
            "GAP {}@{}: nothing exported after {} and before {}",
            gap.stream,
            gap.account,
            show(gap.after),
            show(gap.before)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    let _ = writeln!(
        text,
        "{}",
        match report.result {
            "verified" => "verified: every output matches its manifest",
            "altered" => "NOT VERIFIED: an output or its manifest was changed after export",
            "signature" => "NOT VERIFIED: a signature is missing, wrong or from another key",
            _ => "verified, but with gaps between the periods exported",
        }
    );
    text
}

fn show(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(output: &str, since: &str, through: &str) -> Span {
        Span {
            stream: "genesys-audits".into(),
            account: "emea".into(),
            covered: Some((since.parse().unwrap(), through.parse().unwrap())),
            output: output.into(),
        }
    }

    #[test]
    fn overlapping_and_touching_periods_merge_and_what_lies_between_is_a_gap() {
        let spans = [
            span("c", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z"),
            span("a", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"),
            // Starts where `a` ends: a record at that instant is in `a`, nothing is missing.
            span("b", "2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z"),
            span("d", "2024-03-15T00:00:00Z", "2024-03-20T00:00:00Z"),
        ];
        let (periods, gaps) = periods_and_gaps(&spans);
        assert_eq!(periods.len(), 2);
        assert_eq!(periods[0].outputs, ["a", "b"]);
        assert_eq!(periods[1].outputs, ["c", "d"]);
        assert_eq!(periods[1].through.to_rfc3339(), "2024-04-01T00:00:00+00:00");
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].after.to_rfc3339(), "2024-02-10T00:00:00+00:00");
        assert_eq!(gaps[0].before.to_rfc3339(), "2024-03-01T00:00:00+00:00");
    }
}
