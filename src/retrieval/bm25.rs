//! In-process Okapi BM25 full-text index over the chunks of one collection.
//!
//! Layout: a term dictionary (hash table of term ids), one postings list of
//! `(slot, tf)` per term in no particular order, and per slot the document
//! length plus the list of `(term, position in that term's postings)`.
//! Removing a slot swap-removes each of its postings and fixes the position
//! of the posting that moved, so updates touch only that slot's terms and
//! memory stays proportional to the live content. Terms whose postings
//! become empty are dropped from the dictionary and their ids reused.
//!
//! Search is term-at-a-time into a dense per-thread score accumulator,
//! followed by a bounded top-k selection (`select_nth_unstable_by` on a buffer
//! of at most `2 * limit` candidates) — candidates are never all sorted.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashSet, HashTable};

use super::analyzer::{self, AnalyzerLanguage};
use super::decompound::Decompounder;
use super::snapshot::{Decoder, Encoder, corrupt};

/// Dense slot of a chunk inside one index (assigned by the caller, e.g.
/// position in its chunk table). Memory grows with the largest slot used.
pub type Slot = u32;

/// Internal id of a term in the dictionary.
type TermId = u32;

/// Okapi BM25 parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Document-length normalisation (0 = none, 1 = full).
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

/// One entry of a postings list.
#[derive(Debug, Clone, Copy)]
struct Posting {
    slot: Slot,
    /// Term frequency in the chunk, saturated at `u16::MAX`.
    tf: u16,
}

/// A term of a chunk and the index of its posting in the term's list.
#[derive(Debug, Clone, Copy)]
struct TermRef {
    term: TermId,
    pos: u32,
}

/// A dictionary entry. A released entry has an empty name and no postings.
#[derive(Debug, Clone, Default)]
struct Term {
    name: Box<str>,
    postings: Vec<Posting>,
}

/// Term strings to ids, with id reuse.
#[derive(Clone, Default)]
struct Dictionary {
    table: HashTable<TermId>,
    hasher: DefaultHashBuilder,
    terms: Vec<Term>,
    free: Vec<TermId>,
}

impl Dictionary {
    fn get(&self, name: &str) -> Option<TermId> {
        let hash = self.hasher.hash_one(name);
        let terms = &self.terms;
        self.table
            .find(hash, |&id| *terms[id as usize].name == *name)
            .copied()
    }

    fn get_or_insert(&mut self, name: &str) -> TermId {
        let hash = self.hasher.hash_one(name);
        let terms = &self.terms;
        if let Some(&id) = self
            .table
            .find(hash, |&id| *terms[id as usize].name == *name)
        {
            return id;
        }
        let id = self.allocate(name);
        let (terms, hasher) = (&self.terms, &self.hasher);
        self.table
            .insert_unique(hash, id, |&id| hasher.hash_one(&*terms[id as usize].name));
        id
    }

    fn allocate(&mut self, name: &str) -> TermId {
        let term = Term {
            name: name.into(),
            postings: Vec::new(),
        };
        if let Some(id) = self.free.pop() {
            self.terms[id as usize] = term;
            id
        } else {
            let id = TermId::try_from(self.terms.len()).expect("more than 2^32 terms");
            self.terms.push(term);
            id
        }
    }

    /// Drops a term whose postings are empty and frees its id.
    fn release(&mut self, id: TermId) {
        let name = std::mem::take(&mut self.terms[id as usize].name);
        let hash = self.hasher.hash_one(&*name);
        if let Ok(entry) = self.table.find_entry(hash, |&other| other == id) {
            entry.remove();
        }
        self.terms[id as usize].postings = Vec::new();
        self.free.push(id);
    }

    fn live_terms(&self) -> usize {
        self.table.len()
    }
}

/// An inverted index over the chunks of one collection.
#[derive(Clone)]
pub struct Bm25Index {
    language: AnalyzerLanguage,
    /// Splits Swedish compounds into extra terms, at index and query time alike.
    decompounder: Option<Arc<Decompounder>>,
    params: Bm25Params,
    dict: Dictionary,
    /// Per slot: its terms sorted by id, or `None` when the slot is empty.
    docs: Vec<Option<Box<[TermRef]>>>,
    /// Per slot: document length in terms (0 for empty slots).
    lens: Vec<u32>,
    live: usize,
    total_len: u64,
}

