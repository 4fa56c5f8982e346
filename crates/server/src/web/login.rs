//! Signing in and out: the sign-in form (tenant, email, password), the one-time setup link that
//! creates the first user on a new store, and sign-out.

use std::sync::OnceLock;

use axum::extract::{Form, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::credentials::{
    hash_credential, hash_password, password_matches, MIN_PASSWORD_LEN,
};
use trailspark_core::Subdomain;
use trailspark_store::StoreError;

use super::layout::page;
use super::session::{
    cookie, csrf_for, forbidden, random_token, same, set_cookie, start_session, CsrfForm, Viewer,
    LOGIN_COOKIE, SESSION_COOKIE,
};
use super::sign_in_limits::{ClientAddr, SignInLimits};
use crate::app::App;
use crate::error::ApiError;

/// Routes of sign-in, the setup link and sign-out.
pub fn router() -> Router<App> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
}

/// The limits on failed sign-ins, per account and per client (see `sign_in_limits`).
pub fn login_limiter() -> SignInLimits {
    SignInLimits::default()
}

#[derive(Deserialize)]
struct LoginForm {
    tenant: String,
    email: String,
    password: String,
    csrf: String,
}

/// The sign-in form, with `error` above it when an attempt failed.
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

/// The sign-in form; the tenant is prefilled from a `{subdomain}.{domain}.{tld}` Host, else
/// with the store's only tenant when it has one.
async fn login_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let from_host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(Subdomain::of_host);
    let tenant = match from_host {
        Some(subdomain) => Some(subdomain),
        None => match app.store.only_tenant().await {
            Ok(only) => only.map(|tenant| tenant.subdomain),
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let tenant = tenant.as_ref().map_or("", Subdomain::as_str);
    let csrf = random_token();
    let mut response = login_form(tenant, "", None, &csrf).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&app, &headers, LOGIN_COOKIE, &csrf, 3600),
    );
    response
}

/// Signs in with tenant, email and password; failures are limited per account and per client.
/// What the request's head settles is checked before its form is read: the client's own
/// failures, the sign-in page's cookie, then (by `Form`) the content type.
async fn login(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let expected = cookie(&app, &headers, LOGIN_COOKIE).unwrap_or_default();
    let refuse = |status: StatusCode, tenant: &str, email: &str, message: &str| {
        let mut response =
            (status, login_form(tenant, email, Some(message), &expected)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        response
    };
    if let Err(why) = app.logins.client_admitted(client) {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "", "", why.message());
    }
    if expected.is_empty() {
        return forbidden();
    }
    let form = match Form::<LoginForm>::from_request(request, &app).await {
        Ok(Form(form)) => form,
        Err(rejection) => return rejection.into_response(),
    };
    if !same(&form.csrf, &expected) {
        return forbidden();
    }
    let email = form.email.trim().to_lowercase();
    let refuse = |status: StatusCode, message: &str| refuse(status, &form.tenant, &email, message);
    let account = hash_credential(&format!("{}\u{0}{email}", form.tenant.trim()));
    let attempt = match app.logins.admit(account, client) {
        Ok(attempt) => attempt,
        Err(why) => return refuse(StatusCode::TOO_MANY_REQUESTS, why.message()),
    };
    // An unknown tenant or email goes on to a password check all the same (see
    // `password_ok`): answering sooner would tell which exist.
    let tenant = match Subdomain::parse(form.tenant.trim()) {
        Err(_) => None,
        Ok(subdomain) => match app.store.tenant_by_subdomain(&subdomain).await {
            Ok(tenant) => Some(tenant),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let user = match &tenant {
        Some(tenant) => match app.store.user(tenant.id, &email).await {
            Ok(user) => user,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let phc = user.map(|user| user.password_hash);
    match (password_ok(form.password.clone(), phc).await, tenant) {
        (Ok(true), Some(tenant)) => {
            app.logins.succeeded(attempt);
            start_session(&app, tenant.id, &email, &headers).await
        }
        (Ok(_), _) => refuse(StatusCode::UNAUTHORIZED, "Wrong tenant, email or password."),
        (Err(e), _) => e.into_response(),
    }
}

/// Whether `password` is the one `phc` was made from; without a user (`None`), false, after
/// checking against a dummy hash of the same cost, so that an unknown email takes as long as
/// a wrong password. Argon2 takes tens of milliseconds of CPU on purpose: it runs on a
/// blocking thread, not on an async worker that every other request needs.
async fn password_ok(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match &phc {
        Some(phc) => password_matches(&password, phc),
        None => {
            // black_box: this check's cost is its whole point; it must not be optimised out.
            std::hint::black_box(password_matches(&password, dummy_hash()));
            false
        }
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the password check failed: {e}")))
}

/// A hash made as users' are (same algorithm and cost), of a random password nobody knows.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()))
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

/// The form that creates the first user, with `error` above it when an attempt failed.
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

/// The answer to a setup link that is not (or no longer) valid.
fn setup_gone() -> Response {
    let body = page(
        "Setup link used",
        None,
        html! { p { "This setup link is no longer valid: the first user exists. " a href="/login" { "Sign in" } "." } },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}

/// `/setup/{token}`: the form behind the one-time setup link.
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

/// Creates the first user of tenant `default` and signs them in; the link dies with it.
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
    // Hashing takes tens of milliseconds of CPU: off the async workers.
    let password = form.password.clone();
    let phc = match tokio::task::spawn_blocking(move || hash_password(&password)).await {
        Ok(phc) => phc,
        Err(e) => {
            let e = anyhow::anyhow!("hashing the first user's password failed: {e}");
            return ApiError::Internal(e).into_response();
        }
    };
    if let Err(e) = app.store.create_user(tenant.id, &email, &phc).await {
        return ApiError::from(e).into_response();
    }
    start_session(&app, tenant.id, &email, &headers).await
}

// ---------------------------------------------------------------------------------------
// Sign-out

/// Ends the session in the store, not only in the browser.
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
        set_cookie(&app, &headers, SESSION_COOKIE, "", 0),
    );
    response
}
