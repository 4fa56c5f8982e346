//! Storing signals and linking their leads, inside the writer's transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, LeadId, TargetOrgId, TenantId};
use trailspark_store::{IngestResult, SignalApplied, SignalRequest, StoreResult};

use crate::db::{micros, sqlite_error, to_json};
use crate::ingest::{each_in_savepoint, processed, remember, seen_webhook_id};
use crate::writer::Mode;

/// Stores a request's signals in order.
pub fn ingest_signals(
    conn: &crate::writer::Ctx<'_>,
    mode: Mode,
    tenant: TenantId,
    request: &SignalRequest,
) -> StoreResult<IngestResult<SignalApplied>> {
    let replayed = match &request.webhook_id {
        Some(id) => seen_webhook_id(conn, tenant, &request.key_id, id, request.received_at)?,
        None => false,
    };
    if replayed {
        return Ok(IngestResult::Replayed);
    }
    each_in_savepoint(conn, mode, &request.signals, |signal| {
        store_signal(conn, tenant, &request.key_id, request.received_at, signal)
    })
    .map(IngestResult::Applied)
}

fn store_signal(
    conn: &crate::writer::Ctx<'_>,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    signal: &Signal,
) -> StoreResult<SignalApplied> {
    if let Some(message_id) = &signal.message_id {
        if let Some(first) = processed::<SignalApplied>(conn, tenant, key, message_id, received_at)?
        {
            return Ok(SignalApplied {
                duplicate: true,
                ..first
            });
        }
    }
    let lead = &signal.lead_id;
    let now = micros(&received_at);
    // The latest signal naming a product org sets the lead's link; one naming none keeps it.
    conn.prepare_cached(
        "INSERT INTO leads (tenant_id, lead_id, email, product_org_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET
             email = COALESCE(excluded.email, email),
             product_org_id = COALESCE(excluded.product_org_id, product_org_id),
             updated_at = excluded.updated_at",
    )
    .and_then(|mut s| {
        s.execute((
            tenant.0,
            lead.as_str(),
            signal.email.as_deref(),
            signal.product_org_id.as_ref().map(|id| id.as_str()),
            now,
        ))
    })
    .map_err(sqlite_error)?;
    conn.prepare_cached(
        "INSERT INTO signals (tenant_id, lead_id, seq, name, properties, custom_fields,
             product_org_id, key_id, event_at, received_at, occurred_at)
         VALUES (?1, ?2,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM signals WHERE tenant_id = ?1 AND lead_id = ?2),
             ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            tenant.0,
            lead.as_str(),
            signal.name,
            signal.properties.as_ref().map(to_json),
            to_json(&signal.custom_fields),
            signal.product_org_id.as_ref().map(|id| id.as_str()),
            key.0,
            signal.event_at.as_ref().map(micros),
            now,
            micros(&signal.event_at.unwrap_or(received_at)),
        ])
    })
    .map_err(sqlite_error)?;
    let target_org_id = linked_target_org(conn, tenant, lead)?;
    let applied = SignalApplied {
        lead_id: lead.clone(),
        target_org_id,
        linked: target_org_id.is_some(),
        duplicate: false,
    };
    if let Some(message_id) = &signal.message_id {
        remember(conn, tenant, key, message_id, &applied, received_at)?;
    }
    Ok(applied)
}

/// The target org of the product org a lead is linked to, if that product org exists.
fn linked_target_org(
    conn: &Connection,
    tenant: TenantId,
    lead: &LeadId,
) -> StoreResult<Option<TargetOrgId>> {
    conn.prepare_cached(
        "SELECT p.target_org_id FROM leads l
         JOIN product_orgs p ON p.tenant_id = l.tenant_id AND p.product_org_id = l.product_org_id
         WHERE l.tenant_id = ?1 AND l.lead_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row((tenant.0, lead.as_str()), |r| r.get(0).map(TargetOrgId))
            .optional()
    })
    .map_err(sqlite_error)
}
