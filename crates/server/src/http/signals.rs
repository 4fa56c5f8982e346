//! `POST /api/signals/webhook/{apiKey}`: a lead's signal, linking the lead to the target org
//! of the product org it names (SPEC §4).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use trailspark_core::signal::extract_signal;
use trailspark_core::template::PayloadTemplate;
use trailspark_core::EndpointType;
use trailspark_store::SignalRequest;

use super::ingest::{accept, extract_error, single};
use crate::app::App;
use crate::error::ApiError;

/// Routes of the signal webhook.
pub fn router() -> Router<App> {
    Router::new().route("/api/signals/webhook/{api_key}", post(signal_webhook))
}

async fn signal_webhook(
    State(app): State<App>,
    Path(api_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accepted = accept(&app, &api_key, EndpointType::SignalStaging, &headers, body).await?;
    let key = accepted.key;
    let PayloadTemplate::Signal(template) = &key.template else {
        return Err(anyhow::anyhow!("signal key {} holds a product org template", key.id).into());
    };
    let signal = extract_signal(template, &accepted.payload).map_err(extract_error)?;
    let request = SignalRequest {
        key_id: key.id.clone(),
        received_at: accepted.received_at,
        webhook_id: accepted.webhook_id,
        signals: vec![signal],
    };
    let outcome = single(app.store.ingest_signals(key.tenant, request).await?)?;
    app.keys.mark_used(&key, accepted.received_at);
    Ok(Json(json!({
        "success": true,
        "leadId": outcome.lead_id,
        "targetOrgId": outcome.target_org_id,
        "linked": outcome.linked,
    })))
}
