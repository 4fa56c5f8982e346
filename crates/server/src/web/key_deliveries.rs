//! A key's delivery log on its page (newest first, 50 a page, by outcome and productOrgId) and
//! one delivery: its payload, the answer it was given, and what the key's current template
//! makes of it (core's preview), so a refusal can be understood and the template fixed.

use axum::extract::{Path, State};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::template::PayloadTemplate;
use trailspark_store::StoreError;
use trailspark_store::{ApiKeyRecord, Delivery, DeliveryQuery, Missing, Outcome, PageRequest};

use super::builder::extraction;
use super::key_page::{key_href, key_of};
use super::layout::{crumbs, page, shown};
use super::orgs::urlencode;
use super::session::Viewer;
use super::values::{long_id, message, value, when};
use super::warnings::{self, product_org};
use crate::app::App;
use crate::error::ApiError;
use crate::http::deliveries::{self, DeliveryView};

/// Entries a page of the log shows.
const PAGE: u32 = 50;

/// The log's filters and page, from the key page's query string (empty values are no filter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogFilter {
    outcome: Option<String>,
    #[serde(rename = "productOrgId")]
    product_org_id: Option<String>,
    cursor: Option<String>,
}

impl LogFilter {
    fn outcome(&self) -> Option<Outcome> {
        self.outcome.as_deref().and_then(Outcome::parse)
    }

    fn product_org_id(&self) -> Option<&str> {
        let id = self.product_org_id.as_deref().map(str::trim);
        id.filter(|id| !id.is_empty())
    }

    /// The query string of these filters at page `cursor`.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut query = format!("?cursor={}", urlencode(cursor));
        if let Some(outcome) = self.outcome() {
            query += &format!("&outcome={}", outcome.as_str());
        }
        if let Some(id) = self.product_org_id() {
            query += &format!("&productOrgId={}", urlencode(id));
        }
        query
    }
}

/// The key's delivery log section: filters, one row per entry linking to its detail, paging.
pub(super) async fn log(
    app: &App,
    key: &ApiKeyRecord,
    filter: &LogFilter,
) -> Result<Markup, ApiError> {
    let query = DeliveryQuery {
        outcome: filter.outcome(),
        product_org_id: filter.product_org_id().map(str::to_owned),
        page: PageRequest {
            cursor: filter.cursor.clone().filter(|c| !c.is_empty()),
            limit: PAGE,
        },
        ..DeliveryQuery::default()
    };
    let log = app.store.deliveries(key.tenant_id, &key.id, &query).await?;
    let here = key_href(key);
    Ok(html! {
        section #deliveries {
            h2 { "Delivery log" }
            p.muted { "Every update sent with this key and every request refused, newest first, " (PAGE) " a page. Refused ones keep their payload: open one to see what the current template makes of it." }
            @if key.revoked_at.is_none() {
                form method="get" action={ (here) "/replay" } {
                    button type="submit" { "Replay refused deliveries" }
                }
            }
            (filters(&here, filter))
            // On a phone each entry is a card of a few lines (keys.css), not a column of labels.
            table.log #log {
                thead { tr { th { "Delivery" } th { "Received" } th { "Outcome" } th { "Status" } th { "Product org / lead" } th { "Template" } th { "Error" } } }
                tbody { @for d in &log.items { (row(&here, d)) } }
            }
            @if log.items.is_empty() { p.muted { "No deliveries." } }
            @if let Some(next) = &log.next_cursor {
                p { a href={ (here) (filter.with_cursor(next)) "#deliveries" } { "Older →" } }
            }
        }
    })
}

/// The log's filter form (a GET: the filters are in the URL, so a filtered page can be shared).
fn filters(here: &str, filter: &LogFilter) -> Markup {
    let chosen = filter.outcome();
    html! {
        form.filters method="get" action={ (here) "#deliveries" } role="search" aria-label="Filter the delivery log" {
            div {
                label for="outcome" { "Outcome" }
                select #outcome name="outcome" {
                    option value="" { "All" }
                    @for o in Outcome::ALL {
                        option value=(o.as_str()) selected[chosen == Some(o)] { (o.as_str()) }
                    }
                }
            }
            div {
                label for="productOrgId" { "Product org ID" }
                input #productOrgId type="search" name="productOrgId" value=(filter.product_org_id().unwrap_or_default());
            }
            div { button type="submit" { "Filter" } }
        }
    }
}

