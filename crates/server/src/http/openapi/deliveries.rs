//! The admin API's delivery log (SPEC §6), and the schema only it uses.

use serde_json::{json, Value};

use super::keys::{body_too_large, key_id_param, no_such_key};
use super::parts::{
    admin_errors, error, not_json, ok, page_of, page_params, schema_ref, spread, timestamp,
};

const OUTCOMES: [&str; 4] = ["applied", "unchanged", "duplicate", "refused"];

/// `GET /api/admin/api-keys/{keyId}/deliveries`.
pub(super) fn key_deliveries() -> Value {
    let mut parameters = vec![
        key_id_param(),
        json!({"name": "outcome", "in": "query", "required": false,
               "description": "Only entries of this outcome.",
               "schema": {"type": "string", "enum": OUTCOMES}}),
        json!({"name": "productOrgId", "in": "query", "required": false,
               "description": "Only entries of this product org.", "schema": {"type": "string"}}),
        json!({"name": "since", "in": "query", "required": false,
               "description": "Only entries received at or after this time.",
               "schema": {"type": "string", "format": "date-time"}}),
    ];
    parameters.extend(page_params().as_array().cloned().unwrap_or_default());
    json!({"get": {
        "operationId": "listDeliveries",
        "tags": ["admin"],
        "summary": "A key's delivery log, newest first",
        "description": "One entry per update (each element of an array or `/v1/batch` body is its own, \
            with its `index` and the request's `requestId`) and one per request refused once its key \
            was known. Written in the transaction that applied the request: an answered request is \
            listed at once, by every instance. Kept for `--deliveries-retention-days` and at most \
            `--deliveries-per-key` entries. The list leaves payloads out; `hasPayload` says whether \
            `GET /api/admin/deliveries/{deliveryId}` shows one.",
        "security": [{"adminToken": []}],
        "parameters": parameters,
        "responses": spread(json!({
            "200": page_of("Delivery"),
            "400": error("A bad query parameter.", &["invalid_outcome", "invalid_since",
                                                      "invalid_limit", "invalid_cursor"]),
            "404": no_such_key(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/deliveries/{deliveryId}`.
pub(super) fn delivery() -> Value {
    json!({"get": {
        "operationId": "getDelivery",
        "tags": ["admin"],
        "summary": "One delivery with its payload and answer",
        "security": [{"adminToken": []}],
        "parameters": [{"name": "deliveryId", "in": "path", "required": true,
                        "description": "`deliveryId`, as listed.", "schema": {"type": "string"}}],
        "responses": spread(json!({
            "200": ok("The entry, with `payload` (when kept) and `answer`.", schema_ref("Delivery")),
            "404": error("The tenant has no delivery with this id.", &["not_found"]),
        }), admin_errors()),
    }})
}

/// `POST /api/admin/api-keys/{keyId}/deliveries/replay`.
pub(super) fn replay() -> Value {
    json!({"post": {
        "operationId": "replayDeliveries",
        "tags": ["admin"],
        "summary": "Re-apply stored deliveries through the key's current template",
        "description": "Each chosen delivery's payload is applied again as if it had arrived at its \
            original `receivedAt`: per-field last-writer-wins by event time holds (an old event never \
            overwrites newer data) and messageId dedupe applies (replaying twice applies once). Each \
            replay is logged with `replayOf`. `{outcome: \"refused\"}` takes every refused delivery of \
            the key that is not itself a replay, oldest first; at most 1,000 a call.",
        "security": [{"adminToken": []}],
        "parameters": [key_id_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false,
            "description": "Either `deliveryIds`, or `outcome: \"refused\"` with an optional `since`.",
            "properties": {
                "deliveryIds": {"type": "array", "minItems": 1, "maxItems": 1000,
                                "items": {"type": "integer", "format": "int64"}},
                "outcome": {"type": "string", "enum": ["refused"]},
                "since": timestamp(),
            }}}}},
        "responses": spread(json!({
            "200": ok("One result per delivery, as the webhook would have answered it.", json!({
                "type": "object", "required": ["replayed", "results"],
                "properties": {
                    "replayed": {"type": "integer"},
                    "results": {"type": "array", "items": {
                        "type": "object", "required": ["deliveryId", "status", "body"],
                        "properties": {"deliveryId": {"type": "integer", "format": "int64"},
                                       "status": {"type": "integer"},
                                       "body": {"type": "object"}}}},
                }})),
            "400": error("Not a usable body.", &["invalid_json", "invalid_body", "too_many_deliveries"]),
            "404": error("The tenant has no such key, or the key no such delivery.", &["not_found"]),
            "409": error("The key is revoked.", &["conflict"]),
            "413": body_too_large(),
            "415": not_json(),
        }), admin_errors()),
    }})
}

/// The schemas of the log, for `components.schemas`.
pub(super) fn schemas() -> Value {
    let optional_string = |description: &str| json!({"type": "string", "description": description});
    json!({"Delivery": {
        "type": "object",
        "required": ["deliveryId", "keyId", "requestId", "index", "receivedAt", "intake", "status",
                     "outcome", "changed", "warnings", "templateVersion", "hasPayload"],
        "properties": {
            "deliveryId": {"type": "integer", "format": "int64"},
            "keyId": {"type": "string"},
            "requestId": {"type": "string", "description": "The request's `X-Request-Id`, shared by the \
                entries of one array body."},
            "index": {"type": "integer", "nullable": true, "minimum": 0,
                      "description": "The element of an array or batch body; null for a single update."},
            "receivedAt": timestamp(),
            "intake": {"type": "string", "enum": ["webhook", "segment"]},
            "status": {"type": "integer", "description": "The status the update (or request) was answered."},
            "outcome": {"type": "string", "enum": OUTCOMES},
            "code": optional_string("The error code of a refused entry."),
            "message": optional_string("What was wrong, and how to fix it."),
            "productOrgId": optional_string("The product org of a product org update."),
            "leadId": optional_string("The lead of a signal."),
            "targetOrgId": {"type": "integer", "format": "int64"},
            "changed": {"type": "boolean"},
            "unchangedReason": optional_string("Why nothing changed, when known."),
            "unlinkedReason": optional_string("A signal's: why its lead is not linked."),
            "warnings": {"type": "array", "items": schema_ref("Warning")},
            "templateVersion": {"type": "integer", "format": "int64", "minimum": 1,
                                "description": "The template version the update was read with."},
            "hasPayload": {"type": "boolean", "description": "Whether the payload was kept: always for a \
                refused entry whose body was read once its sender was trusted, for others within \
                `--delivery-payloads-per-minute`."},
            "payload": {"description": "The update as received (credentials taken out); its text when it \
                was cut at 64 KiB or was not JSON. Only on one delivery."},
            "answer": {"type": "object", "description": "The status and body the update was answered. Only on \
                one delivery.", "required": ["status", "body"],
                       "properties": {"status": {"type": "integer"}, "body": {"type": "object"}}},
            "replayOf": {"type": "integer", "format": "int64",
                         "description": "The delivery this entry replayed."},
        },
    }})
}
