//! Settings > API Keys: the tenant's keys, revoking one, and a key's delivery log. Creating a
//! key has a module of its own, [`super::new_key`].

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use trailspark_core::update::format_timestamp;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::ApiKeyRecord;

use super::layout::{page, time};
use super::new_key::create_form;
use super::session::{forbidden, CsrfForm, Viewer};
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
            // A phone scrolls the table, not the page.
            div.scroll { table #keys {
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
            } }
            (create)
        },
    ))
}

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

/// Asks before a key is revoked.
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
