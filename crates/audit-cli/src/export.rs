//! The export engine: a stream of event pages into an output, with exactly-once resume.
//!
//! For each page: write its events, remember its checkpoint. Every `commit_every` (and at the
//! end of each pass, on an error, on Ctrl-C and at the end) the output is fsynced and then the
//! checkpoint is recorded with the output position it matches (see [`crate::state`]). A
//! resumed run truncates the output to that position and reopens the stream at that
//! checkpoint, so whatever happened after the last commit — a SIGKILL included — is replayed
//! exactly once; a write that fails cuts the output back to the last commit at once.
//!
//! Before any request, [`prepare`] checks and claims the outputs of a run (locked, and
//! recorded in the state file) and decides where each export resumes. The output is only
//! truncated when the first page arrives: a run that fails before (bad credentials, no
//! access) leaves the output as it was, and undoes its claim.
//!
//! Pages come from the feed (`feed.rs`): read one ahead of the writer, and for a follower
//! reopened after a transient vendor failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_core::{Checkpoint, EventPage, RetryPolicy, StatsSnapshot, StreamKind, StreamOptions};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::claim::{OutputClaim, claim_outputs};
use crate::errors::CliError;
use crate::evidence::keys::Signer;
use crate::evidence::manifest::SegmentMark;
use crate::evidence::{Evidence, EvidenceResume, EvidenceSettings};
use crate::feed::{Fed, PageFeed};
use crate::health::{Health, StreamHealth};
use crate::output::{Format, Output, OutputError, foreign_line};
use crate::resume::{check_realtime_reach, reconcile};
use crate::rotate::{RotationPolicy, Segments, live_path, sealed_path};
use crate::sources::StreamSource;
use crate::state::{
    OutputPosition, RecordedWindow, SegmentPosition, State, StateStore, StreamState, entry_key,
};

/// One stream to export.
#[derive(Clone)]
pub struct ExportPlan {
    /// The stream.
    pub stream: StreamKind,
    /// The client that reads it.
    pub source: Arc<dyn StreamSource>,
    /// Window, settle lag, follow (the engine adds the resume checkpoint).
    pub options: StreamOptions,
    /// The window and mode as the user gave them, recorded in the state file.
    pub requested: RecordedWindow,
    /// The output file; standard output when `None`.
    pub out: Option<PathBuf>,
    /// How events are written.
    pub format: Format,
    /// When to seal the output into segments ([`crate::rotate`]); only with a file `out`.
    pub rotation: Option<RotationPolicy>,
    /// The retry policy `source` was built with: a follower waits out outages with it too.
    pub retry: RetryPolicy,
    /// Signs the manifest's entries ([`crate::evidence`]); only with a file `out`.
    pub signer: Option<Arc<Signer>>,
}

impl ExportPlan {
    /// The stream's name in messages and the summary: `<stream>@<tenant>`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.stream, self.source.tenant())
    }

    /// The file written: `out`, or its live segment when rotated.
    fn written_path(&self) -> Option<PathBuf> {
        let out = self.out.as_deref()?;
        Some(match self.rotation {
            Some(_) => live_path(out),
            None => out.to_path_buf(),
        })
    }

    /// The segments of a rotated output at `position` (`None`: a new export).
    fn segments(&self, position: Option<&SegmentPosition>) -> Option<Segments> {
        let (policy, base) = (self.rotation?, self.out.clone()?);
        Some(Segments::new(policy, base, position))
    }

    fn output_name(&self) -> String {
        self.out
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "-".into())
    }
}

/// Where a stream resumes: the checkpoint, and the output's (bytes, records) it matches (and
/// the segments of a rotated output, and the manifest's length).
type ResumePoint = (Checkpoint, (u64, u64), Option<SegmentPosition>, Option<u64>);

/// An output's committed (bytes, records), and its segments when rotated.
type OutputAt = ((u64, u64), Option<SegmentPosition>);

/// A state file shared by the streams of one run (and perhaps by other runs).
pub type SharedState = Arc<StateStore>;

