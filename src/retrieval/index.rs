//! The in-memory search state of every collection: chunk slots, a BM25 index, the vectors
//! and each document's metadata (for filters). Loaded from SurrealDB at start and kept in
//! step with it by following the change log (`service/follow.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::Slot;
use super::analyzer::AnalyzerLanguage;
use super::bm25::{Bm25Index, Bm25Params};
use super::decompound::Decompounder;
use super::snapshot::{self, Decoder, Encoder, SnapshotError, Stamp, corrupt};
use super::vectors::{DenseScan, VectorIndex};
use crate::model::Language;
use crate::store::MetadataFilter;

/// Identity of the chunk held in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkRef {
    /// Chunk record id.
    pub chunk_id: String,
    /// Its document's id.
    pub document_id: String,
}

/// A chunk to index.
#[derive(Debug, Clone)]
pub struct IndexedChunk {
    /// Chunk record id.
    pub chunk_id: String,
    /// Text for BM25.
    pub text: String,
    /// Embedding, when the chunk has one.
    pub embedding: Option<Arc<[f32]>>,
}

struct DocumentEntry {
    slots: Vec<Slot>,
    metadata: BTreeMap<String, Value>,
}

/// Search state of one collection.
pub struct CollectionIndex {
    chunks: Vec<Option<ChunkRef>>,
    free: Vec<Slot>,
    documents: HashMap<String, DocumentEntry>,
    bm25: Bm25Index,
    vectors: VectorIndex,
}

impl CollectionIndex {
    /// An empty index for a collection of `language` with `dimension`-sized vectors; Swedish
    /// BM25 splits compounds with `decompounder` when there is one.
    pub fn new(
        language: Language,
        dimension: usize,
        decompounder: Option<Arc<Decompounder>>,
    ) -> Self {
        let mut bm25 = Bm25Index::new(language.into(), Bm25Params::default());
        if let Some(decompounder) = decompounder.filter(|_| language == Language::Swedish) {
            bm25 = bm25.with_decompounder(decompounder);
        }
        Self {
            chunks: Vec::new(),
            free: Vec::new(),
            documents: HashMap::new(),
            bm25,
            vectors: VectorIndex::new(dimension),
        }
    }

