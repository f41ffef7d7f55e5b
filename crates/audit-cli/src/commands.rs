//! What each command does, from parsed arguments to a report.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use audit_core::genesys::GenesysClient;
use audit_core::slicing::{can_slice, why_not_sliced};
use audit_core::zendesk::ZendeskClient;
use audit_core::{Slicing, StreamKind, StreamOptions, Vendor, Window};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::join_all;
use tokio::sync::watch;

use crate::cli::{CountArgs, ExportArgs, MakePrivateArgs, SchemaArgs};
use crate::config::ConfigFile;
use crate::errors::CliError;
use crate::errors::{EXIT_FAILURE, EXIT_USAGE};
use crate::export::{ExportPlan, ExportReport, ProgressSink, SharedState, prepare, run_export};
use crate::health::{Health, watchdog_interval};
use crate::kafka::KafkaTarget;
use crate::rotate::RotationPolicy;
use crate::sources::{Connection, Env, GenesysSettings, StreamSource, ZendeskSettings};
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
        let path = args.config.as_deref().unwrap_or(Path::new("trail.toml"));
        let config = ConfigFile::load(path).map_err(|e| CliError::usage(e, None))?;
        let connection = connection(args, Some(&config))?;
        let health = health(args.status_file.clone().or(config.status_file.clone()), env)?;
        return export_all(args, &config, &connection, env, now, progress, health, stop).await;
    }
    if let Some(config) = &args.config {
        return Err(CliError::usage(
            format!(
                "--config {} is only read with --all; a single stream takes its account from \
                 the environment",
                config.display()
            ),
            Some("add --all to export the config file's streams, or drop --config".to_string()),
        ));
    }
    let connection = connection(args, None)?;
    let health = health(args.status_file.clone(), env)?;
    let stream: StreamKind = args
        .stream
        .expect("clap requires a stream without --all")
        .into();
    if let Some(target) = kafka_target(args.out.as_deref())? {
        return export_to_kafka(
            args,
            target,
            stream,
            &connection,
            env,
            now,
            progress,
            health,
            stop,
        )
        .await;
    }
    let state = open_state(args.state.as_deref())?;
    let source = source_from_env(stream, args, &connection, env, state.as_deref()).await?;
    let plan = ExportPlan {
        stream,
        source,
        options: stream_options(args, args.since, now, sliced(stream, args.parallel)?)?,
        requested: requested_window(args, args.since),
        out: output_path(args.out.as_deref()),
        format: args.format,
        rotation: rotation(
            args.rotate_size,
            args.rotate_interval,
            output_path(args.out.as_deref()).is_some(),
        )?,
        retry: connection.retry.clone(),
        signer: signer(
            args.sign_key.as_deref(),
            output_path(args.out.as_deref()).is_some(),
        )?,
    };
    let prepared = prepare(vec![plan], state.as_deref(), args.overwrite, now)?;
    let prepared = prepared.into_iter().next().expect("one plan, one export");
    let _watchdog = watchdog(&health, env);
    health.ready();
    let report = run_export(
        prepared,
        state,
        progress.as_ref(),
        &health,
        stop,
        args.commit_interval,
    )
    .await?;
    Ok(vec![report])
}