/// An export checked and ready to run: its output claimed, its resume point decided.
pub struct PreparedExport {
    plan: ExportPlan,
    /// The state file entry.
    entry: String,
    claim: OutputClaim,
    resume: Option<ResumePoint>,
    window: RecordedWindow,
    /// Whether this run added the entry (with no checkpoint yet) to claim the output.
    claimed_entry: bool,
}

impl PreparedExport {
    /// The stream's name in messages and the summary: `<stream>@<tenant>`.
    pub fn key(&self) -> String {
        self.plan.key()
    }
}

/// Checks every export of a run before its first request — outputs (see [`crate::claim`]),
/// the state entries, the resumed windows (see [`crate::resume`]) — and claims the outputs:
/// each is locked for the run, and a state file gets an entry for each new one. Refused
/// with nothing written.
pub fn prepare(
    plans: Vec<ExportPlan>,
    state: Option<&StateStore>,
    overwrite: bool,
    now: DateTime<Utc>,
) -> Result<Vec<PreparedExport>, CliError> {
    let written: Vec<_> = plans.iter().map(ExportPlan::written_path).collect();
    let outputs: Vec<_> = written.iter().map(Option::as_deref).collect();
    let mut claims = claim_outputs(&outputs, state.map(StateStore::path))?;
    let decide_all = |file: Option<(&State, &Path)>| {
        plans
            .iter()
            .zip(&claims)
            .map(|(plan, claim)| decide(plan, claim, file, overwrite, now))
            .collect::<Result<Vec<_>, CliError>>()
    };
    let decisions = match state {
        None => decide_all(None),
        // Under the state lock: the entries checked are the entries claimed.
        Some(store) => store
            .update(|file| {
                let decisions = decide_all(Some((file, store.path())))?;
                for ((plan, claim), decision) in plans.iter().zip(&claims).zip(&decisions) {
                    if decision.new_entry {
                        file.streams.insert(
                            entry_key(&plan.key(), &claim.resolved),
                            claim_entry(plan, claim, &decision.window),
                        );
                    }
                }
                Ok(decisions)
            })
            .map_err(state_error)
            .and_then(|decisions| decisions),
    };
    let decisions = match decisions {
        Ok(decisions) => decisions,
        Err(error) => {
            claims.iter_mut().for_each(OutputClaim::release);
            return Err(error);
        }
    };
    Ok(plans
        .into_iter()
        .zip(claims)
        .zip(decisions)
        .map(|((plan, claim), decision)| PreparedExport {
            entry: entry_key(&plan.key(), &claim.resolved),
            plan,
            claim,
            resume: decision.resume,
            window: decision.window,
            claimed_entry: decision.new_entry,
        })
        .collect())
}

/// What a run does with one export.
struct Decision {
    /// Where it resumes (`None`: from the start).
    resume: Option<ResumePoint>,
    /// The window it records.
    window: RecordedWindow,
    /// Whether it adds the state entry that claims its output.
    new_entry: bool,
}

