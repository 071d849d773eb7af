//! The "constitution": whole-word term corrections applied to answers.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

/// One correction rule applied to an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
pub struct Correction {
    /// The text as written.
    pub from: String,
    /// The corrected text.
    pub to: String,
    /// How many times it was replaced.
    pub count: u32,
}
