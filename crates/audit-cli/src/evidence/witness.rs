//! The seam between an export and its evidence: [`Evidence`] sees each line as it is written
//! and each page's checkpoint, and appends an entry to the manifest at each commit, after
//! the output is fsynced and before the state file moves.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use audit_core::{AuditEvent, Checkpoint, EventPage, Position, StreamKind};
use chrono::{DateTime, Utc};

use super::chain::{Chain, sha256_hex, to_hex};
use super::keys::Signer;
use super::manifest::{
    Added, Entry, EntryWindow, Fingerprints, MANIFEST_VERSION, ManifestFile, PassEnd, RecordMark,
    SegmentMark, genesis_prev, manifest_path,
};

/// What an export's evidence is about, fixed for the run.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// The stream.
    pub stream: StreamKind,
    /// The account, as in event ids.
    pub account: String,
    /// `ndjson` or `ocsf`.
    pub format: &'static str,
    /// Signs each entry, when given.
    pub signer: Option<Arc<Signer>>,
    /// The stream's settle lag (how far behind now an open window's pass ends).
    pub settle_lag: Duration,
    /// When the run opened the stream: no pass of this run started earlier.
    pub opened_at: DateTime<Utc>,
}

/// Where a resumed export's evidence stands: the manifest length and the records the state
/// file recorded with it.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceResume {
    /// The manifest's committed length.
    pub manifest_bytes: u64,
    /// The output's committed records.
    pub records: u64,
}

/// The evidence of one export being written.
pub struct Evidence {
    settings: EvidenceSettings,
    manifest: ManifestFile,
    chain: Chain,
    seq: u64,
    prev: String,
    covered_through: Option<DateTime<Utc>>,
    window: Option<EntryWindow>,
    /// This commit's lines, records and bytes, first and last record, pass end.
    fingerprints: Vec<u8>,
    added: Added,
    first: Option<RecordMark>,
    last: Option<RecordMark>,
    pass_end: Option<PassEnd>,
    /// No pass that ends later started before this (see [`Evidence::page`]).
    pass_floor: DateTime<Utc>,
    /// When the writer took the previous page.
    previous_page_at: DateTime<Utc>,
    /// A failed append: every later commit fails too, so the state never moves past it.
    failed: Option<String>,
}

impl Evidence {
    /// Opens the evidence of the output `out` (for a rotated output, the path as given): a
    /// new manifest, or with `resume` the manifest cut back to the recorded commit.
    pub fn open(
        settings: EvidenceSettings,
        out: &Path,
        resume: Option<EvidenceResume>,
    ) -> Result<Self, String> {
        let path = manifest_path(out);
        let (manifest, last) = match resume {
            None => (
                ManifestFile::create(path.clone()).map_err(|error| {
                    format!("cannot create the manifest {}: {error}", path.display())
                })?,
                None,
            ),
            Some(resume) => {
                let (manifest, last) = ManifestFile::resume(path.clone(), resume.manifest_bytes)?;
                let recorded = last.as_ref().map_or(0, |(entry, _)| entry.records);
                if recorded != resume.records {
                    return Err(format!(
                        "the manifest {} ends on {recorded} records but the state file says {} \
                         were committed: the manifest does not belong to this export",
                        path.display(),
                        resume.records
                    ));
                }
                (manifest, last)
            }
        };
        let opened_at = settings.opened_at;
        let mut evidence = Evidence {
            settings,
            manifest,
            chain: Chain::default(),
            seq: 0,
            prev: genesis_prev(),
            covered_through: None,
            window: None,
            fingerprints: Vec::new(),
            added: Added {
                records: 0,
                bytes: 0,
            },
            first: None,
            last: None,
            pass_end: None,
            pass_floor: opened_at,
            previous_page_at: opened_at,
            failed: None,
        };
        if let Some((entry, line_hash)) = last {
            evidence.chain = entry
                .chain()
                .ok_or_else(|| format!("the manifest {} holds a bad head", path.display()))?;
            evidence.seq = entry.seq + 1;
            evidence.prev = line_hash;
            evidence.covered_through = entry.covered_through;
            evidence.window = Some(entry.window);
        }
        Ok(evidence)
    }

    /// The output's line for `event` was written (its newline included).
    pub fn witness(&mut self, line: &[u8], event: &AuditEvent) {
        let fingerprint = self.chain.push(line);
        self.fingerprints.extend_from_slice(&fingerprint);
        self.added.records += 1;
        self.added.bytes += line.len() as u64;
        let mark = RecordMark {
            occurred_at: event.occurred_at,
            id: event.id.clone(),
        };
        if self.first.is_none() {
            self.first = Some(mark.clone());
        }
        self.last = Some(mark);
    }

