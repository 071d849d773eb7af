//! In-process search indexes kept in step with SurrealDB (the store of record): BM25 and
//! dense search (exact, or over partitions once a collection is large) per collection, and
//! rank fusion.

pub mod analyzer;
pub mod bm25;
pub mod fusion;
pub mod index;
mod kernels;
pub mod partitions;
pub mod vectors;

pub use bm25::Slot;
