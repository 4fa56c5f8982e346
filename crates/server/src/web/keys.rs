//! Settings > API Keys: the tenant's keys, revoking one, and a key's delivery log. Creating a
//! key has a module of its own, [`super::new_key`].

use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use trailspark_core::update::format_timestamp;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{ApiKeyRecord, DeliveryQuery, Outcome, PageRequest};

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
                            td { a href={ "/settings/api-keys/" (key.id.0) } { (key.name) } }
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

/// Which page of a key's delivery log the web page shows.
#[derive(serde::Deserialize)]
struct LogQuery {
    outcome: Option<String>,
    cursor: Option<String>,
}

/// A key's delivery log: what each update became and why the refused ones were refused,
/// newest first, 100 a page.
async fn deliveries(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(filter): Query<LogQuery>,
) -> Result<Markup, ApiError> {
    let key = find_key(&app, viewer.tenant, &id).await?;
    let outcome = filter.outcome.as_deref().and_then(Outcome::parse);
    let query = DeliveryQuery {
        outcome,
        page: PageRequest {
            cursor: filter.cursor,
            limit: 100,
        },
        ..DeliveryQuery::default()
    };
    let log = app.store.deliveries(viewer.tenant, &key.id, &query).await?;
    let here = format!("/settings/api-keys/{}/deliveries", key.id.0);
    Ok(page(
        &format!("Deliveries of {}", key.name),
        Some(&viewer),
        html! {
            p { a href="/settings/api-keys" { "← API Keys" } }
            p.muted { "Every update sent with this key and every request refused, newest first. Refused ones keep their payload." }
            p {
                a href=(here) { "All" }
                @for o in Outcome::ALL {
                    " · " a href={ (here) "?outcome=" (o.as_str()) } { (o.as_str()) }
                }
            }
            table {
                thead { tr { th { "Received" } th { "Outcome" } th { "Status" } th { "Product org / lead" } th { "Template" } th { "Error" } } }
                tbody {
                    @for d in &log.items {
                        tr {
                            td { (format_timestamp(&d.row.received_at)) }
                            td { (d.row.outcome.as_str()) }
                            td { (d.row.status) }
                            td { (d.row.product_org_id.as_deref().or(d.row.lead_id.as_deref()).unwrap_or_default()) }
                            td { "v" (d.row.template_version) }
                            td {
                                @if let Some(code) = &d.row.code {
                                    span.error { (code) ": " (d.row.message.as_deref().unwrap_or_default()) }
                                }
                                @if let Some(payload) = &d.row.payload {
                                    details { summary { "Payload" } pre { (payload) } }
                                }
                            }
                        }
                    }
                }
            }
            @if log.items.is_empty() { p.muted { "No deliveries." } }
            @if let Some(next) = &log.next_cursor {
                p { a href={ (here) "?cursor=" (next) (outcome.map(|o| format!("&outcome={}", o.as_str())).unwrap_or_default()) } { "Older →" } }
            }
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
