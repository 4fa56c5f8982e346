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
pub fn router(app: App, request_timeout: std::time::Duration) -> Router {
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
        // Inside the JSON mapping below, so a timeout's empty 408 gets the JSON error body.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(map_response(json_method_not_allowed))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            count_request,
        ))
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
        return json_rejection(response).await;
    }
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut json = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    json
}

/// axum's extractors (query string, path, form) refuse a request with a plain-text 4xx; give
/// those the JSON error body too, keeping their status and their text as the message. The web
/// UI's own pages are HTML on purpose and are left alone.
async fn json_rejection(response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::REQUEST_TIMEOUT
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none()
    {
        return ApiError::RequestTimeout.into_response();
    }
    let is_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !is_text {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut json = ApiError::BadRequest {
        code: "invalid_request",
        message: format!("The request could not be read: {text}."),
    }
    .into_response();
    *json.status_mut() = parts.status;
    json
}

/// Counts every answered request by route template (never the URI: it can hold a key) and
/// status.
async fn count_request(
    axum::extract::State(app): axum::extract::State<App>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    app.metrics
        .requests
        .get_or_create(&crate::metrics::RouteLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
