//! What can go wrong with a Kafka output, in the CLI's words.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::errors::CliError;

/// Why a Kafka output failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSinkError {
    /// The broker refused or did not answer.
    #[error("{doing}: {source}")]
    Kafka {
        /// What trail was doing.
        doing: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// Another producer with the same `transactional.id` took the stream over.
    #[error(
        "{doing}: another trail took over this export (a producer with the same \
         transactional.id started since): this one is fenced and stops; what it wrote after \
         its last commit was aborted"
    )]
    Fenced {
        /// What trail was doing.
        doing: String,
    },
    /// The topics hold something trail did not write, or cannot be read to their end.
    #[error("{0}")]
    Invalid(String),
}

impl KafkaSinkError {
    /// `source` while `doing`; a fencing error becomes [`KafkaSinkError::Fenced`].
    pub fn kafka(doing: &str, source: KafkaError) -> Self {
        Self::of_producer(doing, source, None)
    }

    /// As [`KafkaSinkError::kafka`], also when the error only says "fatal" and the producer's
    /// fatal error (`fatal`, from `Client::fatal_error`) is the fencing: a fenced producer
    /// fails every later call that way.
    pub fn of_producer(doing: &str, source: KafkaError, fatal: Option<RDKafkaErrorCode>) -> Self {
        let is_fencing = |code| {
            matches!(
                code,
                Some(
                    RDKafkaErrorCode::Fenced
                        | RDKafkaErrorCode::ProducerFenced
                        | RDKafkaErrorCode::InvalidProducerEpoch
                )
            )
        };
        match is_fencing(source.rdkafka_error_code()) || is_fencing(fatal) {
            true => KafkaSinkError::Fenced {
                doing: doing.to_string(),
            },
            false => KafkaSinkError::Kafka {
                doing: doing.to_string(),
                source,
            },
        }
    }
}

impl From<KafkaSinkError> for CliError {
    fn from(error: KafkaSinkError) -> CliError {
        let hint = match &error {
            KafkaSinkError::Kafka { .. } => {
                "check that the brokers of --out are up and reachable; rerun the same command to \
                 continue from the last commit"
            }
            KafkaSinkError::Fenced { .. } => {
                "run one trail per stream and topic: the other one continues the export"
            }
            KafkaSinkError::Invalid(_) => {
                "give the export a topic of its own, or delete the stream's checkpoint record"
            }
        };
        CliError::failure(error.to_string(), Some(hint.to_string()))
    }
}
