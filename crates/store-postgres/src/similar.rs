//! Possible duplicates of a product org id (SPEC §6 `similar_product_org`): another product org
//! of the tenant whose id folds to the same text, found through the index on the folded id
//! (migration 0007). The write path of updates looks up many at once in its batch read
//! ([`crate::ingest`], where the rule is spelled in SQL); this is the one-id lookup of the
//! signal path.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_core::{ProductOrgId, TenantId, FOLDED_ID_SQL};
use trailspark_store::{meant, StoreError, StoreResult};

use crate::db::{pg_error, prepared};

/// The product org of the tenant that `id` (not stored) probably duplicates, if any, by
/// `trailspark_store::meant`'s rule.
pub async fn similar(
    tx: &impl GenericClient,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<ProductOrgId>> {
    // The folded expression is spelled as the index spells it, or the index is not used.
    let sql = format!(
        "SELECT product_org_id, created_at FROM product_orgs WHERE tenant_id = $1 AND {folded} = $2",
        folded = FOLDED_ID_SQL.postgres
    );
    let rows = tx
        .query(&prepared(tx, &sql).await?, &[&tenant.0, &id.folded()])
        .await
        .map_err(pg_error)?;
    let found = rows
        .iter()
        .map(|r| {
            let other = ProductOrgId::parse(r.get::<_, String>(0))
                .map_err(|e| StoreError::other("a stored product org id").caused_by(e))?;
            Ok((other, r.get::<_, DateTime<Utc>>(1)))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(meant(id, found.iter().map(|(o, at)| (o, *at))))
}
