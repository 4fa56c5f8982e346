//! Applying updates inside the writer's transaction: upsert, per-field last-writer-wins,
//! history, messageId dedupe and webhook-id replay refusal (SPEC §2–3); what signals share of
//! the last two is in [`crate::dedupe`].
//!
//! This is the hot path of the store, shaped by what an update costs the writer thread and the
//! disk. Its statements are prepared once for the writer's life. The product orgs it has read
//! or written stay in memory ([`OrgCache`]), so an update of a known org reads nothing. Every
//! update writes one page it cannot choose (its product org's row); everything else it writes
//! is appended: a history row goes at the end of the history, linked to the org's previous one
//! (`prev`) rather than kept in an index by org, whose pages every update would touch at random.

mod cache;

use std::cell::RefMut;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Statement};
use trailspark_core::step::{self, Change, OrgState, Outcome, Write};
use trailspark_core::{ApiKeyId, ProductOrgId, TargetOrgId, TenantId, Update};
use trailspark_store::{Applied, IngestRequest, IngestResult, StoreError, StoreResult};

use crate::db::{from_json, micros, sqlite_error, to_json};
use crate::dedupe::{each_in_savepoint, seen_webhook_id, PROCESSED, REMEMBER_NEW};
use crate::writer::{Ctx, Mode};
use cache::{OrgCache, Stored};

/// What the writer keeps for the ingest path between transactions.
pub struct State<'c> {
    statements: Option<Statements<'c>>,
    orgs: OrgCache,
    /// SQLite's `data_version` at the last transaction: it moves when another connection (a
    /// CLI command, another process) commits, and then what the cache holds may be stale.
    data_version: Option<i64>,
}

impl<'c> State<'c> {
    /// Nothing known yet; at most `org_cache_bytes` of product orgs kept.
    pub(crate) fn new(org_cache_bytes: usize) -> Self {
        Self {
            statements: None,
            orgs: OrgCache::new(org_cache_bytes),
            data_version: None,
        }
    }

    /// A transaction begins: forget everything if another connection wrote since the last.
    pub(crate) fn began(&mut self, conn: &Connection) {
        let version = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .ok();
        if version.is_none() || version != self.data_version {
            self.orgs.clear();
        }
        self.data_version = version;
    }

    /// What this transaction wrote was rolled back: the orgs it touched are read again.
    pub(crate) fn rolled_back(&mut self) {
        self.orgs.forget_touched();
    }

    /// The transaction committed: what the cache holds is what the store holds.
    pub(crate) fn committed(&mut self) {
        self.orgs.touched.clear();
    }

    /// Forgets one product org (written by a path that does not keep the cache).
    pub(crate) fn forget(&mut self, tenant: TenantId, id: &ProductOrgId) {
        self.orgs.remove(tenant, id);
    }

    fn statements(&mut self, conn: &'c Connection) -> StoreResult<&mut Statements<'c>> {
        if self.statements.is_none() {
            self.statements = Some(Statements::prepare(conn).map_err(sqlite_error)?);
        }
        Ok(self.statements.as_mut().expect("just prepared"))
    }
}

/// The statements of the ingest path, prepared once (`prepare_cached` hashes the SQL text and
/// moves the statement in and out of its cache at every call).
struct Statements<'c> {
    org: Statement<'c>,
    insert_org: Statement<'c>,
    update_org: Statement<'c>,
    update_clock: Statement<'c>,
    history: Statement<'c>,
    processed: Statement<'c>,
    remember_new: Statement<'c>,
    next_target_org: Statement<'c>,
    insert_target_org: Statement<'c>,
    similar: Statement<'c>,
    duplicate: Statement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            org: conn.prepare(
                "SELECT target_org_id, fields, field_clock, version, history_head FROM product_orgs
                 WHERE tenant_id = ?1 AND product_org_id = ?2",
            )?,
            insert_org: conn.prepare(
                "INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
                     field_clock, version, history_head, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?,
            update_org: conn.prepare(
                "UPDATE product_orgs SET name = ?3, fields = ?4, field_clock = ?5, version = ?6,
                     history_head = ?7, updated_at = ?8
                 WHERE tenant_id = ?1 AND product_org_id = ?2",
            )?,
            update_clock: conn.prepare(
                "UPDATE product_orgs SET field_clock = ?3
                 WHERE tenant_id = ?1 AND product_org_id = ?2",
            )?,
            history: conn.prepare(
                "INSERT INTO product_org_history (tenant_id, product_org_id, version, prev, changes,
                     key_id, event_at, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            processed: conn.prepare(PROCESSED)?,
            remember_new: conn.prepare(REMEMBER_NEW)?,
            next_target_org: conn.prepare(NEXT_TARGET_ORG)?,
            insert_target_org: conn.prepare(INSERT_TARGET_ORG)?,
            similar: conn.prepare(&crate::similar::sql())?,
            duplicate: conn.prepare(
                "INSERT INTO product_org_duplicates (tenant_id, folded) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
            )?,
        })
    }
}