/// `trail worker`: the config file's Kafka exports, shared with the other workers of the
/// group ([`crate::kafka::worker`]).
pub async fn worker(
    args: &crate::cli::WorkerArgs,
    env: Env<'_>,
    progress: Arc<dyn ProgressSink>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let export = &args.export;
    for (given, flag) in [
        (export.stream.is_some(), "a stream"),
        (export.out.is_some(), "--out"),
        (export.state.is_some(), "--state"),
        (export.overwrite, "--overwrite"),
    ] {
        if given {
            return Err(CliError::usage(
                format!("trail worker takes no {flag}: it exports the config file's streams, each into the Kafka output of its entry"),
                Some("list the streams as [[export]] entries of the config file (--config, default trail.toml), each with out = \"kafka://HOST:PORT/TOPIC\"".to_string()),
            ));
        }
    }
    let path = export.config.as_deref().unwrap_or(Path::new("trail.toml"));
    let config = ConfigFile::load(path).map_err(|e| CliError::usage(e, None))?;
    let connection = connection(export, Some(&config))?;
    let health = health(
        export.status_file.clone().or(config.status_file.clone()),
        env,
    )?;
    let now = Utc::now();
    let mut items = Vec::new();
    for (index, (plan, target)) in config_plans(export, &config, &connection, env, now, None)
        .await?
        .into_iter()
        .enumerate()
    {
        let Some(target) = target else {
            return Err(CliError::usage(
                format!(
                    "[[export]] #{} of {} writes {}: trail worker writes to Kafka only",
                    index + 1,
                    path.display(),
                    plan.out.as_deref().map_or("standard output".into(), |out| out.display().to_string()),
                ),
                Some("give every entry out = \"kafka://HOST:PORT/TOPIC\", or run the file exports with trail export --all".to_string()),
            ));
        };
        items.push(crate::kafka::WorkItem { plan, target });
    }
    let brokers = items[0].target.brokers.clone();
    if let Some(other) = items.iter().find(|item| item.target.brokers != brokers) {
        return Err(CliError::usage(
            format!(
                "the exports of {} go to different brokers ({brokers} and {}): a group of \
                 workers shares one Kafka cluster",
                path.display(),
                other.target.brokers
            ),
            Some("write every entry to the same brokers, or run one group per cluster".to_string()),
        ));
    }
    let settings = crate::kafka::WorkerSettings {
        brokers,
        group: args.group.clone(),
        member: args.member.clone(),
        session_timeout: args.session_timeout,
        commit_every: export.commit_interval,
    };
    let _watchdog = watchdog(&health, env);
    health.ready();
    crate::kafka::run_worker(items, settings, progress, health, stop).await
}

/// The Kafka output `out` names, if it is a `kafka://` address.
fn kafka_target(out: Option<&Path>) -> Result<Option<KafkaTarget>, CliError> {
    let Some(out) = out.and_then(Path::to_str) else {
        return Ok(None);
    };
    KafkaTarget::parse(out)
        .map_err(|e| CliError::usage(e, Some("write --out kafka://HOST:PORT/TOPIC".to_string())))
}

/// `trail export STREAM --out kafka://…`: one stream into a topic ([`crate::kafka`]).
#[allow(clippy::too_many_arguments)] // export's own arguments, handed on
async fn export_to_kafka(
    args: &ExportArgs,
    target: KafkaTarget,
    stream: StreamKind,
    connection: &Connection,
    env: Env<'_>,
    now: DateTime<Utc>,
    progress: Arc<dyn ProgressSink>,
    health: Arc<Health>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let rotated = args.rotate_size.is_some() || args.rotate_interval.is_some();
    let signed = args.sign_key.is_some();
    crate::kafka::check_flags(&target, args.state.is_some(), rotated, signed)?;
    let source = source_from_env(stream, args, connection, env, None).await?;
    let plan = ExportPlan {
        stream,
        source,
        options: stream_options(args, args.since, now, sliced(stream, args.parallel)?)?,
        requested: requested_window(args, args.since),
        out: None,
        format: args.format,
        rotation: None,
        retry: connection.retry.clone(),
        signer: None,
    };
    let _watchdog = watchdog(&health, env);
    health.ready();
    let report = crate::kafka::export_stream(
        plan,
        target,
        progress.as_ref(),
        &health,
        stop,
        args.commit_interval,
    )
    .await?;
    Ok(vec![report])
}

/// Retries and timeouts: the flags, else the config file's keys, else the defaults.
fn connection(args: &ExportArgs, config: Option<&ConfigFile>) -> Result<Connection, CliError> {
    let usage = |e| CliError::usage(e, None);
    let from_config = |key, pick: fn(&ConfigFile) -> &Option<String>| {
        config
            .map(|config| ConfigFile::duration(key, pick(config)))
            .transpose()
            .map(Option::flatten)
            .map_err(usage)
    };
    let retry_budget = match args.retry_budget {
        Some(budget) => Some(budget),
        None => from_config("retry_budget", |c| &c.retry_budget)?,
    };
    let request_timeout = match args.request_timeout {
        Some(timeout) => Some(timeout),
        None => from_config("request_timeout", |c| &c.request_timeout)?,
    };
    let connect_timeout = match args.connect_timeout {
        Some(timeout) => Some(timeout),
        None => from_config("connect_timeout", |c| &c.connect_timeout)?,
    };
    let max_retries = args
        .max_retries
        .or_else(|| config.and_then(|config| config.max_retries));
    let mut retry = audit_core::RetryPolicy::default();
    if let Some(retries) = max_retries {
        retry = retry.with_max_attempts(retries.saturating_add(1));
    }
    if let Some(budget) = retry_budget {
        retry = retry.with_wait_budget(Some(budget));
    }
    Ok(Connection {
        retry,
        connect_timeout,
        request_timeout,
    })
}

