//! Reading what trail wrote into a topic (the Kafka suites).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use trail_tests::kafka_broker::Broker;

/// One record of a topic.
#[derive(Debug)]
pub struct Record {
    pub key: String,
    pub value: serde_json::Value,
    pub headers: BTreeMap<String, String>,
}

/// Every record of partition 0 of `topic`, in order, read with `isolation` (`read_committed`
/// or `read_uncommitted`) up to the end.
pub fn read_topic(broker: &Broker, topic: &str, isolation: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "kafka-sink-test")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .set("enable.partition.eof", "true")
        // noida-db answers a fetch with the whole partition, whatever fetch.max.bytes says
        // (108 MB for 50,000 Genesys records): librdkafka's default cap is 100 MB.
        .set("receive.message.max.bytes", "1000000000")
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&partitions).unwrap();
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "{topic} never ended");
        match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(KafkaError::PartitionEOF(_))) => return records,
            Some(Err(error)) => panic!(
                "reading {topic} ({isolation}) after {} records: {error}",
                records.len()
            ),
            Some(Ok(message)) => records.push(Record {
                key: String::from_utf8(message.key().unwrap().to_vec()).unwrap(),
                value: serde_json::from_slice(message.payload().unwrap()).unwrap(),
                headers: message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| {
                                let value = String::from_utf8(h.value.unwrap().to_vec()).unwrap();
                                (h.key.to_string(), value)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        }
    }
}

/// The native ids of the committed records of `topic`, in topic order.
pub fn committed_ids(broker: &Broker, topic: &str) -> Vec<String> {
    read_topic(broker, topic, "read_committed")
        .iter()
        .map(|record| record.value["native_id"].as_str().unwrap().to_string())
        .collect()
}

/// `ids` are `truth`, in order (said briefly: the lists are long).
pub fn assert_exactly(ids: &[String], truth: &[String], what: &str) {
    let first_difference = ids
        .iter()
        .zip(truth)
        .position(|(id, expected)| id != expected);
    assert!(
        ids == truth,
        "{what}: {} committed records for {} in the ground truth, first difference at {:?}",
        ids.len(),
        truth.len(),
        first_difference
    );
}
