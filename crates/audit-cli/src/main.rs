use std::process::ExitCode;
use std::sync::Arc;

use audit_cli::cli::{Cli, Command};
use audit_cli::errors::{CliError, EXIT_INTERRUPTED, EXIT_QUARANTINED, EXIT_READER_GONE};
use audit_cli::progress::{self, Verbosity};
use audit_cli::sources::process_env;
use audit_cli::{authorize, cli, commands, demo, summary};
use clap::Parser;
use tokio::sync::watch;

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let verbosity = Verbosity::from_flags(cli.verbose, cli.quiet);
    let progress = Arc::new(progress::init(verbosity));
    // The main thread runs the exports' writers, one worker thread their read-aheads (fetch,
    // decode, map). With two workers a read-ahead hopped between threads and spread its
    // allocations over two malloc arenas, and peak RSS crept up with the export's length
    // (docs/benchmarks.md).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&CliError::failure(format!("cannot start: {error}"), None)),
    };
    match runtime.block_on(run(cli.command, progress, verbosity)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => fail(&error),
    }
}

/// glibc's fastbins keep freed small chunks unmerged until a larger request merges them all at
/// once (`malloc_consolidate`), which a page-sized allocation triggers after every page (a
/// page's records are thousands of small allocations freed together). Without fastbins (tcache
/// still serves small sizes) the peak RSS of an export varied less with its length (Genesys,
/// 100k against 1M records: +2% against +21% side by side), for a plateau a few MiB higher in
/// a long follow (docs/benchmarks.md, sections 1 and 5).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

fn fail(error: &CliError) -> ExitCode {
    // A closed pipe (`| head`) ends quietly: the reader has what it asked for.
    if error.code != EXIT_READER_GONE {
        eprintln!("{error}");
    }
    ExitCode::from(error.code)
}

/// Runs `command`; the exit code of a run that did not fail (0, or [`EXIT_QUARANTINED`]).
async fn run(
    command: Command,
    progress: Arc<progress::Progress>,
    verbosity: Verbosity,
) -> Result<u8, CliError> {
    let stop = stop_on_ctrl_c();
    let quiet = verbosity == Verbosity::Quiet;
    match command {
        Command::Export(_) | Command::Worker(_) => {
            let reports = match &command {
                Command::Export(args) => {
                    commands::export(args, &process_env, progress, stop).await?
                }
                Command::Worker(args) => {
                    commands::worker(args, &process_env, progress, stop).await?
                }
                _ => unreachable!("matched above"),
            };
            if !quiet {
                eprint!("{}", summary::render(&reports));
            }
            if let Some(warnings) = summary::retention_warnings(&reports, chrono::Utc::now())
                && !quiet
            {
                warnings
                    .lines()
                    .for_each(|line| eprintln!("warning: {line}"));
            }
            let issues = summary::decode_issues(&reports);
            if let Some(issues) = &issues {
                // Even with --quiet: the exit code alone would not say where the records are.
                eprintln!("warning: {issues}");
            }
            if reports.iter().any(|report| report.stopped) {
                // A stop is how services end: not a failure, and not done either (exit 0).
                if !quiet {
                    eprintln!("{STOPPED}");
                }
                return Ok(0);
            }
            if issues.is_some() {
                return Ok(EXIT_QUARANTINED);
            }
        }
        Command::Count(args) => println!("{}", commands::count(&args, &process_env).await?),
        Command::MakePrivate(args) => {
            println!("{}", commands::make_private(&args, &process_env).await?)
        }
        Command::Schema(args) => println!("{}", commands::schema(&args)),
        Command::Regions => print!("{}", commands::regions()),
        Command::Auth(cli::AuthCommand::Zendesk(args)) => {
            println!("{}", authorize::zendesk(&args, &process_env).await?)
        }
        Command::Verify(args) => {
            let (report, code) = commands::verify(&args)?;
            print!("{report}");
            return Ok(code);
        }
        Command::Keygen(args) => println!("{}", commands::keygen(&args)?),
        Command::Demo(args) => {
            if !quiet {
                eprintln!(
                    "trail demo: exporting every stream from the built-in simulator of Zendesk \
                     and Genesys Cloud (127.0.0.1 only, seed {}, {} records per stream, with \
                     rate limits and injected faults)",
                    args.seed, args.records
                );
            }
            let reports = demo::run(&args, progress, stop).await?;
            println!("{}", summary::render(&reports));
            if reports.iter().any(|report| report.stopped) {
                println!("{STOPPED}");
                return Ok(0);
            }
            println!(
                "Verified: each output holds exactly the simulator's ground truth, every record \
                 once and in order. Files and the state file are in {}/",
                args.dir.display()
            );
        }
    }
    Ok(0)
}

/// What a run stopped by a signal says last.
const STOPPED: &str = "stopped: everything written so far is committed; run the same command \
                       to continue";

/// Turns Ctrl-C (and SIGTERM, how services are stopped) into a stop request the exports honour
/// after their current page (then they commit and the run exits 0); a second signal exits at
/// once, with [`EXIT_INTERRUPTED`].
fn stop_on_ctrl_c() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        if stop_signal().await {
            eprintln!(
                "stopping after the current page and committing (Ctrl-C or SIGTERM again to \
                 quit at once)"
            );
            let _ = sender.send(true);
            if stop_signal().await {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    receiver
}

/// Waits for SIGINT or SIGTERM; `false` if signals cannot be listened to.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.is_ok(),
            _ = terminate.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
