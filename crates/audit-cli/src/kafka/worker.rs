//! `trail worker`: workers that share the Kafka exports of one config file (issue 19).
//!
//! The work items are the config file's `[[export]]` entries, in the file's order. The work
//! topic `<group>.trail-work` has one partition per item, and the workers form one Kafka
//! consumer group subscribed to it: **the group's partition assignment is the ownership
//! lease.** No records are ever read from the work topic; the consumer only takes part in the
//! group.
//!
//! - Assigned partition `i`: the worker starts item `i`'s export ([`super::export_stream`]),
//!   whose producer's `transactional.id` belongs to the stream, so the previous owner (dead,
//!   paused or slow to let go) is fenced and its open transaction aborted before the new
//!   owner reads the checkpoint.
//! - Revoked: before the callback returns (and so before the broker hands the partition to
//!   another worker), the export is stopped after its current page and its open transaction
//!   committed.
//! - A worker that dies keeps its lease until the broker's session timeout runs out; one
//!   restarted with the same `--member` (`group.instance.id`, static membership) replaces it
//!   at once.
//!
//! Correctness never rests on the lease alone: two workers that both believe they own a stream
//! (a paused worker whose lease ran out) are told apart by the fencing of the transactional
//! producer, so only the newest one can commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, block_in_place};

use super::KafkaTarget;
use crate::errors::CliError;
use crate::export::{ExportPlan, ExportReport, ProgressSink};
use crate::health::Health;

/// How long creating or describing the work topic may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One work item: a stream of the config file and the topic it goes to.
pub struct WorkItem {
    /// The export (its plan is cloned for each start).
    pub plan: ExportPlan,
    /// Its Kafka output.
    pub target: KafkaTarget,
}

/// How a worker takes part in its group.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `bootstrap.servers`, shared by every item.
    pub brokers: String,
    /// The group's name: the consumer group and the work topic `<group>.trail-work`.
    pub group: String,
    /// `group.instance.id`, for a worker with a stable name.
    pub member: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// How often each export commits.
    pub commit_every: Duration,
}

impl WorkerSettings {
    /// The work topic: one partition per work item.
    ///
    /// ```
    /// # use audit_cli::kafka::worker::WorkerSettings;
    /// # use std::time::Duration;
    /// let settings = WorkerSettings {
    ///     brokers: "127.0.0.1:9092".into(),
    ///     group: "trail".into(),
    ///     member: None,
    ///     session_timeout: Duration::from_secs(10),
    ///     commit_every: Duration::from_secs(1),
    /// };
    /// assert_eq!(settings.work_topic(), "trail.trail-work");
    /// ```
    pub fn work_topic(&self) -> String {
        format!("{}.trail-work", self.group)
    }

    /// How the worker is named in its log lines.
    fn name(&self) -> String {
        match &self.member {
            Some(member) => format!("worker {member} of {}", self.group),
            None => format!("a worker of {}", self.group),
        }
    }
}

/// What the group told the worker (from the consumer's thread).
enum Change {
    /// These partitions are now this worker's.
    Assigned(Vec<i32>),
    /// These partitions are taken away: stop their exports, then answer on the sender.
    Revoked(Vec<i32>, std::sync::mpsc::Sender<()>),
    /// The group refused this worker for good (another worker took its `--member` name).
    Fatal(String),
}

/// An export this worker runs.
struct Running {
    key: String,
    stop: watch::Sender<bool>,
    /// `None` once it ended and was reaped.
    task: Option<JoinHandle<Result<ExportReport, CliError>>>,
}

