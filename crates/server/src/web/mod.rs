//! The web UI (SPEC §1 "Web UI"): server-rendered pages, plain HTML forms that work without
//! JavaScript. Sign-in by tenant, email and password; then Settings > API Keys (list, create a
//! key shown once, revoke) and Settings > Org Management (target orgs, their product orgs with
//! every field, change history, linked leads, a lead's evaluation context).
//!
//! Sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure behind https), only
//! its SHA-256 in the store. Every form carries a CSRF token derived from the session token
//! (the sign-in form: from a cookie of its own), checked on every POST.

use std::num::NonZeroU32;

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use trailspark_core::credentials::{
    hash_credential, hash_password, password_matches, MIN_PASSWORD_LEN,
};
use trailspark_core::template::Preset;
use trailspark_core::update::format_timestamp;
use trailspark_core::{
    ApiKeyId, EndpointType, LeadId, ProductOrgId, Subdomain, TargetOrgId, TenantId,
};
use trailspark_store::{ApiKeyRecord, PageRequest, SearchQuery, StoreError};

use crate::app::App;
use crate::error::ApiError;
use crate::http::admin::{history_json, product_org_json};
use crate::http::leads::{evaluation_context_json, lead_json};
use crate::http::target_orgs::target_org_json;
use crate::keys::{create_api_key, KeyRequest};

mod builder;

use builder::Builder;

const SESSION_COOKIE: &str = "ts_session";
const LOGIN_COOKIE: &str = "ts_login";
const SESSION_HOURS: i64 = 12;

/// Sign-in attempts allowed per tenant and email (and per client), per minute.
pub fn login_limiter() -> DefaultKeyedRateLimiter<[u8; 32]> {
    let per_minute = NonZeroU32::new(10).expect("10 is not zero");
    RateLimiter::keyed(Quota::per_minute(per_minute))
}

/// Routes of the web UI.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
        .route("/settings/api-keys", get(api_keys).post(create_key))
        .route(
            "/settings/api-keys/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
        .route("/settings/api-keys/{id}/deliveries", get(deliveries))
        .route("/settings/orgs", get(target_orgs))
        .route("/settings/orgs/{id}", get(target_org))
        .route("/settings/product-orgs/{id}", get(product_org))
        .route("/settings/leads/{id}", get(lead))
}

/// The signed-in person of a request; pages that need one redirect to the sign-in form.
struct Viewer {
    tenant: TenantId,
    email: String,
    csrf: String,
    token_hash: [u8; 32],
}

