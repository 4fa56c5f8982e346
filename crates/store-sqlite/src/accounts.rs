//! Tenants and API keys: plain rows, written through the writer and read on a
//! read connection.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use trailspark_core::{ApiKeyId, EndpointType, Subdomain, TenantId};
use trailspark_store::{
    ApiKeyRecord, Missing, NewApiKey, StoreError, StoreResult, TemplateVersion, Tenant,
};

use crate::db::{from_micros, micros, sqlite_error};

const TENANT_COLUMNS: &str = "id, subdomain, name, created_at";
const KEY_COLUMNS: &str = "tenant_id, id, name, endpoint_type, prefix, template, created_at, \
     expires_at, revoked_at, last_used_at, secret_hash, hmac_secret_sealed, template_version";

fn tenant_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn tenant(raw: (i64, String, String, i64)) -> StoreResult<Tenant> {
    let (id, subdomain, name, created_at) = raw;
    Ok(Tenant {
        id: TenantId(id),
        subdomain: Subdomain::parse(&subdomain)
            .map_err(|e| StoreError::other("corrupt subdomain in store").caused_by(e))?,
        name,
        created_at: from_micros(created_at),
    })
}

/// Creates a tenant; a subdomain already taken is a conflict.
pub fn create_tenant(conn: &Connection, subdomain: &Subdomain, name: &str) -> StoreResult<Tenant> {
    let now = micros(&Utc::now());
    let raw = conn
        .query_row(
            &format!(
                "INSERT INTO tenants (subdomain, name, created_at) VALUES (?1, ?2, ?3)
                 RETURNING {TENANT_COLUMNS}"
            ),
            (subdomain.as_str(), name, now),
            tenant_row,
        )
        .map_err(|e| match sqlite_error(e) {
            StoreError::Conflict { .. } => {
                StoreError::conflict(format!("the subdomain {subdomain} is already taken"))
            }
            other => other,
        })?;
    tenant(raw)
}

/// Creates the `default` tenant if the store has no tenant yet.
pub fn create_default_tenant_if_empty(conn: &Connection) -> StoreResult<Option<Tenant>> {
    let any: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM tenants)", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    if any {
        return Ok(None);
    }
    let subdomain = Subdomain::parse("default").expect("`default` is a valid subdomain");
    create_tenant(conn, &subdomain, "Default").map(Some)
}

/// The tenant at `subdomain`.
pub fn tenant_by_subdomain(conn: &Connection, subdomain: &Subdomain) -> StoreResult<Tenant> {
    let raw = conn
        .query_row(
            &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE subdomain = ?1"),
            [subdomain.as_str()],
            tenant_row,
        )
        .optional()
        .map_err(sqlite_error)?
        .ok_or_else(|| Missing::Tenant(subdomain.clone()))?;
    tenant(raw)
}

/// The tenant, when the store has exactly one.
pub fn only_tenant(conn: &Connection) -> StoreResult<Option<Tenant>> {
    let mut statement = conn
        .prepare(&format!("SELECT {TENANT_COLUMNS} FROM tenants LIMIT 2"))
        .map_err(sqlite_error)?;
    let mut rows: Vec<_> = statement
        .query_map([], tenant_row)
        .map_err(sqlite_error)?
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    match (rows.pop(), rows.is_empty()) {
        (Some(raw), true) => tenant(raw).map(Some),
        _ => Ok(None),
    }
}

