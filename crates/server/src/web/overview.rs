//! The overview, the first page after sign-in (`/`): what is happening across the tenant's
//! keys (deliveries per hour by outcome over the last 24 hours, each key's health, the newest
//! refusals with their reasons) and how much it holds (product orgs, target orgs, leads). On a
//! store that has had no delivery yet, the three steps to the first update come first
//! ([`steps`]).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use trailspark_store::{
    ApiKeyRecord, Delivery, DeliveryQuery, HourBar, KeyTraffic, Outcome, PageRequest, TenantCounts,
};

use super::chart::hourly_chart;
use super::key_health::percent;
use super::key_page::key_href;
use super::layout::page;
use super::session::Viewer;
use super::values::{grouped, message, when, when_opt};
use crate::app::App;
use crate::error::ApiError;

mod steps;

/// Refusals listed, newest first, across the keys.
const REFUSALS: u32 = 10;

/// The route of the overview.
pub fn router() -> Router<App> {
    Router::new().route("/", get(overview))
}

/// `/`: the overview for a signed-in browser, else the sign-in form.
async fn overview(
    State(app): State<App>,
    viewer: Result<Viewer, Response>,
    headers: HeaderMap,
) -> Response {
    let Ok(viewer) = viewer else {
        return Redirect::to("/login").into_response();
    };
    match read(&app, &viewer).await {
        Ok(overview) => draw(&app, &viewer, &headers, &overview).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A key with its traffic over the last 24 hours (the figures of its health the overview shows;
/// the whole health, with its refusals and changed fields, is on the key's page).
struct KeyRow {
    key: ApiKeyRecord,
    traffic: KeyTraffic,
}

/// A refused delivery and the name of its key.
struct Refused {
    delivery: Delivery,
    key_name: String,
}

/// What the overview shows, read from the store.
struct Overview {
    keys: Vec<KeyRow>,
    /// The keys' hours added up, oldest first.
    hours: Vec<HourBar>,
    refusals: Vec<Refused>,
    counts: TenantCounts,
    /// Whether any key has ever been used: if not, the first steps are shown.
    delivered: bool,
}

/// Reads the tenant's keys with their health and refusals, and its counts. A tenant has few
/// keys: one read of its hourly counts and one of its log per key.
async fn read(app: &App, viewer: &Viewer) -> Result<Overview, ApiError> {
    let store = app.store.as_ref();
    let (keys, counts) = tokio::join!(
        store.list_api_keys(viewer.tenant),
        store.tenant_counts(viewer.tenant)
    );
    let (keys, counts) = (keys?, counts?);
    // One `now` for every key, so that their hours line up.
    let now = Utc::now();
    let mut rows = Vec::with_capacity(keys.len());
    let mut refusals = Vec::new();
    for key in keys {
        let traffic = trailspark_store::key_traffic(store, &key, now).await?;
        for delivery in log(app, &key, Some(Outcome::Refused), REFUSALS).await? {
            let key_name = key.name.clone();
            refusals.push(Refused { delivery, key_name });
        }
        rows.push(KeyRow { key, traffic });
    }
    refusals.sort_by_key(|r| std::cmp::Reverse((r.delivery.row.received_at, r.delivery.id)));
    refusals.truncate(REFUSALS as usize);
    let delivered = delivered(app, &rows, !refusals.is_empty()).await?;
    Ok(Overview {
        hours: sum_hours(&rows, now),
        keys: rows,
        refusals,
        counts,
        delivered,
    })
}

/// The newest `limit` entries of a key's log, of `outcome` if given.
async fn log(
    app: &App,
    key: &ApiKeyRecord,
    outcome: Option<Outcome>,
    limit: u32,
) -> Result<Vec<Delivery>, ApiError> {
    let query = DeliveryQuery {
        outcome,
        page: PageRequest {
            cursor: None,
            limit,
        },
        ..DeliveryQuery::default()
    };
    Ok(app
        .store
        .deliveries(key.tenant_id, &key.id, &query)
        .await?
        .items)
}

/// Whether any key has delivered anything: used, counted in the window, or in the log (which
/// keeps older entries than the window), read last and only when nothing else says so.
async fn delivered(app: &App, rows: &[KeyRow], refused: bool) -> Result<bool, ApiError> {
    if refused
        || rows
            .iter()
            .any(|r| r.key.last_used_at.is_some() || r.traffic.updates > 0)
    {
        return Ok(true);
    }
    for row in rows {
        if !log(app, &row.key, None, 1).await?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every key's hours added up; without keys, the window's hours with nothing in them.
fn sum_hours(rows: &[KeyRow], now: DateTime<Utc>) -> Vec<HourBar> {
    let since = trailspark_store::window_start(now);
    let mut hours: Vec<HourBar> = (0..trailspark_store::WINDOW_HOURS)
        .map(|n| HourBar {
            hour: since + chrono::Duration::hours(n),
            applied: 0,
            unchanged: 0,
            duplicate: 0,
            refused: 0,
        })
        .collect();
    for row in rows {
        for (sum, hour) in hours.iter_mut().zip(&row.traffic.hours) {
            sum.applied += hour.applied;
            sum.unchanged += hour.unchanged;
            sum.duplicate += hour.duplicate;
            sum.refused += hour.refused;
        }
    }
    hours
}

/// The page.
fn draw(app: &App, viewer: &Viewer, headers: &HeaderMap, overview: &Overview) -> Markup {
    page(
        "Overview",
        Some(viewer),
        html! {
            @if !overview.delivered {
                (steps::first_steps(app, headers, &overview.keys.iter().map(|r| &r.key).collect::<Vec<_>>()))
            }
            (counts(&overview.counts))
            (deliveries(&overview.hours))
            (keys(&overview.keys))
            (refusals(&overview.refusals))
        },
    )
}

/// The product orgs, target orgs and leads, each linked to where it is listed.
fn counts(counts: &TenantCounts) -> Markup {
    let figures = [
        (
            "product-orgs",
            counts.product_orgs,
            "Product orgs",
            "/settings/orgs",
        ),
        (
            "target-orgs",
            counts.target_orgs,
            "Target orgs",
            "/settings/orgs",
        ),
        ("leads", counts.leads, "Leads", "/settings/leads"),
    ];
    html! {
        section #counts aria-labelledby="counts-title" {
            h2 #counts-title { "Data" }
            ul.counts {
                @for (id, count, name, href) in figures {
                    li {
                        a id={ "count-" (id) } href=(href) {
                            span.count { (grouped(count)) }
                            " "
                            span.name { (name) }
                        }
                    }
                }
            }
        }
    }
}

/// Deliveries per hour by outcome across the keys, with the totals in words.
fn deliveries(hours: &[HourBar]) -> Markup {
    let total = |outcome| hours.iter().map(|h| h.of(outcome)).sum::<u64>();
    let all: u64 = hours.iter().map(HourBar::total).sum();
    let refused = total(Outcome::Refused);
    let share = if all == 0 {
        0.0
    } else {
        refused as f64 / all as f64
    };
    html! {
        section #deliveries-24h {
            h2 { "Deliveries, last 24 hours" }
            p.muted #deliveries-source { "Every delivery, counted as it arrived, those the delivery log no longer keeps included (it keeps each key's newest " code { "--deliveries-per-key" } ")." }
            p #delivery-totals {
                strong { (grouped(all)) } " updates: "
                @for (n, outcome) in [Outcome::Applied, Outcome::Unchanged, Outcome::Duplicate].into_iter().enumerate() {
                    @if n > 0 { ", " }
                    span data-outcome=(outcome.as_str()) { (grouped(total(outcome))) } " " (outcome.as_str())
                }
                ", " span data-outcome="refused" { (grouped(refused)) } " refused (" (percent(share)) ")."
            }
            (hourly_chart("overview-chart", hours))
        }
    }
}

/// Each key with its status and health.
fn keys(rows: &[KeyRow]) -> Markup {
    html! {
        section #keys {
            h2 { "Keys" }
            @if rows.is_empty() {
                p.muted { "No key yet." }
            } @else {
                table.stack #overview-keys {
                    caption.muted { "Updates and the refused share over the last 24 hours." }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Status" }
                        th scope="col" { "Updates" } th scope="col" { "Refused" } th scope="col" { "Last used" }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                td data-label="Name" { a href=(key_href(&row.key)) { (row.key.name) } }
                                td data-label="Type" { (row.key.endpoint_type.title()) }
                                td data-label="Status" { (status(&row.key)) }
                                td data-label="Updates" { (grouped(row.traffic.updates)) }
                                td data-label="Refused" {
                                    @if row.traffic.updates == 0 { "—" } @else { (percent(row.traffic.refused_share)) }
                                }
                                td data-label="Last used" { (when_opt(row.key.last_used_at.as_ref())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether a key works: active, expired or revoked.
fn status(key: &ApiKeyRecord) -> &'static str {
    match (key.revoked_at, key.expires_at) {
        (Some(_), _) => "Revoked",
        (None, Some(at)) if at <= Utc::now() => "Expired",
        _ => "Active",
    }
}

/// The newest refused deliveries across the keys, each with its reason and its detail linked.
fn refusals(refusals: &[Refused]) -> Markup {
    html! {
        section #refusals {
            h2 { "Recent refusals" }
            @if refusals.is_empty() {
                p.muted { "No update was refused." }
            } @else {
                p.muted {
                    @if refusals.len() == 1 { "The newest refused delivery" } @else { "The " (refusals.len()) " newest refused deliveries" }
                    ", of every key. Open one to see its payload and what the key's template makes of it."
                }
                table.stack #overview-refusals {
                    thead { tr {
                        th scope="col" { "Received" } th scope="col" { "Key" } th scope="col" { "Code" }
                        th scope="col" { "Reason" } th scope="col" { "Delivery" }
                    } }
                    tbody {
                        @for refused in refusals {
                            @let d = &refused.delivery;
                            @let key = format!("/settings/api-keys/{}", d.key_id.0);
                            tr {
                                td data-label="Received" { (when(&d.row.received_at)) }
                                td data-label="Key" { a href=(key) { (refused.key_name) } }
                                td data-label="Code" { code.error { (d.row.code.as_deref().unwrap_or("—")) } }
                                td data-label="Reason" { (message(d.row.message.as_deref().unwrap_or(""))) }
                                td data-label="Delivery" { a href={ (key) "/deliveries/" (d.id) } { "Delivery #" (d.id) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
