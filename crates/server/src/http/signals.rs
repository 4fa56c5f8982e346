//! `POST /api/signals/webhook/{apiKey}`: a lead's signal, linking the lead to the target org
//! of the product org it names (SPEC §4).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::json;
use trailspark_core::json::Json;
use trailspark_core::signal::extract_signal;
use trailspark_core::template::PayloadTemplate;
use trailspark_core::EndpointType;
use trailspark_store::{SignalApplied, SignalRequest};

use super::batch::{self, Element, Intake, Logging};
use super::webhook::{accept, parse, record};
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
) -> Result<Response, ApiError> {
    let checked = accept(&app, &api_key, EndpointType::SignalStaging, &headers, body).await?;
    let accepted = parse(&app, &api_key, &checked).await?;
    let logging = Logging {
        app: &app,
        accepted: &accepted,
        intake: Intake::Webhook,
        replay_of: None,
    };
    let result = apply_signals(&logging).await;
    record(&app, &accepted);
    result
}

/// Extracts and stores a request's signal(s) and renders the answer.
pub(crate) async fn apply_signals<J: Json + Serialize>(
    logging: &Logging<'_, J>,
) -> Result<Response, ApiError> {
    let (app, accepted, intake) = (logging.app, logging.accepted, logging.intake);
    let key = &accepted.key;
    let PayloadTemplate::Signal(template) = &key.template else {
        return Err(anyhow::anyhow!("signal key {} holds a product org template", key.id).into());
    };
    let extract = |(_, item): (usize, &J)| {
        if let Some(skipped) = intake.skips(item, &["identify", "track", "page", "screen"])? {
            return Ok(Element::Skipped(skipped));
        }
        let mut signal = extract_signal(template, item).map_err(ApiError::from)?;
        if signal.message_id.is_none() {
            signal.message_id = intake.message_id(item);
        }
        Ok(Element::Update(signal))
    };
    let store = async |signals, log| {
        let request = SignalRequest {
            key_id: key.id.clone(),
            received_at: accepted.received_at,
            webhook_id: accepted.webhook_id.clone(),
            signals,
            log: Some(log),
        };
        Ok(app.store.ingest_signals(key.tenant, request).await?)
    };
    let render = |outcome: SignalApplied| {
        app.metrics.key_counters(key).count(outcome.duplicate, true);
        let mut body = json!({
            "success": true,
            "leadId": outcome.lead_id,
            "targetOrgId": outcome.target_org_id,
            "linked": outcome.linked,
        });
        if let Some(why) = outcome.unlinked_reason {
            body["unlinkedReason"] = json!(why);
        }
        if !outcome.warnings.is_empty() {
            body["warnings"] = json!(outcome.warnings);
        }
        if outcome.duplicate {
            body["duplicate"] = json!(true);
        }
        body
    };
    batch::apply_payload(logging, extract, store, render).await
}