/// Checks one export against the state file's entries (`state`: the state and its path) and
/// decides where it resumes.
fn decide(
    plan: &ExportPlan,
    claim: &OutputClaim,
    state: Option<(&State, &Path)>,
    overwrite: bool,
    now: DateTime<Utc>,
) -> Result<Decision, CliError> {
    let entry = entry_key(&plan.key(), &claim.resolved);
    let saved = claim.check_owner(&entry, state, overwrite)?;
    if saved.is_none()
        && let Some((file, state_path)) = state
    {
        check_rotation_kept(plan, claim, file, state_path)?;
    }
    let mut resume = None;
    let mut window = plan.requested.clone();
    if let (Some(saved), Some((_, state_path))) = (saved, state)
        && let Some((mut checkpoint, at, segments, manifest)) =
            resume_point(state_path, &entry, saved, plan.format)?
        && let Some((at, segments)) = check_position(plan, claim, at, segments, overwrite)?
    {
        window = reconcile(
            &mut checkpoint,
            saved.window.as_ref(),
            &plan.requested,
            (plan.options.window.since, plan.options.window.until),
            &format!("the export of {} to {}", plan.key(), plan.output_name()),
        )?;
        // A checkpoint written before checkpoints recorded their filters: the state file's
        // record of the filters, which `reconcile` found equal to this run's, vouches for it.
        if saved.window.is_some() && checkpoint.selection.is_all() {
            checkpoint = checkpoint.with_selection(plan.options.filter.selection());
        }
        resume = Some((checkpoint, at, segments, manifest));
    }
    if resume.is_none()
        && plan.rotation.is_some()
        && let Some(out) = &plan.out
        && sealed_path(out, 1).exists()
    {
        return Err(CliError::usage(
            format!(
                "{} already exists: a new rotated export to {} would number its segments from \
                 1 again, and sealed segments are never replaced",
                sealed_path(out, 1).display(),
                out.display()
            ),
            Some(
                "move the segments of the earlier export away, or choose another --out".to_string(),
            ),
        ));
    }
    check_realtime_reach(
        plan.stream,
        plan.options.window.since,
        resume.as_ref().map(|(checkpoint, ..)| checkpoint),
        now,
    )?;
    Ok(Decision {
        resume,
        window,
        new_entry: state.is_some() && saved.is_none(),
    })
}

/// Refuses a new export that is the same export with rotation switched on or off: a restart
/// that forgot `--rotate-size` would otherwise export everything again into `--out`.
fn check_rotation_kept(
    plan: &ExportPlan,
    claim: &OutputClaim,
    state: &State,
    state_path: &Path,
) -> Result<(), CliError> {
    let (other, recorded, flags) = match plan.rotation {
        Some(_) => match claim.resolved.strip_suffix(".live") {
            Some(unrotated) => (
                unrotated.to_string(),
                "without rotation",
                "drop the rotation flags",
            ),
            None => return Ok(()),
        },
        None => (
            format!("{}.live", claim.resolved),
            "rotated",
            "pass --rotate-size or --rotate-interval again (or the trail.toml keys)",
        ),
    };
    if !state.streams.contains_key(&entry_key(&plan.key(), &other)) {
        return Ok(());
    }
    Err(CliError::usage(
        format!(
            "the state file {} records the export of {} to {} {recorded}; this run would start \
             it over",
            state_path.display(),
            plan.key(),
            plan.output_name()
        ),
        Some(format!("to continue it, {flags}; or choose another --out")),
    ))
}

/// Checks that the output still holds the `(bytes, records)` the state file says were
/// committed, and after them nothing but what an interrupted run of trail wrote, and resolves
/// a seal that a killed run left under way (see [`crate::rotate`]). Returns where to resume,
/// or `None` to start over (`--overwrite` on an output that lost committed bytes).
fn check_position(
    plan: &ExportPlan,
    claim: &OutputClaim,
    (bytes, records): (u64, u64),
    segments: Option<SegmentPosition>,
    overwrite: bool,
) -> Result<Option<OutputAt>, CliError> {
    let Some(path) = plan.written_path() else {
        // Standard output cannot be checked nor cut back: at least once.
        return Ok(Some(((bytes, records), None)));
    };
    let length = claim.length();
    if length < bytes {
        if let Some(sealing) = segments.as_ref().filter(|position| position.sealing) {
            // Killed after renaming the live segment, before recording the seal.
            let sealed = SegmentPosition {
                sealed: sealing.sealed + 1,
                live_since: Utc::now(),
                sealing: false,
            };
            return Ok(Some(((0, records), Some(sealed))));
        }
        if overwrite {
            return Ok(None);
        }
        return Err(CliError::usage(
            format!(
                "{} holds {length} bytes but the state file says the export committed {bytes}: \
                 the file was moved, truncated or replaced since the last run",
                path.display()
            ),
            Some(
                "put the file back to continue the export; add --overwrite to export again \
                 from the start into this path; or choose another --out and --state"
                    .to_string(),
            ),
        ));
    }
    if length > bytes && !overwrite {
        let foreign = foreign_line(&path, bytes, plan.format).map_err(|error| {
            CliError::failure(format!("cannot read {}: {error}", path.display()), None)
        })?;
        if let Some(offset) = foreign {
            return Err(CliError::usage(
                format!(
                    "{} holds a line at byte offset {offset} that trail did not write: after the \
                     last commit (byte {bytes}) only the unfinished lines of an interrupted run \
                     may follow, and resuming would cut them",
                    path.display()
                ),
                Some(format!(
                    "move that text out of the file, or add --overwrite to cut the file at byte \
                     {bytes} and continue the export"
                )),
            ));
        }
    }
    let segments = segments.map(|position| SegmentPosition {
        sealing: false,
        ..position
    });
    Ok(Some(((bytes, records), segments)))
}

