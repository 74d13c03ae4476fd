//! Identifiers the platform hands out (`mdtrt_id`, `setl_id`, `sign_no`).
//!
//! An id is a one-letter kind, the process's start time in milliseconds (13 digits) and a
//! per-process counter (10 digits): 24 characters, within the interface's C 30, unique across
//! restarts because a restart takes longer than a millisecond, and cheap (no database round
//! trip). Ids are opaque to clients.

use std::sync::atomic::{AtomicU64, Ordering};

/// Shared by every store of the process, so two stores opened in the same millisecond (tests)
/// never hand out the same id.
static COUNTER: AtomicU64 = AtomicU64::new(0);
static EPOCH_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

#[derive(Debug)]
pub(crate) struct IdGen {
    epoch_ms: u64,
}

impl IdGen {
    pub(crate) fn new() -> IdGen {
        // The store is an edge: reading the clock here (once, at start) is allowed.
        let epoch_ms = *EPOCH_MS.get_or_init(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        });
        IdGen { epoch_ms }
    }

    pub(crate) fn next(&self, kind: char) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{kind}{:013}{:010}", self.epoch_ms, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_fit_the_interface() {
        let ids = IdGen::new();
        let a = ids.next('S');
        let b = ids.next('S');
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
        assert!(a.starts_with('S'));
    }
}
