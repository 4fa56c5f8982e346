//! The delivery log: its rows written in the writer's transaction with the updates they
//! describe, read from the pool, swept by age and count.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Statement};
use trailspark_core::{ApiKeyId, TargetOrgId, TenantId};
use trailspark_store::{
    Delivery, DeliveryQuery, DeliveryRow, Intake, Missing, Outcome, Page, StoreError, StoreResult,
    Swept,
};

use crate::db::{from_micros, micros, sqlite_error};

pub const INSERT: &str = "INSERT INTO deliveries (tenant_id, key_id, request_id, idx, received_at,
        intake, status, outcome, code, message, product_org_id, lead_id, target_org_id, changed,
        unchanged_reason, warnings, template_version, payload, replay_of)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

const COLUMNS: &str = "id, key_id, request_id, idx, received_at, intake, status, outcome, code,
    message, product_org_id, lead_id, target_org_id, changed, unchanged_reason, warnings,
    template_version, payload, replay_of";

/// Writes a request's log entries (inside the transaction that applied it) with `statement`,
/// [`INSERT`] prepared.
pub fn insert(
    statement: &mut Statement<'_>,
    tenant: TenantId,
    key: &ApiKeyId,
    rows: &[DeliveryRow],
) -> StoreResult<()> {
    // Most entries leave most columns NULL: only what is set is bound (each bind costs as
    // much as a column of the row), on bindings cleared to NULL first.
    let run = |statement: &mut Statement<'_>, row: &DeliveryRow| -> rusqlite::Result<()> {
        statement.clear_bindings();
        statement.raw_bind_parameter(1, tenant.0)?;
        statement.raw_bind_parameter(2, &key.0)?;
        statement.raw_bind_parameter(3, &row.request_id)?;
        statement.raw_bind_parameter(5, micros(&row.received_at))?;
        statement.raw_bind_parameter(6, row.intake.as_str())?;
        statement.raw_bind_parameter(7, row.status)?;
        statement.raw_bind_parameter(8, row.outcome.as_str())?;
        statement.raw_bind_parameter(14, row.changed)?;
        statement.raw_bind_parameter(17, row.template_version)?;
        if let Some(index) = row.index {
            statement.raw_bind_parameter(4, index)?;
        }
        if let Some(target) = row.target_org_id {
            statement.raw_bind_parameter(13, target.0)?;
        }
        if let Some(replay_of) = row.replay_of {
            statement.raw_bind_parameter(19, replay_of)?;
        }
        let texts = [
            (9, &row.code),
            (10, &row.message),
            (11, &row.product_org_id),
            (12, &row.lead_id),
            (15, &row.unchanged_reason),
            (16, &row.warnings),
            (18, &row.payload),
        ];
        for (n, text) in texts {
            if let Some(text) = text {
                statement.raw_bind_parameter(n, text)?;
            }
        }
        statement.raw_execute().map(drop)
    };
    for row in rows {
        run(statement, row).map_err(sqlite_error)?;
    }
    Ok(())
}

/// A key's log, newest first, filtered, one page at a time.
pub fn list(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    query: &DeliveryQuery,
) -> StoreResult<Page<Delivery>> {
    let window = query.page.window::<i64>()?;
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries
         WHERE tenant_id = ?1 AND key_id = ?2 AND id < ?3
           AND (?4 IS NULL OR outcome = ?4) AND (?5 IS NULL OR product_org_id = ?5)
           AND (?6 IS NULL OR received_at >= ?6) AND (?7 = 0 OR payload IS NOT NULL)
         ORDER BY id DESC LIMIT ?8"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = statement
        .query_map(
            rusqlite::params![
                tenant.0,
                &key.0,
                window.after.unwrap_or(i64::MAX),
                query.outcome.map(Outcome::as_str),
                &query.product_org_id,
                query.since.as_ref().map(micros),
                query.with_payload,
                window.rows_to_fetch(),
            ],
            read_row,
        )
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    let rows = rows.into_iter().collect::<StoreResult<Vec<_>>>()?;
    Ok(window.page(rows, |d| d.id))
}

/// One entry of the tenant's log.
pub fn one(conn: &Connection, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE tenant_id = ?1 AND id = ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row((tenant.0, id), read_row).optional())
        .map_err(sqlite_error)?
        .ok_or(StoreError::NotFound(Missing::Delivery(id)))?
}

/// Removes the entries received before `before`, then those beyond each key's newest
/// `per_key`.
pub fn sweep(conn: &Connection, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept> {
    let expired = conn
        .execute(
            "DELETE FROM deliveries WHERE received_at < ?1",
            [micros(&before)],
        )
        .map_err(sqlite_error)?;
    // Only keys over their count are looked at; each deletes below its newest kept id, which
    // the (tenant, key, id) index finds without reading the rest.
    let over: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT tenant_id, key_id FROM deliveries GROUP BY tenant_id, key_id
             HAVING count(*) > ?1",
        )
        .and_then(|mut s| {
            s.query_map([per_key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    let mut over_count = 0;
    for (tenant, key) in over {
        over_count += conn
            .execute(
                "DELETE FROM deliveries WHERE tenant_id = ?1 AND key_id = ?2 AND id <=
                     (SELECT id FROM deliveries WHERE tenant_id = ?1 AND key_id = ?2
                      ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                (tenant, &key, per_key),
            )
            .map_err(sqlite_error)?;
    }
    Ok(Swept {
        expired: expired as u64,
        over_count: over_count as u64,
    })
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<Delivery>> {
    let intake: String = r.get(5)?;
    let outcome: String = r.get(7)?;
    let (Some(intake), Some(outcome)) = (Intake::parse(&intake), Outcome::parse(&outcome)) else {
        return Ok(Err(StoreError::other(format!(
            "a delivery of intake {intake:?} and outcome {outcome:?}"
        ))));
    };
    Ok(Ok(Delivery {
        id: r.get(0)?,
        key_id: ApiKeyId(r.get(1)?),
        row: DeliveryRow {
            request_id: r.get(2)?,
            index: r.get(3)?,
            received_at: from_micros(r.get(4)?),
            intake,
            status: r.get(6)?,
            outcome,
            code: r.get(8)?,
            message: r.get(9)?,
            product_org_id: r.get(10)?,
            lead_id: r.get(11)?,
            target_org_id: r.get::<_, Option<i64>>(12)?.map(TargetOrgId),
            changed: r.get(13)?,
            unchanged_reason: r.get(14)?,
            warnings: r.get(15)?,
            template_version: r.get(16)?,
            payload: r.get(17)?,
            replay_of: r.get(18)?,
        },
    }))
}