    /// Number of indexed chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len() - self.free.len()
    }

    /// Number of indexed documents.
    pub fn document_count(&self) -> usize {
        self.documents.len()
    }

    /// Number of chunks with a vector.
    pub fn vector_count(&self) -> usize {
        self.vectors.len()
    }

    /// Indexes a document's chunks, replacing whatever it had.
    pub fn put_document(
        &mut self,
        document_id: &str,
        metadata: BTreeMap<String, Value>,
        chunks: Vec<IndexedChunk>,
    ) {
        self.remove_document(document_id);
        let mut slots = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let slot = self.allocate(ChunkRef {
                chunk_id: chunk.chunk_id,
                document_id: document_id.to_string(),
            });
            self.bm25.insert(slot, &chunk.text);
            match &chunk.embedding {
                Some(vector) if vector.len() == self.vectors.dimension() => {
                    self.vectors.insert(slot, vector);
                }
                _ => {}
            }
            slots.push(slot);
        }
        self.documents
            .insert(document_id.to_string(), DocumentEntry { slots, metadata });
    }

    /// Forgets a document and its chunks; a no-op if unknown.
    pub fn remove_document(&mut self, document_id: &str) {
        let Some(entry) = self.documents.remove(document_id) else {
            return;
        };
        for slot in entry.slots {
            self.bm25.remove(slot);
            self.vectors.remove(slot);
            self.chunks[slot as usize] = None;
            self.free.push(slot);
        }
    }

    /// BM25 hits, best first (equal scores by chunk id).
    pub fn bm25(&self, query: &str, limit: usize, filter: &MetadataFilter) -> Vec<(ChunkRef, f32)> {
        self.filtered(limit, filter, |wanted, allowed| {
            self.bm25.search(query, wanted, allowed)
        })
    }

    /// Dense (cosine) hits, best first (equal scores by chunk id).
    pub fn dense(
        &self,
        query: &[f32],
        limit: usize,
        scan: DenseScan,
        filter: &MetadataFilter,
    ) -> Vec<(ChunkRef, f32)> {
        self.filtered(limit, filter, |wanted, allowed| {
            self.vectors.search(query, wanted, scan, allowed)
        })
    }

    /// The best `limit` hits of `search` (asked for a number of hits, restricted to the slots
    /// `filter` allows), resolved, with equal scores ordered by chunk id: slots differ between
    /// servers holding the same chunks, chunk ids do not, so every server ranks alike. When
    /// hits tie across the cut, more are asked for until every tied one is in hand.
    fn filtered(
        &self,
        limit: usize,
        filter: &MetadataFilter,
        search: impl Fn(usize, Option<&dyn Fn(Slot) -> bool>) -> Vec<(Slot, f32)>,
    ) -> Vec<(ChunkRef, f32)> {
        if limit == 0 {
            return Vec::new();
        }
        let mask = self.filter_mask(filter);
        let allowed = mask.as_ref().map(|m| move |slot: Slot| m[slot as usize]);
        let allowed = allowed.as_ref().map(|f| f as &dyn Fn(Slot) -> bool);
        let mut wanted = limit + 1;
        let mut hits = search(wanted, allowed);
        while hits.len() == wanted && hits[wanted - 1].1 == hits[limit - 1].1 {
            wanted *= 2;
            hits = search(wanted, allowed);
        }
        let mut resolved = self.resolve(hits);
        resolved.sort_by(|(a, a_score), (b, b_score)| {
            b_score
                .total_cmp(a_score)
                .then_with(|| a.chunk_id.cmp(&b.chunk_id))
        });
        resolved.truncate(limit);
        resolved
    }

    /// Slots allowed by `filter`, or `None` when nothing is filtered.
    fn filter_mask(&self, filter: &MetadataFilter) -> Option<Vec<bool>> {
        if filter.is_empty() {
            return None;
        }
        let mut mask = vec![false; self.chunks.len()];
        for entry in self
            .documents
            .values()
            .filter(|d| filter.matches(&d.metadata))
        {
            for slot in &entry.slots {
                mask[*slot as usize] = true;
            }
        }
        Some(mask)
    }

    fn resolve(&self, hits: Vec<(Slot, f32)>) -> Vec<(ChunkRef, f32)> {
        hits.into_iter()
            .filter_map(|(slot, score)| Some((self.chunks.get(slot as usize)?.clone()?, score)))
            .collect()
    }

    fn allocate(&mut self, chunk: ChunkRef) -> Slot {
        if let Some(slot) = self.free.pop() {
            self.chunks[slot as usize] = Some(chunk);
            slot
        } else {
            self.chunks.push(Some(chunk));
            (self.chunks.len() - 1) as Slot
        }
    }
}

impl CollectionIndex {
    /// Writes the index to a snapshot: its slot table (each document's metadata and chunks
    /// by slot, the free slots), then its BM25 and vector indexes.
    fn encode<W: std::io::Write>(&self, out: &mut Encoder<W>) -> std::io::Result<()> {
        out.len(self.chunks.len())?;
        out.array(&self.free)?;
        out.len(self.documents.len())?;
        for (document_id, entry) in &self.documents {
            out.text(document_id)?;
            out.text(&serde_json::to_string(&entry.metadata).map_err(std::io::Error::other)?)?;
            out.len(entry.slots.len())?;
            for &slot in &entry.slots {
                out.number(slot)?;
                let chunk = self.chunks[slot as usize]
                    .as_ref()
                    .expect("a document's slot");
                out.text(&chunk.chunk_id)?;
            }
        }
        self.bm25.encode(out)?;
        self.vectors.encode(out)
    }

