//! Product org reads (one, the list, its history), and the helpers the other reads share.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;
use trailspark_core::{
    ApiKeyId, ProductOrgFields, ProductOrgId, TargetOrgId, TenantId, FOLDED_ID_SQL,
};
use trailspark_store::{
    group_by_folded, CursorKey, HistoryEntry, Missing, Page, PageRequest, ProductOrg, SearchQuery,
    StoreError, StoreResult,
};

use crate::db::{pg_error, prepared};

const ORG_COLUMNS: &str = "product_org_id, target_org_id, fields, created_at, updated_at";

/// The error of a stored value that does not parse.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::other(format!("corrupt {what} in store: {e}"))
}

fn org(row: &Row) -> StoreResult<ProductOrg> {
    let Json(fields): Json<ProductOrgFields> = row.get(2);
    Ok(ProductOrg {
        product_org_id: ProductOrgId::parse(row.get::<_, String>(0))
            .map_err(|e| corrupt("product org id", e))?,
        target_org_id: TargetOrgId(row.get(1)),
        fields,
        created_at: row.get(3),
        updated_at: row.get(4),
    })
}

/// The target org of a product org, if the product org exists.
pub async fn target_org_of(
    tx: &impl GenericClient,
    tenant: TenantId,
    id: &str,
) -> StoreResult<Option<TargetOrgId>> {
    let row = tx
        .query_opt(
            &prepared(
                tx,
                "SELECT target_org_id FROM product_orgs WHERE tenant_id = $1 AND product_org_id = $2",
            )
            .await?,
            &[&tenant.0, &id],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| TargetOrgId(r.get(0))))
}

/// One page of a tenant's list that can be searched. `sql` takes $1 the tenant, $2 the sort
/// key the page starts after (NULL for the first), $3 the ILIKE pattern of the search (NULL
/// for none) and $4 the rows to fetch; `item` reads a row, `key` is an item's sort key.
///
/// A search is planned for its term every time (migration 0010): a rare term reads the
/// trigram indexes and sorts its few rows, a common one walks the list in key order and stops
/// at a page. A prepared statement may settle on one generic plan for every term, and the walk
/// for a rare term reads the whole tenant (1.2 s at 1M rows); a fresh statement costs a round
/// trip more.
pub async fn search_page<T, K: CursorKey + ToSql + Sync>(
    c: &impl GenericClient,
    sql: &str,
    tenant: TenantId,
    query: &SearchQuery,
    item: impl Fn(&Row) -> StoreResult<T>,
    key: impl Fn(&T) -> K,
) -> StoreResult<Page<T>> {
    let window = query.page.window::<K>()?;
    let pattern = query.like_pattern();
    let rows_to_fetch = window.rows_to_fetch();
    let params: [&(dyn ToSql + Sync); 4] = [&tenant.0, &window.after, &pattern, &rows_to_fetch];
    let rows = match pattern {
        Some(_) => c.query(sql, &params).await,
        None => c.query(&prepared(c, sql).await?, &params).await,
    }
    .map_err(pg_error)?;
    let items = rows.iter().map(item).collect::<StoreResult<Vec<_>>>()?;
    Ok(window.page(items, key))
}

/// One product org of the tenant.
pub async fn product_org(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<ProductOrg> {
    let row = c
        .query_opt(&prepared(c, &format!("SELECT {ORG_COLUMNS} FROM product_orgs WHERE tenant_id = $1 AND product_org_id = $2")).await?,
            &[&tenant.0, &id.as_str()],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::ProductOrg(id.clone()))?;
    org(&row)
}

/// A page of the tenant's product orgs by id, optionally filtered by a search term.
pub async fn list_product_orgs(
    c: &impl GenericClient,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<ProductOrg>> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM product_orgs
         WHERE tenant_id = $1 AND ($2::text IS NULL OR product_org_id > $2)
           AND ($3::text IS NULL OR product_org_id ILIKE $3 OR name ILIKE $3)
         ORDER BY product_org_id LIMIT $4"
    );
    search_page(c, &sql, tenant, query, org, |o| {
        o.product_org_id.as_str().to_owned()
    })
    .await
}

