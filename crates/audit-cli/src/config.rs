//! `trail.toml`: several accounts and streams, exported together with `trail export --all`.
//!
//! ```toml
//! request_timeout = "60s"              # optional: as --request-timeout (and --max-retries,
//! status_file = "trail-status.json"    # --retry-budget, --connect-timeout, --status-file,
//! sign_key = "trail-signing.key"       # --sign-key)
//!
//! [zendesk.acme]                       # a Zendesk account, named "acme"
//! subdomain = "acme"
//! email = "ops@acme.com"
//! api_token_env = "ACME_ZENDESK_TOKEN" # the NAME of the variable holding the token
//! rate_share = "50%"                   # optional: the account's rate budget, shared by its
//! max_rate = "600/min"                 # streams (as --rate-share, --max-rate)
//!
//! [genesys.emea]                       # a Genesys Cloud organisation, named "emea"
//! region = "mypurecloud.ie"
//! client_id = "6a1b2c3d-…"
//! client_secret_env = "EMEA_GENESYS_SECRET"
//!
//! [[export]]
//! stream = "zendesk-audit-logs"
//! account = "acme"
//! out = "exports/acme-audit-logs.ndjson"
//!
//! [[export]]
//! stream = "genesys-audits"
//! account = "emea"
//! out = "exports/emea-audits.ocsf"
//! format = "ocsf"
//! since = "30d"
//! rotate_size = "100MB"                # sealed segments (see `crate::rotate`); optional
//! rotate_interval = "1h"
//! parallel = true                      # time slices at once, a backfill (see `--parallel`)
//! ```
//!
//! Secrets never live in the file: it names the environment variables that hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use audit_core::StreamKind;
use audit_core::slicing::why_not_sliced;

use crate::cli::StreamArg;
use crate::output::Format;
use crate::time_arg::TimeArg;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Retries of a failed request (`--max-retries`).
    pub max_retries: Option<u32>,
    /// The most one request waits between its retries, e.g. `"10m"` (`--retry-budget`).
    pub retry_budget: Option<String>,
    /// Time allowed for one request, e.g. `"60s"` (`--request-timeout`).
    pub request_timeout: Option<String>,
    /// Time allowed to open a connection, e.g. `"10s"` (`--connect-timeout`).
    pub connect_timeout: Option<String>,
    /// The JSON health report (`--status-file`).
    pub status_file: Option<PathBuf>,
    /// The Ed25519 private key that signs every output's manifest entries (`--sign-key`).
    pub sign_key: Option<PathBuf>,
    /// Zendesk accounts by name.
    #[serde(default)]
    pub zendesk: BTreeMap<String, ZendeskAccount>,
    /// Genesys Cloud organisations by name.
    #[serde(default)]
    pub genesys: BTreeMap<String, GenesysAccount>,
    /// The streams to export.
    #[serde(default, rename = "export")]
    pub exports: Vec<ExportEntry>,
}

/// A Zendesk account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskAccount {
    /// `acme` for acme.zendesk.com.
    pub subdomain: Option<String>,
    /// A base URL instead of the subdomain (a proxy, the simulator).
    pub base_url: Option<String>,
    /// The agent's email, for API-token authentication.
    pub email: Option<String>,
    /// The variable holding the API token.
    pub api_token_env: Option<String>,
    /// The variable holding an OAuth access token (instead of email + API token).
    pub oauth_token_env: Option<String>,
    /// The OAuth client's id (client credentials, or the refresh-token flow).
    pub client_id: Option<String>,
    /// The variable holding the OAuth client's secret.
    pub client_secret_env: Option<String>,
    /// The scopes to ask for, space-separated (default: the least the stream needs).
    pub oauth_scopes: Option<String>,
    /// The variable holding the first refresh token (refresh-token flow).
    pub refresh_token_env: Option<String>,
    /// The file that keeps the rotating refresh token (refresh-token flow).
    pub token_store: Option<String>,
    /// The most the account's streams spend together, `"700/min"` (`--max-rate`).
    pub max_rate: Option<String>,
    /// The share of the account's rate limit its streams spend together, `"50%"`
    /// (`--rate-share`).
    pub rate_share: Option<String>,
}

