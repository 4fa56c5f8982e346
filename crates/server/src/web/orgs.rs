//! Settings > Org Management: one search over target orgs, product orgs and leads; possible
//! duplicates; target orgs (pages), each with its product orgs and linked leads; a product org
//! with every field, its change history and a move to another target org. Leads are in
//! `leads`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::{ApiKeyId, ProductOrgId, TargetOrgId};
use trailspark_store::{HistoryEntry, Lead, PageRequest, ProductOrg, SearchQuery, TargetOrg};

use super::layout::{crumbs, page};
use super::org_move::{duplicate_note, move_form};
use super::org_search::{duplicates, results, search};
use super::session::Viewer;
use super::values::{fields, label, value, visible_id, when, when_opt};
use crate::app::App;
use crate::error::ApiError;
use crate::http::admin::product_org_json;
use crate::http::target_orgs::target_org_json;

/// Routes of Settings > Org Management.
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings/orgs", get(target_orgs))
        .route("/settings/orgs/{id}", get(target_org))
        .route("/settings/product-orgs/{id}", get(product_org))
        .merge(super::org_move::router())
        .merge(super::leads::router())
}

/// The way back to Org Management, for the pages below it.
pub(super) const HOME: (&str, &str) = ("Org Management", "/settings/orgs");

/// The target org list's query string: a search and the page to show.
#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

/// Org Management's search form, holding `q`, with the ways to the leads.
fn search_form(q: &str) -> Markup {
    html! {
        form.search method="get" action="/settings/orgs" role="search" {
            label for="q" { "Search target orgs, product orgs and leads" }
            div.search-row {
                input #q type="search" name="q" value=(q) placeholder="Org name, product org ID, lead email or ID";
                button type="submit" { "Search" }
            }
        }
        p { a href="/settings/leads" { "Leads" } " · " a href="/settings/leads?linked=false" { "Leads not linked to a target org" } }
    }
}

/// With `?q=`, what the search finds; else the possible duplicates and the tenant's target
/// orgs, 50 a page.
async fn target_orgs(
    State(app): State<App>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Markup, ApiError> {
    if let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let found = search(&app, viewer.tenant, q).await?;
        return Ok(page(
            "Search results",
            Some(&viewer),
            html! { (crumbs(&[HOME])) (search_form(q)) (results(&found)) },
        ));
    }
    let listing = SearchQuery {
        search: None,
        page: PageRequest {
            cursor: query.cursor.clone().filter(|c| !c.is_empty()),
            limit: 50,
        },
    };
    let orgs = app.store.list_target_orgs(viewer.tenant, &listing).await?;
    let duplicates = duplicates(&app, &viewer).await?;
    Ok(page(
        "Org Management",
        Some(&viewer),
        html! {
            (search_form(""))
            (duplicates)
            h2 { "Target orgs" }
            @if orgs.items.is_empty() {
                p.muted { "No target orgs yet: send a product org update and its target org appears here." }
            } @else {
                (target_org_table(&orgs.items))
            }
            @if let Some(next) = &orgs.next_cursor {
                a href={ "/settings/orgs?cursor=" (next) } { "Next page" }
            }
        },
    ))
}

/// The target orgs of a page of the list, a stack of rows on a phone.
fn target_org_table(orgs: &[TargetOrg]) -> Markup {
    html! {
        table.stack.wide-labels #target-orgs {
            thead { tr { th scope="col" { "Target org" } th scope="col" { "ID" } th scope="col" { "Product orgs" } th scope="col" { "Last update" } } }
            tbody {
                @for org in orgs {
                    tr {
                        td data-label="Target org" { a href=(target_href(org.id)) { (org.name) } }
                        td data-label="ID" { a href=(target_href(org.id)) { "#" (org.id.0) } }
                        td data-label="Product orgs" { (org.product_org_count) }
                        td data-label="Last update" { (when(&org.updated_at)) }
                    }
                }
            }
        }
    }
}

