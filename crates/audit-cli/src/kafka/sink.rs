//! The transactional producer of one stream: its records and its checkpoint, committed together.

use std::time::Duration;

use audit_core::AuditEvent;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use super::KafkaTarget;
use super::checkpoint::{self, CheckpointRecord};
use super::error::KafkaSinkError;
use crate::output::Format;

/// How long a transaction may stay open before the broker aborts it: far more than a commit
/// interval, and the longest a zombie's records can hold back `read_committed` readers.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `init_transactions` and a commit may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The `transactional.id` of the export of the stream `key` (`<stream>@<tenant>`) to `topic`:
/// the same for every run and every worker that exports it, so each new one fences the last.
///
/// ```
/// use audit_cli::kafka::sink::transactional_id;
/// assert_eq!(
///     transactional_id("zendesk-audit-logs@acme", "audit"),
///     "trail:zendesk-audit-logs@acme:audit"
/// );
/// ```
pub fn transactional_id(key: &str, topic: &str) -> String {
    format!("trail:{key}:{topic}")
}

/// The partition of a topic with `partitions` partitions that holds the stream `key`: all of
/// a stream's records in one partition keep their order. FNV-1a, so it never changes between
/// builds (the standard library's hasher may).
pub fn partition_of(key: &str, partitions: usize) -> i32 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % partitions.max(1) as u64) as i32
}

/// One stream's transactional producer into a [`KafkaTarget`].
pub struct KafkaSink {
    producer: ThreadedProducer<DefaultProducerContext>,
    target: KafkaTarget,
    /// The stream's key, `<stream>@<tenant>`: the checkpoint record's key.
    key: String,
    partition: i32,
    headers: OwnedHeaders,
    format: Format,
    /// Whether a transaction is open (begun with the first record after a commit).
    open: bool,
    line: Vec<u8>,
}

/// Who writes: the stream's key (`<stream>@<tenant>`) and the values of its records' headers.
pub struct StreamLabels<'a> {
    /// `<stream>@<tenant>`.
    pub key: &'a str,
    /// `zendesk` or `genesys`.
    pub vendor: &'a str,
    /// The stream's name (`zendesk-audit-logs`).
    pub stream: &'a str,
    /// The vendor account.
    pub tenant: &'a str,
}

