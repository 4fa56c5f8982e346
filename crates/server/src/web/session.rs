//! Sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure behind https, and
//! named with the `__Host-` prefix under an https `--public-url`), only its SHA-256 in the store. Every form carries a CSRF token derived from the session token
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

/// The cookie holding a signed-in browser's session token (`__Host-` before it under an https
/// `--public-url`, see `cookie_name`).
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
        let Some(token) = cookie(app, headers, SESSION_COOKIE) else {
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
    /// The token the form was drawn with. Absent (a form forged elsewhere) it is empty, so
    /// that the answer is the 403 of a wrong token, not a 422 about the form's shape.
    #[serde(default)]
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

/// The non-empty value of this service's cookie `name` (by its name under `app`'s settings,
/// see [`cookie_name`]).
pub fn cookie(app: &App, headers: &HeaderMap, name: &str) -> Option<String> {
    let name = cookie_name(app, name);
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

/// Whether the browser came over https: as `--public-url` says when it is set, else as a
/// proxy's `X-Forwarded-Proto` says.
pub fn secure(app: &App, headers: &HeaderMap) -> bool {
    match &app.public_url {
        Some(url) => url.is_https(),
        None => headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https")),
    }
}

/// The name cookie `name` goes by. Under an https public URL, `__Host-name`: browsers take
/// such a cookie only when it is Secure, for `Path=/` and without `Domain`, so no sibling
/// subdomain or plain-http page can plant one (a planted sign-in cookie would fix its CSRF
/// token). Only with the setting: a name that followed each request's `X-Forwarded-Proto`
/// would change between two requests of one browser.
fn cookie_name(app: &App, name: &str) -> String {
    match &app.public_url {
        Some(url) if url.is_https() => format!("__Host-{name}"),
        _ => name.to_owned(),
    }
}

/// A `Set-Cookie` value for this service's cookie `name` (see [`cookie_name`]), Secure when
/// the browser came over https; `max_age` 0 deletes it.
pub fn set_cookie(
    app: &App,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if secure(app, headers) { "; Secure" } else { "" };
    let name = cookie_name(app, name);
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

/// Signs `email` in: a new session, its cookie, and on to the overview.
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
    let mut response = Redirect::to("/").into_response();
    let out = response.headers_mut();
    out.append(
        header::SET_COOKIE,
        set_cookie(app, headers, SESSION_COOKIE, &token, SESSION_HOURS * 3600),
    );
    out.append(
        header::SET_COOKIE,
        set_cookie(app, headers, LOGIN_COOKIE, "", 0),
    );
    response
}
