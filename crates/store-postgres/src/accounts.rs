//! Tenants and API keys.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trailspark_core::{ApiKeyId, EndpointType, Subdomain, TenantId};
use trailspark_store::{
    ApiKeyRecord, Missing, NewApiKey, StoreError, StoreResult, TemplateVersion, Tenant,
};

use crate::db::{pg_error, prepared};

const TENANT_COLUMNS: &str = "id, subdomain, name, created_at";
/// The columns of an [`ApiKeyRecord`], in the order [`key`] reads them.
pub const KEY_COLUMNS: &str = "tenant_id, id, name, endpoint_type, prefix, template, created_at, \
     expires_at, revoked_at, last_used_at, secret_hash, hmac_secret_sealed, template_version";

fn tenant(row: &Row) -> StoreResult<Tenant> {
    let subdomain: String = row.get(1);
    Ok(Tenant {
        id: TenantId(row.get(0)),
        subdomain: Subdomain::parse(&subdomain)
            .map_err(|e| StoreError::other("corrupt subdomain in store").caused_by(e))?,
        name: row.get(2),
        created_at: row.get(3),
    })
}

/// Creates a tenant; a subdomain already taken is a conflict.
pub async fn create_tenant(
    c: &impl GenericClient,
    subdomain: &Subdomain,
    name: &str,
) -> StoreResult<Tenant> {
    let row = c
        .query_one(&prepared(c, &format!("INSERT INTO tenants (subdomain, name, created_at) VALUES ($1, $2, $3) RETURNING {TENANT_COLUMNS}")).await?,
            &[&subdomain.as_str(), &name, &Utc::now()],
        )
        .await
        .map_err(|e| match pg_error(e) {
            StoreError::Conflict { .. } => StoreError::conflict(format!("the subdomain {subdomain} is already taken")),
            other => other,
        })?;
    tenant(&row)
}

/// Creates the `default` tenant if there is no tenant yet.
pub async fn create_default_tenant_if_empty(c: &impl GenericClient) -> StoreResult<Option<Tenant>> {
    // Two instances starting on an empty database: the lock makes only one create `default`.
    c.execute(
        &prepared(c, "LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE").await?,
        &[],
    )
    .await
    .map_err(pg_error)?;
    let any: bool = c
        .query_one(
            &prepared(c, "SELECT EXISTS (SELECT 1 FROM tenants)").await?,
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    if any {
        return Ok(None);
    }
    let subdomain = Subdomain::parse("default").expect("`default` is a valid subdomain");
    create_tenant(c, &subdomain, "Default").await.map(Some)
}

/// The tenant with this subdomain.
pub async fn tenant_by_subdomain(
    c: &impl GenericClient,
    subdomain: &Subdomain,
) -> StoreResult<Tenant> {
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE subdomain = $1"),
            )
            .await?,
            &[&subdomain.as_str()],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::Tenant(subdomain.clone()))?;
    tenant(&row)
}

/// The tenant, when the store has exactly one.
pub async fn only_tenant(c: &impl GenericClient) -> StoreResult<Option<Tenant>> {
    let rows = c
        .query(
            &prepared(c, &format!("SELECT {TENANT_COLUMNS} FROM tenants LIMIT 2")).await?,
            &[],
        )
        .await
        .map_err(pg_error)?;
    match rows.as_slice() {
        [one] => tenant(one).map(Some),
        _ => Ok(None),
    }
}

