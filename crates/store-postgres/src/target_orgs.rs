//! Target orgs: their reads, firmographics (set on one or imported in bulk), and moving a
//! product org to another target org.

use chrono::Utc;
use deadpool_postgres::{GenericClient, Transaction};
use serde_json::{Map, Value};
use tokio_postgres::types::Json;
use tokio_postgres::Row;
use trailspark_core::{ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::{
    FirmographicsKey, FirmographicsRow, Missing, Page, ProductOrg, SearchQuery, StoreResult,
    TargetOrg, TargetOrgDetail,
};

use crate::db::{pg_error, prepared};
use crate::dedupe::each_in_savepoint;
use crate::leads::{lead, LEAD_SELECT};
use crate::reads::{self, product_orgs_of, search_page};

const TARGET_SELECT: &str = "SELECT t.id, t.name, t.firmographics, t.created_at, t.updated_at,
        (SELECT COUNT(*) FROM product_orgs p WHERE p.tenant_id = t.tenant_id AND p.target_org_id = t.id)
    FROM target_orgs t";

fn target(row: &Row) -> TargetOrg {
    TargetOrg {
        id: TargetOrgId(row.get(0)),
        name: row.get(1),
        firmographics: row
            .get::<_, Option<Json<Map<String, Value>>>>(2)
            .map(|j| j.0),
        created_at: row.get(3),
        updated_at: row.get(4),
        product_org_count: row.get(5),
    }
}

/// One target org of the tenant.
pub async fn find_target_org(
    c: &impl GenericClient,
    tenant: TenantId,
    id: TargetOrgId,
) -> StoreResult<TargetOrg> {
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!("{TARGET_SELECT} WHERE t.tenant_id = $1 AND t.id = $2"),
            )
            .await?,
            &[&tenant.0, &id.0],
        )
        .await
        .map_err(pg_error)?
        .ok_or(Missing::TargetOrg(id))?;
    Ok(target(&row))
}

/// A page of the tenant's target orgs by id, optionally filtered by a search term.
pub async fn list_target_orgs(
    c: &impl GenericClient,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<TargetOrg>> {
    let sql = format!(
        "{TARGET_SELECT}
         WHERE t.tenant_id = $1 AND ($2::bigint IS NULL OR t.id > $2)
           AND ($3::text IS NULL OR t.name ILIKE $3)
         ORDER BY t.id LIMIT $4"
    );
    search_page(c, &sql, tenant, query, |r| Ok(target(r)), |t| t.id.0).await
}

/// Runs inside a REPEATABLE READ transaction, so its reads are one snapshot.
pub async fn target_org(
    c: &impl GenericClient,
    tenant: TenantId,
    id: TargetOrgId,
) -> StoreResult<TargetOrgDetail> {
    let org = find_target_org(c, tenant, id).await?;
    let product_orgs = product_orgs_of(c, tenant, id).await?;
    let rows = c
        .query(&prepared(c, &format!("{LEAD_SELECT} WHERE l.tenant_id = $1 AND p.target_org_id = $2 ORDER BY l.lead_id LIMIT $3")).await?,
            &[&tenant.0, &id.0, &i64::from(TargetOrgDetail::MAX_LEADS)],
        )
        .await
        .map_err(pg_error)?;
    let leads = rows.iter().map(lead).collect::<StoreResult<Vec<_>>>()?;
    let lead_count: i64 = c
        .query_one(&prepared(c, "SELECT COUNT(*) FROM leads l
             JOIN product_orgs p ON p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id
             WHERE l.tenant_id = $1 AND p.target_org_id = $2").await?,
            &[&tenant.0, &id.0],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    Ok(TargetOrgDetail {
        org,
        product_orgs,
        leads,
        lead_count,
    })
}

async fn write_firmographics(
    c: &impl GenericClient,
    tenant: TenantId,
    id: TargetOrgId,
    firmographics: &Map<String, Value>,
) -> StoreResult<bool> {
    let updated = c
        .execute(&prepared(c, "UPDATE target_orgs SET firmographics = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2").await?,
            &[&tenant.0, &id.0, &Json(firmographics), &Utc::now()],
        )
        .await
        .map_err(pg_error)?;
    Ok(updated > 0)
}

/// Replaces a target org's firmographics.
pub async fn set_firmographics(
    c: &impl GenericClient,
    tenant: TenantId,
    id: TargetOrgId,
    firmographics: &Map<String, Value>,
) -> StoreResult<TargetOrg> {
    if !write_firmographics(c, tenant, id, firmographics).await? {
        return Err(Missing::TargetOrg(id).into());
    }
    find_target_org(c, tenant, id).await
}

/// Moves a product org to another target org of the tenant.
pub async fn move_product_org(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ProductOrgId,
    to: TargetOrgId,
) -> StoreResult<ProductOrg> {
    find_target_org(c, tenant, to).await?;
    let moved = c
        .execute(&prepared(c, "UPDATE product_orgs SET target_org_id = $3 WHERE tenant_id = $1 AND product_org_id = $2").await?,
            &[&tenant.0, &id.as_str(), &to.0],
        )
        .await
        .map_err(pg_error)?;
    if moved == 0 {
        return Err(Missing::ProductOrg(id.clone()).into());
    }
    reads::product_org(c, tenant, id).await
}

/// Sets the firmographics of each import row, each in its own savepoint.
pub async fn import_firmographics(
    tx: &mut Transaction<'_>,
    tenant: TenantId,
    rows: &[FirmographicsRow],
) -> StoreResult<Vec<Result<TargetOrgId, String>>> {
    let results = each_in_savepoint(tx, &tenant, rows, |tx, tenant, row| {
        Box::pin(firmographics_row(tx, *tenant, row))
    })
    .await?;
    Ok(results
        .into_iter()
        .map(|r| r.and_then(|inner| inner))
        .collect())
}

/// Sets one import row's firmographics, or says why the row is refused.
async fn firmographics_row(
    tx: &impl GenericClient,
    tenant: TenantId,
    row: &FirmographicsRow,
) -> StoreResult<Result<TargetOrgId, String>> {
    {
        let target = match &row.key {
            FirmographicsKey::TargetOrg(id) => Some(*id),
            FirmographicsKey::ProductOrg(id) => {
                reads::target_org_of(tx, tenant, id.as_str()).await?
            }
        };
        if let Some(target) = target {
            if write_firmographics(tx, tenant, target, &row.fields).await? {
                return Ok(Ok(target));
            }
        }
        Ok(Err(match &row.key {
            FirmographicsKey::ProductOrg(id) => {
                format!("no product org with productOrgId {:?}", id.as_str())
            }
            FirmographicsKey::TargetOrg(id) => format!("no target org with targetOrgId {id}"),
        }))
    }
}
