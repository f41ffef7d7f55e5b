//! The export loop into Kafka: [`crate::export::run_export`]'s loop, with a [`KafkaSink`] for
//! the output and the checkpoint topic for the state file.
//!
//! A page is sent record by record into the open transaction and its checkpoint becomes the
//! pending one; a commit (every `commit_every`, at the end of each pass, on a vendor error, on
//! Ctrl-C and at the end) produces the pending checkpoint in the same transaction and commits
//! it. A Kafka error aborts the open transaction: the next run reads the pages again from the
//! last committed checkpoint. Nothing is claimed on disk; the fencing of
//! [`KafkaSink::open`] is what makes one export the only writer of its stream.

use std::time::{Duration, Instant};

use audit_core::Checkpoint;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::block_in_place;

use super::KafkaTarget;
use super::checkpoint::CheckpointRecord;
use super::error::KafkaSinkError;
use super::sink::{KafkaSink, StreamLabels};
use crate::errors::CliError;
use crate::export::{ExportPlan, ExportReport, ProgressSink, Span, unexported_from};
use crate::feed::{Fed, PageFeed};
use crate::health::{Health, StreamHealth};
use crate::output::Output;
use crate::resume::{check_realtime_reach, reconcile};
use crate::state::RecordedWindow;

/// Exports `plan`'s stream into `target`, resuming from the stream's last committed checkpoint
/// in Kafka. As [`crate::export::run_export`] otherwise: `stop` commits and ends the export
/// marked `stopped`, a follower waits out transient vendor failures.
pub async fn run_kafka_export(
    plan: ExportPlan,
    target: KafkaTarget,
    progress: &dyn ProgressSink,
    health: &Health,
    mut stop: watch::Receiver<bool>,
    commit_every: Duration,
) -> Result<ExportReport, CliError> {
    let started = Instant::now();
    let key = plan.key();
    let output_name = target.to_string();
    let tenant = plan.source.tenant();
    let stream_name = plan.stream.to_string();
    let labels = StreamLabels {
        key: &key,
        vendor: plan.stream.vendor().as_str(),
        stream: &stream_name,
        tenant: &tenant,
    };
    // The sink fences the stream's earlier producers before the checkpoint is read.
    let sink = block_in_place(|| KafkaSink::open(&target, labels, plan.format))?;
    tracing::debug!(after = ?started.elapsed(), "{key}: the producer of {target} is ready");
    let saved = block_in_place(|| sink.last_committed())?;
    tracing::debug!(after = ?started.elapsed(), "{key}: read the last checkpoint");
    let (resumed, window, first_records) = resume_point(&plan, &target, saved)?;
    check_realtime_reach(
        plan.stream,
        plan.options.window.since,
        resumed.as_ref(),
        Utc::now(),
    )?;

    let mut feed = PageFeed::open(&plan, &key, health, resumed.clone())?;
    let mut committer = Committer {
        sink,
        format: Output::format_label(plan.format),
        window,
        pending: None,
        written: first_records,
        last_commit: Instant::now(),
        sink_failed: false,
    };
    progress.begin(&key, Span::of(plan.stream, plan.options.window, Utc::now()));
    health.start(&key, &output_name, first_records);
    let mut stopped = false;
    let mut marked = 0;
    let outcome: Result<(), CliError> = loop {
        let fed = feed.next(&mut stop, || {
            committer.commit()?;
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
        if let Err(error) = page.events.iter().try_for_each(|event| {
            marked += u64::from(event.decode_issue.is_some());
            committer.sink.write_event(event)
        }) {
            break Err(committer.abort(error));
        }
        committer.written += page.events.len() as u64;
        let latest = page.events.last().map(|event| event.occurred_at);
        feed.recycle(page.events);
        progress.update(&key, committer.written - first_records, latest);
        committer.pending = Some(page.checkpoint);
        if page.caught_up || committer.last_commit.elapsed() >= commit_every {
            if let Err(error) = committer.commit() {
                break Err(error);
            }
            health.committed(&key, committer.written);
        }
    };
    // A page is whole when its checkpoint is pending: what was written is committed, unless
    // Kafka itself failed (then the transaction was aborted, and nothing more is sent).
    let committed = match &outcome {
        Err(_) if committer.failed() => Ok(()),
        _ => committer.commit(),
    };
    progress.finish(&key);
    match (&outcome, &committed) {
        (Err(error), _) | (Ok(()), Err(error)) => {
            health.ended(&key, StreamHealth::Failed, Some(&error.message));
        }
        _ => {
            health.committed(&key, committer.written);
            let state = match stopped {
                true => StreamHealth::Stopped,
                false => StreamHealth::Done,
            };
            health.ended(&key, state, None);
        }
    }
    outcome?;
    committed?;
    Ok(ExportReport {
        key,
        stream: plan.stream,
        output: output_name,
        written: committer.written - first_records,
        total: committer.written,
        elapsed: started.elapsed(),
        stats: plan.source.stats(),
        marked,
        // Bytes that are not UTF-8 stay in the record's `decode_issue`; there is no
        // quarantine file beside a topic.
        quarantined: 0,
        quarantine: None,
        stopped,
        unexported_from: unexported_from(
            committer.pending.as_ref().or(resumed.as_ref()),
            plan.options.window,
            stopped,
        ),
    })
}

/// Where the export resumes: the saved checkpoint (with the window reconciled as for a file
/// output), the window to record, and the records already in the topic.
fn resume_point(
    plan: &ExportPlan,
    target: &KafkaTarget,
    saved: Option<CheckpointRecord>,
) -> Result<(Option<Checkpoint>, RecordedWindow, u64), CliError> {
    let Some(saved) = saved else {
        return Ok((None, plan.requested.clone(), 0));
    };
    let key = plan.key();
    let format = Output::format_label(plan.format);
    if saved.format != format {
        return Err(CliError::usage(
            format!(
                "{target} holds the export of {key} in {} format, but this run writes {format}",
                saved.format
            ),
            Some(format!(
                "use --format {} to continue that export, or another topic for a copy in {format}",
                saved.format
            )),
        ));
    }
    let mut checkpoint = Checkpoint::from_json(&saved.checkpoint.to_string()).map_err(|e| {
        CliError::usage(
            format!(
                "{} holds an unusable checkpoint for {key}: {e}",
                target.checkpoint_topic()
            ),
            Some("export into another topic to start again from the start".to_string()),
        )
    })?;
    let window = reconcile(
        &mut checkpoint,
        Some(&saved.window),
        &plan.requested,
        (plan.options.window.since, plan.options.window.until),
        &format!("the export of {key} to {target}"),
    )?;
    Ok((Some(checkpoint), window, saved.records))
}

/// Commits the sink's open transaction with the pending checkpoint.
struct Committer {
    sink: KafkaSink,
    format: &'static str,
    window: RecordedWindow,
    /// The checkpoint after the last page sent (`None` before the first page).
    pending: Option<Checkpoint>,
    /// Records of the stream in the topic once the open transaction commits.
    written: u64,
    last_commit: Instant,
    /// Whether Kafka failed: nothing more is sent.
    sink_failed: bool,
}

impl Committer {
    /// Commits the records sent and the pending checkpoint in one transaction (nothing
    /// before the first page). On failure the transaction is aborted.
    fn commit(&mut self) -> Result<(), CliError> {
        self.last_commit = Instant::now();
        let Some(checkpoint) = &self.pending else {
            return Ok(());
        };
        let record = CheckpointRecord {
            checkpoint: serde_json::from_str(&checkpoint.to_json()).expect("checkpoints are JSON"),
            records: self.written,
            format: self.format.to_string(),
            window: self.window.clone(),
        };
        block_in_place(|| self.sink.commit(&record)).map_err(|error| self.abort(error))
    }

    /// After a Kafka error: aborts the open transaction (best effort: a fenced producer
    /// cannot, and its broker aborts it) and stops committing.
    fn abort(&mut self, error: KafkaSinkError) -> CliError {
        self.pending = None;
        if !matches!(error, KafkaSinkError::Fenced { .. })
            && let Err(undo) = block_in_place(|| self.sink.abort())
        {
            tracing::warn!(%undo, "cannot abort the transaction");
        }
        self.sink_failed = true;
        error.into()
    }

    fn failed(&self) -> bool {
        self.sink_failed
    }
}
