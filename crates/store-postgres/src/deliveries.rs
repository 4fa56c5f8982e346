//! The delivery log: its rows written in the transaction that applies the updates they
//! describe (product org batches and signals alike), read a key's page or one entry at a
//! time, swept by age and by count.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trailspark_core::{ApiKeyId, TargetOrgId, TenantId};
use trailspark_store::{
    Delivery, DeliveryQuery, DeliveryRow, Intake, Logged, Missing, Outcome, Page, RequestLog,
    StoreError, StoreResult, Swept, TalliedEntry, Tallies,
};

use crate::db::{pg_error, prepared, try_sweep_lock};
use crate::reads::corrupt;
use crate::tallies;

const COLUMNS: &str = "id, key_id, request_id, idx, received_at, intake, status, outcome, code,
    message, product_org_id, lead_id, target_org_id, changed, unchanged_reason, warnings,
    template_version, payload, replay_of, changed_fields";

/// Any fixed number ("delivery" in ASCII): the advisory lock a sweep holds.
const SWEEP_LOCK: i64 = 0x6465_6c69_7665_7279;

/// One entry to write: its tenant, its key and its columns.
pub struct LogEntry<'a> {
    pub tenant: TenantId,
    pub key: &'a ApiKeyId,
    pub row: DeliveryRow,
}

/// The entries of one request, given the store's result for each of its updates; none
/// without a log.
pub fn entries<'a, T: Logged>(
    tenant: TenantId,
    key: &'a ApiKeyId,
    received_at: DateTime<Utc>,
    log: Option<&RequestLog>,
    results: &[Result<T, String>],
) -> Vec<LogEntry<'a>> {
    log.map(|log| log.rows(received_at, results))
        .unwrap_or_default()
        .into_iter()
        .map(|row| LogEntry { tenant, key, row })
        .collect()
}

/// Writes `entries` with one multi-row statement, in their order, so that ids (which order a
/// key's log) follow the order of requests and of their elements; and adds them to the keys'
/// tallies.
pub async fn insert(c: &impl GenericClient, entries: &[LogEntry<'_>]) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows = || entries.iter().map(|e| &e.row);
    let tenants: Vec<i64> = entries.iter().map(|e| e.tenant.0).collect();
    let keys: Vec<&str> = entries.iter().map(|e| e.key.0.as_str()).collect();
    let requests: Vec<&str> = rows().map(|r| r.request_id.as_str()).collect();
    let indexes = rows()
        .map(|r| r.index.map(i32::try_from).transpose())
        .collect::<Result<Vec<Option<i32>>, _>>()
        .map_err(|e| StoreError::other("a delivery's index is beyond INTEGER").caused_by(e))?;
    let received: Vec<DateTime<Utc>> = rows().map(|r| r.received_at).collect();
    let intakes: Vec<&str> = rows().map(|r| r.intake.as_str()).collect();
    let statuses: Vec<i32> = rows().map(|r| i32::from(r.status)).collect();
    let outcomes: Vec<&str> = rows().map(|r| r.outcome.as_str()).collect();
    let codes: Vec<Option<&str>> = rows().map(|r| r.code.as_deref()).collect();
    let messages: Vec<Option<&str>> = rows().map(|r| r.message.as_deref()).collect();
    let orgs: Vec<Option<&str>> = rows().map(|r| r.product_org_id.as_deref()).collect();
    let leads: Vec<Option<&str>> = rows().map(|r| r.lead_id.as_deref()).collect();
    let targets: Vec<Option<i64>> = rows().map(|r| r.target_org_id.map(|t| t.0)).collect();
    let changed: Vec<bool> = rows().map(|r| r.changed).collect();
    let reasons: Vec<Option<&str>> = rows().map(|r| r.unchanged_reason.as_deref()).collect();
    let warnings: Vec<Option<&str>> = rows().map(|r| r.warnings.as_deref()).collect();
    let versions: Vec<i64> = rows().map(|r| r.template_version).collect();
    let payloads: Vec<Option<&str>> = rows().map(|r| r.payload.as_deref()).collect();
    let replays: Vec<Option<i64>> = rows().map(|r| r.replay_of).collect();
    let fields: Vec<Option<String>> = rows().map(|r| fields_json(&r.changed_fields)).collect();
    // Identities are taken as the sorted rows reach the insert: ORDER BY n keeps array order.
    let sql = "INSERT INTO deliveries (tenant_id, key_id, request_id, idx, received_at, intake,
            status, outcome, code, message, product_org_id, lead_id, target_org_id, changed,
            unchanged_reason, warnings, template_version, payload, replay_of, changed_fields)
        SELECT t, k, rq, ix, ra, it, st, oc, cd, ms, po, ld, tg, ch, ur, wa, tv, pl, rp, cf
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::timestamptz[],
            $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::text[],
            $12::text[], $13::bigint[], $14::boolean[], $15::text[], $16::text[], $17::bigint[],
            $18::text[], $19::bigint[], $20::text[])
            WITH ORDINALITY AS d(t, k, rq, ix, ra, it, st, oc, cd, ms, po, ld, tg, ch, ur, wa,
                tv, pl, rp, cf, n)
        ORDER BY n
        RETURNING id";
    let ids = c
        .query(
            &prepared(c, sql).await?,
            &[
                &tenants, &keys, &requests, &indexes, &received, &intakes, &statuses, &outcomes,
                &codes, &messages, &orgs, &leads, &targets, &changed, &reasons, &warnings,
                &versions, &payloads, &replays, &fields,
            ],
        )
        .await
        .map_err(pg_error)?;
    // RETURNING gives the rows as they were inserted, in the order ORDER BY n took them.
    if ids.len() != entries.len() {
        return Err(StoreError::other(format!(
            "the log took {} of {} entries",
            ids.len(),
            entries.len()
        )));
    }
    let mut tallies = Tallies::default();
    for (entry, id) in entries.iter().zip(&ids) {
        let owner = (entry.tenant, entry.key.0.as_str());
        tallies.add(&owner, &TalliedEntry::of(id.get(0), &entry.row));
    }
    tallies::add(c, tallies).await
}