/// The entry that claims `claim`'s output for `plan` before anything is committed: the next
/// run of the same export finds it (and resumes from the start), another export is refused.
fn claim_entry(plan: &ExportPlan, claim: &OutputClaim, window: &RecordedWindow) -> StreamState {
    StreamState {
        checkpoint: None,
        output: OutputPosition {
            path: claim.resolved.clone(),
            format: Output::format_label(plan.format).into(),
            bytes: 0,
            records: 0,
            segments: None,
            manifest: None,
        },
        window: Some(window.clone()),
    }
}

/// What a finished (or interrupted) export did.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The stream's key.
    pub key: String,
    /// The stream.
    pub stream: StreamKind,
    /// The output (`-` for standard output).
    pub output: String,
    /// Records written by this run.
    pub written: u64,
    /// Records in the output, earlier runs included.
    pub total: u64,
    /// How long this run took.
    pub elapsed: Duration,
    /// The client's counters.
    pub stats: StatsSnapshot,
    /// Records of this run that did not decode as sent, written marked with `decode_issue`.
    pub marked: u64,
    /// Of those, records whose original bytes (not UTF-8 text) went to the quarantine file.
    pub quarantined: u64,
    /// The quarantine file, when this run quarantined records.
    pub quarantine: Option<String>,
    /// Whether a signal stopped the export (after committing) before its window was done.
    pub stopped: bool,
    /// Where what this export has not exported yet starts: the rest of its window when it
    /// stopped early, the time after its `--until` when it completed a closed window (`None`
    /// for a completed open window). The summary warns when it is about to age out of the
    /// vendor ([`crate::evidence::retention`]).
    pub unexported_from: Option<DateTime<Utc>>,
}

/// Progress of the streams of a run, for a progress bar or log lines.
pub trait ProgressSink: Send + Sync {
    /// The stream starts: `span` turns a record's time into how much of the window is done.
    fn begin(&self, _key: &str, _span: Span) {}
    /// `records` written so far; `position` is the time of the latest record.
    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>);
    /// The stream is done (or failed).
    fn finish(&self, key: &str);
}

/// The window a stream walks, and in which direction: how far a record's time is through it.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// The window's start.
    pub since: DateTime<Utc>,
    /// The window's end (now, for an open window).
    pub until: DateTime<Utc>,
    /// Whether the stream reads its window newest first (Zendesk ticket audits).
    pub newest_first: bool,
}

impl Span {
    /// The span of `stream` over `window`, an open window ending `now`.
    pub fn of(stream: StreamKind, window: audit_core::Window, now: DateTime<Utc>) -> Self {
        Span {
            since: window.since,
            until: window.until.unwrap_or(now),
            newest_first: stream == StreamKind::ZendeskTicketAudits,
        }
    }

    /// How much of the window is behind a record at `at`, from 0 to 1; `None` for an empty
    /// window.
    pub fn fraction(&self, at: DateTime<Utc>) -> Option<f64> {
        let total = (self.until - self.since).num_milliseconds();
        if total <= 0 {
            return None;
        }
        let done = if self.newest_first {
            self.until - at
        } else {
            at - self.since
        };
        Some((done.num_milliseconds() as f64 / total as f64).clamp(0.0, 1.0))
    }
}

