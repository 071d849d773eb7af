//! Guardrails: the question's safety check, the "constitution" of term corrections applied
//! to answers, and the check that every `[n]` cites a source that was in the context.

pub mod citations;
pub mod constitution;
pub mod safety;
