//! Reads of leads, their signals and their evaluation context.

use rusqlite::{Connection, OptionalExtension, Row};
use trailspark_core::{LeadId, ProductOrgId, TargetOrgId, TenantId, FOLDED_ID_SQL};
use trailspark_store::{
    EvaluationContext, Lead, Missing, Page, SearchQuery, SignalRecord, StoreError, StoreResult,
    UnlinkedLead,
};

use crate::db::{from_json, from_micros, sqlite_error};
use crate::reads::{product_orgs_of, search_page, SearchIndex, SearchedList, CANDIDATES};

/// A lead's columns; its target org comes through the product org it is linked to.
pub const LEAD_SELECT: &str = "SELECT l.lead_id, l.email, l.product_org_id, p.target_org_id,
        l.created_at, l.updated_at
    FROM leads l
    LEFT JOIN product_orgs p ON p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id";

type RawLead = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

/// A lead as [`LEAD_SELECT`] reads it.
pub fn lead_row(row: &Row<'_>) -> rusqlite::Result<RawLead> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

/// A lead row as a [`Lead`]; a corrupt row is a store error, not a panic.
pub fn lead(raw: RawLead) -> StoreResult<Lead> {
    let (lead_id, email, product_org_id, target, created_at, updated_at) = raw;
    let corrupt = |e: String| StoreError::other(format!("corrupt lead in store: {e}"));
    Ok(Lead {
        lead_id: LeadId::parse(lead_id).map_err(corrupt)?,
        email,
        product_org_id: product_org_id
            .map(ProductOrgId::parse)
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?,
        target_org_id: target.map(TargetOrgId),
        created_at: from_micros(created_at),
        updated_at: from_micros(updated_at),
    })
}

/// One lead of a tenant.
pub fn find_lead(conn: &Connection, tenant: TenantId, id: &LeadId) -> StoreResult<Lead> {
    let raw = conn
        .prepare_cached(&format!(
            "{LEAD_SELECT} WHERE l.tenant_id = ?1 AND l.lead_id = ?2"
        ))
        .and_then(|mut s| s.query_row((tenant.0, id.as_str()), lead_row).optional())
        .map_err(sqlite_error)?
        .ok_or_else(|| Missing::Lead(id.clone()))?;
    lead(raw)
}

/// A list of leads, searched by id or email.
fn leads_searched(sql: &str) -> SearchedList<'_> {
    SearchedList {
        sql,
        index: SearchIndex::Leads,
        key: "l.lead_id",
    }
}

/// A page of a tenant's leads in id order, those whose id or email holds the search.
pub fn list_leads(
    conn: &Connection,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<Lead>> {
    let sql = format!(
        "{LEAD_SELECT}
         WHERE l.tenant_id = ?1 {CANDIDATES}
           AND (?2 IS NULL OR l.lead_id > ?2)
           AND (?3 IS NULL OR l.lead_id LIKE ?3 ESCAPE '\\' OR l.email LIKE ?3 ESCAPE '\\')
         ORDER BY l.lead_id
         LIMIT ?4"
    );
    search_page(
        conn,
        &leads_searched(&sql),
        tenant,
        query,
        lead_row,
        lead,
        |l| l.lead_id.as_str().to_owned(),
    )
}

/// A page of the leads [`list_leads`] would list that are not linked: their product org is
/// missing or does not exist. Each comes with the oldest product org whose id folds like the one
/// it names, as a signal's `similar_product_org` warning names it (its folded id is looked up on
/// the index `product_orgs_folded`, so the index's side of `=` is [`FOLDED_ID_SQL`] as written).
pub fn unlinked_leads(
    conn: &Connection,
    tenant: TenantId,
    query: &SearchQuery,
) -> StoreResult<Page<UnlinkedLead>> {
    let folded = FOLDED_ID_SQL.sqlite;
    let lead_folded = folded.replace("product_org_id", "l.product_org_id");
    let sql = format!(
        "SELECT l.lead_id, l.email, l.product_org_id, NULL, l.created_at, l.updated_at,
             (SELECT product_org_id FROM product_orgs
              WHERE tenant_id = l.tenant_id AND {folded} = {lead_folded}
              ORDER BY created_at, product_org_id LIMIT 1)
         FROM leads l
         WHERE l.tenant_id = ?1 {CANDIDATES}
           AND (?2 IS NULL OR l.lead_id > ?2)
           AND (?3 IS NULL OR l.lead_id LIKE ?3 ESCAPE '\\' OR l.email LIKE ?3 ESCAPE '\\')
           AND NOT EXISTS (SELECT 1 FROM product_orgs p
               WHERE p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id)
         ORDER BY l.lead_id
         LIMIT ?4"
    );
    search_page(
        conn,
        &leads_searched(&sql),
        tenant,
        query,
        |row| Ok((lead_row(row)?, row.get::<_, Option<String>>(6)?)),
        |(raw, similar)| {
            Ok(UnlinkedLead {
                lead: lead(raw)?,
                did_you_mean: similar.map(ProductOrgId::parse).transpose().map_err(|e| {
                    StoreError::other("corrupt product org id in store").caused_by(e)
                })?,
            })
        },
        |u| u.lead.lead_id.as_str().to_owned(),
    )
}

fn signals(
    conn: &Connection,
    tenant: TenantId,
    id: &LeadId,
    limit: u32,
) -> StoreResult<Vec<SignalRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, properties, custom_fields, product_org_id, event_at, received_at
             FROM signals WHERE tenant_id = ?1 AND lead_id = ?2
             ORDER BY occurred_at DESC, seq DESC LIMIT ?3",
        )
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map((tenant.0, id.as_str(), i64::from(limit)), |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(sqlite_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, properties, custom_fields, product_org_id, event_at, received_at) =
            row.map_err(sqlite_error)?;
        out.push(SignalRecord {
            name,
            properties: properties.as_deref().map(from_json).transpose()?,
            custom_fields: from_json(&custom_fields)?,
            product_org_id: product_org_id
                .map(ProductOrgId::parse)
                .transpose()
                .map_err(|e| StoreError::other("corrupt signal in store").caused_by(e))?,
            event_at: event_at.map(from_micros),
            received_at: from_micros(received_at),
        });
    }
    Ok(out)
}

/// A lead's evaluation context (SPEC §4): the lead, its latest signals, and its target org's
/// firmographics and product orgs.
pub fn evaluation_context(
    conn: &Connection,
    tenant: TenantId,
    id: &LeadId,
    signal_limit: u32,
) -> StoreResult<EvaluationContext> {
    // One read transaction: the lead, its signals and its org are one consistent snapshot.
    let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
    let lead = find_lead(&tx, tenant, id)?;
    let signals = signals(&tx, tenant, id, signal_limit)?;
    let (firmographics, product_orgs) = match lead.target_org_id {
        Some(target) => {
            let firmographics: Option<String> = tx
                .prepare_cached(
                    "SELECT firmographics FROM target_orgs WHERE tenant_id = ?1 AND id = ?2",
                )
                .and_then(|mut s| s.query_row((tenant.0, target.0), |r| r.get(0)))
                .map_err(sqlite_error)?;
            (
                firmographics.as_deref().map(from_json).transpose()?,
                product_orgs_of(&tx, tenant, target)?,
            )
        }
        None => (None, Vec::new()),
    };
    tx.commit().map_err(sqlite_error)?;
    Ok(EvaluationContext {
        lead,
        signals,
        firmographics,
        product_orgs,
    })
}