/// A Genesys Cloud organisation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesysAccount {
    /// A region (`mypurecloud.ie`, `eu-west-1`, `usw2.pure.cloud`…).
    pub region: Option<String>,
    /// An API base URL instead of the region.
    pub api_base_url: Option<String>,
    /// A login base URL instead of the region's.
    pub login_base_url: Option<String>,
    /// The OAuth client id.
    pub client_id: String,
    /// The variable holding the OAuth client secret.
    pub client_secret_env: String,
    /// The organisation's name in event ids (default: the organisation's id).
    pub tenant: Option<String>,
    /// The most the organisation's streams spend together, `"300/min"` (`--max-rate`).
    pub max_rate: Option<String>,
    /// The share of the OAuth client's rate limit its streams spend together, `"50%"`
    /// (`--rate-share`).
    pub rate_share: Option<String>,
}

/// One stream to export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    /// The stream (`zendesk-audit-logs`, `genesys-audits`, …).
    pub stream: String,
    /// The account, by its name in this file.
    pub account: String,
    /// The output file.
    pub out: PathBuf,
    /// `ndjson` (default) or `ocsf`.
    pub format: Option<String>,
    /// Start of the window (default: the command's `--since`).
    pub since: Option<String>,
    /// Seal the output into segments of this size (`100MB`; default: `--rotate-size`).
    pub rotate_size: Option<String>,
    /// Seal the live segment at this age (`1h`; default: `--rotate-interval`).
    pub rotate_interval: Option<String>,
    /// Read the window in time slices at once (default: `--parallel`).
    pub parallel: Option<bool>,
}

/// One export, checked and resolved against the accounts.
#[derive(Debug, Clone)]
pub struct PlannedExport {
    /// The stream.
    pub stream: StreamArg,
    /// The account's name.
    pub account: String,
    /// The output file.
    pub out: PathBuf,
    /// The format.
    pub format: Format,
    /// The window's start, when the entry sets one.
    pub since: Option<TimeArg>,
    /// The rotation size, when the entry sets one.
    pub rotate_size: Option<u64>,
    /// The rotation interval, when the entry sets one.
    pub rotate_interval: Option<std::time::Duration>,
    /// Whether the window is read in time slices, when the entry says.
    pub parallel: Option<bool>,
}

