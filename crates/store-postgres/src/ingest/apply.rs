//! The semantics of one batch of product org updates.
//!
//! Inside a batch the semantics are those of one update after another: the merge runs in
//! memory in arrival order (several updates of one org apply in order, `isNewOrg` once,
//! per-field last-writer-wins, a messageId seen earlier in the batch is a duplicate), and the
//! final state of each org is written once. Writers of one product org are serialised across
//! workers and instances by advisory locks, taken in sorted order so batches never deadlock.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::types::Json;
use trailspark_core::step::{self, OrgState, Write};
use trailspark_core::{TargetOrgId, Update};
use trailspark_store::{Applied, IngestResult, StoreError, StoreResult};

use super::load::{current, lock_all, processed};
use super::write::{insert_history, insert_target_orgs, remember_all, write_orgs};
use super::Job;
use crate::dedupe::seen_webhook_id;

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

pub(super) type OrgKey<'a> = (i64, &'a str);
pub(super) type MessageKey<'a> = (i64, &'a str, &'a str);

pub(super) async fn apply(tx: &Transaction<'_>, batch: &[Job]) -> StoreResult<Vec<IngestResult>> {
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
