//! Reads of product orgs and their history, on a read connection (WAL: never blocked by the
//! writer).

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row};
use trailspark_core::{ApiKeyId, ProductOrgId, TargetOrgId, TenantId, FOLDED_ID_SQL};
use trailspark_store::{
    cursor, group_by_folded, CursorKey, HistoryEntry, Missing, Page, PageRequest, ProductOrg,
    SearchQuery, StoreError, StoreResult,
};

use crate::db::{from_json, from_micros, sqlite_error};

const ORG_COLUMNS: &str = "product_org_id, target_org_id, fields, created_at, updated_at";

type RawOrg = (String, i64, String, i64, i64);

fn org_row(row: &Row<'_>) -> rusqlite::Result<RawOrg> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn org(raw: RawOrg) -> StoreResult<ProductOrg> {
    let (id, target, fields, created_at, updated_at) = raw;
    Ok(ProductOrg {
        product_org_id: ProductOrgId::parse(id)
            .map_err(|e| StoreError::other("corrupt product org id in store").caused_by(e))?,
        target_org_id: TargetOrgId(target),
        fields: from_json(&fields)?,
        created_at: from_micros(created_at),
        updated_at: from_micros(updated_at),
    })
}

/// One product org of a tenant.
pub fn product_org(
    conn: &Connection,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<ProductOrg> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {ORG_COLUMNS} FROM product_orgs WHERE tenant_id = ?1 AND product_org_id = ?2"
        ))
        .and_then(|mut s| s.query_row((tenant.0, id.as_str()), org_row).optional())
        .map_err(sqlite_error)?
        .ok_or_else(|| Missing::ProductOrg(id.clone()))?;
    org(raw)
}

/// The product orgs of a target org, ordered by id.
pub fn product_orgs_of(
    conn: &Connection,
    tenant: TenantId,
    target: TargetOrgId,
) -> StoreResult<Vec<ProductOrg>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            // Without the hint SQLite walks all the tenant's orgs in id order to skip a sort.
            "SELECT {ORG_COLUMNS} FROM product_orgs INDEXED BY product_orgs_target
             WHERE tenant_id = ?1 AND target_org_id = ?2
             ORDER BY product_org_id"
        ))
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map((tenant.0, target.0), org_row)
        .map_err(sqlite_error)?;
    rows.map(|r| org(r.map_err(sqlite_error)?)).collect()
}

/// The target org of a product org, if the product org exists.
pub fn target_org_of(
    conn: &Connection,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<TargetOrgId>> {
    conn.prepare_cached(
        "SELECT target_org_id FROM product_orgs WHERE tenant_id = ?1 AND product_org_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row((tenant.0, id.as_str()), |r| r.get(0).map(TargetOrgId))
            .optional()
    })
    .map_err(sqlite_error)
}

/// One page of a tenant's list that can be searched. `sql` takes ?1 the tenant, ?2 the sort
/// key the page starts after (NULL for the first), ?3 the LIKE pattern of the search (NULL
/// for none) and ?4 the rows to fetch; `row` reads a row, `item` makes it an item, `key` is an
/// item's sort key. SQLite's LIKE is case-insensitive for ASCII, which is what a search box
/// wants.
pub fn search_page<R, T, K: CursorKey + rusqlite::ToSql>(
    conn: &Connection,
    sql: &str,
    tenant: TenantId,
    query: &SearchQuery,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    item: impl Fn(R) -> StoreResult<T>,
    key: impl Fn(&T) -> K,
) -> StoreResult<Page<T>> {
    let window = query.page.window::<K>()?;
    let pattern = query.like_pattern();
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
    let rows = stmt
        .query_map(
            (tenant.0, &window.after, pattern, window.rows_to_fetch()),
            row,
        )
        .map_err(sqlite_error)?;
    let items = rows
        .map(|r| item(r.map_err(sqlite_error)?))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(window.page(items, key))
}

