//! The command line: every command, option and environment variable `trail` accepts.

use std::path::PathBuf;

use audit_core::event::StreamKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;
use crate::time_arg::TimeArg;

const EXAMPLES: &str = "\
Examples:
  trail demo
      Run every stream against the built-in simulator and print a summary.
  ZENDESK_SUBDOMAIN=acme ZENDESK_CLIENT_ID=trail_export ZENDESK_CLIENT_SECRET=… \\
    trail export zendesk-audit-logs --since 30d --out audit.ndjson --state trail-state.json
      Export the last 30 days of Zendesk audit logs; run it again to continue where it stopped.
  GENESYS_REGION=mypurecloud.ie GENESYS_CLIENT_ID=… GENESYS_CLIENT_SECRET=… \\
    trail export genesys-audits --since 2024-01-01T00:00:00Z --format ocsf --out genesys.ocsf
      Export Genesys Cloud audits since January as OCSF events.
  trail export --all --config trail.toml --state trail-state.json --follow
      Export every stream of trail.toml concurrently and keep following new records.

Exit codes:
  0    done: the window is complete in the output; or stopped (Ctrl-C or SIGTERM): what
       was written is committed; run again to continue
  1    failed: run the same command again to continue where it stopped
  2    usage: a flag, path, config or state file was refused (nothing was written)
  3    done, but some records could not be decoded and were quarantined
  130  a second Ctrl-C or SIGTERM while stopping: quit at once (a rerun still continues
       exactly from the last commit)";

/// Export Zendesk and Genesys Cloud audit trails — every record, in order, exactly once.
#[derive(Debug, Parser)]
#[command(name = "trail", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output (-v: debug, -vv: trace). TRAIL_LOG sets the log filter itself, in
    /// tracing's syntax (TRAIL_LOG=audit_core=trace,warn).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors, no progress or summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run: its size does not matter
pub enum Command {
    /// Export an audit stream (or every stream of a config file) as NDJSON or OCSF.
    Export(ExportArgs),
    /// Count the audits of a Zendesk ticket (approximate above 100,000).
    Count(CountArgs),
    /// Make the comment of a Zendesk ticket audit private.
    MakePrivate(MakePrivateArgs),
    /// Print the JSON Schema of the records trail writes.
    Schema(SchemaArgs),
    /// List the Genesys Cloud regions and their API and login hosts.
    Regions,
    /// Run every stream against the built-in simulator, on loopback, and print a summary.
    Demo(DemoArgs),
    /// Obtain OAuth tokens interactively (authorization code with PKCE).
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Check exported files against their manifests: chain, counts, signatures, periods
    /// covered and the gaps between them.
    Verify(VerifyArgs),
    /// Make an Ed25519 key pair that signs manifests (--sign-key) and checks them
    /// (verify --public-key).
    Keygen(KeygenArgs),
    /// Share the Kafka exports of a config file with the other workers of a group: each
    /// stream exported by exactly one live worker.
    Worker(WorkerArgs),
}

