//! Admin API: leads and their evaluation context (SPEC §4–5).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use trailspark_core::update::format_timestamp;
use trailspark_core::LeadId;
use trailspark_store::{EvaluationContext, Lead, ProductOrg, SignalRecord, StoreError};

use super::admin::{page_json, ListParams};
use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;

/// Signals in an evaluation context unless `?signals=N` asks otherwise.
const DEFAULT_SIGNALS: u32 = 50;
/// Most signals an evaluation context holds.
const MAX_SIGNALS: u32 = 500;

/// Routes of the lead reads.
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/admin/leads", get(list))
        .route("/api/admin/leads/{lead_id}", get(one))
        .route(
            "/api/admin/leads/{lead_id}/evaluation-context",
            get(evaluation_context),
        )
}

fn lead_id(raw: String) -> Result<LeadId, ApiError> {
    LeadId::parse(raw).map_err(|e| ApiError::NotFound(format!("No such lead: leadId {e}.")))
}

fn not_found(e: StoreError, id: &LeadId) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound(format!(
            "This tenant has no lead with id {:?}.",
            id.as_str()
        )),
        other => other.into(),
    }
}

async fn list(
    State(app): State<App>,
    admin: TenantAdmin,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let found = app.store.list_leads(admin.tenant, &params.query()?).await?;
    Ok(page_json(&found, lead_json))
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = lead_id(raw)?;
    let lead = app
        .store
        .lead(admin.tenant, &id)
        .await
        .map_err(|e| not_found(e, &id))?;
    Ok(Json(lead_json(&lead)))
}

#[derive(Debug, Deserialize)]
struct ContextParams {
    signals: Option<String>,
}

async fn evaluation_context(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
    Query(params): Query<ContextParams>,
) -> Result<Json<Value>, ApiError> {
    let id = lead_id(raw)?;
    let signals = match params.signals.as_deref() {
        None | Some("") => DEFAULT_SIGNALS,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| *n <= MAX_SIGNALS)
            .ok_or_else(|| ApiError::BadRequest {
                code: "invalid_signals",
                message: format!(
                    "signals must be a whole number from 0 to {MAX_SIGNALS}, got {text:?}"
                ),
            })?,
    };
    let context = app
        .store
        .evaluation_context(admin.tenant, &id, signals)
        .await
        .map_err(|e| not_found(e, &id))?;
    Ok(Json(evaluation_context_json(&context)))
}

/// The evaluation context a lead-scoring model reads.
pub(crate) fn evaluation_context_json(context: &EvaluationContext) -> Value {
    let signals: Vec<Value> = context.signals.iter().map(signal_json).collect();
    let info: Vec<Value> = context.product_orgs.iter().map(product_org_info).collect();
    json!({
        "lead": lead_json(&context.lead),
        "signals": signals,
        "firmographics": context.firmographics,
        "productOrgInfo": info,
    })
}

/// A lead as the admin API shows it.
pub fn lead_json(lead: &Lead) -> Value {
    json!({
        "leadId": lead.lead_id,
        "email": lead.email,
        "productOrgId": lead.product_org_id,
        "targetOrgId": lead.target_org_id,
        "createdAt": format_timestamp(&lead.created_at),
        "updatedAt": format_timestamp(&lead.updated_at),
    })
}

fn signal_json(signal: &SignalRecord) -> Value {
    json!({
        "signal": signal.name,
        "productOrgId": signal.product_org_id,
        "properties": signal.properties,
        "customFields": signal.custom_fields,
        "eventAt": signal.event_at.as_ref().map(format_timestamp),
        "receivedAt": format_timestamp(&signal.received_at),
    })
}

/// One `productOrgInfo` entry: exactly the keys of the seed's example, absent values left out.
fn product_org_info(org: &ProductOrg) -> Value {
    let f = &org.fields;
    let mut info = Map::new();
    info.insert("productOrgId".into(), json!(org.product_org_id));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            info.insert(key.into(), value);
        }
    };
    put("name", f.name.as_ref().map(|v| json!(v)));
    put("planName", f.plan_name.as_ref().map(|v| json!(v)));
    put("userCount", f.user_count.map(|v| json!(v)));
    put("mrr", f.mrr.map(|v| json!(v)));
    put("trialStatus", f.trial_status.as_ref().map(|v| json!(v)));
    put("featureFlags", f.feature_flags.as_ref().map(|v| json!(v)));
    put(
        "customFields",
        (!f.custom_fields.is_empty()).then(|| json!(f.custom_fields)),
    );
    Value::Object(info)
}