/// A page of a tenant's product orgs in id order, those whose id or name holds the search.
pub fn list_product_orgs(
    conn: &Connection,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<ProductOrg>> {
    search_page(
        conn,
        &format!(
            "SELECT {ORG_COLUMNS} FROM product_orgs
             WHERE tenant_id = ?1
               AND (?2 IS NULL OR product_org_id > ?2)
               AND (?3 IS NULL OR product_org_id LIKE ?3 ESCAPE '\\' OR name LIKE ?3 ESCAPE '\\')
             ORDER BY product_org_id
             LIMIT ?4"
        ),
        tenant,
        query,
        org_row,
        org,
        |o| o.product_org_id.as_str().to_owned(),
    )
}

/// A product org's history, newest first, read along the chain of `prev` links from its
/// newest row (history rows are appended, not kept in an index by org). The cursor is the id of
/// the next row to read; every row read must belong to the org, so a cursor made up to point
/// elsewhere finds nothing.
pub fn product_org_history(
    conn: &Connection,
    tenant: TenantId,
    id: &ProductOrgId,
    page: &PageRequest,
) -> StoreResult<Page<HistoryEntry>> {
    let head: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT history_head FROM product_orgs WHERE tenant_id = ?1 AND product_org_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row((tenant.0, id.as_str()), |r| r.get(0))
                .optional()
        })
        .map_err(sqlite_error)?;
    let head = head.ok_or_else(|| Missing::ProductOrg(id.clone()))?;
    let window = page.window::<i64>()?;
    let mut next = window.after.or(head);
    let limit = window.limit as usize;
    let mut stmt = conn
        .prepare_cached(
            "SELECT version, changes, key_id, event_at, received_at, prev FROM product_org_history
             WHERE id = ?1 AND tenant_id = ?2 AND product_org_id = ?3",
        )
        .map_err(sqlite_error)?;
    let mut items = Vec::new();
    while let Some(row_id) = next.filter(|_| items.len() < limit) {
        let row = stmt
            .query_row((row_id, tenant.0, id.as_str()), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })
            .optional()
            .map_err(sqlite_error)?;
        let Some((version, changes, key_id, event_at, received_at, prev)) = row else {
            return Err(StoreError::InvalidCursor);
        };
        items.push(HistoryEntry {
            version,
            changes: from_json(&changes)?,
            key_id: ApiKeyId(key_id),
            event_at: event_at.map(from_micros),
            received_at: from_micros(received_at),
        });
        next = prev;
    }
    Ok(Page {
        items,
        next_cursor: next.map(|n| cursor::encode(&n.to_string())),
    })
}

/// [`FOLDED_ID_SQL`] as the SQLite store spells it: over `product_org_id`, exactly as the index
/// `product_orgs_folded` is, so that queries use it.
const FOLDED: &str = FOLDED_ID_SQL.sqlite;

/// The tenant's possible duplicates: the first `limit` folded ids that more than one product
/// org has (read off the index, in its order), then those orgs, grouped.
pub fn possible_duplicates(
    conn: &Connection,
    tenant: TenantId,
    limit: u32,
) -> StoreResult<Vec<Vec<ProductOrg>>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            // Without the hint SQLite, lacking statistics, reads every org of the tenant.
            "SELECT {ORG_COLUMNS} FROM product_orgs INDEXED BY product_orgs_folded
             WHERE tenant_id = ?1 AND {FOLDED} IN (
                 SELECT {FOLDED} FROM product_orgs WHERE tenant_id = ?1
                 GROUP BY {FOLDED} HAVING COUNT(*) > 1
                 ORDER BY {FOLDED} LIMIT ?2)
             ORDER BY product_org_id"
        ))
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map((tenant.0, i64::from(limit)), org_row)
        .map_err(sqlite_error)?;
    let orgs = rows
        .map(|r| org(r.map_err(sqlite_error)?))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(group_by_folded(orgs))
}

/// Every product org whose id folds like one of `ids`, ordered by id.
pub fn product_orgs_folding_like(
    conn: &Connection,
    tenant: TenantId,
    ids: &[ProductOrgId],
) -> StoreResult<Vec<ProductOrg>> {
    let folded: BTreeSet<String> = ids.iter().map(ProductOrgId::folded).collect();
    // One indexed lookup per folded id: in-process, a loop costs what one `IN` would.
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ORG_COLUMNS} FROM product_orgs INDEXED BY product_orgs_folded
             WHERE tenant_id = ?1 AND {FOLDED} = ?2"
        ))
        .map_err(sqlite_error)?;
    let mut orgs = Vec::new();
    for id in &folded {
        let rows = stmt
            .query_map((tenant.0, id), org_row)
            .map_err(sqlite_error)?;
        for row in rows {
            orgs.push(org(row.map_err(sqlite_error)?)?);
        }
    }
    orgs.sort_by(|a, b| a.product_org_id.as_str().cmp(b.product_org_id.as_str()));
    Ok(orgs)
}
