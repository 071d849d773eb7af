//! The answer orchestrator and its stages, one file a stage.

pub mod decontextualize;
pub mod extract;
pub mod language;
pub mod mode;
pub mod references;
pub mod rewrite;
pub mod routing;
pub mod terms;
pub mod types;
