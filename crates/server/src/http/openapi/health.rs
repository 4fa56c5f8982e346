//! The operator's endpoints: metrics, liveness, readiness and this document.

use serde_json::{json, Value};

use super::parts::{error_retry_after, method_not_allowed, ok};

/// `GET /metrics`.
pub(super) fn metrics() -> Value {
    json!({"get": {
        "operationId": "metrics",
        "tags": ["health"],
        "summary": "Prometheus metrics",
        "description": "OpenMetrics text: requests by route and status, apply latency, group commit \
            transactions and the requests they carried, changed/unchanged updates and \
            messageId duplicates per key id, store errors. Operator-level: expose it to \
            your monitoring only.",
        "responses": {
            "200": {"description": "The metrics.",
                    "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}},
            "405": method_not_allowed(),
        },
    }})
}

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