impl fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bm25Index")
            .field("language", &self.language)
            .field("decompounding", &self.decompounder.is_some())
            .field("params", &self.params)
            .field("chunks", &self.live)
            .field("terms", &self.dict.live_terms())
            .finish_non_exhaustive()
    }
}

impl Bm25Index {
    /// An empty index analysing text in `language`.
    pub fn new(language: AnalyzerLanguage, params: Bm25Params) -> Self {
        Self {
            language,
            decompounder: None,
            params,
            dict: Dictionary::default(),
            docs: Vec::new(),
            lens: Vec::new(),
            live: 0,
            total_len: 0,
        }
    }

    /// This index, empty, splitting Swedish compounds with `decompounder` (English text is
    /// not affected). Use it before inserting anything: index and queries must agree.
    pub fn with_decompounder(mut self, decompounder: Arc<Decompounder>) -> Self {
        debug_assert!(self.is_empty());
        self.decompounder = Some(decompounder);
        self
    }

    /// The analyzer language of this index.
    pub fn language(&self) -> AnalyzerLanguage {
        self.language
    }

    /// The BM25 parameters of this index.
    pub fn params(&self) -> Bm25Params {
        self.params
    }

    /// Number of live chunks.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no chunk is indexed.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// True when `slot` holds a chunk.
    pub fn contains(&self, slot: Slot) -> bool {
        matches!(self.docs.get(slot as usize), Some(Some(_)))
    }

    /// Number of distinct terms in the dictionary.
    pub fn term_count(&self) -> usize {
        self.dict.live_terms()
    }

