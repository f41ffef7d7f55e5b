//! `trail demo`: the whole pipeline against the built-in simulator, on loopback, with no
//! credentials of the user's and nothing beyond 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use audit_core::genesys::GenesysClient;
use audit_core::zendesk::{ZendeskAuth, ZendeskClient};
use audit_core::{StreamKind, StreamOptions, Window};
use audit_sim::Stream;
use audit_sim::config::{RateLimitConfig, SimConfig, TenantConfig, TimeSpec};
use audit_sim::{SimHandle, TenantCredentials};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::cli::DemoArgs;
use crate::errors::CliError;
use crate::export::{ExportPlan, ExportReport, ProgressSink, prepare, run_export};
use crate::output::Format;
use crate::sources::StreamSource;
use crate::state::{RecordedWindow, StateStore};

/// The tenant the demo's simulated accounts are named after.
const TENANT: &str = "acme";

/// The simulator's configuration for the demo: one account with `records` records per stream
/// over the last 30 days, the vendors' real rate limits scaled down so they are felt, and a
/// few transient faults for the client to absorb.
pub fn simulator_config(records: u64, seed: u64) -> SimConfig {
    let mut tenant = TenantConfig::named(TENANT, seed);
    tenant.start = TimeSpec::Now(chrono::Duration::days(-30));
    tenant.end = TimeSpec::Now(chrono::Duration::minutes(-5));
    tenant.zendesk.audit_logs = records;
    tenant.zendesk.ticket_audits = records;
    tenant.genesys.audits = records;
    let mut config = SimConfig::demo();
    config.tenants = vec![tenant];
    config.zendesk.rate_limit = RateLimitConfig {
        requests: 120,
        window_secs: 10,
    };
    config.genesys.rate_limit = RateLimitConfig {
        requests: 60,
        window_secs: 10,
    };
    config.genesys.query_queued_ms = 200;
    config.genesys.query_running_ms = 600;
    config.faults.seed = seed;
    config.faults.status_503 = 0.02;
    config.faults.status_502 = 0.01;
    config.faults.connection_reset = 0.01;
    // What the client absorbs: a query submission that met a 502 or a reset connection may
    // have started a query, and is not repeated (the export would end with that error).
    config.faults.spare_submissions = true;
    config.faults.duplicate_across_pages = 0.02;
    config.faults.retry_after_secs = 1;
    config
}

/// Runs the demo; returns the reports of every stream.
pub async fn run(
    args: &DemoArgs,
    progress: Arc<dyn ProgressSink>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    prepare_directory(&args.dir)?;
    let sim = audit_sim::start(simulator_config(args.records, args.seed))
        .await
        .map_err(|e| CliError::failure(format!("cannot start the simulator: {e}"), None))?;
    let credentials = sim
        .tenant_credentials(TENANT)
        .expect("the demo configures its tenant");
    let state = StateStore::open(&args.dir.join("state.json"))
        .map_err(|e| CliError::failure(e.to_string(), None))?;
    let state = Arc::new(state);

    let (data_start, _) = sim.span(TENANT).expect("the demo configures its tenant");
    let until = Utc::now();
    let mut plans = Vec::new();
    for (stream, source) in sources(&sim, &credentials)? {
        let window = Window::between(window_start(stream, data_start, until), until)
            .expect("the data starts in the past");
        plans.push(ExportPlan {
            stream,
            source,
            options: StreamOptions::new(window),
            requested: RecordedWindow {
                since: window.since.to_rfc3339(),
                until: Some(until.to_rfc3339()),
                follow: false,
                filter: None,
            },
            out: Some(args.dir.join(format!("{stream}.ndjson"))),
            format: Format::Ndjson,
            rotation: None,
            // The demo does not follow: the policy only serves outages of a follower.
            retry: audit_core::RetryPolicy::default(),
            signer: None,
        });
    }
    let mut tasks = Vec::new();
    for plan in prepare(plans, Some(&state), false, until)? {
        let (state, progress, stop) = (state.clone(), progress.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            run_export(
                plan,
                Some(state),
                progress.as_ref(),
                &crate::health::Health::none(),
                stop,
                Duration::from_secs(1),
            )
            .await
        }));
    }
    let mut reports = Vec::new();
    for task in tasks {
        let report = task
            .await
            .map_err(|e| CliError::failure(format!("a demo export failed: {e}"), None))??;
        if report.stopped {
            // Stopped by a signal: what it wrote is committed, not complete.
            reports.push(report);
            continue;
        }
        verify(
            &sim,
            &report,
            window_start(report.stream, data_start, until),
            until,
        )?;
        reports.push(report);
    }
    sim.shutdown().await;
    Ok(reports)
}