/// One entry of the log: an entry with warnings is marked, and a reason said in words.
fn row(here: &str, d: &Delivery) -> Markup {
    let row = &d.row;
    let warned = deliveries::warnings(row);
    html! {
        tr {
            td.id data-label="Delivery" { (delivery_link(here, d.id)) }
            td.at data-label="Received" { (when(&row.received_at)) }
            td.outcome data-label="Outcome" {
                span class={ "outcome " (row.outcome.as_str()) } { (row.outcome.as_str()) }
                @if let Some(reason) = &row.unchanged_reason { " " span.muted.reason { (warnings::reason_in_words(reason).unwrap_or(reason)) } }
                @if !warned.is_empty() { " " (warnings::marker(&warned)) }
                @if let Some(of) = row.replay_of { " " span.muted { "replay of " (delivery_link(here, of)) } }
            }
            td.status data-label="Status" { (row.status) }
            td.org data-label="Product org / lead" {
                @if let Some(id) = &row.product_org_id {
                    (product_org(id))
                } @else if let Some(id) = &row.lead_id {
                    a href={ "/settings/leads/" (urlencode(id)) } { (id) }
                }
            }
            td.version data-label="Template" { "v" (row.template_version) }
            td.refusal data-label="Error" { (refusal(row.code.as_deref(), row.message.as_deref())) }
        }
    }
}

/// A link to delivery `id` of the key whose page is `here`.
pub(super) fn delivery_link(here: &str, id: i64) -> Markup {
    html! { a href={ (here) "/deliveries/" (id) } { "#" (id) } }
}

/// A refusal's code and message (its `code` parts drawn as code); nothing for none.
pub(super) fn refusal(code: Option<&str>, text: Option<&str>) -> Markup {
    html! {
        @if let Some(code) = code {
            span.error { (code) } ": " (message(text.unwrap_or_default()))
        }
    }
}

/// One delivery of one of the tenant's keys: another tenant's, or another key's, is not found.
pub(super) async fn detail(
    State(app): State<App>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    let delivery = delivery_of(&app, &key, &delivery).await?;
    let view = serde_json::to_value(DeliveryView::of(&delivery, true))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let refused = delivery.row.outcome == Outcome::Refused;
    let here = key_href(&key);
    let log = format!("{here}/deliveries");
    Ok(page(
        &format!("Delivery #{}", delivery.id),
        Some(&viewer),
        html! {
            (crumbs(&[("API Keys", "/settings/api-keys"), (&key.name, &here), ("Deliveries", &log)]))
            (facts(&key, &view))
            @if refused && key.revoked_at.is_none() {
                form method="get" action={ (here) "/deliveries/" (delivery.id) "/replay" } {
                    button type="submit" { "Replay" }
                    " " span.muted { "through the key's current template (you confirm first)" }
                }
            }
            h2 #payload-heading { "Payload" }
            @match view.get("payload") {
                Some(payload) => (json_box("payload", payload)),
                None => p.muted { "No payload was kept for this delivery." },
            }
            h2 #answer-heading { "Answer" }
            (json_box("answer", &view["answer"]))
            (current_reading(&key, view.get("payload")))
        },
    ))
}

/// JSON indented for reading, in a box of its own that scrolls both ways (a payload's lines are
/// kept whole: wrapped JSON is hard to read); focusable, so the keyboard scrolls it too.
fn json_box(id: &str, json: &Value) -> Markup {
    html! {
        pre.json id=(id) tabindex="0" role="region" aria-labelledby={ (id) "-heading" } {
            (serde_json::to_string_pretty(json).unwrap_or_default())
        }
    }
}

/// The key's delivery `raw` (its id in the URL).
pub(super) async fn delivery_of(
    app: &App,
    key: &ApiKeyRecord,
    raw: &str,
) -> Result<Delivery, ApiError> {
    let not_found = || ApiError::NotFound(format!("This key has no delivery {raw:?}."));
    let id = raw.parse::<i64>().map_err(|_| not_found())?;
    let delivery = match app.store.delivery(key.tenant_id, id).await {
        Err(StoreError::NotFound(Missing::Delivery(_))) => return Err(not_found()),
        other => other?,
    };
    if delivery.key_id != key.id {
        return Err(not_found());
    }
    Ok(delivery)
}

