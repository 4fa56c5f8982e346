//! Group commit on PostgreSQL: product org updates wait in one queue; a few workers each take
//! whatever is waiting and apply it in one transaction with one multi-row statement per table
//! (arrays through `unnest`), so a batch of hundreds costs about ten round trips and one
//! commit. Every request is answered only after its batch committed.
//!
//! Inside a batch the semantics are those of one update after another: the merge runs in
//! memory in arrival order (several updates of one org apply in order, `isNewOrg` once,
//! per-field last-writer-wins, a messageId seen earlier in the batch is a duplicate), and the
//! final state of each org is written once. Writers of one product org are serialised across
//! workers and instances by advisory locks, taken in sorted order so batches never deadlock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool, Transaction};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::types::Json;
use trailspark_core::step::{self, OrgState, Write};
use trailspark_core::{FieldClock, ProductOrgFields, TargetOrgId, TenantId, Update};
use trailspark_store::{
    Applied, CommitCounters, CommitStats, IngestRequest, IngestResult, StoreError, StoreResult,
};

use crate::db::{pg_error, pool_error, prepared};
use crate::dedupe::seen_webhook_id;

/// One request waiting for a batch.
struct Job {
    tenant: TenantId,
    request: IngestRequest,
    answer: oneshot::Sender<StoreResult<IngestResult>>,
}

/// The queue of product org updates and the workers that commit them in batches.
pub struct Batcher {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stats: Arc<CommitCounters>,
}

impl Batcher {
    /// Starts `workers` workers, each committing up to `max_batch` requests at a time; at most
    /// `capacity` requests wait (beyond, 503).
    pub fn start(pool: Pool, workers: usize, max_batch: usize, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let stats = Arc::new(CommitCounters::default());
        let workers = (0..workers.max(1))
            .map(|_| {
                let (pool, rx, stats) = (pool.clone(), Arc::clone(&rx), Arc::clone(&stats));
                tokio::spawn(work(pool, rx, max_batch.max(1), stats))
            })
            .collect();
        Self {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
            stats,
        }
    }

    /// Applies `request` in the next batch and returns its outcome once that committed.
    pub async fn ingest(
        &self,
        tenant: TenantId,
        request: IngestRequest,
    ) -> StoreResult<IngestResult> {
        let (answer, answered) = oneshot::channel();
        let sender = self.queue.lock().expect("batch queue lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        };
        let job = Job {
            tenant,
            request,
            answer,
        };
        sender.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable("too many writes are waiting for the store".into())
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("the store is shutting down".into())
            }
        })?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?
    }

    /// Batches committed so far.
    pub fn stats(&self) -> CommitStats {
        self.stats.stats()
    }

    /// Stops taking requests and waits until the queued ones are committed and answered.
    pub async fn close(&self) {
        self.queue.lock().expect("batch queue lock").take();
        let workers = std::mem::take(&mut *self.workers.lock().expect("batch workers lock"));
        for worker in workers {
            let _ = worker.await;
        }
        let stats = self.stats.stats();
        tracing::info!(
            commits = stats.commits,
            jobs = stats.requests,
            average_batch = stats.average_batch(),
            "PostgreSQL writers stopped"
        );
    }
}

async fn work(
    pool: Pool,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
    stats: Arc<CommitCounters>,
) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        stats.record(batch.len());
        commit(&pool, batch).await;
    }
}

/// Commits a batch and answers its jobs. A batch that fails for another reason than an
/// unavailable database is run again one job per transaction, so only the job at fault fails.
async fn commit(pool: &Pool, batch: Vec<Job>) {
    let outcome = in_transaction(pool, &batch).await;
    match outcome {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.answer.send(Ok(result));
            }
        }
        Err(e) if batch.len() == 1 || matches!(e, StoreError::Unavailable(_)) => {
            if !matches!(e, StoreError::Unavailable(_)) {
                tracing::error!(error = %e, "update not applied");
            }
            for job in batch {
                let _ = job.answer.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "batch failed; applying its requests one by one");
            for job in batch {
                let alone = std::slice::from_ref(&job);
                let result = in_transaction(pool, alone).await.map(|mut r| r.remove(0));
                if let Err(e) = &result {
                    tracing::error!(error = %e, "update not applied");
                }
                let _ = job.answer.send(result);
            }
        }
    }
}

async fn in_transaction(pool: &Pool, batch: &[Job]) -> StoreResult<Vec<IngestResult>> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    let results = apply(&tx, batch).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(results)
}

