//! Safety check of questions: prompt injection and abuse patterns, length and noise limits.
