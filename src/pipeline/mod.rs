//! The answer orchestrator and its stages, one file a stage:
//!
//! safety → (mode ∥ decontextualization) → intent routing → resolution of the documents,
//! versions and sections the question names → hybrid retrieval of the routed tiers, with the
//! cited sections' chunks → tiering (calibrated relevance, dedupe, floor) → rerank → optional
//! CRAG → grounds check → generation by mode (quotes, or the generator) → support check of
//! generated text (unsupported sentences dropped, quotes when too few are supported) →
//! guardrail → citation check. `auto` hands a question to the generator only when
//! `answer.auto_assist` allows it.
//! Each stage times itself; a stage's refusal is an answer with `saknas_underlag`, not an
//! error. A fresh answer of the answer cache (`[cache] answer_entries`) skips them all.

pub mod decontextualize;
pub mod extract;
pub mod language;
pub mod mode;
pub mod references;
pub mod rewrite;
pub mod routing;
pub mod support;
pub mod terms;
pub mod types;

mod answer_cache;
mod assets;
mod cached;
mod calibrate;
mod crag;
mod deadline;
mod events;
mod flow;
mod generate;
mod grounds;
mod measure;
mod request;
mod rerank;
mod response;
mod retrieve;
mod subjects;
mod tiering;
mod timing;

pub use events::{EventReceiver, Events};
pub use request::AnswerRequest;
pub use timing::{PipelineMetrics, server_timing};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use answer_cache::AnswerCache;
use assets::Assets;
use cached::Lookup;
use deadline::Deadline;
use generate::Generated;
use response::{answer_usage, cited_sections, evidence_level, to_source};
use timing::Stopwatch;
use types::{
    Answer, AnswerUsage, CorrectionsEvent, DecontextualizedEvent, EvidenceLevel, Grading, Intent,
    MetadataEvent, PipelineEvent, Quote, RefusalEvent, RequestedMode, Routing, Source,
    ThoughtEvent, TokenEvent, UnsupportedSentence,
};

use crate::error::AppResult;
use crate::guard::{citations, safety};
use crate::inference::batcher::Priority;
use crate::inference::embedder::Embedder;
use crate::inference::tokenizer::TextRole;
use crate::llm::{AnswerMode, sampling_for};
use crate::ops::Registry;
use crate::retrieval::analyzer::AnalyzerLanguage;
use crate::service::Library;

/// Least calibrated similarity (on the encoder's scale) of a sentence quoted by meaning: half
/// way from unrelated to on topic.
const MIN_QUOTED_MEANING: f64 = 0.5;

/// The language of each collection's passages, by collection name.
struct PassageLanguages {
    collections: HashMap<String, AnalyzerLanguage>,
    /// The question's, taken for a collection not (or no longer) known.
    question: AnalyzerLanguage,
}

impl PassageLanguages {
    /// The language of the passages of `collection`.
    fn of(&self, collection: &str) -> AnalyzerLanguage {
        self.collections
            .get(collection)
            .copied()
            .unwrap_or(self.question)
    }
}

/// Answers questions over a [`Library`]; build one per server and share it.
pub struct Pipeline {
    library: Library,
    assets: Assets,
    metrics: PipelineMetrics,
    /// Finished answers; `None` when `cache.answer_entries` is 0.
    answers: Option<AnswerCache>,
    /// The documents of each collection by the names questions may call them.
    subjects: subjects::Catalog,
}

/// The answer text before guardrail and citations, or why there is none.
enum Draft {
    Text(Drafted),
    Refusal(String),
}

/// An answer text and what producing it found.
struct Drafted {
    text: String,
    /// The quotes `text` consists of; empty for a generated answer.
    quotes: Vec<Quote>,
    usage: AnswerUsage,
    /// The highest evidence level what produced `text` allows.
    ceiling: EvidenceLevel,
    supported_share: Option<f64>,
    unsupported_sentences: Vec<UnsupportedSentence>,
    /// Whether the text is not what was streamed as tokens.
    replaces_tokens: bool,
}

impl Drafted {
    /// The rendered `quotes`, streamed as they are, with nothing generated or checked.
    fn quoting(quotes: Vec<Quote>) -> Self {
        Self {
            text: extract::render(&quotes),
            quotes,
            usage: AnswerUsage::default(),
            ceiling: EvidenceLevel::High,
            supported_share: None,
            unsupported_sentences: Vec::new(),
            replaces_tokens: false,
        }
    }
}