/// `trail worker`: the export flags that make sense for a fleet, and the group's.
#[derive(Debug, Args)]
#[command(
    // A worker exports the config file's streams (as `export --all`), each into the Kafka
    // output its entry names.
    mut_arg("stream", |arg| arg.required_unless_present(clap::builder::Resettable::Reset).hide(true)),
    mut_arg("all", |arg| arg.hide(true)),
    after_help = "Every worker of a group reads the same trail.toml, whose [[export]] entries all \
write to Kafka (out = \"kafka://HOST:PORT/TOPIC\") on the same brokers. The entries are the \
group's work items: the topic GROUP.trail-work has one partition per entry, and the group's \
consumer-group assignment of those partitions decides which worker exports which stream. A \
worker starts a stream when it is assigned (resuming from the checkpoint in Kafka, fencing \
any earlier writer of the stream) and stops it, committing, before it lets it go. When a \
worker dies, its streams move to the others once the broker notices (--session-timeout); a \
worker restarted with the same --member takes its streams back at once. --status-file lists \
the streams a worker owns. SIGTERM and Ctrl-C stop every stream after its current page, \
commit and exit 0."
)]
pub struct WorkerArgs {
    /// The group's name: its consumer group, and its work topic GROUP.trail-work.
    #[arg(long, value_name = "NAME", default_value = "trail")]
    pub group: String,
    /// This worker's stable name in the group (Kafka's group.instance.id): a worker
    /// restarted with the same name takes its streams back without waiting for the broker to
    /// notice that the old one died.
    #[arg(long, value_name = "NAME")]
    pub member: Option<String>,
    /// How long the broker waits for a silent worker before it moves its streams (Kafka's
    /// session.timeout.ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::time_arg::parse_interval)]
    pub session_timeout: std::time::Duration,
    /// The window, the config file and the other export flags.
    #[command(flatten)]
    pub export: ExportArgs,
}

/// `trail verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each file output of `trail export` has a manifest beside it,
<out>.manifest.jsonl: one entry per commit with the window, the records and bytes, the first
and last record, the end of each pass and the head of a SHA-256 chain over the output's lines
(docs/evidence.md). verify recomputes the chain over the files (a rotated output: its sealed
segments in order, then the live one) and compares it with every entry; it names the first
line that was altered, removed, reordered, added or cut short after export, by file, line
and byte offset. It prints the periods each stream was exported for and every gap between
the outputs given, and warns about periods not exported that are about to age out of the
vendor.

Exit codes:
  0    verified: every output matches its manifest, no gap between them
  2    usage: an output, manifest or key cannot be read
  4    altered: an output or its manifest differs from what was exported
  5    signatures: a manifest entry is not signed, signed by another key, or its signature
       does not verify (--public-key)
  6    gap: everything matches, but periods between the outputs were never exported
The first that applies, in this order: 4, 5, 6."
)]
pub struct VerifyArgs {
    /// The outputs to check (as given to --out: a rotated output's segments are found beside
    /// it). Several outputs of one stream are checked for gaps between them.
    #[arg(value_name = "OUTPUT", required = true)]
    pub outputs: Vec<PathBuf>,
    /// The manifest, when it is not <OUTPUT>.manifest.jsonl (one output only).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check that every manifest entry is signed by this Ed25519 public key (PEM, as `trail
    /// keygen` writes it beside the private key).
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<PathBuf>,
}

/// `trail keygen`.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes the private key to PATH (PKCS#8 PEM, mode 0600) and the public key
to PATH.pub (PEM); never over existing files. The keys are never printed. Keep the private key
with the exporter (--sign-key, or sign_key in trail.toml) and give the public key to whoever
verifies (trail verify --public-key). OpenSSL reads both."
)]
pub struct KeygenArgs {
    /// Where the private key goes (the public key goes to PATH.pub).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

/// `trail auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Obtain the first Zendesk refresh token (for users who cannot use client credentials):
    /// prints the authorization URL, receives the redirect on 127.0.0.1 and writes
    /// ZENDESK_TOKEN_STORE.
    #[command(
        after_help = "Reads ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL), ZENDESK_CLIENT_ID, \
ZENDESK_CLIENT_SECRET, ZENDESK_TOKEN_STORE and ZENDESK_OAUTH_SCOPES (default: read)."
    )]
    Zendesk(AuthZendeskArgs),
}

/// `trail auth zendesk`.
#[derive(Debug, Args)]
pub struct AuthZendeskArgs {
    /// The loopback port of the redirect (0: any free port; the OAuth client must allow the
    /// redirect URL http://127.0.0.1:<port>/callback).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Zendesk API base URL instead of https://<subdomain>.zendesk.com.
    #[arg(long, env = "ZENDESK_BASE_URL", value_name = "URL")]
    pub zendesk_base_url: Option<String>,
}