/// Where a stream's window starts: the first simulated record, or 13 days back for realtime
/// queries (they reach back 14 days).
fn window_start(
    stream: StreamKind,
    data_start: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DateTime<Utc> {
    match stream {
        StreamKind::GenesysRealtime => until - chrono::Duration::days(13),
        _ => data_start,
    }
}

/// Checks an output against the simulator's ground truth: the same ids, in the same order.
fn verify(
    sim: &SimHandle,
    report: &ExportReport,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(), CliError> {
    let truth_stream = match report.stream {
        StreamKind::ZendeskAuditLogs => Stream::ZendeskAuditLogs,
        StreamKind::ZendeskTicketAudits => Stream::ZendeskTicketAudits,
        StreamKind::ZendeskTicketEvents => Stream::ZendeskTicketEvents,
        StreamKind::GenesysAudits => Stream::GenesysAudits { service: None },
        StreamKind::GenesysRealtime => Stream::GenesysRealtime { service: None },
        other => {
            return Err(CliError::failure(
                format!("the simulator keeps no ground truth of {other}"),
                None,
            ));
        }
    };
    let expected = sim
        .ground_truth(TENANT, truth_stream, since, until)
        .map_err(|e| {
            CliError::failure(
                format!("cannot read the simulator's ground truth: {e}"),
                None,
            )
        })?;
    let text = std::fs::read_to_string(&report.output)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", report.output), None))?;
    let exported: Vec<String> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event["native_id"].as_str().map(str::to_string))
        .collect();
    if exported != expected {
        return Err(CliError::failure(
            format!(
                "{}: the output holds {} records but the simulator's ground truth has {} (or \
                 their order differs): this is a bug, please report it",
                report.key,
                exported.len(),
                expected.len()
            ),
            None,
        ));
    }
    Ok(())
}

/// A stream and the client that reads it.
type StreamSourcePair = (StreamKind, Arc<dyn StreamSource>);

/// One client per stream (so each has its own counters), all pointed at the simulator.
fn sources(
    sim: &SimHandle,
    credentials: &TenantCredentials,
) -> Result<Vec<StreamSourcePair>, CliError> {
    let zendesk = || -> Result<Arc<dyn StreamSource>, CliError> {
        let client = ZendeskClient::builder()
            .base_url(sim.zendesk_url())
            .tenant(TENANT)
            // OAuth client credentials, as a new setup uses (API tokens end on 2027-04-30).
            .auth(ZendeskAuth::client_credentials(
                credentials.zendesk_client_id.clone(),
                credentials.zendesk_client_secret.clone(),
                ["read", "auditlogs:read"],
            ))
            .build()
            .map_err(|e| {
                CliError::failure(format!("cannot set up the Zendesk client: {e}"), None)
            })?;
        Ok(Arc::new(client))
    };
    let genesys = || -> Result<Arc<dyn StreamSource>, CliError> {
        let client = GenesysClient::builder()
            .api_base_url(sim.genesys_api_url())
            .login_base_url(sim.genesys_login_url())
            .tenant(TENANT)
            .client_credentials(
                credentials.genesys_client_id.clone(),
                credentials.genesys_client_secret.clone(),
            )
            .build()
            .map_err(|e| {
                CliError::failure(format!("cannot set up the Genesys client: {e}"), None)
            })?;
        Ok(Arc::new(client))
    };
    Ok(vec![
        (StreamKind::ZendeskAuditLogs, zendesk()?),
        (StreamKind::ZendeskTicketAudits, zendesk()?),
        (StreamKind::GenesysAudits, genesys()?),
        (StreamKind::GenesysRealtime, genesys()?),
    ])
}

/// Creates the directory; a previous demo's files are removed (the simulated data is new each
/// run, so resuming an old demo would mix two data sets).
fn prepare_directory(dir: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::usage(
            format!("cannot use {} for the demo's files: {e}", dir.display()),
            Some("pass --dir with a writable directory".to_string()),
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut names: Vec<String> = StreamKind::ALL
        .iter()
        .map(|s| format!("{s}.ndjson"))
        .collect();
    names.push("state.json".into());
    for name in names {
        match std::fs::remove_file(dir.join(&name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
    }
    Ok(())
}
