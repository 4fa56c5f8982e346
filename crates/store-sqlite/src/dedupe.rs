//! What product org updates and signals share inside the writer's transaction: messageId
//! dedupe and webhook-id replay refusal (SPEC §2–3, which signals follow too), running a
//! request's items each in its own savepoint, and the sweeps that delete dedupe and replay rows
//! past their windows.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
use trailspark_core::step;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{StoreError, StoreResult};

use crate::db::{from_json, micros, sqlite_error, to_json};
use crate::writer::{Ctx, Mode};

/// Dedupe rows looked at by one sweep.
pub(crate) const SWEEP_ROWS: i64 = 10_000;

/// A dedupe row's tenant, key id and messageId (its key is ordered tenant, messageId, key id).
type SweepKey = (i64, String, String);

/// What the writer keeps between transactions for the sweeps of expired dedupe rows, which
/// product org updates and signals both store.
pub struct Sweeps {
    /// How long a messageId is remembered.
    pub(crate) window: step::DedupeWindow,
    /// Where the next sweep of expired dedupe rows starts (`None`: at the beginning).
    from: Cell<Option<SweepKey>>,
    /// Dedupe rows stored since the last sweep.
    remembered: Cell<usize>,
}

impl Sweeps {
    pub(crate) fn new(window: step::DedupeWindow) -> Self {
        Self {
            window,
            from: Cell::default(),
            remembered: Cell::default(),
        }
    }

    /// One more dedupe row was stored.
    pub(crate) fn remembered_one(&self) {
        self.remembered.set(self.remembered.get() + 1);
    }

    /// Enough dedupe rows were stored since the last sweep that the next must not wait for its
    /// time: a sweep looks at [`SWEEP_ROWS`] rows, so sweeping once per half that many new
    /// rows goes round the table at least twice as fast as rows come, whatever the rate. The
    /// table then holds at most about twice the window's messageIds; a sweep every 5 s alone
    /// looks at 2,000 rows a second, and at a steady rate above that the table would grow
    /// without end.
    pub(crate) fn sweep_due(&self) -> bool {
        self.remembered.get() >= SWEEP_ROWS as usize / 2
    }
}

/// The outcome of a key's messageId, if it was stored since ?4.
pub(crate) const PROCESSED: &str = "SELECT outcome FROM processed_messages
     WHERE tenant_id = ?1 AND key_id = ?2 AND message_id = ?3 AND processed_at >= ?4";
/// Stores a key's messageId with its outcome, over one stored before.
const REMEMBER: &str =
    "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (tenant_id, message_id, key_id) DO UPDATE SET
         outcome = excluded.outcome, processed_at = excluded.processed_at";
/// Stores a messageId's outcome unless the messageId was stored within the window (?6): it
/// changes one row when it stored, none when the messageId is a duplicate. (RETURNING would
/// say so too, but SQLite buffers what it returns in a table of its own: dearer than asking.)
pub(crate) const REMEMBER_NEW: &str =
    "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (tenant_id, message_id, key_id) DO UPDATE SET
         outcome = excluded.outcome, processed_at = excluded.processed_at
     WHERE processed_messages.processed_at < ?6";

/// Runs `apply` for each item. Isolated, each in its own savepoint: a failed item is rolled
/// back alone and reported, except contention or I/O trouble, which fails the whole request
/// so the sender retries it. Fast, any failure fails the job (the writer then runs the batch
/// again isolated).
pub fn each_in_savepoint<U, T>(
    ctx: &Ctx<'_>,
    mode: Mode,
    items: &[U],
    mut apply: impl FnMut(&U) -> StoreResult<T>,
) -> StoreResult<Vec<Result<T, String>>> {
    if mode == Mode::Fast {
        return items.iter().map(|item| apply(item).map(Ok)).collect();
    }
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        ctx.execute_batch("SAVEPOINT item").map_err(sqlite_error)?;
        match apply(item) {
            Ok(done) => {
                ctx.execute_batch("RELEASE item").map_err(sqlite_error)?;
                results.push(Ok(done));
            }
            Err(e @ StoreError::Unavailable { .. }) => return Err(e),
            Err(e) => {
                ctx.execute_batch("ROLLBACK TO item; RELEASE item")
                    .map_err(sqlite_error)?;
                ctx.rolled_back();
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
    if seen_at.is_some_and(|at| at >= micros(&step::replay_since(now))) {
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

/// The first outcome of `message_id` for this key, if it was stored within `window`.
pub fn processed<T: DeserializeOwned>(
    conn: &Connection,
    window: step::DedupeWindow,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<T>> {
    let outcome: Option<String> = conn
        .prepare_cached(PROCESSED)
        .and_then(|mut s| {
            s.query_row(
                (tenant.0, &key.0, message_id, micros(&window.since(now))),
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(sqlite_error)?;
    outcome.map(|json| from_json(&json)).transpose()
}

/// Remembers the outcome of `message_id` for this key.
pub fn remember<T: Serialize>(
    ctx: &Ctx<'_>,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    outcome: &T,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    ctx.prepare_cached(REMEMBER)
        .and_then(|mut s| s.execute((tenant.0, &key.0, message_id, to_json(outcome), micros(&now))))
        .map_err(sqlite_error)?;
    ctx.dedupe.remembered_one();
    Ok(())
}

/// Deletes dedupe and replay rows past their windows. Dedupe rows are kept in key order (no
/// index by age to update at every insert), so each sweep looks at the next
/// [`SWEEP_ROWS`] of them and the sweeps go round: the writer is never held up for long.
pub fn sweep_expired(ctx: &Ctx<'_>) -> StoreResult<()> {
    let now = Utc::now();
    let (tenant, key, message) =
        ctx.dedupe
            .from
            .take()
            .unwrap_or((i64::MIN, String::new(), String::new()));
    let upto: Option<SweepKey> = ctx
        .prepare_cached(
            "SELECT tenant_id, key_id, message_id FROM processed_messages
             WHERE (tenant_id, message_id, key_id) > (?1, ?3, ?2)
             ORDER BY tenant_id, message_id, key_id LIMIT 1 OFFSET ?4",
        )
        .and_then(|mut s| {
            s.query_row((tenant, &key, &message, SWEEP_ROWS - 1), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sqlite_error)?;
    let cutoff = micros(&ctx.dedupe.window.since(now));
    match &upto {
        Some((t, k, m)) => ctx.execute(
            "DELETE FROM processed_messages
             WHERE (tenant_id, message_id, key_id) > (?1, ?3, ?2)
               AND (tenant_id, message_id, key_id) <= (?4, ?6, ?5) AND processed_at < ?7",
            (tenant, &key, &message, t, k, m, cutoff),
        ),
        None => ctx.execute(
            "DELETE FROM processed_messages
             WHERE (tenant_id, message_id, key_id) > (?1, ?3, ?2) AND processed_at < ?4",
            (tenant, &key, &message, cutoff),
        ),
    }
    .map_err(sqlite_error)?;
    ctx.dedupe.from.set(upto);
    ctx.dedupe.remembered.set(0);
    ctx.execute(
        "DELETE FROM webhook_ids WHERE rowid IN
             (SELECT rowid FROM webhook_ids WHERE seen_at < ?1 LIMIT 10000)",
        [micros(&step::replay_since(now))],
    )
    .map_err(sqlite_error)?;
    Ok(())
}
