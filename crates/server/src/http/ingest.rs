//! `POST /api/product-orgs/webhook/{apiKey}`: the hot path, top to bottom in one place:
//! find key → verify ([`super::webhook::accept`]) → parse ([`super::webhook::parse`]) →
//! extract → apply → respond.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use trailspark_core::extract::extract_product_org;
use trailspark_core::json::Json;
use trailspark_core::warning::{warn_duplicates_in_batch, UnchangedReason, Warning};
use trailspark_core::EndpointType;
use trailspark_store::{Applied, IngestRequest, RequestLog};

use super::batch::{self, Element, Intake, Logging};
use super::webhook::{accept, parse, record};
use crate::app::App;
use crate::error::ApiError;

/// Routes of the product org webhook.
pub fn router() -> Router<App> {
    Router::new().route(
        "/api/product-orgs/webhook/{api_key}",
        post(product_org_webhook),
    )
}

async fn product_org_webhook(
    State(app): State<App>,
    Path(api_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checked = accept(
        &app,
        &api_key,
        EndpointType::ProductOrgUpdates,
        &headers,
        body,
    )
    .await?;
    let accepted = parse(&app, &api_key, &checked).await?;
    let logging = Logging {
        app: &app,
        accepted: &accepted,
        intake: Intake::Webhook,
        replay_of: None,
    };
    let result = apply_product_org_updates(&logging).await;
    record(&app, &accepted);
    result
}

/// Extracts and applies a request's product org update(s) and renders the answer.
pub(crate) async fn apply_product_org_updates<J: Json + Serialize>(
    logging: &Logging<'_, J>,
) -> Result<Response, ApiError> {
    let (app, accepted, intake) = (logging.app, logging.accepted, logging.intake);
    let key = &accepted.key;
    let template = key
        .template
        .as_product_org()
        .ok_or_else(|| anyhow::anyhow!("product org key {} holds a signal template", key.id))?;
    let extract = |(_, item): (usize, &J)| {
        if let Some(skipped) = intake.skips(item, &["group"])? {
            return Ok(Element::Skipped(skipped));
        }
        let mut update = extract_product_org(template, item).map_err(ApiError::from)?;
        if update.message_id.is_none() {
            update.message_id = intake.message_id(item);
        }
        Ok(Element::Update(update))
    };
    let store = async |mut updates: Vec<trailspark_core::Update>, log: RequestLog| {
        warn_duplicates_in_batch(&mut updates, &log.update_indexes());
        let request = IngestRequest {
            key_id: key.id.clone(),
            received_at: accepted.received_at,
            webhook_id: accepted.webhook_id.clone(),
            updates,
            log: Some(log),
        };
        let started = std::time::Instant::now();
        let result = app.store.ingest(key.tenant, request).await;
        app.metrics
            .apply_seconds
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                trailspark_store::StoreError::Unavailable { .. } => "unavailable",
                _ => "other",
            };
            app.metrics
                .store_errors
                .get_or_create(&crate::metrics::ErrorLabels { kind })
                .inc();
        }
        Ok(result?)
    };
    let render = |outcome: Applied| {
        let counters = app.metrics.key_counters(key);
        if outcome.duplicate {
            counters.duplicates.inc();
        } else if outcome.changed {
            counters.changed.inc();
        } else {
            counters.unchanged.inc();
        }
        AppliedBody {
            success: true,
            product_org_id: outcome.product_org_id,
            target_org_id: outcome.target_org_id,
            is_new_org: outcome.is_new_org,
            changed: outcome.changed,
            unchanged_reason: outcome.unchanged_reason,
            warnings: outcome.warnings,
            duplicate: outcome.duplicate,
        }
    };
    batch::apply_payload(logging, extract, store, render).await
}

/// The answer to an applied update (SPEC §3), fields in the order the seed documents show,
/// then what SPEC §6 adds when there is something to say.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AppliedBody {
    success: bool,
    product_org_id: trailspark_core::ProductOrgId,
    target_org_id: trailspark_core::TargetOrgId,
    is_new_org: bool,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged_reason: Option<UnchangedReason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Warning>,
    /// A repeated messageId: the first answer again, and this.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}
