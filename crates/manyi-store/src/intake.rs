//! Operational figures of the group commit's multi-row fast path (`sqlite/intake.rs`,
//! `postgres/intake.rs`), counted since the store opened.
//!
//! The fast path writes a batch of creates with one statement per table; when one of its
//! creates cannot be written (an unknown unit, a number taken) the whole batch is rolled back
//! and written again one create at a time, so every create gets its own answer. A fallback is
//! correct but costs the batch twice: an operator who sees many of them (a client sending
//! creates for a deleted unit, say) should know. So they are counted here, served by
//! `GET /api/v1/ops`, and logged at `warn` at most once a minute with how many there were.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the group commit did since the store opened (this instance only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeFigures {
    /// Write transactions the group commit ran (each one commit).
    pub batches: u64,
    /// Creates written by the multi-row fast path.
    pub fast_creates: u64,
    /// Jobs written one at a time, each in its own savepoint: replays, refusals, updates
    /// (SQLite's batches carry those too), lone creates, and the creates of batches that
    /// fell back.
    pub one_at_a_time: u64,
    /// Batches whose fast path failed and was rolled back, then written one at a time.
    pub fallbacks: u64,
}

/// The shortest time between two warnings about fallbacks.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The counters behind [`IntakeFigures`], shared by a store's clones.
#[derive(Debug, Default)]
pub(crate) struct IntakeCounters {
    batches: AtomicU64,
    fast_creates: AtomicU64,
    one_at_a_time: AtomicU64,
    fallbacks: AtomicU64,
    /// When the last warning went out and the fallback count it reported.
    warned: Mutex<Option<(Instant, u64)>>,
}

impl IntakeCounters {
    /// Counts one batch: `fast` creates written by the fast path, `slow` jobs one at a time.
    pub(crate) fn batch(&self, fast: usize, slow: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.fast_creates.fetch_add(fast as u64, Ordering::Relaxed);
        self.one_at_a_time.fetch_add(slow as u64, Ordering::Relaxed);
    }

    /// Counts a fallback of a batch of `jobs`; warns if none was reported in the last minute.
    pub(crate) fn fell_back(&self, jobs: usize, error: &crate::StoreError) {
        // The driver's own message (which constraint failed) says more than our wrapper's
        // "database error"; it names a constraint or a column, never a value.
        let error = match error {
            crate::StoreError::Database(inner) => inner.to_string(),
            other => other.to_string(),
        };
        let total = self.fallbacks.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(jobs, error = %error, "multi-row create batch fell back to one create at a time");
        // A poisoned lock only means a panic while logging: the pair is still usable.
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (since, before) = match *warned {
            Some((at, _)) if now.duration_since(at) < WARN_EVERY => return,
            Some((at, count)) => (now.duration_since(at), count),
            None => (Duration::ZERO, 0),
        };
        let batches = self.batches.load(Ordering::Relaxed);
        tracing::warn!(
            fallbacks = total - before,
            since_s = since.as_secs(),
            fallbacks_total = total,
            batches_total = batches,
            last_error = %error,
            "create batches fell back from the multi-row fast path to one create at a time \
             (a create of the batch could not be written; see GET /api/v1/ops)"
        );
        *warned = Some((now, total));
    }

    pub(crate) fn figures(&self) -> IntakeFigures {
        IntakeFigures {
            batches: self.batches.load(Ordering::Relaxed),
            fast_creates: self.fast_creates.load(Ordering::Relaxed),
            one_at_a_time: self.one_at_a_time.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }
}

impl crate::Store {
    /// What this instance's group commit did since the store opened: batches, creates written
    /// by the multi-row fast path, jobs written one at a time, and fallbacks.
    pub fn intake_figures(&self) -> IntakeFigures {
        match &self.backend {
            crate::Backend::Sqlite(b) => b.intake.figures(),
            crate::Backend::Postgres(b) => b.intake.figures(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_batches_and_fallbacks() {
        let c = IntakeCounters::default();
        c.batch(10, 2);
        let e = crate::StoreError::Conflict;
        c.fell_back(5, &e);
        c.batch(0, 5);
        c.fell_back(3, &e);
        assert_eq!(
            c.figures(),
            IntakeFigures {
                batches: 2,
                fast_creates: 10,
                one_at_a_time: 7,
                fallbacks: 2,
            }
        );
    }
}
