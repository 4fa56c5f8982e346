//! The delivery log in chunks: the entries a transaction logs for one key are kept in memory
//! until the writer commits, then written as one row (see migration 0010 for why); read from
//! the pool a chunk at a time, swept by age and count.
//!
//! An entry's id is its chunk's id × [`CHUNK`] + its place in the chunk's array; a swept entry
//! is null there, so the others keep their ids.

use rusqlite::{Connection, OptionalExtension};
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{
    Delivery, DeliveryQuery, DeliveryRow, Missing, Outcome, Page, StoreError, StoreResult,
    TalliedEntry, Tallies,
};

use crate::db::{from_json, micros, sqlite_error};
use entry::{Entries, Entry};

mod entry;
mod sweep;
mod tallies;

pub use sweep::sweep;
pub use tallies::{fill as fill_tallies, read as read_tallies};

/// Most entries of a chunk, and what a chunk's id is multiplied by to give its entries' ids.
pub const CHUNK: i64 = 4096;

/// The entries the writer's current transaction logged, written as chunks just before it
/// commits.
#[derive(Default)]
pub struct Pending {
    rows: Vec<(TenantId, ApiKeyId, DeliveryRow)>,
}

impl Pending {
    /// Logs `rows` of `key` with the transaction.
    pub fn push(&mut self, tenant: TenantId, key: &ApiKeyId, rows: Vec<DeliveryRow>) {
        self.rows
            .extend(rows.into_iter().map(|row| (tenant, key.clone(), row)));
    }

    /// Where the entries logged from now on start: what [`Pending::truncate`] goes back to
    /// when a savepoint is rolled back.
    pub fn mark(&self) -> usize {
        self.rows.len()
    }

    pub fn truncate(&mut self, mark: usize) {
        self.rows.truncate(mark);
    }

    pub fn clear(&mut self) {
        self.rows.clear();
    }

    /// Writes what was logged, one chunk per key (in the order keys first logged), adds it
    /// to the keys' tallies, and empties the log.
    pub fn write(&mut self, conn: &Connection) -> StoreResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let mut keys: Vec<(TenantId, &ApiKeyId, Vec<&DeliveryRow>)> = Vec::new();
        for (tenant, key, row) in &rows {
            match keys.iter_mut().find(|(t, k, _)| t == tenant && *k == key) {
                Some((_, _, of_key)) => of_key.push(row),
                None => keys.push((*tenant, key, vec![row])),
            }
        }
        let mut tallies = Tallies::default();
        for (tenant, key, of_key) in keys {
            let owner = (tenant, key.0.as_str());
            for chunk in of_key.chunks(CHUNK as usize) {
                let chunk_id = write_chunk(conn, tenant, key, chunk).map_err(sqlite_error)?;
                for (place, row) in (0..).zip(chunk) {
                    tallies.add(&owner, &TalliedEntry::of(chunk_id * CHUNK + place, row));
                }
            }
        }
        tallies::add(conn, tallies)
    }
}

/// Writes one chunk of a key's entries; its id.
fn write_chunk(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    rows: &[&DeliveryRow],
) -> rusqlite::Result<i64> {
    let entries: Vec<Entry<&str>> = rows.iter().map(|row| Entry::of(row)).collect();
    let times = rows.iter().map(|row| micros(&row.received_at));
    let first = times.clone().min().unwrap_or_default();
    let last = times.max().unwrap_or_default();
    let refused = rows
        .iter()
        .filter(|row| row.outcome == Outcome::Refused)
        .count();
    let kept = rows.iter().filter(|row| row.payload.is_some()).count();
    conn.prepare_cached(
        "INSERT INTO delivery_chunks
             (tenant_id, key_id, first_at, last_at, live, refused, kept, entries)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute((
        tenant.0,
        &key.0,
        first,
        last,
        rows.len(),
        refused,
        kept,
        serde_json::to_string(&entries).expect("entries serialize to JSON"),
    ))?;
    let id = conn.last_insert_rowid();
    for (place, row) in (0..).zip(rows) {
        if let Some(payload) = &row.payload {
            conn.prepare_cached("INSERT INTO delivery_payloads (id, payload) VALUES (?1, ?2)")?
                .execute((id * CHUNK + place, payload))?;
        }
    }
    Ok(id)
}

/// A key's log, newest first, filtered, one page at a time.
pub fn list(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    query: &DeliveryQuery,
) -> StoreResult<Page<Delivery>> {
    let window = query.page.window::<i64>()?;
    let before = window.after.unwrap_or(i64::MAX);
    let wanted = usize::try_from(window.rows_to_fetch()).unwrap_or(usize::MAX);
    let since = query.since.as_ref().map_or(i64::MIN, micros);
    let mut statement = conn
        .prepare_cached(&chunks_sql(query))
        .map_err(sqlite_error)?;
    let mut chunks = statement
        .query((
            tenant.0,
            &key.0,
            before.saturating_sub(1).div_euclid(CHUNK),
            since,
        ))
        .map_err(sqlite_error)?;
    let mut found = Vec::new();
    'chunks: while let Some(chunk) = chunks.next().map_err(sqlite_error)? {
        let chunk_id: i64 = chunk.get(0).map_err(sqlite_error)?;
        let entries: Entries = from_json(
            chunk
                .get_ref(1)
                .map_err(sqlite_error)?
                .as_str()
                .map_err(|e| StoreError::other("a delivery chunk that is not text").caused_by(e))?,
        )?;
        for (place, entry) in entries.into_iter().enumerate().rev() {
            let Some(entry) = entry else { continue };
            let id = chunk_id * CHUNK + place as i64;
            if id >= before || entry.at < since || (query.with_payload && !entry.payload) {
                continue;
            }
            if query.outcome.is_some_and(|o| o.as_str() != entry.outcome) {
                continue;
            }
            if query
                .product_org_id
                .as_deref()
                .is_some_and(|wanted| entry.org.as_deref() != Some(wanted))
            {
                continue;
            }
            let has_payload = entry.payload;
            found.push((entry.into_delivery(id, &key.0)?, has_payload));
            if found.len() >= wanted {
                break 'chunks;
            }
        }
    }
    drop(chunks);
    let found = attach_payloads(conn, found)?;
    Ok(window.page(found, |d| d.id))
}