/// Where the run reports its health: the status file (checked writable now) and systemd.
fn health(status_file: Option<std::path::PathBuf>, env: Env<'_>) -> Result<Arc<Health>, CliError> {
    let health = Health::new(status_file, env("NOTIFY_SOCKET"));
    health.check().map_err(|e| CliError::usage(e, None))?;
    Ok(Arc::new(health))
}

/// Pings systemd's watchdog while the run lives (when `WATCHDOG_USEC` asks for it); the
/// pings stop when the returned guard is dropped.
fn watchdog(health: &Arc<Health>, env: Env<'_>) -> Option<AbortOnDrop> {
    let every = watchdog_interval(env("WATCHDOG_USEC"))?;
    let health = health.clone();
    Some(AbortOnDrop(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            health.heartbeat();
        }
    })))
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every `[[export]]` of the config file, concurrently. A failing stream does not stop the
/// others and is reported at once; the run fails if any stream failed (see
/// [`worst_exit_code`]).
#[allow(clippy::too_many_arguments)] // one call site, each argument a different concern
async fn export_all(
    args: &ExportArgs,
    config: &ConfigFile,
    connection: &Connection,
    env: Env<'_>,
    now: DateTime<Utc>,
    progress: Arc<dyn ProgressSink>,
    health: Arc<Health>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<ExportReport>, CliError> {
    let state = open_state(args.state.as_deref())?;
    let mut plans = Vec::new();
    // Kafka outputs keep their checkpoints in Kafka: they take no part in the state file.
    let mut to_kafka = Vec::new();
    for (plan, target) in config_plans(args, config, connection, env, now, state.as_deref()).await?
    {
        match target {
            Some(target) => to_kafka.push((plan, target)),
            None => plans.push(plan),
        }
    }
    let prepared = prepare(plans, state.as_deref(), args.overwrite, now)?;
    // The exports run here, concurrently, rather than as spawned tasks: their writers stay on
    // this thread and their read-aheads run on the runtime's worker, as for one stream.
    let _watchdog = watchdog(&health, env);
    health.ready();
    let commit_every = args.commit_interval;
    let to_files = prepared.into_iter().map(|plan| {
        let key = plan.key();
        let (state, progress, stop) = (state.clone(), progress.clone(), stop.clone());
        let health = health.clone();
        guarded(key, async move {
            run_export(plan, state, progress.as_ref(), &health, stop, commit_every).await
        })
        .boxed_local()
    });
    let to_topics = to_kafka.into_iter().map(|(plan, target)| {
        let key = plan.key();
        let (progress, stop, health) = (progress.clone(), stop.clone(), health.clone());
        guarded(key, async move {
            let progress = progress.as_ref();
            crate::kafka::export_stream(plan, target, progress, &health, stop, commit_every).await
        })
        .boxed_local()
    });
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (key, outcome) in join_all(to_files.chain(to_topics)).await {
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
            error.code = worst_exit_code(failures.iter().map(|(_, error)| error.code));
            Err(error)
        }
    }
}

