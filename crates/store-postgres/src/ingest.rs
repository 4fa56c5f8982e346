//! Applying product org updates in one transaction: upsert, per-field last-writer-wins,
//! history, messageId dedupe and webhook-id replay refusal, safe across instances.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::Json;
use trailspark_core::{
    ApiKeyId, FieldClock, FieldPatch, ProductOrgFields, TargetOrgId, TenantId, Update,
};
use trailspark_store::{Applied, IngestRequest, IngestResult, StoreError, StoreResult};

use crate::db::{pg_error, prepared};

const DEDUPE_WINDOW: Duration = Duration::hours(24);
const REPLAY_WINDOW: Duration = Duration::minutes(10);

/// Applies a request's updates in order inside `tx`.
pub async fn ingest(
    tx: &mut Transaction<'_>,
    tenant: TenantId,
    request: &IngestRequest,
) -> StoreResult<IngestResult> {
    if let Some(id) = &request.webhook_id {
        if seen_webhook_id(tx, tenant, &request.key_id, id, request.received_at).await? {
            return Ok(IngestResult::Replayed);
        }
    }
    each_in_savepoint(tx, request, &request.updates, move |tx, request, update| {
        Box::pin(apply(
            tx,
            tenant,
            &request.key_id,
            request.received_at,
            update,
        ))
    })
    .await
    .map(IngestResult::Applied)
}

/// The work on one item. Boxed, and `Send` by its type, so that the futures of the trait's
/// methods stay `Send` (a generic async closure cannot promise that yet).
pub type ItemFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Runs `apply` for each item in its own savepoint: a failed item is rolled back alone and
/// reported, except an unavailable database, which fails the whole request so it is retried.
pub async fn each_in_savepoint<C: Sync, U: Sync, T>(
    tx: &mut Transaction<'_>,
    context: &C,
    items: &[U],
    apply: impl for<'a> Fn(&'a Transaction<'a>, &'a C, &'a U) -> ItemFuture<'a, T>,
) -> StoreResult<Vec<Result<T, String>>> {
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let savepoint = tx.savepoint("item").await.map_err(pg_error)?;
        match apply(&savepoint, context, item).await {
            Ok(done) => {
                savepoint.commit().await.map_err(pg_error)?;
                results.push(Ok(done));
            }
            Err(e @ StoreError::Unavailable(_)) => return Err(e),
            Err(e) => {
                savepoint.rollback().await.map_err(pg_error)?;
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
            &[&tenant.0, &key.0, &webhook_id, &now, &(now - REPLAY_WINDOW)],
        )
        .await
        .map_err(pg_error)?;
    Ok(fresh.is_none())
}

/// Serialises the writers of one product org (or one lead) across instances until commit.
pub async fn lock(
    tx: &impl GenericClient,
    tenant: TenantId,
    kind: &str,
    id: &str,
) -> StoreResult<()> {
    tx.execute(
        &prepared(tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))").await?,
        &[&format!("{kind}:{id}"), &tenant.0],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

async fn apply(
    tx: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    update: &Update,
) -> StoreResult<Applied> {
    let id = update.product_org_id.as_str();
    lock(tx, tenant, "product_org", id).await?;
    if let Some(message_id) = &update.message_id {
        if let Some(first) = processed::<Applied>(tx, tenant, key, message_id, received_at).await? {
            return Ok(Applied {
                duplicate: true,
                ..first
            });
        }
    }
    let existing = tx
        .query_opt(
            &prepared(
                tx,
                "SELECT target_org_id, fields, field_clock, version FROM product_orgs
             WHERE tenant_id = $1 AND product_org_id = $2",
            )
            .await?,
            &[&tenant.0, &id],
        )
        .await
        .map_err(pg_error)?;
    let is_new_org = existing.is_none();
    let (target_org_id, mut fields, mut clock, mut version) = match existing {
        Some(row) => {
            let Json(fields): Json<ProductOrgFields> = row.get(1);
            let Json(clock): Json<FieldClock> = row.get(2);
            (TargetOrgId(row.get(0)), fields, clock, row.get::<_, i64>(3))
        }
        None => {
            let target =
                create_target_org(tx, tenant, &target_org_name(update), received_at).await?;
            (
                target,
                ProductOrgFields::default(),
                FieldClock::default(),
                0,
            )
        }
    };
    let outcome = fields.merge(
        &mut clock,
        &update.patches,
        update.event_at.unwrap_or(received_at),
    );
    let changed = is_new_org || !outcome.changes.is_empty();
    if changed {
        version += 1;
        tx.execute(
            &prepared(
                tx,
                "INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
                 field_clock, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (tenant_id, product_org_id) DO UPDATE SET
                 name = excluded.name, fields = excluded.fields, field_clock = excluded.field_clock,
                 version = excluded.version, updated_at = excluded.updated_at",
            )
            .await?,
            &[
                &tenant.0,
                &id,
                &target_org_id.0,
                &fields.name,
                &Json(&fields),
                &Json(&clock),
                &version,
                &received_at,
            ],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(&prepared(tx, "INSERT INTO product_org_history (tenant_id, product_org_id, version, changes, key_id,
                 event_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)").await?,
            &[
                &tenant.0,
                &id,
                &version,
                &Json(&outcome.changes),
                &key.0,
                &update.event_at,
                &received_at,
            ],
        )
        .await
        .map_err(pg_error)?;
    } else if outcome.clock_moved {
        tx.execute(&prepared(tx, "UPDATE product_orgs SET field_clock = $3 WHERE tenant_id = $1 AND product_org_id = $2").await?,
            &[&tenant.0, &id, &Json(&clock)],
        )
        .await
        .map_err(pg_error)?;
    }
    let applied = Applied {
        product_org_id: update.product_org_id.clone(),
        target_org_id,
        is_new_org,
        changed,
        duplicate: false,
    };
    if let Some(message_id) = &update.message_id {
        remember(tx, tenant, key, message_id, &applied, received_at).await?;
    }
    Ok(applied)
}

fn target_org_name(update: &Update) -> String {
    update
        .patches
        .iter()
        .find_map(|p| match p {
            FieldPatch::Name(Some(name)) => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| update.product_org_id.as_str().to_owned())
}

async fn create_target_org(
    tx: &impl GenericClient,
    tenant: TenantId,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<TargetOrgId> {
    let row = tx
        .query_one(
            &prepared(tx, "SELECT nextval('target_org_ids')").await?,
            &[],
        )
        .await
        .map_err(pg_error)?;
    let id: i64 = row.get(0);
    tx.execute(&prepared(tx, "INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)").await?,
        &[&tenant.0, &id, &name, &now],
    )
    .await
    .map_err(pg_error)?;
    Ok(TargetOrgId(id))
}

/// The first outcome of `message_id` for this key, if stored in the last 24 hours.
pub async fn processed<T: DeserializeOwned>(
    tx: &impl GenericClient,
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
            &[&tenant.0, &key.0, &message_id, &(now - DEDUPE_WINDOW)],
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
pub async fn sweep_expired(client: &impl GenericClient) -> StoreResult<()> {
    let now = Utc::now();
    client
        .execute(
            &prepared(
                client,
                "DELETE FROM processed_messages WHERE processed_at < $1",
            )
            .await?,
            &[&(now - DEDUPE_WINDOW)],
        )
        .await
        .map_err(pg_error)?;
    client
        .execute(
            &prepared(client, "DELETE FROM webhook_ids WHERE seen_at < $1").await?,
            &[&(now - REPLAY_WINDOW)],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}
