//! Liveness and readiness (`/metrics` has a listener of its own: see `crate::metrics`).

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
}

async fn ready(State(app): State<App>) -> Result<(StatusCode, Json<Value>), ApiError> {
    app.store.ping().await?;
    Ok((StatusCode::OK, Json(json!({"status": "ready"}))))
}
