//! Org Management's leads list: every lead, or only those not linked to a target org, each of
//! those with why and, when a product org's id differs from the one it names only by case or
//! surrounding spaces, that product org.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use trailspark_core::{ProductOrgId, UnlinkedReason};
use trailspark_store::{did_you_mean, Lead, PageRequest, SearchQuery, UnlinkedLead};

use super::layout::page;
use super::org_move::visible_id;
use super::orgs::urlencode;
use super::session::Viewer;
use crate::app::App;
use crate::error::ApiError;

/// Route of the leads list.
pub fn router() -> Router<App> {
    Router::new().route("/settings/leads", get(leads))
}

/// The list's query string: a search, `linked=false` for the unlinked only, the page.
#[derive(Deserialize)]
struct LeadsQuery {
    q: Option<String>,
    linked: Option<String>,
    cursor: Option<String>,
}

/// The tenant's leads, 50 a page, searchable by id or email.
async fn leads(
    State(app): State<App>,
    viewer: Viewer,
    Query(query): Query<LeadsQuery>,
) -> Result<Markup, ApiError> {
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    let unlinked_only = query.linked.as_deref() == Some("false");
    let listing = SearchQuery {
        search: search.clone(),
        page: PageRequest {
            cursor: query.cursor.clone().filter(|c| !c.is_empty()),
            limit: 50,
        },
    };
    let (rows, next) = if unlinked_only {
        let found = app.store.unlinked_leads(viewer.tenant, &listing).await?;
        let rows = found
            .items
            .into_iter()
            .map(|u| (u.lead.clone(), Some(u)))
            .collect();
        (rows, found.next_cursor)
    } else {
        let found = app.store.list_leads(viewer.tenant, &listing).await?;
        (
            with_reasons(&app, &viewer, found.items).await?,
            found.next_cursor,
        )
    };
    let next_href = next.map(|next| {
        let mut href = format!("/settings/leads?cursor={next}");
        if let Some(q) = &search {
            href.push_str(&format!("&q={}", urlencode(q)));
        }
        if unlinked_only {
            href.push_str("&linked=false");
        }
        href
    });
    let title = if unlinked_only {
        "Leads not linked to a target org"
    } else {
        "Leads"
    };
    Ok(page(
        title,
        Some(&viewer),
        html! {
            p { a href="/settings/orgs" { "← Org Management" } }
            form.filters method="get" action="/settings/leads" role="search" {
                div {
                    label for="q" { "Lead id or email" }
                    input #q type="search" name="q" value=(search.clone().unwrap_or_default());
                }
                div.check {
                    input #linked type="checkbox" name="linked" value="false" checked[unlinked_only];
                    " " label for="linked" { "Only leads not linked to a target org" }
                }
                div { button type="submit" { "Show" } }
            }
            @if rows.is_empty() {
                p.muted #no-leads {
                    @if unlinked_only { "Every lead" @if search.is_some() { " that matches" } " is linked to a target org." }
                    @else if let Some(q) = &search { "No lead matches “" (q) "”: search is case-insensitive and matches any part of a lead's id or email." }
                    @else { "No leads yet: send a signal and its lead appears here." }
                }
            } @else {
                (table(&rows))
            }
            @if let Some(href) = &next_href { a href=(href) { "Next page" } }
        },
    ))
}

/// The leads, each with its target org or why it has none.
fn table(rows: &[(Lead, Option<UnlinkedLead>)]) -> Markup {
    html! {
        div.scroll { table.stack #leads {
            thead { tr { th { "Lead" } th { "Email" } th { "Product org" } th { "Target org" } } }
            tbody {
                @for (lead, unlinked) in rows {
                    tr {
                        td data-label="Lead" { a href={ "/settings/leads/" (urlencode(lead.lead_id.as_str())) } { (lead.lead_id.as_str()) } }
                        td data-label="Email" { (lead.email.clone().unwrap_or_default()) }
                        td data-label="Product org" {
                            @if let Some(id) = &lead.product_org_id { (visible_id(id)) }
                        }
                        td data-label="Target org" {
                            @match (lead.target_org_id, unlinked) {
                                (Some(target), _) => a href={ "/settings/orgs/" (target.0) } { "#" (target.0) },
                                (None, Some(unlinked)) => (why_not_linked(unlinked)),
                                (None, None) => "not linked",
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// Each lead of a page, with, for those not linked, why and what they probably meant: one
/// lookup for the whole page.
async fn with_reasons(
    app: &App,
    viewer: &Viewer,
    leads: Vec<Lead>,
) -> Result<Vec<(Lead, Option<UnlinkedLead>)>, ApiError> {
    let named: Vec<ProductOrgId> = leads
        .iter()
        .filter(|l| l.target_org_id.is_none())
        .filter_map(|l| l.product_org_id.clone())
        .collect();
    let similar = if named.is_empty() {
        Vec::new()
    } else {
        app.store
            .product_orgs_folding_like(viewer.tenant, &named)
            .await?
    };
    Ok(leads
        .into_iter()
        .map(|lead| {
            let unlinked = lead.target_org_id.is_none().then(|| UnlinkedLead {
                did_you_mean: lead
                    .product_org_id
                    .as_ref()
                    .and_then(|named| did_you_mean(named, &similar)),
                lead: lead.clone(),
            });
            (lead, unlinked)
        })
        .collect())
}

/// Why a lead is not linked, in words, with the product org it probably meant as a link.
pub fn why_not_linked(unlinked: &UnlinkedLead) -> Markup {
    html! {
        span.unlinked {
            "Not linked: "
            @match (unlinked.reason(), &unlinked.lead.product_org_id) {
                (UnlinkedReason::ProductOrgNotFound, Some(named)) => {
                    "product org " (visible_id(named)) " not found"
                    @if let Some(similar) = &unlinked.did_you_mean {
                        " — did you mean "
                        a href={ "/settings/product-orgs/" (urlencode(similar.as_str())) } { (visible_id(similar)) }
                        "? Lead signals must carry the product org's id exactly (case and spaces count)."
                    } @else {
                        " (the lead is linked when a product org of this exact id is created)."
                    }
                }
                _ => { "no product org id in its signals: map productOrgId in the signal key's template." }
            }
        }
    }
}