/// Moves the key revision: servers holding keys in memory drop them at their next check.
pub async fn bump_key_revision(c: &impl GenericClient) -> StoreResult<()> {
    c.execute(
        &prepared(
            c,
            "UPDATE revisions SET value = value + 1 WHERE name = 'api_keys'",
        )
        .await?,
        &[],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// A key row (of [`KEY_COLUMNS`]) as the store's record.
pub fn key(row: &Row) -> StoreResult<ApiKeyRecord> {
    let endpoint_type: String = row.get(3);
    let endpoint_type = EndpointType::parse(&endpoint_type).ok_or_else(|| {
        StoreError::other(format!("unknown endpoint type {endpoint_type:?} in store"))
    })?;
    let hash = |i: usize| -> Option<[u8; 32]> {
        row.get::<_, Option<Vec<u8>>>(i)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
    };
    Ok(ApiKeyRecord {
        tenant_id: TenantId(row.get(0)),
        id: ApiKeyId(row.get(1)),
        name: row.get(2),
        endpoint_type,
        prefix: row.get(4),
        template: row.get(5),
        created_at: row.get(6),
        expires_at: row.get(7),
        revoked_at: row.get(8),
        last_used_at: row.get(9),
        secret_hash: hash(10),
        hmac_secret_sealed: row.get(11),
        template_version: row.get(12),
    })
}

/// Stores a new API key of the tenant, its template as version 1.
pub async fn create_api_key(
    c: &impl GenericClient,
    tenant: TenantId,
    k: &NewApiKey,
) -> StoreResult<ApiKeyRecord> {
    let row = c
        .query_one(&prepared(c, &format!(
                "INSERT INTO api_keys (tenant_id, id, name, endpoint_type, prefix, key_hash, template,
                     created_at, expires_at, secret_hash, hmac_secret_sealed)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {KEY_COLUMNS}"
            )).await?,
            &[
                &tenant.0,
                &k.id.0,
                &k.name,
                &k.endpoint_type.as_str(),
                &k.prefix,
                &&k.key_hash[..],
                &k.template,
                &Utc::now(),
                &k.expires_at,
                &k.secret_hash.as_ref().map(|h| &h[..]),
                &k.hmac_secret_sealed,
            ],
        )
        .await
        .map_err(pg_error)?;
    let created = key(&row)?;
    let first = TemplateVersion {
        version: 1,
        template: created.template.clone(),
        created_at: created.created_at,
        created_by: k.created_by.clone(),
    };
    crate::templates::add_version(c, tenant, &created.id, &first).await?;
    bump_key_revision(c).await?;
    Ok(created)
}

/// One API key of the tenant; not found when the tenant has no key of that id.
pub async fn api_key(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ApiKeyId,
) -> StoreResult<ApiKeyRecord> {
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2"),
            )
            .await?,
            &[&tenant.0, &id.0],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::ApiKey(id.clone()))?;
    key(&row)
}

/// The tenant's API keys, newest first.
pub async fn list_api_keys(
    c: &impl GenericClient,
    tenant: TenantId,
) -> StoreResult<Vec<ApiKeyRecord>> {
    let rows = c
        .query(&prepared(c, &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id")).await?,  &[&tenant.0])
        .await
        .map_err(pg_error)?;
    rows.iter().map(key).collect()
}

/// Revokes an API key of the tenant (revoking again keeps the first time).
pub async fn revoke_api_key(
    c: &impl GenericClient,
    tenant: TenantId,
    id: &ApiKeyId,
) -> StoreResult<ApiKeyRecord> {
    let row = c
        .query_opt(&prepared(c, &format!(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2
                 RETURNING {KEY_COLUMNS}"
            )).await?,
            &[&tenant.0, &id.0, &Utc::now()],
        )
        .await
        .map_err(pg_error)?
        .ok_or_else(|| Missing::ApiKey(id.clone()))?;
    bump_key_revision(c).await?;
    key(&row)
}

/// The API key with this hash, if any.
pub async fn api_key_by_hash(
    c: &impl GenericClient,
    hash: &[u8; 32],
) -> StoreResult<Option<ApiKeyRecord>> {
    let row = c
        .query_opt(
            &prepared(
                c,
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"),
            )
            .await?,
            &[&&hash[..]],
        )
        .await
        .map_err(pg_error)?;
    row.as_ref().map(key).transpose()
}

/// The revision of the API keys, bumped whenever a key is created, revoked or given a new
/// template.
pub async fn key_revision(c: &impl GenericClient) -> StoreResult<i64> {
    Ok(c.query_one(
        &prepared(c, "SELECT value FROM revisions WHERE name = 'api_keys'").await?,
        &[],
    )
    .await
    .map_err(pg_error)?
    .get(0))
}

/// Moves the last-used time of each key forward (never back).
pub async fn touch_api_keys(
    c: &impl GenericClient,
    used: &[(TenantId, ApiKeyId, DateTime<Utc>)],
) -> StoreResult<()> {
    for (tenant, id, at) in used {
        c.execute(
            &prepared(
                c,
                "UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, $3), $3)
             WHERE tenant_id = $1 AND id = $2",
            )
            .await?,
            &[&tenant.0, &id.0, at],
        )
        .await
        .map_err(pg_error)?;
    }
    Ok(())
}
