//! Settings > API Keys > a key (SPEC §6, the integrator's loop on one page): the key (never the
//! key itself), its template with every earlier version, the editor that tests a changed
//! template against the key's recent deliveries and saves it as the next version
//! ([`super::key_template`]), its health over the last 24 hours ([`super::key_health`]), and
//! its delivery log ([`super::key_deliveries`]) with the way to replay what was refused
//! ([`super::key_replay`]).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{ApiKeyRecord, DeliveryQuery, Outcome, PageRequest, TemplateVersion};

use super::builder::Builder;
use super::key_deliveries::{self, LogFilter};
use super::key_health;
use super::key_template::{self, Editor, Said};
use super::layout::{crumbs, page};
use super::new_key::webhook_url;
use super::session::Viewer;
use super::values::{long_id, when, when_opt};
use crate::app::App;
use crate::error::ApiError;

/// Routes of a key's page, its template editor and its deliveries.
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings/api-keys/{id}", get(key_page))
        .route("/settings/api-keys/{id}/template", post(key_template::edit))
        .route(
            "/settings/api-keys/{id}/deliveries/{delivery}",
            get(key_deliveries::detail),
        )
}

/// One of the tenant's keys, by the id in the URL: another tenant's is not found.
pub(super) async fn key_of(
    app: &App,
    tenant: TenantId,
    id: &str,
) -> Result<ApiKeyRecord, ApiError> {
    Ok(app.store.api_key(tenant, &ApiKeyId(id.to_owned())).await?)
}

/// Where a key's page is.
pub(super) fn key_href(key: &ApiKeyRecord) -> String {
    format!("/settings/api-keys/{}", key.id.0)
}

/// The key page's query string: the delivery log's filters and page, and `saved` (the version
/// the editor just saved, to say so).
#[derive(Deserialize)]
struct KeyQuery {
    // Text: a flattened query string hands every value over as text.
    saved: Option<String>,
    #[serde(flatten)]
    log: LogFilter,
}

/// A key's page as first shown: the editor holds the current template, its sample the newest
/// refused payload (what the user most likely wants to fix).
async fn key_page(
    State(app): State<App>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    let current = serde_json::from_str(&key.template).unwrap_or(Value::Null);
    let mut builder = Builder::from_template(key.endpoint_type, &current);
    builder.sample = newest_payload(&app, &key).await?.unwrap_or_default();
    let editor = Editor {
        builder,
        said: query
            .saved
            .and_then(|n| n.parse().ok())
            .map_or(Said::Nothing, Said::Saved),
        preview: None,
        test: None,
    };
    draw(&app, &viewer, &headers, &key, editor, &query.log).await
}

/// The newest kept payload of the key, pretty: a refused one if any.
async fn newest_payload(app: &App, key: &ApiKeyRecord) -> Result<Option<String>, ApiError> {
    for outcome in [Some(Outcome::Refused), None] {
        let query = DeliveryQuery {
            outcome,
            with_payload: true,
            page: PageRequest {
                cursor: None,
                limit: 1,
            },
            ..DeliveryQuery::default()
        };
        let found = app.store.deliveries(key.tenant_id, &key.id, &query).await?;
        if let Some(payload) = found.items.first().and_then(|d| d.row.payload.as_deref()) {
            return Ok(Some(match serde_json::from_str::<Value>(payload) {
                Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
                Err(_) => payload.to_owned(),
            }));
        }
    }
    Ok(None)
}

/// The key's page: the key, its template versions, the editor as `editor` says, the log.
pub(super) async fn draw(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    key: &ApiKeyRecord,
    editor: Editor,
    filter: &LogFilter,
) -> Result<Markup, ApiError> {
    let mut versions = app.store.template_versions(viewer.tenant, &key.id).await?;
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let log = key_deliveries::log(app, key, filter).await?;
    let health = key_health::section(app, key).await?;
    // Only a version this key has is announced as saved.
    let editor = match editor.said {
        Said::Saved(n) if !versions.iter().any(|v| v.version == n) => Editor {
            said: Said::Nothing,
            ..editor
        },
        _ => editor,
    };
    Ok(page(
        &key.name,
        Some(viewer),
        html! {
            (crumbs(&[("API Keys", "/settings/api-keys")]))
            (summary(app, key, headers))
            (health)
            (template_versions(key, &versions, &editor.said))
            (key_template::editor(viewer, key, &editor))
            (log)
        },
    ))
}

/// The key: what it is, whether it works, and where it sends to (its prefix only: the key
/// itself was shown once, when it was created).
fn summary(app: &App, key: &ApiKeyRecord, headers: &HeaderMap) -> Markup {
    let now = chrono::Utc::now();
    let status = match (key.revoked_at, key.expires_at) {
        (Some(at), _) => html! { "Revoked " (when(&at)) },
        (None, Some(at)) if at <= now => html! { "Expired " (when(&at)) },
        (None, Some(at)) => html! { "Active, expires " (when(&at)) },
        (None, None) => html! { "Active" },
    };
    let url = webhook_url(app, headers, key.endpoint_type, &format!("{}…", key.prefix));
    html! {
        section #key {
            h2 { "Key" }
            table.facts {
                tbody {
                    tr { th scope="row" { "Name" } td { (key.name) } }
                    tr { th scope="row" { "Type" } td { (key.endpoint_type.title()) } }
                    tr { th scope="row" { "Key" } td { code { (key.prefix) "…" } } }
                    tr { th scope="row" { "Key ID" } td { (long_id(&key.id.0, "key ID")) br; span.muted { "For the CLI and the admin API." } } }
                    tr { th scope="row" { "Created" } td { (when(&key.created_at)) } }
                    tr { th scope="row" { "Last used" } td { (when_opt(key.last_used_at.as_ref())) } }
                    tr { th scope="row" { "Status" } td #key-status { (status) } }
                    tr {
                        th scope="row" { "Webhook URL" }
                        td { code.url { (url) } br; span.muted { "The key's whole text in place of " code { (key.prefix) "…" } ": it was shown once, when the key was created." } }
                    }
                }
            }
        }
    }
}

/// The current template (version, when, by whom) and every earlier version, folded.
fn template_versions(key: &ApiKeyRecord, versions: &[TemplateVersion], said: &Said) -> Markup {
    let replay = format!("{}/replay", key_href(key));
    html! {
        section #template {
            h2 { "Template" }
            @if let Said::Saved(n) = said {
                p.notice role="status" { "Saved as version " (n) ". Updates that arrive from now on are read with it. " a href=(replay) { "Replay the refused deliveries" } " to recover them." }
            }
            @if let Some((current, earlier)) = versions.split_first() {
                p #current-version { "Version " strong { (current.version) } ", set " (when(&current.created_at)) " by " (current.created_by) "." }
                pre #current-template { (pretty(&current.template)) }
                @if !earlier.is_empty() {
                    h3 { "Earlier versions" }
                    @for version in earlier {
                        details.version {
                            summary { "Version " (version.version) ", set " (when(&version.created_at)) " by " (version.created_by) }
                            pre { (pretty(&version.template)) }
                        }
                    }
                }
            }
        }
    }
}

/// JSON text indented for reading (as it is when it is not JSON).
pub(super) fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}
