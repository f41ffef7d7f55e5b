//! The address of a Kafka output: `kafka://HOST:PORT[,HOST:PORT…]/TOPIC`.

use std::fmt;

/// Where a Kafka output goes: the bootstrap brokers and the topic.
///
/// ```
/// use audit_cli::kafka::KafkaTarget;
/// let target = KafkaTarget::parse("kafka://127.0.0.1:9092/audit").unwrap().unwrap();
/// assert_eq!(target.brokers, "127.0.0.1:9092");
/// assert_eq!(target.topic, "audit");
/// assert_eq!(target.checkpoint_topic(), "audit.trail-checkpoints");
/// assert!(KafkaTarget::parse("audit.ndjson").unwrap().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTarget {
    /// `bootstrap.servers`: `HOST:PORT`, comma-separated.
    pub brokers: String,
    /// The topic the records go to.
    pub topic: String,
}

/// The scheme of a Kafka `--out`.
pub const SCHEME: &str = "kafka://";

impl KafkaTarget {
    /// Reads an `--out` value: `Ok(None)` when it is not a `kafka://` address (a file, or `-`),
    /// an error saying what is wrong with a malformed one.
    pub fn parse(out: &str) -> Result<Option<KafkaTarget>, String> {
        let Some(rest) = out.strip_prefix(SCHEME) else {
            return Ok(None);
        };
        let malformed = |why: &str| format!("--out {out} is not a Kafka output: {why}");
        let (brokers, topic) = rest
            .split_once('/')
            .ok_or_else(|| malformed("it names no topic (kafka://HOST:PORT/TOPIC)"))?;
        if brokers.is_empty()
            || brokers.split(',').any(|broker| {
                broker
                    .rsplit_once(':')
                    .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
            })
        {
            return Err(malformed(
                "each broker is HOST:PORT, several separated by commas",
            ));
        }
        // Kafka's own rule for topic names.
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if topic.is_empty() || topic.len() > 200 || !topic.chars().all(legal) {
            return Err(malformed(
                "a topic is 1 to 200 of the characters a-z, A-Z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(Some(KafkaTarget {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
        }))
    }

    /// The compacted topic that holds the checkpoints of the streams written to [`Self::topic`].
    pub fn checkpoint_topic(&self) -> String {
        format!("{}.trail-checkpoints", self.topic)
    }
}

impl fmt::Display for KafkaTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.brokers, self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_brokers_and_a_topic() {
        let target = KafkaTarget::parse("kafka://a:9092,b:9093/audit.zendesk_1")
            .unwrap()
            .unwrap();
        assert_eq!(target.brokers, "a:9092,b:9093");
        assert_eq!(target.topic, "audit.zendesk_1");
        assert_eq!(target.to_string(), "kafka://a:9092,b:9093/audit.zendesk_1");
    }

    #[test]
    fn malformed_addresses_say_what_is_wrong() {
        for (out, why) in [
            ("kafka://a:9092", "names no topic"),
            ("kafka://a:9092/", "a topic is"),
            ("kafka://a:9092/a b", "a topic is"),
            ("kafka://a/audit", "HOST:PORT"),
            ("kafka://a:port/audit", "HOST:PORT"),
            ("kafka:///audit", "HOST:PORT"),
        ] {
            let error = KafkaTarget::parse(out).unwrap_err();
            assert!(error.contains(why), "{out}: {error}");
        }
    }
}
