//! The pieces of a write that product org batches ([`crate::ingest`]) and signals
//! ([`crate::signals`]) share: per-item savepoints (which the firmographics import uses too),
//! advisory locks, messageId dedupe, webhook-id replay refusal, and the sweep of expired dedupe
//! rows.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::Json;
use trailspark_core::step::{self, DedupeWindow};
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{StoreError, StoreResult};

use crate::db::{pg_error, prepared};

/// The work on one item. Boxed, and `Send` by its type, so that the futures of the trait's
/// methods stay `Send` (a generic async closure cannot promise that yet).
pub type ItemFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Runs `apply` for each item in its own savepoint: a failed item is rolled back alone and
/// reported, except an unavailable database, which fails the whole request so it is retried.
pub async fn each_in_savepoint<'t, C: Sync, U: Sync, T>(
    tx: &'t Transaction<'t>,
    context: &'t C,
    items: &'t [U],
    apply: impl Fn(&'t Transaction<'t>, &'t C, &'t U) -> ItemFuture<'t, T>,
) -> StoreResult<Vec<Result<T, String>>> {
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        // By name rather than `Transaction::savepoint`, which takes the transaction `&mut`:
        // a batch's transaction is shared by the requests it applies.
        tx.batch_execute("SAVEPOINT item").await.map_err(pg_error)?;
        match apply(tx, context, item).await {
            Ok(done) => {
                tx.batch_execute("RELEASE SAVEPOINT item")
                    .await
                    .map_err(pg_error)?;
                results.push(Ok(done));
            }
            Err(e @ StoreError::Unavailable { .. }) => return Err(e),
            Err(e) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT item; RELEASE SAVEPOINT item")
                    .await
                    .map_err(pg_error)?;
                tracing::error!(error = %e, "item not applied");
                results.push(Err(e.to_string()));
            }
        }
    }
    Ok(results)
}

/// Records `webhook_id` for the key; true if it was already seen within the replay window.
/// One statement, so two instances receiving the same id at once cannot both accept it.
pub async fn seen_webhook_id(
    tx: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    webhook_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let fresh = tx
        .query_opt(&prepared(tx, "INSERT INTO webhook_ids (tenant_id, key_id, webhook_id, seen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, key_id, webhook_id) DO UPDATE SET seen_at = excluded.seen_at
             WHERE webhook_ids.seen_at < $5
             RETURNING 1").await?,
            &[&tenant.0, &key.0, &webhook_id, &now, &step::replay_since(now)],
        )
        .await
        .map_err(pg_error)?;
    Ok(fresh.is_none())
}

/// The advisory lock name of a product org: its folded id, so that the writers of two ids
/// that fold alike (`ws_a`, `WS_A`) wait for each other too, and each sees whether the other
/// exists when it creates its org (its `similar_product_org`, the possible duplicates).
pub fn product_org_lock(id: &str) -> String {
    format!("product_org:{}", trailspark_core::ids::fold(id))
}

/// The advisory lock name of a lead.
pub fn lead_lock(id: &str) -> String {
    format!("lead:{id}")
}

/// Takes the advisory `locks` (tenant, name from [`product_org_lock`] or [`lead_lock`]) in
/// sorted order, the same locks [`lock`] takes one at a time, so that two batches never wait
/// for each other in a circle.
pub async fn lock_all(tx: &impl GenericClient, mut locks: Vec<(i64, String)>) -> StoreResult<()> {
    locks.sort_unstable();
    locks.dedup();
    if locks.is_empty() {
        return Ok(());
    }
    let (tenants, names): (Vec<i64>, Vec<String>) = locks.into_iter().unzip();
    // Functions in the select list run after ORDER BY: the locks are taken in array order.
    let sql = "SELECT pg_advisory_xact_lock(hashtextextended(k.name, k.tenant))
               FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS k(name, tenant, n)
               ORDER BY k.n";
    tx.execute(&prepared(tx, sql).await?, &[&names, &tenants])
        .await
        .map_err(pg_error)?;
    Ok(())
}

/// Serialises the writers of one product org or one lead (the lock `name`, from
/// [`product_org_lock`] or [`lead_lock`]) across instances until commit.
pub async fn lock(tx: &impl GenericClient, tenant: TenantId, name: &str) -> StoreResult<()> {
    tx.execute(
        &prepared(tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))").await?,
        &[&name, &tenant.0],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// The first outcome of `message_id` for this key, if stored within `window`.
pub async fn processed<T: DeserializeOwned>(
    tx: &impl GenericClient,
    window: DedupeWindow,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<T>> {
    let row = tx
        .query_opt(
            &prepared(
                tx,
                "SELECT outcome FROM processed_messages
             WHERE tenant_id = $1 AND key_id = $2 AND message_id = $3 AND processed_at >= $4",
            )
            .await?,
            &[&tenant.0, &key.0, &message_id, &window.since(now)],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| r.get::<_, Json<T>>(0).0))
}

/// Remembers the outcome of `message_id` for this key.
pub async fn remember<T: Serialize + Sync + std::fmt::Debug>(
    tx: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    outcome: &T,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        &prepared(
            tx,
            "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, key_id, message_id) DO UPDATE SET
             outcome = excluded.outcome, processed_at = excluded.processed_at",
        )
        .await?,
        &[&tenant.0, &key.0, &message_id, &Json(outcome), &now],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Deletes dedupe and replay rows past their windows.
pub async fn sweep_expired(client: &impl GenericClient, window: DedupeWindow) -> StoreResult<()> {
    let now = Utc::now();
    client
        .execute(
            &prepared(
                client,
                "DELETE FROM processed_messages WHERE processed_at < $1",
            )
            .await?,
            &[&window.since(now)],
        )
        .await
        .map_err(pg_error)?;
    client
        .execute(
            &prepared(client, "DELETE FROM webhook_ids WHERE seen_at < $1").await?,
            &[&step::replay_since(now)],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}