/// The entry's facts, as the admin API shows them, each drawn as it reads.
fn facts(key: &ApiKeyRecord, view: &Value) -> Markup {
    const SHOWN: [(&str, &str); 15] = [
        ("Received", "receivedAt"),
        ("Intake", "intake"),
        ("Status", "status"),
        ("Outcome", "outcome"),
        ("Code", "code"),
        ("Message", "message"),
        ("Product org", "productOrgId"),
        ("Lead", "leadId"),
        ("Target org", "targetOrgId"),
        ("Changed", "changed"),
        ("Unchanged because", "unchangedReason"),
        ("Not linked because", "unlinkedReason"),
        ("Template version", "templateVersion"),
        ("Request", "requestId"),
        ("Index in the request", "index"),
    ];
    let warned = view["warnings"].as_array().filter(|w| !w.is_empty());
    html! {
        table.facts #facts {
            tbody {
                tr { th scope="row" { "Key" } td { a href=(key_href(key)) { (key.name) } } }
                @for (label, name) in SHOWN {
                    @if let Some(value) = view.get(name).filter(|v| !v.is_null()) {
                        tr { th scope="row" { (label) } td { (fact(name, value)) } }
                    }
                }
                @if let Some(of) = view["replayOf"].as_i64() {
                    tr { th scope="row" { "Replay of" } td { (delivery_link(&key_href(key), of)) } }
                }
                @if let Some(warned) = warned {
                    tr #warnings { th scope="row" { "Warnings" } td { (warnings::list(warned)) } }
                }
            }
        }
    }
}

/// One fact, linked where it names a page.
fn fact(name: &str, fact: &Value) -> Markup {
    match (name, fact) {
        ("productOrgId", Value::String(id)) => product_org(id),
        ("leadId", Value::String(id)) => {
            html! { a href={ "/settings/leads/" (urlencode(id)) } { (id) } }
        }
        ("targetOrgId", id) => html! { a href={ "/settings/orgs/" (shown(id)) } { (shown(id)) } },
        ("code", code) => html! { span.error { (shown(code)) } },
        ("message", Value::String(text)) => message(text),
        ("unchangedReason" | "unlinkedReason", Value::String(reason)) => warnings::reason(reason),
        ("requestId", Value::String(id)) => long_id(id, "request ID"),
        // Counts and codes of the service, not values of a product org: plain numbers.
        ("status" | "templateVersion" | "index", number) => html! { (shown(number)) },
        (_, other) => value(name, other),
    }
}

/// What the key's current template makes of the payload (core's preview): the fields it
/// takes, the paths that found nothing with the nearest existing one, the refused values.
fn current_reading(key: &ApiKeyRecord, payload: Option<&Value>) -> Markup {
    let template = serde_json::from_str(&key.template)
        .ok()
        .and_then(|json| PayloadTemplate::from_json(key.endpoint_type, &json).ok());
    html! {
        section #current-reading {
            h2 { "What the current template makes of it (version " (key.template_version) ")" }
            @match (template, payload) {
                (Some(template), Some(payload)) if payload.is_object() => {
                    (extraction(&template, payload))
                    p { a href={ (key_href(key)) "#edit" } { "Edit the template" } " to change it." }
                }
                _ => p.muted { "No payload that is one JSON object was kept: there is nothing to read." },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use trailspark_core::{ApiKeyId, TargetOrgId};
    use trailspark_store::{DeliveryRow, Intake};

    use super::*;

    #[test]
    fn an_entry_with_warnings_is_marked_and_its_reason_said_in_words() {
        let warning = trailspark_core::Warning::unresolved_path("mrr", "traits.MRR", "traits.mrr");
        let d = Delivery {
            id: 4,
            key_id: ApiKeyId("key_1".into()),
            row: DeliveryRow {
                request_id: "req_1".into(),
                index: None,
                received_at: Utc::now(),
                intake: Intake::Webhook,
                status: 200,
                outcome: Outcome::Unchanged,
                code: None,
                message: None,
                product_org_id: Some("ws_1".into()),
                lead_id: None,
                target_org_id: Some(TargetOrgId(7)),
                changed: false,
                unchanged_reason: Some("older_event".into()),
                warnings: Some(serde_json::to_string(&[warning]).unwrap()),
                template_version: 1,
                payload: None,
                replay_of: None,
                changed_fields: Vec::new(),
            },
        };
        let html = row("/settings/api-keys/key_1", &d).into_string();
        assert!(html.contains("⚠ 1 warning: unresolved_path"), "{html}");
        assert!(html.contains("older than the stored event"), "{html}");
        let plain = Delivery {
            row: DeliveryRow {
                warnings: None,
                ..d.row.clone()
            },
            ..d
        };
        let html = row("/settings/api-keys/key_1", &plain).into_string();
        assert!(
            !html.contains("warning"),
            "no marker without warnings: {html}"
        );
    }
}
