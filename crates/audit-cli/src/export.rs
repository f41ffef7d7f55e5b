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
//! Pages are read one ahead of the writer (`read_ahead`): while a page is written, the next
//! one is requested, fetched and mapped by a task of its own (on the runtime's worker thread),
//! so the vendor's answer time and our own work overlap (the stream, for its part, has the
//! vendor's next page on its way). A page read ahead is not written, nor its checkpoint
//! recorded, until the loop takes it; a stop drops it, and a resumed run reads it again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_core::{
    AuditEvent, Checkpoint, EventPage, EventPages, StatsSnapshot, StreamKind, StreamOptions,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::claim::{OutputClaim, claim_outputs};
use crate::errors::CliError;
use crate::output::{Format, Output, OutputError};
use crate::resume::{check_realtime_reach, reconcile};
use crate::sources::StreamSource;
use crate::state::{OutputPosition, RecordedWindow, State, StateStore, StreamState, entry_key};

/// One stream to export.
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
}

impl ExportPlan {
    /// The stream's name in messages and the summary: `<stream>@<tenant>`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.stream, self.source.tenant())
    }

    fn output_name(&self) -> String {
        self.out
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "-".into())
    }
}

/// Where a stream resumes: the checkpoint, and the output's (bytes, records) it matches.
type ResumePoint = (Checkpoint, (u64, u64));

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
    let outputs: Vec<_> = plans.iter().map(|plan| plan.out.as_deref()).collect();
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
    let mut resume = None;
    let mut window = plan.requested.clone();
    if let (Some(saved), Some((_, state_path))) = (saved, state)
        && let Some((mut checkpoint, at)) = resume_point(state_path, &entry, saved, plan.format)?
    {
        window = reconcile(
            &mut checkpoint,
            saved.window.as_ref(),
            &plan.requested,
            (plan.options.window.since, plan.options.window.until),
            &format!("the export of {} to {}", plan.key(), plan.output_name()),
        )?;
        resume = Some((checkpoint, at));
    }
    check_realtime_reach(
        plan.stream,
        plan.options.window.since,
        resume.as_ref().map(|(checkpoint, _)| checkpoint),
        now,
    )?;
    Ok(Decision {
        resume,
        window,
        new_entry: state.is_some() && saved.is_none(),
    })
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
}

/// Progress of the streams of a run, for a progress bar or log lines.
pub trait ProgressSink: Send + Sync {
    /// `records` written so far; `position` is the time of the latest record.
    fn update(&self, key: &str, records: u64, position: Option<DateTime<Utc>>);
    /// The stream is done (or failed).
    fn finish(&self, key: &str);
}

/// Exports one stream, prepared by [`prepare`] with the same `state`. `stop` turns true on
/// Ctrl-C: the engine commits and returns [`CliError::interrupted`].
pub async fn run_export(
    prepared: PreparedExport,
    state: Option<SharedState>,
    progress: &dyn ProgressSink,
    mut stop: watch::Receiver<bool>,
    commit_every: Duration,
) -> Result<ExportReport, CliError> {
    let started = Instant::now();
    let PreparedExport {
        plan,
        entry,
        mut claim,
        resume,
        window,
        claimed_entry,
    } = prepared;
    let key = plan.key();
    let output_name = plan.output_name();
    let mut options = plan.options.clone();
    let mut position = None;
    if let Some((checkpoint, at)) = resume {
        options = options.with_resume(checkpoint);
        position = Some(at);
    }
    let doing = format!("exporting {key}");
    let pages = plan
        .source
        .event_pages(plan.stream, options)
        .map_err(|e| CliError::from_core(&doing, plan.stream.vendor(), &e));
    let mut pages = match pages {
        Ok(pages) => read_ahead(pages),
        Err(error) => {
            release(&mut claim, state.as_deref(), &entry, claimed_entry);
            return Err(error);
        }
    };

    let mut committer = Committer {
        entry: entry.clone(),
        state,
        output_path: claim.resolved.clone(),
        window,
        output: None,
        pending: None,
        last_commit: Instant::now(),
    };
    let open = |claim: &mut OutputClaim| -> Result<Output, CliError> {
        match (claim.take_file(), claim.given.as_deref()) {
            (Some(file), Some(path)) => Output::from_file(file, path, plan.format, position),
            _ => Output::open(None, plan.format, position),
        }
        .map_err(output_error)
    };
    let first_records = position.map_or(0, |(_, records)| records);
    let outcome: Result<(), CliError> = loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break Err(CliError::interrupted(committer.state.is_some())),
            next = pages.next() => next,
        };
        let page = match next {
            None => break Ok(()),
            Some(Err(error)) => {
                break Err(CliError::from_core(&doing, plan.stream.vendor(), &error));
            }
            Some(Ok(page)) => page,
        };
        if committer.output.is_none() {
            match open(&mut claim) {
                Ok(output) => committer.output = Some(output),
                Err(error) => break Err(error),
            }
        }
        let output = committer.output.as_mut().expect("opened above");
        if let Err(error) = page
            .events
            .iter()
            .try_for_each(|event| output.write_event(event))
        {
            break Err(committer.roll_back(error));
        }
        let latest = page.events.last().map(|event| event.occurred_at);
        pages.recycle(page.events);
        progress.update(&key, output.records() - first_records, latest);
        committer.pending = Some(page.checkpoint);
        let due = page.caught_up || committer.last_commit.elapsed() >= commit_every;
        if due && let Err(error) = committer.commit() {
            break Err(error);
        }
    };
    // Whatever happened, make what was written durable and recorded.
    if committer.output.is_none() {
        match &outcome {
            // An empty window still produces its (empty) output file.
            Ok(()) => committer.output = Some(open(&mut claim)?),
            // Nothing was written: leave the output and the state as they were.
            Err(_) => release(
                &mut claim,
                committer.state.as_deref(),
                &entry,
                claimed_entry,
            ),
        }
    }
    let committed = committer.commit();
    progress.finish(&key);
    outcome?;
    committed?;
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
    })
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

