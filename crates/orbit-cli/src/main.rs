//! The `orbit` binary: the composition root that wires storage, engine and server.

mod admin;
mod bench;
mod config;
mod data_dir;
mod demo;
mod generate;
mod import;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// Ingestion allocates many small, short-lived values (parsed JSON, encoded rows);
// mimalloc serves them markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Orbit: marketing automation with a built-in customer data platform.
#[derive(Debug, Parser)]
#[command(name = "orbit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: ingestion, engine and API on embedded storage.
    Serve(serve::ServeArgs),
    /// Administrative tasks on a data directory (keys).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Import events or profiles from a JSONL or CSV file into a data directory.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Measure throughput against a baseline from the same run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write synthetic customers' events as JSONL, for `orbit import events`.
    Generate(generate::GenerateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin(command) => admin::run(command).await,
            Command::Import(command) => import::run(command).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Generate(args) => generate::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
