//! Sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure behind https), only
//! its SHA-256 in the store. Every form carries a CSRF token derived from the session token
//! (the sign-in form: from a cookie of its own), checked on every POST. The admin API takes the
//! same session, its CSRF token in the `X-CSRF-Token` header (see `crate::auth`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use trailspark_core::credentials::hash_credential;
use trailspark_core::TenantId;

use super::layout::page;
use crate::app::App;
use crate::error::ApiError;

/// The cookie holding a signed-in browser's session token.
pub const SESSION_COOKIE: &str = "ts_session";
/// The cookie holding the sign-in form's CSRF token (there is no session yet to derive it from).
pub const LOGIN_COOKIE: &str = "ts_login";
/// The header in which the admin API takes a session's CSRF token on unsafe methods (a form
/// sends it as its `csrf` field instead).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
const SESSION_HOURS: i64 = 12;

/// The signed-in person of a request; pages that need one redirect to the sign-in form.
pub struct Viewer {
    /// The tenant signed in to.
    pub tenant: TenantId,
    /// Who signed in.
    pub email: String,
    /// The CSRF token this session's forms carry.
    pub csrf: String,
    /// SHA-256 of the session token, the session's key in the store.
    pub token_hash: [u8; 32],
}

impl FromRequestParts<App> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        match Self::of(&parts.headers, app).await {
            Ok(Some(viewer)) => Ok(viewer),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl Viewer {
    /// The signed-in person of a request's session cookie; `None` without the cookie, or when
    /// its session is unknown or expired. The one reading of sessions, for the pages and the
    /// admin API alike.
    pub async fn of(headers: &HeaderMap, app: &App) -> Result<Option<Self>, ApiError> {
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let token_hash = hash_credential(&token);
        let session = app.store.session(&token_hash, Utc::now()).await?;
        Ok(session.map(|session| Self {
            tenant: session.tenant,
            email: session.email,
            csrf: csrf_for(&token),
            token_hash,
        }))
    }

    /// Whether a form's (or an API call's) CSRF token is this session's.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        same(presented, &self.csrf)
    }
}

/// A form whose only field is its CSRF token (sign-out, revoke).
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The token the form was drawn with.
    pub csrf: String,
}

/// The answer to a form whose CSRF token is not the expected one.
pub fn forbidden() -> Response {
    let body = page(
        "Form expired",
        None,
        html! { p { "This form has expired or did not come from this site. Go back, reload the page and try again." } },
    );
    (StatusCode::FORBIDDEN, body).into_response()
}

/// The CSRF token of the forms shown with session (or setup) token `token`.
pub fn csrf_for(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{token}").as_bytes())[..16])
}

/// Whether two secrets are equal.
pub fn same(a: &str, b: &str) -> bool {
    // Digests compare in the same time whatever the inputs share.
    hash_credential(a) == hash_credential(b)
}

/// The non-empty value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the browser came over https (directly or through a proxy that says so).
pub fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for cookie `name`; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are ASCII")
}

/// 32 random bytes as hex: session tokens, CSRF tokens of the sign-in form, setup links.
pub(crate) fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Signs `email` in: a new session, its cookie, and on to the API keys.
pub async fn start_session(
    app: &App,
    tenant: TenantId,
    email: &str,
    headers: &HeaderMap,
) -> Response {
    let token = random_token();
    let expires = Utc::now() + Duration::hours(SESSION_HOURS);
    if let Err(e) = app
        .store
        .create_session(tenant, email, &hash_credential(&token), expires)
        .await
    {
        return ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/settings/api-keys").into_response();
    let out = response.headers_mut();
    out.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            SESSION_HOURS * 3600,
            secure(headers),
        ),
    );
    out.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", 0, secure(headers)),
    );
    response
}
