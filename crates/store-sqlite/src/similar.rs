//! Possible duplicates of a product org id (SPEC §6 `similar_product_org`): the other product
//! orgs of the tenant whose ids fold to the same text, found through the index on the folded id
//! (migration 0008); which of them is meant is `trailspark_store::meant`'s rule.

use rusqlite::{Connection, Statement};
use trailspark_core::{ProductOrgId, TenantId, FOLDED_ID_SQL};
use trailspark_store::{meant, StoreError, StoreResult};

use crate::db::{from_micros, sqlite_error};

/// The query; the folded expression is spelled as the index spells it. `INDEXED BY`, because
/// without statistics the planner takes the primary key's tenant range instead: a scan of
/// every product org of the tenant for each new one. No `ORDER BY`: usually nothing matches,
/// and a sorter would cost more than the probe (the rule picks among what does).
pub fn sql() -> String {
    format!(
        "SELECT product_org_id, created_at FROM product_orgs INDEXED BY product_orgs_folded
         WHERE tenant_id = ?1 AND {folded} = ?2",
        folded = FOLDED_ID_SQL.sqlite
    )
}

/// The product org of the tenant that `id` (not stored) probably duplicates, if any.
pub fn similar(
    statement: &mut Statement<'_>,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<ProductOrgId>> {
    let mut rows = statement
        .query((tenant.0, id.folded()))
        .map_err(sqlite_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let text: String = row.get(0).map_err(sqlite_error)?;
        let other = ProductOrgId::parse(text)
            .map_err(|e| StoreError::other("a stored product org id").caused_by(e))?;
        found.push((other, from_micros(row.get(1).map_err(sqlite_error)?)));
    }
    Ok(meant(id, found.iter().map(|(o, at)| (o, *at))))
}

/// [`similar`] on a connection, its statement cached (the signal path, which looks only
/// when a lead's product org is not found).
pub fn similar_on(
    conn: &Connection,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<ProductOrgId>> {
    let mut statement = conn.prepare_cached(&sql()).map_err(sqlite_error)?;
    similar(&mut statement, tenant, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the real schema, whose primary key also starts with the tenant.
    #[test]
    fn the_lookup_uses_the_folded_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", sql()))
            .unwrap()
            .query_map((1, "a"), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH product_orgs USING INDEX product_orgs_folded (tenant_id=? AND <expr>=?)"]
        );
    }
}
