//! The file format of index snapshots: every collection's in-process index saved to one
//! file, so that a start loads it instead of rebuilding from the store and replays only the
//! changes after it (`service/snapshots.rs`).
//!
//! Layout, little-endian: a magic number and the format version; the stamp (the store's
//! identity, the embedding model, a fingerprint of the text analyzers), which must match for
//! the snapshot to be used; the corpus version it holds; the body (each collection's index,
//! see [`super::index::SearchIndex::save_snapshot`]); a BLAKE3 hash of all that. Every length
//! is checked against what is left of the file, so a corrupt file fails to read rather than
//! allocating at random, and nothing is used before the hash has been checked. The file is
//! written beside its final name and renamed over it, so a reader sees a whole snapshot or
//! the previous one.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::analyzer::{self, AnalyzerLanguage};
use super::decompound::Decompounder;

/// First bytes of every snapshot.
const MAGIC: &[u8; 8] = b"CRAGIDX\0";
/// Version of the layout; a snapshot of another version is rebuilt, never read.
const FORMAT: u32 = 1;
/// Bytes read or written per call when moving arrays.
const BLOCK: usize = 1 << 16;
/// Texts analysed into the analyzer fingerprint: an index built by analyzers that split or
/// stem them differently holds terms no query would find.
const ANALYZER_PROBES: [(AnalyzerLanguage, &str); 2] = [
    (
        AnalyzerLanguage::English,
        "The Parliament's committees shall examine appeals concerning freedom of expression.",
    ),
    (
        AnalyzerLanguage::Swedish,
        "Riksdagens utskott ska bereda överklaganden om yttrandefrihet och tryckfrihetsmål.",
    ),
];

/// What a snapshot must have been made from to be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The identity of the database the indexes mirror.
    pub store: String,
    /// The embedding model (id and dimension) of the server.
    pub model: String,
}

/// Why a snapshot was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No file there.
    #[error("no snapshot file")]
    Missing,
    /// A whole snapshot, made from something else.
    #[error("made for {0}")]
    Mismatch(String),
    /// Not a whole, readable snapshot.
    #[error("unreadable: {0}")]
    Corrupt(String),
}

impl From<io::Error> for SnapshotError {
    fn from(err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => SnapshotError::Missing,
            _ => SnapshotError::Corrupt(err.to_string()),
        }
    }
}

/// A value stored as a fixed number of little-endian bytes.
pub(super) trait Raw: Sized {
    /// Its size in bytes.
    const SIZE: usize;
    /// Appends its bytes.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads it from exactly [`Raw::SIZE`] bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! raw_number {
    ($($ty:ty),*) => {$(
        impl Raw for $ty {
            const SIZE: usize = std::mem::size_of::<$ty>();
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$ty>::from_le_bytes(bytes.try_into().expect("exact size"))
            }
        }
    )*};
}
raw_number!(u8, u16, u32, u64, f32);

/// Writes a snapshot's values, hashing them as they go.
pub(super) struct Encoder<W: Write> {
    out: W,
    hasher: blake3::Hasher,
    block: Vec<u8>,
}

impl<W: Write> Encoder<W> {
    fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }

    /// One number.
    pub fn number<T: Raw>(&mut self, value: T) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(T::SIZE);
        value.put(&mut bytes);
        self.bytes(&bytes)
    }

    /// A count or length.
    pub fn len(&mut self, len: usize) -> io::Result<()> {
        self.number(len as u64)
    }

    /// A string.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.len(text.len())?;
        self.bytes(text.as_bytes())
    }

    /// `items` and their count, each as `SIZE` bytes written by `put`.
    pub fn records<T>(
        &mut self,
        items: &[T],
        size: usize,
        put: impl Fn(&T, &mut Vec<u8>),
    ) -> io::Result<()> {
        self.len(items.len())?;
        let mut block = std::mem::take(&mut self.block);
        for run in items.chunks((BLOCK / size.max(1)).max(1)) {
            block.clear();
            for item in run {
                put(item, &mut block);
            }
            debug_assert_eq!(block.len(), run.len() * size);
            self.bytes(&block)?;
        }
        self.block = block;
        Ok(())
    }

    /// An array of numbers and its length.
    pub fn array<T: Raw>(&mut self, items: &[T]) -> io::Result<()> {
        self.records(items, T::SIZE, T::put)
    }
}