    /// Approximate heap memory used by the index, in bytes.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let terms: usize = self
            .dict
            .terms
            .iter()
            .map(|t| t.name.len() + t.postings.capacity() * size_of::<Posting>())
            .sum();
        let docs: usize = self.docs.iter().flatten().map(|d| d.len()).sum();
        terms
            + self.dict.terms.capacity() * size_of::<Term>()
            + self.dict.table.allocation_size()
            + self.dict.free.capacity() * size_of::<TermId>()
            + docs * size_of::<TermRef>()
            + self.docs.capacity() * size_of::<Option<Box<[TermRef]>>>()
            + self.lens.capacity() * size_of::<u32>()
    }

    /// Releases spare capacity (e.g. after the initial bulk build).
    pub fn shrink_to_fit(&mut self) {
        for term in &mut self.dict.terms {
            term.postings.shrink_to_fit();
        }
        self.dict.terms.shrink_to_fit();
        self.dict.table.shrink_to_fit(|&id| {
            self.dict
                .hasher
                .hash_one(&*self.dict.terms[id as usize].name)
        });
        self.docs.shrink_to_fit();
        self.lens.shrink_to_fit();
    }

    /// Indexes (or re-indexes: replaces) the text of `slot`.
    pub fn insert(&mut self, slot: Slot, text: &str) {
        self.remove(slot);
        let mut ids = Vec::new();
        let dict = &mut self.dict;
        let decompounder = self.decompounder.as_deref();
        analyzer::for_each_term_with_parts(self.language, decompounder, text, |term| {
            ids.push(dict.get_or_insert(term));
        });
        let len = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        ids.sort_unstable();
        let refs = self.link(slot, &ids);
        let index = slot as usize;
        if index >= self.docs.len() {
            self.docs.resize(index + 1, None);
            self.lens.resize(index + 1, 0);
        }
        self.docs[index] = Some(refs);
        self.lens[index] = len;
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Appends the postings of `slot` for the sorted term ids `ids`.
    fn link(&mut self, slot: Slot, ids: &[TermId]) -> Box<[TermRef]> {
        let mut refs = Vec::with_capacity(ids.chunk_by(|a, b| a == b).count());
        for run in ids.chunk_by(|a, b| a == b) {
            let term = run[0];
            let tf = u16::try_from(run.len()).unwrap_or(u16::MAX);
            let postings = &mut self.dict.terms[term as usize].postings;
            let pos = u32::try_from(postings.len()).expect("postings list too long");
            postings.push(Posting { slot, tf });
            refs.push(TermRef { term, pos });
        }
        refs.into_boxed_slice()
    }

    /// Removes `slot`; a no-op if absent.
    pub fn remove(&mut self, slot: Slot) {
        let Some(refs) = self.docs.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        for r in &refs {
            self.unlink(*r);
        }
        let len = std::mem::take(&mut self.lens[slot as usize]);
        self.live -= 1;
        self.total_len -= u64::from(len);
    }

    /// Removes one posting and repairs the back-reference of the posting
    /// that took its place.
    fn unlink(&mut self, r: TermRef) {
        let postings = &mut self.dict.terms[r.term as usize].postings;
        postings.swap_remove(r.pos as usize);
        if let Some(moved) = postings.get(r.pos as usize) {
            let moved_slot = moved.slot as usize;
            shrink_if_sparse(postings);
            let refs = self.docs[moved_slot]
                .as_mut()
                .expect("posting of an empty slot");
            let i = refs
                .binary_search_by_key(&r.term, |t| t.term)
                .expect("posting without back-reference");
            refs[i].pos = r.pos;
        } else if postings.is_empty() {
            self.dict.release(r.term);
        } else {
            shrink_if_sparse(postings);
        }
    }

    /// The best `limit` slots for `query`, best first (ties: smaller slot
    /// first). Query terms are OR-ed and duplicates counted once. With
    /// `allowed`, only slots it accepts are candidates, and the limit applies
    /// after that filter.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        if limit == 0 || self.live == 0 {
            return Vec::new();
        }
        let weighted = self.query_terms(query);
        if weighted.is_empty() {
            return Vec::new();
        }
        with_scratch(|scratch| {
            scratch.prepare(self.docs.len());
            let dense = self.accumulate(&weighted, scratch);
            let mut top = TopK::new(limit);
            scratch.drain(dense, |slot, score| {
                if top.accepts(slot, score) && allowed.is_none_or(|f| f(slot)) {
                    top.push(slot, score);
                }
                top.floor()
            });
            top.into_sorted()
        })
    }

    /// The distinct known terms of `query` in order of first appearance,
    /// each with its BM25 weight `idf * (k1 + 1)`.
    fn query_terms(&self, query: &str) -> Vec<(TermId, f32)> {
        let mut ids: Vec<TermId> = Vec::new();
        let mut seen = HashSet::new();
        let decompounder = self.decompounder.as_deref();
        analyzer::for_each_term_with_parts(self.language, decompounder, query, |term| {
            if let Some(id) = self.dict.get(term)
                && seen.insert(id)
            {
                ids.push(id);
            }
        });
        let n_docs = self.live as f64;
        let k1 = f64::from(self.params.k1);
        ids.into_iter()
            .map(|id| {
                let n = self.dict.terms[id as usize].postings.len() as f64;
                let idf = (1.0 + (n_docs - n + 0.5) / (n + 0.5)).ln();
                (id, (idf * (k1 + 1.0)) as f32)
            })
            .collect()
    }

    /// Adds every query term's contributions into the accumulator; returns
    /// whether the dense (full scan) collection mode was used.
    fn accumulate(&self, weighted: &[(TermId, f32)], scratch: &mut Scratch) -> bool {
        let postings = |id: TermId| self.dict.terms[id as usize].postings.as_slice();
        let total: usize = weighted.iter().map(|&(id, _)| postings(id).len()).sum();
        let dense = total >= self.docs.len() / 8;
        let Bm25Params { k1, b } = self.params;
        let avgdl = self.total_len as f32 / self.live as f32;
        let norm = LengthNorm {
            base: k1 * (1.0 - b),
            per_term: if avgdl > 0.0 { k1 * b / avgdl } else { 0.0 },
        };
        for &(id, weight) in weighted {
            let list = postings(id);
            if dense {
                score_postings::<false>(scratch, list, &self.lens, weight, norm);
            } else {
                score_postings::<true>(scratch, list, &self.lens, weight, norm);
            }
        }
        dense
    }
}

