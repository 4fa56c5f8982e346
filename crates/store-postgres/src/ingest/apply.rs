//! The semantics of one batch of product org updates.
//!
//! Inside a batch the semantics are those of one update after another: the merge runs in
//! memory in arrival order (several updates of one org apply in order, `isNewOrg` once,
//! per-field last-writer-wins, a messageId seen earlier in the batch is a duplicate), and the
//! final state of each org is written once. Writers of one product org are serialised across
//! workers and instances by advisory locks, taken in sorted order so batches never deadlock.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::types::Json;
use trailspark_core::ids::fold;
use trailspark_core::step::{self, DedupeWindow, HistoryRow, OrgState, Write};
use trailspark_core::{ProductOrgId, TargetOrgId, Update};
use trailspark_store::{Applied, IngestResult, StoreError, StoreResult};

use super::load::{current, lock_all, processed, NewOrg};
use super::write::{
    insert_duplicates, insert_history, insert_target_orgs, write_orgs, INSERT_TARGET_ORGS,
};
use super::Job;
use crate::db::prepared;
use crate::dedupe::{remember_all, replayed_all, MessageKey, LOCK_ALL};
use crate::deliveries::{self, LogEntry};

/// A product org as the batch sees it: as stored (or new), then as each update leaves it.
pub(super) struct Org {
    pub(super) state: OrgState,
    /// Some value changed in this batch: the whole row is written.
    pub(super) changed: bool,
    /// Only the field clock moved: only it is written.
    pub(super) clock_moved: bool,
    /// Receive time of the latest change.
    pub(super) updated_at: DateTime<Utc>,
    /// Receive time of the creating update (written only when the row is new).
    pub(super) created_at: DateTime<Utc>,
}

/// Columns of the multi-row statements, one vector per column.
#[derive(Default)]
pub(super) struct HistoryRows<'a> {
    pub(super) tenant: Vec<i64>,
    pub(super) id: Vec<&'a str>,
    pub(super) version: Vec<i64>,
    pub(super) changes: Vec<Json<Vec<trailspark_core::FieldChange>>>,
    pub(super) key: Vec<&'a str>,
    pub(super) event_at: Vec<Option<DateTime<Utc>>>,
    pub(super) received_at: Vec<DateTime<Utc>>,
}

/// A product org of the batch: tenant and productOrgId.
pub(super) type OrgKey<'a> = (i64, &'a str);

impl<'a> HistoryRows<'a> {
    /// Adds the history row of a change of product org `id`, sent with API key `key`.
    fn push(&mut self, tenant: i64, id: &'a str, key: &'a str, row: HistoryRow) {
        self.tenant.push(tenant);
        self.id.push(id);
        self.version.push(row.version);
        self.changes.push(Json(row.changes));
        self.key.push(key);
        self.event_at.push(row.event_at);
        self.received_at.push(row.received_at);
    }
}

/// What is stored of the batch, read under its locks.
struct Loaded<'a> {
    /// The first outcomes of the batch's messageIds, with when they were stored.
    dedupe: HashMap<MessageKey<'a>, (Applied, DateTime<Utc>)>,
    /// The batch's product orgs that exist.
    orgs: HashMap<OrgKey<'a>, Org>,
    /// A new target org id for each of the batch's product orgs that does not.
    new_targets: HashMap<OrgKey<'a>, NewOrg>,
}

/// What the batch writes once its updates went through [`step::step`] in memory.
struct Merged<'a> {
    /// The batch's product orgs as its last updates left them.
    orgs: HashMap<OrgKey<'a>, Org>,
    /// Target orgs created with new product orgs: tenant, id, name, creation time.
    created: Vec<(i64, i64, String, DateTime<Utc>)>,
    history: HistoryRows<'a>,
    /// The folded ids of new product orgs created with another org of their fold already
    /// there: tenant, folded id (the possible duplicates).
    duplicates: Vec<(i64, String)>,
    /// The first outcome of each new messageId, with its receive time.
    remembered: Vec<(MessageKey<'a>, Applied, DateTime<Utc>)>,
    /// The outcome of each update not replayed, in arrival order (taken for the answers).
    outcomes: Vec<Applied>,
}