/// Reads a snapshot's values, hashing them as they go; never reads past the hash.
pub(super) struct Decoder<R: Read> {
    input: R,
    hasher: blake3::Hasher,
    /// Bytes before the hash not read yet.
    left: u64,
    block: Vec<u8>,
}

impl<R: Read> Decoder<R> {
    fn bytes(&mut self, buffer: &mut [u8]) -> io::Result<()> {
        if buffer.len() as u64 > self.left {
            return Err(corrupt("truncated"));
        }
        self.input.read_exact(buffer)?;
        self.hasher.update(buffer);
        self.left -= buffer.len() as u64;
        Ok(())
    }

    /// One number.
    pub fn number<T: Raw>(&mut self) -> io::Result<T> {
        let mut bytes = [0u8; 8];
        self.bytes(&mut bytes[..T::SIZE])?;
        Ok(T::get(&bytes[..T::SIZE]))
    }

    /// A count or length of things of at least `size` bytes each, checked against what is
    /// left of the file.
    pub fn len(&mut self, size: usize) -> io::Result<usize> {
        let len: u64 = self.number()?;
        if len.saturating_mul(size as u64) > self.left {
            return Err(corrupt("a length runs past the end"));
        }
        Ok(len as usize)
    }

    /// A string.
    pub fn text(&mut self) -> io::Result<String> {
        let len = self.len(1)?;
        let mut bytes = vec![0; len];
        self.bytes(&mut bytes)?;
        String::from_utf8(bytes).map_err(|_| corrupt("text is not UTF-8"))
    }

    /// Records written by [`Encoder::records`], each read from `size` bytes by `get`.
    pub fn records<T>(&mut self, size: usize, get: impl Fn(&[u8]) -> T) -> io::Result<Vec<T>> {
        let len = self.len(size)?;
        let mut items = Vec::with_capacity(len);
        let mut block = std::mem::take(&mut self.block);
        let per_block = (BLOCK / size.max(1)).max(1);
        while items.len() < len {
            let run = per_block.min(len - items.len());
            block.resize(run * size, 0);
            self.bytes(&mut block)?;
            items.extend(block.chunks_exact(size.max(1)).map(&get));
        }
        self.block = block;
        Ok(items)
    }

    /// An array of numbers written by [`Encoder::array`].
    pub fn array<T: Raw>(&mut self) -> io::Result<Vec<T>> {
        self.records(T::SIZE, T::get)
    }
}

