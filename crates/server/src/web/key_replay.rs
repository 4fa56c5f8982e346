//! Replay from a key's page (SPEC §6): every refused delivery of the key, or one delivery, re-
//! applied through the key's current template ([`crate::replay`]). A GET shows what will be
//! replayed and asks; the POST (with the form's CSRF token) replays and shows what each
//! delivery was answered.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde_json::Value;
use trailspark_store::{ApiKeyRecord, Delivery, Outcome};

use super::key_deliveries::{delivery_link, delivery_of, refusal};
use super::key_page::{key_href, key_of};
use super::layout::{crumbs, page};
use super::orgs::urlencode;
use super::session::{forbidden, CsrfForm, Viewer};
use super::values::{message, when};
use super::warnings::{product_org, reason_in_words};
use crate::app::App;
use crate::error::ApiError;
use crate::replay::{replay, Replayed, Selection};

/// Routes of replay: every refused delivery of a key, or one delivery.
pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/settings/api-keys/{id}/replay",
            get(confirm_refused).post(replay_refused),
        )
        .route(
            "/settings/api-keys/{id}/deliveries/{delivery}/replay",
            get(confirm_one).post(replay_one),
        )
}

/// Rows the confirmation page lists (it counts them all).
const LISTED: usize = 100;

/// Asks before the key's refused deliveries are replayed, listing them.
async fn confirm_refused(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    let refused = refused(&app, &key).await?;
    let action = format!("{}/replay", key_href(&key));
    let question = html! {
        p { "Replay " strong #replay-count { (refused.len()) } " refused " (if refused.len() == 1 { "delivery" } else { "deliveries" }) " of " strong { (key.name) } " through its current template (version " (key.template_version) ")?" }
        p.muted { "Each is applied as if it had arrived when it was first received: a newer stored value is not overwritten, and an update applied before changes nothing again. Replays are not replayed themselves." }
        @if refused.len() > LISTED { p.muted { "The oldest " (LISTED) " are listed." } }
        (deliveries(&key, &refused[..refused.len().min(LISTED)]))
    };
    Ok(confirmation(
        &viewer,
        &key,
        &action,
        !refused.is_empty(),
        question,
    ))
}

/// The key's refused deliveries a replay takes, oldest first; past
/// [`crate::replay::MAX_REPLAY`] the replay refuses, which its answer then says.
async fn refused(app: &App, key: &ApiKeyRecord) -> Result<Vec<Delivery>, ApiError> {
    crate::replay::refused(app.store.as_ref(), key.tenant_id, &key.id, None).await
}

/// Asks before one delivery is replayed.
async fn confirm_one(
    State(app): State<App>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Markup, ApiError> {
    let key = key_of(&app, viewer.tenant, &id).await?;
    let delivery = delivery_of(&app, &key, &delivery).await?;
    let action = format!("{}/deliveries/{}/replay", key_href(&key), delivery.id);
    let question = html! {
        p { "Replay delivery #" (delivery.id) " of " strong { (key.name) } " through its current template (version " (key.template_version) ")?" }
        p.muted { "It is applied as if it had arrived when it was first received: a newer stored value is not overwritten, and an update applied before changes nothing again." }
        (deliveries(&key, std::slice::from_ref(&delivery)))
    };
    Ok(confirmation(&viewer, &key, &action, true, question))
}

/// A confirmation page: the question, then the form that replays (none when there is nothing
/// to replay, or the key is revoked).
fn confirmation(
    viewer: &Viewer,
    key: &ApiKeyRecord,
    action: &str,
    anything: bool,
    question: Markup,
) -> Markup {
    page(
        "Replay deliveries",
        Some(viewer),
        html! {
            (trail(key))
            @if key.revoked_at.is_some() {
                p.error role="alert" { "This key is revoked: its deliveries are not replayed." }
            } @else if !anything {
                p #replay-count { "Nothing to replay: this key has no refused delivery that kept its payload." }
            } @else {
                form.card.wide method="post" action=(action) {
                    (question)
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button type="submit" { "Replay" }
                    " " a href={ (key_href(key)) "#deliveries" } { "Cancel" }
                }
            }
        },
    )
}

/// The way back from a replay page: the key and its deliveries.
fn trail(key: &ApiKeyRecord) -> Markup {
    let here = key_href(key);
    let log = format!("{here}/deliveries");
    crumbs(&[
        ("API Keys", "/settings/api-keys"),
        (&key.name, &here),
        ("Deliveries", &log),
    ])
}

/// Deliveries as the confirmation lists them (drawn as the delivery log is, keys.css).
fn deliveries(key: &ApiKeyRecord, list: &[Delivery]) -> Markup {
    let here = key_href(key);
    html! {
        table.log #to-replay {
            thead { tr { th { "Delivery" } th { "Received" } th { "Outcome" } th { "Error" } } }
            tbody {
                @for d in list {
                    tr {
                        td.id data-label="Delivery" { (delivery_link(&here, d.id)) }
                        td.at data-label="Received" { (when(&d.row.received_at)) }
                        td.outcome data-label="Outcome" { span class={ "outcome " (d.row.outcome.as_str()) } { (d.row.outcome.as_str()) } }
                        td.refusal data-label="Error" { (refusal(d.row.code.as_deref(), d.row.message.as_deref())) }
                    }
                }
            }
        }
    }
}

/// Replays every refused delivery of the key.
async fn replay_refused(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    replayed(&app, &viewer, &id, Selection::Refused { since: None }).await
}

/// Replays one delivery.
async fn replay_one(
    State(app): State<App>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let Ok(delivery) = delivery.parse::<i64>() else {
        return ApiError::NotFound(format!("This key has no delivery {delivery:?}."))
            .into_response();
    };
    replayed(&app, &viewer, &id, Selection::Ids(vec![delivery])).await
}

/// Replays `selection` of the key's deliveries and shows each one's answer; a replay the key
/// refuses (revoked, too many) is said on the page.
async fn replayed(app: &App, viewer: &Viewer, id: &str, selection: Selection) -> Response {
    let key = match key_of(app, viewer.tenant, id).await {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let (status, body) = match replay(app, viewer.tenant, &key.id, selection).await {
        Ok(results) => (StatusCode::OK, results_table(&key, &results)),
        Err(e @ (ApiError::Conflict(_) | ApiError::BadRequest { .. })) => {
            let said = e.body()["message"].as_str().unwrap_or_default().to_owned();
            (
                e.status(),
                html! { p.error role="alert" { (message(&said)) } },
            )
        }
        Err(e) => return e.into_response(),
    };
    let body = html! { (trail(&key)) (body) };
    (status, page("Replayed", Some(viewer), body)).into_response()
}

/// One row per replayed delivery: its status, and what it became.
fn results_table(key: &ApiKeyRecord, results: &[Replayed]) -> Markup {
    html! {
        p role="status" { (results.len()) " replayed through template version " (key.template_version) ", each logged as a new delivery (replay of the original)." }
        table.log #replayed {
            thead { tr { th { "Delivery" } th { "Status" } th { "Outcome" } th { "Result" } } }
            tbody {
                @for r in results {
                    tr {
                        td.id data-label="Delivery" { (delivery_link(&key_href(key), r.delivery_id)) }
                        td.status data-label="Status" { (r.status) }
                        td.outcome data-label="Outcome" { (outcome(&r.body)) }
                        td.result data-label="Result" { (result(&r.body)) }
                    }
                }
            }
        }
    }
}

/// The outcome a webhook answer says.
fn outcome(body: &Value) -> &'static str {
    if body["success"] != Value::Bool(true) {
        Outcome::Refused.as_str()
    } else if body["duplicate"] == Value::Bool(true) {
        Outcome::Duplicate.as_str()
    } else if body["changed"] == Value::Bool(false) {
        Outcome::Unchanged.as_str()
    } else {
        Outcome::Applied.as_str()
    }
}

/// What a webhook answer says: the code and message of a refusal, else the product org (or
/// lead) and whether it changed.
fn result(body: &Value) -> Markup {
    if body["success"] != Value::Bool(true) {
        return refusal(body["code"].as_str(), body["message"].as_str());
    }
    html! {
        @if let Some(id) = body["productOrgId"].as_str() {
            (product_org(id))
        } @else if let Some(id) = body["leadId"].as_str() {
            a href={ "/settings/leads/" (urlencode(id)) } { (id) }
        }
        @match body["changed"].as_bool() {
            Some(true) => " · changed",
            Some(false) => " · not changed",
            None => "",
        }
        @if let Some(why) = body["unchangedReason"].as_str() { " (" (reason_in_words(why).unwrap_or(why)) ")" }
    }
}
