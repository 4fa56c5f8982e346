//! Signals: each stored with its lead, which it creates or links to a product org. Requests
//! are committed in batches by a [`Batcher`], one transaction for all the requests waiting,
//! with the statements of one signal after another: the same as one transaction per request,
//! with one commit for many.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::Json;
use trailspark_core::signal::Signal;
use trailspark_core::step::{self, DedupeWindow, LeadState, Outcome};
use trailspark_core::{ApiKeyId, ProductOrgId, TenantId};
use trailspark_store::{IngestResult, SignalApplied, SignalRequest, StoreError, StoreResult};

use crate::batcher::{self, Applying, Batcher};
use crate::db::{pg_error, prepared};
use crate::dedupe::{
    each_in_savepoint, lead_lock, lock_all, processed, remember, seen_webhook_id, ItemFuture,
};
use crate::deliveries;

/// A request of signals waiting for its batch.
type Job = batcher::Job<SignalRequest, SignalApplied>;

/// The queue of signals.
pub(crate) type Signals = Batcher<SignalRequest, SignalApplied>;

/// What [`Batcher::start`] commits signals with.
pub(crate) const APPLY: batcher::Apply<SignalRequest, SignalApplied> = apply_batch;

fn apply_batch<'a>(
    tx: &'a Transaction<'a>,
    window: DedupeWindow,
    batch: &'a [Job],
) -> Applying<'a, SignalApplied> {
    Box::pin(apply(tx, window, batch))
}

/// Stores a batch's signals and their log entries, but nothing of a request whose webhook-id
/// is a replay (whose entries the server writes itself). Every lead of the batch is locked
/// first, in sorted order, so that two batches never wait for each other in a circle. A
/// request alone in its batch (nothing else was waiting, or its batch failed and each request
/// runs again alone) has each signal in its own savepoint, so that only a signal at fault
/// fails; in a larger batch, any failure fails the batch.
async fn apply(
    tx: &Transaction<'_>,
    window: DedupeWindow,
    batch: &[Job],
) -> StoreResult<Vec<IngestResult<SignalApplied>>> {
    let leads = batch.iter().flat_map(|job| {
        let tenant = job.tenant.0;
        job.request
            .signals
            .iter()
            .map(move |s| (tenant, lead_lock(s.lead_id.as_str())))
    });
    lock_all(tx, leads.collect()).await?;
    let mut results = Vec::with_capacity(batch.len());
    let mut entries = Vec::new();
    for job in batch {
        let (tenant, request) = (job.tenant, &job.request);
        if let Some(id) = &request.webhook_id {
            if seen_webhook_id(tx, tenant, &request.key_id, id, request.received_at).await? {
                results.push(IngestResult::Replayed);
                continue;
            }
        }
        let context = (window, tenant, request);
        let applied = if batch.len() == 1 {
            each_in_savepoint(tx, &context, &request.signals, store_one).await?
        } else {
            let mut applied = Vec::with_capacity(request.signals.len());
            for signal in &request.signals {
                applied.push(Ok(store_one(tx, &context, signal).await?));
            }
            applied
        };
        let (key, log) = (&request.key_id, request.log.as_ref());
        entries.extend(deliveries::entries(
            tenant,
            key,
            request.received_at,
            log,
            &applied,
        ));
        results.push(IngestResult::Applied(applied));
    }
    deliveries::insert(tx, &entries).await?;
    Ok(results)
}

/// [`store_signal`] with what it takes from its request.
fn store_one<'a>(
    tx: &'a Transaction<'a>,
    (window, tenant, request): &'a (DedupeWindow, TenantId, &SignalRequest),
    signal: &'a Signal,
) -> ItemFuture<'a, SignalApplied> {
    let (key, received_at) = (&request.key_id, request.received_at);
    Box::pin(store_signal(tx, *window, *tenant, key, received_at, signal))
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
