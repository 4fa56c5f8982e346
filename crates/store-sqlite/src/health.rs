//! A key's activity since a time (the raw counts of key health): its log entries by hour and
//! outcome and its refusals by code, from the log's chunks of the key; and the fields
//! each history row it wrote changed, found through the product orgs its applied entries name.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{
    hour_start, ChangedFields, HourCount, KeyActivity, Outcome, RefusalCount, StoreResult,
};

use crate::db::{from_json, micros, sqlite_error};
use crate::deliveries;

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

/// The key's log entries per hour by outcome since `since`.
pub fn hours(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<HourCount>> {
    let mut counts: BTreeMap<(i64, &'static str), (Outcome, u64)> = BTreeMap::new();
    deliveries::each_since(conn, tenant, key, since, |_, entry| {
        let hour = entry.at.div_euclid(MICROS_PER_HOUR);
        counts
            .entry((hour, entry.outcome.as_str()))
            .or_insert((entry.outcome, 0))
            .1 += 1;
        Ok(())
    })?;
    Ok(counts
        .into_iter()
        .map(|((hour, _), (outcome, count))| HourCount {
            hour: hour_start(hour),
            outcome,
            count,
        })
        .collect())
}

fn refusals(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<RefusalCount>> {
    // By code, with the newest entry of each as its example (entries come oldest first).
    let mut by_code: BTreeMap<String, RefusalCount> = BTreeMap::new();
    deliveries::each_since(conn, tenant, key, since, |id, entry| {
        if entry.outcome != Outcome::Refused {
            return Ok(());
        }
        let code = entry.code.unwrap_or_default();
        let refusal = by_code
            .entry(code.to_owned())
            .or_insert_with(|| RefusalCount {
                code: code.to_owned(),
                count: 0,
                example_id: id,
                example_message: String::new(),
            });
        refusal.count += 1;
        if id >= refusal.example_id {
            refusal.example_id = id;
            refusal.example_message = entry.message.unwrap_or_default().to_owned();
        }
        Ok(())
    })?;
    Ok(by_code.into_values().collect())
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
    let mut orgs: BTreeMap<String, i64> = BTreeMap::new();
    deliveries::each_since(conn, tenant, key, since, |_, entry| {
        if let (Outcome::Applied, Some(org)) = (entry.outcome, entry.product_org_id) {
            *orgs.entry(org.to_owned()).or_default() += 1;
        }
        Ok(())
    })?;
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
