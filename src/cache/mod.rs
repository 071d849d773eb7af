//! Caches: a two-level (memory, then disk) cache of text embeddings, so that the same
//! text is never encoded twice and a restart keeps what was already computed; and an
//! in-memory cache of stored chunk rows, so that search hits need not be read from the
//! database again. The cache of finished answers is a stage of the answer pipeline
//! (`pipeline::answer_cache`).

pub mod chunks;
pub mod embedding;
