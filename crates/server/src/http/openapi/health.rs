//! The operator's endpoints: liveness, readiness and this document (`/metrics` is served on a
//! listener of its own, so it is not in this document).

use serde_json::{json, Value};

use super::parts::{error_retry_after, ok};

/// `GET /healthz`.
pub(super) fn healthz() -> Value {
    json!({"get": {
        "operationId": "healthz", "tags": ["health"], "summary": "The process answers",
        "responses": {"200": ok("Alive.", status_schema("ok"))},
    }})
}

/// `GET /readyz`.
pub(super) fn readyz() -> Value {
    json!({"get": {
        "operationId": "readyz", "tags": ["health"], "summary": "The process and its store answer",
        "responses": {
            "200": ok("Ready.", status_schema("ready")),
            "503": error_retry_after("The store does not answer.", &["store_unavailable"]),
        },
    }})
}

/// `GET /api/openapi.json`.
pub(super) fn openapi() -> Value {
    json!({"get": {
        "operationId": "openapi", "tags": ["health"], "summary": "This document",
        "responses": {"200": ok("The OpenAPI 3 document.", json!({"type": "object"}))},
    }})
}

/// `{"status": status}`, the body of a health check.
fn status_schema(status: &str) -> Value {
    json!({"type": "object", "required": ["status"],
           "properties": {"status": {"type": "string", "enum": [status]}}})
}
