//! The keys' hourly tallies (`trailspark_store::tally`): added to with every chunk the writer
//! logs, read by key health and the overview, swept by age with the log.

use rusqlite::Connection;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::tally::hour_of;
use trailspark_store::{Outcome, StoreError, StoreResult, TalliedEntry, Tallies, Tally, TallyKind};

use super::entry::View;
use super::CHUNK;
use crate::db::{from_json, from_micros, sqlite_error};

/// Adds `tallies` (of the keys `K` names) to the stored ones, in their order (one statement
/// per row: a commit's entries make a few rows per key).
pub(super) fn add<K: AsRef<str> + Ord + Clone>(
    conn: &Connection,
    tallies: Tallies<(TenantId, K)>,
) -> StoreResult<()> {
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO key_tallies (tenant_id, key_id, hour, kind, name, count, only_change,
                 example_id, example_message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (tenant_id, key_id, hour, kind, name) DO UPDATE SET
                 count = count + excluded.count,
                 only_change = only_change + excluded.only_change,
                 example_id = CASE WHEN excluded.example_id > coalesce(example_id, -1)
                     THEN excluded.example_id ELSE example_id END,
                 example_message = CASE WHEN excluded.example_id > coalesce(example_id, -1)
                     THEN excluded.example_message ELSE example_message END",
        )
        .map_err(sqlite_error)?;
    for ((tenant, key), tally) in tallies.into_rows() {
        let (example_id, example_message) = tally.example.unzip();
        upsert
            .execute((
                tenant.0,
                key.as_ref(),
                tally.hour,
                tally.kind.as_str(),
                &tally.name,
                tally.count,
                tally.only,
                example_id,
                example_message,
            ))
            .map_err(sqlite_error)?;
    }
    Ok(())
}

/// A key's tallies of the hours from `since_hour` on, of one kind or all.
pub fn read(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since_hour: i64,
    kind: Option<TallyKind>,
) -> StoreResult<Vec<Tally>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT hour, kind, name, count, only_change, example_id, example_message
             FROM key_tallies
             WHERE tenant_id = ?1 AND key_id = ?2 AND hour >= ?3 AND (?4 IS NULL OR kind = ?4)",
        )
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map(
            (tenant.0, &key.0, since_hour, kind.map(TallyKind::as_str)),
            |r| {
                let example: (Option<i64>, Option<String>) = (r.get(5)?, r.get(6)?);
                Ok((
                    r.get::<_, String>(1)?,
                    Tally {
                        hour: r.get(0)?,
                        kind: TallyKind::Outcome,
                        name: r.get(2)?,
                        count: r.get(3)?,
                        only: r.get(4)?,
                        example: example.0.zip(example.1),
                    },
                ))
            },
        )
        .map_err(sqlite_error)?;
    rows.map(|row| {
        let (kind, mut tally) = row.map_err(sqlite_error)?;
        tally.kind = TallyKind::parse(&kind)
            .ok_or_else(|| StoreError::other(format!("a tally of kind {kind:?}")))?;
        Ok(tally)
    })
    .collect()
}

/// Removes the tallies of the hours before `hour`.
pub fn sweep(conn: &Connection, hour: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM key_tallies WHERE hour < ?1")
        .and_then(|mut s| s.execute([hour]))
        .map_err(sqlite_error)?;
    Ok(())
}

/// Tallies every entry of the log: what migration 0014 starts the tallies with.
pub fn fill(conn: &Connection) -> StoreResult<()> {
    let mut statement = conn
        .prepare("SELECT id, tenant_id, key_id, entries FROM delivery_chunks ORDER BY id")
        .map_err(sqlite_error)?;
    let mut chunks = statement.query([]).map_err(sqlite_error)?;
    let mut tallies = Tallies::default();
    while let Some(chunk) = chunks.next().map_err(sqlite_error)? {
        let chunk_id: i64 = chunk.get(0).map_err(sqlite_error)?;
        let owner: (TenantId, String) = (
            TenantId(chunk.get(1).map_err(sqlite_error)?),
            chunk.get(2).map_err(sqlite_error)?,
        );
        let text: String = chunk.get(3).map_err(sqlite_error)?;
        let entries: Vec<Option<View>> = from_json(&text)?;
        for (place, entry) in (0..).zip(&entries) {
            let Some(View(_, _, at, _, _, outcome, code, message, .., fields)) = entry else {
                continue;
            };
            let outcome = Outcome::parse(outcome)
                .ok_or_else(|| StoreError::other(format!("a delivery of outcome {outcome:?}")))?;
            let entry = TalliedEntry {
                id: chunk_id * CHUNK + place,
                hour: hour_of(&from_micros(*at)),
                outcome,
                code: code.as_deref(),
                message: message.as_deref(),
                changed_fields: fields,
            };
            tallies.add(&owner, &entry);
        }
    }
    drop(chunks);
    add(conn, tallies)
}
