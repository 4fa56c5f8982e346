//! Org Management's leads: the list (every lead, or only those not linked to a target org,
//! each of those with why and, when a product org's id differs from the one it names only by
//! case or surrounding spaces, that product org), and a lead's page: why it is linked or not
//! and what would link it, and its evaluation context in words.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::{LeadId, ProductOrgId, UnlinkedReason};
use trailspark_store::{
    did_you_mean, EvaluationContext, Lead, PageRequest, SearchQuery, UnlinkedLead,
};

use super::layout::{crumbs, page};
use super::orgs::{lead_href, product_org_link, product_org_table, target_href, urlencode, HOME};
use super::session::Viewer;
use super::values::{fields, value, visible_id, when, when_opt};
use crate::app::App;
use crate::error::ApiError;
use crate::http::leads::evaluation_context_json;

/// Routes of the leads list and a lead's page.
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings/leads", get(leads))
        .route("/settings/leads/{id}", get(lead))
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
            (crumbs(&[HOME]))
            form.filters method="get" action="/settings/leads" role="search" {
                div {
                    label for="q" { "Lead ID or email" }
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
        table.stack.wide-labels #leads {
            thead { tr { th scope="col" { "Lead" } th scope="col" { "Email" } th scope="col" { "Product org" } th scope="col" { "Target org" } th scope="col" { "Latest signal" } } }
            tbody {
                @for (lead, unlinked) in rows {
                    tr {
                        td data-label="Lead" { a href=(lead_href(lead)) { (lead.lead_id.as_str()) } }
                        td data-label="Email" { (lead.email.as_deref().unwrap_or("—")) }
                        td data-label="Product org" {
                            // Only a linked lead's product org exists, and has a page.
                            @match (&lead.product_org_id, lead.target_org_id) {
                                (Some(id), Some(_)) => (product_org_link(id)),
                                (Some(id), None) => (visible_id(id.as_str())),
                                (None, _) => "—",
                            }
                        }
                        td.why data-label="Target org" {
                            @match (lead.target_org_id, unlinked) {
                                (Some(target), _) => a href=(target_href(target)) { "#" (target.0) },
                                (None, Some(unlinked)) => (why_not_linked(unlinked)),
                                (None, None) => "not linked yet",
                            }
                        }
                        td data-label="Latest signal" { (when(&lead.updated_at)) }
                    }
                }
            }
        }
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
                    "product org " (visible_id(named.as_str())) " not found"
                    @if let Some(similar) = &unlinked.did_you_mean {
                        " — did you mean " (product_org_link(similar))
                        "? Lead signals must carry the product org's id exactly (case and spaces count)."
                    } @else {
                        " (the lead is linked when a product org of this exact id is created)."
                    }
                }
                _ => { "no product org id in its signals: map " code { "productOrgId" } " in the signal key's template." }
            }
        }
    }
}

/// A lead: how it is linked, or why not and what would link it; its facts; its evaluation
/// context as sections, and as the JSON a model reads.
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
                Some(named) => did_you_mean(
                    named,
                    &app.store
                        .product_orgs_folding_like(viewer.tenant, std::slice::from_ref(named))
                        .await?,
                ),
                None => None,
            };
            Some(UnlinkedLead {
                lead: context.lead.clone(),
                did_you_mean: similar,
            })
        }
    };
    let list = match unlinked {
        Some(_) => ("Leads not linked", "/settings/leads?linked=false"),
        None => ("Leads", "/settings/leads"),
    };
    let json = serde_json::to_string_pretty(&evaluation_context_json(&context)).unwrap_or_default();
    Ok(page(
        id.as_str(),
        Some(&viewer),
        html! {
            (crumbs(&[HOME, list]))
            @match &unlinked {
                Some(unlinked) => (explain_unlinked(unlinked)),
                None => (explain_linked(&context.lead)),
            }
            (lead_facts(&context.lead))
            h2 { "Evaluation context" }
            p.muted {
                "What a lead-scoring model reads about this lead: its latest signals, and its target org's firmographics and product orgs. The admin API answers it as JSON at "
                code.url { "/api/admin/leads/" (urlencode(id.as_str())) "/evaluation-context" } "."
            }
            (context_sections(&context))
            details.json { summary { "The evaluation context as JSON" } pre { (json) } }
        },
    ))
}

/// How a linked lead is linked: through the product org its latest signal named.
fn explain_linked(lead: &Lead) -> Markup {
    html! {
        p.linked #link-status {
            @if let (Some(target), Some(named)) = (lead.target_org_id, &lead.product_org_id) {
                "Linked to target org " a href=(target_href(target)) { "#" (target.0) }
                " through product org " (product_org_link(named))
                ", named by its most recent signal that carries a product org ID."
            }
        }
    }
}

