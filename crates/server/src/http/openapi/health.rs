//! The operator's endpoints: liveness, readiness and this document (`/metrics` is served on a
//! listener of its own, so it is not in this document).

use serde_json::{json, Value};

use super::parts::{error_retry_after, ok, schema_ref, spread, timestamp};

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
        "operationId": "readyz", "tags": ["health"],
        "summary": "The process and its store answer, and the store's writes commit",
        "responses": {
            "200": ok("Ready.", status_schema("ready")),
            "503": not_ready(),
        },
    }})
}

/// `/readyz`'s `503`: the Error body, with `reason` when it is the writes that fail.
fn not_ready() -> Value {
    let mut response = error_retry_after(
        "Not ready: the store does not answer, or its writes fail (`reason` \
         `store_cannot_write`: a full or failing disk; updates are refused with 503 meanwhile). \
         Ready again once a write that this endpoint tries itself (at most once per \
         `Retry-After`) commits.",
        &["store_unavailable"],
    );
    response["content"]["application/json"]["schema"] = json!({"allOf": [schema_ref("Error"), {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "enum": ["store_cannot_write"],
                       "description": "Why not ready, when the store answers but cannot write."},
            "failingSince": spread(timestamp(), json!({
                "description": "With `reason`: when the first of the failed writes in a row failed."})),
        },
    }]});
    response
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
