//! What each command does, from parsed arguments to a report.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use audit_core::{StreamKind, StreamOptions, Vendor, Window};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::join_all;
use tokio::sync::watch;

use crate::cli::{CountArgs, ExportArgs, MakePrivateArgs, SchemaArgs};
use crate::config::ConfigFile;
use crate::errors::CliError;
use crate::export::{ExportPlan, ExportReport, ProgressSink, SharedState, prepare, run_export};
use crate::sources::{Env, GenesysSettings, StreamSource, ZendeskSettings};
use crate::state::{RecordedWindow, StateError, StateStore};
use crate::time_arg::TimeArg;

/// `trail export`: one stream, or with `--all` every stream of the config file.
pub async fn export(
    args: &ExportArgs,
    env: Env<'_>,
    progress: Arc<dyn ProgressSink>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let now = Utc::now();
    if args.all {
        return export_all(args, env, now, progress, stop).await;
    }
    let stream: StreamKind = args
        .stream
        .expect("clap requires a stream without --all")
        .into();
    let source = source_from_env(stream, args, env)?;
    let state = open_state(args.state.as_deref())?;
    let plan = ExportPlan {
        stream,
        source,
        options: stream_options(args, args.since, now)?,
        requested: requested_window(args, args.since),
        out: args.out.clone(),
        format: args.format,
    };
    let prepared = prepare(vec![plan], state.as_deref(), args.overwrite, now)?;
    let prepared = prepared.into_iter().next().expect("one plan, one export");
    let report = run_export(
        prepared,
        state,
        progress.as_ref(),
        stop,
        args.commit_interval,
    )
    .await?;
    Ok(vec![report])
}

/// Every `[[export]]` of the config file, concurrently. A failing stream does not stop the
/// others; the run fails if any stream failed.
async fn export_all(
    args: &ExportArgs,
    env: Env<'_>,
    now: DateTime<Utc>,
    progress: Arc<dyn ProgressSink>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let config = ConfigFile::load(&args.config).map_err(|e| CliError::usage(e, None))?;
    let planned = config.plan().map_err(|e| CliError::usage(e, None))?;
    let mut plans = Vec::new();
    for entry in planned {
        let stream: StreamKind = entry.stream.into();
        let source: Arc<dyn StreamSource> = match stream.vendor() {
            Vendor::Zendesk => {
                let account = &config.zendesk[&entry.account];
                Arc::new(
                    ZendeskSettings::from_account(&entry.account, account, env)?
                        .needing(zendesk_scope(stream))
                        .client()?,
                )
            }
            Vendor::Genesys => {
                let account = &config.genesys[&entry.account];
                Arc::new(GenesysSettings::from_account(&entry.account, account, env)?.client()?)
            }
        };
        let since = entry.since.unwrap_or(args.since);
        plans.push(ExportPlan {
            stream,
            source,
            options: stream_options(args, since, now)?,
            requested: requested_window(args, since),
            out: Some(entry.out),
            format: entry.format,
        });
    }
    let state = open_state(args.state.as_deref())?;
    let prepared = prepare(plans, state.as_deref(), args.overwrite, now)?;
    // The exports run here, concurrently, rather than as spawned tasks: their writers stay on
    // this thread and their read-aheads run on the runtime's worker, as for one stream.
    let exports = prepared.into_iter().map(|plan| {
        let key = plan.key();
        let (state, progress, stop) = (state.clone(), progress.clone(), stop.clone());
        let commit_every = args.commit_interval;
        async move {
            let export = run_export(plan, state, progress.as_ref(), stop, commit_every);
            // A panicking stream must not take the others down before they commit.
            let outcome = AssertUnwindSafe(export).catch_unwind().await;
            (key, outcome)
        }
    });
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (key, outcome) in join_all(exports).await {
        match outcome {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(error)) => failures.push((key, error)),
            Err(panic) => failures.push((
                key,
                CliError::failure(
                    format!("the export failed: {}", panic_message(&*panic)),
                    None,
                ),
            )),
        }
    }
    match failures.len() {
        0 => Ok(reports),
        _ if failures
            .iter()
            .all(|(_, e)| e.code == crate::errors::EXIT_INTERRUPTED) =>
        {
            Err(failures.remove(0).1)
        }
        _ => {
            let message = failures
                .iter()
                .map(|(key, error)| format!("{key}: {error}"))
                .collect::<Vec<_>>()
                .join("\n");
            let mut error = CliError::failure(
                format!("{} of {} streams failed:\n{message}", failures.len(), failures.len() + reports.len()),
                Some("the other streams completed and are committed; fix the failing ones and run again".to_string()),
            );
            error.code = failures[0].1.code;
            Err(error)
        }
    }
}

/// The least OAuth scope a Zendesk stream needs.
fn zendesk_scope(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::ZendeskAuditLogs => "auditlogs:read",
        _ => "read",
    }
}