/// Exports one stream, prepared by [`prepare`] with the same `state`. `stop` turns true on
/// Ctrl-C or SIGTERM: the engine commits and returns a report marked `stopped`.
///
/// A follower does not end on a transient failure (see [`crate::outage`]): it commits, waits
/// and reopens the stream from the last page it wrote. `health` hears of every commit and
/// change of state.
pub async fn run_export(
    prepared: PreparedExport,
    state: Option<SharedState>,
    progress: &dyn ProgressSink,
    health: &Health,
    mut stop: watch::Receiver<bool>,
    commit_every: Duration,
) -> Result<ExportReport, CliError> {
    let started = Instant::now();
    let PreparedExport {
        mut plan,
        entry,
        mut claim,
        resume,
        window,
        claimed_entry,
    } = prepared;
    let spools = match (plan.options.slicing.take(), state.as_deref()) {
        (Some(slicing), Some(state)) => {
            let dir = spool_dir(state.path(), &entry);
            if let Err(error) = std::fs::create_dir_all(&dir) {
                release(&mut claim, Some(state), &entry, claimed_entry);
                return Err(CliError::failure(
                    format!("cannot create {} for the slices' spools: {error}", dir.display()),
                    Some("the spools live beside the --state file: choose a --state path in a writable directory".to_string()),
                ));
            }
            plan.options.slicing = Some(slicing.with_spool_dir(&dir));
            Some(dir)
        }
        (slicing, _) => {
            plan.options.slicing = slicing;
            None
        }
    };
    let key = plan.key();
    let output_name = plan.output_name();
    let options_window = plan.options.window;
    let mut position = None;
    let mut segments = plan.segments(None);
    let mut resumed = None;
    let mut manifest = None;
    if let Some((checkpoint, at, at_segments, at_manifest)) = resume {
        resumed = Some(checkpoint);
        position = Some(at);
        segments = plan.segments(at_segments.as_ref());
        manifest = at_manifest;
    }
    // No pass of this run starts before its stream is opened (see `Evidence::page`).
    let opened_at = Utc::now();
    let mut feed = match PageFeed::open(&plan, &key, health, resumed.clone()) {
        Ok(feed) => feed,
        Err(error) => {
            release(&mut claim, state.as_deref(), &entry, claimed_entry);
            health.ended(&key, StreamHealth::Failed, Some(&error.message));
            return Err(error);
        }
    };

    let mut committer = Committer {
        entry: entry.clone(),
        state,
        output_path: claim.resolved.clone(),
        window,
        output: None,
        evidence: None,
        pending: None,
        last_commit: Instant::now(),
    };
    let mut open = |claim: &mut OutputClaim| -> Result<(Output, Option<Evidence>), CliError> {
        let output = match (claim.take_file(), claim.given.as_deref()) {
            (Some(file), Some(path)) => {
                Output::from_file(file, path, plan.format, position, segments.take())
            }
            _ => Output::open(None, plan.format, position),
        }
        .map_err(output_error)?;
        let resume = position.map(|(_, records)| (records, manifest));
        Ok((output, open_evidence(&plan, opened_at, resume)?))
    };
    let first_records = position.map_or(0, |(_, records)| records);
    progress.begin(&key, Span::of(plan.stream, options_window, Utc::now()));
    health.start(&key, &output_name, first_records);
    let mut stopped = false;
    let outcome: Result<(), CliError> = loop {
        let fed = feed.next(&mut stop, || {
            committer.commit(false)?;
            Ok(committer.pending.clone().or_else(|| resumed.clone()))
        });
        let page = match fed.await {
            Fed::Page(page) => page,
            Fed::End => break Ok(()),
            Fed::Stopped => {
                stopped = true;
                break Ok(());
            }
            Fed::Failed(error) => break Err(error),
        };
        if committer.output.is_none() {
            match open(&mut claim) {
                Ok((output, evidence)) => {
                    (committer.output, committer.evidence) = (Some(output), evidence)
                }
                Err(error) => break Err(error),
            }
        }
        if let Err(error) = committer.write(&page) {
            break Err(committer.roll_back(error));
        }
        let latest = page.events.last().map(|event| event.occurred_at);
        feed.recycle(page.events);
        progress.update(&key, committer.records() - first_records, latest);
        committer.pending = Some(page.checkpoint);
        let due = page.caught_up
            || committer.last_commit.elapsed() >= commit_every
            || committer.output.as_ref().is_some_and(Output::segment_full);
        if due {
            if let Err(error) = committer.commit(false) {
                break Err(error);
            }
            health.committed(&key, committer.records().max(first_records));
        }
    };
    // Whatever happened, make what was written durable and recorded.
    if committer.output.is_none() {
        match &outcome {
            // An empty window still produces its (empty) output file.
            Ok(()) if !stopped => {
                let (output, evidence) = open(&mut claim)?;
                (committer.output, committer.evidence) = (Some(output), evidence);
            }
            // Nothing was written: leave the output and the state as they were.
            _ => release(
                &mut claim,
                committer.state.as_deref(),
                &entry,
                claimed_entry,
            ),
        }
    }
    // A run that completed its window (not one stopped by a signal) seals its last segment.
    let committed = committer.commit(outcome.is_ok() && !stopped);
    progress.finish(&key);
    let ended = match (&outcome, &committed) {
        (Err(error), _) | (Ok(()), Err(error)) => {
            health.ended(&key, StreamHealth::Failed, Some(&error.message));
            None
        }
        _ if stopped => Some(StreamHealth::Stopped),
        _ => Some(StreamHealth::Done),
    };
    outcome?;
    committed?;
    // A window read to its end has emitted every slice and deleted its spool: the empty
    // directories go too.
    if let (Some(dir), false) = (&spools, stopped) {
        let _ = std::fs::remove_dir(dir);
        if let Some(parent) = dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    if let Some(state) = ended {
        health.committed(&key, committer.records().max(first_records));
        health.ended(&key, state, None);
    }
    let output = committer.output.as_ref();
    let total = output.map_or(first_records, Output::records);
    let marked = output.map_or(0, Output::marked);
    let quarantined = output.map_or(0, Output::quarantined);
    let quarantine = output
        .filter(|_| quarantined > 0)
        .map(|output| output.quarantine_path().display().to_string());
    Ok(ExportReport {
        key,
        stream: plan.stream,
        output: output_name,
        written: total - first_records,
        total,
        elapsed: started.elapsed(),
        stats: plan.source.stats(),
        marked,
        quarantined,
        quarantine,
        stopped,
        unexported_from: unexported_from(
            committer.pending.as_ref().or(resumed.as_ref()),
            options_window,
            stopped,
        ),
    })
}

/// The start of what an export that ended at `checkpoint` (`None`: it read nothing) over
/// `window` has not exported (see [`ExportReport::unexported_from`]).
pub(crate) fn unexported_from(
    checkpoint: Option<&Checkpoint>,
    window: audit_core::Window,
    stopped: bool,
) -> Option<DateTime<Utc>> {
    let window = checkpoint.map_or(window, |checkpoint| checkpoint.window);
    if !stopped {
        return window.until;
    }
    match checkpoint.map(|checkpoint| &checkpoint.position) {
        Some(audit_core::Position::HighWater { at, .. }) => Some(*at),
        // A newest-first pass reads down to its start; nothing read yet starts there too.
        _ => Some(window.since),
    }
}

/// Where a sliced export into the state file's `entry` keeps its spools: beside the state
/// file, a directory per entry, where a resumed run finds them and takes each slice up where
/// it was (see `audit_core::slicing`).
fn spool_dir(state: &Path, entry: &str) -> PathBuf {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, entry.as_bytes());
    let name: String = digest.as_ref()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut spools = state.as_os_str().to_owned();
    spools.push(".spools");
    PathBuf::from(spools).join(name)
}

