//! How many product orgs, target orgs and leads a tenant has, for the web UI's overview.

use rusqlite::Connection;
use trailspark_core::TenantId;
use trailspark_store::{StoreResult, TenantCounts};

use crate::db::sqlite_error;

/// The tenant's counts, read in one statement (so from one snapshot). Each `count(*)` walks
/// the tenant's range of a covering index, not the rows; still, that is linear: about 30 ms
/// per million rows, warm (measured on a store of 1M product orgs, target orgs and leads).
pub fn tenant_counts(conn: &Connection, tenant: TenantId) -> StoreResult<TenantCounts> {
    let count =
        |r: &rusqlite::Row<'_>, n| r.get::<_, i64>(n).map(|v| u64::try_from(v).unwrap_or(0));
    conn.prepare_cached(
        "SELECT (SELECT count(*) FROM product_orgs WHERE tenant_id = ?1),
                (SELECT count(*) FROM target_orgs WHERE tenant_id = ?1),
                (SELECT count(*) FROM leads WHERE tenant_id = ?1)",
    )
    .and_then(|mut s| {
        s.query_row([tenant.0], |r| {
            Ok(TenantCounts {
                product_orgs: count(r, 0)?,
                target_orgs: count(r, 1)?,
                leads: count(r, 2)?,
            })
        })
    })
    .map_err(sqlite_error)
}
