//! Web UI users and their sessions.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_core::TenantId;
use trailspark_store::{Session, StoreResult, User};

use crate::db::{pg_error, prepared};

/// Creates a web UI user of the tenant.
pub async fn create_user(
    c: &impl GenericClient,
    tenant: TenantId,
    email: &str,
    password_hash: &str,
) -> StoreResult<()> {
    let sql =
        "INSERT INTO users (tenant_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)";
    c.execute(
        &prepared(c, sql).await?,
        &[&tenant.0, &email, &password_hash, &Utc::now()],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// The tenant's web UI user with this email, if any.
pub async fn user(
    c: &impl GenericClient,
    tenant: TenantId,
    email: &str,
) -> StoreResult<Option<User>> {
    let sql =
        "SELECT email, password_hash, created_at FROM users WHERE tenant_id = $1 AND email = $2";
    let row = c
        .query_opt(&prepared(c, sql).await?, &[&tenant.0, &email])
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| User {
        tenant,
        email: r.get(0),
        password_hash: r.get(1),
        created_at: r.get(2),
    }))
}

/// How many web UI users there are, across tenants.
pub async fn count_users(c: &impl GenericClient) -> StoreResult<i64> {
    let row = c
        .query_one(&prepared(c, "SELECT COUNT(*) FROM users").await?, &[])
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

/// Starts a web UI session, deleting expired ones on the way.
pub async fn create_session(
    c: &impl GenericClient,
    tenant: TenantId,
    email: &str,
    token_hash: &[u8; 32],
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let now = Utc::now();
    // Expired sessions go when new ones come: the table holds only live ones and a few more.
    c.execute(
        &prepared(c, "DELETE FROM sessions WHERE expires_at < $1").await?,
        &[&now],
    )
    .await
    .map_err(pg_error)?;
    let sql = "INSERT INTO sessions (tenant_id, token_hash, email, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5)";
    c.execute(
        &prepared(c, sql).await?,
        &[&tenant.0, &&token_hash[..], &email, &now, &expires_at],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// The live session with this token hash, if any.
pub async fn session(
    c: &impl GenericClient,
    token_hash: &[u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<Option<Session>> {
    let sql = "SELECT tenant_id, email, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2";
    let row = c
        .query_opt(&prepared(c, sql).await?, &[&&token_hash[..], &now])
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| Session {
        tenant: TenantId(r.get(0)),
        email: r.get(1),
        expires_at: r.get(2),
    }))
}

/// Ends the session with this token hash.
pub async fn delete_session(c: &impl GenericClient, token_hash: &[u8; 32]) -> StoreResult<()> {
    c.execute(
        &prepared(c, "DELETE FROM sessions WHERE token_hash = $1").await?,
        &[&&token_hash[..]],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}