/// Undoes the claim of a run that wrote nothing: the output it created, and the entry it
/// added (unless a checkpoint was committed to it since, by another run of the same entry).
fn release(claim: &mut OutputClaim, state: Option<&StateStore>, entry: &str, claimed: bool) {
    claim.release();
    if let (Some(state), true) = (state, claimed) {
        let _ = state.update(|file| {
            if file
                .streams
                .get(entry)
                .is_some_and(|saved| saved.checkpoint.is_none())
            {
                file.streams.remove(entry);
            }
            Ok::<_, std::convert::Infallible>(())
        });
    }
}

/// Fsyncs the output and records the pending checkpoint with the matching position.
struct Committer {
    entry: String,
    state: Option<SharedState>,
    /// The output's resolved path, as the state file records it.
    output_path: String,
    window: RecordedWindow,
    output: Option<Output>,
    /// The output's manifest and hash chain (none for standard output).
    evidence: Option<Evidence>,
    pending: Option<Checkpoint>,
    last_commit: Instant,
}

impl Committer {
    /// The records in the output (0 before it is open).
    fn records(&self) -> u64 {
        self.output.as_ref().map_or(0, Output::records)
    }

    /// Writes a page's events to the output (open), each line seen by the evidence.
    fn write(&mut self, page: &EventPage) -> Result<(), OutputError> {
        let output = self.output.as_mut().expect("the output is open");
        for event in &page.events {
            output.write_event(event)?;
            if let Some(evidence) = &mut self.evidence {
                evidence.witness(output.last_line(), event);
            }
        }
        if let Some(evidence) = &mut self.evidence {
            evidence.page(page);
        }
        Ok(())
    }