/// The plan of each `[[export]]` of the config file, in the file's order, with its Kafka
/// output if it has one (checked against the flags that belong to files).
async fn config_plans(
    args: &ExportArgs,
    config: &ConfigFile,
    connection: &Connection,
    env: Env<'_>,
    now: DateTime<Utc>,
    state: Option<&StateStore>,
) -> Result<Vec<(ExportPlan, Option<KafkaTarget>)>, CliError> {
    let planned = config.plan().map_err(|e| CliError::usage(e, None))?;
    let signer = signer(
        args.sign_key.as_deref().or(config.sign_key.as_deref()),
        planned
            .iter()
            .all(|entry| output_path(Some(&entry.out)).is_some()),
    )?;
    let mut plans = Vec::new();
    // One client per stream (its own scope and counters), one pacer per account: the first
    // client of an account sets its budget, the account's other clients spend it.
    let mut zendesk_accounts: BTreeMap<String, ZendeskClient> = BTreeMap::new();
    let mut genesys_accounts: BTreeMap<String, GenesysClient> = BTreeMap::new();
    for entry in planned {
        let stream: StreamKind = entry.stream.into();
        let source: Arc<dyn StreamSource> = match stream.vendor() {
            Vendor::Zendesk => {
                let account = &config.zendesk[&entry.account];
                let settings = ZendeskSettings::from_account(&entry.account, account, env)?
                    .needing(zendesk_scope(stream))
                    .with_connection(connection.clone());
                let settings = match zendesk_accounts.get(&entry.account) {
                    Some(first) => settings.pacing_shared_with(first.clone()),
                    None => settings.with_budget(ZendeskSettings::account_budget(
                        &entry.account,
                        account,
                        args.rate_budget(),
                    )?),
                };
                let client = settings.client()?;
                zendesk_accounts
                    .entry(entry.account.clone())
                    .or_insert_with(|| client.clone());
                Arc::new(client)
            }
            Vendor::Genesys => {
                let account = &config.genesys[&entry.account];
                let settings = GenesysSettings::from_account(&entry.account, account, env)?
                    .with_connection(connection.clone());
                let settings = match genesys_accounts.get(&entry.account) {
                    Some(first) => settings.pacing_shared_with(first.clone()),
                    None => settings.with_budget(GenesysSettings::account_budget(
                        &entry.account,
                        account,
                        args.rate_budget(),
                    )?),
                };
                let client = settings.client_for(state).await?;
                genesys_accounts
                    .entry(entry.account.clone())
                    .or_insert_with(|| client.clone());
                Arc::new(client)
            }
            other => return Err(unsupported(other)),
        };
        let since = entry.since.unwrap_or(args.since);
        let plan = ExportPlan {
            stream,
            source,
            // `--parallel` applies to the streams that can be sliced; the file's `parallel`
            // was checked against its stream when the file was read.
            options: stream_options(
                args,
                since,
                now,
                entry.parallel.unwrap_or(args.parallel) && can_slice(stream),
            )?,
            requested: requested_window(args, since),
            rotation: rotation(
                entry.rotate_size.or(args.rotate_size),
                entry.rotate_interval.or(args.rotate_interval),
                output_path(Some(&entry.out)).is_some(),
            )?,
            out: output_path(Some(&entry.out)),
            format: entry.format,
            retry: connection.retry.clone(),
            signer: signer.clone(),
        };
        let target = kafka_target(Some(&entry.out))?;
        if let Some(target) = &target {
            let rotated = plan.rotation.is_some();
            crate::kafka::check_flags(target, false, rotated, plan.signer.is_some())?;
        }
        plans.push((plan, target));
    }
    Ok(plans)
}

/// Runs the export of the stream `key`, one of several: a panic must not take the others
/// down before they commit, and a failure is said at once (a follower's others never end).
async fn guarded(
    key: String,
    export: impl std::future::Future<Output = Result<ExportReport, CliError>>,
) -> (String, std::thread::Result<Result<ExportReport, CliError>>) {
    let outcome = AssertUnwindSafe(export).catch_unwind().await;
    if let Ok(Err(error)) = &outcome {
        tracing::error!("{key} stopped: {error}; the other streams go on");
    }
    (key, outcome)
}

/// The output file of `--out` (`None`, or `-`: standard output).
fn output_path(out: Option<&Path>) -> Option<std::path::PathBuf> {
    out.filter(|path| *path != Path::new("-"))
        .map(Path::to_path_buf)
}

/// The key that signs manifests (`to_file`: every output is a file, not standard output).
fn signer(
    key: Option<&Path>,
    to_file: bool,
) -> Result<Option<Arc<crate::evidence::keys::Signer>>, CliError> {
    let Some(key) = key else {
        return Ok(None);
    };
    if !to_file {
        return Err(CliError::usage(
            "--sign-key signs the manifest of a file output, and standard output has none",
            Some("give an --out file, or drop --sign-key".to_string()),
        ));
    }
    crate::evidence::keys::Signer::load(key)
        .map(|signer| Some(Arc::new(signer)))
        .map_err(|message| {
            CliError::usage(
                message,
                Some("give the private key `trail keygen --out PATH` wrote".to_string()),
            )
        })
}

/// `trail verify`: the report, in words or JSON, and its exit code.
pub fn verify(args: &crate::cli::VerifyArgs) -> Result<(String, u8), CliError> {
    use crate::evidence::{keys::PublicKey, verify};
    let public_key = args
        .public_key
        .as_deref()
        .map(PublicKey::load)
        .transpose()
        .map_err(|message| CliError::usage(message, None))?;
    let report = verify::verify(
        &args.outputs,
        args.manifest.as_deref(),
        public_key.as_ref(),
        Utc::now(),
    )
    .map_err(|verify::CannotVerify(message, hint)| CliError::usage(message, hint))?;
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("reports serialise") + "\n"
    } else {
        verify::render(&report)
    };
    Ok((text, report.exit_code))
}