/// A target org: its facts and firmographics, its product orgs (one row each), its leads.
async fn target_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id = id
        .parse::<i64>()
        .map(TargetOrgId)
        .map_err(|_| ApiError::NotFound("No such target org.".into()))?;
    let detail = app.store.target_org(viewer.tenant, id).await?;
    let similar = similar_to(&app, &viewer, &detail.product_orgs).await?;
    // The name is the page's title, the firmographics and product orgs sections of their own.
    let mut summary = target_org_json(&detail.org);
    if let Some(map) = summary.as_object_mut() {
        map.remove("name");
        map.remove("firmographics");
        map.remove("productOrgCount");
    }
    Ok(page(
        &detail.org.name,
        Some(&viewer),
        html! {
            (crumbs(&[HOME]))
            (fields(&summary))
            h2 { "Firmographics" }
            @match &detail.org.firmographics {
                Some(map) if !map.is_empty() => (fields(&Value::Object(map.clone()))),
                _ => p.muted { "No firmographics set: import them from your CRM (see the admin API's firmographics import)." },
            }
            h2 { "Product orgs (" (detail.product_orgs.len()) ")" }
            @for org in &detail.product_orgs {
                (duplicate_note(&org.product_org_id, &similar))
            }
            (product_org_table(&detail.product_orgs))
            h2 { "Linked leads (" (detail.lead_count) ")" }
            @if detail.leads.is_empty() {
                p.muted { "No lead is linked yet: a lead is linked when one of its signals names one of these product orgs." }
            } @else {
                (lead_table(&detail.leads))
            }
            @if detail.lead_count > detail.leads.len() as i64 {
                p.muted { "Only the first " (detail.leads.len()) " are shown: " a href="/settings/leads" { "every lead" } "." }
            }
        },
    ))
}

