//! constitutional-rag: grounded question answering over legal and government documents.
//!
//! Layers, top down; each uses the ones below it:
//!
//! - [`cli`]: the subcommands (`serve`, `ingest`, `reindex`, `eval`, `openapi`, `keys`).
//! - [`server`] (starting and stopping) and [`api`] (HTTP): the only code that knows the
//!   web framework. Handlers parse, call the pipeline or the library and map errors;
//!   [`api::dto`] holds the wire types, which mirror the engine's records and convert from
//!   them with `From` (`tests/layering.rs` fails when engine code names the framework).
//! - [`pipeline`]: the answer orchestrator, one file a stage (safety, mode, routing,
//!   retrieval, tiering, rerank, CRAG, generation, guardrails, support check), with the cache
//!   of finished answers (`pipeline::answer_cache`); [`eval`] runs it over labelled sets.
//! - [`service`]: the document library (collections, documents, search, reindex, health),
//!   and the follower that applies other servers' writes from the change log
//!   (`service::follow`); [`auth`]: API keys and roles.
//! - [`store`] (SurrealDB, the store of record, with its change log `store::change_log`),
//!   [`retrieval`] (in-process dense and BM25 indexes, fusion), [`inference`] (models on
//!   libtorch), [`llm`] (text generation backends), [`cache`] (chunk rows and text
//!   embeddings), [`ingest`] (parsing, chunking), [`guard`] (safety, term corrections,
//!   citation checks).
//! - Below them all: [`model`] (the domain records), [`text`] (sentences), [`ops`]
//!   (metrics), [`config`] (with its own types for every choice), [`error`] and
//!   [`telemetry`] (log setup).
//!
//! `tests/layering.rs` reads the imports from the code and fails on a cycle (between
//! top-level modules, or between the files of one module) and on a foundation module that
//! imports anything above it.

pub mod api;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod error;
pub mod eval;
pub mod guard;
pub mod inference;
pub mod ingest;
pub mod llm;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod retrieval;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod text;