/// The audit streams, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamArg {
    /// Zendesk ticket audits of tickets not archived (/ticket_audits), newest first. It
    /// leaves out archived tickets (Zendesk archives closed tickets after about 120 days) and
    /// is no change feed: zendesk-ticket-events is the complete path.
    ZendeskTicketAudits,
    /// Every Zendesk ticket update, archived tickets included (the incremental ticket-event
    /// export), oldest first: change capture with --follow. Same event ids as
    /// zendesk-ticket-audits; 10 requests a minute (ZENDESK_INCREMENTAL_RPM).
    ZendeskTicketEvents,
    /// Zendesk account audit logs (settings, users, rules, sign-ins), oldest first.
    ZendeskAuditLogs,
    /// Genesys Cloud audits through historical queries (any window, 30-day chunks).
    GenesysAudits,
    /// Genesys Cloud audits through realtime queries (last 14 days, some services).
    GenesysRealtime,
}

impl From<StreamArg> for StreamKind {
    fn from(stream: StreamArg) -> Self {
        match stream {
            StreamArg::ZendeskTicketAudits => StreamKind::ZendeskTicketAudits,
            StreamArg::ZendeskAuditLogs => StreamKind::ZendeskAuditLogs,
            StreamArg::GenesysAudits => StreamKind::GenesysAudits,
            StreamArg::GenesysRealtime => StreamKind::GenesysRealtime,
            StreamArg::ZendeskTicketEvents => StreamKind::ZendeskTicketEvents,
        }
    }
}

