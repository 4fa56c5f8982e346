//! Extractors that state what a handler needs to be called.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use trailspark_core::credentials::hash_credential;
use trailspark_core::TenantId;

use crate::app::App;
use crate::error::ApiError;

/// Admin tokens found in the store, by hash, so an admin request (a lead-scoring model reading
/// evaluation contexts, say) does not read the store to authenticate. Only found tokens are
/// kept: a token cannot be revoked (there is no command for it), so what was found stays true;
/// a revocation, if one comes, must forget it here too.
#[derive(Default)]
pub struct AdminTokens {
    found: std::sync::RwLock<std::collections::HashMap<[u8; 32], TenantId>>,
}

/// Past this many remembered tokens the cache starts over.
const MAX_ADMIN_TOKENS: usize = 10_000;

impl AdminTokens {
    fn get(&self, hash: &[u8; 32]) -> Option<TenantId> {
        self.found
            .read()
            .expect("admin token lock")
            .get(hash)
            .copied()
    }

    fn remember(&self, hash: [u8; 32], tenant: TenantId) {
        let mut found = self.found.write().expect("admin token lock");
        if found.len() >= MAX_ADMIN_TOKENS {
            found.clear();
        }
        found.insert(hash, tenant);
    }
}

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
        let hash = hash_credential(token);
        if let Some(tenant) = app.admin_tokens.get(&hash) {
            return Ok(Self { tenant });
        }
        let tenant = app
            .store
            .tenant_by_admin_token(&hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        app.admin_tokens.remember(hash, tenant);
        Ok(Self { tenant })
    }
}
