//! How many product orgs, target orgs and leads a tenant has, for the web UI's overview.

use deadpool_postgres::GenericClient;
use trailspark_core::TenantId;
use trailspark_store::{StoreResult, TenantCounts};

use crate::db::{pg_error, prepared};

/// The tenant's counts: the sum of its shards of `tenant_counts`, kept by triggers as rows
/// are created (migration 0009). Counting them per view took 0.5 s at 1M of each.
pub async fn tenant_counts(c: &impl GenericClient, tenant: TenantId) -> StoreResult<TenantCounts> {
    let sql =
        "SELECT coalesce(sum(product_orgs), 0)::bigint, coalesce(sum(target_orgs), 0)::bigint,
                      coalesce(sum(leads), 0)::bigint
               FROM tenant_counts WHERE tenant_id = $1";
    let row = c
        .query_one(&prepared(c, sql).await?, &[&tenant.0])
        .await
        .map_err(pg_error)?;
    let count = |n| u64::try_from(row.get::<_, i64>(n)).unwrap_or(0);
    Ok(TenantCounts {
        product_orgs: count(0),
        target_orgs: count(1),
        leads: count(2),
    })
}
