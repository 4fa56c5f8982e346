//! Org Management's one search (target org names, product org ids and names, lead ids and
//! emails, answered in groups) and its list of possible duplicates.

use maud::{html, Markup};
use trailspark_core::TenantId;
use trailspark_store::{Page, PageRequest, ProductOrg, SearchQuery};

use super::org_move::move_under;
use super::orgs::{lead_href, product_org_link, target_href, urlencode};
use super::session::Viewer;
use super::values::counted;
use crate::app::App;
use crate::error::ApiError;

/// Most items of each group of search results.
const PER_GROUP: u32 = 20;
/// Most groups of possible duplicates on the page.
const DUPLICATE_GROUPS: u32 = 50;

/// What the search finds, group by group.
pub struct Found {
    query: String,
    target_orgs: Page<trailspark_store::TargetOrg>,
    product_orgs: Page<ProductOrg>,
    leads: Page<trailspark_store::Lead>,
}

/// Searches the tenant's target orgs, product orgs and leads for `q` (trimmed: a pasted id's
/// stray spaces would otherwise find nothing).
pub async fn search(app: &App, tenant: TenantId, q: &str) -> Result<Found, ApiError> {
    let query = q.trim().to_owned();
    let listing = SearchQuery {
        search: Some(query.clone()),
        page: PageRequest {
            cursor: None,
            limit: PER_GROUP,
        },
    };
    let (target_orgs, product_orgs, leads) = tokio::try_join!(
        app.store.list_target_orgs(tenant, &listing),
        app.store.list_product_orgs(tenant, &listing),
        app.store.list_leads(tenant, &listing),
    )?;
    Ok(Found {
        query,
        target_orgs,
        product_orgs,
        leads,
    })
}

/// The search results in groups, each item a link to its page; or, when nothing matched, says
/// so with the query and how search matches.
pub fn results(found: &Found) -> Markup {
    let nothing = found.target_orgs.items.is_empty()
        && found.product_orgs.items.is_empty()
        && found.leads.items.is_empty();
    let more = |page_more: bool| {
        html! { @if page_more { li.muted { "Only the first " (PER_GROUP) " are shown: make the search longer to narrow it." } } }
    };
    html! {
        section #search-results aria-label="Search results" {
            @if nothing {
                p #no-match role="status" { "No match for “" (found.query) "”." }
                p.muted { (HINT) }
            } @else {
                @if !found.target_orgs.items.is_empty() {
                    h2 { "Target orgs (" (found.target_orgs.items.len()) ")" }
                    ul #target-org-results {
                        @for org in &found.target_orgs.items {
                            li {
                                a href=(target_href(org.id)) { (org.name) } " · "
                                a href=(target_href(org.id)) { "#" (org.id.0) } " · "
                                (counted(org.product_org_count.unsigned_abs(), "product org"))
                            }
                        }
                        (more(found.target_orgs.next_cursor.is_some()))
                    }
                }
                @if !found.product_orgs.items.is_empty() {
                    h2 { "Product orgs (" (found.product_orgs.items.len()) ")" }
                    ul #product-org-results {
                        @for org in &found.product_orgs.items {
                            li {
                                (product_org_link(&org.product_org_id))
                                @if let Some(name) = &org.fields.name { " · " (name) }
                                " · target org " a href=(target_href(org.target_org_id)) { "#" (org.target_org_id.0) }
                            }
                        }
                        (more(found.product_orgs.next_cursor.is_some()))
                    }
                }
                @if !found.leads.items.is_empty() {
                    h2 { "Leads (" (found.leads.items.len()) ")" }
                    ul #lead-results {
                        @for lead in &found.leads.items {
                            li {
                                a href=(lead_href(lead)) { (lead.lead_id.as_str()) }
                                @if let Some(email) = &lead.email { @if email != lead.lead_id.as_str() { " · " (email) } }
                                @match lead.target_org_id {
                                    Some(target) => { " · target org " a href=(target_href(target)) { "#" (target.0) } },
                                    None => { " · not linked yet" },
                                }
                            }
                        }
                        @if found.leads.next_cursor.is_some() {
                            li { a href={ "/settings/leads?q=" (urlencode(&found.query)) } { "Every lead that matches →" } }
                        }
                    }
                }
                p.muted { (HINT) }
            }
        }
    }
}

/// How the search matches, said with its results.
const HINT: &str = "Search is case-insensitive and matches any part of a target org's name, a \
    product org's id or name, or a lead's id or email (so an id's first characters find it).";

/// The tenant's possible duplicates, each group with the moves that would put its product orgs
/// under one target org; nothing when there are none.
pub async fn duplicates(app: &App, viewer: &Viewer) -> Result<Markup, ApiError> {
    let mut groups = app
        .store
        .possible_duplicates(viewer.tenant, DUPLICATE_GROUPS + 1)
        .await?;
    let more = groups.len() > DUPLICATE_GROUPS as usize;
    groups.truncate(DUPLICATE_GROUPS as usize);
    Ok(html! {
        @if !groups.is_empty() {
            section.notice #possible-duplicates aria-labelledby="possible-duplicates-title" {
                h2 #possible-duplicates-title { "Possible duplicates" }
                p { "These product orgs have ids that differ only by letter case or surrounding spaces (shown as ␣), which usually means two sources send one workspace's id in two forms. Ids match exactly, so each is a product org of its own: fix the sources to send one form, and move the product orgs under one target org." }
                ul {
                    @for group in &groups {
                        li.duplicate-group { (group_of(viewer, group)) }
                    }
                }
                @if more { p.muted { "Only the first " (DUPLICATE_GROUPS) " groups are shown." } }
            }
        }
    })
}

/// One group of possible duplicates: its product orgs and their target orgs, then a move for
/// each product org not under the first one's target org.
fn group_of(viewer: &Viewer, group: &[ProductOrg]) -> Markup {
    let Some(first) = group.first() else {
        return html! {};
    };
    let apart = group.iter().any(|o| o.target_org_id != first.target_org_id);
    html! {
        @for (n, org) in group.iter().enumerate() {
            @if n > 0 { ", " }
            (product_org_link(&org.product_org_id))
            " (target org " a href=(target_href(org.target_org_id)) { "#" (org.target_org_id.0) } ")"
        }
        @if apart {
            @for org in group.iter().filter(|o| o.target_org_id != first.target_org_id) {
                (move_under(viewer, org, first))
            }
        } @else {
            " — under one target org already."
        }
    }
}
