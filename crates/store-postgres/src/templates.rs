//! The versions of each key's payload template. Instances change templates at once; the key's
//! row lock makes concurrent changes of one key take their versions one after the other.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{Missing, StoreError, StoreResult, TemplateVersion};

use crate::accounts::{api_key, bump_key_revision, key, KEY_COLUMNS};
use crate::db::{pg_error, prepared};

/// Stores one version of a key's template.
pub async fn add_version(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    version: &TemplateVersion,
) -> StoreResult<()> {
    c.execute(
        &prepared(
            c,
            "INSERT INTO template_versions (tenant_id, key_id, version, template, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?,
        &[
            &tenant.0,
            &key.0,
            &version.version,
            &version.template,
            &version.created_at,
            &version.created_by,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Makes `template` the key's current template as its next version, and moves the key
/// revision; a revoked key's template no longer changes. Runs in the caller's transaction.
pub async fn set_template(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ApiKeyId,
    template: &str,
    author: &str,
) -> StoreResult<TemplateVersion> {
    // FOR UPDATE: a second change of this key, from this instance or another, waits here
    // until this one commits, and then reads the version this one wrote.
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
                ),
            )
            .await?,
            &[&tenant.0, &id.0],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::ApiKey(id.clone()))?;
    let current = key(&row)?;
    if current.revoked_at.is_some() {
        return Err(StoreError::conflict(format!(
            "the key {id} is revoked, so its template can no longer change; create a new key"
        )));
    }
    let next = TemplateVersion {
        version: current.template_version + 1,
        template: template.to_owned(),
        // Whole microseconds, as PostgreSQL keeps them: what is answered is what is read later.
        created_at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros())
            .unwrap_or_default(),
        created_by: author.to_owned(),
    };
    c.execute(
        &prepared(
            c,
            "UPDATE api_keys SET template = $3, template_version = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .await?,
        &[&tenant.0, &id.0, &template, &next.version],
    )
    .await
    .map_err(pg_error)?;
    add_version(c, tenant, id, &next).await?;
    bump_key_revision(c).await?;
    Ok(next)
}

fn version(row: &Row) -> TemplateVersion {
    TemplateVersion {
        version: row.get(0),
        template: row.get(1),
        created_at: row.get(2),
        created_by: row.get(3),
    }
}

/// Every version of a key's template, newest first.
pub async fn template_versions(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ApiKeyId,
) -> StoreResult<Vec<TemplateVersion>> {
    // An unknown key is an error, not an empty list. Keys are never deleted, so the check
    // cannot go stale before the read.
    api_key(c, tenant, id).await?;
    let rows = c
        .query(
            &prepared(
                c,
                "SELECT version, template, created_at, created_by FROM template_versions
                 WHERE tenant_id = $1 AND key_id = $2 ORDER BY version DESC",
            )
            .await?,
            &[&tenant.0, &id.0],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(version).collect())
}
