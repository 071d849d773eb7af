//! In-process search indexes kept in step with SurrealDB (the store of record): BM25 and
//! dense search per collection, and rank fusion.

pub mod analyzer;
pub mod bm25;
pub mod decompound;
mod folding;
pub mod fusion;
pub mod index;
pub(crate) mod kernels;
mod signs;
pub mod snapshot;
pub mod vectors;
mod word_cache;

pub use bm25::Slot;
