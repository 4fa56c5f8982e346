//! Whether the store's writes commit: what `/readyz` reports besides the store answering. A
//! full disk still answers reads (and `SELECT 1`), so readiness follows the writes themselves:
//! each backend records here every write that fails, at the place where it commits, and the
//! outcome of its write probe, which alone says that writes commit again. Nothing else
//! decides what an outcome means.
//!
//! Why only the probe: on a nearly full disk a small write still commits in space the store's
//! files already hold (frames a failed batch left in SQLite's WAL, room in a PostgreSQL page)
//! while every batch of updates fails. A key's last use committing so would make the instance
//! ready while it refuses every update; the probe is made to need new space, as updates do
//! (see each backend's).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::{StoreError, StoreResult};

/// How often a write probe may run while writes fail ([`WriteHealth::probe_due`]): `/readyz`
/// is public, and each probe is a commit.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Since when, and why, the store's writes fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    /// When the first of the failed commits in a row failed.
    pub since: DateTime<Utc>,
    /// The last failure's cause chain: for the operator's log, not for a response body (it
    /// names files and tables).
    pub cause: String,
}

/// Whether a store's writes fail: since the last write that failed, no probe committed.
#[derive(Debug, Default)]
pub struct WriteHealth {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failure: Option<WriteFailure>,
    last_probe: Option<Instant>,
}

impl WriteHealth {
    /// Records the outcome of a write probe: one that committed clears a failure, one that
    /// failed is one (see [`WriteHealth::failed`]).
    pub fn probed<T>(&self, outcome: &StoreResult<T>) {
        match outcome {
            Ok(_) => self.state().failure = None,
            Err(e) => self.failed(e),
        }
    }

    /// Records a write that failed: an error of the store being unavailable (a full disk, an
    /// I/O error, a lost connection) is a failure of its writes. Any other error is the
    /// request's own (a conflict, a refused statement) and says nothing about whether writes
    /// commit, so it changes nothing.
    pub fn failed(&self, error: &StoreError) {
        if !error.is_unavailable() {
            return;
        }
        let mut state = self.state();
        let since = state.failure.as_ref().map_or_else(Utc::now, |f| f.since);
        state.failure = Some(WriteFailure {
            since,
            cause: error.chain(),
        });
    }

    /// `Some` from a write that failed for want of the store until a probe commits.
    pub fn failure(&self) -> Option<WriteFailure> {
        self.state().failure.clone()
    }

    /// Whether a write probe should run now: writes fail, and no probe ran in the last
    /// [`PROBE_EVERY`]. Taking the turn starts the wait for the next, so callers at once do
    /// not all probe.
    pub fn probe_due(&self) -> bool {
        let mut state = self.state();
        let due = state.failure.is_some()
            && state
                .last_probe
                .is_none_or(|last| last.elapsed() >= PROBE_EVERY);
        if due {
            state.last_probe = Some(Instant::now());
        }
        due
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two plain values, whole after any panic: a poisoned lock still holds it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_that_commits_clears_a_failure_and_only_unavailable_errors_set_one() {
        let health = WriteHealth::default();
        assert_eq!(health.failure(), None, "a new store writes");
        health.failed(&StoreError::conflict("the subdomain acme is taken"));
        assert_eq!(health.failure(), None, "a conflict is the request's own");
        health.probed::<()>(&Err(StoreError::other("corrupt JSON")));
        assert_eq!(health.failure(), None, "so is a refused statement");

        let full = std::io::Error::other("database or disk is full");
        health.failed(&StoreError::unavailable("cannot write").caused_by(full));
        let first = health.failure().expect("a full disk is a failure");
        assert!(first.cause.contains("disk is full"), "{first:?}");
        health.probed::<()>(&Err(StoreError::unavailable("still cannot write")));
        let second = health.failure().expect("a probe that fails is one too");
        assert_eq!(second.since, first.since, "failing since the first failure");
        assert!(
            second.cause.contains("still cannot write"),
            "the last cause"
        );

        health.probed(&Ok(()));
        assert_eq!(health.failure(), None, "a probe that commits clears it");
    }

    #[test]
    fn a_probe_is_due_only_while_writes_fail_and_once_per_interval() {
        let health = WriteHealth::default();
        assert!(
            !health.probe_due(),
            "nothing to find out while writes commit"
        );
        health.failed(&StoreError::unavailable("disk full"));
        assert!(health.probe_due(), "the first caller probes");
        assert!(!health.probe_due(), "the next waits for PROBE_EVERY");
        health.state().last_probe = Some(Instant::now() - PROBE_EVERY);
        assert!(health.probe_due(), "and probes again after it");
    }
}
