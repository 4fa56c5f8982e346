//! A batch of signals in set-based statements, as product org updates are written
//! ([`crate::ingest`]): what is stored of the batch's leads, of the product orgs they name and
//! of their messageIds is read in one round trip; every signal then applies in memory in
//! arrival order, as it would alone (several signals of one lead apply in turn, each taking
//! the next `seq`; a messageId seen earlier in the batch is a duplicate); and each lead's final
//! state, the signals and the new messageIds are written in one round trip more.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::types::Json;
use trailspark_core::signal::Signal;
use trailspark_core::step::{self, DedupeWindow, LeadState};
use trailspark_core::{ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::{SignalApplied, StoreError, StoreResult};

use super::Job;
use crate::db::{pg_error, prepared};
use crate::dedupe::{nth, processed_all, remember_all, MessageKey};
use crate::similar::{put, similar_all, ByOrg};

/// A lead of the batch: tenant and lead id.
type LeadKey<'a> = (i64, &'a str);
/// A product org a lead of the batch is linked to: tenant and product org id.
type OrgKey<'a> = (i64, &'a ProductOrgId);

/// A lead as the batch sees it: as stored (or new), then as each signal leaves it.
struct Lead {
    state: Option<LeadState>,
    /// The `seq` of its newest signal (0 for none).
    seq: i64,
    /// Receive time of its first signal of the batch: a new lead's creation time (a stored
    /// lead keeps its own).
    created_at: Option<DateTime<Utc>>,
    /// Receive time of its latest signal of the batch; `None` while none applied.
    updated_at: Option<DateTime<Utc>>,
}

/// What is stored of the batch, read in one round trip.
struct Loaded<'a> {
    dedupe: HashMap<MessageKey<'a>, (SignalApplied, DateTime<Utc>)>,
    leads: HashMap<LeadKey<'a>, Lead>,
    /// The target org of each product org the batch's leads are linked to, stored or named by
    /// a signal; `None` for one not stored.
    targets: ByOrg<Option<TargetOrgId>>,
    /// For each of those not stored, the stored one it probably duplicates.
    similar: ByOrg<Option<ProductOrgId>>,
}

/// The rows the batch writes, one vector per column.
#[derive(Default)]
struct SignalRows<'a> {
    tenant: Vec<i64>,
    lead: Vec<&'a str>,
    seq: Vec<i64>,
    name: Vec<Option<&'a str>>,
    properties: Vec<Option<Json<&'a serde_json::Map<String, serde_json::Value>>>>,
    custom_fields: Vec<Json<&'a serde_json::Map<String, serde_json::Value>>>,
    product_org: Vec<Option<&'a str>>,
    key: Vec<&'a str>,
    event_at: Vec<Option<DateTime<Utc>>>,
    received_at: Vec<DateTime<Utc>>,
    occurred_at: Vec<DateTime<Utc>>,
}

/// Applies the signals of the requests of `batch` not `replayed`: their outcomes, a vector per
/// such request, in order.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    window: DedupeWindow,
    batch: &[Job],
    replayed: &[bool],
) -> StoreResult<Vec<Vec<Result<SignalApplied, String>>>> {
    let jobs: Vec<&Job> = batch
        .iter()
        .zip(replayed)
        .filter(|(_, replayed)| !**replayed)
        .map(|(job, _)| job)
        .collect();
    let signals: Vec<(&Job, &Signal)> = jobs
        .iter()
        .flat_map(|job| job.request.signals.iter().map(move |s| (*job, s)))
        .collect();
    let mut loaded = load(tx, &signals).await?;
    let mut rows = SignalRows::default();
    let mut remembered = Vec::new();
    let mut outcomes = Vec::with_capacity(signals.len());
    for (job, signal) in &signals {
        let (tenant, key, now) = (
            job.tenant,
            job.request.key_id.0.as_str(),
            job.request.received_at,
        );
        let message = signal.message_id.as_deref().map(|m| (tenant.0, key, m));
        if let Some((first, first_at)) = message.and_then(|m| loaded.dedupe.get(&m)) {
            if let Some(again) = window.repeat(first.clone(), *first_at, now) {
                outcomes.push(again);
                continue;
            }
        }
        let lead = loaded
            .leads
            .get_mut(&(tenant.0, signal.lead_id.as_str()))
            .ok_or_else(|| StoreError::other("a lead of the batch was not read"))?;
        let after = step::lead_after(lead.state.as_ref(), signal);
        lead.seq += 1;
        lead.created_at.get_or_insert(now);
        lead.updated_at = Some(now);
        rows.push(tenant.0, key, now, lead.seq, signal);
        let target = match &after.product_org_id {
            Some(id) => target_of(&loaded.targets, tenant, id)?,
            None => None,
        };
        let like = match (&after.product_org_id, target) {
            (Some(id), None) => loaded
                .similar
                .get(&tenant.0)
                .and_then(|of_tenant| of_tenant.get(id)),
            _ => None,
        };
        let applied = step::signal_applied(signal, &after, target, like.and_then(Option::as_ref));
        lead.state = Some(after);
        if let Some(message) = message {
            loaded.dedupe.insert(message, (applied.clone(), now));
            remembered.push((message, applied.clone(), now));
        }
        outcomes.push(applied);
    }
    let (leads, signals_written, remembered) = tokio::join!(
        upsert_leads(tx, &loaded.leads),
        rows.insert(tx),
        remember_all(tx, &mut remembered)
    );
    leads?;
    signals_written?;
    remembered?;
    let mut outcomes = outcomes.into_iter();
    Ok(jobs
        .iter()
        .map(|job| {
            let n = job.request.signals.len();
            outcomes.by_ref().take(n).map(Ok).collect()
        })
        .collect())
}