/// Product orgs, one row each with the fields people compare them by; each id links to the
/// product org's page, which has every field.
pub(super) fn product_org_table(orgs: &[ProductOrg]) -> Markup {
    const SHOWN: [&str; 6] = [
        "name",
        "planName",
        "userCount",
        "mrr",
        "trialStatus",
        "updatedAt",
    ];
    html! {
        table.stack.wide-labels.product-orgs {
            thead { tr {
                th scope="col" { "Product org" }
                @for field in SHOWN { th scope="col" title=(field) { (label(field)) } }
            } }
            tbody {
                @for org in orgs {
                    @let json = product_org_json(org);
                    tr {
                        td data-label="Product org" { (product_org_link(&org.product_org_id)) }
                        @for field in SHOWN {
                            td data-label=(label(field)) {
                                (value(field, &json[field]))
                                // The plan's id, as the billing system names it, under its name.
                                @if field == "planName" { @if let Some(id) = &org.fields.plan_id { br; code.muted { (id) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Leads of a target org, each linking to its page.
fn lead_table(leads: &[Lead]) -> Markup {
    html! {
        table.stack.wide-labels #linked-leads {
            thead { tr { th scope="col" { "Lead" } th scope="col" { "Email" } th scope="col" { "Product org" } th scope="col" { "Latest signal" } } }
            tbody {
                @for lead in leads {
                    tr {
                        td data-label="Lead" { a href=(lead_href(lead)) { (lead.lead_id.as_str()) } }
                        td data-label="Email" { (lead.email.as_deref().unwrap_or("—")) }
                        td data-label="Product org" { @if let Some(id) = &lead.product_org_id { (product_org_link(id)) } }
                        td data-label="Latest signal" { (when(&lead.updated_at)) }
                    }
                }
            }
        }
    }
}

/// A product org with every field and its change history.
async fn product_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id =
        ProductOrgId::parse(id).map_err(|_| ApiError::NotFound("No such product org.".into()))?;
    let org = app.store.product_org(viewer.tenant, &id).await?;
    let first = PageRequest {
        cursor: None,
        limit: 100,
    };
    let (target, similar, history, keys) = tokio::try_join!(
        async {
            Ok::<_, ApiError>(
                app.store
                    .target_org(viewer.tenant, org.target_org_id)
                    .await?,
            )
        },
        similar_to(&app, &viewer, std::slice::from_ref(&org)),
        async {
            Ok(app
                .store
                .product_org_history(viewer.tenant, &id, &first)
                .await?)
        },
        async { Ok(app.store.list_api_keys(viewer.tenant).await?) },
    )?;
    let key_names: HashMap<&ApiKeyId, &str> =
        keys.iter().map(|k| (&k.id, k.name.as_str())).collect();
    let target_href = target_href(org.target_org_id);
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            (crumbs(&[HOME, (&target.org.name, &target_href)]))
            (duplicate_note(&id, &similar))
            (product_org_facts(&org, &target.org.name))
            h2 { "Change history (newest first)" }
            @if history.items.is_empty() {
                p.muted { "No change recorded yet." }
            } @else {
                (history_table(&history.items, &key_names))
            }
            @if history.next_cursor.is_some() {
                p.muted { "Only the latest " (history.items.len()) " changes are shown; the admin API pages through the rest." }
            }
            (move_form(&viewer, &org, &similar))
        },
    ))
}

/// Every field of a product org, its ids as links and its values as read.
fn product_org_facts(org: &ProductOrg, target_name: &str) -> Markup {
    let json = product_org_json(org);
    let rest = json.as_object().into_iter().flatten();
    html! {
        table.facts #product-org-fields {
            tbody {
                tr { th scope="row" { "Product org ID" } td { (visible_id(org.product_org_id.as_str())) } }
                tr { th scope="row" { "Target org" } td { a href=(target_href(org.target_org_id)) { (target_name) " (#" (org.target_org_id.0) ")" } } }
                @for (name, shown) in rest.filter(|(n, _)| *n != "productOrgId" && *n != "targetOrgId") {
                    tr { th scope="row" title=(name) { (label(name)) } td { (value(name, shown)) } }
                }
            }
        }
    }
}

/// A product org's history: each entry's changes as field | old → new, when, and the key that
/// sent it (by name, linking to its page).
fn history_table(entries: &[HistoryEntry], key_names: &HashMap<&ApiKeyId, &str>) -> Markup {
    html! {
        table.stack.wide-labels #history {
            thead { tr { th scope="col" { "Version" } th scope="col" { "Changes" } th scope="col" { "Event time" } th scope="col" { "Received" } th scope="col" { "Sent with" } } }
            tbody {
                @for entry in entries {
                    tr {
                        td data-label="Version" { (entry.version) }
                        td.changes data-label="Changes" { (super::values::changes(&entry.changes)) }
                        td data-label="Event time" { (when_opt(entry.event_at.as_ref())) }
                        td data-label="Received" { (when(&entry.received_at)) }
                        td data-label="Sent with" {
                            a href={ "/settings/api-keys/" (urlencode(&entry.key_id.0)) } {
                                (key_names.get(&entry.key_id).copied().unwrap_or(entry.key_id.0.as_str()))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Every product org whose id folds like one of `orgs`' (theirs included), for
/// [`duplicate_note`].
async fn similar_to(
    app: &App,
    viewer: &Viewer,
    orgs: &[ProductOrg],
) -> Result<Vec<ProductOrg>, ApiError> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<ProductOrgId> = orgs.iter().map(|o| o.product_org_id.clone()).collect();
    Ok(app
        .store
        .product_orgs_folding_like(viewer.tenant, &ids)
        .await?)
}

/// The page of a target org.
pub(super) fn target_href(id: TargetOrgId) -> String {
    format!("/settings/orgs/{}", id.0)
}

/// The page of a product org.
pub(super) fn product_org_href(id: &ProductOrgId) -> String {
    format!("/settings/product-orgs/{}", urlencode(id.as_str()))
}

/// A product org's id, surrounding spaces shown, linking to its page.
pub(super) fn product_org_link(id: &ProductOrgId) -> Markup {
    html! { a href=(product_org_href(id)) { (visible_id(id.as_str())) } }
}

/// The page of a lead.
pub(super) fn lead_href(lead: &Lead) -> String {
    format!("/settings/leads/{}", urlencode(lead.lead_id.as_str()))
}

/// `text` as one percent-encoded path segment.
pub(super) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
