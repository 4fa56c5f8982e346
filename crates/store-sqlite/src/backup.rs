//! `trailspark backup`: a consistent copy of the store while it stays in use.

use std::path::Path;

use trailspark_store::{StoreError, StoreResult};

use crate::SqliteStore;

impl SqliteStore {
    /// Writes a consistent copy of the whole store to `to` (which must not exist) while the
    /// store stays in use: `VACUUM INTO` reads one snapshot, so writes committed meanwhile are
    /// simply not in the copy. The copy is a complete SQLite store, compacted.
    pub async fn backup(&self, to: &Path) -> StoreResult<()> {
        if to.exists() {
            return Err(StoreError::conflict(format!(
                "{} exists; back up to a new file",
                to.display()
            )));
        }
        let target = to.to_string_lossy().into_owned();
        self.read(move |conn| {
            conn.execute("VACUUM INTO ?1", [target])
                .map(|_| ())
                .map_err(crate::db::sqlite_error)
        })
        .await
    }
}
