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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