/// Runs a worker until `stop`: joins the group, exports the items it is assigned, hands
/// them back when revoked. Returns the reports of the exports it ran last.
pub async fn run_worker(
    items: Vec<WorkItem>,
    settings: WorkerSettings,
    progress: Arc<dyn ProgressSink>,
    health: Arc<Health>,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let name = settings.name();
    block_in_place(|| ensure_work_topic(&settings, items.len()))?;
    let (changes_tx, mut changes) = mpsc::unbounded_channel();
    let membership = Membership::join(&settings, changes_tx)?;
    tracing::info!(
        "{name}: joined; {} streams to share (work topic {})",
        items.len(),
        settings.work_topic()
    );
    let mut running: BTreeMap<i32, Running> = BTreeMap::new();
    let mut ended = Ended::default();
    // Exports that end on their own (a closed window done, a failure) are reaped each tick,
    // so a failure is said when it happens; the worker keeps the lease.
    let mut reap = tokio::time::interval(Duration::from_millis(500));
    let outcome = loop {
        let change = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break Ok(()),
            change = changes.recv() => change,
            _ = reap.tick() => {
                for export in running.values_mut() {
                    if export.task.as_ref().is_some_and(JoinHandle::is_finished) {
                        ended.record(export).await;
                    }
                }
                continue;
            }
        };
        match change {
            Some(Change::Assigned(partitions)) => {
                for partition in partitions {
                    let Some(item) = usize::try_from(partition).ok().and_then(|i| items.get(i))
                    else {
                        tracing::warn!(
                            "{name}: assigned partition {partition} of the work topic, which \
                             has no stream in this config file"
                        );
                        continue;
                    };
                    if running.contains_key(&partition) {
                        continue;
                    }
                    running.insert(partition, start(item, &settings, &progress, &health));
                }
            }
            Some(Change::Revoked(partitions, done)) => {
                for partition in partitions {
                    if let Some(mut export) = running.remove(&partition) {
                        ended.record(&mut export).await;
                        health.forget(&export.key);
                    }
                }
                let _ = done.send(());
            }
            Some(Change::Fatal(message)) => break Err(message),
            None => break Err("the group membership ended".to_string()),
        }
        let owned: Vec<&str> = running.values().map(|export| export.key.as_str()).collect();
        tracing::info!("{name}: owns {} streams: {}", owned.len(), owned.join(", "));
    };
    // Stop every export (each commits), then leave: the streams are whole when the group
    // hands them on. The changes channel closes first, so the consumer's last revoke does not
    // wait for this loop.
    for (_, mut export) in std::mem::take(&mut running) {
        ended.record(&mut export).await;
    }
    drop(changes);
    block_in_place(|| membership.leave());
    if let Err(message) = outcome {
        return Err(CliError::failure(
            format!("{name} stopped: {message}"),
            Some(
                "each --member name belongs to one running worker; start this one with \
                 another name, or stop the other"
                    .to_string(),
            ),
        ));
    }
    ended.into_result()
}

/// How the exports this worker ran ended: the last report or failure of each stream.
#[derive(Default)]
struct Ended {
    reports: BTreeMap<String, ExportReport>,
    failures: BTreeMap<String, CliError>,
}

impl Ended {
    /// Stops `export` after its current page (it commits), waits for it to end, and keeps
    /// how it ended (nothing when it was reaped before).
    async fn record(&mut self, export: &mut Running) {
        let _ = export.stop.send(true);
        let Some(task) = export.task.take() else {
            return;
        };
        let key = export.key.clone();
        let error = match task.await {
            Ok(Ok(report)) => {
                self.failures.remove(&key);
                self.reports.insert(key, report);
                return;
            }
            Ok(Err(error)) => error,
            Err(panic) => CliError::failure(format!("the export failed: {panic}"), None),
        };
        tracing::error!("{key}: {error}");
        self.failures.insert(key, error);
    }

    /// The reports, or a failure naming every stream whose last export failed.
    fn into_result(self) -> Result<Vec<ExportReport>, CliError> {
        if self.failures.is_empty() {
            return Ok(self.reports.into_values().collect());
        }
        let message = self
            .failures
            .iter()
            .map(|(key, error)| format!("{key}: {error}"))
            .collect::<Vec<_>>()
            .join("\n");
        Err(CliError::failure(
            format!(
                "{} streams failed on this worker:\n{message}",
                self.failures.len()
            ),
            Some("start the worker again: each stream continues from its last commit".into()),
        ))
    }
}

/// Starts `item`'s export on a task of its own.
fn start(
    item: &WorkItem,
    settings: &WorkerSettings,
    progress: &Arc<dyn ProgressSink>,
    health: &Arc<Health>,
) -> Running {
    let plan = item.plan.clone();
    let key = plan.key();
    let target = item.target.clone();
    let (stop, stopped) = watch::channel(false);
    let (progress, health) = (progress.clone(), health.clone());
    let commit_every = settings.commit_every;
    let task = tokio::spawn(async move {
        super::export_stream(
            plan,
            target,
            progress.as_ref(),
            &health,
            stopped,
            commit_every,
        )
        .await
    });
    Running {
        key,
        stop,
        task: Some(task),
    }
}

