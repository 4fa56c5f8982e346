//! The write probe of `/readyz`: how a store whose writes failed finds out that they commit
//! again when no update comes to show it.

use trailspark_store::StoreResult;

use super::Writer;
use crate::db::sqlite_error;

/// How much the probe writes: a large batch's worth of pages (64).
const PROBE_BYTES: i64 = 256 * 1024;

impl Writer {
    /// Commits a write of [`PROBE_BYTES`] through the writer, like any write, and records its
    /// outcome in [`Writer::health`].
    ///
    /// Why this write: SQLite writes a transaction's pages only when it commits, appending them
    /// to the WAL, so a write rolled back never touches the disk and cannot tell a full one;
    /// nor can a write that changes no byte (SQLite then writes no page), hence random bytes.
    /// The commit appends its pages to the WAL where every update's commit goes: it fails when
    /// the WAL cannot grow by that much and commits when it can, as the next updates would.
    /// Why that much: a batch that failed on a full disk leaves the frames it did write in the
    /// WAL's file, space the next commit reuses, so a one-page probe would commit there while
    /// every batch of updates still fails. (When the WAL has started over, its commits reuse
    /// all of the file's space, for the probe and updates alike.) Free space alone would not
    /// do either: it says nothing of a read-only or failing disk, and how much is enough is the
    /// WAL's. The cost, only while writes fail: 256 KiB a second at most.
    pub async fn probe(&self) -> StoreResult<()> {
        let probed = self
            .write(|conn, _| {
                conn.prepare_cached(
                    "INSERT INTO write_probe (id, probes, room) VALUES (1, 1, randomblob(?1))
                 ON CONFLICT (id) DO UPDATE SET probes = probes + 1, room = excluded.room",
                )
                .and_then(|mut statement| statement.execute([PROBE_BYTES]))
                .map(drop)
                .map_err(sqlite_error)
            })
            .await;
        self.health.probed(&probed);
        probed
    }
}
