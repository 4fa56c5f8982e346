//! Admin API reads of product orgs: list/search, one, its history. Tenant-scoped by the
//! bearer token: another tenant's product org is simply not found.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::ProductOrgId;
use trailspark_store::{PageRequest, ProductOrg, SearchQuery};

use super::views::{self, HistoryPageView, HistoryView, PageView, ProductOrgView};

use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;

/// Routes of the admin product org reads.
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/admin/product-orgs", get(list))
        .route("/api/admin/product-orgs/{product_org_id}", get(one))
        .route(
            "/api/admin/product-orgs/{product_org_id}/history",
            get(history),
        )
}

/// `?q=&cursor=&limit=` of every admin list.
#[derive(Debug, Deserialize)]
pub(crate) struct ListParams {
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl ListParams {
    /// The store query these parameters ask for.
    pub(crate) fn query(self) -> Result<SearchQuery, ApiError> {
        Ok(SearchQuery {
            search: self.q.filter(|q| !q.is_empty()),
            page: page(self.cursor, self.limit)?,
        })
    }
}

pub(crate) fn page(cursor: Option<String>, limit: Option<String>) -> Result<PageRequest, ApiError> {
    let limit = match limit.as_deref() {
        None | Some("") => 50,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::BadRequest {
                code: "invalid_limit",
                message: format!("limit must be a whole number from 1 to 200, got {text:?}"),
            })?,
    };
    Ok(PageRequest {
        cursor: cursor.filter(|c| !c.is_empty()),
        limit,
    })
}

pub(crate) fn product_org_id(raw: String) -> Result<ProductOrgId, ApiError> {
    ProductOrgId::parse(raw)
        .map_err(|e| ApiError::NotFound(format!("No such product org: productOrgId {e}.")))
}

async fn list(
    State(app): State<App>,
    admin: TenantAdmin,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let query = params.query()?;
    let found = app.store.list_product_orgs(admin.tenant, &query).await?;
    Ok(Json(PageView::of(&found, ProductOrgView::from)).into_response())
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = product_org_id(raw)?;
    let org = app.store.product_org(admin.tenant, &id).await?;
    Ok(Json(ProductOrgView::from(&org)).into_response())
}

#[derive(Debug, Deserialize)]
struct PageParams {
    cursor: Option<String>,
    limit: Option<String>,
}

async fn history(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(raw): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, ApiError> {
    let id = product_org_id(raw)?;
    let page = page(params.cursor, params.limit)?;
    let found = app
        .store
        .product_org_history(admin.tenant, &id, &page)
        .await?;
    let view = HistoryPageView {
        product_org_id: &id,
        page: PageView::of(&found, HistoryView::from),
    };
    Ok(Json(view).into_response())
}

/// A product org as the admin API shows it, as JSON (for pages that walk it).
pub fn product_org_json(org: &ProductOrg) -> Value {
    views::to_value(ProductOrgView::from(org))
}
