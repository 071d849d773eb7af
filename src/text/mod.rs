//! Plain-text analysis shared by ingestion and answering; it knows nothing of documents,
//! chunks or answers.

pub mod sentences;