/// A page of a product org's history, newest version first.
pub async fn product_org_history(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ProductOrgId,
    request: &PageRequest,
) -> StoreResult<Page<HistoryEntry>> {
    product_org(c, tenant, id).await?;
    // Newest first: a page starts after (below) the last version of the one before.
    let window = request.window::<i64>()?;
    let rows = c
        .query(
            &prepared(
                c,
                "SELECT version, changes, key_id, event_at, received_at FROM product_org_history
             WHERE tenant_id = $1 AND product_org_id = $2 AND ($3::bigint IS NULL OR version < $3)
             ORDER BY version DESC LIMIT $4",
            )
            .await?,
            &[
                &tenant.0,
                &id.as_str(),
                &window.after,
                &window.rows_to_fetch(),
            ],
        )
        .await
        .map_err(pg_error)?;
    let items = rows
        .iter()
        .map(|r| HistoryEntry {
            version: r.get(0),
            changes: r.get::<_, Json<_>>(1).0,
            key_id: ApiKeyId(r.get(2)),
            event_at: r.get(3),
            received_at: r.get(4),
        })
        .collect();
    Ok(window.page(items, |e: &HistoryEntry| e.version))
}

/// The product orgs of a target org, by id.
pub async fn product_orgs_of(
    c: &impl GenericClient,
    tenant: TenantId,
    target: TargetOrgId,
) -> StoreResult<Vec<ProductOrg>> {
    let rows = c
        .query(
            &prepared(
                c,
                &format!(
                "SELECT {ORG_COLUMNS} FROM product_orgs WHERE tenant_id = $1 AND target_org_id = $2
                 ORDER BY product_org_id"
            ),
            )
            .await?,
            &[&tenant.0, &target.0],
        )
        .await
        .map_err(pg_error)?;
    rows.iter().map(org).collect()
}

/// [`FOLDED_ID_SQL`] as the PostgreSQL store spells it: over `product_org_id`, exactly as the
/// index `product_orgs_folded` is, so that queries use it.
pub const FOLDED: &str = FOLDED_ID_SQL.postgres;

/// The tenant's possible duplicates: the first `limit` folded ids that more than one product
/// org has (kept by the writer, migration 0009), then those orgs, grouped.
pub async fn possible_duplicates(
    c: &impl GenericClient,
    tenant: TenantId,
    limit: u32,
) -> StoreResult<Vec<Vec<ProductOrg>>> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM product_orgs
         WHERE tenant_id = $1 AND {FOLDED} IN (
             SELECT folded FROM product_org_duplicates WHERE tenant_id = $1
             ORDER BY folded LIMIT $2)
         ORDER BY product_org_id"
    );
    let rows = c
        .query(&prepared(c, &sql).await?, &[&tenant.0, &i64::from(limit)])
        .await
        .map_err(pg_error)?;
    let orgs = rows.iter().map(org).collect::<StoreResult<Vec<_>>>()?;
    Ok(group_by_folded(orgs))
}

/// Every product org whose id folds like one of `ids`, ordered by id.
pub async fn product_orgs_folding_like(
    c: &impl GenericClient,
    tenant: TenantId,
    ids: &[ProductOrgId],
) -> StoreResult<Vec<ProductOrg>> {
    let folded: Vec<String> = ids.iter().map(ProductOrgId::folded).collect();
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM product_orgs WHERE tenant_id = $1 AND {FOLDED} = ANY($2)
         ORDER BY product_org_id"
    );
    let rows = c
        .query(&prepared(c, &sql).await?, &[&tenant.0, &folded])
        .await
        .map_err(pg_error)?;
    rows.iter().map(org).collect()
}
