//! Lead reads: one lead, the list, and a lead's evaluation context.

use deadpool_postgres::GenericClient;
use serde_json::{Map, Value};
use tokio_postgres::types::Json;
use tokio_postgres::Row;
use trailspark_core::{LeadId, ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::{
    EvaluationContext, Lead, Missing, Page, SearchQuery, SignalRecord, StoreResult, UnlinkedLead,
};

use crate::db::{pg_error, prepared};
use crate::reads::{corrupt, product_orgs_of, search_page, FOLDED};

/// A lead's columns; its target org comes through the product org it is linked to.
pub const LEAD_SELECT: &str = "SELECT l.lead_id, l.email, l.product_org_id, p.target_org_id,
        l.created_at, l.updated_at
    FROM leads l
    LEFT JOIN product_orgs p ON p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id";

/// A lead from a row of [`LEAD_SELECT`].
pub fn lead(row: &Row) -> StoreResult<Lead> {
    Ok(Lead {
        lead_id: LeadId::parse(row.get::<_, String>(0)).map_err(|e| corrupt("lead id", e))?,
        email: row.get(1),
        product_org_id: row
            .get::<_, Option<String>>(2)
            .map(ProductOrgId::parse)
            .transpose()
            .map_err(|e| corrupt("lead", e))?,
        target_org_id: row.get::<_, Option<i64>>(3).map(TargetOrgId),
        created_at: row.get(4),
        updated_at: row.get(5),
    })
}

/// One lead of the tenant.
pub async fn find_lead(c: &impl GenericClient, tenant: TenantId, id: &LeadId) -> StoreResult<Lead> {
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!("{LEAD_SELECT} WHERE l.tenant_id = $1 AND l.lead_id = $2"),
            )
            .await?,
            &[&tenant.0, &id.as_str()],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::Lead(id.clone()))?;
    lead(&row)
}

/// A page of the tenant's leads by id, optionally filtered by a search term.
pub async fn list_leads(
    c: &impl GenericClient,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<Lead>> {
    let sql = format!(
        "{LEAD_SELECT}
         WHERE l.tenant_id = $1 AND ($2::text IS NULL OR l.lead_id > $2)
           AND ($3::text IS NULL OR l.lead_id ILIKE $3 OR l.email ILIKE $3)
         ORDER BY l.lead_id LIMIT $4"
    );
    search_page(c, &sql, tenant, query, lead, |l| {
        l.lead_id.as_str().to_owned()
    })
    .await
}

/// A page of the leads [`list_leads`] would list that are not linked: their product org is
/// missing or does not exist. Each comes with the oldest product org whose id folds like the one
/// it names, as a signal's `similar_product_org` warning names it (looked up on the index
/// `product_orgs_folded`, so the index's side of `=` is [`FOLDED`] as written).
pub async fn unlinked_leads(
    c: &impl GenericClient,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<UnlinkedLead>> {
    let lead_folded = FOLDED.replace("product_org_id", "l.product_org_id");
    let sql = format!(
        "SELECT l.lead_id, l.email, l.product_org_id, NULL::bigint, l.created_at, l.updated_at,
             (SELECT product_org_id FROM product_orgs
              WHERE tenant_id = l.tenant_id AND {FOLDED} = {lead_folded}
              ORDER BY created_at, product_org_id LIMIT 1)
         FROM leads l
         WHERE l.tenant_id = $1 AND ($2::text IS NULL OR l.lead_id > $2)
           AND ($3::text IS NULL OR l.lead_id ILIKE $3 OR l.email ILIKE $3)
           AND NOT EXISTS (SELECT 1 FROM product_orgs p
               WHERE p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id)
         ORDER BY l.lead_id LIMIT $4"
    );
    let item = |row: &Row| {
        Ok(UnlinkedLead {
            lead: lead(row)?,
            did_you_mean: row
                .get::<_, Option<String>>(6)
                .map(ProductOrgId::parse)
                .transpose()
                .map_err(|e| corrupt("product org id", e))?,
        })
    };
    search_page(c, &sql, tenant, query, item, |u| {
        u.lead.lead_id.as_str().to_owned()
    })
    .await
}

/// Runs inside a REPEATABLE READ transaction, so its reads are one snapshot.
pub async fn evaluation_context(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &LeadId,
    signal_limit: u32,
) -> StoreResult<EvaluationContext> {
    let lead = find_lead(c, tenant, id).await?;
    let rows = c
        .query(
            &prepared(
                c,
                "SELECT name, properties, custom_fields, product_org_id, event_at, received_at
             FROM signals WHERE tenant_id = $1 AND lead_id = $2
             ORDER BY occurred_at DESC, seq DESC LIMIT $3",
            )
            .await?,
            &[&tenant.0, &id.as_str(), &i64::from(signal_limit)],
        )
        .await
        .map_err(pg_error)?;
    let signals = rows
        .iter()
        .map(|r| {
            Ok(SignalRecord {
                name: r.get(0),
                properties: r.get::<_, Option<Json<Map<String, Value>>>>(1).map(|j| j.0),
                custom_fields: r.get::<_, Json<Map<String, Value>>>(2).0,
                product_org_id: r
                    .get::<_, Option<String>>(3)
                    .map(ProductOrgId::parse)
                    .transpose()
                    .map_err(|e| corrupt("signal", e))?,
                event_at: r.get(4),
                received_at: r.get(5),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let (firmographics, product_orgs) = match lead.target_org_id {
        Some(target) => {
            let row = c
                .query_one(
                    &prepared(
                        c,
                        "SELECT firmographics FROM target_orgs WHERE tenant_id = $1 AND id = $2",
                    )
                    .await?,
                    &[&tenant.0, &target.0],
                )
                .await
                .map_err(pg_error)?;
            let firmographics = row
                .get::<_, Option<Json<Map<String, Value>>>>(0)
                .map(|j| j.0);
            (firmographics, product_orgs_of(c, tenant, target).await?)
        }
        None => (None, Vec::new()),
    };
    Ok(EvaluationContext {
        lead,
        signals,
        firmographics,
        product_orgs,
    })
}
