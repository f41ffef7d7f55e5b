//! The Kafka output: `--out kafka://HOST:PORT/TOPIC` (issue 19).
//!
//! Each commit of an export is **one Kafka transaction** holding the records written since the
//! last commit and the stream's checkpoint after them, a record of the compacted checkpoint
//! topic `<TOPIC>.trail-checkpoints` keyed `<stream>@<tenant>`. Consumers reading the topic
//! `read_committed` see a page's records exactly when its checkpoint is committed, so a run
//! killed at any point leaves nothing half-written behind, and the next run resumes from the
//! last committed checkpoint, read back from Kafka (no state file).
//!
//! The producer's `transactional.id` is derived from the stream, the tenant and the topic
//! ([`sink::transactional_id`]): a second `trail` exporting the same stream to the same topic
//! (a restarted one, or another worker) fences the first, whose next commit fails, and whose
//! open transaction the broker aborts. That is why the new owner reads the checkpoint only after
//! `init_transactions`: the zombie's last transaction is settled by then.
//!
//! Records are keyed by the event `id`, carry the headers `vendor`, `stream` and `tenant`, and
//! all records of one stream go to one partition of the topic (chosen from the stream's key),
//! so the topic holds each stream in the order it was read.
//!
//! - [`target`]: the `kafka://` address.
//! - [`sink`]: the transactional producer (records, checkpoint, commit, fencing).
//! - [`checkpoint`]: the checkpoint record, and reading the last committed one.
//! - [`export`]: the export loop over a Kafka sink.
//! - [`worker`]: `trail worker`, a fleet sharing the exports of a config file.

//!
//! The address is always understood; the rest needs the cargo feature `kafka` (on by default,
//! it builds librdkafka): without it a Kafka `--out` is refused with a usage error.

#[cfg(feature = "kafka")]
pub mod checkpoint;
#[cfg(feature = "kafka")]
pub mod error;
#[cfg(feature = "kafka")]
pub mod export;
#[cfg(feature = "kafka")]
pub mod sink;
pub mod target;
#[cfg(feature = "kafka")]
pub mod worker;

use std::time::Duration;

use tokio::sync::watch;

use crate::errors::CliError;
use crate::export::{ExportPlan, ExportReport, ProgressSink};
use crate::health::Health;
pub use target::KafkaTarget;

/// Exports `plan` into `target` ([`export::run_kafka_export`]).
#[cfg(feature = "kafka")]
pub async fn export_stream(
    plan: ExportPlan,
    target: KafkaTarget,
    progress: &dyn ProgressSink,
    health: &Health,
    stop: watch::Receiver<bool>,
    commit_every: Duration,
) -> Result<ExportReport, CliError> {
    export::run_kafka_export(plan, target, progress, health, stop, commit_every).await
}

#[cfg(feature = "kafka")]
pub use worker::{WorkItem, WorkerSettings, run_worker};

/// Refuses a Kafka output: this build has no Kafka client.
#[cfg(not(feature = "kafka"))]
pub async fn export_stream(
    _plan: ExportPlan,
    target: KafkaTarget,
    _progress: &dyn ProgressSink,
    _health: &Health,
    _stop: watch::Receiver<bool>,
    _commit_every: Duration,
) -> Result<ExportReport, CliError> {
    Err(CliError::usage(
        format!("--out {target}: this trail was built without Kafka support"),
        Some("build it with the cargo feature `kafka` (on by default), or write to a file".into()),
    ))
}

/// `trail worker` in a build without Kafka: the items it would share.
#[cfg(not(feature = "kafka"))]
pub struct WorkItem {
    /// The export.
    pub plan: ExportPlan,
    /// Its Kafka output.
    pub target: KafkaTarget,
}

/// `trail worker` in a build without Kafka: how it would take part in its group.
#[cfg(not(feature = "kafka"))]
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The group's name.
    pub group: String,
    /// `group.instance.id`.
    pub member: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// How often each export commits.
    pub commit_every: Duration,
}

/// Refuses `trail worker`: this build has no Kafka client.
#[cfg(not(feature = "kafka"))]
pub async fn run_worker(
    _items: Vec<WorkItem>,
    settings: WorkerSettings,
    _progress: std::sync::Arc<dyn ProgressSink>,
    _health: std::sync::Arc<Health>,
    _stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    Err(CliError::usage(
        format!(
            "trail worker (group {}): this trail was built without Kafka support",
            settings.group
        ),
        Some("build it with the cargo feature `kafka` (on by default)".into()),
    ))
}

/// The checks of a run's flags against a Kafka output: the state file, rotation and the
/// evidence manifest belong to files (a Kafka output keeps its checkpoint in Kafka, and its
/// transactions, not a hash chain beside a file, are what make it whole).
pub fn check_flags(
    target: &KafkaTarget,
    state: bool,
    rotation: bool,
    signed: bool,
) -> Result<(), CliError> {
    if state {
        return Err(CliError::usage(
            format!(
                "--state is for file outputs: --out {target} keeps its checkpoint in Kafka, in {}",
                target.checkpoint_topic()
            ),
            Some("drop --state; the same command continues the export".to_string()),
        ));
    }
    if rotation {
        return Err(CliError::usage(
            format!(
                "--rotate-size and --rotate-interval seal files, and --out {target} is a topic"
            ),
            Some("drop the rotation flags".to_string()),
        ));
    }
    if signed {
        return Err(CliError::usage(
            format!(
                "--sign-key signs the evidence manifest beside a file output, and --out {target} \
                 is a topic: a Kafka output has no manifest"
            ),
            Some("drop --sign-key (or sign_key in trail.toml), or write to a file".to_string()),
        ));
    }
    Ok(())
}
