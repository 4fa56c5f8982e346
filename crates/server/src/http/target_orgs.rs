//! Admin API: target orgs, their firmographics, and moving product orgs between them.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trailspark_core::{firmographics, TargetOrgId};
use trailspark_store::{ProductOrg, TargetOrg};

use super::admin::{page, product_org_id, ListParams};
use super::views::{self, PageView, ProductOrgView, TargetOrgDetailView, TargetOrgView};
use super::webhook::{read_body, require_json};
use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;

/// Routes of the target org admin API.
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/admin/target-orgs", get(list))
        .route("/api/admin/target-orgs/{target_org_id}", get(one))
        .route(
            "/api/admin/target-orgs/{target_org_id}/firmographics",
            put(set_firmographics),
        )
        .route(
            "/api/admin/product-orgs/{product_org_id}/move",
            post(move_product_org),
        )
        // Not under /api/admin/product-orgs/, where it would hide a product org of that id.
        .route("/api/admin/possible-duplicates", get(possible_duplicates))
}

fn target_org_id(raw: &str) -> Result<TargetOrgId, ApiError> {
    raw.parse().map(TargetOrgId).map_err(|_| {
        ApiError::NotFound(format!(
            "No such target org: {raw:?} is not a target org id."
        ))
    })
}

/// A JSON request body, read with the webhook's limits and errors.
pub(crate) async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    require_json(headers)?;
    let bytes = read_body(headers, body).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))
}

async fn list(
    State(app): State<App>,
    admin: TenantAdmin,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let found = app
        .store
        .list_target_orgs(admin.tenant, &params.query()?)
        .await?;
    Ok(Json(PageView::of(&found, TargetOrgView::from)).into_response())
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = target_org_id(&raw)?;
    let detail = app.store.target_org(admin.tenant, id).await?;
    Ok(Json(TargetOrgDetailView::from(&detail)).into_response())
}

async fn set_firmographics(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = target_org_id(&raw)?;
    let fields = firmographics::parse(json_body(&headers, body).await?).map_err(|why| {
        ApiError::BadRequest {
            code: "invalid_firmographics",
            message: format!("Firmographics refused: {why}."),
        }
    })?;
    let org = app
        .store
        .set_firmographics(admin.tenant, id, fields)
        .await?;
    Ok(Json(TargetOrgView::from(&org)).into_response())
}

async fn move_product_org(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = product_org_id(raw)?;
    let to = json_body(&headers, body)
        .await?
        .get("targetOrgId")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_body",
            message: "Send {\"targetOrgId\": <id>}: the target org to put this product org under."
                .into(),
        })?;
    let to = TargetOrgId(to);
    // The store checks the target first, so a 404 says which of the two is missing.
    let moved = app.store.move_product_org(admin.tenant, &id, to).await?;
    Ok(Json(ProductOrgView::from(&moved)).into_response())
}

#[derive(Debug, Deserialize)]
struct DuplicatesParams {
    limit: Option<String>,
}

/// `{groups: [{foldedId, productOrgs}], more}`: product orgs whose ids are equal once trimmed
/// and case-folded, the first `limit` groups in folded-id order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DuplicatesView<'a> {
    groups: Vec<DuplicateGroupView<'a>>,
    more: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DuplicateGroupView<'a> {
    folded_id: String,
    product_orgs: Vec<ProductOrgView<'a>>,
}

impl<'a> DuplicateGroupView<'a> {
    fn of(orgs: &'a [ProductOrg]) -> Self {
        Self {
            folded_id: orgs
                .first()
                .map(|o| o.product_org_id.folded())
                .unwrap_or_default(),
            product_orgs: orgs.iter().map(ProductOrgView::from).collect(),
        }
    }
}

async fn possible_duplicates(
    State(app): State<App>,
    admin: TenantAdmin,
    Query(params): Query<DuplicatesParams>,
) -> Result<Response, ApiError> {
    let limit = page(None, params.limit)?.limit;
    // One group more than shown says whether there are more.
    let mut groups = app
        .store
        .possible_duplicates(admin.tenant, limit + 1)
        .await?;
    let more = groups.len() > limit as usize;
    groups.truncate(limit as usize);
    let view = DuplicatesView {
        groups: groups.iter().map(|g| DuplicateGroupView::of(g)).collect(),
        more,
    };
    Ok(Json(view).into_response())
}

/// A target org as the admin API lists it, as JSON (for pages that walk it).
pub(crate) fn target_org_json(org: &TargetOrg) -> Value {
    views::to_value(TargetOrgView::from(org))
}
