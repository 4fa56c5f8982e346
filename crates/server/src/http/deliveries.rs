//! Admin API: a key's delivery log (filtered, paged, newest first) and one delivery with its
//! payload and answer (SPEC §5–6). Tenant-scoped by the admin's credential: another tenant's
//! key or delivery is simply not found.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trailspark_core::ApiKeyId;
use trailspark_store::{Delivery, DeliveryQuery, DeliveryRow, Outcome};

use super::admin::page;
use super::keys::body_of;
use super::views::PageView;
use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;
use crate::replay::{self, Selection};

/// Routes of the delivery log.
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/admin/api-keys/{key_id}/deliveries", get(list))
        .route("/api/admin/deliveries/{delivery_id}", get(one))
        .route(
            "/api/admin/api-keys/{key_id}/deliveries/replay",
            post(replay),
        )
}

/// `?outcome=&productOrgId=&since=&cursor=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogParams {
    outcome: Option<String>,
    product_org_id: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl LogParams {
    fn query(self) -> Result<DeliveryQuery, ApiError> {
        let outcome = match self.outcome.as_deref().filter(|o| !o.is_empty()) {
            None => None,
            Some(text) => Some(Outcome::parse(text).ok_or_else(|| ApiError::BadRequest {
                code: "invalid_outcome",
                message: format!(
                    "outcome must be one of applied, unchanged, duplicate, refused; got {text:?}"
                ),
            })?),
        };
        let since = match self.since.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| ApiError::BadRequest {
                        code: "invalid_since",
                        message: format!(
                            "since must be an RFC 3339 time such as 2026-12-01T00:00:00Z; got {text:?}"
                        ),
                    })?
                    .with_timezone(&Utc),
            ),
        };
        Ok(DeliveryQuery {
            outcome,
            product_org_id: self.product_org_id.filter(|id| !id.is_empty()),
            since,
            with_payload: false,
            page: page(self.cursor, self.limit)?,
        })
    }
}

async fn list(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(key_id): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    let key = app.store.api_key(admin.tenant, &ApiKeyId(key_id)).await?;
    let query = params.query()?;
    let found = app.store.deliveries(admin.tenant, &key.id, &query).await?;
    Ok(Json(PageView::of(&found, |d| DeliveryView::of(d, false))).into_response())
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = raw
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("This tenant has no delivery {raw:?}.")))?;
    let delivery = app.store.delivery(admin.tenant, id).await?;
    Ok(Json(DeliveryView::of(&delivery, true)).into_response())
}

/// The body of a replay: chosen deliveries, or every refused one (since a time).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayBody {
    delivery_ids: Option<Vec<i64>>,
    outcome: Option<String>,
    since: Option<DateTime<Utc>>,
}

impl ReplayBody {
    fn selection(self) -> Result<Selection, ApiError> {
        match (self.delivery_ids, self.outcome.as_deref(), self.since) {
            (Some(ids), None, None) if !ids.is_empty() => Ok(Selection::Ids(ids)),
            (None, Some("refused"), since) => Ok(Selection::Refused { since }),
            _ => Err(ApiError::BadRequest {
                code: "invalid_body",
                message: "Send either {\"deliveryIds\": [ids…]} or {\"outcome\": \"refused\", \
                          \"since\"?: time}."
                    .into(),
            }),
        }
    }
}

async fn replay(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let selection = body_of::<ReplayBody>(&headers, body).await?.selection()?;
    let results = replay::replay(&app, admin.tenant, &ApiKeyId(key_id), selection).await?;
    Ok(Json(json!({"replayed": results.len(), "results": results})).into_response())
}

