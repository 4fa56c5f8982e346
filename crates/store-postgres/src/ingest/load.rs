//! The batch's reads, each one multi-row statement: its advisory locks, the stored outcomes of
//! its messageIds, the stored state of its product orgs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::Json;
use trailspark_core::step::OrgState;
use trailspark_core::{
    FieldClock, ProductOrgFields, ProductOrgId, TargetOrgId, Update, FOLDED_ID_SQL,
};
use trailspark_store::{Applied, StoreError, StoreResult};

use super::apply::{Org, OrgKey};
use super::Job;
use crate::db::{pg_error, prepared};
use crate::dedupe::{self, nth, product_org_lock, MessageKey};

/// Takes the advisory lock of every product org of the batch, the same lock
/// [`crate::dedupe::lock`] takes for one org, in sorted order (see [`dedupe::lock_all`]).
pub(super) async fn lock_all(tx: &Transaction<'_>, keys: &[OrgKey<'_>]) -> StoreResult<()> {
    let locks = keys.iter().map(|k| (k.0, product_org_lock(k.1))).collect();
    dedupe::lock_all(tx, locks).await
}

/// The stored dedupe outcomes of the batch's messageIds, with when they were stored.
pub(super) async fn processed<'a>(
    tx: &Transaction<'_>,
    updates: &[(&'a Job, &'a Update)],
) -> StoreResult<HashMap<MessageKey<'a>, (Applied, DateTime<Utc>)>> {
    let asked: Vec<MessageKey<'a>> = updates
        .iter()
        .filter_map(|(job, update)| {
            let message = update.message_id.as_deref()?;
            Some((job.tenant.0, job.request.key_id.0.as_str(), message))
        })
        .collect();
    dedupe::processed_all(tx, &asked).await
}

/// A product org the batch creates: its new target org id, and the oldest stored product org
/// whose id folds like its own (SPEC §6 `similar_product_org`).
pub(super) type NewOrg = (i64, Option<ProductOrgId>);

/// The stored state of the batch's product orgs that exist, and for each that does not, a
/// new target org id and a similar stored id. An id taken for an org whose every update turns
/// out to be a duplicate stays unused: ids have gaps, as sequences do.
pub(super) async fn current<'a>(
    tx: &Transaction<'_>,
    keys: &[OrgKey<'a>],
) -> StoreResult<(HashMap<OrgKey<'a>, Org>, HashMap<OrgKey<'a>, NewOrg>)> {
    let tenants: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let folded: Vec<String> = ids
        .iter()
        .map(|id| trailspark_core::ids::fold(id))
        .collect();
    // One primary key probe per org, as in `processed`; only an org not stored is looked up
    // by its folded id (through the index on that expression, spelled as the index has it),
    // and the one meant picked by `trailspark_store::meant`'s rule, here in SQL: the oldest,
    // then the first by id (the column's collation is "C", Rust's order of strings).
    let sql = format!(
        "SELECT k.n, p.target_org_id, p.fields, p.field_clock, p.version, p.updated_at,
             CASE WHEN p.version IS NULL THEN nextval('target_org_ids') END,
             CASE WHEN p.version IS NULL THEN (SELECT s.product_org_id FROM product_orgs s
                 WHERE s.tenant_id = k.tenant_id AND {folded} = k.folded
                     AND s.product_org_id <> k.product_org_id
                 ORDER BY s.created_at, s.product_org_id LIMIT 1) END
         FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY
             AS k(tenant_id, product_org_id, folded, n)
         LEFT JOIN LATERAL (SELECT * FROM product_orgs WHERE tenant_id = k.tenant_id
             AND product_org_id = k.product_org_id COLLATE \"C\" OFFSET 0) p ON true",
        folded = FOLDED_ID_SQL
            .postgres
            .replace("product_org_id", "s.product_org_id")
    );
    let rows = tx
        .query(&prepared(tx, &sql).await?, &[&tenants, &ids, &folded])
        .await
        .map_err(pg_error)?;
    let mut orgs = HashMap::with_capacity(keys.len());
    let mut new = HashMap::new();
    for row in rows {
        let key = *nth(keys, row.get(0))?;
        if let Some(target) = row.get::<_, Option<i64>>(6) {
            let similar = row
                .get::<_, Option<String>>(7)
                .map(ProductOrgId::parse)
                .transpose()
                .map_err(|e| StoreError::other("a stored product org id").caused_by(e))?;
            new.insert(key, (target, similar));
            continue;
        }
        let Json(fields): Json<ProductOrgFields> = row.get(2);
        let Json(clock): Json<FieldClock> = row.get(3);
        orgs.insert(
            key,
            Org {
                state: OrgState {
                    target_org_id: TargetOrgId(row.get(1)),
                    fields,
                    clock,
                    version: row.get(4),
                    similar: None,
                },
                changed: false,
                clock_moved: false,
                updated_at: row.get(5),
                created_at: row.get(5),
            },
        );
    }
    Ok((orgs, new))
}
