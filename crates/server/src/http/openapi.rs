//! `GET /api/openapi.json`: the OpenAPI 3 document of every endpoint.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::app::App;

/// The document, kept beside the code it describes.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Serves the document.
pub fn router() -> Router<App> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async {
            ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
        }),
    )
}
