//! Signals: each stored with its lead, which it creates or links to a product org. Requests
//! are committed in batches by a [`Batcher`], one transaction for all the requests waiting,
//! written with set-based statements ([`batch`]): the same as one transaction per request,
//! with one commit and a few round trips for many. A request the database refuses so is run
//! again one signal at a time ([`store_signal`]), each in its own savepoint, so that only a
//! signal at fault fails.

mod batch;

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
    each_in_savepoint, lead_lock, lock_all, processed, remember, replayed_all, ItemFuture,
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
/// runs again alone) whose signals the database refuses together has each signal applied
/// again in its own savepoint, so that only a signal at fault fails; in a larger batch, any
/// failure fails the batch.
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
    let signed = batch.iter().map(|job| {
        let request = &job.request;
        let id = request.webhook_id.as_deref();
        (job.tenant, &request.key_id, id, request.received_at)
    });
    let replayed = replayed_all(tx, signed.collect()).await?;
    let applied = match batch {
        [job] if !replayed[0] => vec![alone(tx, window, job).await?],
        _ => batch::apply(tx, window, batch, &replayed).await?,
    };
    let mut applied = applied.into_iter();
    let mut results = Vec::with_capacity(batch.len());
    let mut entries = Vec::new();
    for (job, replayed) in batch.iter().zip(replayed) {
        if replayed {
            results.push(IngestResult::Replayed);
            continue;
        }
        let applied = applied
            .next()
            .ok_or_else(|| StoreError::other("a request of the batch got no outcomes"))?;
        let request = &job.request;
        entries.extend(deliveries::entries(
            job.tenant,
            &request.key_id,
            request.received_at,
            request.log.as_ref(),
            &applied,
        ));
        results.push(IngestResult::Applied(applied));
    }
    deliveries::insert(tx, &entries).await?;
    Ok(results)
}

/// The signals of a request alone in its batch: set-based as a batch's, in a savepoint; if the
/// database refuses them, each again in a savepoint of its own.
async fn alone(
    tx: &Transaction<'_>,
    window: DedupeWindow,
    job: &Job,
) -> StoreResult<Vec<Result<SignalApplied, String>>> {
    tx.batch_execute("SAVEPOINT request")
        .await
        .map_err(pg_error)?;
    match batch::apply(tx, window, std::slice::from_ref(job), &[false]).await {
        Ok(mut applied) => {
            tx.batch_execute("RELEASE SAVEPOINT request")
                .await
                .map_err(pg_error)?;
            applied
                .pop()
                .ok_or_else(|| StoreError::other("a request alone got no outcomes"))
        }
        Err(e @ StoreError::Unavailable { .. }) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "signals refused together; applying each alone");
            tx.batch_execute("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")
                .await
                .map_err(pg_error)?;
            let context = (window, job.tenant, &job.request);
            each_in_savepoint(tx, &context, &job.request.signals, store_one).await
        }
    }
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
