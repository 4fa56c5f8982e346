//! The sweep of product org history by age (`--history-retention-days`).

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
    let oldest: Vec<(i64, i64)> = conn
        .prepare_cached("SELECT id, received_at FROM product_org_history ORDER BY id LIMIT ?1")
        .and_then(|mut s| {
            s.query_map([PER_JOB], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    let old = oldest.iter().take_while(|(_, at)| *at < before).count();
    let Some((last, _)) = old.checked_sub(1).map(|i| oldest[i]) else {
        return Ok((0, false));
    };
    let removed = conn
        .prepare_cached("DELETE FROM product_org_history WHERE id <= ?1")
        .and_then(|mut s| s.execute([last]))
        .map_err(sqlite_error)?;
    Ok((removed as u64, old == oldest.len() && old as i64 == PER_JOB))
}
