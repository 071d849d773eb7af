//! Caches: a two-level (memory, then disk) cache of text embeddings, so that the same
//! text is never encoded twice and a restart keeps what was already computed; and an
//! in-memory cache of finished answers, invalidated by writes to the collections they
//! searched; and an in-memory cache of stored chunk rows, so that search hits need not be
//! read from the database again.

pub mod answers;
pub mod chunks;
pub mod embedding;
