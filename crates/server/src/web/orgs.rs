//! Settings > Org Management: one search over target orgs, product orgs and leads; possible
//! duplicates; target orgs (pages), each with its product orgs and linked leads; a product org
//! with every field, its change history and a move to another target org; a lead's evaluation
//! context.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::{LeadId, ProductOrgId, TargetOrgId};
use trailspark_store::{PageRequest, ProductOrg, SearchQuery, UnlinkedLead};

use super::layout::{fields, page, shown, time};
use super::leads::why_not_linked;
use super::org_move::{duplicate_note, move_form};
use super::org_search::{duplicates, results, search};
use super::session::Viewer;
use crate::app::App;
use crate::error::ApiError;
use crate::http::admin::{history_json, product_org_json};
use crate::http::leads::{evaluation_context_json, lead_json};
use crate::http::target_orgs::target_org_json;

/// Routes of Settings > Org Management.
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings/orgs", get(target_orgs))
        .route("/settings/orgs/{id}", get(target_org))
        .route("/settings/product-orgs/{id}", get(product_org))
        .route("/settings/leads/{id}", get(lead))
        .merge(super::org_move::router())
        .merge(super::leads::router())
}

/// The target org list's query string: a search and the page to show.
#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

/// With `?q=`, what the search finds; else the possible duplicates and the tenant's target
/// orgs, 50 a page.
async fn target_orgs(
    State(app): State<App>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Markup, ApiError> {
    let search_form = |q: &str| {
        html! {
            form method="get" action="/settings/orgs" role="search" {
                label for="q" { "Search target orgs, product orgs and leads" }
                input #q type="search" name="q" value=(q) placeholder="Target org name, product org id, lead email or id";
                button type="submit" { "Search" }
            }
            p { a href="/settings/leads" { "Leads" } " · " a href="/settings/leads?linked=false" { "Leads not linked to a target org" } }
        }
    };
    if let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let found = search(&app, viewer.tenant, q).await?;
        return Ok(page(
            "Org Management",
            Some(&viewer),
            html! {
                (search_form(q))
                (results(&found))
                p { a href="/settings/orgs" { "← All target orgs" } }
            },
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
                a href={ "/settings/orgs?cursor=" (next) } { "Next page" }
            }
        },
    ))
}

/// A target org: its firmographics, every field of its product orgs, its linked leads.
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
                (duplicate_note(&org.product_org_id, &similar))
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

/// A product org with every field and its change history.
async fn product_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id =
        ProductOrgId::parse(id).map_err(|_| ApiError::NotFound("No such product org.".into()))?;
    let org = app.store.product_org(viewer.tenant, &id).await?;
    let similar = similar_to(&app, &viewer, std::slice::from_ref(&org)).await?;
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
        .await?;
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            p { a href={ "/settings/orgs/" (org.target_org_id.0) } { "← its target org" } }
            (duplicate_note(&id, &similar))
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
            (move_form(&viewer, &org, &similar))
        },
    ))
}

/// A lead and its evaluation context.
async fn lead(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let id = LeadId::parse(id).map_err(|_| ApiError::NotFound("No such lead.".into()))?;
    let context = app.store.evaluation_context(viewer.tenant, &id, 50).await?;
    let unlinked = match (&context.lead.target_org_id, &context.lead.product_org_id) {
        (Some(_), _) => None,
        (None, named) => {
            let similar = match named {
                Some(named) => similar_to_id(&app, &viewer, named).await?,
                None => None,
            };
            Some(UnlinkedLead {
                lead: context.lead.clone(),
                did_you_mean: similar,
            })
        }
    };
    let json = evaluation_context_json(&context);
    let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            @if let Some(unlinked) = &unlinked { p.notice #why-not-linked { (why_not_linked(unlinked)) } }
            (fields(&lead_json(&context.lead)))
            h2 { "Evaluation context" }
            p.muted { "What a lead-scoring model reads for this lead (also at /api/admin/leads/{leadId}/evaluation-context)." }
            pre { (pretty) }
        },
    ))
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

/// What a lead naming `named` (which does not exist) probably meant.
async fn similar_to_id(
    app: &App,
    viewer: &Viewer,
    named: &ProductOrgId,
) -> Result<Option<ProductOrgId>, ApiError> {
    let like = app
        .store
        .product_orgs_folding_like(viewer.tenant, std::slice::from_ref(named))
        .await?;
    Ok(trailspark_store::did_you_mean(named, &like))
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
