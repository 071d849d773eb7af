//! Re-embedding a collection with the loaded encoder, in place: readers keep the old index
//! until the new one is complete, then it is swapped in.

use super::Library;
use super::chunking::embedding_text;
use crate::error::AppResult;
use crate::inference::batcher::Priority;
use crate::inference::tokenizer::TextRole;

/// Chunks embedded and written per step.
const STEP: usize = 256;

/// What a reindex did.
#[derive(Debug, Clone)]
pub struct ReindexSummary {
    /// The collection.
    pub collection: String,
    /// Chunks re-embedded.
    pub chunks: u64,
    /// The model the collection is now embedded with.
    pub embedding_model: String,
    /// Its dimension.
    pub embedding_dimension: u32,
    /// Wall time in milliseconds.
    pub took_ms: u64,
}

impl Library {
    /// Re-embeds every chunk of `name` with its language's encoder and swaps in a rebuilt index.
    /// Writes to the collection wait meanwhile; searches do not.
    pub async fn reindex_collection(&self, name: &str) -> AppResult<ReindexSummary> {
        let started = std::time::Instant::now();
        let collection = self.collection(name).await?;
        let _guard = self.lock_collection(name).await;
        let encoder = self.encoders.for_language(collection.language);
        let rows = self.store.reindex_rows(name).await?;
        for step in rows.chunks(STEP) {
            let texts: Vec<String> = step
                .iter()
                .map(|row| {
                    embedding_text(
                        self.config.ingest.context_header,
                        &row.title,
                        &row.path,
                        &row.text,
                    )
                })
                .collect();
            let vectors = encoder
                .embed(&texts, TextRole::Passage, Priority::Bulk)
                .await?
                .vectors;
            let updates: Vec<(&str, &[f32])> = step
                .iter()
                .zip(&vectors)
                .map(|(row, vector)| (row.id.as_str(), vector.as_ref()))
                .collect();
            self.store.set_embeddings(&updates).await?;
        }
        let model = encoder.info();
        // The log entry has every server (this one included) rebuild the collection's index
        // from the new vectors and swap it in.
        let version = self
            .store
            .set_collection_model(name, &model.model_id, model.dimension as u32)
            .await?;
        self.await_applied(version, None).await;
        tracing::info!(collection = name, chunks = rows.len(), previous = %collection.embedding_model, "reindexed");
        Ok(ReindexSummary {
            collection: name.to_string(),
            chunks: rows.len() as u64,
            embedding_model: model.model_id.clone(),
            embedding_dimension: model.dimension as u32,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}
