//! The sweeps by age: product org history (`--history-retention`) and signals
//! (`--signal-retention`). Each job removes a bounded number of rows and says whether there may
//! be more, so that the writer commits updates between jobs.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use trailspark_store::StoreResult;

use crate::db::{micros, sqlite_error};
use crate::writer::{Ctx, Writer};

/// Most history rows one sweep job removes (a range of row ids, next to each other).
pub const HISTORY_PER_JOB: i64 = 10_000;

/// One sweep of the rows received before `before`: `job` after `job`, each a write of its
/// own, until one says there are no more; how many rows went in all.
pub async fn in_jobs(
    writer: &Writer,
    job: fn(&Connection, i64) -> StoreResult<(u64, bool)>,
    before: DateTime<Utc>,
) -> StoreResult<u64> {
    let (before, mut swept) = (micros(&before), 0);
    loop {
        let (removed, more) = writer
            .write(move |ctx: &Ctx<'_>, _| job(ctx, before))
            .await?;
        swept += removed;
        if !more {
            return Ok(swept);
        }
    }
}

/// Removes history received before `before` (µs), oldest first; how many rows went, and
/// whether there may be more. History rows are appended in arrival order and kept in no index
/// by time (an update writes nothing it need not), so the sweep removes from the oldest row up
/// to the first one received since `before`; a row received earlier behind that one (a replay
/// keeps its delivery's time) goes once the rows before it have.
pub fn sweep_history(conn: &Connection, before: i64) -> StoreResult<(u64, bool)> {
    // Read lazily: most sweeps find the oldest row new enough and read no other.
    let mut oldest = conn
        .prepare_cached("SELECT id, received_at FROM product_org_history ORDER BY id LIMIT ?1")
        .map_err(sqlite_error)?;
    let mut rows = oldest.query([HISTORY_PER_JOB]).map_err(sqlite_error)?;
    let (mut last, mut old) = (None, 0);
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let (id, at): (i64, i64) = (
            row.get(0).map_err(sqlite_error)?,
            row.get(1).map_err(sqlite_error)?,
        );
        if at >= before {
            break;
        }
        (last, old) = (Some(id), old + 1);
    }
    drop(rows);
    let Some(last) = last else {
        return Ok((0, false));
    };
    let removed = conn
        .prepare_cached("DELETE FROM product_org_history WHERE id <= ?1")
        .and_then(|mut s| s.execute([last]))
        .map_err(sqlite_error)?;
    Ok((removed as u64, old == HISTORY_PER_JOB))
}

/// Most signals one sweep job removes. Signals are kept in lead order, so the oldest are
/// spread over the whole table and each costs a page of its own to remove, as it did to add:
/// 10,000 took a job of 250 ms, which every update waited behind; 1,000 take 35 ms.
pub const SIGNALS_PER_JOB: i64 = 1_000;

/// Removes the signals received before ?1, at most ?2, oldest first: found in the index by
/// receive time, each removed by its key.
const DELETE_OLDEST_SIGNALS: &str = "DELETE FROM signals WHERE (tenant_id, lead_id, seq) IN (
    SELECT tenant_id, lead_id, seq FROM signals INDEXED BY signals_received
    WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)";

/// Removes up to [`SIGNALS_PER_JOB`] signals received before `before` (µs), oldest first;
/// how many went, and whether there may be more.
pub fn sweep_signals(conn: &Connection, before: i64) -> StoreResult<(u64, bool)> {
    let removed = conn
        .prepare_cached(DELETE_OLDEST_SIGNALS)
        .and_then(|mut s| s.execute((before, SIGNALS_PER_JOB)))
        .map_err(sqlite_error)?;
    Ok((removed as u64, removed as i64 == SIGNALS_PER_JOB))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep job's cost is the signals it removes, not the table: it finds them in the
    /// index by receive time and removes each by its key.
    #[test]
    fn the_signal_sweep_reads_no_signal_it_does_not_remove() {
        let plan = crate::db::query_plan(DELETE_OLDEST_SIGNALS);
        assert!(
            plan.contains("SEARCH signals USING PRIMARY KEY (tenant_id=? AND lead_id=? AND seq=?)")
                && plan.contains("signals_received (received_at<?)")
                && !plan.contains("SCAN"),
            "{plan}"
        );
    }
}
