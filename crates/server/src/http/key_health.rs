//! Admin API: a key's health over its last 24 hours (SPEC §6 "Key health"), computed by
//! [`trailspark_store::key_health`] as the CLI and the key's web page compute it. Tenant-scoped
//! by the admin's credential: another tenant's key is simply not found.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use trailspark_core::ApiKeyId;
use trailspark_store::KeyHealth;

use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;

/// Routes of key health.
pub fn router() -> Router<App> {
    Router::new().route("/api/admin/api-keys/{key_id}/health", get(health))
}

async fn health(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(key_id): Path<String>,
) -> Result<Json<KeyHealth>, ApiError> {
    let key = app.store.api_key(admin.tenant, &ApiKeyId(key_id)).await?;
    let health = trailspark_store::key_health(app.store.as_ref(), &key, Utc::now()).await?;
    Ok(Json(health))
}
