//! Reads of product orgs and their history, on a read connection (WAL: never blocked by the
//! writer).

use std::borrow::Cow;
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

/// The trigram tables of migration 0012, one per list that can be searched. Each gives the
/// keys of a tenant's rows that may hold a term: every row that does, and maybe others (its
/// case folding is broader than LIKE's, and it keeps the names and emails rows used to have).
#[derive(Debug, Clone, Copy)]
pub enum SearchIndex {
    ProductOrgs,
    TargetOrgs,
    Leads,
}

impl SearchIndex {
    /// ?1 the FTS5 phrase, ?2 the tenant, ?3 the most keys to give: the keys as a JSON array,
    /// and how many. The tenant is no column of the index, so other tenants' matches are read
    /// and skipped.
    fn candidates_sql(self) -> &'static str {
        match self {
            Self::ProductOrgs => {
                "SELECT json_group_array(product_org_id), count(*) FROM (
                     SELECT product_org_id FROM product_orgs_search
                     WHERE product_orgs_search MATCH ?1 AND tenant_id = ?2 LIMIT ?3)"
            }
            Self::TargetOrgs => {
                "SELECT json_group_array(id), count(*) FROM (
                     SELECT id FROM target_orgs_search
                     WHERE target_orgs_search MATCH ?1 AND tenant_id = ?2 LIMIT ?3)"
            }
            Self::Leads => {
                "SELECT json_group_array(lead_id), count(*) FROM (
                     SELECT lead_id FROM leads_search
                     WHERE leads_search MATCH ?1 AND tenant_id = ?2 LIMIT ?3)"
            }
        }
    }
}

/// A list that can be searched. `sql` takes ?1 the tenant, ?2 the sort key the page starts
/// after (NULL for the first), ?3 the LIKE pattern of the search (NULL for none) and ?4 the
/// rows to fetch, and holds [`CANDIDATES`] among its conditions; `key` is its sort key as
/// `sql` names it (`l.lead_id`), of which `index` gives the candidates.
pub struct SearchedList<'a> {
    pub sql: &'a str,
    pub index: SearchIndex,
    pub key: &'a str,
}

impl SearchedList<'_> {
    /// The list's query kept to the candidates, a JSON array bound to ?5: SQLite looks each
    /// up by key, in key order, so nothing is sorted.
    fn narrowed_sql(&self) -> String {
        let only = format!("AND {} IN (SELECT value FROM json_each(?5))", self.key);
        self.sql.replace(CANDIDATES, &only)
    }
}

/// Where a list's query keeps to the index's candidates (bound to ?5) when it has them: as
/// written, a comment, so that the list walks its rows in key order as it did before.
pub const CANDIDATES: &str = "/* candidates */";

/// Most candidates asked of an index. Fewer: the list reads just them, by key (2 ms for a few
/// hundred at 1M rows). As many: the term is common, and the walk in key order mostly fills a
/// page soon, unless its matches sort late (`ws_99` over `ws_1` … `ws_1000000`: 0.6 s); reading
/// every match to sort it would not (7 s for a term matching 1M rows).
const MAX_CANDIDATES: i64 = 1_000;

