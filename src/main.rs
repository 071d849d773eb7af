//! The `constitutional-rag` binary: see [`constitutional_rag::cli`].

use std::process::ExitCode;

use clap::Parser;
use constitutional_rag::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse().run().await
}
