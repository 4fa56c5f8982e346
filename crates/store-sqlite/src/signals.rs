//! Storing signals and linking their leads, inside the writer's transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use trailspark_core::signal::Signal;
use trailspark_core::step::{self, LeadState, Outcome};
use trailspark_core::{ApiKeyId, LeadId, ProductOrgId, TenantId};
use trailspark_store::{IngestResult, SignalApplied, SignalRequest, StoreError, StoreResult};

use crate::db::{micros, sqlite_error, to_json};
use crate::dedupe::{each_in_savepoint, processed, remember, seen_webhook_id};
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
    let results = each_in_savepoint(conn, mode, &request.signals, |signal| {
        store_signal(conn, tenant, &request.key_id, request.received_at, signal)
    })?;
    if let Some(log) = &request.log {
        let rows = log.rows(request.received_at, &results);
        conn.log.borrow_mut().push(tenant, &request.key_id, rows);
    }
    Ok(IngestResult::Applied(results))
}

fn store_signal(
    conn: &crate::writer::Ctx<'_>,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    signal: &Signal,
) -> StoreResult<SignalApplied> {
    if let Some(message_id) = &signal.message_id {
        if let Some(first) = processed::<SignalApplied>(
            conn,
            conn.dedupe.window,
            tenant,
            key,
            message_id,
            received_at,
        )? {
            return Ok(first.repeated());
        }
    }
    let lead = &signal.lead_id;
    let now = micros(&received_at);
    let after = step::lead_after(stored_lead(conn, tenant, lead)?.as_ref(), signal);
    conn.prepare_cached(
        "INSERT INTO leads (tenant_id, lead_id, email, product_org_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET
             email = excluded.email, product_org_id = excluded.product_org_id,
             updated_at = excluded.updated_at",
    )
    .and_then(|mut s| {
        s.execute((
            tenant.0,
            lead.as_str(),
            after.email.as_deref(),
            after.product_org_id.as_ref().map(ProductOrgId::as_str),
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
    let target = match &after.product_org_id {
        Some(id) => crate::reads::target_org_of(conn, tenant, id)?,
        None => None,
    };
    let similar = match (&after.product_org_id, target) {
        (Some(id), None) => crate::similar::similar_on(conn, tenant, id)?,
        _ => None,
    };
    let applied = step::signal_applied(signal, &after, target, similar.as_ref());
    if let Some(message_id) = &signal.message_id {
        remember(conn, tenant, key, message_id, &applied, received_at)?;
    }
    Ok(applied)
}

/// What a signal can change of a stored lead, if the lead exists.
fn stored_lead(
    conn: &Connection,
    tenant: TenantId,
    lead: &LeadId,
) -> StoreResult<Option<LeadState>> {
    let row: Option<(Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT email, product_org_id FROM leads WHERE tenant_id = ?1 AND lead_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row((tenant.0, lead.as_str()), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sqlite_error)?;
    row.map(|(email, product_org_id)| {
        Ok(LeadState {
            email,
            product_org_id: product_org_id
                .map(ProductOrgId::parse)
                .transpose()
                .map_err(|e| StoreError::other("a stored lead's product org id").caused_by(e))?,
        })
    })
    .transpose()
}
