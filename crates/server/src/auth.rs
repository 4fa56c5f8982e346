//! Extractors that state what a handler needs to be called: `TenantAdmin` for the admin API
//! (an admin token, or the web UI's session with its CSRF token on unsafe methods).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use trailspark_core::credentials::hash_credential;
use trailspark_core::TenantId;
use trailspark_store::{AdminToken, AdminTokenStatus};

use crate::app::App;
use crate::error::ApiError;
use crate::keys::{BY_ADMIN_TOKEN, BY_WEB_UI};
use crate::web::{Viewer, CSRF_HEADER};

/// Admin tokens found in the store, by hash, so that an admin request (a lead-scoring model
/// reading evaluation contexts, say) does not read the store at every call. A token is
/// revoked by another process (the CLI), so an entry is trusted for one key refresh interval
/// from the moment its store read began, then read again: every instance stops taking a
/// revoked token within that interval, as it drops a revoked API key. Its expiry, known, is
/// checked at every request. Tokens not found are not remembered.
pub struct AdminTokens {
    found: std::sync::RwLock<HashMap<[u8; 32], Found>>,
    recheck_after: Duration,
}

/// A token as found in the store, and when that read began.
struct Found {
    token: AdminToken,
    read_at: Instant,
}

/// Past this many remembered tokens the cache starts over.
const MAX_ADMIN_TOKENS: usize = 10_000;

impl AdminTokens {
    /// An empty cache whose entries are read again after `recheck_after` (the server's key
    /// refresh interval).
    pub fn new(recheck_after: Duration) -> Self {
        Self {
            found: std::sync::RwLock::default(),
            recheck_after,
        }
    }

    /// The token, if it was read from the store less than `recheck_after` ago.
    fn fresh(&self, hash: &[u8; 32]) -> Option<AdminToken> {
        let found = self.found.read().expect("admin token lock");
        let entry = found.get(hash)?;
        (entry.read_at.elapsed() < self.recheck_after).then(|| entry.token.clone())
    }

    fn remember(&self, hash: [u8; 32], token: AdminToken, read_at: Instant) {
        let mut found = self.found.write().expect("admin token lock");
        if found.len() >= MAX_ADMIN_TOKENS {
            found.clear();
        }
        found.insert(hash, Found { token, read_at });
    }

    fn forget(&self, hash: &[u8; 32]) {
        self.found.write().expect("admin token lock").remove(hash);
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
        let known = match app.admin_tokens.fresh(&hash) {
            Some(token) => token,
            None => Self::read_token(app, hash).await?,
        };
        // The expiry is known: honoured to the request, however fresh the entry.
        if known.status_at(Utc::now()) != AdminTokenStatus::Active {
            return Err(ApiError::Unauthorized);
        }
        Ok(Self {
            tenant: known.tenant_id,
            via: AdminCredential::Token,
        })
    }

    /// Reads a token from the store (none, or a revoked one: 401 like an unknown token) and
    /// remembers a live one. Its last use is recorded here, once per read rather than per
    /// request: exact to the refresh interval, and no write on the admin API's every call.
    async fn read_token(app: &App, hash: [u8; 32]) -> Result<AdminToken, ApiError> {
        let read_at = Instant::now();
        let now = Utc::now();
        let found = app.store.admin_token_by_hash(&hash).await?;
        let Some(token) = found.filter(|t| t.status_at(now) == AdminTokenStatus::Active) else {
            app.admin_tokens.forget(&hash);
            return Err(ApiError::Unauthorized);
        };
        if let Err(e) = app
            .store
            .touch_admin_token(token.tenant_id, &token.id, now)
            .await
        {
            tracing::warn!(error = %e.chain(), token = %token.id, "could not record an admin token's last use");
        }
        app.admin_tokens.remember(hash, token.clone(), read_at);
        Ok(token)
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
