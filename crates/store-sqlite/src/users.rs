//! Web UI users, sessions and the delivery logs of keys: plain rows, written through the writer and read on a read
//! connection.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{Delivery, Session, StoreResult, User};

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

/// Appends to a key's delivery log, which keeps its last [`Delivery::KEPT`] deliveries.
pub fn record_deliveries(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    deliveries: &[Delivery],
) -> StoreResult<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO deliveries (tenant_id, key_id, at, status, subject, changed, error, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sqlite_error)?;
    for d in deliveries {
        insert
            .execute((
                tenant.0,
                &key.0,
                micros(&d.at),
                d.status,
                &d.subject,
                d.changed,
                &d.error,
                &d.body,
            ))
            .map_err(sqlite_error)?;
    }
    conn.execute(
        "DELETE FROM deliveries WHERE tenant_id = ?1 AND key_id = ?2 AND id <
             (SELECT id FROM deliveries WHERE tenant_id = ?1 AND key_id = ?2
              ORDER BY id DESC LIMIT 1 OFFSET ?3)",
        (tenant.0, &key.0, Delivery::KEPT as i64 - 1),
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// A key's delivery log, newest first.
pub fn deliveries(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
) -> StoreResult<Vec<Delivery>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT at, status, subject, changed, error, body FROM deliveries
             WHERE tenant_id = ?1 AND key_id = ?2 ORDER BY id DESC LIMIT ?3",
        )
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map((tenant.0, &key.0, Delivery::KEPT as i64), |r| {
            Ok(Delivery {
                at: from_micros(r.get(0)?),
                status: r.get(1)?,
                subject: r.get(2)?,
                changed: r.get(3)?,
                error: r.get(4)?,
                body: r.get(5)?,
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}