impl FromRequestParts<App> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let token_hash = hash_credential(&token);
        match app.store.session(&token_hash, Utc::now()).await {
            Ok(Some(session)) => Ok(Self {
                tenant: session.tenant,
                email: session.email,
                csrf: csrf_for(&token),
                token_hash,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

impl Viewer {
    /// Whether a form's CSRF token is this session's.
    fn csrf_ok(&self, presented: &str) -> bool {
        same(presented, &self.csrf)
    }
}

fn forbidden() -> Response {
    let body = page(
        "Form expired",
        None,
        html! { p { "This form has expired or did not come from this site. Go back, reload the page and try again." } },
    );
    (StatusCode::FORBIDDEN, body).into_response()
}

fn csrf_for(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{token}").as_bytes())[..16])
}

fn same(a: &str, b: &str) -> bool {
    // Digests compare in the same time whatever the inputs share.
    hash_credential(a) == hash_credential(b)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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
fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are ASCII")
}

pub(crate) fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

// ---------------------------------------------------------------------------------------
// Layout

const STYLE: &str = r"
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none}header nav{display:flex;gap:1rem;flex:1;flex-wrap:wrap}header .who{opacity:.8;font-size:.9rem}
main{max-width:72rem;margin:0 auto;padding:1.2rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6eb;vertical-align:top}
th{background:#eef0f4;font-weight:600}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}pre{background:#fff;border:1px solid #e3e6eb;padding:.6rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
form.card,.card{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:1rem;margin-bottom:1rem;max-width:40rem}form.wide{max-width:56rem}fieldset{border:1px solid #e3e6eb;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}legend{font-weight:600}textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem;border:1px solid #b8bfcc;border-radius:4px;padding:.45rem}td.error{color:#a61b1b}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}input[type=text],input[type=email],input[type=password],input[type=number],input[type=search],select{width:100%;padding:.45rem;border:1px solid #b8bfcc;border-radius:4px;font:inherit}
.check label{display:inline;font-weight:400}button{margin-top:.8rem;padding:.45rem 1rem;border:0;border-radius:4px;background:#2f5bea;color:#fff;font:inherit;cursor:pointer}
button.danger{background:#c0392b}header button{margin:0;background:transparent;border:1px solid #fff6;padding:.2rem .6rem}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}.error{color:#a61b1b;font-weight:600}.muted{color:#5b6577}.once{background:#fff8e1;border-color:#f0c36d}
@media (max-width:40rem){th,td{padding:.35rem}main{padding:.6rem}}
";

fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · trailspark" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "trailspark" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Settings" {
                            span { "Settings:" }
                            a href="/settings/api-keys" { "API Keys" }
                            a href="/settings/orgs" { "Org Management" }
                        }
                        span.who { (viewer.email) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".to_owned(), format_timestamp)
}

/// A JSON value as text: strings as they are, the rest as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every field of a JSON object as a two-column table.
fn fields(object: &Value) -> Markup {
    html! {
        table {
            tbody {
                @if let Some(map) = object.as_object() {
                    @for (name, value) in map {
                        tr { th scope="row" { (name) } td { code { (shown(value)) } } }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sign-in

async fn home(viewer: Result<Viewer, Response>) -> Redirect {
    match viewer {
        Ok(_) => Redirect::to("/settings/api-keys"),
        Err(_) => Redirect::to("/login"),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    tenant: String,
    email: String,
    password: String,
    csrf: String,
}

fn login_form(tenant: &str, email: &str, error: Option<&str>, csrf: &str) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            form.card method="post" action="/login" {
                @if let Some(error) = error { p.error role="alert" { (error) } }
                input type="hidden" name="csrf" value=(csrf);
                label for="tenant" { "Tenant" }
                input #tenant type="text" name="tenant" value=(tenant) required autocomplete="organization";
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) required autocomplete="username";
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="current-password";
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The sign-in form; the tenant is prefilled from a `{subdomain}.…` Host.
async fn login_page(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tenant = host
        .split(':')
        .next()
        .and_then(|h| h.split_once('.'))
        .map(|(sub, _)| sub)
        .filter(|sub| Subdomain::parse(sub).is_ok())
        .unwrap_or("");
    let csrf = random_token();
    let mut response = login_form(tenant, "", None, &csrf).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &csrf, 3600, secure(&headers)),
    );
    response
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, &expected) {
        return forbidden();
    }
    let email = form.email.trim().to_lowercase();
    let refuse = |status: StatusCode, message: &str| {
        (
            status,
            login_form(&form.tenant, &email, Some(message), &expected),
        )
            .into_response()
    };
    let attempt = hash_credential(&format!("{}\u{0}{email}", form.tenant.trim()));
    if app.logins.check_key(&attempt).is_err() {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts for this account; wait a minute and try again.",
        );
    }
    let wrong = "Wrong tenant, email or password.";
    let Ok(subdomain) = Subdomain::parse(form.tenant.trim()) else {
        return refuse(StatusCode::UNAUTHORIZED, wrong);
    };
    let tenant = match app.store.tenant_by_subdomain(&subdomain).await {
        Ok(tenant) => tenant,
        Err(StoreError::NotFound) => return refuse(StatusCode::UNAUTHORIZED, wrong),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let user = match app.store.user(tenant.id, &email).await {
        Ok(user) => user,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !user.is_some_and(|u| password_matches(&form.password, &u.password_hash)) {
        return refuse(StatusCode::UNAUTHORIZED, wrong);
    }
    let token = random_token();
    let expires = Utc::now() + Duration::hours(SESSION_HOURS);
    if let Err(e) = app
        .store
        .create_session(tenant.id, &email, &hash_credential(&token), expires)
        .await
    {
        return ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/settings/api-keys").into_response();
    let headers_out = response.headers_mut();
    headers_out.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            SESSION_HOURS * 3600,
            secure(&headers),
        ),
    );
    headers_out.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", 0, secure(&headers)),
    );
    response
}

// ---------------------------------------------------------------------------------------
// First start: the one-time setup link

/// Whether `token` is the live setup token and the store still has no user (one may have
/// been created with the CLI meanwhile).
async fn setup_token_ok(app: &App, token: &str) -> bool {
    let expected = *app.setup.lock().expect("setup lock");
    expected.is_some_and(|hash| hash == hash_credential(token))
        && app.store.count_users().await.is_ok_and(|n| n == 0)
}

fn setup_form(token: &str, email: &str, error: Option<&str>) -> Markup {
    page(
        "Create the first user",
        None,
        html! {
            form.card method="post" action={ "/setup/" (token) } {
                p { "This creates the first user of tenant " strong { "default" } ". The link works once." }
                @if let Some(error) = error { p.error role="alert" { (error) } }
                input type="hidden" name="csrf" value=(csrf_for(token));
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) required autocomplete="username";
                label for="password" { "Password (at least " (MIN_PASSWORD_LEN) " characters)" }
                input #password type="password" name="password" required minlength=(MIN_PASSWORD_LEN) autocomplete="new-password";
                label for="confirm" { "Password again" }
                input #confirm type="password" name="confirm" required autocomplete="new-password";
                button type="submit" { "Create user and sign in" }
            }
        },
    )
}

fn setup_gone() -> Response {
    let body = page(
        "Setup link used",
        None,
        html! { p { "This setup link is no longer valid: the first user exists. " a href="/login" { "Sign in" } "." } },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}

async fn setup_page(State(app): State<App>, Path(token): Path<String>) -> Response {
    if !setup_token_ok(&app, &token).await {
        return setup_gone();
    }
    setup_form(&token, "", None).into_response()
}

#[derive(Deserialize)]
struct SetupForm {
    csrf: String,
    email: String,
    password: String,
    confirm: String,
}

async fn setup(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    if !setup_token_ok(&app, &token).await {
        return setup_gone();
    }
    if !same(&form.csrf, &csrf_for(&token)) {
        return forbidden();
    }
    let refuse = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            setup_form(&token, &form.email, Some(message)),
        )
            .into_response()
    };
    let email = match trailspark_core::value::email(&Value::String(form.email.clone())) {
        Ok(email) => email,
        Err(why) => return refuse(&format!("Email: {why}.")),
    };
    if form.password.chars().count() < MIN_PASSWORD_LEN {
        return refuse(&format!(
            "The password needs at least {MIN_PASSWORD_LEN} characters."
        ));
    }
    if form.password != form.confirm {
        return refuse("The two passwords differ.");
    }
    let tenant = match app
        .store
        .tenant_by_subdomain(&Subdomain::parse("default").expect("valid"))
        .await
    {
        Ok(tenant) => tenant,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Consumed before the user exists: a second submission cannot create a second user.
    if app.setup.lock().expect("setup lock").take().is_none() {
        return setup_gone();
    }
    if let Err(e) = app
        .store
        .create_user(tenant.id, &email, &hash_password(&form.password))
        .await
    {
        return ApiError::from(e).into_response();
    }
    start_session(&app, tenant.id, &email, &headers).await
}

/// Signs `email` in: a new session, its cookie, and on to the API keys.
async fn start_session(app: &App, tenant: TenantId, email: &str, headers: &HeaderMap) -> Response {
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

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<App>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    if let Err(e) = app.store.delete_session(&viewer.token_hash).await {
        return ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, secure(&headers)),
    );
    response
}

// ---------------------------------------------------------------------------------------
// Settings > API Keys

/// A key being composed on the API Keys page.
struct KeyDraft {
    name: String,
    preset: String,
    expires_days: String,
    with_secret: bool,
    with_hmac: bool,
    builder: Builder,
}

impl KeyDraft {
    fn new() -> Self {
        Self {
            name: String::new(),
            preset: "segment".into(),
            expires_days: String::new(),
            with_secret: false,
            with_hmac: false,
            builder: Builder::from_preset(EndpointType::ProductOrgUpdates, Preset::Segment),
        }
    }
}

fn preset_named(name: &str) -> Option<Preset> {
    match name {
        "segment" => Some(Preset::Segment),
        "rudderstack" => Some(Preset::Rudderstack),
        "hightouch" => Some(Preset::Hightouch),
        "flat" => Some(Preset::Flat),
        _ => None,
    }
}

fn key_form(
    viewer: &Viewer,
    draft: &KeyDraft,
    error: Option<&str>,
    preview: Option<Markup>,
) -> Markup {
    let kind = draft.builder.kind;
    html! {
        form.card.wide method="post" action="/settings/api-keys#create" id="create" {
            h2 { "Create a key" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="name" { "Name" }
            input #name type="text" name="name" value=(draft.name) maxlength="200" placeholder="Segment production";
            label for="endpoint_type" { "Endpoint type" }
            select #endpoint_type name="endpoint_type" {
                option value="product-org-updates" selected[kind == EndpointType::ProductOrgUpdates] { "Product Org Updates" }
                option value="signal-staging" selected[kind == EndpointType::SignalStaging] { "Signal Staging" }
            }
            label for="preset" { "Start from a preset" }
            select #preset name="preset" {
                @for (value, text) in [("segment", "Segment (group calls)"), ("rudderstack", "RudderStack"), ("hightouch", "Hightouch (flat rows)"), ("flat", "Flat")] {
                    option value=(value) selected[draft.preset == value] { (text) }
                }
            }
            button type="submit" name="action" value="preset" formnovalidate { "Fill the template from the preset" }
            (draft.builder.fieldset())
            @if let Some(preview) = preview { (preview) }
            label for="expires_days" { "Expires after (days, empty for never)" }
            input #expires_days type="number" name="expires_days" min="1" max="3650" value=(draft.expires_days);
            p.check {
                input #with_secret type="checkbox" name="with_secret" value="on" checked[draft.with_secret];
                " " label for="with_secret" { "Require an X-Api-Secret header" }
            }
            p.check {
                input #with_hmac type="checkbox" name="with_hmac" value="on" checked[draft.with_hmac];
                " " label for="with_hmac" { "Require signed requests (HMAC)" }
            }
            button type="submit" name="action" value="create" { "Create key" }
        }
        // With JavaScript the preview follows the typing; without, the Preview button does it.
        script { (PreEscaped(LIVE_PREVIEW_SCRIPT)) }
    }
}

const LIVE_PREVIEW_SCRIPT: &str = r#"(function () {
  var form = document.getElementById('create');
  var sample = document.getElementById('sample');
  if (!form || !sample || !window.fetch || !window.DOMParser) return;
  var timer;
  function refresh() {
    if (!sample.value.trim()) return;
    var data = new URLSearchParams(new FormData(form));
    data.set('action', 'preview');
    fetch(form.getAttribute('action').split('#')[0], { method: 'POST', body: data, credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('preview');
        var old = document.getElementById('preview');
        if (!fresh) return;
        if (old) { old.replaceWith(fresh); } else { sample.nextElementSibling.after(fresh); }
      });
  }
  form.addEventListener('input', function (e) {
    if (e.target.closest('fieldset')) { clearTimeout(timer); timer = setTimeout(refresh, 400); }
  });
})();"#;

async fn api_keys(State(app): State<App>, viewer: Viewer) -> Result<Markup, ApiError> {
    let keys = app.store.list_api_keys(viewer.tenant).await?;
    Ok(page(
        "API Keys",
        Some(&viewer),
        html! {
            table {
                caption.muted { "Keys of this tenant, newest first. A key is shown only when it is created." }
                thead { tr { th { "Name" } th { "Type" } th { "Key" } th { "Created" } th { "Expires" } th { "Last used" } th { "Revoked" } th { span.muted { "Action" } } } }
                tbody {
                    @for key in &keys {
                        tr {
                            td { (key.name) }
                            td { (key.endpoint_type.title()) }
                            td { code { (key.prefix) "…" } }
                            td { (time(Some(&key.created_at))) }
                            td { (time(key.expires_at.as_ref())) }
                            td { (time(key.last_used_at.as_ref())) }
                            td { (time(key.revoked_at.as_ref())) }
                            td {
                                a href={ "/settings/api-keys/" (key.id.0) "/deliveries" } aria-label={ "Deliveries of " (key.name) } { "Deliveries" }
                                @if key.revoked_at.is_none() {
                                    " · "
                                    a href={ "/settings/api-keys/" (key.id.0) "/revoke" } aria-label={ "Revoke " (key.name) } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
            (key_form(&viewer, &KeyDraft::new(), None, None))
        },
    ))
}

async fn create_key(
    State(app): State<App>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !viewer.csrf_ok(&get("csrf")) {
        return forbidden();
    }
    let kind =
        EndpointType::parse(&get("endpoint_type")).unwrap_or(EndpointType::ProductOrgUpdates);
    let mut draft = KeyDraft {
        name: get("name"),
        preset: get("preset"),
        expires_days: get("expires_days"),
        with_secret: !get("with_secret").is_empty(),
        with_hmac: !get("with_hmac").is_empty(),
        builder: Builder::from_form(kind, &pairs),
    };
    let redraw =
        |draft: &KeyDraft, status: StatusCode, error: Option<&str>, preview: Option<Markup>| {
            let body = page(
                "API Keys",
                Some(&viewer),
                key_form(&viewer, draft, error, preview),
            );
            (status, body).into_response()
        };
    let action = get("action");
    if !get("remove").is_empty() {
        return redraw(&draft, StatusCode::OK, None, None);
    }
    match action.as_str() {
        "preset" => {
            let Some(preset) = preset_named(&draft.preset) else {
                return redraw(
                    &draft,
                    StatusCode::BAD_REQUEST,
                    Some("Choose a preset."),
                    None,
                );
            };
            let sample = std::mem::take(&mut draft.builder.sample);
            draft.builder = Builder::from_preset(kind, preset);
            draft.builder.sample = sample;
            return redraw(&draft, StatusCode::OK, None, None);
        }
        "add" => {
            draft.builder.custom.push((String::new(), String::new()));
            return redraw(&draft, StatusCode::OK, None, None);
        }
        "preview" => {
            let preview = draft.builder.preview();
            return redraw(&draft, StatusCode::OK, None, Some(preview));
        }
        _ => {}
    }
    let invalid = |message: String| redraw(&draft, StatusCode::BAD_REQUEST, Some(&message), None);
    let template = match draft.builder.template() {
        Ok(template) => template,
        Err(why) => return invalid(format!("The template is not valid: {why}.")),
    };
    let now = Utc::now();
    let expires_at = match draft.expires_days.trim() {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(days) if (1..=3650).contains(&days) => Some(now + Duration::days(days)),
            _ => {
                return invalid("Expiry must be a number of days from 1 to 3650, or empty.".into())
            }
        },
    };
    let request = KeyRequest {
        name: draft.name.clone(),
        template,
        expires_at,
        with_secret: draft.with_secret,
        with_hmac_secret: draft.with_hmac,
    };
    let created = match create_api_key(app.store.as_ref(), viewer.tenant, request, now).await {
        Ok(created) => created,
        Err(ApiError::BadRequest { message, .. }) => return invalid(message),
        Err(e) => return e.into_response(),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if secure(&headers) { "https" } else { "http" };
    let path = match kind {
        EndpointType::ProductOrgUpdates => "/api/product-orgs/webhook/",
        EndpointType::SignalStaging => "/api/signals/webhook/",
    };
    let api_key = created.api_key.expose_secret();
    let url = format!("{scheme}://{host}{path}{api_key}");
    let secret_header = created
        .secret
        .as_ref()
        .map(|s| format!(" \\\n  -H 'X-Api-Secret: {}'", s.expose_secret()))
        .unwrap_or_default();
    let curl = format!(
        "curl -X POST '{url}' \\\n  -H 'Content-Type: application/json'{secret_header} \\\n  -d '{{\"type\":\"group\",\"groupId\":\"test_ws_001\",\"traits\":{{\"name\":\"Test Workspace\",\"plan\":\"pro\",\"employees\":5}}}}'"
    );
    let body = page(
        "Key created",
        Some(&viewer),
        html! {
            div.card.once role="status" {
                p { strong { "Copy the key now: it is shown only this once." } " trailspark keeps only its hash." }
                label for="new_key" { "API key" }
                input #new_key type="text" readonly value=(api_key) data-copy;
                label for="webhook_url" { "Webhook URL" }
                input #webhook_url type="text" readonly value=(url) data-copy;
                @if let Some(secret) = &created.secret {
                    label for="api_secret" { "X-Api-Secret" }
                    input #api_secret type="text" readonly value=(secret.expose_secret()) data-copy;
                }
                @if let Some(secret) = &created.hmac_secret {
                    label for="hmac_secret" { "HMAC secret" }
                    input #hmac_secret type="text" readonly value=(secret.expose_secret()) data-copy;
                }
                label for="curl" { "Try it" }
                pre #curl { (curl) }
                p { a href="/settings/api-keys" { "Back to API Keys" } }
            }
            // Copy buttons for browsers with JavaScript; the fields can be copied without.
            script { (PreEscaped(COPY_SCRIPT)) }
        },
    );
    let mut response = body.into_response();
    // The page holds secrets: never cache it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const COPY_SCRIPT: &str = r#"document.querySelectorAll('[data-copy]').forEach(function (input) {
  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy ' + (document.querySelector('label[for="' + input.id + '"]') || {}).textContent);
  button.addEventListener('click', function () {
    navigator.clipboard.writeText(input.value).then(function () { button.textContent = 'Copied'; });
  });
  input.insertAdjacentElement('afterend', button);
});"#;

/// A key's delivery log: its newest requests and why the refused ones were refused.
async fn deliveries(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let key = find_key(&app, viewer.tenant, &id).await?;
    // This instance's newest requests first reach the store, so the page is current.
    if let Err(e) = app.deliveries.flush(app.store.as_ref()).await {
        tracing::warn!(error = %e, "could not write the delivery log");
    }
    let log = app.store.deliveries(viewer.tenant, &key.id).await?;
    Ok(page(
        &format!("Deliveries of {}", key.name),
        Some(&viewer),
        html! {
            p { a href="/settings/api-keys" { "← API Keys" } }
            p.muted { "The newest " (log.len()) " requests sent with this key (up to 100), newest first." }
            table {
                thead { tr { th { "Time" } th { "Status" } th { "Product org / lead" } th { "Changed" } th { "Error" } } }
                tbody {
                    @for d in &log {
                        tr {
                            td { (format_timestamp(&d.at)) }
                            td { (d.status) }
                            td { (d.subject.clone().unwrap_or_default()) }
                            td { @match d.changed { Some(true) => "yes", Some(false) => "no", None => "" } }
                            td {
                                @if let Some(error) = &d.error { span.error { (error) } }
                                @if let Some(body) = &d.body {
                                    details { summary { "Payload" } pre { (body) } }
                                }
                            }
                        }
                    }
                }
            }
            @if log.is_empty() { p.muted { "No requests yet." } }
        },
    ))
}

/// One of the tenant's keys, by id.
async fn find_key(app: &App, tenant: TenantId, id: &str) -> Result<ApiKeyRecord, ApiError> {
    app.store
        .list_api_keys(tenant)
        .await?
        .into_iter()
        .find(|k| k.id.0 == id)
        .ok_or_else(|| ApiError::NotFound("This tenant has no such key.".into()))
}

async fn confirm_revoke(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let key = find_key(&app, viewer.tenant, &id).await?;
    Ok(page(
        "Revoke key",
        Some(&viewer),
        html! {
            form.card method="post" action={ "/settings/api-keys/" (key.id.0) "/revoke" } {
                p { "Revoke " strong { (key.name) } " (" code { (key.prefix) "…" } ")? Requests with it are refused from now on; this cannot be undone." }
                input type="hidden" name="csrf" value=(viewer.csrf);
                button.danger type="submit" { "Revoke key" }
                " " a href="/settings/api-keys" { "Cancel" }
            }
        },
    ))
}

async fn revoke(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    match app.store.revoke_api_key(viewer.tenant, &ApiKeyId(id)).await {
        // Servers drop a revoked key within --key-refresh-ms.
        Ok(_) => Redirect::to("/settings/api-keys").into_response(),
        Err(StoreError::NotFound) => {
            ApiError::NotFound("This tenant has no such key.".into()).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Settings > Org Management

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

async fn target_orgs(
    State(app): State<App>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Markup, ApiError> {
    let search = query.q.clone().filter(|q| !q.trim().is_empty());
    let listing = SearchQuery {
        search: search.clone(),
        page: PageRequest {
            cursor: query.cursor.clone().filter(|c| !c.is_empty()),
            limit: 50,
        },
    };
    let orgs = app.store.list_target_orgs(viewer.tenant, &listing).await?;
    Ok(page(
        "Org Management",
        Some(&viewer),
        html! {
            form method="get" action="/settings/orgs" role="search" {
                label for="q" { "Search target orgs" }
                input #q type="search" name="q" value=(search.clone().unwrap_or_default());
                button type="submit" { "Search" }
            }
            table {
                thead { tr { th { "Target org" } th { "Id" } th { "Product orgs" } th { "Last update" } } }
                tbody {
                    @for org in &orgs.items {
                        tr {
                            td { a href={ "/settings/orgs/" (org.id.0) } { (org.name) } }
                            td { (org.id.0) }
                            td { (org.product_org_count) }
                            td { (time(Some(&org.updated_at))) }
                        }
                    }
                }
            }
            @if orgs.items.is_empty() { p.muted { "No target orgs yet: send a product org update and its target org appears here." } }
            @if let Some(next) = &orgs.next_cursor {
                a href={ "/settings/orgs?cursor=" (next) @if let Some(q) = &search { "&q=" (q) } } { "Next page" }
            }
        },
    ))
}

async fn target_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id = id
        .parse::<i64>()
        .map(TargetOrgId)
        .map_err(|_| ApiError::NotFound("No such target org.".into()))?;
    let detail = app
        .store
        .target_org(viewer.tenant, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::NotFound("This tenant has no such target org.".into())
            }
            other => other.into(),
        })?;
    let summary = target_org_json(&detail.org);
    Ok(page(
        &detail.org.name,
        Some(&viewer),
        html! {
            p { a href="/settings/orgs" { "← Org Management" } }
            h2 { "Firmographics" }
            @match &detail.org.firmographics {
                Some(map) => (fields(&Value::Object(map.clone()))),
                None => p.muted { "No firmographics set." },
            }
            h2 { "Target org" }
            (fields(&summary))
            h2 { "Product orgs (" (detail.product_orgs.len()) ")" }
            @for org in &detail.product_orgs {
                h3 { a href={ "/settings/product-orgs/" (urlencode(org.product_org_id.as_str())) } { (org.product_org_id.as_str()) } }
                (fields(&product_org_json(org)))
            }
            h2 { "Linked leads (" (detail.lead_count) ")" }
            table {
                thead { tr { th { "Lead" } th { "Email" } th { "Product org" } } }
                tbody {
                    @for lead in &detail.leads {
                        tr {
                            td { a href={ "/settings/leads/" (urlencode(lead.lead_id.as_str())) } { (lead.lead_id.as_str()) } }
                            td { (lead.email.clone().unwrap_or_default()) }
                            td { (lead.product_org_id.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default()) }
                        }
                    }
                }
            }
        },
    ))
}

async fn product_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id =
        ProductOrgId::parse(id).map_err(|_| ApiError::NotFound("No such product org.".into()))?;
    let not_found = |e: StoreError| match e {
        StoreError::NotFound => ApiError::NotFound("This tenant has no such product org.".into()),
        other => other.into(),
    };
    let org = app
        .store
        .product_org(viewer.tenant, &id)
        .await
        .map_err(not_found)?;
    let history = app
        .store
        .product_org_history(
            viewer.tenant,
            &id,
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .map_err(not_found)?;
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            p { a href={ "/settings/orgs/" (org.target_org_id.0) } { "← its target org" } }
            (fields(&product_org_json(&org)))
            h2 { "Change history (newest first)" }
            table {
                thead { tr { th { "Version" } th { "Changes" } th { "Event time" } th { "Received" } } }
                tbody {
                    @for entry in &history.items {
                        @let entry = history_json(entry);
                        tr {
                            td { (shown(&entry["version"])) }
                            td { code { (shown(&entry["changes"])) } }
                            td { (shown(&entry["eventAt"])) }
                            td { (shown(&entry["receivedAt"])) }
                        }
                    }
                }
            }
        },
    ))
}

async fn lead(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id = LeadId::parse(id).map_err(|_| ApiError::NotFound("No such lead.".into()))?;
    let context = app
        .store
        .evaluation_context(viewer.tenant, &id, 50)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound("This tenant has no such lead.".into()),
            other => other.into(),
        })?;
    let json = evaluation_context_json(&context);
    let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            (fields(&lead_json(&context.lead)))
            h2 { "Evaluation context" }
            p.muted { "What a lead-scoring model reads for this lead (also at /api/admin/leads/{leadId}/evaluation-context)." }
            pre { (pretty) }
        },
    ))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