/// Why a lead is not linked yet, in words, and what would link it.
fn explain_unlinked(unlinked: &UnlinkedLead) -> Markup {
    let exact = "Product org IDs match exactly: letter case and surrounding spaces count.";
    html! {
        section.notice #why-not-linked aria-labelledby="why-not-linked-title" {
            h2 #why-not-linked-title { "Why this lead is not linked yet" }
            @match (&unlinked.lead.product_org_id, &unlinked.did_you_mean) {
                (Some(named), Some(similar)) => {
                    p { "Its signals name product org " (visible_id(named.as_str())) ", and no product org has that ID — did you mean " (product_org_link(similar)) "? " (exact) }
                    p { strong { "What links it: " } "fix the sender so that its signals carry " (visible_id(similar.as_str())) ": the next such signal links the lead. If " (visible_id(named.as_str())) " is right after all, the first product org update for it creates that product org and links the lead at once." }
                }
                (Some(named), None) => {
                    p { "Its signals name product org " (visible_id(named.as_str())) ", and no product org has that ID yet. " (exact) }
                    p { strong { "What links it: " } "the first product org update for " (visible_id(named.as_str())) " creates that product org and links the lead to its target org at once; nothing needs to be sent again. A later signal that names a product org that exists links it too." }
                }
                (None, _) => {
                    p { "None of its signals carries a product org ID, so there is no product org to link it through." }
                    p { strong { "What links it: " } "map " code { "productOrgId" } " in the template of the key that sends its signals (" a href="/settings/api-keys" { "API Keys" } "); the next signal that names a product org that exists links the lead." }
                }
            }
        }
    }
}

/// A lead's own fields, its product and target orgs as links where they exist.
fn lead_facts(lead: &Lead) -> Markup {
    html! {
        table.facts #lead-fields {
            tbody {
                tr { th scope="row" { "Lead ID" } td { code { (lead.lead_id.as_str()) } } }
                tr { th scope="row" { "Email" } td { (lead.email.as_deref().unwrap_or("—")) } }
                tr { th scope="row" { "Product org" } td {
                    @match (&lead.product_org_id, lead.target_org_id) {
                        (Some(id), Some(_)) => (product_org_link(id)),
                        (Some(id), None) => { (visible_id(id.as_str())) " (does not exist yet)" },
                        (None, _) => "—",
                    }
                } }
                tr { th scope="row" { "Target org" } td {
                    @match lead.target_org_id {
                        Some(target) => a href=(target_href(target)) { "#" (target.0) },
                        None => "not linked yet",
                    }
                } }
                tr { th scope="row" { "First signal" } td { (when(&lead.created_at)) } }
                tr { th scope="row" { "Latest signal" } td { (when(&lead.updated_at)) } }
            }
        }
    }
}

/// The evaluation context's parts: the signals, the firmographics, the product orgs.
fn context_sections(context: &EvaluationContext) -> Markup {
    let exists = |id: &ProductOrgId| context.product_orgs.iter().any(|o| &o.product_org_id == id);
    html! { section.context {
        h3 { "Signals (" (context.signals.len()) ", newest first)" }
        table.stack.wide-labels #signals {
            thead { tr { th scope="col" { "Signal" } th scope="col" { "Product org" } th scope="col" { "Properties" } th scope="col" { "Custom fields" } th scope="col" { "Event time" } th scope="col" { "Received" } } }
            tbody {
                @for signal in &context.signals {
                    tr {
                        td data-label="Signal" { (signal.name.as_deref().unwrap_or("—")) }
                        td data-label="Product org" {
                            @match &signal.product_org_id {
                                Some(id) if exists(id) => (product_org_link(id)),
                                Some(id) => (visible_id(id.as_str())),
                                None => "—",
                            }
                        }
                        td data-label="Properties" { (value("properties", &signal.properties.clone().map_or(Value::Null, Value::Object))) }
                        td data-label="Custom fields" { (value("customFields", &Value::Object(signal.custom_fields.clone()))) }
                        td data-label="Event time" { (when_opt(signal.event_at.as_ref())) }
                        td data-label="Received" { (when(&signal.received_at)) }
                    }
                }
            }
        }
        h3 { "Firmographics of its target org" }
        @match &context.firmographics {
            Some(map) if !map.is_empty() => (fields(&Value::Object(map.clone()))),
            _ => p.muted { "None: " @if context.lead.target_org_id.is_some() { "its target org has none set." } @else { "the lead has no target org yet." } },
        }
        h3 { "Product orgs of its target org" }
        @if context.product_orgs.is_empty() {
            p.muted { "None: the lead has no target org yet." }
        } @else {
            (product_org_table(&context.product_orgs))
        }
    } }
}
