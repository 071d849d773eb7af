//! constitutional-rag: grounded question answering over legal and government documents.
//!
//! Layers, each knowing only the ones below it: [`api`] (HTTP) → [`service`] (rules) →
//! [`store`] (SurrealDB) and [`ingest`] (parsing, chunking).

pub mod api;
pub mod config;
pub mod error;
pub mod ingest;
pub mod model;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