impl ConfigFile {
    /// A duration key (`retry_budget`, …): `None` when absent.
    pub fn duration(
        key: &str,
        value: &Option<String>,
    ) -> Result<Option<std::time::Duration>, String> {
        value
            .as_deref()
            .map(|text| {
                crate::time_arg::parse_interval(text)
                    .map_err(|e| format!("`{key}` in the config file: {e}"))
            })
            .transpose()
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the config file {}: {e}; --all exports the streams listed there \
                 (see the README for its format), or pass --config PATH",
                path.display()
            )
        })?;
        toml::from_str(&text)
            .map_err(|e| format!("{} is not a valid trail config: {e}", path.display()))
    }

    /// The exports, checked: known streams, existing accounts of the right vendor, valid
    /// formats and times (that no two exports write one file is checked with the paths
    /// resolved, in [`crate::claim`]).
    pub fn plan(&self) -> Result<Vec<PlannedExport>, String> {
        if self.exports.is_empty() {
            return Err("the config file lists no [[export]] entries".into());
        }
        let mut planned = Vec::new();
        for (index, entry) in self.exports.iter().enumerate() {
            let at = format!("[[export]] #{} ({})", index + 1, entry.stream);
            let stream =
                <StreamArg as clap::ValueEnum>::from_str(&entry.stream, false).map_err(|_| {
                    format!(
                        "{at}: unknown stream `{}`; expected zendesk-ticket-audits, \
                     zendesk-ticket-events, zendesk-audit-logs, genesys-audits or \
                     genesys-realtime",
                        entry.stream
                    )
                })?;
            let is_zendesk =
                audit_core::StreamKind::from(stream).vendor() == audit_core::Vendor::Zendesk;
            let (vendor, known) = if is_zendesk {
                ("zendesk", self.zendesk.contains_key(&entry.account))
            } else {
                ("genesys", self.genesys.contains_key(&entry.account))
            };
            if !known {
                return Err(format!(
                    "{at}: account `{}` is not defined; add a [{vendor}.{}] table",
                    entry.account, entry.account
                ));
            }
            let format = match entry.format.as_deref() {
                None | Some("ndjson") => Format::Ndjson,
                Some("ocsf") => Format::Ocsf,
                Some(other) => {
                    return Err(format!(
                        "{at}: unknown format `{other}`; use ndjson or ocsf"
                    ));
                }
            };
            let since = entry
                .since
                .as_deref()
                .map(|s| {
                    s.parse::<TimeArg>()
                        .map_err(|e| format!("{at}: since: {e}"))
                })
                .transpose()?;
            let rotate_size = entry
                .rotate_size
                .as_deref()
                .map(|s| {
                    crate::rotate::parse_size(s).map_err(|e| format!("{at}: rotate_size: {e}"))
                })
                .transpose()?;
            let rotate_interval = entry
                .rotate_interval
                .as_deref()
                .map(|s| {
                    crate::time_arg::parse_interval(s)
                        .map_err(|e| format!("{at}: rotate_interval: {e}"))
                })
                .transpose()?;
            if let (Some(true), Some(why)) = (entry.parallel, why_not_sliced(stream.into())) {
                return Err(format!(
                    "{at}: parallel: {} cannot be read in parallel ({why}); remove \
                     `parallel = true` from this export",
                    StreamKind::from(stream)
                ));
            }
            planned.push(PlannedExport {
                stream,
                account: entry.account.clone(),
                out: entry.out.clone(),
                format,
                since,
                rotate_size,
                rotate_interval,
                parallel: entry.parallel,
            });
        }
        Ok(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        [zendesk.acme]
        subdomain = "acme"
        email = "ops@acme.com"
        api_token_env = "ACME_ZENDESK_TOKEN"

        [genesys.emea]
        region = "mypurecloud.ie"
        client_id = "abc"
        client_secret_env = "EMEA_SECRET"

        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "acme.ndjson"

        [[export]]
        stream = "genesys-audits"
        account = "emea"
        out = "emea.ocsf"
        format = "ocsf"
        since = "30d"
        rotate_size = "100MB"
        rotate_interval = "1h"
    "#;

    #[test]
    fn the_documented_example_plans_two_exports() {
        let config: ConfigFile = toml::from_str(EXAMPLE).unwrap();
        let planned = config.plan().unwrap();
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[0].stream, StreamArg::ZendeskAuditLogs);
        assert_eq!(planned[1].format, Format::Ocsf);
        assert!(matches!(planned[1].since, Some(TimeArg::Ago(_))));
        assert_eq!(planned[0].rotate_size, None);
        assert_eq!(planned[1].rotate_size, Some(100_000_000));
        assert_eq!(
            planned[1].rotate_interval,
            Some(std::time::Duration::from_secs(3600))
        );
    }

    #[test]
    fn zendesk_ticket_events_is_a_zendesk_stream_of_the_config() {
        let text = EXAMPLE.replace("\"zendesk-audit-logs\"", "\"zendesk-ticket-events\"");
        let config: ConfigFile = toml::from_str(&text).unwrap();
        let planned = config.plan().unwrap();
        assert_eq!(planned[0].stream, StreamArg::ZendeskTicketEvents);
        // On a Genesys account's name it is looked up among the Zendesk accounts.
        let text = text.replacen("account = \"acme\"", "account = \"emea\"", 1);
        let error = toml::from_str::<ConfigFile>(&text)
            .unwrap()
            .plan()
            .unwrap_err();
        assert!(error.contains("add a [zendesk.emea] table"), "{error}");
    }

    #[test]
    fn mistakes_are_named_with_their_entry() {
        let cases = [
            (
                EXAMPLE.replace("\"zendesk-audit-logs\"", "\"zendesk-logs\""),
                "#1 (zendesk-logs): unknown stream",
            ),
            (
                EXAMPLE.replace("account = \"emea\"", "account = \"apac\""),
                "account `apac` is not defined; add a [genesys.apac] table",
            ),
            (
                EXAMPLE.replace("format = \"ocsf\"", "format = \"csv\""),
                "unknown format `csv`",
            ),
            (
                EXAMPLE.replace("since = \"30d\"", "since = \"last week\""),
                "#2 (genesys-audits): since:",
            ),
        ];
        for (text, expected) in cases {
            let config: ConfigFile = toml::from_str(&text).unwrap();
            let error = config.plan().unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn service_settings_are_top_level_keys_and_bad_durations_are_named() {
        let text =
            format!("max_retries = 9\nretry_budget = \"20m\"\nstatus_file = \"s.json\"\n{EXAMPLE}");
        let config: ConfigFile = toml::from_str(&text).unwrap();
        assert_eq!(config.max_retries, Some(9));
        assert_eq!(config.status_file, Some(PathBuf::from("s.json")));
        assert_eq!(
            ConfigFile::duration("retry_budget", &config.retry_budget).unwrap(),
            Some(std::time::Duration::from_secs(1200))
        );
        let error = ConfigFile::duration("request_timeout", &Some("soon".into())).unwrap_err();
        assert!(
            error.contains("`request_timeout` in the config file"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = EXAMPLE.replace("api_token_env", "api_token");
        let error = toml::from_str::<ConfigFile>(&text).unwrap_err().to_string();
        assert!(error.contains("api_token"), "{error}");
    }
}