    /// Reads into an empty `self` an index written by [`CollectionIndex::encode`].
    fn decode<R: std::io::Read>(mut self, input: &mut Decoder<R>) -> std::io::Result<Self> {
        // Each slot has a length and a flag in the BM25 tables further on.
        let slots = input.len(5)?;
        self.chunks = vec![None; slots];
        self.free = input.array()?;
        let document_count = input.len(24)?;
        self.documents.reserve(document_count);
        for _ in 0..document_count {
            let document_id = input.text()?;
            let metadata = serde_json::from_str(&input.text()?)
                .map_err(|_| corrupt("document metadata is not a JSON object"))?;
            let slot_count = input.len(12)?;
            let mut entry_slots = Vec::with_capacity(slot_count);
            for _ in 0..slot_count {
                let slot: Slot = input.number()?;
                let chunk_id = input.text()?;
                match self.chunks.get_mut(slot as usize) {
                    Some(place @ None) => {
                        *place = Some(ChunkRef {
                            chunk_id,
                            document_id: document_id.clone(),
                        });
                    }
                    _ => return Err(corrupt("a chunk slot out of range or taken twice")),
                }
                entry_slots.push(slot);
            }
            let entry = DocumentEntry {
                slots: entry_slots,
                metadata,
            };
            if self.documents.insert(document_id, entry).is_some() {
                return Err(corrupt("a document listed twice"));
            }
        }
        if self
            .free
            .iter()
            .any(|&slot| self.chunks.get(slot as usize).is_none_or(Option::is_some))
        {
            return Err(corrupt("a free chunk slot in use"));
        }
        let dimension = self.vectors.dimension();
        self.bm25 = self.bm25.decode(input)?;
        self.vectors = VectorIndex::decode(input, dimension)?;
        if self.bm25.len() != self.chunk_count() || self.vectors.len() > self.chunk_count() {
            return Err(corrupt("indexes disagree with the slot table"));
        }
        Ok(self)
    }
}

/// Every collection's index, by name; cheap to clone.
#[derive(Clone, Default)]
pub struct SearchIndex {
    collections: Arc<RwLock<HashMap<String, Arc<RwLock<CollectionIndex>>>>>,
    /// Shared by every Swedish collection's BM25 index.
    decompounder: Option<Arc<Decompounder>>,
}

impl SearchIndex {
    /// No collections yet; Swedish ones will split compounds with `decompounder`.
    pub fn new(decompounder: Option<Arc<Decompounder>>) -> Self {
        Self {
            collections: Arc::default(),
            decompounder,
        }
    }

    /// A new, empty index for a collection of `language` (not installed).
    pub fn empty_collection(&self, language: Language, dimension: usize) -> CollectionIndex {
        CollectionIndex::new(language, dimension, self.decompounder.clone())
    }

    /// The index of `collection`, if it has one.
    pub fn collection(&self, collection: &str) -> Option<Arc<RwLock<CollectionIndex>>> {
        self.collections
            .read()
            .expect("index lock")
            .get(collection)
            .cloned()
    }

