//! Web UI users, sessions and the delivery logs of keys.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{Delivery, Session, StoreResult, User};

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

/// Appends to a key's delivery log and trims it to the newest entries kept.
pub async fn record_deliveries(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
    deliveries: &[Delivery],
) -> StoreResult<()> {
    let at: Vec<DateTime<Utc>> = deliveries.iter().map(|d| d.at).collect();
    let status: Vec<i32> = deliveries.iter().map(|d| i32::from(d.status)).collect();
    let subject: Vec<Option<&str>> = deliveries.iter().map(|d| d.subject.as_deref()).collect();
    let changed: Vec<Option<bool>> = deliveries.iter().map(|d| d.changed).collect();
    let error: Vec<Option<&str>> = deliveries.iter().map(|d| d.error.as_deref()).collect();
    let body: Vec<Option<&str>> = deliveries.iter().map(|d| d.body.as_deref()).collect();
    let sql =
        "INSERT INTO deliveries (tenant_id, key_id, at, status, subject, changed, error, body)
               SELECT $1::bigint, $2::text, a, s, j, c, e, b FROM unnest($3::timestamptz[], $4::int[], $5::text[], $6::bool[],
                   $7::text[], $8::text[]) WITH ORDINALITY AS d(a, s, j, c, e, b, n)
               ORDER BY n";
    c.execute(
        &prepared(c, sql).await?,
        &[
            &tenant.0, &key.0, &at, &status, &subject, &changed, &error, &body,
        ],
    )
    .await
    .map_err(pg_error)?;
    let trim = "DELETE FROM deliveries WHERE tenant_id = $1 AND key_id = $2 AND id <
                    (SELECT id FROM deliveries WHERE tenant_id = $1 AND key_id = $2
                     ORDER BY id DESC LIMIT 1 OFFSET $3)";
    c.execute(
        &prepared(c, trim).await?,
        &[&tenant.0, &key.0, &(Delivery::KEPT as i64 - 1)],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// A key's delivery log, newest first.
pub async fn deliveries(
    c: &impl GenericClient,
    tenant: TenantId,
    key: &ApiKeyId,
) -> StoreResult<Vec<Delivery>> {
    let sql = "SELECT at, status, subject, changed, error, body FROM deliveries
               WHERE tenant_id = $1 AND key_id = $2 ORDER BY id DESC LIMIT $3";
    let rows = c
        .query(
            &prepared(c, sql).await?,
            &[&tenant.0, &key.0, &(Delivery::KEPT as i64)],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| Delivery {
            at: r.get(0),
            status: u16::try_from(r.get::<_, i32>(1)).unwrap_or(0),
            subject: r.get(2),
            changed: r.get(3),
            error: r.get(4),
            body: r.get(5),
        })
        .collect())
}