    /// Commits, and seals the live segment of a rotated output when it is due (`end`: the
    /// run completed its window, which seals what the live segment holds). The order that
    /// makes a seal survive a kill at any point is in [`crate::rotate`]; the manifest's
    /// entry is appended between the output's fsync and the state file (see
    /// [`crate::evidence`]).
    fn commit(&mut self, end: bool) -> Result<(), CliError> {
        self.last_commit = Instant::now();
        let Some(output) = self.output.as_mut() else {
            return Ok(());
        };
        if let Err(error) = output.commit() {
            return Err(self.roll_back(error));
        }
        // A seal must be recorded: a run that read no page has no checkpoint to record it
        // with, and leaves the live segment to a later run.
        let recordable = self.state.is_none() || self.pending.is_some();
        if recordable && let Some(evidence) = &mut self.evidence {
            let segment = output.segment_position(false).map(|at| SegmentMark {
                number: at.sealed + 1,
                offset: output.bytes(),
            });
            evidence.commit(segment).map_err(|message| {
                CliError::failure(
                    message,
                    Some(
                        "check the disk and the --out directory; rerun the same command to \
                         continue"
                            .to_string(),
                    ),
                )
            })?;
        }
        let seal = recordable && output.seal_due(end);
        self.record(seal)?;
        if seal {
            let output = self.output.as_mut().expect("committed above");
            if let Err(error) = output.seal() {
                return Err(self.roll_back(error));
            }
            self.record(false)?;
        }
        Ok(())
    }

    /// Records the pending checkpoint with the output's committed position (`sealing`: a
    /// seal of the live segment follows).
    fn record(&self, sealing: bool) -> Result<(), CliError> {
        let (Some(output), Some(state), Some(checkpoint)) =
            (&self.output, &self.state, &self.pending)
        else {
            return Ok(());
        };
        let checkpoint = serde_json::from_str(&checkpoint.to_json()).expect("checkpoints are JSON");
        let stream_state = StreamState {
            checkpoint: Some(checkpoint),
            output: OutputPosition {
                path: self.output_path.clone(),
                format: output.format_name().into(),
                bytes: output.bytes(),
                records: output.records(),
                segments: output.segment_position(sealing),
                manifest: self.evidence.as_ref().map(Evidence::manifest_bytes),
            },
            window: Some(self.window.clone()),
        };
        state.commit(&self.entry, stream_state).map_err(state_error)
    }

