//! The keys' hourly tallies (`trailspark_store::tally`), in shards (migration 0013): added to
//! by every transaction that logs entries, read by key health and the overview, swept by age
//! with the log.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::tally::hour_of;
use trailspark_store::{Outcome, StoreResult, TalliedEntry, Tallies, Tally, TallyKind};

use crate::db::{pg_error, prepared};
use crate::deliveries::fields_of;
use crate::reads::corrupt;

/// Entries the fill reads at a time.
const FILL_PAGE: i64 = 10_000;

/// Adds `tallies` to the shard of this connection's backend, in their order (so that two
/// writers that share a shard take its rows in the same order), with one statement.
pub async fn add<K: AsRef<str> + Ord + Clone>(
    c: &impl GenericClient,
    tallies: Tallies<(TenantId, K)>,
) -> StoreResult<()> {
    if tallies.is_empty() {
        return Ok(());
    }
    let rows: Vec<((TenantId, K), Tally)> = tallies.into_rows().collect();
    let tenants: Vec<i64> = rows.iter().map(|((t, _), _)| t.0).collect();
    let keys: Vec<&str> = rows.iter().map(|((_, k), _)| k.as_ref()).collect();
    let hours: Vec<i64> = rows.iter().map(|(_, t)| t.hour).collect();
    let kinds: Vec<&str> = rows.iter().map(|(_, t)| t.kind.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|(_, t)| t.name.as_str()).collect();
    let counts: Vec<i64> = rows.iter().map(|(_, t)| signed(t.count)).collect();
    let only: Vec<i64> = rows.iter().map(|(_, t)| signed(t.only)).collect();
    let example_ids: Vec<Option<i64>> = rows
        .iter()
        .map(|(_, t)| t.example.as_ref().map(|e| e.0))
        .collect();
    let example_messages: Vec<Option<&str>> = rows
        .iter()
        .map(|(_, t)| t.example.as_ref().map(|e| e.1.as_str()))
        .collect();
    let sql = "INSERT INTO key_tallies AS t (tenant_id, key_id, hour, kind, name, shard, count,
            only_change, example_id, example_message)
        SELECT tn, k, h, kd, nm, pg_backend_pid() % 16, c, o, ei, em
        FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[],
            $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])
            WITH ORDINALITY AS u(tn, k, h, kd, nm, c, o, ei, em, n)
        ORDER BY n
        ON CONFLICT (tenant_id, key_id, hour, kind, name, shard) DO UPDATE SET
            count = t.count + excluded.count,
            only_change = t.only_change + excluded.only_change,
            example_id = CASE WHEN excluded.example_id > coalesce(t.example_id, -1)
                THEN excluded.example_id ELSE t.example_id END,
            example_message = CASE WHEN excluded.example_id > coalesce(t.example_id, -1)
                THEN excluded.example_message ELSE t.example_message END";
    c.execute(
        &prepared(c, sql).await?,
        &[
            &tenants,
            &keys,
            &hours,
            &kinds,
            &names,
            &counts,
            &only,
            &example_ids,
            &example_messages,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// A count as PostgreSQL keeps it; a commit's counts are far below `i64::MAX`.
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A key's tallies (each shard's row apart) of the hours from the one `since` falls in on,
/// of one kind or all.
pub async fn read(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
    kind: Option<TallyKind>,
) -> StoreResult<Vec<Tally>> {
    let sql = "SELECT hour, kind, name, count, only_change, example_id, example_message
        FROM key_tallies
        WHERE tenant_id = $1 AND key_id = $2 AND hour >= $3 AND ($4::text IS NULL OR kind = $4)";
    let rows = c
        .query(
            &prepared(c, sql).await?,
            &[
                &tenant.0,
                &key.0,
                &hour_of(&since),
                &kind.map(TallyKind::as_str),
            ],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get(1);
            let example: (Option<i64>, Option<String>) = (r.get(5), r.get(6));
            Ok(Tally {
                hour: r.get(0),
                kind: TallyKind::parse(&kind).ok_or_else(|| corrupt("tally kind", &kind))?,
                name: r.get(2),
                count: r.get::<_, i64>(3).unsigned_abs(),
                only: r.get::<_, i64>(4).unsigned_abs(),
                example: example.0.zip(example.1),
            })
        })
        .collect()
}

/// Removes the tallies of the hours wholly before `before`.
pub async fn sweep(c: &impl GenericClient, before: DateTime<Utc>) -> StoreResult<u64> {
    c.execute(
        &prepared(c, "DELETE FROM key_tallies WHERE hour < $1").await?,
        &[&hour_of(&before)],
    )
    .await
    .map_err(pg_error)
}

/// Tallies every entry of the log, a page at a time: what migration 0013 starts the tallies
/// with.
pub async fn fill(c: &impl GenericClient) -> StoreResult<()> {
    let sql = "SELECT id, tenant_id, key_id, received_at, outcome, code, message, changed_fields
        FROM deliveries WHERE id > $1 ORDER BY id LIMIT $2";
    let mut tallies: Tallies<(TenantId, String)> = Tallies::default();
    let mut after = i64::MIN;
    loop {
        let rows = c
            .query(sql, &[&after, &FILL_PAGE])
            .await
            .map_err(pg_error)?;
        for r in &rows {
            let outcome: String = r.get(4);
            let fields = r
                .get::<_, Option<&str>>(7)
                .map(fields_of)
                .transpose()?
                .unwrap_or_default();
            let entry = TalliedEntry {
                id: r.get(0),
                hour: hour_of(&r.get(3)),
                outcome: Outcome::parse(&outcome)
                    .ok_or_else(|| corrupt("delivery outcome", &outcome))?,
                code: r.get(5),
                message: r.get(6),
                changed_fields: &fields,
            };
            tallies.add(&(TenantId(r.get(1)), r.get(2)), &entry);
            after = entry.id;
        }
        if rows.len() < usize::try_from(FILL_PAGE).unwrap_or(usize::MAX) {
            break;
        }
    }
    add(c, tallies).await
}