/// A key's log, newest first, filtered, one page at a time.
pub async fn list(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    query: &DeliveryQuery,
) -> StoreResult<Page<Delivery>> {
    // Newest first: a page starts below the last id of the one before. A plain bound (not
    // "NULL or …") lets every page start in the (tenant, key, id) index, however deep.
    let window = query.page.window::<i64>()?;
    let rows = c
        .query(
            &prepared(c, &list_sql(query)).await?,
            &[
                &tenant.0,
                &key.0,
                &window.after.unwrap_or(i64::MAX),
                &query.outcome.map(Outcome::as_str),
                &query.product_org_id,
                &query.since,
                &query.with_payload,
                &window.rows_to_fetch(),
            ],
        )
        .await
        .map_err(pg_error)?;
    let items = rows.iter().map(delivery).collect::<StoreResult<Vec<_>>>()?;
    Ok(window.page(items, |d| d.id))
}

/// The read of a key's log for `query`. A read of refusals or of kept payloads also names
/// its condition as written, not only as a parameter, so that a generic plan can start in the
/// partial index of such entries (migration 0014).
fn list_sql(query: &DeliveryQuery) -> String {
    let refused = match query.outcome {
        Some(Outcome::Refused) => "AND outcome = 'refused'",
        _ => "",
    };
    let kept = if query.with_payload {
        "AND payload IS NOT NULL"
    } else {
        ""
    };
    format!(
        "SELECT {COLUMNS} FROM deliveries
         WHERE tenant_id = $1 AND key_id = $2 AND id < $3
           AND ($4::text IS NULL OR outcome = $4) AND ($5::text IS NULL OR product_org_id = $5)
           AND ($6::timestamptz IS NULL OR received_at >= $6)
           AND (NOT $7 OR payload IS NOT NULL) {refused} {kept}
         ORDER BY id DESC LIMIT $8"
    )
}

/// One entry of the tenant's log.
pub async fn one(c: &impl GenericClient, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2");
    let row = c
        .query_opt(&prepared(c, &sql).await?, &[&tenant.0, &id])
        .await
        .map_err(pg_error)?
        .ok_or(Missing::Delivery(id))?;
    delivery(&row)
}