/// `trail export`.
#[derive(Debug, Args)]
#[command(after_help = "Credentials come from the environment:
  Zendesk: ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL), and one of:
           ZENDESK_CLIENT_ID + ZENDESK_CLIENT_SECRET (+ ZENDESK_OAUTH_SCOPES, space separated)
             OAuth client credentials, renewed automatically (recommended);
           the same + ZENDESK_TOKEN_STORE (+ ZENDESK_REFRESH_TOKEN): a rotating refresh
             token, kept in that file;
           ZENDESK_OAUTH_TOKEN: a static OAuth access token;
           ZENDESK_EMAIL + ZENDESK_API_TOKEN: an API token (switched off on 2027-04-30)
  Genesys: GENESYS_REGION (or GENESYS_API_BASE_URL + GENESYS_LOGIN_BASE_URL),
           GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET,
           GENESYS_TENANT (optional: the organisation's name in event ids and the state file;
             default: the organisation's id)
With --all they come from the config file (see README): each variable there is a key of
the account's table without the vendor prefix (`client_id`, `api_base_url`), and a secret
is named by the variable that holds it (`client_secret_env = \"EMEA_SECRET\"`).

Resuming (--state): one state file may be shared by several exports and processes; it keeps
one entry per stream and output. Run the same command again to continue. A later or absent
--until extends the window, --follow switches to following; an earlier --since or --until
than the export started with is refused. A file output must still hold what the last run
committed: a moved or truncated file, or a line appended by hand, is refused (--overwrite
starts again, or cuts the line). Standard output cannot be cut back: a resumed run writes the
records after the last commit again (at least once). When the reader of standard output
closes it (`| head -n 2`), trail stops quietly with exit code 0.

Rotation (--rotate-size, --rotate-interval; trail.toml keys rotate_size, rotate_interval):
--out audit.ndjson writes the live segment audit.ndjson.live and seals it, at a commit, into
audit.000001.ndjson, audit.000002.ndjson, …: whole lines, fsynced, renamed into place and
never touched again; a run that completes its window seals the last one. Point file
shippers at the sealed names (audit.*.ndjson), never at .live. Sealed segments may be moved
or deleted at any time; resuming needs only the state file and the live segment.

Evidence: a file output gets a manifest beside it, <out>.manifest.jsonl (one per output, also
with --all and with rotation): one JSON line per commit with the window, the records and bytes,
the first and last record, the end of each pass and the head of a SHA-256 chain over the
output's lines, fsynced before the state file moves and cut back with the output on resume.
--sign-key signs each entry; `trail verify OUTPUT` checks it all. Standard output gets no
manifest: what leaves through a pipe is the reader's to keep, and a resumed run writes again
what followed the last commit.

Following (--follow): a transient failure (the vendor down or overloaded, a refused
connection, a DNS failure, a server that does not answer) never ends a follower. Each
request is retried as --max-retries and --retry-budget allow; then the follower commits, says
what it waits for and since when, and tries again from its last page with growing, jittered
waits of at most 5 minutes, until the vendor answers. Only a permanent failure (credentials
refused, access denied, a base URL that is not the API) ends it, with exit code 1.

Services: SIGTERM and Ctrl-C stop after the current page, commit, and exit 0 (`stopped; run
again to continue`). --status-file PATH keeps a JSON health report (per stream: state
running/waiting/failed/done/stopped, last successful page, last error, records committed);
under systemd (NOTIFY_SOCKET) trail sends READY=1, STATUS= and WATCHDOG=1.

Exit codes:
  0    done: the window is complete in the output; or stopped (Ctrl-C or SIGTERM): what
       was written is committed; run the same command to continue
  1    failed: run the same command again to continue where it stopped
  2    usage: a flag, path, config or state file was refused (nothing was written)
  3    done, but some records did not decode as sent: they are written as received and
       marked with `decode_issue`; the original bytes of those that were not UTF-8 text
       are in <out>.quarantine.ndjson (trail.quarantine.ndjson for standard output)
  130  a second Ctrl-C or SIGTERM while stopping: quit at once (a rerun still continues
       exactly from the last commit)
With --all every stream runs on its own and a failing one is reported at once; the exit
code is 2 if any stream was refused, else 1 if any failed, else 3 if any quarantined
records, else 0.")]
pub struct ExportArgs {
    /// The stream to export.
    #[arg(value_enum, required_unless_present = "all", conflicts_with = "all")]
    pub stream: Option<StreamArg>,
    /// Export every stream listed in the config file, concurrently.
    #[arg(long)]
    pub all: bool,
    /// Config file listing accounts and streams, read with --all [default: trail.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Start of the window: RFC 3339 (2024-05-01T00:00:00Z), a date (2024-05-01, midnight UTC)
    /// or a duration back from now (7d, 12h; 0s is now).
    #[arg(long, value_name = "TIME", default_value = "7d")]
    pub since: TimeArg,
    /// End of the window (default: now, less a short settle lag).
    #[arg(long, value_name = "TIME")]
    pub until: Option<TimeArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// Output file; `-` or none: standard output (which a resumed run cannot cut back: with
    /// --state it gets at least once, the records after the last commit again). A file
    /// output gets its evidence beside it, PATH.manifest.jsonl (see "Evidence" below);
    /// standard output gets none. kafka://HOST:PORT/TOPIC: a Kafka topic, each commit one
    /// transaction with the checkpoint (no --state: the same command resumes from Kafka; see
    /// the README's Kafka section).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Sign every manifest entry with this Ed25519 private key (`trail keygen`; trail.toml:
    /// sign_key).
    #[arg(long, value_name = "PATH")]
    pub sign_key: Option<PathBuf>,
    /// Seal the output into numbered segments of about SIZE (100MB, 1GiB): --out audit.ndjson
    /// writes audit.ndjson.live and seals audit.000001.ndjson, … (see "Rotation" below).
    #[arg(long, value_name = "SIZE", value_parser = crate::rotate::parse_size)]
    pub rotate_size: Option<u64>,
    /// Seal the live segment once it is DURATION old (1h, 1d), at the next commit.
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_interval)]
    pub rotate_interval: Option<std::time::Duration>,
    /// State file: resume where the last run stopped, writing every record exactly once.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Replace an existing output file that no state entry records (by default such a file
    /// is refused, so that a new or mistyped --state cannot overwrite an export).
    #[arg(long)]
    pub overwrite: bool,
    /// Keep polling for new records after catching up.
    #[arg(long, conflicts_with = "until")]
    pub follow: bool,
    /// Read the window in time slices, several at once, up to the vendor's rate limit rather
    /// than one page at a time (a backfill). The output and its order are the same as without
    /// it, and either resumes the other's state. Slices read ahead wait in spool files, with
    /// --state beside it (STATE.spools), where a resumed run takes each up where it was. For
    /// zendesk-audit-logs and genesys-realtime; with --all, the others are read as usual.
    #[arg(long)]
    pub parallel: bool,
    /// How far behind now an open window ends, so records the vendor writes a little late
    /// (in the same second, or after a delay) are not skipped.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::time_arg::parse_interval)]
    pub settle_lag: std::time::Duration,
    /// How long --follow waits between polls once caught up.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::time_arg::parse_interval)]
    pub poll_interval: std::time::Duration,
    /// How often progress is made durable (output fsync + state file): lower means less to
    /// redo after a crash, higher means fewer fsyncs.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::time_arg::parse_interval)]
    pub commit_interval: std::time::Duration,
    /// Retries of a failed request (5xx, 429, timeouts, refused connections) before the
    /// export gives up on it [default: 5; trail.toml: max_retries]. A --follow export then
    /// keeps waiting for the vendor instead of ending.
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
    /// The most one request may spend waiting between its retries [default: 10m; trail.toml:
    /// retry_budget].
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_interval)]
    pub retry_budget: Option<std::time::Duration>,
    /// Time allowed for one request, the whole answer included [default: 60s; trail.toml:
    /// request_timeout].
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_interval)]
    pub request_timeout: Option<std::time::Duration>,
    /// Time allowed to open a connection [default: 10s; trail.toml: connect_timeout].
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_interval)]
    pub connect_timeout: Option<std::time::Duration>,
    /// Send at most RATE requests per account, evenly spaced: 700/min or 12/s (trail.toml:
    /// max_rate in the account's table). Every stream of the account shares it.
    #[arg(long, value_name = "RATE")]
    pub max_rate: Option<crate::rate::MaxRate>,
    /// Spend at most SHARE of the rate limit the vendor reports (X-Rate-Limit,
    /// inin-ratelimit-allowed), evenly over its window, whatever it says remains: the rest is
    /// left to the account's other integrations. 50% (or 0.5) of 700 a minute is 350 a minute
    /// (trail.toml: rate_share). Every stream of the account shares it; one request at a time
    /// until the first answer reports the limit. With --max-rate, the smaller budget wins.
    #[arg(long, value_name = "SHARE")]
    pub rate_share: Option<crate::rate::RateShare>,
    /// Keep a JSON health report in PATH, rewritten after each commit and each change of a
    /// stream's state (trail.toml: status_file).
    #[arg(long, value_name = "PATH")]
    pub status_file: Option<PathBuf>,
    /// Zendesk API base URL (a proxy, or the simulator) instead of https://<subdomain>.zendesk.com.
    #[arg(long, env = "ZENDESK_BASE_URL", value_name = "URL")]
    pub zendesk_base_url: Option<String>,
    /// Genesys Cloud API base URL instead of the region's.
    #[arg(long, env = "GENESYS_API_BASE_URL", value_name = "URL")]
    pub genesys_api_base_url: Option<String>,
    /// Genesys Cloud login (OAuth) base URL instead of the region's.
    #[arg(long, env = "GENESYS_LOGIN_BASE_URL", value_name = "URL")]
    pub genesys_login_base_url: Option<String>,
    /// The old spelling of --genesys-api-base-url, still accepted.
    #[arg(long = "genesys-base-url", value_name = "URL", hide = true)]
    pub old_genesys_base_url: Option<String>,
    /// The old spelling of --genesys-login-base-url, still accepted.
    #[arg(long = "genesys-login-url", value_name = "URL", hide = true)]
    pub old_genesys_login_url: Option<String>,
    /// Filters of zendesk-audit-logs (repeatable).
    #[command(flatten)]
    pub audit_log_filter: crate::sources::AuditLogFilterArgs,
}

