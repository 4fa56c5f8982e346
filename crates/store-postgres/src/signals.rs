//! Signals: each stored with its lead, which it creates or links to a product org.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::Json;
use trailspark_core::signal::Signal;
use trailspark_core::step::{self, DedupeWindow, LeadState, Outcome};
use trailspark_core::{ApiKeyId, ProductOrgId, TenantId};
use trailspark_store::{IngestResult, SignalApplied, SignalRequest, StoreError, StoreResult};

use crate::db::{pg_error, prepared};
use crate::dedupe::{each_in_savepoint, lead_lock, lock, processed, remember, seen_webhook_id};
use crate::deliveries;

/// Stores a request's signals, each in its own savepoint, and its log entries, unless its
/// webhook-id is a replay (whose entries the server writes itself).
pub async fn ingest_signals(
    tx: &mut Transaction<'_>,
    window: DedupeWindow,
    tenant: TenantId,
    request: &SignalRequest,
) -> StoreResult<IngestResult<SignalApplied>> {
    if let Some(id) = &request.webhook_id {
        if seen_webhook_id(tx, tenant, &request.key_id, id, request.received_at).await? {
            return Ok(IngestResult::Replayed);
        }
    }
    let results = each_in_savepoint(tx, request, &request.signals, move |tx, request, signal| {
        Box::pin(store_signal(
            tx,
            window,
            tenant,
            &request.key_id,
            request.received_at,
            signal,
        ))
    })
    .await?;
    let log = request.log.as_ref();
    let entries = deliveries::entries(tenant, &request.key_id, request.received_at, log, &results);
    deliveries::insert(&*tx, &entries).await?;
    Ok(IngestResult::Applied(results))
}

async fn store_signal(
    tx: &impl GenericClient,
    window: DedupeWindow,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    signal: &Signal,
) -> StoreResult<SignalApplied> {
    let lead = signal.lead_id.as_str();
    lock(tx, tenant, &lead_lock(lead)).await?;
    if let Some(message_id) = &signal.message_id {
        if let Some(first) =
            processed::<SignalApplied>(tx, window, tenant, key, message_id, received_at).await?
        {
            return Ok(first.repeated());
        }
    }
    let after = step::lead_after(stored_lead(tx, tenant, lead).await?.as_ref(), signal);
    let product_org = after.product_org_id.as_ref().map(ProductOrgId::as_str);
    tx.execute(
        &prepared(
            tx,
            "INSERT INTO leads (tenant_id, lead_id, email, product_org_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET
             email = excluded.email, product_org_id = excluded.product_org_id,
             updated_at = excluded.updated_at",
        )
        .await?,
        &[&tenant.0, &lead, &after.email, &product_org, &received_at],
    )
    .await
    .map_err(pg_error)?;
    tx.execute(
        &prepared(
            tx,
            "INSERT INTO signals (tenant_id, lead_id, seq, name, properties, custom_fields,
             product_org_id, key_id, event_at, received_at, occurred_at)
         VALUES ($1, $2,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM signals WHERE tenant_id = $1 AND lead_id = $2),
             $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?,
        &[
            &tenant.0,
            &lead,
            &signal.name,
            &signal.properties.as_ref().map(Json),
            &Json(&signal.custom_fields),
            &signal.product_org_id.as_ref().map(ProductOrgId::as_str),
            &key.0,
            &signal.event_at,
            &received_at,
            &signal.event_at.unwrap_or(received_at),
        ],
    )
    .await
    .map_err(pg_error)?;
    let target = match product_org {
        Some(id) => crate::reads::target_org_of(tx, tenant, id).await?,
        None => None,
    };
    let similar = match (&after.product_org_id, target) {
        (Some(id), None) => crate::similar::similar(tx, tenant, id).await?,
        _ => None,
    };
    let applied = step::signal_applied(signal, &after, target, similar.as_ref());
    if let Some(message_id) = &signal.message_id {
        remember(tx, tenant, key, message_id, &applied, received_at).await?;
    }
    Ok(applied)
}

/// What a signal can change of a stored lead, if the lead exists.
async fn stored_lead(
    tx: &impl GenericClient,
    tenant: TenantId,
    lead: &str,
) -> StoreResult<Option<LeadState>> {
    let row = tx
        .query_opt(
            &prepared(
                tx,
                "SELECT email, product_org_id FROM leads WHERE tenant_id = $1 AND lead_id = $2",
            )
            .await?,
            &[&tenant.0, &lead],
        )
        .await
        .map_err(pg_error)?;
    let Some(row) = row else { return Ok(None) };
    let product_org_id = row
        .get::<_, Option<String>>(1)
        .map(ProductOrgId::parse)
        .transpose()
        .map_err(|e| StoreError::other("a stored lead's product org id").caused_by(e))?;
    Ok(Some(LeadState {
        email: row.get(0),
        product_org_id,
    }))
}
