use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Options};
use xtask::spec::SPECS;

/// Project automation for the trail workspace.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Workspace root to operate on (defaults to this checkout).
    #[arg(long, global = true, hide = true)]
    root: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate crates/*-raw/src/generated.rs from specs/*.yaml.
    Codegen {
        /// Regenerate in memory and fail, naming each stale file, if the checked-in code differs.
        #[arg(long)]
        check: bool,
        /// Only this spec (zendesk or genesys).
        #[arg(long)]
        only: Option<String>,
        /// Print normalisation notes, and a diff of stale files with --check.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the operations each spec generates: method, path, parameters' wire names, responses.
    Operations {
        /// Only this spec (zendesk or genesys).
        #[arg(long)]
        only: Option<String>,
    },
    /// Build trail, audit-sim and audit-bench (release) and run the benchmarks:
    /// `cargo xtask bench [throughput|peer|rate-limit|concurrency|soak|verify|backfill|all] [options]`
    /// (`cargo xtask bench -- --help` lists them; see docs/benchmarks.md).
    Bench {
        /// Arguments of audit-bench.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.unwrap_or_else(xtask::workspace_root);
    let result = match cli.command {
        Command::Codegen {
            check,
            only,
            verbose,
        } => codegen::run(
            &root,
            &Options {
                check,
                only,
                verbose,
            },
        ),
        Command::Operations { only } => SPECS
            .iter()
            .filter(|api| only.as_deref().is_none_or(|o| o == api.vendor))
            .try_for_each(|api| {
                let (document, _) = codegen::prepared_document(&root, api)?;
                println!("# {}\n", api.spec_path);
                print!("{}", xtask::operations::list_operations(&document));
                Ok(())
            }),
        Command::Bench { args } => bench(&root, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench`: a release build of the binaries the benchmarks run, then audit-bench.
fn bench(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    use anyhow::{Context, ensure};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "audit-cli",
            "-p",
            "audit-sim",
            "-p",
            "audit-bench",
        ])
        .status()
        .context("cannot run cargo build")?;
    ensure!(built.success(), "the release build failed");
    let status = std::process::Command::new(root.join("target/release/audit-bench"))
        .current_dir(root)
        .args(args)
        .status()
        .context("cannot run target/release/audit-bench")?;
    ensure!(status.success(), "audit-bench failed ({status})");
    Ok(())
}
