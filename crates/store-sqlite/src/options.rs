//! The tuning a SQLite store opens with.

use std::time::Duration;

use trailspark_core::step::DedupeWindow;

/// Tuning of a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How long a write waits for a lock held by another process before giving up (503).
    pub busy_timeout: Duration,
    /// Most write requests committed in one transaction.
    pub max_batch: usize,
    /// Most write requests waiting for the writer; beyond it writes are refused (503).
    pub queue_capacity: usize,
    /// WAL frames (4 KiB pages) at which the WAL starts over, once copied into the database
    /// file (copying begins at a quarter of this). At four times this the writer waits for the
    /// copy (unless a reader holds it back), so the WAL stays within about that.
    pub checkpoint_frames: i64,
    /// Bytes of the database file's pages the writer keeps in memory (SQLite's page cache).
    pub page_cache_bytes: usize,
    /// Bytes of product orgs the writer keeps in memory (their stored JSON and what holding
    /// it costs), so that an update of an org it knows reads nothing.
    pub org_cache_bytes: usize,
    /// How long a messageId is remembered (SPEC's 24 hours unless shortened).
    pub dedupe_window: DedupeWindow,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            max_batch: 512,
            queue_capacity: 16_384,
            checkpoint_frames: 65_536,
            page_cache_bytes: 8 << 20,
            org_cache_bytes: 8 << 20,
            dedupe_window: DedupeWindow::SPEC,
        }
    }
}