    /// After a failed write: cuts the output back to its last commit (no partial line stays
    /// behind) and stops writing it; returns `error` for the user.
    fn roll_back(&mut self, error: OutputError) -> CliError {
        if let Some(output) = self.output.take()
            && let Err(undo) = output.roll_back()
        {
            tracing::warn!(%undo, "cannot cut the output back to its last commit");
        }
        output_error(error)
    }
}

/// The evidence of `plan`'s output (none for standard output); `resume` = the committed
/// records and the manifest length the state file recorded with them.
fn open_evidence(
    plan: &ExportPlan,
    opened_at: DateTime<Utc>,
    resume: Option<(u64, Option<u64>)>,
) -> Result<Option<Evidence>, CliError> {
    let Some(out) = &plan.out else {
        return Ok(None);
    };
    let resume = match resume {
        None => None,
        Some((records, Some(manifest_bytes))) => Some(EvidenceResume {
            manifest_bytes,
            records,
        }),
        Some((_, None)) => {
            tracing::warn!(
                "the export of {} to {} began before trail kept evidence: it gets no manifest                  (start a new export to another --out for one)",
                plan.key(),
                out.display()
            );
            return Ok(None);
        }
    };
    let settings = EvidenceSettings {
        stream: plan.stream,
        account: plan.source.tenant().to_string(),
        format: Output::format_label(plan.format),
        signer: plan.signer.clone(),
        settle_lag: plan.options.settle_lag,
        opened_at,
    };
    Evidence::open(settings, out, resume)
        .map(Some)
        .map_err(|message| {
            CliError::usage(
                message,
                Some(
                    "put the manifest back as the last run left it to continue the export; or \
                     start a new export to another --out"
                        .to_string(),
                ),
            )
        })
}

/// The checkpoint and output position to resume the entry `entry` from, after checking the
/// state matches this run's format; `None` when the entry holds no checkpoint yet.
fn resume_point(
    state_path: &Path,
    entry: &str,
    saved: &StreamState,
    format: Format,
) -> Result<Option<ResumePoint>, CliError> {
    let state_path = state_path.display();
    let format_name = Output::format_label(format);
    if saved.output.format != format_name {
        return Err(CliError::usage(
            format!(
                "the state file {state_path} records {} as written in {} format, but this run writes {format_name}",
                saved.output.path, saved.output.format
            ),
            Some(format!(
                "use --format {} to continue that export, or another --out for a copy in {format_name}",
                saved.output.format
            )),
        ));
    }
    let Some(checkpoint) = &saved.checkpoint else {
        return Ok(None);
    };
    let checkpoint = Checkpoint::from_json(&checkpoint.to_string()).map_err(|e| {
        CliError::usage(
            format!("the state file {state_path} holds an unusable checkpoint for {entry}: {e}"),
            Some("delete the state file and the output to export again from the start".to_string()),
        )
    })?;
    Ok(Some((
        checkpoint,
        (saved.output.bytes, saved.output.records),
        saved.output.segments.clone(),
        saved.output.manifest,
    )))
}

fn state_error(error: crate::state::StateError) -> CliError {
    CliError::failure(
        error.to_string(),
        Some("choose a --state path in an existing, writable directory".to_string()),
    )
}

fn output_error(error: OutputError) -> CliError {
    match error {
        OutputError::Shrunk { .. } => CliError::usage(error.to_string(), None),
        OutputError::Closed => CliError::reader_gone(),
        OutputError::Io { .. } => CliError::failure(
            error.to_string(),
            Some(
                "check the disk and the --out path; rerun the same command to continue".to_string(),
            ),
        ),
    }
}