fn source_from_env(
    stream: StreamKind,
    args: &ExportArgs,
    env: Env<'_>,
) -> Result<Arc<dyn StreamSource>, CliError> {
    args.audit_log_filter.check(stream)?;
    match stream.vendor() {
        Vendor::Zendesk => Ok(args.audit_log_filter.source(
            ZendeskSettings::from_env(env, args.zendesk_base_url.clone())?
                .needing(zendesk_scope(stream))
                .client()?,
        )),
        Vendor::Genesys => Ok(Arc::new(
            GenesysSettings::from_env(
                env,
                args.genesys_base_url.clone(),
                args.genesys_login_url.clone(),
            )?
            .client()?,
        )),
    }
}

/// The window and mode as the user gave them, for the state file.
fn requested_window(args: &ExportArgs, since: TimeArg) -> RecordedWindow {
    RecordedWindow {
        since: since.to_string(),
        until: args.until.map(|until| until.to_string()),
        follow: args.follow,
    }
}

/// The window and follow settings of an export.
fn stream_options(
    args: &ExportArgs,
    since: TimeArg,
    now: DateTime<Utc>,
) -> Result<StreamOptions, CliError> {
    let since = since.resolve(now);
    let window = match args.until.map(|until| until.resolve(now)) {
        None if since >= now => {
            return Err(CliError::usage(
                format!("--since {} is in the future", since.to_rfc3339()),
                Some("give a time in the past, or a duration such as 7d".to_string()),
            ));
        }
        None => Window::since(since),
        Some(until) => Window::between(since, until).map_err(|_| {
            CliError::usage(
                format!(
                    "--since {} is not before --until {}",
                    since.to_rfc3339(),
                    until.to_rfc3339()
                ),
                Some("the window runs from --since to --until".to_string()),
            )
        })?,
    };
    let mut options = StreamOptions::new(window).with_settle_lag(args.settle_lag);
    if args.follow {
        options = options.with_follow(args.poll_interval);
    }
    Ok(options)
}

fn open_state(path: Option<&Path>) -> Result<Option<SharedState>, CliError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let store = StateStore::open(path).map_err(|e| {
        let hint = matches!(e, StateError::Io { .. })
            .then(|| "choose a --state path in an existing, writable directory".to_string());
        CliError::usage(e.to_string(), hint)
    })?;
    Ok(Some(Arc::new(store)))
}

/// `trail count`.
pub async fn count(args: &CountArgs, env: Env<'_>) -> Result<String, CliError> {
    let client = ZendeskSettings::from_env(env, args.zendesk_base_url.clone())?.client()?;
    let count = client
        .count_audits_for_ticket(args.ticket_id)
        .await
        .map_err(|e| {
            CliError::from_core(
                &format!("counting the audits of ticket {}", args.ticket_id),
                Vendor::Zendesk,
                &e,
            )
        })?;
    let value = count.value.unwrap_or_default();
    Ok(match count.refreshed_at {
        Some(at) => format!(
            "ticket {}: {value} audits (counted {})",
            args.ticket_id,
            at.to_rfc3339()
        ),
        None if value >= 100_000 => format!(
            "ticket {}: at least {value} audits (Zendesk caps the count at 100,000)",
            args.ticket_id
        ),
        None => format!("ticket {}: {value} audits", args.ticket_id),
    })
}

/// `trail make-private`.
pub async fn make_private(args: &MakePrivateArgs, env: Env<'_>) -> Result<String, CliError> {
    let client = ZendeskSettings::from_env(env, args.zendesk_base_url.clone())?
        .needing("write")
        .client()?;
    client
        .make_ticket_comment_private(args.ticket_id, args.audit_id)
        .await
        .map_err(|e| {
            CliError::from_core(
                &format!(
                    "making the comment of audit {} of ticket {} private",
                    args.audit_id, args.ticket_id
                ),
                Vendor::Zendesk,
                &e,
            )
        })?;
    Ok(format!(
        "the comment of audit {} on ticket {} is now private",
        args.audit_id, args.ticket_id
    ))
}

/// `trail schema`.
pub fn schema(args: &SchemaArgs) -> String {
    let schema = if args.ocsf {
        crate::ocsf::ocsf_schema()
    } else {
        serde_json::to_value(audit_core::audit_event_schema()).expect("the schema is JSON")
    };
    serde_json::to_string_pretty(&schema).expect("the schema serialises")
}

/// `trail regions`.
pub fn regions() -> String {
    let row = |name: &str, domain: &str, api: &str, login: &str, location: &str| {
        format!("{name:<16}  {domain:<23}  {api:<35}  {login:<37}  {location}\n")
    };
    let mut out = row(
        "region",
        "domain (app.<domain>)",
        "api",
        "login (OAuth)",
        "location",
    );
    for region in audit_core::genesys::Region::ALL {
        out.push_str(&row(
            region.name,
            region.domain,
            &region.api_base_url(),
            &region.login_base_url(),
            region.location,
        ));
    }
    out
}

/// The text a panic was raised with, when it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}
