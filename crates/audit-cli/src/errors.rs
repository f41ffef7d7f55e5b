//! What `trail` tells the user when something goes wrong: what was wrong, how to fix it, and
//! a non-zero exit code.

use std::fmt;

use audit_core::{Error as CoreError, TransportKind, Vendor};

/// Exit code of a run that failed; the same command continues it.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage mistake (bad flag, bad date, missing variable, bad config).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a complete run that quarantined records it could not decode.
pub const EXIT_QUARANTINED: u8 = 3;
/// Exit code of a run that ended because the reader of standard output closed it (`trail
/// export … | head`): not a failure, the reader has what it wanted.
pub const EXIT_READER_GONE: u8 = 0;
/// Exit code of a run quit by a second Ctrl-C or SIGTERM while stopping (128 + SIGINT); a
/// first one stops after committing, with exit code 0.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A failure, worded for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// How to fix it, when we know.
    pub hint: Option<String>,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// A mistake in how trail was called.
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        CliError {
            message: message.into(),
            hint: hint.into(),
            code: EXIT_USAGE,
        }
    }

    /// A failure while running.
    pub fn failure(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        CliError {
            message: message.into(),
            hint: hint.into(),
            code: EXIT_FAILURE,
        }
    }

    /// A required environment variable is missing.
    pub fn missing_variable(variable: &str, purpose: &str, hint: &str) -> Self {
        CliError::usage(
            format!("{variable} is not set: it is needed {purpose}"),
            Some(hint.to_string()),
        )
    }

    /// A failure of `vendor`'s API (or of reaching it) while `doing` something.
    pub fn from_core(doing: &str, vendor: Vendor, error: &CoreError) -> Self {
        let hint = match error {
            CoreError::Api { status: 401, .. } => Some(match vendor {
                Vendor::Zendesk => "set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET (OAuth \
                     client credentials), or ZENDESK_OAUTH_TOKEN, or ZENDESK_EMAIL with \
                     ZENDESK_API_TOKEN (with --all: the keys of the config file)"
                    .to_string(),
                Vendor::Genesys => "set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET of an OAuth \
                     client with the Client Credentials grant, in the region where it was created"
                    .to_string(),
                _ => "check the account's credentials".to_string(),
            }),
            CoreError::Api { status: 404, .. } => {
                Some("check the ids and the account (subdomain, region or base URL)".to_string())
            }
            CoreError::Transport {
                kind: TransportKind::Certificate,
                ..
            } => Some(
                "trail trusts the system's certificate authorities; if your organisation's proxy \
                 or gateway presents its own certificate, set SSL_CERT_FILE to its authority's \
                 certificate (PEM file); otherwise check the base URL and the machine's clock"
                    .to_string(),
            ),
            CoreError::Transport { .. } => Some(
                "check the network and the base URL; trail retried before giving up".to_string(),
            ),
            CoreError::RetriesExhausted { .. } => Some(
                "the vendor kept failing; run the same command again later (with --state it \
                 continues where it stopped), raise --max-retries or --retry-budget \
                 (`max_retries`, `retry_budget` in trail.toml) to retry longer, or use --follow, \
                 which waits out outages"
                    .to_string(),
            ),
            CoreError::RetryAfterTooLong { .. } | CoreError::RateLimitResetTooLong { .. } => Some(
                "the vendor is rate-limiting for longer than trail waits per request; run \
                     the same command again later (with --state it continues where it stopped), \
                     or use --follow, which waits it out"
                    .to_string(),
            ),
            CoreError::NotTheApi { .. } => Some(
                "set the vendor's API base URL (ZENDESK_BASE_URL, GENESYS_API_BASE_URL or the \
                 region), or sign in to the network if a portal intercepts the connection"
                    .to_string(),
            ),
            CoreError::BodyTooLarge { .. } => Some(
                "trail asked for smaller pages and the answer was still too large (or never \
                 ended); run the same command again later (with --state it continues where it \
                 stopped), and report it if it persists"
                    .to_string(),
            ),
            CoreError::QueryFailed { .. } => Some(
                "run the same command again (with --state it continues where it stopped); a \
                 query that keeps failing may need a shorter window (--since, --until)"
                    .to_string(),
            ),
            CoreError::NoProgress { .. } | CoreError::Inconsistent { .. } => Some(
                "nothing after the last complete page was written or checkpointed; run the same \
                 command again later (with --state it continues where it stopped)"
                    .to_string(),
            ),
            _ => None,
        };
        CliError::failure(format!("{doing}: {error}"), hint)
    }

    /// Standard output was closed by its reader: the run ends quietly, with
    /// [`EXIT_READER_GONE`], committing nothing more.
    pub fn reader_gone() -> Self {
        CliError {
            message: "the reader of standard output closed it".into(),
            hint: None,
            code: EXIT_READER_GONE,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}
