//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::app::App;
use crate::error::ApiError;

/// `/healthz` (the process answers) and `/readyz` (the store answers too).
pub fn router() -> Router<App> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

async fn metrics(State(app): State<App>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
}

async fn ready(State(app): State<App>) -> Result<(StatusCode, Json<Value>), ApiError> {
    app.store.ping().await?;
    Ok((StatusCode::OK, Json(json!({"status": "ready"}))))
}