/// A product org as the batch sees it: as stored (or new), then as each update leaves it.
struct Org {
    state: OrgState,
    /// Some value changed in this batch: the whole row is written.
    changed: bool,
    /// Only the field clock moved: only it is written.
    clock_moved: bool,
    /// Receive time of the latest change.
    updated_at: DateTime<Utc>,
    /// Receive time of the creating update (written only when the row is new).
    created_at: DateTime<Utc>,
}

/// Columns of the multi-row statements, one vector per column.
#[derive(Default)]
struct HistoryRows<'a> {
    tenant: Vec<i64>,
    id: Vec<&'a str>,
    version: Vec<i64>,
    changes: Vec<Json<Vec<trailspark_core::FieldChange>>>,
    key: Vec<&'a str>,
    event_at: Vec<Option<DateTime<Utc>>>,
    received_at: Vec<DateTime<Utc>>,
}

type OrgKey<'a> = (i64, &'a str);
type MessageKey<'a> = (i64, &'a str, &'a str);

async fn apply(tx: &Transaction<'_>, batch: &[Job]) -> StoreResult<Vec<IngestResult>> {
    // Signed requests first: a replayed webhook-id applies nothing.
    let mut replayed = vec![false; batch.len()];
    for (job, replayed) in batch.iter().zip(&mut replayed) {
        if let Some(id) = &job.request.webhook_id {
            let request = &job.request;
            *replayed =
                seen_webhook_id(tx, job.tenant, &request.key_id, id, request.received_at).await?;
        }
    }
    let updates: Vec<(&Job, &Update)> = batch
        .iter()
        .zip(&replayed)
        .filter(|(_, replayed)| !**replayed)
        .flat_map(|(job, _)| job.request.updates.iter().map(move |u| (job, u)))
        .collect();

    let mut keys: Vec<OrgKey> = updates
        .iter()
        .map(|(job, u)| (job.tenant.0, u.product_org_id.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    lock_all(tx, &keys).await?;
    // Independent statements go out together (tokio-postgres pipelines the futures polled
    // at once): one round trip for both reads, one for the writes below.
    // Results are looked at in statement order: after a failed statement the later ones
    // only say "transaction aborted", and the first error is the one that explains.
    let (dedupe, current) = tokio::join!(processed(tx, &updates), current(tx, &keys));
    let (mut dedupe, (mut orgs, new_targets)) = (dedupe?, current?);

    let mut history = HistoryRows::default();
    let mut created = Vec::new();
    let mut remembered: Vec<(MessageKey, Applied, DateTime<Utc>)> = Vec::new();
    let mut outcomes = Vec::with_capacity(updates.len());
    for (job, update) in &updates {
        let (tenant, key, now) = (
            job.tenant.0,
            job.request.key_id.0.as_str(),
            job.request.received_at,
        );
        let id = update.product_org_id.as_str();
        let message = update.message_id.as_deref().map(|m| (tenant, key, m));
        if let Some((first, first_at)) = message.and_then(|m| dedupe.get(&m)) {
            if let Some(again) = step::repeat(first.clone(), *first_at, now) {
                outcomes.push(again);
                continue;
            }
        }
        let org = match orgs.entry((tenant, id)) {
            std::collections::hash_map::Entry::Occupied(org) => org.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let target = *new_targets.get(&(tenant, id)).ok_or_else(|| {
                    StoreError::Other("a new product org found no target org id".into())
                })?;
                slot.insert(Org {
                    state: OrgState::new(TargetOrgId(target)),
                    changed: false,
                    clock_moved: false,
                    updated_at: now,
                    created_at: now,
                })
            }
        };
        let step = step::step(&mut org.state, update, now);
        match step.write {
            Write::Change(change) => {
                if let Some(target) = change.created {
                    created.push((tenant, target.id.0, target.name, now));
                }
                org.changed = true;
                org.updated_at = now;
                let row = change.history;
                history.tenant.push(tenant);
                history.id.push(id);
                history.version.push(row.version);
                history.changes.push(Json(row.changes));
                history.key.push(key);
                history.event_at.push(row.event_at);
                history.received_at.push(row.received_at);
            }
            Write::Clock => org.clock_moved = true,
            Write::Nothing => {}
        }
        if let Some(message) = message {
            dedupe.insert(message, (step.applied.clone(), now));
            remembered.push((message, step.applied.clone(), now));
        }
        outcomes.push(step.applied);
    }

    // Target orgs first, on their own: product orgs refer to them.
    insert_target_orgs(tx, &created).await?;
    let (orgs, history, remembered) = tokio::join!(
        write_orgs(tx, &orgs),
        insert_history(tx, &history),
        remember_all(tx, &mut remembered)
    );
    orgs?;
    history?;
    remembered?;

    let mut outcomes = outcomes.into_iter();
    Ok(batch
        .iter()
        .zip(replayed)
        .map(|(job, replayed)| {
            if replayed {
                return IngestResult::Replayed;
            }
            IngestResult::Applied(
                outcomes
                    .by_ref()
                    .take(job.request.updates.len())
                    .map(Ok)
                    .collect(),
            )
        })
        .collect())
}

/// Takes the advisory lock of every product org of the batch, in the order of `keys`
/// (sorted), the same lock [`crate::dedupe::lock`] takes for one org.
async fn lock_all(tx: &Transaction<'_>, keys: &[OrgKey<'_>]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let tenants: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let names: Vec<String> = keys
        .iter()
        .map(|k| format!("product_org:{}", k.1))
        .collect();
    // Functions in the select list run after ORDER BY: the locks are taken in array order.
    let sql = "SELECT pg_advisory_xact_lock(hashtextextended(k.name, k.tenant))
               FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS k(name, tenant, n)
               ORDER BY k.n";
    tx.execute(&prepared(tx, sql).await?, &[&names, &tenants])
        .await
        .map_err(pg_error)?;
    Ok(())
}

