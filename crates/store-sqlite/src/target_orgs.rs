//! Target orgs: reads, firmographics, moving product orgs between them.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{Map, Value};
use trailspark_core::{ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::{
    FirmographicsKey, FirmographicsRow, Missing, Page, ProductOrg, SearchQuery, StoreResult,
    TargetOrg, TargetOrgDetail,
};

use crate::db::{from_json, from_micros, micros, sqlite_error, to_json};
use crate::dedupe::each_in_savepoint;
use crate::leads::{lead, lead_row};
use crate::reads::{product_orgs_of, search_page, SearchIndex, SearchedList, CANDIDATES};
use crate::writer::Mode;

const TARGET_SELECT: &str = "SELECT t.id, t.name, t.firmographics, t.created_at, t.updated_at,
        (SELECT COUNT(*) FROM product_orgs p WHERE p.tenant_id = t.tenant_id AND p.target_org_id = t.id)
    FROM target_orgs t";

type RawTarget = (i64, String, Option<String>, i64, i64, i64);

fn target_row(row: &Row<'_>) -> rusqlite::Result<RawTarget> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn target(raw: RawTarget) -> StoreResult<TargetOrg> {
    let (id, name, firmographics, created_at, updated_at, product_org_count) = raw;
    Ok(TargetOrg {
        id: TargetOrgId(id),
        name,
        firmographics: firmographics.as_deref().map(from_json).transpose()?,
        product_org_count,
        created_at: from_micros(created_at),
        updated_at: from_micros(updated_at),
    })
}

fn find(conn: &Connection, tenant: TenantId, id: TargetOrgId) -> StoreResult<TargetOrg> {
    let raw = conn
        .prepare_cached(&format!(
            "{TARGET_SELECT} WHERE t.tenant_id = ?1 AND t.id = ?2"
        ))
        .and_then(|mut s| s.query_row((tenant.0, id.0), target_row).optional())
        .map_err(sqlite_error)?
        .ok_or(Missing::TargetOrg(id))?;
    target(raw)
}

/// A page of a tenant's target orgs in id order, those whose name holds the search.
pub fn list_target_orgs(
    conn: &Connection,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<TargetOrg>> {
    let sql = format!(
        "{TARGET_SELECT}
         WHERE t.tenant_id = ?1 {CANDIDATES} AND (?2 IS NULL OR t.id > ?2)
           AND (?3 IS NULL OR t.name LIKE ?3 ESCAPE '\\')
         ORDER BY t.id LIMIT ?4"
    );
    let list = SearchedList {
        sql: &sql,
        index: SearchIndex::TargetOrgs,
        key: "t.id",
    };
    search_page(conn, &list, tenant, query, target_row, target, |t| t.id.0)
}

/// A target org with its product orgs, its first leads and how many it has, in one snapshot.
pub fn target_org(
    conn: &Connection,
    tenant: TenantId,
    id: TargetOrgId,
) -> StoreResult<TargetOrgDetail> {
    let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
    let org = find(&tx, tenant, id)?;
    let product_orgs = product_orgs_of(&tx, tenant, id)?;
    // From the target org's product orgs to their leads, never the other way: SQLite, without
    // statistics, would otherwise walk every lead of the tenant. The hints pin that order.
    const LINKED: &str = "FROM product_orgs p INDEXED BY product_orgs_target
         CROSS JOIN leads l INDEXED BY leads_product_org
             ON l.tenant_id = p.tenant_id AND l.product_org_id = p.product_org_id
         WHERE p.tenant_id = ?1 AND p.target_org_id = ?2";
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT l.lead_id, l.email, l.product_org_id, p.target_org_id, l.created_at,
                 l.updated_at {LINKED} ORDER BY l.lead_id LIMIT ?3"
        ))
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map(
            (tenant.0, id.0, i64::from(TargetOrgDetail::MAX_LEADS)),
            lead_row,
        )
        .map_err(sqlite_error)?;
    let leads = rows
        .map(|r| lead(r.map_err(sqlite_error)?))
        .collect::<StoreResult<Vec<_>>>()?;
    drop(stmt);
    let lead_count: i64 = tx
        .query_row(
            &format!("SELECT COUNT(*) {LINKED}"),
            (tenant.0, id.0),
            |r| r.get(0),
        )
        .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)?;
    Ok(TargetOrgDetail {
        org,
        product_orgs,
        leads,
        lead_count,
    })
}

fn write_firmographics(
    conn: &Connection,
    tenant: TenantId,
    id: TargetOrgId,
    firmographics: &Map<String, Value>,
) -> StoreResult<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE target_orgs SET firmographics = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2",
        )
        .and_then(|mut s| s.execute((tenant.0, id.0, to_json(firmographics), micros(&Utc::now()))))
        .map_err(sqlite_error)?;
    Ok(updated > 0)
}

/// Replaces a target org's firmographics.
pub fn set_firmographics(
    conn: &Connection,
    tenant: TenantId,
    id: TargetOrgId,
    firmographics: &Map<String, Value>,
) -> StoreResult<TargetOrg> {
    if !write_firmographics(conn, tenant, id, firmographics)? {
        return Err(Missing::TargetOrg(id).into());
    }
    find(conn, tenant, id)
}

/// Moves a product org to another target org of the tenant.
pub fn move_product_org(
    conn: &Connection,
    tenant: TenantId,
    id: &ProductOrgId,
    to: TargetOrgId,
) -> StoreResult<ProductOrg> {
    find(conn, tenant, to)?;
    let moved = conn
        .execute(
            "UPDATE product_orgs SET target_org_id = ?3 WHERE tenant_id = ?1 AND product_org_id = ?2",
            (tenant.0, id.as_str(), to.0),
        )
        .map_err(sqlite_error)?;
    if moved == 0 {
        return Err(Missing::ProductOrg(id.clone()).into());
    }
    crate::reads::product_org(conn, tenant, id)
}

/// Sets firmographics row by row, each by target org or product org id; a row whose org
/// does not exist is refused alone.
pub fn import_firmographics(
    conn: &crate::writer::Ctx<'_>,
    mode: Mode,
    tenant: TenantId,
    rows: &[FirmographicsRow],
) -> StoreResult<Vec<Result<TargetOrgId, String>>> {
    let results = each_in_savepoint(conn, mode, rows, |row| {
        let target = match &row.key {
            FirmographicsKey::TargetOrg(id) => Some(*id),
            FirmographicsKey::ProductOrg(id) => crate::reads::target_org_of(conn, tenant, id)?,
        };
        let refused = match (&row.key, target) {
            (_, Some(target)) if write_firmographics(conn, tenant, target, &row.fields)? => {
                return Ok(Ok(target));
            }
            (FirmographicsKey::ProductOrg(id), _) => {
                format!("no product org with productOrgId {:?}", id.as_str())
            }
            (FirmographicsKey::TargetOrg(id), _) => format!("no target org with targetOrgId {id}"),
        };
        Ok(Err(refused))
    })?;
    Ok(results
        .into_iter()
        .map(|r| r.and_then(|inner| inner))
        .collect())
}