/// The keys (a JSON array) of the rows that may hold `term`, when the index narrows the list
/// to fewer than [`MAX_CANDIDATES`]; `None` when it cannot (a term under three characters has
/// no trigram).
fn candidates(
    conn: &Connection,
    index: SearchIndex,
    tenant: TenantId,
    term: &str,
) -> StoreResult<Option<String>> {
    // A NUL would end the FTS5 query text early; LIKE alone handles such a term.
    if term.chars().count() < 3 || term.contains('\0') {
        return Ok(None);
    }
    // A phrase finds its text anywhere, case-folded, with no operator inside quotes.
    let phrase = format!("\"{}\"", term.replace('"', "\"\""));
    let (keys, count): (String, i64) = conn
        .prepare_cached(index.candidates_sql())
        .and_then(|mut s| {
            s.query_row((phrase, tenant.0, MAX_CANDIDATES), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .map_err(sqlite_error)?;
    Ok((count < MAX_CANDIDATES).then_some(keys))
}

/// One page of a tenant's list that can be searched; `row` reads a row, `item` makes it an
/// item, `key` is an item's sort key. SQLite's LIKE is case-insensitive for ASCII, which is
/// what a search box wants. A search the list's index narrows runs the list's query on the
/// candidates alone, LIKE and all, so the page is exactly the one the walk would give.
pub fn search_page<R, T, K: CursorKey + rusqlite::ToSql>(
    conn: &Connection,
    list: &SearchedList<'_>,
    tenant: TenantId,
    query: &SearchQuery,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    item: impl Fn(R) -> StoreResult<T>,
    key: impl Fn(&T) -> K,
) -> StoreResult<Page<T>> {
    let window = query.page.window::<K>()?;
    let pattern = query.like_pattern();
    let rows_to_fetch = window.rows_to_fetch();
    let candidates = match query.search.as_deref() {
        Some(term) => candidates(conn, list.index, tenant, term)?,
        None => None,
    };
    let mut params: Vec<&dyn rusqlite::ToSql> =
        vec![&tenant.0, &window.after, &pattern, &rows_to_fetch];
    let sql = match &candidates {
        Some(keys) => {
            params.push(keys);
            Cow::Owned(list.narrowed_sql())
        }
        None => Cow::Borrowed(list.sql),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt
        .query_map(params.as_slice(), row)
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
    let sql = product_orgs_sql();
    let list = SearchedList {
        sql: &sql,
        index: SearchIndex::ProductOrgs,
        key: "product_org_id",
    };
    search_page(conn, &list, tenant, query, org_row, org, |o| {
        o.product_org_id.as_str().to_owned()
    })
}

/// The product org list's query, for [`SearchedList`].
fn product_orgs_sql() -> String {
    format!(
        "SELECT {ORG_COLUMNS} FROM product_orgs
         WHERE tenant_id = ?1 {CANDIDATES}
           AND (?2 IS NULL OR product_org_id > ?2)
           AND (?3 IS NULL OR product_org_id LIKE ?3 ESCAPE '\\' OR name LIKE ?3 ESCAPE '\\')
         ORDER BY product_org_id
         LIMIT ?4"
    )
}

#[cfg(test)]
mod search_tests;

/// A product org's history, newest first, read along the chain of `prev` links from its
/// newest row (history rows are appended, not kept in an index by org) down to the first row
/// the sweep by age removed. The cursor is the id of the next row to read; every row read must
/// belong to the org, so a cursor made up to point elsewhere finds nothing.
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
            // A row missing on the way (the org's newest, or one a `prev` link names) was
            // swept by age: the history ends there. A cursor whose own row is missing was made
            // up (or its row swept since it was handed out).
            if window.after.is_some() && items.is_empty() {
                return Err(StoreError::InvalidCursor);
            }
            next = None;
            break;
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
    // A page that ends at a row the sweep removed ends the history: no cursor to it.
    if let Some(row_id) = next {
        let kept = stmt
            .exists((row_id, tenant.0, id.as_str()))
            .map_err(sqlite_error)?;
        next = next.filter(|_| kept);
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
/// org has (kept by the writer, migration 0011), then those orgs, grouped.
pub fn possible_duplicates(
    conn: &Connection,
    tenant: TenantId,
    limit: u32,
) -> StoreResult<Vec<Vec<ProductOrg>>> {
    let mut stmt = conn
        .prepare_cached(&duplicates_sql())
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map((tenant.0, i64::from(limit)), org_row)
        .map_err(sqlite_error)?;
    let orgs = rows
        .map(|r| org(r.map_err(sqlite_error)?))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(group_by_folded(orgs))
}

/// The query of [`possible_duplicates`]: ?1 the tenant, ?2 the groups.
fn duplicates_sql() -> String {
    format!(
        // `+folded`: compared as the bare column, its TEXT affinity would be applied to the
        // expression's side too, and the expression index would not be used (a walk of every
        // org of the tenant). The hint, because without statistics SQLite prefers the primary
        // key's tenant range.
        "SELECT {ORG_COLUMNS} FROM product_orgs INDEXED BY product_orgs_folded
         WHERE tenant_id = ?1 AND {FOLDED} IN (
             SELECT +folded FROM product_org_duplicates WHERE tenant_id = ?1
             ORDER BY folded LIMIT ?2)
         ORDER BY product_org_id"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The orgs of each duplicated folded id are found through the folded index, not by
    /// walking the tenant's orgs (which a missing `+` before `folded` makes SQLite do).
    #[test]
    fn possible_duplicates_look_each_folded_id_up() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", duplicates_sql()))
            .unwrap()
            .query_map((1, 10), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| {
                step
                == "SEARCH product_orgs USING INDEX product_orgs_folded (tenant_id=? AND <expr>=?)"
            }),
            "{plan:#?}"
        );
    }
}