/// The stored dedupe outcomes of the batch's messageIds, with when they were stored.
async fn processed<'a>(
    tx: &Transaction<'_>,
    updates: &[(&'a Job, &'a Update)],
) -> StoreResult<HashMap<MessageKey<'a>, (Applied, DateTime<Utc>)>> {
    let asked: Vec<MessageKey<'a>> = updates
        .iter()
        .filter_map(|(job, update)| {
            let message = update.message_id.as_deref()?;
            Some((job.tenant.0, job.request.key_id.0.as_str(), message))
        })
        .collect();
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
        let Json(outcome): Json<Applied> = row.get(1);
        found.insert(*nth(&asked, row.get(0))?, (outcome, row.get(2)));
    }
    Ok(found)
}

/// The element of `items` at the 1-based ordinal `n` that `WITH ORDINALITY` returned.
fn nth<T>(items: &[T], n: i64) -> StoreResult<&T> {
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| StoreError::Other("unnest returned an unknown ordinal".into()))
}

/// The stored state of the batch's product orgs that exist, and for each that does not, a
/// new target org id. An id taken for an org whose every update turns out to be a duplicate
/// stays unused: ids have gaps, as sequences do.
async fn current<'a>(
    tx: &Transaction<'_>,
    keys: &[OrgKey<'a>],
) -> StoreResult<(HashMap<OrgKey<'a>, Org>, HashMap<OrgKey<'a>, i64>)> {
    let tenants: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
    // One primary key probe per org, as in `processed`.
    let sql = "SELECT k.n, p.target_org_id, p.fields, p.field_clock, p.version, p.updated_at,
                   CASE WHEN p.version IS NULL THEN nextval('target_org_ids') END
               FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(tenant_id, product_org_id, n)
               LEFT JOIN LATERAL (SELECT * FROM product_orgs WHERE tenant_id = k.tenant_id
                   AND product_org_id = k.product_org_id COLLATE \"C\" OFFSET 0) p ON true";
    let rows = tx
        .query(&prepared(tx, sql).await?, &[&tenants, &ids])
        .await
        .map_err(pg_error)?;
    let mut orgs = HashMap::with_capacity(keys.len());
    let mut new = HashMap::new();
    for row in rows {
        let key = *nth(keys, row.get(0))?;
        if let Some(target) = row.get::<_, Option<i64>>(6) {
            new.insert(key, target);
            continue;
        }
        let Json(fields): Json<ProductOrgFields> = row.get(2);
        let Json(clock): Json<FieldClock> = row.get(3);
        orgs.insert(
            key,
            Org {
                state: OrgState {
                    target_org_id: TargetOrgId(row.get(1)),
                    fields,
                    clock,
                    version: row.get(4),
                },
                changed: false,
                clock_moved: false,
                updated_at: row.get(5),
                created_at: row.get(5),
            },
        );
    }
    Ok((orgs, new))
}

async fn insert_target_orgs(
    tx: &Transaction<'_>,
    created: &[(i64, i64, String, DateTime<Utc>)],
) -> StoreResult<()> {
    if created.is_empty() {
        return Ok(());
    }
    let tenants: Vec<i64> = created.iter().map(|c| c.0).collect();
    let ids: Vec<i64> = created.iter().map(|c| c.1).collect();
    let names: Vec<&str> = created.iter().map(|c| c.2.as_str()).collect();
    let at: Vec<DateTime<Utc>> = created.iter().map(|c| c.3).collect();
    let sql = "INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
               SELECT t, i, n, a, a FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS r(t, i, n, a)";
    tx.execute(&prepared(tx, sql).await?, &[&tenants, &ids, &names, &at])
        .await
        .map_err(pg_error)?;
    Ok(())
}

/// Writes the final state of every org the batch changed: the whole row when a value
/// changed, only the field clock when only it moved.
async fn write_orgs(tx: &Transaction<'_>, orgs: &HashMap<OrgKey<'_>, Org>) -> StoreResult<()> {
    // An insert from arrays, never a join: no plan can turn it into a scan of the table.
    const CHANGED: &str = "DO UPDATE SET name = excluded.name, fields = excluded.fields,
        field_clock = excluded.field_clock, version = excluded.version,
        updated_at = excluded.updated_at";
    const CLOCK_ONLY: &str = "DO UPDATE SET field_clock = excluded.field_clock";
    upsert_orgs(tx, orgs, |o| o.changed, CHANGED).await?;
    upsert_orgs(tx, orgs, |o| !o.changed && o.clock_moved, CLOCK_ONLY).await
}

async fn upsert_orgs(
    tx: &Transaction<'_>,
    orgs: &HashMap<OrgKey<'_>, Org>,
    pick: impl Fn(&Org) -> bool,
    on_conflict: &str,
) -> StoreResult<()> {
    let mut rows: Vec<(&OrgKey, &Org)> = orgs.iter().filter(|(_, o)| pick(o)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Row locks in a stable order too, for the same reason as the advisory locks.
    rows.sort_unstable_by_key(|(k, _)| **k);
    let tenants: Vec<i64> = rows.iter().map(|(k, _)| k.0).collect();
    let ids: Vec<&str> = rows.iter().map(|(k, _)| k.1).collect();
    let targets: Vec<i64> = rows.iter().map(|(_, o)| o.state.target_org_id.0).collect();
    let names: Vec<Option<&str>> = rows
        .iter()
        .map(|(_, o)| o.state.fields.name.as_deref())
        .collect();
    let fields: Vec<Json<&ProductOrgFields>> =
        rows.iter().map(|(_, o)| Json(&o.state.fields)).collect();
    let clocks: Vec<Json<&FieldClock>> = rows.iter().map(|(_, o)| Json(&o.state.clock)).collect();
    let versions: Vec<i64> = rows.iter().map(|(_, o)| o.state.version).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|(_, o)| o.created_at).collect();
    let updated: Vec<DateTime<Utc>> = rows.iter().map(|(_, o)| o.updated_at).collect();
    let sql = format!(
        "INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
             field_clock, version, created_at, updated_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[],
             $6::jsonb[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
         ON CONFLICT (tenant_id, product_org_id) {on_conflict}"
    );
    tx.execute(
        &prepared(tx, &sql).await?,
        &[
            &tenants, &ids, &targets, &names, &fields, &clocks, &versions, &created, &updated,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

async fn insert_history(tx: &Transaction<'_>, rows: &HistoryRows<'_>) -> StoreResult<()> {
    if rows.tenant.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO product_org_history (tenant_id, product_org_id, version, changes,
                   key_id, event_at, received_at)
               SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[],
                   $5::text[], $6::timestamptz[], $7::timestamptz[])";
    tx.execute(
        &prepared(tx, sql).await?,
        &[
            &rows.tenant,
            &rows.id,
            &rows.version,
            &rows.changes,
            &rows.key,
            &rows.event_at,
            &rows.received_at,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Stores the first outcome of each new messageId (sorted, so concurrent batches take their
/// row locks in one order).
async fn remember_all(
    tx: &Transaction<'_>,
    rows: &mut [(MessageKey<'_>, Applied, DateTime<Utc>)],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let tenants: Vec<i64> = rows.iter().map(|r| r.0 .0).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.0 .1).collect();
    let messages: Vec<&str> = rows.iter().map(|r| r.0 .2).collect();
    let outcomes: Vec<Json<&Applied>> = rows.iter().map(|r| Json(&r.1)).collect();
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
