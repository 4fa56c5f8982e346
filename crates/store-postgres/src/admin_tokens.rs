//! Admin tokens. A row holds the token's SHA-256, never the token, and nothing read from here
//! carries the hash.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trailspark_core::{AdminTokenId, TenantId};
use trailspark_store::{AdminToken, Missing, NewAdminToken, StoreResult};

use crate::db::{pg_error, prepared};

const COLUMNS: &str = "tenant_id, id, name, created_at, expires_at, revoked_at, last_used_at";

fn token(row: &Row) -> AdminToken {
    AdminToken {
        tenant_id: TenantId(row.get(0)),
        id: AdminTokenId(row.get(1)),
        name: row.get(2),
        created_at: row.get(3),
        expires_at: row.get(4),
        revoked_at: row.get(5),
        last_used_at: row.get(6),
    }
}

/// Stores a new admin token of the tenant.
pub async fn create(
    c: &impl GenericClient,
    tenant: TenantId,
    t: &NewAdminToken,
) -> StoreResult<AdminToken> {
    let sql = format!(
        "INSERT INTO admin_tokens (tenant_id, token_hash, id, name, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let row = c
        .query_one(
            &prepared(c, &sql).await?,
            &[
                &tenant.0,
                &&t.token_hash[..],
                &t.id.0,
                &t.name,
                &Utc::now(),
                &t.expires_at,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(token(&row))
}

/// The tenant's tokens, newest first.
pub async fn list(c: &impl GenericClient, tenant: TenantId) -> StoreResult<Vec<AdminToken>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM admin_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id"
    );
    let rows = c
        .query(&prepared(c, &sql).await?, &[&tenant.0])
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(token).collect())
}

/// Revokes a token of the tenant; a revoked token keeps its first revocation time.
pub async fn revoke(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &AdminTokenId,
) -> StoreResult<AdminToken> {
    let sql = format!(
        "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, $3)
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let row = c
        .query_opt(&prepared(c, &sql).await?, &[&tenant.0, &id.0, &Utc::now()])
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::AdminToken(id.clone()))?;
    Ok(token(&row))
}

/// The token, of any tenant, whose hash is `hash`.
pub async fn by_hash(c: &impl GenericClient, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
    let sql = format!("SELECT {COLUMNS} FROM admin_tokens WHERE token_hash = $1");
    let row = c
        .query_opt(&prepared(c, &sql).await?, &[&&hash[..]])
        .await
        .map_err(pg_error)?;
    Ok(row.as_ref().map(token))
}

/// Records a token's use at `at`; a last use never moves back.
pub async fn touch(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &AdminTokenId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    c.execute(
        &prepared(
            c,
            "UPDATE admin_tokens SET last_used_at = GREATEST(COALESCE(last_used_at, $3), $3)
             WHERE tenant_id = $1 AND id = $2",
        )
        .await?,
        &[&tenant.0, &id.0, &at],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}
