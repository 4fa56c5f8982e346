//! A key's activity since a time (the raw counts of key health): its log entries by hour and
//! outcome and its refusals by code, from the log's (tenant, key, id) index; and the fields
//! each history row it wrote changed, found through the product orgs its applied entries name.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{
    hour_start, ChangedFields, HourCount, KeyActivity, Outcome, RefusalCount, StoreError,
    StoreResult,
};

use crate::db::{from_json, micros, sqlite_error};

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// The key's activity since `since`, read in one snapshot.
pub fn activity(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<KeyActivity> {
    let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
    let since = micros(&since);
    let activity = KeyActivity {
        hours: hours(&tx, tenant, key, since)?,
        refusals: refusals(&tx, tenant, key, since)?,
        changes: changes(&tx, tenant, key, since)?,
    };
    tx.finish().map_err(sqlite_error)?;
    Ok(activity)
}

fn hours(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<HourCount>> {
    let rows: Vec<(i64, String, i64)> = conn
        .prepare_cached(
            "SELECT received_at / ?4, outcome, count(*) FROM deliveries
             WHERE tenant_id = ?1 AND key_id = ?2 AND received_at >= ?3
             GROUP BY 1, 2",
        )
        .and_then(|mut s| {
            s.query_map((tenant.0, &key.0, since, MICROS_PER_HOUR), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(sqlite_error)?;
    rows.into_iter()
        .map(|(hour, outcome, count)| {
            Ok(HourCount {
                hour: hour_start(hour),
                outcome: Outcome::parse(&outcome).ok_or_else(|| {
                    StoreError::other(format!("a delivery of outcome {outcome:?}"))
                })?,
                count: count.unsigned_abs(),
            })
        })
        .collect()
}

fn refusals(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<RefusalCount>> {
    // With max() the only aggregate, SQLite takes the bare `message` from the row that has
    // the max: the newest entry of each code.
    conn.prepare_cached(
        "SELECT coalesce(code, ''), count(*), max(id), coalesce(message, '') FROM deliveries
         WHERE tenant_id = ?1 AND key_id = ?2 AND received_at >= ?3 AND outcome = 'refused'
         GROUP BY 1",
    )
    .and_then(|mut s| {
        s.query_map((tenant.0, &key.0, since), |r| {
            Ok(RefusalCount {
                code: r.get(0)?,
                count: r.get::<_, i64>(1)?.unsigned_abs(),
                example_id: r.get(2)?,
                example_message: r.get(3)?,
            })
        })?
        .collect()
    })
    .map_err(sqlite_error)
}

/// One change of a history row: only its field's name is needed.
#[derive(Deserialize)]
struct Named {
    field: String,
}

/// The history rows the key wrote since `since`. History rows are appended and chained per
/// product org from its newest, not indexed by key or time; so each product org the key's
/// applied entries name is walked back from its newest row until as many of the key's rows
/// received since then are found as it has applied entries. Walking until the first older
/// row would stop early at a replay, which keeps its original (older) receive time.
fn changes(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<ChangedFields>> {
    let orgs: Vec<(String, i64)> = conn
        .prepare_cached(
            "SELECT product_org_id, count(*) FROM deliveries
             WHERE tenant_id = ?1 AND key_id = ?2 AND received_at >= ?3
               AND outcome = 'applied' AND product_org_id IS NOT NULL
             GROUP BY product_org_id",
        )
        .and_then(|mut s| {
            s.query_map((tenant.0, &key.0, since), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    let mut head = conn
        .prepare_cached(
            "SELECT history_head FROM product_orgs WHERE tenant_id = ?1 AND product_org_id = ?2",
        )
        .map_err(sqlite_error)?;
    let mut row = conn
        .prepare_cached(
            "SELECT version, changes, key_id = ?4 AND received_at >= ?5, prev
             FROM product_org_history WHERE id = ?1 AND tenant_id = ?2 AND product_org_id = ?3",
        )
        .map_err(sqlite_error)?;
    let mut found = Vec::new();
    for (org, expected) in orgs {
        let mut next: Option<i64> = head
            .query_row((tenant.0, &org), |r| r.get(0))
            .optional()
            .map_err(sqlite_error)?
            .flatten();
        let mut left = expected;
        while let Some(id) = next.filter(|_| left > 0) {
            let read = row
                .query_row((id, tenant.0, &org, &key.0, since), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                    ))
                })
                .optional()
                .map_err(sqlite_error)?;
            let Some((version, changes, mine, prev)) = read else {
                break;
            };
            if mine {
                let changes: Vec<Named> = from_json(&changes)?;
                found.push(ChangedFields {
                    version,
                    fields: changes.into_iter().map(|c| c.field).collect(),
                });
                left -= 1;
            }
            next = prev;
        }
    }
    Ok(found)
}
