//! The answer orchestrator and its stages, one file a stage.

pub mod types;
