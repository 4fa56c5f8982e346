//! The sweep of product org history by age (`--history-retention`).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_store::StoreResult;

use crate::db::{pg_error, prepared, try_sweep_lock};

/// Taken by the instance sweeping (transaction-scoped): "history" in ASCII.
const SWEEP_LOCK: i64 = 0x0068_6973_746f_7279;

/// Most history rows one sweep transaction removes, so that no transaction holds many locks.
const PER_JOB: i64 = 10_000;

/// Removes up to [`PER_JOB`] history rows received before `before`, in a transaction (`c`);
/// how many went, and whether there may be more. Nothing when another instance is sweeping.
pub async fn sweep(c: &impl GenericClient, before: DateTime<Utc>) -> StoreResult<(u64, bool)> {
    if !try_sweep_lock(c, SWEEP_LOCK).await? {
        return Ok((0, false));
    }
    let sql = "DELETE FROM product_org_history WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM product_org_history WHERE received_at < $1 LIMIT $2))";
    let removed = c
        .execute(&prepared(c, sql).await?, &[&before, &PER_JOB])
        .await
        .map_err(pg_error)?;
    Ok((removed, removed == PER_JOB as u64))
}
