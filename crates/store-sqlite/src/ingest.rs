//! Applying updates inside the writer's transaction: upsert, per-field last-writer-wins,
//! history, messageId dedupe and webhook-id replay refusal (SPEC §2–3).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};
use trailspark_core::{
    ApiKeyId, FieldClock, ProductOrgFields, ProductOrgId, TargetOrgId, TenantId, Update,
};
use trailspark_store::{Applied, IngestRequest, IngestResult, StoreError, StoreResult};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::{from_json, micros, sqlite_error, to_json};
use crate::writer::Mode;

/// How long a messageId is remembered.
const DEDUPE_WINDOW: Duration = Duration::hours(24);
/// How long a webhook-id is remembered: twice the signature window, so a replay can never be
/// both fresh enough to verify and old enough to be forgotten.
const REPLAY_WINDOW: Duration = Duration::minutes(10);

/// Applies a request's updates in order. Runs inside the writer's transaction.
pub fn ingest(
    conn: &Connection,
    mode: Mode,
    tenant: TenantId,
    request: &IngestRequest,
) -> StoreResult<IngestResult> {
    let replayed = match &request.webhook_id {
        Some(id) => seen_webhook_id(conn, tenant, &request.key_id, id, request.received_at)?,
        None => false,
    };
    if replayed {
        return Ok(IngestResult::Replayed);
    }
    each_in_savepoint(conn, mode, &request.updates, |update| {
        apply(conn, tenant, &request.key_id, request.received_at, update)
    })
    .map(IngestResult::Applied)
}

/// Runs `apply` for each item. Isolated, each in its own savepoint: a failed item is rolled
/// back alone and reported, except contention or I/O trouble, which fails the whole request
/// so the sender retries it. Fast, any failure fails the job (the writer then runs the batch
/// again isolated).
pub fn each_in_savepoint<U, T>(
    conn: &Connection,
    mode: Mode,
    items: &[U],
    mut apply: impl FnMut(&U) -> StoreResult<T>,
) -> StoreResult<Vec<Result<T, String>>> {
    if mode == Mode::Fast {
        return items.iter().map(|item| apply(item).map(Ok)).collect();
    }
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        conn.execute_batch("SAVEPOINT item").map_err(sqlite_error)?;
        match apply(item) {
            Ok(done) => {
                conn.execute_batch("RELEASE item").map_err(sqlite_error)?;
                results.push(Ok(done));
            }
            Err(e @ StoreError::Unavailable(_)) => return Err(e),
            Err(e) => {
                conn.execute_batch("ROLLBACK TO item; RELEASE item")
                    .map_err(sqlite_error)?;
                tracing::error!(error = %e, "item not applied");
                results.push(Err(e.to_string()));
            }
        }
    }
    Ok(results)
}

/// Records `webhook_id` for the key; true if it was already seen within the replay window.
pub fn seen_webhook_id(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    webhook_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let seen_at: Option<i64> = conn
        .prepare_cached(
            "SELECT seen_at FROM webhook_ids WHERE tenant_id = ?1 AND key_id = ?2 AND webhook_id = ?3",
        )
        .and_then(|mut s| s.query_row((tenant.0, &key.0, webhook_id), |r| r.get(0)).optional())
        .map_err(sqlite_error)?;
    if seen_at.is_some_and(|at| at >= micros(&(now - REPLAY_WINDOW))) {
        return Ok(true);
    }
    conn.prepare_cached(
        "INSERT INTO webhook_ids (tenant_id, key_id, webhook_id, seen_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, key_id, webhook_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .and_then(|mut s| s.execute((tenant.0, &key.0, webhook_id, micros(&now))))
    .map_err(sqlite_error)?;
    Ok(false)
}

/// The stored state of one product org, as the merge needs it.
struct Current {
    target_org_id: TargetOrgId,
    fields: ProductOrgFields,
    clock: FieldClock,
    version: i64,
}

fn apply(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    update: &Update,
) -> StoreResult<Applied> {
    if let Some(message_id) = &update.message_id {
        if let Some(first) = processed::<Applied>(conn, tenant, key, message_id, received_at)? {
            return Ok(Applied {
                duplicate: true,
                ..first
            });
        }
    }
    let id = &update.product_org_id;
    let existing = current(conn, tenant, id)?;
    let is_new_org = existing.is_none();
    let mut org = match existing {
        Some(org) => org,
        None => Current {
            target_org_id: create_target_org(conn, tenant, &update.target_org_name(), received_at)?,
            fields: ProductOrgFields::default(),
            clock: FieldClock::default(),
            version: 0,
        },
    };
    let outcome = org.fields.merge(
        &mut org.clock,
        &update.patches,
        update.event_at.unwrap_or(received_at),
    );
    let changed = is_new_org || !outcome.changes.is_empty();
    if changed {
        org.version += 1;
        conn.prepare_cached(
            "INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
                 field_clock, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (tenant_id, product_org_id) DO UPDATE SET
                 name = excluded.name, fields = excluded.fields,
                 field_clock = excluded.field_clock, version = excluded.version,
                 updated_at = excluded.updated_at",
        )
        .and_then(|mut s| {
            s.execute((
                tenant.0,
                id.as_str(),
                org.target_org_id.0,
                org.fields.name.as_deref(),
                to_json(&org.fields),
                to_json(&org.clock),
                org.version,
                micros(&received_at),
            ))
        })
        .map_err(sqlite_error)?;
        conn.prepare_cached(
            "INSERT INTO product_org_history (tenant_id, product_org_id, version, changes, key_id,
                 event_at, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute((
                tenant.0,
                id.as_str(),
                org.version,
                to_json(&outcome.changes),
                &key.0,
                update.event_at.as_ref().map(micros),
                micros(&received_at),
            ))
        })
        .map_err(sqlite_error)?;
    } else if outcome.clock_moved {
        // No value changed, but a newer event touched some field: remember it, so a later
        // arriving older update still loses. `updatedAt` and history stay as they were.
        conn.prepare_cached(
            "UPDATE product_orgs SET field_clock = ?3 WHERE tenant_id = ?1 AND product_org_id = ?2",
        )
        .and_then(|mut s| s.execute((tenant.0, id.as_str(), to_json(&org.clock))))
        .map_err(sqlite_error)?;
    }
    let applied = Applied {
        product_org_id: id.clone(),
        target_org_id: org.target_org_id,
        is_new_org,
        changed,
        duplicate: false,
    };
    if let Some(message_id) = &update.message_id {
        remember(conn, tenant, key, message_id, &applied, received_at)?;
    }
    Ok(applied)
}