/// Creates the work topic with one partition per item, or checks the one that exists.
fn ensure_work_topic(settings: &WorkerSettings, items: usize) -> Result<(), CliError> {
    let topic = settings.work_topic();
    let failed = |doing: &str, error: KafkaError| {
        CliError::failure(
            format!("{doing} on {}: {error}", settings.brokers),
            Some("check that the brokers are reachable, then start the worker again".into()),
        )
    };
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set("client.id", "trail-worker")
        .create()
        .map_err(|e| failed("connecting", e))?;
    let partitions = i32::try_from(items).unwrap_or(i32::MAX);
    let new = NewTopic::new(&topic, partitions, TopicReplication::Fixed(-1));
    let options = AdminOptions::new().operation_timeout(Some(CALL_TIMEOUT));
    let created = futures::executor::block_on(admin.create_topics([&new], &options))
        .map_err(|e| failed(&format!("creating the work topic {topic}"), e))?;
    match created.into_iter().next() {
        Some(Ok(_)) | None => return Ok(()),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {}
        Some(Err((_, code))) => {
            return Err(failed(
                &format!("creating the work topic {topic}"),
                KafkaError::AdminOp(code),
            ));
        }
    }
    let metadata = admin
        .inner()
        .fetch_metadata(Some(&topic), CALL_TIMEOUT)
        .map_err(|e| failed(&format!("reading the work topic {topic}"), e))?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    if found != items {
        return Err(CliError::usage(
            format!(
                "the work topic {topic} has {found} partitions, one per stream of the config \
                 file its group was started with, but this config file lists {items} streams"
            ),
            Some(
                "every worker of a group reads the same config file; for another list of \
                 streams start a new group (--group), which resumes each stream from Kafka"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// The worker's consumer, polled on a thread of its own: librdkafka calls the rebalance
/// callbacks on the polling thread, and a revoke must block until the exports have stopped.
struct Membership {
    quit: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Membership {
    fn join(
        settings: &WorkerSettings,
        changes: mpsc::UnboundedSender<Change>,
    ) -> Result<Membership, CliError> {
        let session = settings.session_timeout.as_millis().max(1);
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &settings.brokers)
            .set("client.id", "trail-worker")
            .set("group.id", &settings.group)
            .set("session.timeout.ms", session.to_string())
            .set("heartbeat.interval.ms", (session / 4).max(100).to_string())
            // Eager round robin: the assignment spreads the streams evenly; every rebalance
            // stops and restarts the streams, each resuming from its committed checkpoint.
            .set("partition.assignment.strategy", "roundrobin")
            .set("enable.auto.commit", "false");
        if let Some(member) = &settings.member {
            config.set("group.instance.id", member);
        }
        let consumer: BaseConsumer<GroupContext> = config
            .create_with_context(GroupContext {
                changes: changes.clone(),
            })
            .map_err(|e| {
                CliError::usage(
                    format!("cannot join the group {}: {e}", settings.group),
                    None,
                )
            })?;
        consumer.subscribe(&[&settings.work_topic()]).map_err(|e| {
            CliError::failure(
                format!("cannot subscribe to {}: {e}", settings.work_topic()),
                None,
            )
        })?;
        let quit = Arc::new(AtomicBool::new(false));
        let quitting = quit.clone();
        let member = settings.member.clone();
        let thread = std::thread::Builder::new()
            .name("trail-worker-group".into())
            .spawn(move || {
                while !quitting.load(Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(100)) {
                        None | Some(Ok(_)) => {}
                        Some(Err(error)) if is_fatal(&error) => {
                            let message = match error.rdkafka_error_code() {
                                Some(RDKafkaErrorCode::FencedInstanceId) => format!(
                                    "another worker joined the group as --member {} and \
                                     replaced this one",
                                    member.as_deref().unwrap_or("?")
                                ),
                                _ => error.to_string(),
                            };
                            let _ = changes.send(Change::Fatal(message));
                            break;
                        }
                        Some(Err(error)) => tracing::warn!("the worker's group: {error}"),
                    }
                }
                // Dropping the consumer closes it: a last revoke, then it leaves the group
                // (a static member stays until its session times out, as Kafka intends).
                drop(consumer);
            })
            .expect("a thread for the group");
        Ok(Membership { quit, thread })
    }

    /// Leaves the group. Blocks.
    fn leave(self) {
        self.quit.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Whether the group refused the consumer for good.
fn is_fatal(error: &KafkaError) -> bool {
    matches!(error, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::Fatal | RDKafkaErrorCode::FencedInstanceId)
        )
}

/// Hands the group's rebalances to the worker's loop.
struct GroupContext {
    changes: mpsc::UnboundedSender<Change>,
}

fn partitions(list: &rdkafka::TopicPartitionList) -> Vec<i32> {
    list.elements()
        .iter()
        .map(|element| element.partition())
        .collect()
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let revoked = partitions(list);
            if revoked.is_empty() {
                return;
            }
            // Wait until the exports have committed and stopped: only then may the group
            // give the streams to another worker.
            let (done, stopped) = std::sync::mpsc::channel();
            if self.changes.send(Change::Revoked(revoked, done)).is_ok() {
                let _ = stopped.recv();
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let _ = self.changes.send(Change::Assigned(partitions(list)));
            }
            Rebalance::Error(error) => tracing::warn!("the worker's group: {error}"),
            Rebalance::Revoke(_) => {}
        }
    }
}