/// An error for malformed contents.
pub(super) fn corrupt(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Writes a snapshot of `version` stamped `stamp` to `path` (its body written by `body`),
/// atomically: a file beside it, synced, then renamed over it. Returns its size in bytes.
pub(super) fn save(
    path: &Path,
    stamp: &Stamp,
    decompounder: Option<&Decompounder>,
    version: u64,
    body: impl FnOnce(&mut Encoder<BufWriter<&File>>) -> io::Result<()>,
) -> io::Result<u64> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().ok_or_else(|| corrupt("no file name"))?;
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| {
        let file = File::create(&temporary)?;
        let mut encoder = Encoder {
            out: BufWriter::with_capacity(BLOCK * 4, &file),
            hasher: blake3::Hasher::new(),
            block: Vec::with_capacity(BLOCK),
        };
        encoder.bytes(MAGIC)?;
        encoder.number(FORMAT)?;
        encoder.text(&stamp.store)?;
        encoder.text(&stamp.model)?;
        encoder.text(&analyzer_fingerprint(decompounder))?;
        encoder.number(version)?;
        body(&mut encoder)?;
        let hash = encoder.hasher.finalize();
        encoder.out.write_all(hash.as_bytes())?;
        encoder.out.flush()?;
        drop(encoder);
        file.sync_all()?;
        let size = file.metadata()?.len();
        std::fs::rename(&temporary, path)?;
        // The rename is durable once the directory is; not every platform can sync one.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(size)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Reads the snapshot at `path` if it is whole and stamped `stamp` (its body read by `body`):
/// its corpus version and body.
pub(super) fn load<T>(
    path: &Path,
    stamp: &Stamp,
    decompounder: Option<&Decompounder>,
    body: impl FnOnce(&mut Decoder<BufReader<File>>) -> io::Result<T>,
) -> Result<(u64, T), SnapshotError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let hash_size = blake3::OUT_LEN as u64;
    if size < MAGIC.len() as u64 + hash_size {
        return Err(SnapshotError::Corrupt("shorter than a header".into()));
    }
    let mut decoder = Decoder {
        input: BufReader::with_capacity(BLOCK * 4, file),
        hasher: blake3::Hasher::new(),
        left: size - hash_size,
        block: Vec::with_capacity(BLOCK),
    };
    let mut magic = [0u8; 8];
    decoder.bytes(&mut magic)?;
    if &magic != MAGIC {
        return Err(SnapshotError::Corrupt("not an index snapshot".into()));
    }
    let format: u32 = decoder.number()?;
    if format != FORMAT {
        return Err(SnapshotError::Mismatch(format!("snapshot format {format}")));
    }
    let found = Stamp {
        store: decoder.text()?,
        model: decoder.text()?,
    };
    if found.store != stamp.store {
        return Err(SnapshotError::Mismatch(format!(
            "another database ({})",
            found.store
        )));
    }
    if found.model != stamp.model {
        return Err(SnapshotError::Mismatch(format!(
            "another embedding model ({})",
            found.model
        )));
    }
    if decoder.text()? != analyzer_fingerprint(decompounder) {
        return Err(SnapshotError::Mismatch("other text analyzers".into()));
    }
    let version: u64 = decoder.number()?;
    let contents = body(&mut decoder)?;
    if decoder.left != 0 {
        return Err(SnapshotError::Corrupt("data after the indexes".into()));
    }
    let mut hash = [0u8; blake3::OUT_LEN];
    decoder.input.read_exact(&mut hash)?;
    if blake3::Hash::from(hash) != decoder.hasher.finalize() {
        return Err(SnapshotError::Corrupt("checksum mismatch".into()));
    }
    Ok((version, contents))
}

/// A hash of the terms the analyzers (with `decompounder`) make of fixed texts.
fn analyzer_fingerprint(decompounder: Option<&Decompounder>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (language, text) in ANALYZER_PROBES {
        analyzer::for_each_term_with_parts(language, decompounder, text, |term| {
            hasher.update(term.as_bytes());
            hasher.update(&[0]);
        });
    }
    hasher.finalize().to_hex()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(store: &str) -> Stamp {
        Stamp {
            store: store.into(),
            model: "encoder-abc/384".into(),
        }
    }

    fn save_numbers(path: &Path, numbers: &[f32]) {
        save(path, &stamp("db-1"), None, 42, |out| out.array(numbers)).unwrap();
    }

    fn load_numbers(path: &Path, store: &str) -> Result<(u64, Vec<f32>), SnapshotError> {
        load(path, &stamp(store), None, super::Decoder::array::<f32>)
    }

    #[test]
    fn round_trips_and_refuses_other_stamps_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.snapshot");
        assert!(matches!(
            load_numbers(&path, "db-1"),
            Err(SnapshotError::Missing)
        ));
        let numbers: Vec<f32> = (0..100_000).map(|i| i as f32 * 0.25 - 7.0).collect();
        save_numbers(&path, &numbers);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let (version, read) = load_numbers(&path, "db-1").unwrap();
        assert_eq!(version, 42);
        assert_eq!(read, numbers);
        assert!(matches!(
            load_numbers(&path, "db-2"),
            Err(SnapshotError::Mismatch(_))
        ));

        let whole = std::fs::read(&path).unwrap();
        let mut flipped = whole.clone();
        flipped[whole.len() / 2] ^= 0x10;
        std::fs::write(&path, &flipped).unwrap();
        assert!(matches!(
            load_numbers(&path, "db-1"),
            Err(SnapshotError::Corrupt(_))
        ));
        for cut in [4, 30, whole.len() / 2, whole.len() - 1] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert!(
                matches!(load_numbers(&path, "db-1"), Err(SnapshotError::Corrupt(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_huge_length_in_a_damaged_file_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.snapshot");
        save_numbers(&path, &[1.0, 2.0]);
        let mut bytes = std::fs::read(&path).unwrap();
        // The array's length is the 8 bytes before its 8 bytes of values and the hash.
        let at = bytes.len() - blake3::OUT_LEN - 8 - 8;
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            load_numbers(&path, "db-1"),
            Err(SnapshotError::Corrupt(_))
        ));
    }
}