/// What one answer knows so far.
struct Run<'a> {
    request: AnswerRequest,
    events: &'a Events,
    deadline: Deadline,
    clock: Stopwatch<'a>,
    question: String,
    language: AnalyzerLanguage,
    mode: AnswerMode,
    intent: Intent,
    routing: Routing,
    gradings: Vec<Grading>,
    skipped: Vec<String>,
    /// What the question names, once resolved against the collections' documents.
    resolution: Option<subjects::Resolution>,
    /// The corpus version when the question arrived.
    corpus_version: u64,
    /// The sentence encoder of the collections answered from (see
    /// `Library::shared_encoder`): its cosine scale reads their dense scores, and it checks
    /// the generated answer's support.
    encoder: Embedder,
}

impl Run<'_> {
    async fn thought(&self, stage: &str, message: impl Into<String>) -> AppResult<()> {
        let message = message.into();
        tracing::debug!(stage, %message, "answer pipeline");
        self.events
            .send(PipelineEvent::ThoughtChain(ThoughtEvent {
                stage: stage.into(),
                message,
            }))
            .await
    }
}

impl Pipeline {
    /// A pipeline over `library` with the assets `[answer]` names, its metrics registered
    /// with `registry`.
    pub fn new(library: Library, registry: &Registry) -> AppResult<Self> {
        let assets = Assets::load(&library.config().answer)?;
        let cache = &library.config().cache;
        let answers = (cache.answer_entries > 0).then(|| {
            AnswerCache::new(
                cache.answer_entries,
                Duration::from_secs(cache.answer_ttl_s),
            )
        });
        let pipeline = Self {
            library,
            assets,
            metrics: PipelineMetrics::register(registry),
            answers,
            subjects: subjects::Catalog::default(),
        };
        pipeline.warm_up();
        Ok(pipeline)
    }

    /// Compiles the rule sets (regular expressions built on first use) so that the first
    /// question does not pay for them.
    fn warm_up(&self) {
        let text = "Vad säger RF 2 kap. 1 § om yttrandefrihet? What does Section 4 say?";
        let _ = safety::check_question(text, &safety::SafetyLimits::default());
        let _ = safety::check_answer(text);
        let _ = mode::classify(text);
        let _ = routing::classify_intent(text, &self.assets.routing);
        let _ = decontextualize::is_follow_up(text);
        let _ = self.assets.constitution.apply(text);
        let _ = citations::check("[1]", 1);
        let _ = terms::content_terms(text, language::detect(text));
    }

    /// The pipeline's counters and latency histograms.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }

    /// The library answered from.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// Checks `request` without answering it (so streaming routes can reject bad input
    /// with a 4xx before the stream starts).
    pub fn check(&self, request: &AnswerRequest) -> AppResult<()> {
        request::check(request, &self.library.config().answer).map(|_| ())
    }

    /// Answers `request`, reporting progress to `events`: from the answer cache when it
    /// holds a fresh answer, else by running the stages (and caching what may be cached).
    pub async fn answer(&self, request: AnswerRequest, events: &Events) -> AppResult<Answer> {
        let config = &self.library.config().answer;
        let deadline = request::check(&request, config)?;
        let started = Instant::now();
        let clock = Stopwatch::start(&self.metrics);
        let corpus_version = self.library.corpus_version();
        let pending = match self.lookup(&request) {
            Lookup::Hit(cached) => {
                let answer = self
                    .replay(cached, corpus_version, started, clock, events)
                    .await;
                self.count(&answer);
                return answer;
            }
            Lookup::Miss(pending) => Some(pending),
            Lookup::Off => None,
        };
        let mut run = Run {
            question: request.question.clone(),
            language: language::detect(&request.question),
            mode: AnswerMode::Assist,
            intent: Intent::Unknown,
            routing: Routing::default(),
            gradings: Vec::new(),
            skipped: Vec::new(),
            resolution: None,
            corpus_version,
            encoder: self.library.embedder().clone(),
            request,
            events,
            deadline,
            clock,
        };
        let answer = self.answer_run(&mut run).await;
        if let (Ok(answer), Some(pending)) = (&answer, pending) {
            self.remember(pending, &run.request, answer);
        }
        self.count(&answer);
        answer
    }