const NEXT_TARGET_ORG: &str =
    "UPDATE tenants SET next_target_org_id = next_target_org_id + 1 WHERE id = ?1
     RETURNING next_target_org_id - 1";
const INSERT_TARGET_ORG: &str =
    "INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?4)";

/// Applies a request's updates in order. Runs inside the writer's transaction.
pub fn ingest(
    ctx: &Ctx<'_>,
    mode: Mode,
    tenant: TenantId,
    request: &IngestRequest,
) -> StoreResult<IngestResult> {
    let replayed = match &request.webhook_id {
        Some(id) => seen_webhook_id(ctx, tenant, &request.key_id, id, request.received_at)?,
        None => false,
    };
    if replayed {
        return Ok(IngestResult::Replayed);
    }
    let results = each_in_savepoint(ctx, mode, &request.updates, |update| {
        let mut state = ctx.ingest.borrow_mut();
        apply(
            ctx,
            &mut state,
            tenant,
            &request.key_id,
            request.received_at,
            update,
        )
    })?;
    if let Some(log) = &request.log {
        let rows = log.rows(request.received_at, &results);
        ctx.log.borrow_mut().push(tenant, &request.key_id, rows);
    }
    Ok(IngestResult::Applied(results))
}

fn apply<'c>(
    ctx: &Ctx<'c>,
    state: &mut RefMut<'_, State<'c>>,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    update: &Update,
) -> StoreResult<Applied> {
    let conn: &'c Connection = ctx.connection();
    let id = &update.product_org_id;
    let cached = state.orgs.take(tenant, id);
    let existing = match cached {
        Some(org) => Some(org),
        None => read_org(state.statements(conn)?, tenant, id)?,
    };
    let statements = state.statements(conn)?;
    let (mut org, history_head) = before_step(statements, tenant, id, existing.as_ref())?;
    // The step takes the probe's finding for its warning.
    let duplicates_one = org.similar.is_some();
    let step = step::step(&mut org, update, received_at);
    // The outcome is known before anything of the update is written, so its dedupe row goes
    // first: one probe of the dedupe B-tree says whether the messageId is new, instead of a
    // lookup and then an insert. A duplicate leaves the step unwritten (and the org to be
    // read again).
    if let Some(message_id) = &update.message_id {
        if let Some(first) = remember_new(
            statements,
            ctx.dedupe.window,
            tenant,
            key,
            message_id,
            &step.applied,
            received_at,
        )? {
            return Ok(first.repeated());
        }
        ctx.dedupe.remembered_one();
    }
    let stored = match step.write {
        Write::Nothing => existing.ok_or_else(|| StoreError::other("a new org wrote nothing"))?,
        Write::Clock => {
            let clock: Box<str> = to_json(&org.clock).into();
            statements
                .update_clock
                .execute((tenant.0, id.as_str(), &*clock))
                .map_err(sqlite_error)?;
            Stored {
                clock,
                ..existing.ok_or_else(|| StoreError::other("a new org wrote its clock alone"))?
            }
        }
        Write::Change(change) => {
            let stored = write_change(
                conn,
                statements,
                tenant,
                key,
                id,
                &org,
                history_head,
                change,
            )?;
            // Only a new org is probed, so this is the creation of a second org of its fold.
            if duplicates_one {
                statements
                    .duplicate
                    .execute((tenant.0, id.folded()))
                    .map_err(sqlite_error)?;
            }
            stored
        }
    };
    state.orgs.put(tenant, id, stored);
    Ok(step.applied)
}