impl Bm25Index {
    /// Writes the index to a snapshot: per slot its length and whether it holds a chunk, the
    /// dictionary with each term's postings, and the free term ids. The per-slot term lists
    /// and the term table are rebuilt from those on reading.
    pub(super) fn encode<W: std::io::Write>(&self, out: &mut Encoder<W>) -> std::io::Result<()> {
        out.array(&self.lens)?;
        let present: Vec<u8> = self.docs.iter().map(|d| u8::from(d.is_some())).collect();
        out.array(&present)?;
        out.len(self.dict.terms.len())?;
        for term in &self.dict.terms {
            out.text(&term.name)?;
            out.records(&term.postings, 6, |posting, bytes| {
                bytes.extend_from_slice(&posting.slot.to_le_bytes());
                bytes.extend_from_slice(&posting.tf.to_le_bytes());
            })?;
        }
        out.array(&self.dict.free)
    }

    /// Reads an index written by [`Bm25Index::encode`] into an empty `self` (analysing as
    /// `self` does).
    pub(super) fn decode<R: std::io::Read>(
        mut self,
        input: &mut Decoder<R>,
    ) -> std::io::Result<Self> {
        let lens: Vec<u32> = input.array()?;
        let present: Vec<u8> = input.array()?;
        if present.len() != lens.len() {
            return Err(corrupt("BM25 slot tables differ in length"));
        }
        let term_count = input.len(16)?;
        let mut terms = Vec::with_capacity(term_count);
        let mut refs_per_slot = vec![0u32; lens.len()];
        for _ in 0..term_count {
            let name: Box<str> = input.text()?.into();
            let postings = input.records(6, |bytes| Posting {
                slot: u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")),
                tf: u16::from_le_bytes(bytes[4..].try_into().expect("2 bytes")),
            })?;
            for posting in &postings {
                match present.get(posting.slot as usize) {
                    Some(1) => refs_per_slot[posting.slot as usize] += 1,
                    _ => return Err(corrupt("a posting of an empty BM25 slot")),
                }
            }
            if name.is_empty() != postings.is_empty() {
                return Err(corrupt("a BM25 term without postings"));
            }
            terms.push(Term { name, postings });
        }
        let free: Vec<TermId> = input.array()?;
        if free
            .iter()
            .any(|&id| terms.get(id as usize).is_none_or(|t| !t.name.is_empty()))
        {
            return Err(corrupt("a free BM25 term id in use"));
        }
        let mut docs: Vec<Option<Vec<TermRef>>> = present
            .iter()
            .zip(&refs_per_slot)
            .map(|(&p, &n)| (p == 1).then(|| Vec::with_capacity(n as usize)))
            .collect();
        for (id, term) in terms.iter().enumerate() {
            for (pos, posting) in term.postings.iter().enumerate() {
                let refs = docs[posting.slot as usize].as_mut().expect("checked above");
                if refs.last().is_some_and(|r| r.term == id as TermId) {
                    return Err(corrupt("a BM25 slot listed twice in one term"));
                }
                refs.push(TermRef {
                    term: id as TermId,
                    pos: pos as u32,
                });
            }
        }
        let dict = &mut self.dict;
        dict.terms = terms;
        dict.free = free;
        let (table, hasher, terms) = (&mut dict.table, &dict.hasher, &dict.terms);
        for (id, term) in terms.iter().enumerate().filter(|(_, t)| !t.name.is_empty()) {
            let hash = hasher.hash_one(&*term.name);
            table.insert_unique(hash, id as TermId, |&id| {
                hasher.hash_one(&*terms[id as usize].name)
            });
        }
        self.live = docs.iter().flatten().count();
        self.total_len = lens
            .iter()
            .zip(&present)
            .filter(|(_, p)| **p == 1)
            .map(|(len, _)| u64::from(*len))
            .sum();
        self.docs = docs
            .into_iter()
            .map(|refs| refs.map(Vec::into_boxed_slice))
            .collect();
        self.lens = lens;
        Ok(self)
    }
}