    /// Counts a finished answer by mode and outcome, and the corrections made to it unless
    /// it was served from the cache.
    fn count(&self, answer: &AppResult<Answer>) {
        if let Ok(answer) = answer {
            let mode = serde_json::to_value(answer.mode).unwrap_or_default();
            let mode = mode.as_str().unwrap_or("unknown");
            self.metrics.answered(mode, answer.saknas_underlag);
            if !answer.cached {
                self.metrics.corrected(
                    mode,
                    answer.corrections.len(),
                    answer.removed_citations.len(),
                );
            }
        }
    }

    async fn answer_run(&self, run: &mut Run<'_>) -> AppResult<Answer> {
        let config = &self.library.config().answer;
        let started = Instant::now();
        let limits = safety::SafetyLimits {
            max_chars: config.max_question_chars,
            ..Default::default()
        };
        let verdict = safety::check_question(&run.request.question, &limits);
        run.clock.record("safety", started, run.events).await?;
        if let Some(verdict) = verdict {
            return self.refuse(run, verdict.reason).await;
        }

        let started = Instant::now();
        run.mode = match run.request.mode {
            RequestedMode::Auto => mode::classify(&run.request.question),
            RequestedMode::Chat => AnswerMode::Chat,
            RequestedMode::Assist => AnswerMode::Assist,
            RequestedMode::Evidence => AnswerMode::Evidence,
        };
        run.clock.record("classify", started, run.events).await?;
        if run.request.mode == RequestedMode::Auto
            && run.mode == AnswerMode::Assist
            && !config.auto_assist
        {
            run.mode = AnswerMode::Evidence;
            run.thought(
                "classify",
                "answering with quotes: answer.auto_assist is off, so auto mode does not \
                 hand questions to a generator not measured to stay grounded",
            )
            .await?;
        }

        let started = Instant::now();
        let question = self.decontextualize(&run.request).await;
        run.clock
            .record("decontextualize", started, run.events)
            .await?;
        if question != run.request.question {
            run.events
                .send(PipelineEvent::Decontextualized(DecontextualizedEvent {
                    original: run.request.question.clone(),
                    question: question.clone(),
                }))
                .await?;
            run.language = language::detect(&question);
            run.question = question;
        }
        if run.mode == AnswerMode::Chat {
            return self.chat(run).await;
        }
        if run.mode == AnswerMode::Assist && self.library.generator().is_err() {
            run.mode = AnswerMode::Evidence;
            run.thought(
                "generate",
                "no generator is configured; answering with quotes",
            )
            .await?;
        }

        let started = Instant::now();
        run.intent = routing::classify_intent(&run.question, &self.assets.routing);
        let route = self.route(run).await?;
        run.clock.record("route", started, run.events).await?;

        let query = run.question.clone();
        let mut candidates = self.candidates(run, &query, &route).await?;
        if run.request.crag.unwrap_or(config.crag.enabled) {
            if run.deadline.allows_optional() {
                candidates = self.correct(run, &route, candidates).await?;
            } else {
                run.skipped.push("crag".into());
                run.thought("crag", "skipped: the deadline is close")
                    .await?;
            }
        }
        candidates.retain(|c| c.scores.relevance >= config.min_relevance);
        candidates.truncate(config.max_sources);
        if let Some(reason) = run
            .resolution
            .as_ref()
            .and_then(|resolution| grounds::missing_grounds(resolution, &candidates))
        {
            return self.refuse(run, reason).await;
        }
        let sections = cited_sections(&candidates);
        let mut sources: Vec<Source> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| to_source(i + 1, c))
            .collect();
        if run.mode == AnswerMode::Assist {
            sources.truncate(generate::sources_within(&sources, config.context_tokens));
        }
        self.respond(run, sources, &sections).await
    }

    /// The answer over the chosen `sources`, of which `sections` (1-based) are a section the
    /// question cites: quotes, or a generated answer whose unsupported sentences are dropped
    /// (quotes when too few are supported); then guardrail and citations.
    async fn respond(
        &self,
        run: &mut Run<'_>,
        sources: Vec<Source>,
        sections: &[u32],
    ) -> AppResult<Answer> {
        let config = &self.library.config().answer;
        // Before generation: what the sources allow if the answer cites its sections.
        let level = evidence_level(
            &sources,
            sections,
            sections.iter().copied(),
            config.high_relevance,
        );
        run.events
            .send(PipelineEvent::Metadata(MetadataEvent {
                mode: run.mode,
                intent: run.intent,
                routing: run.routing.clone(),
                sources: sources.clone(),
                evidence_level: level,
            }))
            .await?;
        let draft = if run.mode == AnswerMode::Evidence {
            self.quote_draft(run, &sources).await?
        } else {
            self.assist_draft(run, &sources).await?
        };
        let draft = match draft {
            Draft::Text(draft) => draft,
            Draft::Refusal(reason) => return self.refuse(run, reason).await,
        };
        let text = draft.text;

        let started = Instant::now();
        let (corrected, corrections) = self.assets.constitution.apply(&text);
        let unsafe_output = safety::check_answer(&corrected);
        run.clock.record("guardrail", started, run.events).await?;
        if let Some(verdict) = unsafe_output {
            return self.refuse(run, verdict.reason).await;
        }
        if !corrections.is_empty() || draft.replaces_tokens {
            run.events
                .send(PipelineEvent::Corrections(CorrectionsEvent {
                    answer: corrected.clone(),
                    corrections: corrections.clone(),
                }))
                .await?;
        }

        let started = Instant::now();
        let checked = citations::check(&corrected, sources.len());
        for citation in &checked.citations {
            run.events.send(PipelineEvent::Citation(*citation)).await?;
        }
        run.clock.record("citations", started, run.events).await?;
        if !checked.removed.is_empty() {
            run.thought(
                "citations",
                format!(
                    "removed citations of missing sources: {:?}",
                    checked.removed
                ),
            )
            .await?;
        }

        let level = evidence_level(
            &sources,
            sections,
            checked.citations.iter().map(|citation| citation.source),
            config.high_relevance,
        )
        .min(draft.ceiling);
        Ok(Answer {
            answer: checked.text,
            mode: run.mode,
            saknas_underlag: false,
            refusal_reason: None,
            evidence_level: level,
            question: run.question.clone(),
            intent: run.intent,
            routing: run.routing.clone(),
            sources,
            citations: checked.citations,
            quotes: draft.quotes,
            removed_citations: checked.removed,
            corrections,
            gradings: std::mem::take(&mut run.gradings),
            supported_share: draft.supported_share,
            unsupported_sentences: draft.unsupported_sentences,
            skipped_stages: std::mem::take(&mut run.skipped),
            timings: run.clock.finish(),
            usage: draft.usage,
            corpus_version: run.corpus_version,
            cached: false,
        })
    }

    /// Evidence mode: the quotes of `sources` that answer the question, sent as one token.
    async fn quote_draft(&self, run: &mut Run<'_>, sources: &[Source]) -> AppResult<Draft> {
        let started = Instant::now();
        let quotes = self.quotes(run, sources).await?;
        run.clock.record("generate", started, run.events).await?;
        if quotes.is_empty() {
            return Ok(Draft::Refusal(
                "no sentence of the sources answers the question".into(),
            ));
        }
        if let Some(measure) = measure::asked(&run.question, run.language) {
            let languages = self.passage_languages(run.language).await?;
            let stated = quotes.iter().any(|quote| {
                let language = sources
                    .iter()
                    .find(|s| s.index == quote.source)
                    .map_or(run.language, |s| languages.of(&s.collection));
                measure.is_stated_in(&quote.text, language, language == run.language)
            });
            if !stated {
                return Ok(Draft::Refusal(measure.refusal()));
            }
        }
        let drafted = Drafted::quoting(quotes);
        run.events
            .send(PipelineEvent::Token(TokenEvent {
                text: drafted.text.clone(),
            }))
            .await?;
        Ok(Draft::Text(drafted))
    }

    /// Assist mode: the generator's answer without the sentences `sources` do not support,
    /// or the quotes when too few are supported (the run's mode becomes evidence). A
    /// generated answer is `low` at most unless every checked sentence is supported.
    async fn assist_draft(&self, run: &mut Run<'_>, sources: &[Source]) -> AppResult<Draft> {
        let config = &self.library.config().answer;
        let generated = self.assist(run, sources).await?;
        let usage = answer_usage(generated.usage);
        let unchecked = |text: String| Drafted {
            text,
            quotes: Vec::new(),
            usage,
            ceiling: EvidenceLevel::Low,
            supported_share: None,
            unsupported_sentences: Vec::new(),
            replaces_tokens: false,
        };
        if !config.reflection {
            return Ok(Draft::Text(unchecked(generated.text)));
        }
        if !run.deadline.allows_optional() {
            run.skipped.push("support".into());
            return Ok(Draft::Text(unchecked(generated.text)));
        }
        let support = self.check_support(run, &generated.text, sources).await?;
        let share = support.share();
        let unsupported_sentences: Vec<UnsupportedSentence> = support
            .unsupported()
            .map(|(text, reason)| UnsupportedSentence {
                text: text.into(),
                reason: reason.into(),
            })
            .collect();
        let grounded = share > 0.0 && share >= config.support.min_share;
        let replaces_tokens = !grounded || !unsupported_sentences.is_empty();
        let drafted = if grounded {
            Drafted {
                text: support.kept(),
                ceiling: if share < 1.0 {
                    EvidenceLevel::Low
                } else {
                    EvidenceLevel::High
                },
                ..unchecked(String::new())
            }
        } else {
            run.mode = AnswerMode::Evidence;
            run.thought(
                "support",
                format!(
                    "{} of {} checked sentences are supported (at least {:.0}% needed); \
                     answering with quotes",
                    support.supported(),
                    support.judged(),
                    config.support.min_share * 100.0
                ),
            )
            .await?;
            let quotes = self.quotes(run, sources).await?;
            if quotes.is_empty() {
                return Ok(Draft::Refusal(
                    "the generated answer is not supported by its sources and no sentence of \
                     the sources answers the question"
                        .into(),
                ));
            }
            Drafted {
                usage,
                ..Drafted::quoting(quotes)
            }
        };
        Ok(Draft::Text(Drafted {
            supported_share: Some(share),
            replaces_tokens,
            unsupported_sentences,
            ..drafted
        }))
    }

    /// The quotes of `sources` that answer the question: the sentences that share its words,
    /// else (another language, a paraphrase) those closest to it in meaning; empty when no
    /// sentence is close enough.
    async fn quotes(&self, run: &Run<'_>, sources: &[Source]) -> AppResult<Vec<Quote>> {
        let labels: Vec<String> = sources.iter().map(|s| self.label(s)).collect();
        let passages: Vec<extract::Passage<'_>> = sources
            .iter()
            .zip(&labels)
            .map(|(s, label)| extract::Passage {
                source: s.index,
                text: &s.snippet,
                path: label,
                char_start: s.char_start,
            })
            .collect();
        let max_quotes = self.library.config().answer.max_quotes;
        let by_words = extract::select_quotes(&run.question, &passages, run.language, max_quotes);
        if !by_words.is_empty() {
            return Ok(by_words);
        }
        let sentences = extract::quotable_sentences(&passages);
        if sentences.is_empty() {
            return Ok(by_words);
        }
        let languages = self.passage_languages(run.language).await?;
        let texts: Vec<String> = sentences.iter().map(|(_, text)| text.clone()).collect();
        let question = run
            .encoder
            .embed(
                std::slice::from_ref(&run.question),
                TextRole::Query,
                Priority::Interactive,
            )
            .await?
            .vectors;
        let vectors = run
            .encoder
            .embed(&texts, TextRole::Passage, Priority::Interactive)
            .await?
            .vectors;
        let scale = run.encoder.info().cosine_scale;
        let relevance: Vec<f64> = sentences
            .iter()
            .zip(&vectors)
            .map(|((passage, _), vector)| {
                let language = languages.of(&sources[*passage].collection);
                let scale = if language != run.language {
                    scale.across_languages()
                } else {
                    scale
                };
                scale.calibrate(f64::from(support::cosine(&question[0], vector)))
            })
            .collect();
        Ok(extract::select_by_meaning(
            &passages,
            &relevance,
            MIN_QUOTED_MEANING,
            max_quotes,
        ))
    }

    /// The language of the passages of each collection, for a question in `question`.
    async fn passage_languages(&self, question: AnalyzerLanguage) -> AppResult<PassageLanguages> {
        let collections = self
            .library
            .collections()
            .await?
            .into_iter()
            .map(|c| (c.name, c.language.into()))
            .collect();
        Ok(PassageLanguages {
            collections,
            question,
        })
    }

    /// The generator's answer over `sources`, streamed as tokens.
    async fn assist(&self, run: &mut Run<'_>, sources: &[Source]) -> AppResult<Generated> {
        let started = Instant::now();
        let generator = self.library.generator()?;
        let messages = generate::assist_messages(
            &self.assets.prompts.assist_system,
            sources,
            &run.request.history,
            &run.question,
        );
        let sampling = sampling_for(
            self.library.config(),
            run.mode,
            run.request.sampling.clone(),
        );
        let generated =
            generate::generate(generator, messages, sampling, run.events, &run.deadline).await?;
        run.clock.record("generate", started, run.events).await?;
        if generated.cut_by_deadline {
            run.skipped.push("generation_cut_by_deadline".into());
        }
        Ok(generated)
    }

    /// Checks every sentence of the generated `text` against `sources`; reports the share
    /// and each unsupported sentence as thoughts.
    async fn check_support(
        &self,
        run: &mut Run<'_>,
        text: &str,
        sources: &[Source],
    ) -> AppResult<support::Support> {
        let started = Instant::now();
        let config = &self.library.config().answer.support;
        let labels: Vec<String> = sources
            .iter()
            .map(|s| format!("{} {}", s.title, self.label(s)))
            .collect();
        let evidence: Vec<support::Evidence<'_>> = sources
            .iter()
            .zip(&labels)
            .map(|(s, label)| support::Evidence {
                source: s.index,
                text: &s.snippet,
                label,
            })
            .collect();
        let thresholds = support::Thresholds::new(config, &run.encoder.info().cosine_scale);
        let checked =
            support::check(&run.encoder, text, &evidence, run.language, thresholds).await?;
        run.clock.record("support", started, run.events).await?;
        run.thought(
            "support",
            format!(
                "{} of {} checked sentences of the generated answer are supported by its sources",
                checked.supported(),
                checked.judged()
            ),
        )
        .await?;
        for (sentence, reason) in checked.unsupported() {
            run.thought("support", format!("dropped {sentence:?}: {reason}"))
                .await?;
        }
        Ok(checked)
    }

    /// A source's structural path with its law's abbreviation when the document title names
    /// a law of `assets/abbreviations.toml` (`RF 2 kap. 1 §`).
    fn label(&self, source: &Source) -> String {
        match self.assets.abbreviations.abbreviation_of(&source.title) {
            Some(law) if !source.path.is_empty() => format!("{law} {}", source.path),
            _ => source.path.clone(),
        }
    }

    /// Chat mode: the generator talks, without retrieval.
    async fn chat(&self, run: &mut Run<'_>) -> AppResult<Answer> {
        let generator = self.library.generator()?;
        run.events
            .send(PipelineEvent::Metadata(MetadataEvent {
                mode: AnswerMode::Chat,
                intent: run.intent,
                routing: Routing::default(),
                sources: Vec::new(),
                evidence_level: EvidenceLevel::None,
            }))
            .await?;
        let started = Instant::now();
        let messages = generate::chat_messages(
            &self.assets.prompts.chat_system,
            &run.request.history,
            &run.request.question,
        );
        let sampling = sampling_for(
            self.library.config(),
            AnswerMode::Chat,
            run.request.sampling.clone(),
        );
        let generated =
            generate::generate(generator, messages, sampling, run.events, &run.deadline).await?;
        run.clock.record("generate", started, run.events).await?;
        let started = Instant::now();
        let (text, corrections) = self.assets.constitution.apply(&generated.text);
        run.clock.record("guardrail", started, run.events).await?;
        let mut answer = self.finish(run, text, None);
        answer.corrections = corrections;
        answer.usage = answer_usage(generated.usage);
        Ok(answer)
    }

    /// The refusal answer: the configured template, no sources, `saknas_underlag`.
    async fn refuse(&self, run: &mut Run<'_>, reason: String) -> AppResult<Answer> {
        let text = self.assets.prompts.refusal.clone();
        run.events
            .send(PipelineEvent::Refusal(RefusalEvent {
                answer: text.clone(),
                reason: reason.clone(),
            }))
            .await?;
        Ok(self.finish(run, text, Some(reason)))
    }

    /// An answer without sources (refusals and chat).
    fn finish(&self, run: &mut Run<'_>, text: String, refusal: Option<String>) -> Answer {
        Answer {
            answer: text,
            mode: run.mode,
            saknas_underlag: refusal.is_some(),
            refusal_reason: refusal,
            evidence_level: EvidenceLevel::None,
            question: run.question.clone(),
            intent: run.intent,
            routing: run.routing.clone(),
            sources: Vec::new(),
            citations: Vec::new(),
            quotes: Vec::new(),
            removed_citations: Vec::new(),
            corrections: Vec::new(),
            gradings: std::mem::take(&mut run.gradings),
            supported_share: None,
            unsupported_sentences: Vec::new(),
            skipped_stages: std::mem::take(&mut run.skipped),
            timings: run.clock.finish(),
            usage: AnswerUsage::default(),
            corpus_version: run.corpus_version,
            cached: false,
        }
    }
}
