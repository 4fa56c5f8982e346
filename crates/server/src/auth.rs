//! Extractors that state what a handler needs to be called: `TenantAdmin` for the admin API
//! (an admin token, or the web UI's session with its CSRF token on unsafe methods).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use trailspark_core::credentials::hash_credential;
use trailspark_core::TenantId;

use crate::app::App;
use crate::error::ApiError;
use crate::keys::{BY_ADMIN_TOKEN, BY_WEB_UI};
use crate::web::{Viewer, CSRF_HEADER};

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

/// A tenant's admin: every admin handler works inside this tenant only.
///
/// SPEC §5: an admin is known by a bearer admin token, or by the web UI's session cookie.
/// The token comes first: a request with an `Authorization` header is judged by it alone. A
/// session on an unsafe method (POST, PUT, PATCH, DELETE) must also send its CSRF token in the
/// `X-CSRF-Token` header, since a browser sends the cookie with any request (403 otherwise).
#[derive(Debug, Clone, Copy)]
pub struct TenantAdmin {
    pub tenant: TenantId,
    /// How the caller proved it.
    pub via: AdminCredential,
}

/// What a [`TenantAdmin`] presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCredential {
    /// `Authorization: Bearer <admin token>`.
    Token,
    /// The web UI's session cookie.
    Session,
}

impl TenantAdmin {
    /// The author of what this admin changes, as template versions name it.
    pub fn author(&self) -> &'static str {
        match self.via {
            AdminCredential::Token => BY_ADMIN_TOKEN,
            AdminCredential::Session => BY_WEB_UI,
        }
    }

    async fn by_token(app: &App, token: &str) -> Result<Self, ApiError> {
        let hash = hash_credential(token);
        let tenant = match app.admin_tokens.get(&hash) {
            Some(tenant) => tenant,
            None => {
                let tenant = app
                    .store
                    .tenant_by_admin_token(&hash)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                app.admin_tokens.remember(hash, tenant);
                tenant
            }
        };
        Ok(Self {
            tenant,
            via: AdminCredential::Token,
        })
    }

    async fn by_session(parts: &Parts, app: &App) -> Result<Self, ApiError> {
        let viewer = Viewer::of(&parts.headers, app)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if !parts.method.is_safe() {
            let presented = parts.headers.get(CSRF_HEADER).map(|v| v.to_str());
            match presented {
                None => return Err(ApiError::CsrfToken { sent: false }),
                Some(Ok(token)) if viewer.csrf_ok(token) => {}
                Some(_) => return Err(ApiError::CsrfToken { sent: true }),
            }
        }
        Ok(Self {
            tenant: viewer.tenant,
            via: AdminCredential::Session,
        })
    }
}

impl FromRequestParts<App> for TenantAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let Some(authorization) = parts.headers.get(AUTHORIZATION) else {
            return Self::by_session(parts, app).await;
        };
        let token = authorization
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        Self::by_token(app, token).await
    }
}
