//! Possible duplicates of a product org id (SPEC §6 `similar_product_org`): another product org
//! of the tenant whose id folds to the same text, found through the index on the folded id
//! (migration 0007). The write path of updates looks up many at once in its batch read
//! ([`crate::ingest`], where the rule is spelled in SQL); signals look up theirs here, a
//! batch's in one statement.

use std::collections::HashMap;

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
    let mut found = similar_all(tx, &[(tenant.0, id)]).await?;
    Ok(found
        .get_mut(&tenant.0)
        .and_then(|of_tenant| of_tenant.remove(id))
        .flatten())
}

/// Something known of product orgs of several tenants, by tenant then id: keyed so that a
/// borrowed `&ProductOrgId` finds its entry.
pub type ByOrg<V> = HashMap<i64, HashMap<ProductOrgId, V>>;

/// Sets what is known of product org `id` of `tenant`.
pub fn put<V>(by: &mut ByOrg<V>, tenant: i64, id: &ProductOrgId, value: V) {
    by.entry(tenant).or_default().insert(id.clone(), value);
}

/// [`similar`] for each of `ids` (tenant, product org id not stored), in one statement: `None`
/// for an id like no other.
pub async fn similar_all(
    tx: &impl GenericClient,
    ids: &[(i64, &ProductOrgId)],
) -> StoreResult<ByOrg<Option<ProductOrgId>>> {
    let mut candidates: Vec<Vec<(ProductOrgId, DateTime<Utc>)>> = vec![Vec::new(); ids.len()];
    if !ids.is_empty() {
        let tenants: Vec<i64> = ids.iter().map(|k| k.0).collect();
        let folded: Vec<String> = ids.iter().map(|k| k.1.folded()).collect();
        // The folded expression is spelled as the index spells it, or the index is not used.
        let sql = format!(
            "SELECT k.n, s.product_org_id, s.created_at
             FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(tenant_id, folded, n),
             LATERAL (SELECT product_org_id, created_at FROM product_orgs
                 WHERE tenant_id = k.tenant_id AND {folded} = k.folded OFFSET 0) s",
            folded = FOLDED_ID_SQL.postgres
        );
        let rows = tx
            .query(&prepared(tx, &sql).await?, &[&tenants, &folded])
            .await
            .map_err(pg_error)?;
        for row in rows {
            let of = usize::try_from(row.get::<_, i64>(0) - 1)
                .ok()
                .and_then(|i| candidates.get_mut(i))
                .ok_or_else(|| StoreError::other("unnest returned an unknown ordinal"))?;
            let other = ProductOrgId::parse(row.get::<_, String>(1))
                .map_err(|e| StoreError::other("a stored product org id").caused_by(e))?;
            of.push((other, row.get(2)));
        }
    }
    let mut similar = ByOrg::new();
    for ((tenant, id), found) in ids.iter().zip(candidates) {
        let like = meant(id, found.iter().map(|(o, at)| (o, *at)));
        put(&mut similar, *tenant, id, like);
    }
    Ok(similar)
}
