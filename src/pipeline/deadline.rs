//! The per-request time budget: optional stages run only while enough of it is left.

use std::time::{Duration, Instant};

/// When an answer must be finished.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    ends: Instant,
    reserve: Duration,
}

impl Deadline {
    /// A budget of `budget` from now; optional stages need `reserve` of it left.
    pub fn new(budget: Duration, reserve: Duration) -> Self {
        Self {
            ends: Instant::now() + budget,
            reserve,
        }
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.ends.saturating_duration_since(Instant::now())
    }

    /// Whether an optional stage may still run.
    pub fn allows_optional(&self) -> bool {
        self.remaining() > self.reserve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_stages_need_the_reserve() {
        let roomy = Deadline::new(Duration::from_secs(10), Duration::from_secs(1));
        assert!(roomy.allows_optional());
        let tight = Deadline::new(Duration::from_millis(500), Duration::from_secs(1));
        assert!(!tight.allows_optional() && !tight.remaining().is_zero());
        let spent = Deadline::new(Duration::ZERO, Duration::ZERO);
        assert!(spent.remaining().is_zero() && !spent.allows_optional());
    }
}