/// `trail keygen`: writes the pair; says where, never what.
pub fn keygen(args: &crate::cli::KeygenArgs) -> Result<String, CliError> {
    let public = crate::evidence::keys::generate(&args.out).map_err(|error| {
        CliError::usage(
            format!("cannot write the key pair {}: {error}", args.out.display()),
            Some("choose a new path: keygen never replaces a key".to_string()),
        )
    })?;
    Ok(format!(
        "wrote the private key {} (mode 0600: give it to `trail export --sign-key`) and the \
         public key {} (give it to `trail verify --public-key`)",
        args.out.display(),
        public.display()
    ))
}

/// The rotation of an output (`to_file`: the output is a file, not standard output).
fn rotation(
    size: Option<u64>,
    interval: Option<std::time::Duration>,
    to_file: bool,
) -> Result<Option<RotationPolicy>, CliError> {
    let policy = RotationPolicy::new(size, interval);
    if policy.is_some() && !to_file {
        return Err(CliError::usage(
            "--rotate-size and --rotate-interval seal files, and the output is standard output",
            Some("give an --out file to rotate, or drop the rotation flags".to_string()),
        ));
    }
    Ok(policy)
}

/// The exit code of a run whose streams failed with `codes`: usage (2) if any stream was
/// refused, else failure (1). (A run where none failed exits 3 if any quarantined, else 0.)
fn worst_exit_code(codes: impl IntoIterator<Item = u8>) -> u8 {
    if codes.into_iter().any(|code| code == EXIT_USAGE) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// The least OAuth scope a Zendesk stream needs.
fn zendesk_scope(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::ZendeskAuditLogs => "auditlogs:read",
        _ => "read",
    }
}

async fn source_from_env(
    stream: StreamKind,
    args: &ExportArgs,
    connection: &Connection,
    env: Env<'_>,
    state: Option<&StateStore>,
) -> Result<Arc<dyn StreamSource>, CliError> {
    args.audit_log_filter.check(stream)?;
    match stream.vendor() {
        Vendor::Zendesk => Ok(Arc::new(
            ZendeskSettings::from_env(env, args.zendesk_base_url.clone())?
                .needing(zendesk_scope(stream))
                .with_connection(connection.clone())
                .with_budget(args.rate_budget())
                .client()?,
        )),
        Vendor::Genesys => Ok(Arc::new(
            GenesysSettings::from_env(
                env,
                args.genesys_api_base_url(),
                args.genesys_login_base_url(),
            )?
            .with_connection(connection.clone())
            .with_budget(args.rate_budget())
            .client_for(state)
            .await?,
        )),
        other => Err(unsupported(other)),
    }
}

/// A vendor audit-core knows and this version of trail does not export yet.
fn unsupported(vendor: Vendor) -> CliError {
    CliError::usage(
        format!(
            "this version of trail cannot export {} yet",
            vendor.product_name()
        ),
        Some("upgrade trail".to_string()),
    )
}

/// The window and mode as the user gave them, for the state file.
fn requested_window(args: &ExportArgs, since: TimeArg) -> RecordedWindow {
    RecordedWindow {
        since: since.to_string(),
        until: args.until.map(|until| until.to_string()),
        follow: args.follow,
        filter: args.audit_log_filter.describe(),
    }
}

/// Whether an export of `stream` alone reads its window in time slices (`asked`: with
/// `--parallel`); a stream that cannot be sliced is refused.
fn sliced(stream: StreamKind, asked: bool) -> Result<bool, CliError> {
    if let (true, Some(why)) = (asked, why_not_sliced(stream)) {
        return Err(CliError::usage(
            format!("{stream} cannot be read in parallel: {why}"),
            Some("drop --parallel (it reads zendesk-audit-logs and genesys-realtime)".to_string()),
        ));
    }
    Ok(asked)
}

/// The window, follow and slicing settings of an export.
fn stream_options(
    args: &ExportArgs,
    since: TimeArg,
    now: DateTime<Utc>,
    sliced: bool,
) -> Result<StreamOptions, CliError> {
    let since = since.resolve(now);
    let window = match args.until.map(|until| until.resolve(now)) {
        // `--since 0s` is now: an empty window, or with --follow, everything from now on.
        None if since > now => {
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
    let mut options = StreamOptions::new(window)
        .with_settle_lag(args.settle_lag)
        .with_filter(args.audit_log_filter.stream_filter());
    if args.follow {
        options = options.with_follow(args.poll_interval);
    }
    if sliced {
        options = options.with_slicing(Slicing::default());
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
