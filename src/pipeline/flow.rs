//! The retrieval half of the orchestrator: follow-up rewriting, routing, candidates
//! (retrieve → tier → rerank) and the CRAG loop; plus the small conversions to the response.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::crag::{self, Grader};
use super::retrieve::{self, Tier};
use super::routing::Route;
use super::tiering::{self, Candidate};
use super::types::{
    AnswerUsage, EvidenceLevel, GradingEvent, PipelineEvent, Routing, Source, Turn, TurnRole,
};
use super::{AnswerRequest, Pipeline, Run, decontextualize, references, rerank, rewrite, terms};
use crate::error::{AppError, AppResult};
use crate::llm::{ChatMessage, GenerationRequest, Role, Sampling, Usage, collect};

/// Longest wait for an LLM rewrite of a follow-up question.
const LLM_REWRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Pipeline {
    /// The standalone question `request` asks: rewritten from the history when it is a
    /// follow-up (by the LLM when configured, by rules otherwise), else as asked.
    pub(super) async fn decontextualize(&self, request: &AnswerRequest) -> String {
        if request.history.is_empty() {
            return request.question.clone();
        }
        if self.library.config().answer.llm_rewrite
            && decontextualize::is_follow_up(&request.question)
            && let Some(rewritten) = self.llm_rewrite(&request.question, &request.history).await
        {
            return rewritten;
        }
        decontextualize::decontextualize(&request.question, &request.history)
            .unwrap_or_else(|| request.question.clone())
    }

    async fn llm_rewrite(&self, question: &str, history: &[Turn]) -> Option<String> {
        let generator = self.library.generator().ok()?;
        let history: Vec<String> = history
            .iter()
            .map(|turn| {
                let who = match turn.role {
                    TurnRole::User => "User",
                    TurnRole::Assistant => "Assistant",
                };
                format!("{who}: {}", turn.content)
            })
            .collect();
        let prompt = self
            .assets
            .prompts
            .rewrite
            .replace("{history}", &history.join("\n"))
            .replace("{question}", question);
        let request = GenerationRequest {
            messages: vec![ChatMessage::new(Role::User, prompt)],
            sampling: Sampling {
                temperature: 0.0,
                max_tokens: 96,
                ..Sampling::default()
            },
        };
        let completion =
            tokio::time::timeout(LLM_REWRITE_TIMEOUT, collect(generator.generate(request)))
                .await
                .ok()?
                .ok()?;
        let rewritten = completion.text.lines().next()?.trim().to_string();
        (!rewritten.is_empty()).then_some(rewritten)
    }

    /// The collections to search: those the request names (each must exist), else the
    /// routing table's choice for the run's intent among the existing collections.
    pub(super) async fn route(&self, run: &mut Run<'_>) -> AppResult<Route> {
        let available: Vec<String> = self
            .library
            .collections()
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let route = if run.request.collections.is_empty() {
            self.assets.routing.route(run.intent, &available)
        } else {
            let mut named = run.request.collections.clone();
            named.sort();
            named.dedup();
            if let Some(missing) = named.iter().find(|n| !available.contains(n)) {
                return Err(AppError::not_found(format!("collection '{missing}'")));
            }
            Route {
                primary: named,
                support: Vec::new(),
                skipped: Vec::new(),
                primary_budget: self.library.config().answer.rerank_candidates,
                support_budget: 0,
                fallback: false,
            }
        };
        if !route.skipped.is_empty() {
            tracing::warn!(skipped = ?route.skipped, "routed collections do not exist; skipped");
        }
        run.routing = Routing {
            primary: route.primary.clone(),
            support: route.support.clone(),
            skipped: route.skipped.clone(),
        };
        run.thought(
            "route",
            format!(
                "intent {:?}: primary {:?}, support {:?}{}",
                run.intent,
                route.primary,
                route.support,
                if route.fallback {
                    " (no routed collection exists; searching all)"
                } else {
                    ""
                }
            ),
        )
        .await?;
        Ok(route)
    }

    /// Retrieval for `query` over `route`, tiered and (when enabled) reranked against the
    /// run's question.
    pub(super) async fn candidates(
        &self,
        run: &mut Run<'_>,
        query: &str,
        route: &Route,
    ) -> AppResult<Vec<Candidate>> {
        let config = &self.library.config().answer;
        let started = Instant::now();
        let retrieved = retrieve::retrieve(&self.library, query, route).await?;
        run.clock.record("retrieve", started, run.events).await?;

        let started = Instant::now();
        let rerank = run.request.rerank.unwrap_or(config.rerank);
        // With reranking still to come, only obvious misses go before it.
        let floor = if rerank {
            config.min_relevance / 2.0
        } else {
            config.min_relevance
        };
        let terms = terms::content_terms(&run.question, run.language);
        let cited = references::find(&run.question);
        let scored = tiering::score(retrieved, &terms, &cited, run.language);
        let mut candidates = tiering::select(
            scored,
            config.max_chunks_per_document,
            floor,
            config.rerank_candidates,
        );
        run.clock.record("tier", started, run.events).await?;

        if rerank {
            let started = Instant::now();
            rerank::rerank(&self.library, &run.question, &mut candidates).await?;
            run.clock.record("rerank", started, run.events).await?;
        }
        Ok(candidates)
    }

    /// CRAG: grade, drop the irrelevant, and while too few survive rewrite the query and
    /// retrieve again (at most `max_retries` times, while the deadline allows).
    pub(super) async fn correct(
        &self,
        run: &mut Run<'_>,
        route: &Route,
        mut candidates: Vec<Candidate>,
    ) -> AppResult<Vec<Candidate>> {
        let config = &self.library.config().answer.crag;
        let grader = match (config.grader.as_str(), self.library.generator()) {
            ("llm", Ok(generator)) => Grader::Llm {
                generator,
                prompt: &self.assets.prompts.grader,
            },
            _ => Grader::Reranker,
        };
        let started = Instant::now();
        let mut query = run.question.clone();
        let mut graded: HashSet<String> = HashSet::new();
        for round in 1..=config.max_retries + 1 {
            let gradings = crag::grade(&grader, config, &run.question, &candidates).await;
            run.events
                .send(PipelineEvent::Grading(GradingEvent {
                    round,
                    query: query.clone(),
                    gradings: gradings.clone(),
                }))
                .await?;
            let relevant: HashSet<&str> = gradings
                .iter()
                .filter(|g| g.relevant)
                .map(|g| g.chunk_id.as_str())
                .collect();
            candidates.retain(|c| relevant.contains(c.hit.chunk_id.as_str()));
            graded.extend(gradings.iter().map(|g| g.chunk_id.clone()));
            run.gradings.extend(gradings);
            if candidates.len() >= config.min_relevant || round > config.max_retries {
                break;
            }
            if !run.deadline.allows_optional() {
                run.skipped.push("crag_retry".into());
                break;
            }
            let Some(rewritten) =
                rewrite::rewrite(&run.question, round, &self.assets.abbreviations)
            else {
                break;
            };
            run.thought(
                "crag",
                format!(
                    "{} relevant candidates; retrieving again for {rewritten:?}",
                    candidates.len()
                ),
            )
            .await?;
            query = rewritten;
            let more = self.candidates(run, &query, route).await?;
            candidates.extend(
                more.into_iter()
                    .filter(|c| !graded.contains(&c.hit.chunk_id)),
            );
        }
        candidates.sort_by(|a, b| b.scores.relevance.total_cmp(&a.scores.relevance));
        run.clock.record("crag", started, run.events).await?;
        Ok(candidates)
    }
}

/// The response's view of candidate number `index`.
pub(super) fn to_source(index: usize, candidate: &Candidate) -> Source {
    let hit = &candidate.hit;
    Source {
        index: index as u32,
        chunk_id: hit.chunk_id.clone(),
        document_id: hit.document_id.clone(),
        title: hit.title.clone(),
        collection: hit.collection.clone(),
        path: hit.path.clone(),
        char_start: hit.char_start,
        char_end: hit.char_end,
        snippet: hit.text.clone(),
        tier: candidate.tier.as_str().into(),
        scores: candidate.scores.clone(),
    }
}

/// `high` when a primary source reaches `high_relevance`, `low` with any source, else
/// `none`.
pub(super) fn evidence_level(sources: &[Source], high_relevance: f64) -> EvidenceLevel {
    let primary = Tier::Primary.as_str();
    if sources.is_empty() {
        EvidenceLevel::None
    } else if sources
        .iter()
        .any(|s| s.tier == primary && s.scores.relevance >= high_relevance)
    {
        EvidenceLevel::High
    } else {
        EvidenceLevel::Low
    }
}

/// Generation usage in the response's shape.
pub(super) fn answer_usage(usage: Usage) -> AnswerUsage {
    AnswerUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
    }
}