    /// The index of `collection`, created empty when missing.
    pub fn ensure(
        &self,
        collection: &str,
        language: Language,
        dimension: usize,
    ) -> Arc<RwLock<CollectionIndex>> {
        if let Some(existing) = self.collection(collection) {
            return existing;
        }
        self.collections
            .write()
            .expect("index lock")
            .entry(collection.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(self.empty_collection(language, dimension))))
            .clone()
    }

    /// Installs `index` as `collection`'s index; readers of the old one finish undisturbed.
    pub fn replace(&self, collection: &str, index: CollectionIndex) {
        self.collections
            .write()
            .expect("index lock")
            .insert(collection.to_string(), Arc::new(RwLock::new(index)));
    }

    /// Keeps only the indexes of the collections `keep` accepts.
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) {
        self.collections
            .write()
            .expect("index lock")
            .retain(|name, _| keep(name));
    }

    /// Drops `collection`'s index.
    pub fn drop_collection(&self, collection: &str) {
        self.collections
            .write()
            .expect("index lock")
            .remove(collection);
    }

    /// Writes every collection's index to a snapshot at `path`, stamped `stamp` and holding
    /// `version`: the caller keeps the indexes at that version meanwhile (searches go on).
    /// Returns the file's size in bytes.
    pub fn save_snapshot(&self, path: &Path, stamp: &Stamp, version: u64) -> std::io::Result<u64> {
        let mut collections: Vec<(String, Arc<RwLock<CollectionIndex>>)> = self
            .collections
            .read()
            .expect("index lock")
            .iter()
            .map(|(name, index)| (name.clone(), index.clone()))
            .collect();
        collections.sort_by(|a, b| a.0.cmp(&b.0));
        snapshot::save(path, stamp, self.decompounder.as_deref(), version, |out| {
            out.len(collections.len())?;
            for (name, index) in &collections {
                let index = index.read().expect("index lock");
                out.text(name)?;
                out.number(u8::from(index.bm25.language() == AnalyzerLanguage::Swedish))?;
                out.len(index.vectors.dimension())?;
                index.encode(out)?;
            }
            Ok(())
        })
    }

    /// Replaces every collection's index with those of the snapshot at `path`, if it is
    /// whole and stamped `stamp`; returns the corpus version it holds. On an error nothing
    /// changes.
    pub fn load_snapshot(&self, path: &Path, stamp: &Stamp) -> Result<u64, SnapshotError> {
        let (version, collections) =
            snapshot::load(path, stamp, self.decompounder.as_deref(), |input| {
                let count = input.len(24)?;
                let mut collections = HashMap::with_capacity(count);
                for _ in 0..count {
                    let name = input.text()?;
                    let language = match input.number::<u8>()? {
                        0 => Language::English,
                        1 => Language::Swedish,
                        _ => return Err(corrupt("unknown collection language")),
                    };
                    // The sign codes' centre further on holds `dimension` numbers.
                    let dimension = input.len(4)?;
                    let index = self.empty_collection(language, dimension).decode(input)?;
                    collections.insert(name, Arc::new(RwLock::new(index)));
                }
                Ok(collections)
            })?;
        *self.collections.write().expect("index lock") = collections;
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &str, text: &str, vector: [f32; 2]) -> IndexedChunk {
        IndexedChunk {
            chunk_id: id.into(),
            text: text.into(),
            embedding: Some(Arc::from(vector.to_vec())),
        }
    }

    #[test]
    fn equal_scores_rank_by_chunk_id_whatever_the_slots() {
        // The same twelve documents, all with the same text and vector, reach two indexes in
        // opposite orders, one of them with churn that reuses slots: equal hits everywhere.
        let document = |i: usize| {
            let chunks = vec![chunk(
                &format!("c{i:02}"),
                "samma text om böter",
                [0.6, 0.8],
            )];
            (format!("d{i:02}"), chunks)
        };
        let mut forward = CollectionIndex::new(Language::Swedish, 2, None);
        let mut backward = CollectionIndex::new(Language::Swedish, 2, None);
        for i in 0..12 {
            let (id, chunks) = document(i);
            forward.put_document(&id, BTreeMap::new(), chunks);
        }
        for i in (0..12).rev() {
            let (id, chunks) = document(i);
            backward.put_document(&id, BTreeMap::new(), chunks);
        }
        for i in [3, 7, 0] {
            let (id, chunks) = document(i);
            backward.remove_document(&id);
            backward.put_document(&id, BTreeMap::new(), chunks);
        }
        let all = MetadataFilter::default();
        for limit in [1, 2, 5, 11, 12, 20] {
            let bm25 = forward.bm25("böter", limit, &all);
            assert_eq!(bm25, backward.bm25("böter", limit, &all), "limit {limit}");
            let expected: Vec<String> = (0..limit.min(12)).map(|i| format!("c{i:02}")).collect();
            let ids: Vec<String> = bm25.into_iter().map(|(c, _)| c.chunk_id).collect();
            assert_eq!(ids, expected);
            let query = [0.6, 0.8];
            for scan in [DenseScan::Shortlist, DenseScan::Exhaustive] {
                assert_eq!(
                    forward.dense(&query, limit, scan, &all),
                    backward.dense(&query, limit, scan, &all),
                    "limit {limit}"
                );
            }
        }
    }

    #[test]
    fn a_snapshot_restores_every_collection_as_it_was() {
        let stamp = Stamp {
            store: "store-a".into(),
            model: "encoder/3".into(),
        };
        let original = SearchIndex::new(None);
        let meta = |court: &str| BTreeMap::from([("court".to_string(), Value::from(court))]);
        let english = original.ensure("laws", Language::English, 3);
        {
            let mut index = english.write().unwrap();
            // Churn first, so slots and term ids are reused and some are free.
            for i in 0..40 {
                let text = format!("section {i} on appeals to the supreme court and tribunals");
                let angle = i as f32 * 0.1;
                let chunks = vec![IndexedChunk {
                    chunk_id: format!("c{i}"),
                    text,
                    embedding: Some(Arc::from(vec![angle.cos(), angle.sin(), 0.1])),
                }];
                index.put_document(&format!("d{i}"), meta(["high", "low"][i % 2]), chunks);
            }
            for i in (0..40).step_by(3) {
                index.remove_document(&format!("d{i}"));
            }
            index.put_document(
                "d3",
                meta("high"),
                vec![IndexedChunk {
                    chunk_id: "c3-new".into(),
                    text: "a chunk without a vector about appeals".into(),
                    embedding: None,
                }],
            );
        }
        original.ensure("lagar", Language::Swedish, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.snapshot");
        original.save_snapshot(&path, &stamp, 17).unwrap();

        let loaded = SearchIndex::new(None);
        assert_eq!(loaded.load_snapshot(&path, &stamp).unwrap(), 17);
        assert!(loaded.collection("lagar").is_some());
        let (before, after) = (english.read().unwrap(), loaded.collection("laws").unwrap());
        let mut after = after.write().unwrap();
        assert_eq!(after.chunk_count(), before.chunk_count());
        assert_eq!(after.vector_count(), before.vector_count());
        let high = MetadataFilter::new(vec![("court".into(), Value::from("high"))]);
        for filter in [MetadataFilter::default(), high] {
            for query in ["appeals", "supreme tribunals", "section 7"] {
                assert_eq!(
                    after.bm25(query, 50, &filter),
                    before.bm25(query, 50, &filter)
                );
            }
            let query = [0.3f32.cos(), 0.3f32.sin(), 0.1];
            for scan in [DenseScan::Shortlist, DenseScan::Exhaustive] {
                assert_eq!(
                    after.dense(&query, 50, scan, &filter),
                    before.dense(&query, 50, scan, &filter)
                );
            }
        }
        // The loaded index keeps working: a replacement and a removal.
        after.put_document(
            "d1",
            meta("low"),
            vec![IndexedChunk {
                chunk_id: "c1-new".into(),
                text: "appeals in tax cases".into(),
                embedding: Some(Arc::from(vec![0.0, 1.0, 0.0])),
            }],
        );
        after.remove_document("d2");
        assert_eq!(after.chunk_count(), before.chunk_count() - 1);
        assert_eq!(
            after.bm25("tax", 5, &MetadataFilter::default())[0]
                .0
                .chunk_id,
            "c1-new"
        );

        let other = Stamp {
            store: "store-b".into(),
            ..stamp
        };
        assert!(matches!(
            SearchIndex::new(None).load_snapshot(&path, &other),
            Err(SnapshotError::Mismatch(_))
        ));
    }

    #[test]
    fn replace_and_remove_keep_the_indexes_in_step() {
        let mut index = CollectionIndex::new(Language::English, 2, None);
        let meta = |year: i64| BTreeMap::from([("year".to_string(), Value::from(year))]);
        index.put_document(
            "d1",
            meta(1974),
            vec![
                chunk("c1", "freedom of speech", [1.0, 0.0]),
                chunk("c2", "trial by jury", [0.0, 1.0]),
            ],
        );
        index.put_document(
            "d2",
            meta(2020),
            vec![chunk("c3", "speech in parliament", [0.6, 0.8])],
        );
        assert_eq!(index.chunk_count(), 3);
        let hits = index.bm25("speech", 10, &MetadataFilter::default());
        assert_eq!(hits.len(), 2);
        let filter = MetadataFilter::new(vec![("year".into(), Value::from(2020.0))]);
        let hits = index.bm25("speech", 10, &filter);
        assert_eq!(
            hits.iter()
                .map(|h| h.0.chunk_id.as_str())
                .collect::<Vec<_>>(),
            ["c3"]
        );
        let dense = index.dense(
            &[0.0, 1.0],
            1,
            DenseScan::Shortlist,
            &MetadataFilter::default(),
        );
        assert_eq!(dense[0].0.chunk_id, "c2");

        index.put_document(
            "d1",
            meta(1974),
            vec![chunk("c4", "due process", [0.0, 1.0])],
        );
        assert_eq!(index.chunk_count(), 2);
        assert!(
            index
                .bm25("jury", 10, &MetadataFilter::default())
                .is_empty()
        );
        assert_eq!(
            index.dense(
                &[0.0, 1.0],
                1,
                DenseScan::Shortlist,
                &MetadataFilter::default()
            )[0]
            .0
            .chunk_id,
            "c4"
        );
        index.remove_document("d2");
        assert_eq!(index.chunk_count(), 1);
        assert_eq!(index.vector_count(), 1);
        assert!(
            index
                .bm25("speech", 10, &MetadataFilter::default())
                .is_empty()
        );
    }
}