/// The org's state before the update's step, and its newest history row.
fn before_step(
    statements: &mut Statements<'_>,
    tenant: TenantId,
    id: &ProductOrgId,
    existing: Option<&Stored>,
) -> StoreResult<(OrgState, Option<i64>)> {
    Ok(match existing {
        Some(stored) => (stored.state()?, stored.history_head),
        // The id is taken now, its row written once the update is known not to be a
        // duplicate; an id taken for a duplicate stays unused (ids have gaps, as sequences do).
        // Only a new org is looked up by its folded id: an update of a known one costs nothing.
        None => {
            let mut org = OrgState::new(next_target_org(statements, tenant)?);
            org.similar = crate::similar::similar(&mut statements.similar, tenant, id)?;
            (org, None)
        }
    })
}

/// Stores the outcome of `message_id` for this key, unless the messageId was stored within
/// the dedupe window: then nothing is stored, and the first outcome is returned.
fn remember_new(
    statements: &mut Statements<'_>,
    window: step::DedupeWindow,
    tenant: TenantId,
    key: &ApiKeyId,
    message_id: &str,
    outcome: &Applied,
    received_at: DateTime<Utc>,
) -> StoreResult<Option<Applied>> {
    let since = micros(&window.since(received_at));
    let remember = (tenant.0, &key.0, message_id);
    let stored_it = statements
        .remember_new
        .execute((
            remember.0,
            remember.1,
            remember.2,
            to_json(outcome),
            micros(&received_at),
            since,
        ))
        .map_err(sqlite_error)?;
    if stored_it == 0 {
        let first: String = statements
            .processed
            .query_row((remember.0, remember.1, remember.2, since), |r| r.get(0))
            .map_err(sqlite_error)?;
        return Ok(Some(from_json::<Applied>(&first)?));
    }
    Ok(None)
}

/// Writes a change of a product org: its target org if the change creates it, the history row,
/// then the org's row; returns the org as now stored.
#[allow(clippy::too_many_arguments)]
fn write_change(
    conn: &Connection,
    statements: &mut Statements<'_>,
    tenant: TenantId,
    key: &ApiKeyId,
    id: &ProductOrgId,
    org: &OrgState,
    history_head: Option<i64>,
    change: Change,
) -> StoreResult<Stored> {
    let now = micros(&change.history.received_at);
    if let Some(target) = &change.created {
        statements
            .insert_target_org
            .execute((tenant.0, target.id.0, &target.name, now))
            .map_err(sqlite_error)?;
    }
    let history = &change.history;
    statements
        .history
        .execute((
            tenant.0,
            id.as_str(),
            history.version,
            history_head,
            to_json(&history.changes),
            &key.0,
            history.event_at.as_ref().map(micros),
            now,
        ))
        .map_err(sqlite_error)?;
    let stored = Stored {
        target_org_id: org.target_org_id,
        fields: to_json(&org.fields).into(),
        clock: to_json(&org.clock).into(),
        version: org.version,
        history_head: Some(conn.last_insert_rowid()),
    };
    let name = org.fields.name.as_deref();
    if change.created.is_some() {
        statements
            .insert_org
            .execute((
                tenant.0,
                id.as_str(),
                stored.target_org_id.0,
                name,
                &*stored.fields,
                &*stored.clock,
                stored.version,
                stored.history_head,
                now,
            ))
            .map_err(sqlite_error)?;
    } else {
        statements
            .update_org
            .execute((
                tenant.0,
                id.as_str(),
                name,
                &*stored.fields,
                &*stored.clock,
                stored.version,
                stored.history_head,
                now,
            ))
            .map_err(sqlite_error)?;
    }
    Ok(stored)
}

fn read_org(
    statements: &mut Statements<'_>,
    tenant: TenantId,
    id: &ProductOrgId,
) -> StoreResult<Option<Stored>> {
    statements
        .org
        .query_row((tenant.0, id.as_str()), |r| {
            Ok(Stored {
                target_org_id: TargetOrgId(r.get(0)?),
                fields: r.get::<_, String>(1)?.into(),
                clock: r.get::<_, String>(2)?.into(),
                version: r.get(3)?,
                history_head: r.get(4)?,
            })
        })
        .optional()
        .map_err(sqlite_error)
}

fn next_target_org(statements: &mut Statements<'_>, tenant: TenantId) -> StoreResult<TargetOrgId> {
    statements
        .next_target_org
        .query_row([tenant.0], |r| r.get(0))
        .map(TargetOrgId)
        .map_err(sqlite_error)
}

#[cfg(test)]
mod tests;
