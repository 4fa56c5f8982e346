//! Web UI users, sessions and the delivery logs of keys: plain rows, written through the writer and read on a read
//! connection.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use trailspark_core::TenantId;
use trailspark_store::{Session, StoreResult, User};

use crate::db::{from_micros, micros, sqlite_error};

/// Creates a web UI user of a tenant.
pub fn create_user(
    conn: &Connection,
    tenant: TenantId,
    email: &str,
    password_hash: &str,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO users (tenant_id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        (tenant.0, email, password_hash, micros(&Utc::now())),
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// A tenant's web UI user, by email.
pub fn user(conn: &Connection, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
    conn.query_row(
        "SELECT email, password_hash, created_at FROM users WHERE tenant_id = ?1 AND email = ?2",
        (tenant.0, email),
        |r| {
            Ok(User {
                tenant,
                email: r.get(0)?,
                password_hash: r.get(1)?,
                created_at: from_micros(r.get(2)?),
            })
        },
    )
    .optional()
    .map_err(sqlite_error)
}

/// Web UI users, of all tenants.
pub fn count_users(conn: &Connection) -> StoreResult<i64> {
    conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .map_err(sqlite_error)
}

/// Starts a web UI session, and deletes the expired ones.
pub fn create_session(
    conn: &Connection,
    tenant: TenantId,
    email: &str,
    token_hash: &[u8; 32],
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let now = Utc::now();
    // Expired sessions go when new ones come: the table holds only live ones and a few more.
    conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [micros(&now)])
        .map_err(sqlite_error)?;
    conn.execute(
        "INSERT INTO sessions (tenant_id, token_hash, email, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            tenant.0,
            &token_hash[..],
            email,
            micros(&now),
            micros(&expires_at),
        ),
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// The session whose token hashes to `token_hash`, unless it expired by `now`.
pub fn session(
    conn: &Connection,
    token_hash: &[u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<Option<Session>> {
    conn.query_row(
        "SELECT tenant_id, email, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        (&token_hash[..], micros(&now)),
        |r| {
            Ok(Session {
                tenant: TenantId(r.get(0)?),
                email: r.get(1)?,
                expires_at: from_micros(r.get(2)?),
            })
        },
    )
    .optional()
    .map_err(sqlite_error)
}

/// Ends a session.
pub fn delete_session(conn: &Connection, token_hash: &[u8; 32]) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [&token_hash[..]],
    )
    .map_err(sqlite_error)?;
    Ok(())
}
