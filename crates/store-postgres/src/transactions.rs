//! The store's transactions: writes, whose failures are its write health (`/readyz`), the
//! write probe, and read-only snapshots.

use deadpool_postgres::{Object, Transaction};
use tokio_postgres::IsolationLevel;
use trailspark_store::StoreResult;

use crate::db::{pg_error, pool_error};
use crate::PostgresStore;

/// Rows of the write probe: 256 KiB of pages at about 36 bytes a row (a tuple header, the
/// timestamp and its line pointer).
const PROBE_ROWS: u32 = 7_300;

impl PostgresStore {
    /// Runs `f` in a transaction committed when it succeeds (rolled back when it fails). A
    /// failure is recorded in the store's write health; a success is not (only the probe's
    /// is: see `WriteHealth`).
    pub(crate) async fn write<T>(
        &self,
        f: impl AsyncFnOnce(&mut Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let written = in_transaction(&mut client, f).await;
        if let Err(e) = &written {
            self.write_health.failed(e);
        }
        written
    }

    /// The write probe of `/readyz`: a write whose outcome, recorded, alone says that writes
    /// commit again.
    ///
    /// Why this write: PostgreSQL takes new pages from the disk when a table's file grows
    /// (writing them at once, so a full disk fails that statement), and rows that fit in pages
    /// the table already has need no new space: such a probe would commit on a full disk while
    /// every new org fails. Emptying the table gives it a new, empty file, so the rows after it
    /// need new pages on the store's tablespace: [`PROBE_ROWS`] of them take 256 KiB, a large
    /// batch's worth (a batch that failed can leave a few pages with room behind, where a
    /// one-page probe would commit while every batch still fails). It fails while that disk is
    /// full and commits once there is room, costing a file made and one removed, under a lock
    /// only probes take, and it runs only while writes fail.
    pub(crate) async fn probe(&self) -> StoreResult<()> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let probed = in_transaction(&mut client, async |tx| {
            let sql = format!(
                "TRUNCATE write_probe;
                 INSERT INTO write_probe SELECT now() FROM generate_series(1, {PROBE_ROWS})"
            );
            tx.batch_execute(&sql).await.map_err(pg_error)
        })
        .await;
        self.write_health.probed(&probed);
        probed
    }

    /// Runs `f` in a read-only REPEATABLE READ transaction: all its reads see one snapshot.
    pub(crate) async fn snapshot<T>(
        &self,
        f: impl AsyncFnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        let out = f(&tx).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(out)
    }
}

/// Runs `f` in a transaction on `client`, committed when it succeeds. No connection free in
/// time (the pool's error, before this) is this process being busy, not the database failing
/// to write: only what happens here is a write's outcome.
async fn in_transaction<T>(
    client: &mut Object,
    f: impl AsyncFnOnce(&mut Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut tx = client.transaction().await.map_err(pg_error)?;
    let out = f(&mut tx).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(out)
}