impl ExportArgs {
    /// The rate budget of the flags (`--max-rate`, `--rate-share`).
    pub fn rate_budget(&self) -> crate::rate::RateBudget {
        crate::rate::RateBudget {
            max_rate: self.max_rate,
            share: self.rate_share,
        }
    }

    /// `--genesys-api-base-url`, or its old spelling `--genesys-base-url` (with a note).
    pub fn genesys_api_base_url(&self) -> Option<String> {
        self.genesys_api_base_url.clone().or_else(|| {
            let old = self.old_genesys_base_url.clone()?;
            renamed("--genesys-base-url", "--genesys-api-base-url");
            Some(old)
        })
    }

    /// `--genesys-login-base-url`, or its old spelling `--genesys-login-url` (with a note).
    pub fn genesys_login_base_url(&self) -> Option<String> {
        self.genesys_login_base_url.clone().or_else(|| {
            let old = self.old_genesys_login_url.clone()?;
            renamed("--genesys-login-url", "--genesys-login-base-url");
            Some(old)
        })
    }
}

/// Says that a flag was renamed (flag, variable and config key now share one name).
fn renamed(old: &str, new: &str) {
    eprintln!(
        "warning: {old} is now called {new} (one name with its environment variable and \
         config key); the old name still works but will be removed"
    );
}

