//! Liveness and readiness (`/metrics` has a listener of its own: see `crate::metrics`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use trailspark_core::update::format_timestamp;
use trailspark_store::{WriteFailure, PROBE_EVERY};

use crate::app::App;
use crate::error::ApiError;

/// `/healthz` (the process answers) and `/readyz` (the store answers and its writes commit).
pub fn router() -> Router<App> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
}

/// Ready when the store answers and its writes commit (no write failed since the last probe
/// that committed). A store whose disk is full still answers reads, so an instance that only
/// pinged would stay in a load balancer's rotation while it refuses every update.
async fn ready(State(app): State<App>) -> Result<Response, ApiError> {
    app.store.ping().await?;
    let Some(writes) = app.store.write_health() else {
        return Ok(ready_response());
    };
    if writes.probe_due() {
        // Writes failed, and only a probe says that they commit again (an update that does
        // may have fit in space the store already holds, and none comes to an instance a load
        // balancer took out). Each outcome is logged, at most once per PROBE_EVERY: with no
        // traffic, this is the only line that says why the instance is still not ready.
        match app.store.probe_write().await {
            Ok(()) => tracing::info!("the write probe of /readyz committed: writes commit again"),
            Err(e) => tracing::warn!(error = %e.chain(), "not ready: the write probe failed"),
        }
    }
    Ok(match writes.failure() {
        None => ready_response(),
        Some(failure) => cannot_write(&failure),
    })
}

fn ready_response() -> Response {
    (StatusCode::OK, Json(json!({"status": "ready"}))).into_response()
}

/// `503`: the store's writes fail. The body names the reason and since when; the cause (which
/// names files) is in the log, where the failed writes and probes put it.
fn cannot_write(failure: &WriteFailure) -> Response {
    let since = format_timestamp(&failure.since);
    let body: Value = json!({
        "success": false,
        "code": "store_unavailable",
        "error": "store cannot write",
        "message": format!(
            "The store's writes have failed since {since} (a full disk, or a failing one: the \
             server's log has the cause); updates are refused with 503 meanwhile. Ready again \
             once a test write commits (tried at most once a second, on this endpoint's calls)."
        ),
        "reason": "store_cannot_write",
        "failingSince": since,
    });
    let retry_after = PROBE_EVERY.as_secs().max(1);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, retry_after.to_string())],
        Json(body),
    )
        .into_response()
}
