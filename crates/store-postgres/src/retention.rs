//! The sweeps by age: product org history (`--history-retention`) and signals
//! (`--signal-retention`). Both tables are appended in arrival order and found old by a block
//! range index on their receive time; each transaction removes a bounded number of rows.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_store::StoreResult;

use crate::db::{pg_error, prepared, try_sweep_lock};
use crate::PostgresStore;

/// Most rows one sweep transaction removes, so that no transaction holds many locks.
const PER_JOB: i64 = 10_000;

/// What a sweep by age removes.
#[derive(Debug, Clone, Copy)]
pub enum Aged {
    History,
    Signals,
}

impl Aged {
    /// The advisory lock taken by the instance sweeping (transaction-scoped): the table's name
    /// in ASCII.
    fn lock(self) -> i64 {
        match self {
            Aged::History => 0x0068_6973_746f_7279,
            Aged::Signals => 0x0073_6967_6e61_6c73,
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Aged::History => {
                "DELETE FROM product_org_history WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM product_org_history WHERE received_at < $1 LIMIT $2))"
            }
            Aged::Signals => {
                "DELETE FROM signals WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM signals WHERE received_at < $1 LIMIT $2))"
            }
        }
    }
}

impl PostgresStore {
    /// Removes the `aged` rows received before `before`, a transaction at a time; how many
    /// went in all.
    pub(crate) async fn sweep_by_age(&self, aged: Aged, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut swept = 0;
        loop {
            let (removed, more) = self.write(async |tx| sweep(tx, aged, before).await).await?;
            swept += removed;
            if !more {
                return Ok(swept);
            }
        }
    }
}

/// Removes up to [`PER_JOB`] `aged` rows received before `before`, in a transaction (`c`);
/// how many went, and whether there may be more. Nothing when another instance is sweeping.
async fn sweep(
    c: &impl GenericClient,
    aged: Aged,
    before: DateTime<Utc>,
) -> StoreResult<(u64, bool)> {
    if !try_sweep_lock(c, aged.lock()).await? {
        return Ok((0, false));
    }
    let removed = c
        .execute(&prepared(c, aged.delete()).await?, &[&before, &PER_JOB])
        .await
        .map_err(pg_error)?;
    Ok((removed, removed == PER_JOB as u64))
}