/// The target org of product org `id`, as read with the batch: every product org a lead of
/// the batch can be linked to was (each lead's stored one, and each a signal names).
fn target_of(
    targets: &ByOrg<Option<TargetOrgId>>,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<TargetOrgId>> {
    targets
        .get(&tenant.0)
        .and_then(|of_tenant| of_tenant.get(id))
        .copied()
        .ok_or_else(|| StoreError::other("a product org of the batch was not read"))
}

/// Reads, in one round trip, the stored outcomes of the batch's messageIds, its leads (with
/// their newest `seq` and their product org's target org) and the target orgs of the product
/// orgs its signals name; then, in one more when some of those product orgs are not stored,
/// the stored ones they probably duplicate.
async fn load<'a>(
    tx: &Transaction<'_>,
    signals: &[(&'a Job, &'a Signal)],
) -> StoreResult<Loaded<'a>> {
    let asked: Vec<MessageKey<'a>> = signals
        .iter()
        .filter_map(|(job, signal)| {
            let message = signal.message_id.as_deref()?;
            Some((job.tenant.0, job.request.key_id.0.as_str(), message))
        })
        .collect();
    let mut leads: Vec<LeadKey<'a>> = signals
        .iter()
        .map(|(job, s)| (job.tenant.0, s.lead_id.as_str()))
        .collect();
    leads.sort_unstable();
    leads.dedup();
    let mut orgs: Vec<OrgKey<'a>> = signals
        .iter()
        .filter_map(|(job, s)| Some((job.tenant.0, s.product_org_id.as_ref()?)))
        .collect();
    orgs.sort_unstable();
    orgs.dedup();
    // Independent statements go out together, as the product org batch's reads do.
    let (dedupe, stored, named) = tokio::join!(
        processed_all(tx, &asked),
        stored_leads(tx, &leads),
        targets_of(tx, &orgs)
    );
    let (dedupe, (leads, mut targets), named) = (dedupe?, stored?, named?);
    for (tenant, of_tenant) in named {
        targets.entry(tenant).or_default().extend(of_tenant);
    }
    let missing: Vec<(i64, &ProductOrgId)> = targets
        .iter()
        .flat_map(|(tenant, of_tenant)| of_tenant.iter().map(move |(id, t)| (*tenant, id, t)))
        .filter(|(_, _, target)| target.is_none())
        .map(|(tenant, id, _)| (tenant, id))
        .collect();
    let similar = similar_all(tx, &missing).await?;
    Ok(Loaded {
        dedupe,
        leads,
        targets,
        similar,
    })
}

