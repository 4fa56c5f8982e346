//! Admin API: leads and their evaluation context (SPEC §4–5).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trailspark_core::{LeadId, ProductOrgId, UnlinkedReason};
use trailspark_store::{EvaluationContext, UnlinkedLead};

use super::admin::ListParams;
use super::views::{self, EvaluationContextView, LeadView, PageView};
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

/// `?q=&cursor=&limit=` and `linked=false`, which lists only the leads not linked to a
/// target org, each with why.
#[derive(Debug, Deserialize)]
struct LeadListParams {
    #[serde(flatten)]
    list: ListParams,
    linked: Option<String>,
}

async fn list(
    State(app): State<App>,
    admin: TenantAdmin,
    Query(params): Query<LeadListParams>,
) -> Result<Response, ApiError> {
    let query = params.list.query()?;
    match params.linked.as_deref() {
        None | Some("") => {
            let found = app.store.list_leads(admin.tenant, &query).await?;
            Ok(Json(PageView::of(&found, LeadView::from)).into_response())
        }
        Some("false") => {
            let found = app.store.unlinked_leads(admin.tenant, &query).await?;
            Ok(Json(PageView::of(&found, UnlinkedLeadView::from)).into_response())
        }
        Some(other) => Err(ApiError::BadRequest {
            code: "invalid_linked",
            message: format!(
                "linked takes only `false` (the leads not linked to a target org, each with \
                 why); leave it out for every lead. Got {other:?}."
            ),
        }),
    }
}

/// A lead of `?linked=false`: the lead, why it is not linked, and the product org it
/// probably meant (one whose id differs only by case or surrounding spaces).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnlinkedLeadView<'a> {
    #[serde(flatten)]
    lead: LeadView<'a>,
    unlinked_reason: UnlinkedReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    did_you_mean: Option<&'a ProductOrgId>,
}

impl<'a> From<&'a UnlinkedLead> for UnlinkedLeadView<'a> {
    fn from(unlinked: &'a UnlinkedLead) -> Self {
        Self {
            lead: LeadView::from(&unlinked.lead),
            unlinked_reason: unlinked.reason(),
            did_you_mean: unlinked.did_you_mean.as_ref(),
        }
    }
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = lead_id(raw)?;
    let lead = app.store.lead(admin.tenant, &id).await?;
    Ok(Json(LeadView::from(&lead)).into_response())
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
) -> Result<Response, ApiError> {
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
        .await?;
    Ok(Json(EvaluationContextView::from(&context)).into_response())
}

/// The evaluation context a lead-scoring model reads, as JSON (for pages that walk it).
pub(crate) fn evaluation_context_json(context: &EvaluationContext) -> Value {
    views::to_value(EvaluationContextView::from(context))
}