/// Applies a batch in `tx`: the result of each of its requests, in order.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    window: DedupeWindow,
    batch: &[Job],
) -> StoreResult<Vec<IngestResult>> {
    // Signed requests first: a replayed webhook-id applies nothing.
    let signed = batch.iter().map(|job| {
        let request = &job.request;
        let id = request.webhook_id.as_deref();
        (job.tenant, &request.key_id, id, request.received_at)
    });
    let replayed = replayed_all(tx, signed.collect()).await?;
    let updates: Vec<(&Job, &Update)> = batch
        .iter()
        .zip(&replayed)
        .filter(|(_, replayed)| !**replayed)
        .flat_map(|(job, _)| job.request.updates.iter().map(move |u| (job, u)))
        .collect();
    let loaded = lock_and_load(tx, &updates).await?;
    let mut merged = merge(&updates, loaded, window)?;
    let results = answers(batch, replayed, std::mem::take(&mut merged.outcomes));
    let entries = log_entries(batch, &results);
    write_merged(tx, &mut merged, &entries).await?;
    Ok(results)
}

/// The log entries of the batch's requests, in order. A replayed request has none here: its
/// updates were never read, and the server logs it itself.
fn log_entries<'a>(batch: &'a [Job], results: &[IngestResult]) -> Vec<LogEntry<'a>> {
    batch
        .iter()
        .zip(results)
        .flat_map(|(job, result)| match result {
            IngestResult::Replayed => Vec::new(),
            IngestResult::Applied(results) => {
                let request = &job.request;
                let log = request.log.as_ref();
                deliveries::entries(
                    job.tenant,
                    &request.key_id,
                    request.received_at,
                    log,
                    results,
                )
            }
        })
        .collect()
}

/// Locks the product orgs of `updates` (in sorted order), then reads what is stored of them
/// and of their messageIds.
async fn lock_and_load<'a>(
    tx: &Transaction<'_>,
    updates: &[(&'a Job, &'a Update)],
) -> StoreResult<Loaded<'a>> {
    let mut keys: Vec<OrgKey> = updates
        .iter()
        .map(|(job, u)| (job.tenant.0, u.product_org_id.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // The locks and the reads go out in one round trip (the writes in `write_merged` in
    // another). tokio-postgres sends a request when its future is first polled, `join!` first
    // polls in order, and PostgreSQL runs a session's statements in order: with the lock
    // statement prepared beforehand, taking the locks is the first request sent and the reads
    // run under them (a statement still to be prepared would go out a round trip later,
    // after the reads). Results are looked at in statement order: after a failed statement
    // the later ones only say "transaction aborted", and the first error is the one that
    // explains.
    prepared(tx, LOCK_ALL).await?;
    let (locked, dedupe, current) = tokio::join!(
        lock_all(tx, &keys),
        processed(tx, updates),
        current(tx, &keys)
    );
    let (_, dedupe, (orgs, new_targets)) = (locked?, dedupe?, current?);
    Ok(Loaded {
        dedupe,
        orgs,
        new_targets,
    })
}

/// The in-memory pass: each update through [`step::step`] in arrival order, from the state
/// the updates before it left; a messageId seen before (stored, or earlier in the batch) is
/// answered with its first outcome.
fn merge<'a>(
    updates: &[(&'a Job, &'a Update)],
    loaded: Loaded<'a>,
    window: DedupeWindow,
) -> StoreResult<Merged<'a>> {
    let Loaded {
        mut dedupe,
        orgs,
        new_targets,
    } = loaded;
    let mut merged = Merged {
        orgs,
        created: Vec::new(),
        history: HistoryRows::default(),
        duplicates: Vec::new(),
        remembered: Vec::new(),
        outcomes: Vec::with_capacity(updates.len()),
    };
    // The product orgs this batch creates, by folded id, for the similar ones after them.
    let mut created_here: HashMap<(i64, String), &ProductOrgId> = HashMap::new();
    for (job, update) in updates {
        let (tenant, key, now) = (
            job.tenant.0,
            job.request.key_id.0.as_str(),
            job.request.received_at,
        );
        let id = update.product_org_id.as_str();
        let message = update.message_id.as_deref().map(|m| (tenant, key, m));
        if let Some((first, first_at)) = message.and_then(|m| dedupe.get(&m)) {
            if let Some(again) = window.repeat(first.clone(), *first_at, now) {
                merged.outcomes.push(again);
                continue;
            }
        }
        let org = batch_org(&mut merged.orgs, &new_targets, (tenant, id), now)?;
        if !org.state.is_stored() && org.state.similar.is_none() {
            // Created earlier in this batch, so not stored when the batch was read.
            org.state.similar = created_here.get(&(tenant, fold(id))).copied().cloned();
        }
        // The step takes the lookup's finding for its warning.
        let duplicates_one = org.state.similar.is_some();
        let step = step::step(&mut org.state, update, now);
        match step.write {
            Write::Change(change) => {
                if let Some(target) = change.created {
                    merged.created.push((tenant, target.id.0, target.name, now));
                    if duplicates_one {
                        merged.duplicates.push((tenant, fold(id)));
                    }
                    created_here
                        .entry((tenant, fold(id)))
                        .or_insert(&update.product_org_id);
                }
                org.changed = true;
                org.updated_at = now;
                merged.history.push(tenant, id, key, change.history);
            }
            Write::Clock => org.clock_moved = true,
            Write::Nothing => {}
        }
        if let Some(message) = message {
            dedupe.insert(message, (step.applied.clone(), now));
            merged.remembered.push((message, step.applied.clone(), now));
        }
        merged.outcomes.push(step.applied);
    }
    Ok(merged)
}

