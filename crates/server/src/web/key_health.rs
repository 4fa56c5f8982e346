//! The Health section of a key's page (SPEC §6 "Key health"): the same figures as
//! `GET /api/admin/api-keys/{keyId}/health`, with the chart of deliveries per hour by outcome
//! ([`super::chart`]), each top error's newest delivery linked, and what to do about each
//! volatile field.

use maud::{html, Markup};
use trailspark_store::{ApiKeyRecord, KeyHealth, Outcome};

use super::chart::hourly_chart;
use super::key_deliveries::delivery_link;
use super::key_page::key_href;
use super::values::{counted, label, message, when};
use crate::app::App;
use crate::error::ApiError;

/// The key's Health section, read now.
pub(super) async fn section(app: &App, key: &ApiKeyRecord) -> Result<Markup, ApiError> {
    let health = trailspark_store::key_health(app.store.as_ref(), key, chrono::Utc::now()).await?;
    Ok(draw(key, &health))
}

fn draw(key: &ApiKeyRecord, health: &KeyHealth) -> Markup {
    let total = |outcome| health.hours.iter().map(|h| h.of(outcome)).sum::<u64>();
    html! {
        section #health {
            h2 { "Health" }
            p.muted #health-source { "The last 24 hours (since " (when(&health.since)) "): every delivery to this key, counted as it arrived, those the delivery log no longer keeps included (it keeps the newest " code { "--deliveries-per-key" } ")." }
            (hourly_chart("health-chart", &health.hours))
            table.facts #health-figures {
                tbody {
                    tr { th scope="row" { "Updates" } td { (health.updates) } }
                    tr { th scope="row" { "Refused" } td #refused-share { (percent(health.refused_share)) " (" (total(Outcome::Refused)) ")" } }
                    tr { th scope="row" { "Unchanged" } td #unchanged-share { (percent(health.unchanged_share)) " (" (total(Outcome::Unchanged)) ")" } }
                    tr { th scope="row" { "Duplicates" } td { (total(Outcome::Duplicate)) } }
                }
            }
            (top_errors(key, health))
            (volatile_fields(health))
            (fields(health))
        }
    }
}

/// The most frequent refusal codes, each with its newest delivery.
fn top_errors(key: &ApiKeyRecord, health: &KeyHealth) -> Markup {
    html! {
        h3 { "Top errors" }
        @if health.top_errors.is_empty() {
            p.muted #top-errors { "No update was refused." }
        } @else {
            table.stack #top-errors {
                thead { tr { th { "Code" } th { "Count" } th { "Example" } } }
                tbody {
                    @for error in &health.top_errors {
                        tr {
                            td data-label="Code" { span.error { (error.code) } }
                            td data-label="Count" { (error.count) }
                            td.refusal data-label="Example" {
                                "Delivery " (delivery_link(&key_href(key), error.example.delivery_id))
                                ": " (message(&error.example.message))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fields that are the only change of most updates, with what to do about each.
fn volatile_fields(health: &KeyHealth) -> Markup {
    html! {
        h3 { "Volatile fields" }
        @if health.volatile_fields.is_empty() {
            p.muted #volatile-fields { "None: no field is the only change of half the updates (of at least " (trailspark_store::MIN_CHANGING_UPDATES) " that changed something)." }
        } @else {
            ul #volatile-fields {
                @for field in &health.volatile_fields {
                    li {
                        (field_name(&field.field)) " is the only change of " (percent(field.only_change_share)) " of " (counted(health.changing_updates, "update")) ": " (message(&field.advice)) "."
                    }
                }
            }
        }
    }
}

/// How often each field changed, folded: the detail behind the volatile fields.
fn fields(health: &KeyHealth) -> Markup {
    html! {
        @if !health.fields.is_empty() {
            details #changed-fields {
                summary { "Fields changed, over " (counted(health.changing_updates, "update")) " of existing product orgs that changed something" }
                table.stack {
                    thead { tr { th { "Field" } th { "Changed in" } } }
                    tbody {
                        @for field in &health.fields {
                            tr { td data-label="Field" { (field_name(&field.field)) } td data-label="Changed in" { (percent(field.changed_share)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A product org field in words, its name as sent (the template's key) beside it.
fn field_name(field: &str) -> Markup {
    html! { (label(field)) " " span.muted { "(" code { (field) } ")" } }
}

/// A share as a percentage with one decimal.
pub(super) fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}
