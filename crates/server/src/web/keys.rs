//! Settings > API Keys: the tenant's keys, revoking one, and a key's delivery log. Creating a
//! key has a module of its own, [`super::new_key`].

use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use trailspark_core::ApiKeyId;

use super::key_deliveries::{self, LogFilter};
use super::key_page::{key_href, key_of};
use super::layout::{crumbs, page};
use super::new_key::create_form;
use super::session::{forbidden, CsrfForm, Viewer};
use super::values::{when, when_opt};
use crate::app::App;
use crate::error::ApiError;

/// Routes of Settings > API Keys; creating a key is [`super::new_key::router`]'s.
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings/api-keys", get(api_keys))
        .route(
            "/settings/api-keys/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
        .route("/settings/api-keys/{id}/deliveries", get(deliveries))
}

/// The tenant's keys, newest first, and the form that creates one.
async fn api_keys(State(app): State<App>, viewer: Viewer) -> Result<Markup, ApiError> {
    keys_page(&app, &viewer, create_form(&viewer)).await
}

/// The API Keys page: the tenant's keys, newest first, then `create` (the Create a key form,
/// as first shown or as its last button left it).
pub(super) async fn keys_page(
    app: &App,
    viewer: &Viewer,
    create: Markup,
) -> Result<Markup, ApiError> {
    let keys = app.store.list_api_keys(viewer.tenant).await?;
    Ok(page(
        "API Keys",
        Some(viewer),
        html! {
            // On a phone each key is a block of labelled lines (`table.stack`).
            table.stack #keys {
                caption.muted { "Keys of this tenant, newest first. A key is shown only when it is created." }
                thead { tr { th { "Name" } th { "Type" } th { "Key" } th { "Created" } th { "Expires" } th { "Last used" } th { "Revoked" } th { span.muted { "Action" } } } }
                tbody {
                    @for key in &keys {
                        tr {
                            td data-label="Name" { a href={ "/settings/api-keys/" (key.id.0) } { (key.name) } }
                            td data-label="Type" { (key.endpoint_type.title()) }
                            td data-label="Key" { code { (key.prefix) "…" } }
                            td data-label="Created" { (when(&key.created_at)) }
                            td data-label="Expires" class=[key.expires_at.is_none().then_some("none")] { (when_opt(key.expires_at.as_ref())) }
                            td data-label="Last used" class=[key.last_used_at.is_none().then_some("none")] { (when_opt(key.last_used_at.as_ref())) }
                            td data-label="Revoked" class=[key.revoked_at.is_none().then_some("none")] { (when_opt(key.revoked_at.as_ref())) }
                            td data-label="Action" {
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
            (create)
        },
    ))
}

/// A key's delivery log on a page of its own (the keys table links it): the key page's log
/// section, whose filters and pages then go on at the key's page.
async fn deliveries(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(filter): Query<LogFilter>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    let log = key_deliveries::log(&app, &key, &filter).await?;
    Ok(page(
        &format!("Deliveries of {}", key.name),
        Some(&viewer),
        html! {
            (crumbs(&[("API Keys", "/settings/api-keys"), (&key.name, &key_href(&key))]))
            (log)
        },
    ))
}

/// Asks before a key is revoked.
async fn confirm_revoke(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    Ok(page(
        "Revoke key",
        Some(&viewer),
        html! {
            (crumbs(&[("API Keys", "/settings/api-keys"), (&key.name, &key_href(&key))]))
            form.card method="post" action={ "/settings/api-keys/" (key.id.0) "/revoke" } {
                p { "Revoke " strong { (key.name) } " (" code { (key.prefix) "…" } ")? Requests with it are refused from now on; this cannot be undone." }
                input type="hidden" name="csrf" value=(viewer.csrf);
                button.danger type="submit" { "Revoke key" }
                " " a href="/settings/api-keys" { "Cancel" }
            }
        },
    ))
}

/// Revokes a key.
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
        Err(e) => ApiError::from(e).into_response(),
    }
}
