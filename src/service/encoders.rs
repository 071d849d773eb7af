//! The sentence encoders of a library, one per collection language: the dev sets measured
//! all-MiniLM-L6-v2 best for the English licences and multilingual-e5-small best for the
//! Swedish statutes, so each collection is embedded by its language's encoder (the two may be
//! the same model). A collection keeps the encoder it was embedded with, recorded by model id,
//! until `reindex` moves it to its language's.

use crate::error::{AppError, AppResult};
use crate::inference::embedder::Embedder;
use crate::model::{Collection, Language};

/// The encoder of each collection language; cheap to clone.
#[derive(Clone)]
pub struct Encoders {
    /// `models.embedding`: English collections, and the model of the OpenAI-style embeddings
    /// route.
    default: Embedder,
    /// `models.swedish_embedding` when it names another model than `default`.
    swedish: Option<Embedder>,
}

impl Encoders {
    /// The encoders: `swedish` is `None` when Swedish collections use `default` too.
    pub fn new(default: Embedder, swedish: Option<Embedder>) -> Self {
        let swedish = swedish.filter(|swedish| !same_model(swedish, &default));
        Self { default, swedish }
    }

    /// The encoder of `models.embedding`.
    pub fn default_encoder(&self) -> &Embedder {
        &self.default
    }

    /// The encoder new collections of `language` are embedded with.
    pub fn for_language(&self, language: Language) -> &Embedder {
        match (language, &self.swedish) {
            (Language::Swedish, Some(swedish)) => swedish,
            _ => &self.default,
        }
    }

    /// The encoder `collection`'s vectors come from (its recorded model), or 409 when this
    /// server runs no such model: the collection must be reindexed (or searched by BM25).
    pub fn for_collection(&self, collection: &Collection) -> AppResult<&Embedder> {
        self.all()
            .find(|encoder| encoder.info().model_id == collection.embedding_model)
            .ok_or_else(|| {
                let model = &self.for_language(collection.language).info().model_id;
                AppError::Conflict(format!(
                    "collection '{}' was embedded with {} but the server runs {model} for its \
                     language; run `constitutional-rag reindex --collection {}` or search with \
                     mode bm25",
                    collection.name, collection.embedding_model, collection.name
                ))
            })
    }

    /// The encoder new chunks of `collection` are embedded with: its recorded model's, or its
    /// language's when this server runs no such model (dense search of the collection then
    /// waits for a `reindex`, see [`Encoders::for_collection`]).
    pub fn for_writing(&self, collection: &Collection) -> &Embedder {
        self.for_collection(collection)
            .unwrap_or_else(|_| self.for_language(collection.language))
    }

    /// The encoder of every one of `collections` when they share one, else the default.
    pub fn shared_by(&self, collections: &[Collection]) -> &Embedder {
        let mut encoders = collections.iter().map(|c| self.for_collection(c).ok());
        match encoders.next() {
            Some(Some(first)) if encoders.all(|e| e.is_some_and(|e| same_model(e, first))) => first,
            _ => &self.default,
        }
    }

    /// Every distinct encoder, the default first.
    pub fn all(&self) -> impl Iterator<Item = &Embedder> {
        std::iter::once(&self.default).chain(&self.swedish)
    }
}

/// Whether two encoders run the same model.
pub fn same_model(a: &Embedder, b: &Embedder) -> bool {
    a.info().model_id == b.info().model_id
}