/// Moves the key revision: servers holding keys in memory drop them at their next check.
pub fn bump_key_revision(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "UPDATE revisions SET value = value + 1 WHERE name = 'api_keys'",
        [],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// Stores a new API key, its template as version 1, and moves the key revision.
pub fn create_api_key(
    conn: &Connection,
    tenant: TenantId,
    key: &NewApiKey,
) -> StoreResult<ApiKeyRecord> {
    // Whole microseconds, as stored: the key and its version 1 carry the same time.
    let now = from_micros(micros(&Utc::now()));
    conn.execute(
        "INSERT INTO api_keys (tenant_id, id, name, endpoint_type, prefix, key_hash, template,
             created_at, expires_at, secret_hash, hmac_secret_sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        rusqlite::params![
            tenant.0,
            key.id.0,
            key.name,
            key.endpoint_type.as_str(),
            key.prefix,
            &key.key_hash[..],
            key.template,
            micros(&now),
            key.expires_at.as_ref().map(micros),
            key.secret_hash.as_ref().map(|h| &h[..]),
            key.hmac_secret_sealed,
        ],
    )
    .map_err(sqlite_error)?;
    let first = TemplateVersion {
        version: 1,
        template: key.template.clone(),
        created_at: now,
        created_by: key.created_by.clone(),
    };
    crate::templates::add_version(conn, tenant, &key.id, &first)?;
    bump_key_revision(conn)?;
    api_key(conn, tenant, &key.id)
}

fn key_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<ApiKeyRecord>> {
    let endpoint_type: String = row.get(3)?;
    let hash = |i: usize| -> rusqlite::Result<Option<[u8; 32]>> {
        let bytes: Option<Vec<u8>> = row.get(i)?;
        Ok(bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()))
    };
    let Some(endpoint_type) = EndpointType::parse(&endpoint_type) else {
        return Ok(Err(StoreError::other(format!(
            "unknown endpoint type {endpoint_type:?} in store"
        ))));
    };
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Ok(ApiKeyRecord {
        tenant_id: TenantId(row.get(0)?),
        id: ApiKeyId(row.get(1)?),
        name: row.get(2)?,
        endpoint_type,
        prefix: row.get(4)?,
        template: row.get(5)?,
        created_at: from_micros(row.get(6)?),
        expires_at: time(7)?,
        revoked_at: time(8)?,
        last_used_at: time(9)?,
        secret_hash: hash(10)?,
        hmac_secret_sealed: row.get(11)?,
        template_version: row.get(12)?,
    }))
}

/// One key of the tenant; not found when the tenant has no key of that id.
pub fn api_key(conn: &Connection, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
    conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 AND id = ?2"
    ))
    .and_then(|mut s| s.query_row((tenant.0, &id.0), key_row).optional())
    .map_err(sqlite_error)?
    .ok_or_else(|| Missing::ApiKey(id.clone()))?
}

/// A tenant's API keys, newest first.
pub fn list_api_keys(conn: &Connection, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at DESC, id"
        ))
        .map_err(sqlite_error)?;
    let rows = stmt.query_map([tenant.0], key_row).map_err(sqlite_error)?;
    rows.map(|r| r.map_err(sqlite_error)?).collect()
}

/// Revokes a key (a revoked key keeps its first revocation time) and moves the key revision.
pub fn revoke_api_key(
    conn: &Connection,
    tenant: TenantId,
    id: &ApiKeyId,
) -> StoreResult<ApiKeyRecord> {
    let updated = conn
        .execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE tenant_id = ?1 AND id = ?2",
            (tenant.0, &id.0, micros(&Utc::now())),
        )
        .map_err(sqlite_error)?;
    if updated == 0 {
        return Err(Missing::ApiKey(id.clone()).into());
    }
    bump_key_revision(conn)?;
    api_key(conn, tenant, id)
}

/// The key, of any tenant, whose secret hashes to `hash`.
pub fn api_key_by_hash(conn: &Connection, hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>> {
    conn.query_row(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
        [&hash[..]],
        key_row,
    )
    .optional()
    .map_err(sqlite_error)?
    .transpose()
}

/// The key revision: it moves whenever a key is created, revoked or given a new template.
pub fn key_revision(conn: &Connection) -> StoreResult<i64> {
    conn.query_row(
        "SELECT value FROM revisions WHERE name = 'api_keys'",
        [],
        |r| r.get(0),
    )
    .map_err(sqlite_error)
}

/// Records when keys were last used; a last use never moves back.
pub fn touch_api_keys(
    conn: &Connection,
    used: &[(TenantId, ApiKeyId, DateTime<Utc>)],
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?3)
             WHERE tenant_id = ?1 AND id = ?2",
        )
        .map_err(sqlite_error)?;
    for (tenant, id, at) in used {
        stmt.execute((tenant.0, &id.0, micros(at)))
            .map_err(sqlite_error)?;
    }
    Ok(())
}
