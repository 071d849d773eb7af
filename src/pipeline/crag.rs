//! Corrective RAG grading: each candidate is graded relevant or not, by its calibrated
//! reranker relevance or by the LLM (concurrently, with a bound and a timeout each).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::tiering::Candidate;
use super::types::Grading;
use crate::config::CragConfig;
use crate::llm::{ChatMessage, GenerationRequest, Generator, Role, Sampling, collect};

/// Who grades.
pub enum Grader<'a> {
    /// The calibrated relevance (which includes the reranker's score).
    Reranker,
    /// The generator answers yes or no for each passage, prompted with `prompt`.
    Llm {
        /// The generator asked.
        generator: &'a Arc<dyn Generator>,
        /// Template with `{question}` and `{passage}`.
        prompt: &'a str,
    },
}

/// One grade per candidate, in order.
pub async fn grade(
    grader: &Grader<'_>,
    config: &CragConfig,
    question: &str,
    candidates: &[Candidate],
) -> Vec<Grading> {
    match grader {
        Grader::Reranker => candidates
            .iter()
            .map(|c| by_relevance(c, config, "reranker"))
            .collect(),
        Grader::Llm { generator, prompt } => {
            let gradings: Vec<_> = candidates
                .iter()
                .map(|candidate| grade_with_llm(generator, prompt, config, question, candidate))
                .collect();
            futures::stream::iter(gradings)
                .buffered(config.concurrency)
                .collect()
                .await
        }
    }
}

fn by_relevance(candidate: &Candidate, config: &CragConfig, grader: &str) -> Grading {
    Grading {
        chunk_id: candidate.hit.chunk_id.clone(),
        relevant: candidate.scores.relevance >= config.relevant_score,
        score: candidate.scores.relevance,
        grader: grader.into(),
    }
}

/// Asks the generator; a grading that fails or times out falls back to the relevance.
async fn grade_with_llm(
    generator: &Arc<dyn Generator>,
    prompt: &str,
    config: &CragConfig,
    question: &str,
    candidate: &Candidate,
) -> Grading {
    let content = prompt
        .replace("{question}", question)
        .replace("{passage}", &candidate.hit.text);
    let request = GenerationRequest {
        messages: vec![ChatMessage::new(Role::User, content)],
        sampling: Sampling {
            temperature: 0.0,
            max_tokens: 3,
            ..Sampling::default()
        },
    };
    let limit = Duration::from_millis(config.grade_timeout_ms);
    match tokio::time::timeout(limit, collect(generator.generate(request))).await {
        Ok(Ok(completion)) => {
            let relevant = says_yes(&completion.text);
            Grading {
                chunk_id: candidate.hit.chunk_id.clone(),
                relevant,
                score: if relevant { 1.0 } else { 0.0 },
                grader: "llm".into(),
            }
        }
        Ok(Err(_)) => by_relevance(candidate, config, "llm_failed"),
        Err(_) => by_relevance(candidate, config, "timeout"),
    }
}

/// Whether a grader's reply is "yes" (English or Swedish).
fn says_yes(reply: &str) -> bool {
    let word: String = reply
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    matches!(word.as_str(), "yes" | "ja" | "y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yes_and_no_in_both_languages() {
        assert!(says_yes("Yes."));
        assert!(says_yes(" ja"));
        assert!(!says_yes("No, it does not"));
        assert!(!says_yes("Nej"));
        assert!(!says_yes(""));
    }
}
