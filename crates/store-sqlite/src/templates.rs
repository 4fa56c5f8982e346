//! The versions of each key's payload template: changed through the writer (one writer, so
//! concurrent changes of a key take their versions one after the other), read on a read
//! connection.

use chrono::Utc;
use rusqlite::{Connection, Row};
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{StoreError, StoreResult, TemplateVersion};

use crate::accounts::{api_key, bump_key_revision};
use crate::db::{from_micros, micros, sqlite_error};

/// Stores one version of a key's template.
pub fn add_version(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    version: &TemplateVersion,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO template_versions (tenant_id, key_id, version, template, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute((
            tenant.0,
            &key.0,
            version.version,
            &version.template,
            micros(&version.created_at),
            &version.created_by,
        ))
    })
    .map_err(sqlite_error)?;
    Ok(())
}

/// Makes `template` the key's current template as its next version, and moves the key
/// revision; a revoked key's template no longer changes.
pub fn set_template(
    conn: &Connection,
    tenant: TenantId,
    id: &ApiKeyId,
    template: &str,
    author: &str,
) -> StoreResult<TemplateVersion> {
    let key = api_key(conn, tenant, id)?;
    if key.revoked_at.is_some() {
        return Err(StoreError::conflict(format!(
            "the key {id} is revoked, so its template can no longer change; create a new key"
        )));
    }
    let next = TemplateVersion {
        version: key.template_version + 1,
        template: template.to_owned(),
        created_at: from_micros(micros(&Utc::now())),
        created_by: author.to_owned(),
    };
    conn.prepare_cached(
        "UPDATE api_keys SET template = ?3, template_version = ?4 WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| s.execute((tenant.0, &id.0, template, next.version)))
    .map_err(sqlite_error)?;
    add_version(conn, tenant, id, &next)?;
    bump_key_revision(conn)?;
    Ok(next)
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<TemplateVersion> {
    Ok(TemplateVersion {
        version: row.get(0)?,
        template: row.get(1)?,
        created_at: from_micros(row.get(2)?),
        created_by: row.get(3)?,
    })
}

/// Every version of a key's template, newest first.
pub fn template_versions(
    conn: &Connection,
    tenant: TenantId,
    id: &ApiKeyId,
) -> StoreResult<Vec<TemplateVersion>> {
    // An unknown key is an error, not an empty list. Keys are never deleted, so the check
    // cannot go stale before the read.
    api_key(conn, tenant, id)?;
    conn.prepare_cached(
        "SELECT version, template, created_at, created_by FROM template_versions
             WHERE tenant_id = ?1 AND key_id = ?2 ORDER BY version DESC",
    )
    .and_then(|mut s| {
        s.query_map((tenant.0, &id.0), version_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .map_err(sqlite_error)
}