/// Removes, in every tenant, the entries received before `before`, then those beyond each
/// key's newest `per_key`; in a transaction (`c`), whose lock it holds to the end. Nothing
/// when another instance is sweeping: its sweep does the same work.
pub async fn sweep(
    c: &impl GenericClient,
    before: DateTime<Utc>,
    per_key: u32,
) -> StoreResult<Swept> {
    if !try_sweep_lock(c, SWEEP_LOCK).await? {
        return Ok(Swept::default());
    }
    let expired = c
        .execute(
            &prepared(c, "DELETE FROM deliveries WHERE received_at < $1").await?,
            &[&before],
        )
        .await
        .map_err(pg_error)?;
    // Only keys over their count are cut, each below its newest kept id, a range of the
    // (tenant, key, id) index: the rest of the log is counted, not sorted. `cut` is
    // materialised so that each key's bound is looked up once: inlined, the planner ran that
    // lookup once per row of the log (minutes instead of a second at 200k rows).
    let sql = "WITH crowded AS (
            SELECT tenant_id, key_id FROM deliveries GROUP BY tenant_id, key_id
            HAVING count(*) > $1),
        cut AS MATERIALIZED (
            SELECT o.tenant_id, o.key_id,
                (SELECT d.id FROM deliveries d WHERE d.tenant_id = o.tenant_id
                    AND d.key_id = o.key_id ORDER BY d.id DESC OFFSET $1 LIMIT 1) AS id
            FROM crowded o)
        DELETE FROM deliveries d USING cut
        WHERE d.tenant_id = cut.tenant_id AND d.key_id = cut.key_id AND d.id <= cut.id";
    let over_count = c
        .execute(&prepared(c, sql).await?, &[&i64::from(per_key)])
        .await
        .map_err(pg_error)?;
    tallies::sweep(c, before).await?;
    Ok(Swept {
        expired,
        over_count,
    })
}

/// An entry's changed fields as the log keeps them: a JSON array, NULL for none.
fn fields_json(fields: &[String]) -> Option<String> {
    (!fields.is_empty())
        .then(|| serde_json::to_string(fields).expect("field names serialize as JSON"))
}

/// The changed fields of an entry, from [`fields_json`]'s column.
pub fn fields_of(json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| corrupt("delivery changed fields", e))
}

fn delivery(r: &Row) -> StoreResult<Delivery> {
    let intake: String = r.get(5);
    let outcome: String = r.get(7);
    let index = r
        .get::<_, Option<i32>>(3)
        .map(u32::try_from)
        .transpose()
        .map_err(|e| corrupt("delivery index", e))?;
    let status = u16::try_from(r.get::<_, i32>(6)).map_err(|e| corrupt("delivery status", e))?;
    Ok(Delivery {
        id: r.get(0),
        key_id: ApiKeyId(r.get(1)),
        row: DeliveryRow {
            request_id: r.get(2),
            index,
            received_at: r.get(4),
            intake: Intake::parse(&intake).ok_or_else(|| corrupt("delivery intake", &intake))?,
            status,
            outcome: Outcome::parse(&outcome)
                .ok_or_else(|| corrupt("delivery outcome", &outcome))?,
            code: r.get(8),
            message: r.get(9),
            product_org_id: r.get(10),
            lead_id: r.get(11),
            target_org_id: r.get::<_, Option<i64>>(12).map(TargetOrgId),
            changed: r.get(13),
            unchanged_reason: r.get(14),
            warnings: r.get(15),
            template_version: r.get(16),
            payload: r.get(17),
            replay_of: r.get(18),
            changed_fields: r
                .get::<_, Option<String>>(19)
                .map(|json| fields_of(&json))
                .transpose()?
                .unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use trailspark_store_contract::postgres::TestDatabase;

    use super::*;
    use crate::{PostgresOptions, PostgresStore};

    /// The generic plan (the one a statement prepared once keeps) of `query`'s read; the
    /// planner may not scan the table whole, so it shows which index it would start in.
    async fn plan(url: &str, query: &DeliveryQuery) -> String {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let sql = format!("PREPARE read AS {}", list_sql(query));
        client
            .batch_execute(&format!(
                "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off;
                 SET enable_bitmapscan = off; {sql}"
            ))
            .await
            .unwrap();
        let explain = "EXPLAIN EXECUTE read (1, 'k', 1, NULL, NULL, NULL, false, 10)";
        let rows = client.query(explain, &[]).await.unwrap();
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A read of refusals or of kept payloads starts in the index of such entries, not in the
    /// index of all a key's entries (where a busy key with none walked every entry it kept).
    #[tokio::test]
    async fn reads_of_refusals_and_payloads_use_the_index_of_such_entries() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let store = PostgresStore::connect(&database.url, PostgresOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let refused = DeliveryQuery {
            outcome: Some(Outcome::Refused),
            ..DeliveryQuery::default()
        };
        let kept = DeliveryQuery {
            with_payload: true,
            ..DeliveryQuery::default()
        };
        let url = &database.url;
        for (query, index) in [
            (refused, "deliveries_refused"),
            (kept, "deliveries_kept"),
            (DeliveryQuery::default(), "deliveries_key"),
        ] {
            let plan = plan(url, &query).await;
            assert!(plan.contains(index), "{query:?}: {plan}");
        }
    }
}
