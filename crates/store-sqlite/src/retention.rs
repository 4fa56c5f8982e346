//! The sweep of product org history by age (`--history-retention`).

use rusqlite::Connection;
use trailspark_store::StoreResult;

use crate::db::sqlite_error;

/// Most history rows one sweep job removes: the writer commits updates between jobs.
const PER_JOB: i64 = 10_000;

/// Removes history received before `before` (µs), oldest first; how many rows went, and
/// whether there may be more. History rows are appended in arrival order and kept in no index
/// by time (an update writes nothing it need not), so the sweep removes from the oldest row up
/// to the first one received since `before`; a row received earlier behind that one (a replay
/// keeps its delivery's time) goes once the rows before it have.
pub fn sweep(conn: &Connection, before: i64) -> StoreResult<(u64, bool)> {
    // Read lazily: most sweeps find the oldest row new enough and read no other.
    let mut oldest = conn
        .prepare_cached("SELECT id, received_at FROM product_org_history ORDER BY id LIMIT ?1")
        .map_err(sqlite_error)?;
    let mut rows = oldest.query([PER_JOB]).map_err(sqlite_error)?;
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
    Ok((removed as u64, old == PER_JOB))
}