/// Shrinks a postings list that has lost most of its entries.
fn shrink_if_sparse(postings: &mut Vec<Posting>) {
    if postings.capacity() > 64 && postings.len() * 4 < postings.capacity() {
        postings.shrink_to(postings.len() * 2);
    }
}

/// The length part of the BM25 denominator: `base + per_term * dl`.
#[derive(Clone, Copy)]
struct LengthNorm {
    base: f32,
    per_term: f32,
}

/// Adds `weight * tf / (tf + norm(dl))` for each posting; `TRACK` records
/// newly touched slots (sparse mode).
fn score_postings<const TRACK: bool>(
    scratch: &mut Scratch,
    postings: &[Posting],
    lens: &[u32],
    weight: f32,
    norm: LengthNorm,
) {
    for p in postings {
        let tf = f32::from(p.tf);
        let dl = lens[p.slot as usize] as f32;
        let contribution = weight * tf / (tf + norm.base + norm.per_term * dl);
        let acc = &mut scratch.acc[p.slot as usize];
        if TRACK && *acc == 0.0 {
            scratch.touched.push(p.slot);
        }
        *acc += contribution;
    }
}

/// Per-thread reusable score accumulator. All scores are positive, so a zero
/// marks an untouched slot.
#[derive(Default)]
struct Scratch {
    acc: Vec<f32>,
    touched: Vec<Slot>,
    /// Number of slots of the index being searched.
    active: usize,
    /// Set while `acc` may hold non-zero values (e.g. after a panic).
    dirty: bool,
}

impl Scratch {
    fn prepare(&mut self, slots: usize) {
        if self.dirty {
            self.acc.fill(0.0);
            self.touched.clear();
        }
        if self.acc.len() < slots {
            self.acc.resize(slots, 0.0);
        }
        self.active = slots;
        self.dirty = true;
    }

    /// Visits the scored slots whose score is at least the floor returned
    /// by the previous visit, and leaves the accumulator zeroed.
    fn drain(&mut self, dense: bool, mut visit: impl FnMut(Slot, f32) -> f32) {
        let mut floor = 0.0;
        if dense {
            let acc = &mut self.acc[..self.active];
            for (slot, &score) in acc.iter().enumerate() {
                if score >= floor && score != 0.0 {
                    floor = visit(slot as Slot, score);
                }
            }
            acc.fill(0.0);
        } else {
            for &slot in &self.touched {
                let score = std::mem::take(&mut self.acc[slot as usize]);
                if score >= floor {
                    floor = visit(slot, score);
                }
            }
            self.touched.clear();
        }
        self.dirty = false;
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `f` with this thread's scratch, or a fresh one when it is in use
/// (a search nested inside an `allowed` callback).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Result order: higher score first, then smaller slot.
fn rank(a: &(Slot, f32), b: &(Slot, f32)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Bounded top-k: keeps at most `2 * limit` candidates, pruning to the best
/// `limit` with a partial selection whenever the buffer fills.
struct TopK {
    limit: usize,
    buf: Vec<(Slot, f32)>,
    /// The worst kept candidate after the last pruning.
    threshold: Option<(Slot, f32)>,
}

impl TopK {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            buf: Vec::with_capacity(limit.saturating_mul(2).min(4096)),
            threshold: None,
        }
    }

    /// Scores below this cannot make the final list.
    fn floor(&self) -> f32 {
        self.threshold.map_or(0.0, |(_, score)| score)
    }

    /// False when the candidate cannot make the final list.
    fn accepts(&self, slot: Slot, score: f32) -> bool {
        self.threshold
            .is_none_or(|t| rank(&(slot, score), &t) == Ordering::Less)
    }

    fn push(&mut self, slot: Slot, score: f32) {
        self.buf.push((slot, score));
        if self.buf.len() >= self.limit.saturating_mul(2) {
            self.prune();
            self.threshold = self.buf.last().copied();
        }
    }

    fn prune(&mut self) {
        if self.buf.len() > self.limit {
            self.buf.select_nth_unstable_by(self.limit - 1, rank);
            self.buf.truncate(self.limit);
        }
    }

    fn into_sorted(mut self) -> Vec<(Slot, f32)> {
        self.prune();
        self.buf.sort_unstable_by(rank);
        self.buf
    }
}
