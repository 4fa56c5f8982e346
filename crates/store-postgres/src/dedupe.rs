//! The pieces of a write that product org batches ([`crate::ingest`]) and signals
//! ([`crate::signals`]) share: per-item savepoints (which the firmographics import uses too),
//! advisory locks, messageId dedupe (one at a time, and a batch's in one statement each way),
//! webhook-id replay refusal, and the sweep of expired dedupe rows.

use std::collections::HashMap;
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

/// [`lock_all`]'s statement. Functions in the select list run after ORDER BY: the locks are
/// taken in array order.
pub const LOCK_ALL: &str = "SELECT pg_advisory_xact_lock(hashtextextended(k.name, k.tenant))
    FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS k(name, tenant, n) ORDER BY k.n";

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
    tx.execute(&prepared(tx, LOCK_ALL).await?, &[&names, &tenants])
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

/// A messageId of a batch: tenant, API key and messageId.
pub type MessageKey<'a> = (i64, &'a str, &'a str);

/// The element of `items` at the 1-based ordinal `n` that `WITH ORDINALITY` returned.
pub fn nth<T>(items: &[T], n: i64) -> StoreResult<&T> {
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| StoreError::other("unnest returned an unknown ordinal"))
}

/// The stored outcomes of a batch's messageIds (`asked`), with when they were stored, in one
/// statement; whether each still counts is the window's to say ([`DedupeWindow::repeat`]).
pub async fn processed_all<'a, T: DeserializeOwned>(
    tx: &impl GenericClient,
    asked: &[MessageKey<'a>],
) -> StoreResult<HashMap<MessageKey<'a>, (T, DateTime<Utc>)>> {
    let mut found = HashMap::new();
    if asked.is_empty() {
        return Ok(found);
    }
    let tenants: Vec<i64> = asked.iter().map(|m| m.0).collect();
    let keys: Vec<&str> = asked.iter().map(|m| m.1).collect();
    let messages: Vec<&str> = asked.iter().map(|m| m.2).collect();
    // One primary key probe per message: the generic plan of a prepared join, blind to the
    // arrays' length, hashed the whole table for every batch. `OFFSET 0` keeps the LATERAL
    // subquery from being flattened into such a join.
    let sql = "SELECT m.n, p.outcome, p.processed_at
               FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY
                   AS m(tenant_id, key_id, message_id, n),
               LATERAL (SELECT outcome, processed_at FROM processed_messages
                   WHERE tenant_id = m.tenant_id AND key_id = m.key_id
                       AND message_id = m.message_id OFFSET 0) p";
    let rows = tx
        .query(&prepared(tx, sql).await?, &[&tenants, &keys, &messages])
        .await
        .map_err(pg_error)?;
    for row in rows {
        let Json(outcome): Json<T> = row.get(1);
        found.insert(*nth(asked, row.get(0))?, (outcome, row.get(2)));
    }
    Ok(found)
}

/// Stores the first outcome of each new messageId of a batch, in one statement (sorted, so
/// concurrent batches take their row locks in one order).
pub async fn remember_all<T: Serialize + Sync + std::fmt::Debug>(
    tx: &impl GenericClient,
    rows: &mut [(MessageKey<'_>, T, DateTime<Utc>)],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let tenants: Vec<i64> = rows.iter().map(|r| r.0 .0).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.0 .1).collect();
    let messages: Vec<&str> = rows.iter().map(|r| r.0 .2).collect();
    let outcomes: Vec<Json<&T>> = rows.iter().map(|r| Json(&r.1)).collect();
    let at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.2).collect();
    let sql =
        "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
               SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[],
                   $5::timestamptz[])
               ON CONFLICT (tenant_id, key_id, message_id) DO UPDATE SET
                   outcome = excluded.outcome, processed_at = excluded.processed_at";
    tx.execute(
        &prepared(tx, sql).await?,
        &[&tenants, &keys, &messages, &outcomes, &at],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Records the webhook-id of each signed request of a batch (tenant, key, webhook-id, receive
/// time), in order; true for those already seen within the replay window.
pub async fn replayed_all(
    tx: &impl GenericClient,
    requests: Vec<(TenantId, &ApiKeyId, Option<&str>, DateTime<Utc>)>,
) -> StoreResult<Vec<bool>> {
    let mut replayed = Vec::with_capacity(requests.len());
    for (tenant, key, webhook_id, received_at) in requests {
        replayed.push(match webhook_id {
            Some(id) => seen_webhook_id(tx, tenant, key, id, received_at).await?,
            None => false,
        });
    }
    Ok(replayed)
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