/// One entry of the delivery log (SPEC §6). The list leaves the payload out (`hasPayload`
/// says whether one is kept); one delivery shows it, and the answer it was given.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView<'a> {
    delivery_id: i64,
    key_id: &'a str,
    request_id: &'a str,
    index: Option<u32>,
    received_at: DateTime<Utc>,
    intake: &'static str,
    status: u16,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_org_id: Option<i64>,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged_reason: Option<&'a str>,
    /// A signal's: why its lead is not linked (the log keeps it where a product org update
    /// keeps its unchanged reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    unlinked_reason: Option<&'a str>,
    warnings: Value,
    template_version: i64,
    has_payload: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replay_of: Option<i64>,
}

impl<'a> DeliveryView<'a> {
    /// The entry; `whole` adds its payload and answer.
    pub fn of(delivery: &'a Delivery, whole: bool) -> Self {
        let row = &delivery.row;
        let reason = row.unchanged_reason.as_deref();
        Self {
            delivery_id: delivery.id,
            key_id: &delivery.key_id.0,
            request_id: &row.request_id,
            index: row.index,
            received_at: row.received_at,
            intake: row.intake.as_str(),
            status: row.status,
            outcome: row.outcome.as_str(),
            code: row.code.as_deref(),
            message: row.message.as_deref(),
            product_org_id: row.product_org_id.as_deref(),
            lead_id: row.lead_id.as_deref(),
            target_org_id: row.target_org_id.map(|t| t.0),
            changed: row.changed,
            unchanged_reason: reason.filter(|_| !is_signal(row)),
            unlinked_reason: reason.filter(|_| is_signal(row)),
            warnings: Value::Array(warnings(row)),
            template_version: row.template_version,
            has_payload: row.payload.is_some(),
            payload: whole
                .then(|| payload_value(row.payload.as_deref()))
                .flatten(),
            answer: whole.then(|| answer(delivery)),
            replay_of: row.replay_of,
        }
    }
}

/// A kept payload as JSON; one cut at the size limit (no longer JSON) as its text.
pub fn payload_value(payload: Option<&str>) -> Option<Value> {
    let text = payload?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| Value::from(text)))
}

/// Whether the entry is a stored signal's (a lead's), not a product org update's.
fn is_signal(row: &DeliveryRow) -> bool {
    row.lead_id.is_some()
}

/// The entry's warnings, as its answer gave them (`[{code, message, …}]`); none when the
/// column is empty or unreadable.
pub fn warnings(row: &DeliveryRow) -> Vec<Value> {
    row.warnings
        .as_deref()
        .and_then(|w| serde_json::from_str(w).ok())
        .unwrap_or_default()
}

