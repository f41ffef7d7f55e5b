//! The checkpoint record of a stream written to Kafka, and reading back the last committed one.
//!
//! The checkpoint topic is compacted and has one partition: its records are keyed
//! `<stream>@<tenant>` ([`crate::export::ExportPlan::key`]) and the last one of a key is the
//! stream's position. Each is produced in the transaction of the records it follows, so it is
//! visible to a `read_committed` reader exactly when they are.

use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::KafkaTarget;
use super::error::KafkaSinkError;
use crate::state::RecordedWindow;

/// What a commit records for a stream: where it resumes, and what its output holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// The stream's [`audit_core::Checkpoint`], as its JSON.
    pub checkpoint: serde_json::Value,
    /// Records of the stream committed to the topic so far, earlier runs included.
    pub records: u64,
    /// The records' format (`ndjson`, `ocsf`): a resumed run must write the same.
    pub format: String,
    /// The window and mode as given, for [`crate::resume::reconcile`].
    pub window: RecordedWindow,
}

/// How long reading the checkpoint topic may take before the run gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The last committed checkpoint record of `key` in `target`'s checkpoint topic (`None`: the
/// stream never committed, or the topic does not exist yet). Reads `read_committed` from the
/// start of the topic to its last stable offset: a transaction still open (another stream's,
/// between its pages) is waited for, never read.
pub fn last_committed(
    target: &KafkaTarget,
    key: &str,
) -> Result<Option<CheckpointRecord>, KafkaSinkError> {
    let topic = target.checkpoint_topic();
    let doing = format!("reading the checkpoint of {key} from {topic}");
    let failed = |source| KafkaSinkError::kafka(&doing, source);
    let consumer: BaseConsumer<Reader> = ClientConfig::new()
        .set("bootstrap.servers", &target.brokers)
        .set("group.id", "trail-checkpoint-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        // The end of the topic is what the reader waits for: the broker need not hold an
        // empty fetch back (500 ms by default) before saying there is nothing more.
        .set("fetch.wait.max.ms", "10")
        .set("fetch.error.backoff.ms", "10")
        .set("client.id", "trail")
        .create_with_context(Reader)
        .map_err(failed)?;
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(&topic, 0, Offset::Beginning)
        .map_err(failed)?;
    consumer.assign(&partitions).map_err(failed)?;
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut last = None;
    while Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(_)) => return Ok(last),
            // The topic is created with the first commit.
            Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic,
            )) => return Ok(None),
            Err(error) => return Err(failed(error)),
        };
        if message.key() != Some(key.as_bytes()) {
            continue;
        }
        last = match message.payload() {
            // A tombstone: the stream's position was deleted.
            None => None,
            Some(payload) => Some(serde_json::from_slice(payload).map_err(|error| {
                KafkaSinkError::Invalid(format!(
                    "the checkpoint of {key} in {topic} is not a trail checkpoint: {error}"
                ))
            })?),
        };
    }
    Err(KafkaSinkError::Invalid(format!(
        "{topic} could not be read to its end within {} s (is a transaction of another \
         producer left open on it?)",
        READ_TIMEOUT.as_secs()
    )))
}

/// The checkpoint reader's context: the end of the topic, which it reads to, is no error
/// worth a log line (librdkafka reports it as one).
struct Reader;

impl ClientContext for Reader {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for Reader {}
