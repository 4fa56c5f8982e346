//! Extractors that state what a handler needs to be called.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use trailspark_core::credentials::hash_credential;
use trailspark_core::TenantId;

use crate::app::App;
use crate::error::ApiError;

/// A caller holding an admin token: every admin handler works inside this tenant only.
#[derive(Debug, Clone, Copy)]
pub struct TenantAdmin {
    pub tenant: TenantId,
}

impl FromRequestParts<App> for TenantAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let tenant = app
            .store
            .tenant_by_admin_token(&hash_credential(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self { tenant })
    }
}
