//! Turning files into documents: parsers, the legal-structure chunker and the CLI ingester.

pub mod chunker;
pub mod files;
pub mod parse;
