//! The batch's writes, each one multi-row statement from arrays (`unnest`): new target orgs,
//! product orgs, history rows (the remembered messageIds are [`crate::dedupe::remember_all`]'s).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::Json;
use trailspark_core::{FieldClock, ProductOrgFields};
use trailspark_store::StoreResult;

use super::apply::{HistoryRows, Org, OrgKey};
use crate::db::{pg_error, prepared};

/// [`insert_target_orgs`]'s statement.
pub(super) const INSERT_TARGET_ORGS: &str =
    "INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
     SELECT t, i, n, a, a
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS r(t, i, n, a)";

/// Inserts the target orgs created with the batch's new product orgs.
pub(super) async fn insert_target_orgs(
    tx: &Transaction<'_>,
    created: &[(i64, i64, String, DateTime<Utc>)],
) -> StoreResult<()> {
    if created.is_empty() {
        return Ok(());
    }
    let tenants: Vec<i64> = created.iter().map(|c| c.0).collect();
    let ids: Vec<i64> = created.iter().map(|c| c.1).collect();
    let names: Vec<&str> = created.iter().map(|c| c.2.as_str()).collect();
    let at: Vec<DateTime<Utc>> = created.iter().map(|c| c.3).collect();
    tx.execute(
        &prepared(tx, INSERT_TARGET_ORGS).await?,
        &[&tenants, &ids, &names, &at],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Writes the final state of every org the batch changed: the whole row when a value
/// changed, only the field clock when only it moved.
pub(super) async fn write_orgs(
    tx: &Transaction<'_>,
    orgs: &HashMap<OrgKey<'_>, Org>,
) -> StoreResult<()> {
    // An insert from arrays, never a join: no plan can turn it into a scan of the table.
    const CHANGED: &str = "DO UPDATE SET name = excluded.name, fields = excluded.fields,
        field_clock = excluded.field_clock, version = excluded.version,
        updated_at = excluded.updated_at";
    const CLOCK_ONLY: &str = "DO UPDATE SET field_clock = excluded.field_clock";
    upsert_orgs(tx, orgs, |o| o.changed, CHANGED).await?;
    upsert_orgs(tx, orgs, |o| !o.changed && o.clock_moved, CLOCK_ONLY).await
}

async fn upsert_orgs(
    tx: &Transaction<'_>,
    orgs: &HashMap<OrgKey<'_>, Org>,
    pick: impl Fn(&Org) -> bool,
    on_conflict: &str,
) -> StoreResult<()> {
    let mut rows: Vec<(&OrgKey, &Org)> = orgs.iter().filter(|(_, o)| pick(o)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Row locks in a stable order too, for the same reason as the advisory locks.
    rows.sort_unstable_by_key(|(k, _)| **k);
    let tenants: Vec<i64> = rows.iter().map(|(k, _)| k.0).collect();
    let ids: Vec<&str> = rows.iter().map(|(k, _)| k.1).collect();
    let targets: Vec<i64> = rows.iter().map(|(_, o)| o.state.target_org_id.0).collect();
    let names: Vec<Option<&str>> = rows
        .iter()
        .map(|(_, o)| o.state.fields.name.as_deref())
        .collect();
    let fields: Vec<Json<&ProductOrgFields>> =
        rows.iter().map(|(_, o)| Json(&o.state.fields)).collect();
    let clocks: Vec<Json<&FieldClock>> = rows.iter().map(|(_, o)| Json(&o.state.clock)).collect();
    let versions: Vec<i64> = rows.iter().map(|(_, o)| o.state.version).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|(_, o)| o.created_at).collect();
    let updated: Vec<DateTime<Utc>> = rows.iter().map(|(_, o)| o.updated_at).collect();
    let sql = format!(
        "INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
             field_clock, version, created_at, updated_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[],
             $6::jsonb[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
         ON CONFLICT (tenant_id, product_org_id) {on_conflict}"
    );
    tx.execute(
        &prepared(tx, &sql).await?,
        &[
            &tenants, &ids, &targets, &names, &fields, &clocks, &versions, &created, &updated,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Adds the folded ids the batch's new orgs made possible duplicates (tenant, folded id).
pub(super) async fn insert_duplicates(
    tx: &Transaction<'_>,
    duplicates: &[(i64, String)],
) -> StoreResult<()> {
    if duplicates.is_empty() {
        return Ok(());
    }
    let (tenants, folded): (Vec<i64>, Vec<&str>) =
        duplicates.iter().map(|(t, f)| (*t, f.as_str())).unzip();
    let sql = "INSERT INTO product_org_duplicates (tenant_id, folded)
               SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING";
    tx.execute(&prepared(tx, sql).await?, &[&tenants, &folded])
        .await
        .map_err(pg_error)?;
    Ok(())
}

/// Inserts the history rows of the batch's changes.
pub(super) async fn insert_history(
    tx: &Transaction<'_>,
    rows: &HistoryRows<'_>,
) -> StoreResult<()> {
    if rows.tenant.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO product_org_history (tenant_id, product_org_id, version, changes,
                   key_id, event_at, received_at)
               SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[],
                   $5::text[], $6::timestamptz[], $7::timestamptz[])";
    tx.execute(
        &prepared(tx, sql).await?,
        &[
            &rows.tenant,
            &rows.id,
            &rows.version,
            &rows.changes,
            &rows.key,
            &rows.event_at,
            &rows.received_at,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}
