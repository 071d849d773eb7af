//! Citation checks: every `[n]` must name a source that was in the context.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

/// One valid citation marker in the final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Object)]
pub struct CitationSpan {
    /// The cited source's 1-based index.
    pub source: u32,
    /// Start of the marker in the answer, in characters.
    pub start: u32,
    /// End of the marker (exclusive), in characters.
    pub end: u32,
}