const ZENDESK_CREDENTIALS: &str = "\
Credentials come from the environment: ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL), and one of
  ZENDESK_CLIENT_ID + ZENDESK_CLIENT_SECRET (+ ZENDESK_OAUTH_SCOPES): OAuth client credentials;
  the same + ZENDESK_TOKEN_STORE (+ ZENDESK_REFRESH_TOKEN): a rotating refresh token;
  ZENDESK_OAUTH_TOKEN: a static OAuth access token;
  ZENDESK_EMAIL + ZENDESK_API_TOKEN: an API token (switched off on 2027-04-30).";

/// `trail count`.
#[derive(Debug, Args)]
#[command(after_help = format!("{ZENDESK_CREDENTIALS}\nThe OAuth scope asked for by default: read."))]
pub struct CountArgs {
    /// The Zendesk ticket id.
    pub ticket_id: i64,
    /// Zendesk API base URL instead of https://<subdomain>.zendesk.com.
    #[arg(long, env = "ZENDESK_BASE_URL", value_name = "URL")]
    pub zendesk_base_url: Option<String>,
}

/// `trail make-private`.
#[derive(Debug, Args)]
#[command(after_help = format!("{ZENDESK_CREDENTIALS}\nThe OAuth scope asked for by default: write."))]
pub struct MakePrivateArgs {
    /// The Zendesk ticket id.
    pub ticket_id: i64,
    /// The audit whose comment becomes private.
    pub audit_id: i64,
    /// Zendesk API base URL instead of https://<subdomain>.zendesk.com.
    #[arg(long, env = "ZENDESK_BASE_URL", value_name = "URL")]
    pub zendesk_base_url: Option<String>,
}

/// `trail schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the OCSF events (--format ocsf) instead of the NDJSON AuditEvent.
    #[arg(long)]
    pub ocsf: bool,
}

/// `trail demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the exported files and the state file.
    #[arg(long, value_name = "DIR", default_value = "trail-demo")]
    pub dir: PathBuf,
    /// Records per stream in the simulated accounts.
    #[arg(long, default_value_t = 20_000)]
    pub records: u64,
    /// Seed of the simulated data and faults (same seed, same run).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}