/// The answer the entry was given, as the webhook's result for it said it, from what the log
/// keeps. Not kept, so not shown: a product org update's `isNewOrg`, and a refusal's extra
/// keys (`path`, `fieldErrors`, …; its message names them).
fn answer(delivery: &Delivery) -> Value {
    let row = &delivery.row;
    if let Some(code) = &row.code {
        return json!({
            "status": row.status,
            "body": {"success": false, "code": code, "message": row.message},
        });
    }
    let reason = row.unchanged_reason.as_deref();
    let mut body = json!({"success": true});
    if let Some(id) = &row.product_org_id {
        body["productOrgId"] = json!(id);
    }
    if let Some(id) = &row.lead_id {
        body["leadId"] = json!(id);
    }
    if is_signal(row) {
        // A signal's target org is its lead's link: null when not linked.
        body["targetOrgId"] = json!(row.target_org_id.map(|t| t.0));
        body["linked"] = json!(row.target_org_id.is_some());
        if let Some(reason) = reason {
            body["unlinkedReason"] = json!(reason);
        }
    } else {
        if let Some(target) = row.target_org_id {
            body["targetOrgId"] = json!(target.0);
        }
        // A duplicate stored nothing (its entry says `changed: false`) but was answered its
        // first outcome, whose reason the entry keeps: a first answer that changed nothing
        // has one.
        let changed = match row.outcome {
            Outcome::Duplicate => reason.is_none(),
            _ => row.changed,
        };
        body["changed"] = json!(changed);
        if let Some(reason) = reason {
            body["unchangedReason"] = json!(reason);
        }
    }
    let warnings = warnings(row);
    if !warnings.is_empty() {
        body["warnings"] = Value::Array(warnings);
    }
    if row.outcome == Outcome::Duplicate {
        body["duplicate"] = json!(true);
    }
    json!({"status": row.status, "body": body})
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use trailspark_core::TargetOrgId;
    use trailspark_store::{DeliveryRow, Intake};

    use super::*;

    fn entry(change: impl FnOnce(&mut DeliveryRow)) -> Delivery {
        let mut row = DeliveryRow {
            request_id: "req_1".into(),
            index: None,
            received_at: Utc::now(),
            intake: Intake::Webhook,
            status: 200,
            outcome: Outcome::Applied,
            code: None,
            message: None,
            product_org_id: Some("ws_1".into()),
            lead_id: None,
            target_org_id: Some(TargetOrgId(7)),
            changed: true,
            unchanged_reason: None,
            warnings: None,
            template_version: 1,
            payload: None,
            replay_of: None,
            changed_fields: Vec::new(),
        };
        change(&mut row);
        Delivery {
            id: 1,
            key_id: ApiKeyId("key_1".into()),
            row,
        }
    }

    #[test]
    fn an_answer_says_its_reason_and_warnings() {
        let warning = json!([{"code": "unresolved_path", "message": "m", "field": "mrr",
                              "path": "traits.MRR", "didYouMean": "traits.mrr"}]);
        let unchanged = entry(|row| {
            row.outcome = Outcome::Unchanged;
            row.changed = false;
            row.unchanged_reason = Some("same_values".into());
            row.warnings = Some(warning.to_string());
        });
        assert_eq!(
            answer(&unchanged)["body"],
            json!({"success": true, "productOrgId": "ws_1", "targetOrgId": 7, "changed": false,
                   "unchangedReason": "same_values", "warnings": warning})
        );
        let view = serde_json::to_value(DeliveryView::of(&unchanged, false)).unwrap();
        assert_eq!(view["unchangedReason"], "same_values");
        assert_eq!(view["warnings"], warning);
        assert!(view.get("unlinkedReason").is_none());
    }

    #[test]
    fn a_duplicate_is_answered_its_first_outcome() {
        let of_a_change = entry(|row| {
            row.outcome = Outcome::Duplicate;
            row.changed = false;
        });
        let body = &answer(&of_a_change)["body"];
        assert_eq!(
            (&body["changed"], &body["duplicate"]),
            (&json!(true), &json!(true)),
            "{body}"
        );
        let of_no_change = entry(|row| {
            row.outcome = Outcome::Duplicate;
            row.changed = false;
            row.unchanged_reason = Some("older_event".into());
        });
        let body = &answer(&of_no_change)["body"];
        assert_eq!(
            (&body["changed"], &body["unchangedReason"]),
            (&json!(false), &json!("older_event")),
            "{body}"
        );
    }

    #[test]
    fn a_signals_answer_says_whether_and_why_not_its_lead_is_linked() {
        let unlinked = entry(|row| {
            row.product_org_id = None;
            row.lead_id = Some("lead_1".into());
            row.target_org_id = None;
            row.unchanged_reason = Some("no_product_org_id".into());
        });
        assert_eq!(
            answer(&unlinked)["body"],
            json!({"success": true, "leadId": "lead_1", "targetOrgId": null, "linked": false,
                   "unlinkedReason": "no_product_org_id"})
        );
        let view = serde_json::to_value(DeliveryView::of(&unlinked, false)).unwrap();
        assert_eq!(view["unlinkedReason"], "no_product_org_id");
        assert!(view.get("unchangedReason").is_none(), "{view}");
        let linked = entry(|row| {
            row.product_org_id = None;
            row.lead_id = Some("lead_1".into());
        });
        assert_eq!(answer(&linked)["body"]["linked"], json!(true));
    }
}
