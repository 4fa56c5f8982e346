//! The sweep of the log by age and count.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use trailspark_store::tally::hour_of;
use trailspark_store::{Outcome, StoreResult, Swept};

use super::entry::Entries;
use super::CHUNK;
use crate::db::{from_json, micros, sqlite_error};

/// Removes the entries received before `before`, then those beyond each key's newest
/// `per_key`, and the tallies of the hours wholly before `before`.
pub fn sweep(conn: &Connection, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept> {
    super::tallies::sweep(conn, hour_of(&before))?;
    let expired = sweep_by_age(conn, micros(&before))?;
    Ok(Swept {
        expired,
        over_count: sweep_by_count(conn, per_key)?,
    })
}

/// Removes the entries received before `before` (microseconds); how many went.
fn sweep_by_age(conn: &Connection, before: i64) -> StoreResult<u64> {
    // Chunks all older go whole, unread; the few that straddle the cut (a replay keeps its
    // entries' original times) lose their older entries.
    let whole: Vec<(i64, i64, i64)> = conn
        .prepare_cached("SELECT id, live, kept FROM delivery_chunks WHERE last_at < ?1")
        .and_then(|mut s| {
            s.query_map([before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    if !whole.is_empty() {
        drop_chunks(conn, "last_at < ?1", before)?;
        drop_payloads(conn, kept_payloads(&whole))?;
    }
    let mut expired: u64 = whole.iter().map(|(_, live, _)| live.unsigned_abs()).sum();
    let straddling: Vec<(i64, String)> = conn
        .prepare_cached("SELECT id, entries FROM delivery_chunks WHERE first_at < ?1")
        .and_then(|mut s| {
            s.query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    for (chunk_id, text) in straddling {
        let mut entries: Entries = from_json(&text)?;
        let mut gone = Vec::new();
        for (place, entry) in entries.iter_mut().enumerate() {
            if entry.as_ref().is_some_and(|e| e.at < before) {
                *entry = None;
                gone.push(place);
            }
        }
        expired += gone.len() as u64;
        rewrite(conn, chunk_id, &entries, &gone)?;
    }
    Ok(expired)
}

/// Removes the entries beyond each key's newest `per_key`; how many went. Newest chunks
/// first: the chunk where the count is reached keeps its newest entries, the older chunks go.
fn sweep_by_count(conn: &Connection, per_key: u32) -> StoreResult<u64> {
    let mut over_count = 0;
    let over: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT tenant_id, key_id FROM delivery_chunks GROUP BY tenant_id, key_id
             HAVING sum(live) > ?1",
        )
        .and_then(|mut s| {
            s.query_map([per_key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite_error)?;
    for (tenant, key) in over {
        let chunks: Vec<(i64, i64, i64)> = conn
            .prepare_cached(
                "SELECT id, live, kept FROM delivery_chunks WHERE tenant_id = ?1 AND key_id = ?2
                 ORDER BY id DESC",
            )
            .and_then(|mut s| {
                s.query_map((tenant, &key), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .map_err(sqlite_error)?;
        let mut kept = 0_i64;
        for (at, &(chunk_id, live, _)) in chunks.iter().enumerate() {
            let room = i64::from(per_key) - kept;
            if room >= live {
                kept += live;
                continue;
            }
            if room <= 0 {
                // This chunk and every older one go whole. Never the newest of all: this
                // key's newer chunks hold its count.
                let whole = &chunks[at..];
                conn.prepare_cached(
                    "DELETE FROM delivery_chunks WHERE tenant_id = ?1 AND key_id = ?2 AND id <= ?3",
                )
                .and_then(|mut s| s.execute((tenant, &key, chunk_id)))
                .map_err(sqlite_error)?;
                drop_payloads(conn, kept_payloads(whole))?;
                over_count += whole
                    .iter()
                    .map(|(_, live, _)| live.unsigned_abs())
                    .sum::<u64>();
                break;
            }
            let text: String = conn
                .prepare_cached("SELECT entries FROM delivery_chunks WHERE id = ?1")
                .and_then(|mut s| s.query_row([chunk_id], |r| r.get(0)))
                .map_err(sqlite_error)?;
            let mut entries: Entries = from_json(&text)?;
            let mut keep = room;
            let mut gone = Vec::new();
            for (place, entry) in entries.iter_mut().enumerate().rev() {
                if entry.is_some() {
                    if keep > 0 {
                        keep -= 1;
                    } else {
                        *entry = None;
                        gone.push(place);
                    }
                }
            }
            over_count += gone.len() as u64;
            kept += room;
            rewrite(conn, chunk_id, &entries, &gone)?;
        }
    }
    Ok(over_count)
}

/// Writes a chunk back after a sweep, its counts and times recomputed (dropped when nothing is
/// left); the payloads of the entries at the places `gone` go.
fn rewrite(conn: &Connection, chunk_id: i64, entries: &Entries, gone: &[usize]) -> StoreResult<()> {
    let live = entries.iter().flatten();
    let count = live.clone().count();
    if count == 0 {
        return drop_chunk(conn, chunk_id);
    }
    let first = live.clone().map(|e| e.at).min().unwrap_or_default();
    let last = live.clone().map(|e| e.at).max().unwrap_or_default();
    let refused = live
        .clone()
        .filter(|e| e.outcome == Outcome::Refused.as_str())
        .count();
    let kept = live.filter(|e| e.payload).count();
    conn.prepare_cached(
        "UPDATE delivery_chunks SET first_at = ?2, last_at = ?3, live = ?4, refused = ?5,
             kept = ?6, entries = ?7
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute((
            chunk_id,
            first,
            last,
            count,
            refused,
            kept,
            serde_json::to_string(entries).expect("entries serialize to JSON"),
        ))
    })
    .map_err(sqlite_error)?;
    let mut delete = conn
        .prepare_cached("DELETE FROM delivery_payloads WHERE id = ?1")
        .map_err(sqlite_error)?;
    for place in gone {
        delete
            .execute([chunk_id * CHUNK + *place as i64])
            .map_err(sqlite_error)?;
    }
    Ok(())
}

/// Removes a chunk whose entries all went, and their payloads.
fn drop_chunk(conn: &Connection, chunk_id: i64) -> StoreResult<()> {
    drop_chunks(conn, "id = ?1", chunk_id)?;
    drop_payloads(conn, [chunk_id])
}

/// Removes the chunks that `filter` (SQL naming `?1`, bound to `value`) selects. The newest
/// chunk stays, empty and never read as old, so that the next chunk's id (one past the
/// largest) is not one given before.
fn drop_chunks(conn: &Connection, filter: &str, value: i64) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM delivery_chunks
         WHERE {filter} AND id < (SELECT max(id) FROM delivery_chunks)"
    ))
    .and_then(|mut s| s.execute([value]))
    .and_then(|_| {
        conn.prepare_cached(&format!(
            "UPDATE delivery_chunks SET first_at = ?2, last_at = ?2, live = 0, refused = 0,
                 kept = 0, entries = '[]'
             WHERE {filter}"
        ))?
        .execute((value, i64::MAX))
    })
    .map_err(sqlite_error)?;
    Ok(())
}

/// The ids of the `(id, live, kept)` chunks that kept payloads.
fn kept_payloads(chunks: &[(i64, i64, i64)]) -> impl Iterator<Item = i64> + '_ {
    chunks
        .iter()
        .filter(|(_, _, kept)| *kept > 0)
        .map(|(id, _, _)| *id)
}

/// Removes the payloads of the chunks `chunk_ids`, by their ids' range: chunks that go whole
/// are not read (a busy key's sweep drops hundreds of them, and parsing them was most of the
/// writer's time while every request of its batch waited).
fn drop_payloads(conn: &Connection, chunk_ids: impl IntoIterator<Item = i64>) -> StoreResult<()> {
    let mut delete = conn
        .prepare_cached("DELETE FROM delivery_payloads WHERE id >= ?1 AND id < ?2")
        .map_err(sqlite_error)?;
    for chunk_id in chunk_ids {
        delete
            .execute((chunk_id * CHUNK, (chunk_id + 1) * CHUNK))
            .map_err(sqlite_error)?;
    }
    Ok(())
}
