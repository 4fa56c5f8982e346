//! A key's activity since a time (the raw counts of key health): its log entries by hour and
//! outcome, its refusals by code and the fields its applied entries changed, from the log's
//! (tenant, key, id) index.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{
    hour_start, ChangedFields, HourCount, KeyActivity, Outcome, RefusalCount, StoreResult,
};

use crate::db::{pg_error, prepared};
use crate::deliveries;
use crate::reads::corrupt;

/// The key's activity since `since`. `c` is a transaction, so that its three reads see one
/// snapshot.
pub async fn activity(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<KeyActivity> {
    Ok(KeyActivity {
        hours: hours(c, tenant, key, since).await?,
        refusals: refusals(c, tenant, key, since).await?,
        changes: changes(c, tenant, key, since).await?,
    })
}

/// The key's log entries per hour by outcome since `since`.
pub async fn hours(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<Vec<HourCount>> {
    // Hours since the Unix epoch, as the SQLite store counts them: no session time zone in it.
    let sql = "SELECT floor(extract(epoch FROM received_at) / 3600)::bigint, outcome, count(*)
        FROM deliveries WHERE tenant_id = $1 AND key_id = $2 AND received_at >= $3
        GROUP BY 1, 2";
    let rows = c
        .query(&prepared(c, sql).await?, &[&tenant.0, &key.0, &since])
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let outcome: String = r.get(1);
            Ok(HourCount {
                hour: hour_start(r.get(0)),
                outcome: Outcome::parse(&outcome)
                    .ok_or_else(|| corrupt("delivery outcome", &outcome))?,
                count: r.get::<_, i64>(2).unsigned_abs(),
            })
        })
        .collect()
}

async fn refusals(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<Vec<RefusalCount>> {
    let sql = "SELECT coalesce(code, ''), count(*), max(id),
            (array_agg(coalesce(message, '') ORDER BY id DESC))[1]
        FROM deliveries
        WHERE tenant_id = $1 AND key_id = $2 AND received_at >= $3 AND outcome = 'refused'
        GROUP BY 1";
    let rows = c
        .query(&prepared(c, sql).await?, &[&tenant.0, &key.0, &since])
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| RefusalCount {
            code: r.get(0),
            count: r.get::<_, i64>(1).unsigned_abs(),
            example_id: r.get(2),
            example_message: r.get(3),
        })
        .collect())
}

/// The fields each applied entry of the key since `since` kept.
async fn changes(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<Vec<ChangedFields>> {
    let sql = "SELECT changed_fields FROM deliveries
        WHERE tenant_id = $1 AND key_id = $2 AND received_at >= $3
          AND outcome = 'applied' AND changed_fields IS NOT NULL";
    let rows = c
        .query(&prepared(c, sql).await?, &[&tenant.0, &key.0, &since])
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            Ok(ChangedFields {
                fields: deliveries::fields_of(r.get(0))?,
            })
        })
        .collect()
}
