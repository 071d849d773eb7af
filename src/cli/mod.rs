//! The command line: `serve` (the default), `ingest`, `reindex`, `eval`, `openapi`, `keys`.
//! Each subcommand parses its arguments here and calls the library, the server or the API.

mod eval;
mod ingest;
mod keys;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::model::Language;
use crate::server::{BoundServer, shutdown_signal, wait_for_background_tasks};
use crate::service::Library;
use crate::{api, telemetry};
use eval::Searches;
use keys::KeysCommand;

/// The command line's arguments.
#[derive(Parser)]
#[command(
    name = "constitutional-rag",
    version,
    about = "Grounded question answering over legal document collections"
)]
pub struct Cli {
    /// TOML configuration file; `CRAG_*` environment variables override it.
    #[arg(long, global = true, env = "CRAG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Ingest files (txt, md, html, json, jsonl, pdf; directories recursively, following
    /// symbolic links but not their cycles) into a collection.
    Ingest {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Target collection; created when missing.
        #[arg(long)]
        collection: String,
        /// Analyzer language when the collection is created.
        #[arg(long, default_value = "english", value_parser = language_parser())]
        language: Language,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Re-embed a collection with the configured encoder (after changing the model).
    Reindex {
        /// The collection.
        #[arg(long)]
        collection: String,
    },
    /// Evaluate on a labelled set in a throw-away in-memory database: a directory is a
    /// development set (evidence answers and searches, per question kind, ingested with the
    /// set's language), a JSON file the synthetic retrieval set (recall@k and MRR per search
    /// mode).
    Eval {
        /// The set: tests/data/legal_dev (English licences), tests/data/swedish_dev (Swedish
        /// statutes) or tests/data/retrieval_eval.json.
        #[arg(long = "set", value_name = "SET", required_unless_present = "set_path")]
        set: Option<PathBuf>,
        /// The set, as a positional argument (same as `--set`).
        #[arg(value_name = "SET", conflicts_with = "set")]
        set_path: Option<PathBuf>,
        /// Where `just setup` installed the development corpus's packages.
        #[arg(long, default_value = ".cache/legal-corpus")]
        corpus: PathBuf,
        /// Also write the scores (and, for the development set, every question's
        /// observations) to this JSON file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Development set only: which searches to score beside the answers (`plain` skips
        /// the reranked ones, `none` all of them: quicker when comparing settings).
        #[arg(long, value_enum, default_value_t = Searches::All)]
        searches: Searches,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage API keys (on the database directly; stop the server first when it uses the
    /// same embedded database, or use the admin API).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// Parses a collection language, listing the languages in `--help` and in errors.
fn language_parser() -> impl TypedValueParser<Value = Language> {
    PossibleValuesParser::new(["english", "swedish"]).map(|name| match name.as_str() {
        "swedish" => Language::Swedish,
        _ => Language::English,
    })
}

impl Cli {
    /// Loads the configuration, sets up logging and runs the subcommand: exit code 2 for a
    /// configuration that does not load, 1 for a command that fails.
    pub async fn run(self) -> ExitCode {
        let config = match Config::load(self.config.as_deref(), std::env::vars()) {
            Ok(config) => Arc::new(config),
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::from(2);
            }
        };
        telemetry::init(&config.log);
        let result = match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Ingest {
                paths,
                collection,
                language,
                quiet,
            } => ingest::run(config, &paths, &collection, language, quiet).await,
            Command::Reindex { collection } => reindex(config, &collection).await,
            Command::Eval {
                set,
                set_path,
                corpus,
                json,
                searches,
            } => {
                let set = set.or(set_path).expect("clap requires a set");
                eval::run(config, &set, &corpus, json.as_deref(), searches).await
            }
            Command::Openapi => openapi(&config).await,
            Command::Keys { command } => keys::run(&config, command).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        }
    }
}

/// `serve`: the HTTP server until a shutdown signal, then its background tasks.
async fn serve(config: Arc<Config>) -> anyhow::Result<()> {
    let server = BoundServer::bind(config.clone()).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, storage = %config.storage.url, "listening");
    println!("constitutional-rag listening on http://{addr}");
    println!("Swagger UI: http://{addr}/docs   OpenAPI: http://{addr}/openapi.json");
    server.serve(shutdown_signal()).await?;
    wait_for_background_tasks().await;
    tracing::info!("stopped");
    Ok(())
}

/// `reindex`: re-embeds one collection.
async fn reindex(config: Arc<Config>, collection: &str) -> anyhow::Result<()> {
    let library = Library::open(config).await?;
    let summary = library.reindex_collection(collection).await?;
    println!(
        "reindexed '{}': {} chunks with {} ({} dimensions) in {} ms",
        summary.collection,
        summary.chunks,
        summary.embedding_model,
        summary.embedding_dimension,
        summary.took_ms
    );
    Ok(())
}

/// `openapi`: the OpenAPI document of a server with this configuration.
async fn openapi(config: &Config) -> anyhow::Result<()> {
    let library = Library::open(in_memory(config)).await?;
    println!("{}", api::spec_json(&library)?);
    Ok(())
}

/// `config` with an in-memory database and no embedding cache file: for commands that must
/// not touch the server's data.
fn in_memory(config: &Config) -> Arc<Config> {
    let mut config = config.clone();
    config.storage.url = "mem://".into();
    config.cache.embedding_path = String::new();
    Arc::new(config)
}
