//! Caches: a two-level (memory, then disk) cache of text embeddings, so that the same
//! text is never encoded twice and a restart keeps what was already computed.

pub mod embedding;