fn current(conn: &Connection, tenant: TenantId, id: &ProductOrgId) -> StoreResult<Option<Current>> {
    let row = conn
        .prepare_cached(
            "SELECT target_org_id, fields, field_clock, version FROM product_orgs
             WHERE tenant_id = ?1 AND product_org_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row((tenant.0, id.as_str()), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                ))
            })
            .optional()
        })
        .map_err(sqlite_error)?;
    row.map(|(target, fields, clock, version)| {
        Ok(Current {
            target_org_id: TargetOrgId(target),
            fields: crate::db::from_json(&fields)?,
            clock: crate::db::from_json(&clock)?,
            version,
        })
    })
    .transpose()
}

fn create_target_org(
    conn: &Connection,
    tenant: TenantId,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<TargetOrgId> {
    let id: i64 = conn
        .prepare_cached(
            "UPDATE tenants SET next_target_org_id = next_target_org_id + 1 WHERE id = ?1
             RETURNING next_target_org_id - 1",
        )
        .and_then(|mut s| s.query_row([tenant.0], |r| r.get(0)))
        .map_err(sqlite_error)?;
    conn.prepare_cached(
        "INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .and_then(|mut s| s.execute((tenant.0, id, name, micros(&now))))
    .map_err(sqlite_error)?;
    Ok(TargetOrgId(id))
}

/// The first outcome of `message_id` for this key, if it was stored in the last 24 hours.
pub fn processed<T: DeserializeOwned>(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<T>> {
    let outcome: Option<String> = conn
        .prepare_cached(
            "SELECT outcome FROM processed_messages
             WHERE tenant_id = ?1 AND key_id = ?2 AND message_id = ?3 AND processed_at >= ?4",
        )
        .and_then(|mut s| {
            s.query_row(
                (tenant.0, &key.0, message_id, micros(&(now - DEDUPE_WINDOW))),
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(sqlite_error)?;
    outcome.map(|json| from_json(&json)).transpose()
}

/// Remembers the outcome of `message_id` for this key.
pub fn remember<T: Serialize>(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    outcome: &T,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, key_id, message_id) DO UPDATE SET
             outcome = excluded.outcome, processed_at = excluded.processed_at",
    )
    .and_then(|mut s| s.execute((tenant.0, &key.0, message_id, to_json(outcome), micros(&now))))
    .map_err(sqlite_error)?;
    Ok(())
}

/// Deletes dedupe and replay rows past their windows, a bounded number at a time so the
/// writer is never held up for long.
pub fn sweep_expired(conn: &Connection) -> StoreResult<()> {
    let now = Utc::now();
    conn.execute(
        "DELETE FROM processed_messages WHERE rowid IN
             (SELECT rowid FROM processed_messages WHERE processed_at < ?1 LIMIT 10000)",
        [micros(&(now - DEDUPE_WINDOW))],
    )
    .map_err(sqlite_error)?;
    conn.execute(
        "DELETE FROM webhook_ids WHERE rowid IN
             (SELECT rowid FROM webhook_ids WHERE seen_at < ?1 LIMIT 10000)",
        [micros(&(now - REPLAY_WINDOW))],
    )
    .map_err(sqlite_error)?;
    Ok(())
}