/// The pages of a stream, read one page ahead of the consumer by a task of their own.
struct ReadAhead {
    pages: mpsc::Receiver<Result<EventPage, audit_core::Error>>,
    written: mpsc::UnboundedSender<Vec<AuditEvent>>,
    reader: JoinHandle<()>,
}

/// Starts reading `pages` ahead: at most one page waits for the consumer, and the next is
/// asked for only once there is room for it (the stream itself already has the vendor's
/// next page on its way, so a page taken earlier would only wait, one more page in memory
/// while the writer is slow, in an fsync say). The stream ends after its first error, as the
/// paginator does.
fn read_ahead(mut pages: EventPages) -> ReadAhead {
    let (sender, receiver) = mpsc::channel(1);
    let (written, mut to_free) = mpsc::unbounded_channel::<Vec<AuditEvent>>();
    let reader = tokio::spawn(async move {
        while let Ok(room) = sender.reserve().await {
            // Free the events the writer is done with here, where they were allocated.
            while let Ok(events) = to_free.try_recv() {
                drop(events);
            }
            let Some(page) = pages.next().await else {
                break;
            };
            let failed = page.is_err();
            room.send(page);
            if failed {
                break;
            }
        }
    });
    ReadAhead {
        pages: receiver,
        written,
        reader,
    }
}

impl ReadAhead {
    /// Hands written events back to the reader to be freed on its thread. A page's events
    /// are thousands of small allocations made by the reader; freed by the writer's thread,
    /// each free takes the reader's malloc arena lock while the reader allocates the next
    /// page (glibc), and the two threads kept waking each other (a quarter of the reader's
    /// time was in the scheduler, profiling a Genesys export).
    fn recycle(&self, events: Vec<AuditEvent>) {
        // The reader is gone at the end of the stream: then the events are freed here.
        let _ = self.written.send(events);
    }

    async fn next(&mut self) -> Option<Result<EventPage, audit_core::Error>> {
        let page = self.pages.recv().await;
        if page.is_none() {
            // The reader is gone: at the end of the stream, or because it panicked, which
            // must not pass for the end of the export.
            if let Err(error) = (&mut self.reader).await
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        }
        page
    }
}

impl Drop for ReadAhead {
    /// A stopped or failed export stops reading: no request is left running behind it.
    fn drop(&mut self) {
        self.reader.abort();
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
    pending: Option<Checkpoint>,
    last_commit: Instant,
}

impl Committer {
    fn commit(&mut self) -> Result<(), CliError> {
        self.last_commit = Instant::now();
        let Some(output) = self.output.as_mut() else {
            return Ok(());
        };
        let (bytes, records) = match output.commit() {
            Ok(position) => position,
            Err(error) => return Err(self.roll_back(error)),
        };
        let (Some(state), Some(checkpoint)) = (&self.state, &self.pending) else {
            return Ok(());
        };
        let checkpoint = serde_json::from_str(&checkpoint.to_json()).expect("checkpoints are JSON");
        let stream_state = StreamState {
            checkpoint: Some(checkpoint),
            output: OutputPosition {
                path: self.output_path.clone(),
                format: output.format_name().into(),
                bytes,
                records,
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
        OutputError::Io { .. } => CliError::failure(
            error.to_string(),
            Some(
                "check the disk and the --out path; rerun the same command to continue".to_string(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_core::Window;
    use audit_core::zendesk::ZendeskClient;
    use serde_json::json;
    use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

    /// An endless audit-log listing: each page one record, the next cursor one more.
    async fn endless_audit_logs() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(|request: &Request| {
                let page: u64 = request
                    .url
                    .query_pairs()
                    .find(|(key, _)| key == "page[after]")
                    .map_or(0, |(_, cursor)| cursor.parse().unwrap());
                ResponseTemplate::new(200).set_body_json(json!({
                    "audit_logs": [{
                        "id": page + 1,
                        "created_at": "2024-03-18T10:00:00Z",
                        "action": "update",
                        "source_type": "rule",
                    }],
                    "meta": {"has_more": true, "after_cursor": (page + 1).to_string()},
                    "links": null,
                }))
            })
            .mount(&server)
            .await;
        server
    }

    /// Waits (up to 10 s) until `server` has `count` requests, then a while for more.
    async fn requests_settled_at(server: &MockServer, count: usize) -> usize {
        let received = || async { server.received_requests().await.unwrap().len() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while received().await < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        received().await
    }

    #[tokio::test]
    async fn the_reader_takes_a_page_only_when_there_is_room_for_it() {
        let server = endless_audit_logs().await;
        let client = ZendeskClient::builder()
            .base_url(server.uri())
            .tenant("acme")
            .api_token("admin@acme.example", "test-token")
            .build()
            .unwrap();
        let since = "2024-03-18T00:00:00Z".parse().unwrap();
        let pages = client.audit_log_events(Window::since(since)).pages();
        let mut ahead = read_ahead(pages);
        // Nobody writes: one page waits for the writer, and the stream has the next one's
        // request under way. Taking that one too would hold a third page in memory.
        assert_eq!(requests_settled_at(&server, 2).await, 2);
        let first = ahead.next().await.unwrap().unwrap();
        assert_eq!(first.events.len(), 1);
        assert_eq!(requests_settled_at(&server, 3).await, 3);
    }
}