/// The read of a key's chunks, newest first, that may hold entries `query` wants. A read of
/// refusals or of kept payloads names its condition as written, not as a parameter, so that
/// SQLite reads it from the partial index of such chunks (migration 0015).
fn chunks_sql(query: &DeliveryQuery) -> String {
    let refused = match query.outcome {
        Some(Outcome::Refused) => "AND refused > 0",
        _ => "",
    };
    let kept = if query.with_payload {
        "AND kept > 0"
    } else {
        ""
    };
    format!(
        "SELECT id, entries FROM delivery_chunks
         WHERE tenant_id = ?1 AND key_id = ?2 AND id <= ?3 AND last_at >= ?4 {refused} {kept}
         ORDER BY id DESC"
    )
}

/// One entry of the tenant's log.
pub fn one(conn: &Connection, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
    let missing = || StoreError::NotFound(Missing::Delivery(id));
    if id < 0 {
        return Err(missing());
    }
    let (chunk_id, place) = (id.div_euclid(CHUNK), id.rem_euclid(CHUNK) as usize);
    let chunk: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT key_id, entries FROM delivery_chunks WHERE id = ?1 AND tenant_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row((chunk_id, tenant.0), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sqlite_error)?;
    let (key, entries) = chunk.ok_or_else(missing)?;
    let entries: Entries = from_json(&entries)?;
    let entry = entries
        .into_iter()
        .nth(place)
        .flatten()
        .ok_or_else(missing)?;
    let has_payload = entry.payload;
    let delivery = entry.into_delivery(id, &key)?;
    let mut with_payload = attach_payloads(conn, vec![(delivery, has_payload)])?;
    Ok(with_payload.remove(0))
}

fn attach_payloads(conn: &Connection, found: Vec<(Delivery, bool)>) -> StoreResult<Vec<Delivery>> {
    let mut read = conn
        .prepare_cached("SELECT payload FROM delivery_payloads WHERE id = ?1")
        .map_err(sqlite_error)?;
    found
        .into_iter()
        .map(|(mut delivery, has_payload)| {
            if has_payload {
                delivery.row.payload = read
                    .query_row([delivery.id], |r| r.get(0))
                    .optional()
                    .map_err(sqlite_error)?;
            }
            Ok(delivery)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan SQLite makes for `query`'s read of chunks, one line per step.
    fn plan(query: &DeliveryQuery) -> String {
        crate::db::query_plan(&chunks_sql(query))
    }

    /// A read of refusals or of kept payloads starts in the index of the chunks that have
    /// some, not in the index of all a key's chunks (where a busy key with none walked every
    /// chunk it wrote since the last sweep).
    #[test]
    fn reads_of_refusals_and_payloads_use_the_index_of_chunks_that_have_some() {
        let refused = DeliveryQuery {
            outcome: Some(Outcome::Refused),
            ..DeliveryQuery::default()
        };
        assert!(
            plan(&refused).contains("delivery_chunks_refused"),
            "{}",
            plan(&refused)
        );
        let kept = DeliveryQuery {
            with_payload: true,
            ..DeliveryQuery::default()
        };
        assert!(
            plan(&kept).contains("delivery_chunks_kept"),
            "{}",
            plan(&kept)
        );
        let all = DeliveryQuery::default();
        assert!(plan(&all).contains("delivery_chunks_key"), "{}", plan(&all));
    }
}
