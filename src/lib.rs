//! constitutional-rag: grounded question answering over legal and government documents.
//!
//! Layers, each knowing only the ones below it: [`api`] (HTTP) → [`service`] (rules) →
//! [`store`] (SurrealDB, the store of record), [`retrieval`] (in-process search indexes),
//! [`inference`] (models on libtorch), [`llm`] (text generation backends), [`cache`] and [`ingest`] (parsing, chunking);
//! [`text`] (sentences) below them all.

pub mod api;
pub mod auth;
pub mod cache;
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
