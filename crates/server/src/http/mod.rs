//! The HTTP surface: one router merged from each resource module's `router()`.

pub(crate) mod admin;
mod batch;
mod health;
pub(crate) mod ingest;
pub(crate) mod leads;
mod openapi;
mod segment;
mod signals;
pub(crate) mod target_orgs;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::error::ApiError;

/// The whole service.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(ingest::router())
        .merge(signals::router())
        .merge(segment::router())
        .merge(admin::router())
        .merge(leads::router())
        .merge(target_orgs::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(crate::web::router())
        .fallback(|| async {
            ApiError::NotFound("There is no endpoint at this path; see /api/openapi.json.".into())
        })
        .layer(map_response(json_method_not_allowed))
        // Spans name the route template, never the URI: webhook URIs carry API keys.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %req.method(), route, request_id = id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(app)
}

/// axum answers a known path with an unknown method by a bare 405 with `Allow`; give it the
/// JSON error body every other error has (some SDKs retry forever without `code`).
async fn json_method_not_allowed(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut json = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    json
}