    /// The writer took `page` (and wrote its events). A page that ends a pass records how far
    /// the pass read.
    ///
    /// The end of a pass over an open window is "now less the settle lag" when the pass
    /// started, which the stream does not report; it started after the stream produced the
    /// last page of the pass before, which (one page is read ahead) it began only once the
    /// writer had taken the page before that one. So the end recorded is the window's end
    /// evaluated at that moment: never later than the pass's real end, exact for a window
    /// closed in the past and for ticket-audit passes (their checkpoint names the pass's end).
    pub fn page(&mut self, page: &EventPage) {
        let now = Utc::now();
        let floor_for_next = self.previous_page_at;
        self.previous_page_at = now;
        let checkpoint = &page.checkpoint;
        self.window = Some(EntryWindow {
            since: checkpoint.window.since,
            until: checkpoint.window.until,
        });
        if page.caught_up {
            let through = pass_through(checkpoint, self.pass_floor, self.settings.settle_lag);
            let through = self.covered_through.map_or(through, |at| at.max(through));
            self.covered_through = Some(through);
            self.pass_end = Some(PassEnd {
                through,
                signal: end_signal(self.settings.stream).to_string(),
            });
            self.pass_floor = floor_for_next;
        }
    }

    /// Appends this commit's entry (the output is fsynced; the state file is written next)
    /// and returns the manifest's length for the state file. A commit that added nothing
    /// and ended no pass appends nothing.
    pub fn commit(&mut self, segment: Option<SegmentMark>) -> Result<u64, String> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let Some(window) = self.window else {
            return Ok(self.manifest.bytes());
        };
        if self.added.records == 0 && self.pass_end.is_none() {
            return Ok(self.manifest.bytes());
        }
        let entry = Entry {
            v: MANIFEST_VERSION,
            seq: self.seq,
            prev: self.prev.clone(),
            stream: self.settings.stream.to_string(),
            account: self.settings.account.clone(),
            format: self.settings.format.to_string(),
            committed_at: Utc::now(),
            window,
            covered_through: self.covered_through,
            pass_end: self.pass_end.take(),
            records: self.chain.lines,
            bytes: self.chain.bytes,
            added: self.added,
            first: self.first.take(),
            last: self.last.take(),
            segment,
            head: to_hex(&self.chain.head),
            lines: Fingerprints(std::mem::take(&mut self.fingerprints)),
            signer: self
                .settings
                .signer
                .as_ref()
                .map(|signer| signer.public_hex()),
        };
        let mut line = entry.to_line(self.settings.signer.as_deref());
        // The fingerprints are in the line now: freed before the write, not held beside it.
        drop(entry);
        if let Err(error) = self.manifest.append(&mut line) {
            let message = format!(
                "cannot append to the manifest {}: {error}",
                self.manifest.path().display()
            );
            self.failed = Some(message.clone());
            return Err(message);
        }
        self.prev = sha256_hex(&line);
        self.seq += 1;
        self.added = Added {
            records: 0,
            bytes: 0,
        };
        Ok(self.manifest.bytes())
    }

    /// The manifest's length after the last entry.
    pub fn manifest_bytes(&self) -> u64 {
        self.manifest.bytes()
    }
}

/// How far a pass that ends at `checkpoint` read: see [`Evidence::page`].
fn pass_through(checkpoint: &Checkpoint, floor: DateTime<Utc>, lag: Duration) -> DateTime<Utc> {
    if let Position::NewestFirst {
        until: Some(until), ..
    } = &checkpoint.position
    {
        return *until;
    }
    let through = checkpoint.window.effective_until(floor, lag);
    match &checkpoint.position {
        Position::HighWater { at, .. } => through.max(*at),
        _ => through,
    }
}

/// The vendor's word each stream's pass ends on (see docs/architecture.md, "A walk ends on
/// the vendor's word").
pub fn end_signal(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::ZendeskAuditLogs => "meta.has_more false (no next cursor)",
        StreamKind::ZendeskTicketAudits => {
            "meta.has_more false, or a record older than the pass's start"
        }
        StreamKind::ZendeskTicketEvents => "end_of_stream true",
        StreamKind::GenesysAudits => "a results page without cursor in the window's last chunk",
        StreamKind::GenesysRealtime => "pageNumber reached pageCount (or total complete)",
        _ => "the stream's end",
    }
}