/// The product org at `key` as the batch has it so far: as stored or as earlier updates left
/// it, else new (received `now`) with the target org id taken for it.
fn batch_org<'m, 'a>(
    orgs: &'m mut HashMap<OrgKey<'a>, Org>,
    new_targets: &HashMap<OrgKey<'a>, NewOrg>,
    key: OrgKey<'a>,
    now: DateTime<Utc>,
) -> StoreResult<&'m mut Org> {
    Ok(match orgs.entry(key) {
        Entry::Occupied(org) => org.into_mut(),
        Entry::Vacant(slot) => {
            let (target, similar) = new_targets
                .get(&key)
                .ok_or_else(|| StoreError::other("a new product org found no target org id"))?;
            slot.insert(Org {
                state: OrgState {
                    similar: similar.clone(),
                    ..OrgState::new(TargetOrgId(*target))
                },
                changed: false,
                clock_moved: false,
                updated_at: now,
                created_at: now,
            })
        }
    })
}

/// Writes what the batch merged, and its log entries.
async fn write_merged(
    tx: &Transaction<'_>,
    merged: &mut Merged<'_>,
    entries: &[LogEntry<'_>],
) -> StoreResult<()> {
    // Target orgs first: product orgs refer to them (their statement prepared beforehand, as
    // the locks' in `lock_and_load`, so that they go out first).
    if !merged.created.is_empty() {
        prepared(tx, INSERT_TARGET_ORGS).await?;
    }
    let (targets, orgs, history, remembered, duplicates, logged) = tokio::join!(
        insert_target_orgs(tx, &merged.created),
        write_orgs(tx, &merged.orgs),
        insert_history(tx, &merged.history),
        remember_all(tx, &mut merged.remembered),
        insert_duplicates(tx, &merged.duplicates),
        deliveries::insert(tx, entries)
    );
    targets?;
    orgs?;
    history?;
    remembered?;
    duplicates?;
    logged?;
    Ok(())
}

/// Each request's result: replayed, or the outcomes of its updates, taken in turn from
/// `outcomes` (those of the requests not replayed, in order).
fn answers(batch: &[Job], replayed: Vec<bool>, outcomes: Vec<Applied>) -> Vec<IngestResult> {
    let mut outcomes = outcomes.into_iter();
    batch
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
        .collect()
}
