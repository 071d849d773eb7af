//! Caches: a two-level (memory, then disk) cache of text embeddings, so that the same
//! text is never encoded twice and a restart keeps what was already computed; and an
//! in-memory cache of finished answers, invalidated by writes to the collections they
//! searched.

pub mod answers;
pub mod embedding;
