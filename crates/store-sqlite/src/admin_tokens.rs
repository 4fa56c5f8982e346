//! Admin tokens: written through the writer, read on a read connection. A row holds the
//! token's SHA-256, never the token, and nothing read from here carries the hash.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use trailspark_core::{AdminTokenId, TenantId};
use trailspark_store::{AdminToken, Missing, NewAdminToken, StoreResult};

use crate::db::{from_micros, micros, sqlite_error};

const COLUMNS: &str = "tenant_id, id, name, created_at, expires_at, revoked_at, last_used_at";

fn token_row(row: &Row<'_>) -> rusqlite::Result<AdminToken> {
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(AdminToken {
        tenant_id: TenantId(row.get(0)?),
        id: AdminTokenId(row.get(1)?),
        name: row.get(2)?,
        created_at: from_micros(row.get(3)?),
        expires_at: time(4)?,
        revoked_at: time(5)?,
        last_used_at: time(6)?,
    })
}

/// Stores a new admin token of the tenant.
pub fn create(
    conn: &Connection,
    tenant: TenantId,
    token: &NewAdminToken,
) -> StoreResult<AdminToken> {
    conn.execute(
        "INSERT INTO admin_tokens (tenant_id, token_hash, id, name, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            tenant.0,
            &token.token_hash[..],
            token.id.0,
            token.name,
            micros(&Utc::now()),
            token.expires_at.as_ref().map(micros),
        ],
    )
    .map_err(sqlite_error)?;
    one(conn, tenant, &token.id)
}

/// One token of the tenant; not found when the tenant has none of that id.
fn one(conn: &Connection, tenant: TenantId, id: &AdminTokenId) -> StoreResult<AdminToken> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM admin_tokens WHERE tenant_id = ?1 AND id = ?2"
    ))
    .and_then(|mut s| s.query_row((tenant.0, &id.0), token_row).optional())
    .map_err(sqlite_error)?
    .ok_or_else(|| Missing::AdminToken(id.clone()).into())
}

/// The tenant's tokens, newest first.
pub fn list(conn: &Connection, tenant: TenantId) -> StoreResult<Vec<AdminToken>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM admin_tokens WHERE tenant_id = ?1
             ORDER BY created_at DESC, id"
        ))
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map([tenant.0], token_row)
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Revokes a token of the tenant; a revoked token keeps its first revocation time.
pub fn revoke(conn: &Connection, tenant: TenantId, id: &AdminTokenId) -> StoreResult<AdminToken> {
    let updated = conn
        .execute(
            "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, ?3)
             WHERE tenant_id = ?1 AND id = ?2",
            (tenant.0, &id.0, micros(&Utc::now())),
        )
        .map_err(sqlite_error)?;
    if updated == 0 {
        return Err(Missing::AdminToken(id.clone()).into());
    }
    one(conn, tenant, id)
}

/// The token, of any tenant, whose hash is `hash`.
pub fn by_hash(conn: &Connection, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM admin_tokens WHERE token_hash = ?1"
    ))
    .and_then(|mut s| s.query_row([&hash[..]], token_row).optional())
    .map_err(sqlite_error)
}

/// Records a token's use at `at`; a last use never moves back.
pub fn touch(
    conn: &Connection,
    tenant: TenantId,
    id: &AdminTokenId,
    at: &DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE admin_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?3)
         WHERE tenant_id = ?1 AND id = ?2",
        (tenant.0, &id.0, micros(at)),
    )
    .map_err(sqlite_error)?;
    Ok(())
}
