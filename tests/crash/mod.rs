//! Pieces of the crash-safety test: the server as a child process, the ingestion workload
//! with its model of what may be stored, and the checks run on the data after each kill.

pub mod checks;
// Shared with tests/scale_out.rs; each test uses a different part of it.
#[allow(dead_code)]
pub mod process;
pub mod store;
pub mod workload;

/// The collection the test writes to.
pub const COLLECTION: &str = "crash";

/// A small seeded generator (SplitMix64): the same seed replays the same workload and kill
/// schedule (the moments themselves still depend on timing).
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }

    /// An index into a slice of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.range(0, len as u64) as usize
    }
}