/// Each lead of `keys` as stored (or new), and the target org of each stored lead's product
/// org: one primary key probe of each table per lead.
async fn stored_leads<'a>(
    tx: &Transaction<'_>,
    keys: &[LeadKey<'a>],
) -> StoreResult<(HashMap<LeadKey<'a>, Lead>, ByOrg<Option<TargetOrgId>>)> {
    let tenants: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let sql = "SELECT k.n, l.found, l.email, l.product_org_id, l.target_org_id,
                   (SELECT max(s.seq) FROM signals s
                    WHERE s.tenant_id = k.tenant_id AND s.lead_id = k.lead_id COLLATE \"C\")
               FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(tenant_id, lead_id, n)
               LEFT JOIN LATERAL (SELECT true AS found, l.email, l.product_org_id,
                       (SELECT p.target_org_id FROM product_orgs p
                        WHERE p.tenant_id = l.tenant_id
                            AND p.product_org_id = l.product_org_id) AS target_org_id
                   FROM leads l WHERE l.tenant_id = k.tenant_id
                       AND l.lead_id = k.lead_id COLLATE \"C\" OFFSET 0) l ON true";
    let rows = tx
        .query(&prepared(tx, sql).await?, &[&tenants, &ids])
        .await
        .map_err(pg_error)?;
    let mut leads = HashMap::with_capacity(keys.len());
    let mut targets = ByOrg::new();
    for row in rows {
        let key = *nth(keys, row.get(0))?;
        let state = match row.get::<_, Option<bool>>(1) {
            Some(_) => {
                let product_org_id = row
                    .get::<_, Option<String>>(3)
                    .map(ProductOrgId::parse)
                    .transpose()
                    .map_err(|e| {
                        StoreError::other("a stored lead's product org id").caused_by(e)
                    })?;
                if let Some(id) = &product_org_id {
                    let target = row.get::<_, Option<i64>>(4).map(TargetOrgId);
                    put(&mut targets, key.0, id, target);
                }
                Some(LeadState {
                    email: row.get(2),
                    product_org_id,
                })
            }
            None => None,
        };
        leads.insert(
            key,
            Lead {
                state,
                seq: row.get::<_, Option<i64>>(5).unwrap_or(0),
                created_at: None,
                updated_at: None,
            },
        );
    }
    Ok((leads, targets))
}

/// The target org of each product org of `keys` that is stored, and `None` for the others.
async fn targets_of(
    tx: &Transaction<'_>,
    keys: &[OrgKey<'_>],
) -> StoreResult<ByOrg<Option<TargetOrgId>>> {
    let mut targets = ByOrg::new();
    for (tenant, id) in keys {
        put(&mut targets, *tenant, id, None);
    }
    if keys.is_empty() {
        return Ok(targets);
    }
    let tenants: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let sql = "SELECT k.n, p.target_org_id
               FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY
                   AS k(tenant_id, product_org_id, n),
               LATERAL (SELECT target_org_id FROM product_orgs WHERE tenant_id = k.tenant_id
                   AND product_org_id = k.product_org_id COLLATE \"C\" OFFSET 0) p";
    let rows = tx
        .query(&prepared(tx, sql).await?, &[&tenants, &ids])
        .await
        .map_err(pg_error)?;
    for row in rows {
        let (tenant, id) = nth(keys, row.get(0))?;
        put(&mut targets, *tenant, id, Some(TargetOrgId(row.get(1))));
    }
    Ok(targets)
}

/// Writes the final state of every lead a signal of the batch applied to (sorted, so that
/// concurrent batches take their row locks in one order).
async fn upsert_leads(tx: &Transaction<'_>, leads: &HashMap<LeadKey<'_>, Lead>) -> StoreResult<()> {
    let mut rows: Vec<(&LeadKey, &Lead, &LeadState, DateTime<Utc>)> = leads
        .iter()
        .filter_map(|(k, lead)| Some((k, lead, lead.state.as_ref()?, lead.updated_at?)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_unstable_by_key(|row| *row.0);
    let tenants: Vec<i64> = rows.iter().map(|r| r.0 .0).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.0 .1).collect();
    let emails: Vec<Option<&str>> = rows.iter().map(|r| r.2.email.as_deref()).collect();
    let orgs: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.2.product_org_id.as_ref().map(ProductOrgId::as_str))
        .collect();
    // Taken only by a lead not stored: the upsert leaves a stored lead's creation time.
    let created: Vec<DateTime<Utc>> = rows.iter().map(|r| r.1.created_at.unwrap_or(r.3)).collect();
    let updated: Vec<DateTime<Utc>> = rows.iter().map(|r| r.3).collect();
    let sql =
        "INSERT INTO leads (tenant_id, lead_id, email, product_org_id, created_at, updated_at)
               SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                   $5::timestamptz[], $6::timestamptz[])
               ON CONFLICT (tenant_id, lead_id) DO UPDATE SET
                   email = excluded.email, product_org_id = excluded.product_org_id,
                   updated_at = excluded.updated_at";
    tx.execute(
        &prepared(tx, sql).await?,
        &[&tenants, &ids, &emails, &orgs, &created, &updated],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

impl<'a> SignalRows<'a> {
    /// Adds the row of `signal`, sent with API key `key`, received `now`, the `seq`th of its lead.
    fn push(
        &mut self,
        tenant: i64,
        key: &'a str,
        now: DateTime<Utc>,
        seq: i64,
        signal: &'a Signal,
    ) {
        self.tenant.push(tenant);
        self.lead.push(signal.lead_id.as_str());
        self.seq.push(seq);
        self.name.push(signal.name.as_deref());
        self.properties.push(signal.properties.as_ref().map(Json));
        self.custom_fields.push(Json(&signal.custom_fields));
        self.product_org
            .push(signal.product_org_id.as_ref().map(ProductOrgId::as_str));
        self.key.push(key);
        self.event_at.push(signal.event_at);
        self.received_at.push(now);
        self.occurred_at.push(signal.event_at.unwrap_or(now));
    }

    async fn insert(&self, tx: &Transaction<'_>) -> StoreResult<()> {
        if self.tenant.is_empty() {
            return Ok(());
        }
        let sql = "INSERT INTO signals (tenant_id, lead_id, seq, name, properties, custom_fields,
                       product_org_id, key_id, event_at, received_at, occurred_at)
                   SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[],
                       $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::timestamptz[],
                       $10::timestamptz[], $11::timestamptz[])";
        tx.execute(
            &prepared(tx, sql).await?,
            &[
                &self.tenant,
                &self.lead,
                &self.seq,
                &self.name,
                &self.properties,
                &self.custom_fields,
                &self.product_org,
                &self.key,
                &self.event_at,
                &self.received_at,
                &self.occurred_at,
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }
}