impl KafkaSink {
    /// Creates the topics when they do not exist, and the stream's producer, which fences
    /// every earlier producer of the stream (its open transaction is aborted). Blocks.
    pub fn open(
        target: &KafkaTarget,
        labels: StreamLabels<'_>,
        format: Format,
    ) -> Result<KafkaSink, KafkaSinkError> {
        let started = std::time::Instant::now();
        create_topics(target)?;
        tracing::debug!(after = ?started.elapsed(), "created the topics of {target}");
        let doing = format!(
            "starting the Kafka producer of {} into {target}",
            labels.key
        );
        let failed = |source| KafkaSinkError::kafka(&doing, source);
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &target.brokers)
            .set("client.id", "trail")
            .set(
                "transactional.id",
                transactional_id(labels.key, &target.topic),
            )
            .set(
                "transaction.timeout.ms",
                TRANSACTION_TIMEOUT.as_millis().to_string(),
            )
            .set("linger.ms", "5")
            .set("retry.backoff.ms", "20")
            .create()
            .map_err(failed)?;
        let metadata = producer
            .client()
            .fetch_metadata(Some(&target.topic), CALL_TIMEOUT)
            .map_err(failed)?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|topic| topic.name() == target.topic)
            .map_or(1, |topic| topic.partitions().len());
        tracing::debug!(after = ?started.elapsed(), "read the metadata of {target}");
        producer.init_transactions(CALL_TIMEOUT).map_err(failed)?;
        tracing::debug!(after = ?started.elapsed(), "fenced the earlier producers");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "vendor",
                value: Some(labels.vendor),
            })
            .insert(Header {
                key: "stream",
                value: Some(labels.stream),
            })
            .insert(Header {
                key: "tenant",
                value: Some(labels.tenant),
            });
        Ok(KafkaSink {
            producer,
            target: target.clone(),
            key: labels.key.to_string(),
            partition: partition_of(labels.key, partitions),
            headers,
            format,
            open: false,
            line: Vec::new(),
        })
    }

    /// The stream's last committed checkpoint record. Read after [`KafkaSink::open`] fenced
    /// the earlier producers, so no transaction of theirs can still commit after it. Blocks.
    pub fn last_committed(&self) -> Result<Option<CheckpointRecord>, KafkaSinkError> {
        checkpoint::last_committed(&self.target, &self.key)
    }

    /// Sends one event, in the open transaction (begun here when none is).
    pub fn write_event(&mut self, event: &AuditEvent) -> Result<(), KafkaSinkError> {
        self.begin()?;
        self.line.clear();
        self.format.encode(event, &mut self.line);
        let record = BaseRecord::to(&self.target.topic)
            .partition(self.partition)
            .key(event.id.as_bytes())
            .payload(&self.line)
            .headers(self.headers.clone());
        send(&self.producer, record).map_err(|source| {
            self.failed(&format!("writing {} to {}", event.id, self.target), source)
        })
    }

    /// `source` while `doing`, told apart by the producer's own fatal error (a fenced
    /// producer fails each later call as merely "fatal").
    fn failed(&self, doing: &str, source: KafkaError) -> KafkaSinkError {
        let fatal = self.producer.client().fatal_error().map(|(code, _)| code);
        KafkaSinkError::of_producer(doing, source, fatal)
    }

    /// Commits the records sent since the last commit together with `record`, the stream's
    /// checkpoint after them: both become visible to `read_committed` readers, or neither.
    /// Blocks until the broker confirms.
    pub fn commit(&mut self, record: &CheckpointRecord) -> Result<(), KafkaSinkError> {
        self.begin()?;
        let topic = self.target.checkpoint_topic();
        let doing = format!("committing {} to {}", self.key, self.target);
        let payload = serde_json::to_vec(record).expect("checkpoint records are JSON");
        let checkpoint = BaseRecord::to(&topic)
            .partition(0)
            .key(self.key.as_bytes())
            .payload(&payload);
        send(&self.producer, checkpoint).map_err(|source| self.failed(&doing, source))?;
        self.open = false;
        if let Err(source) = self.producer.commit_transaction(CALL_TIMEOUT) {
            self.abort_after(&source);
            return Err(self.failed(&doing, source));
        }
        Ok(())
    }

    /// Aborts the open transaction, if any: what was sent since the last commit is dropped.
    /// Blocks.
    pub fn abort(&mut self) -> Result<(), KafkaSinkError> {
        if !std::mem::take(&mut self.open) {
            return Ok(());
        }
        self.producer
            .abort_transaction(CALL_TIMEOUT)
            .map_err(|source| {
                KafkaSinkError::kafka(&format!("aborting the transaction of {}", self.key), source)
            })
    }

    fn begin(&mut self) -> Result<(), KafkaSinkError> {
        if !self.open {
            self.producer.begin_transaction().map_err(|source| {
                self.failed(
                    &format!("starting a transaction of {} on {}", self.key, self.target),
                    source,
                )
            })?;
            self.open = true;
        }
        Ok(())
    }

    /// After a failed commit: a transaction that may be aborted is (the records are sent
    /// again by the next run); a fatal error (fenced) leaves the producer unusable anyway.
    fn abort_after(&self, error: &KafkaError) {
        if let KafkaError::Transaction(error) = error
            && error.txn_requires_abort()
            && let Err(undo) = self.producer.abort_transaction(CALL_TIMEOUT)
        {
            tracing::warn!(%undo, "cannot abort the failed transaction of {}", self.key);
        }
    }
}

/// Enqueues `record`, waiting while librdkafka's queue is full (its background thread sends).
fn send(
    producer: &ThreadedProducer<DefaultProducerContext>,
    mut record: BaseRecord<'_, [u8], Vec<u8>>,
) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// Creates the records topic (one partition: a stream is in one partition anyway) and the
/// compacted checkpoint topic, unless they exist. A topic created beforehand with more
/// partitions is used as it is.
fn create_topics(target: &KafkaTarget) -> Result<(), KafkaSinkError> {
    let doing = format!("creating the topics of {target}");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &target.brokers)
        .set("client.id", "trail")
        .create()
        .map_err(|source| KafkaSinkError::kafka(&doing, source))?;
    let checkpoints = target.checkpoint_topic();
    let topics = [
        NewTopic::new(&target.topic, 1, TopicReplication::Fixed(-1)),
        NewTopic::new(&checkpoints, 1, TopicReplication::Fixed(-1))
            .set("cleanup.policy", "compact"),
    ];
    let options = AdminOptions::new().operation_timeout(Some(CALL_TIMEOUT));
    // The admin client's own thread answers the future: no runtime needed to wait for it.
    let results = futures::executor::block_on(admin.create_topics(&topics, &options))
        .map_err(|source| KafkaSinkError::kafka(&doing, source))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaSinkError::kafka(
                    &format!("creating the topic {topic}"),
                    KafkaError::AdminOp(code),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_keeps_its_partition() {
        // Pinned: a stream that moved partition between two runs would lose its order.
        // FNV-1a 64 of the key is 0xa7d434c8ca332523 (computed apart from this code).
        assert_eq!(partition_of("zendesk-audit-logs@acme", 12), 11);
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(partition_of("anything", 0), 0);
    }
}
