//! `components`: the security schemes and every schema the operations refer to.

use serde_json::{json, Value};

use super::fields::{product_org_fields, product_org_info_schema, product_org_schema};
use super::parts::{nullable_string, schema_ref, spread, timestamp};
use crate::web::SESSION_COOKIE;

/// The document's `components`.
pub(super) fn components() -> Value {
    json!({
        "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer",
                           "description": "`trailspark admin-token create --tenant T`"},
            "uiSession": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                          "description": "The session cookie of a signed-in web UI, scoped to its tenant. \
                              Used only when the request has no `Authorization` header."},
            "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                          "description": "With `uiSession`, on POST, PUT, PATCH and DELETE: the session's \
                              CSRF token, the `csrf-token` meta tag of its pages."},
            "segmentWriteKey": {"type": "http", "scheme": "basic",
                                "description": "The API key as username; empty password, or the key's secret."},
        },
        "schemas": spread(
            spread(
                spread(intake_schemas(), admin_schemas()),
                spread(super::keys::schemas(), super::deliveries::schemas()),
            ),
            super::templates::schemas(),
        ),
    })
}

/// What the intake endpoints answer: the error body, and each element's result.
fn intake_schemas() -> Value {
    json!({
        "Error": error_schema(),
        "SkippedEvent": {
            "type": "object",
            "required": ["success", "skipped", "type"],
            "properties": {
                "success": {"type": "boolean", "enum": [true]},
                "skipped": {"type": "boolean", "enum": [true]},
                "type": {"type": "string", "description": "The event type this key does not take."},
                "message": {"type": "string", "description": "Why it was skipped, and where to send it instead."},
            },
        },
        "BatchResults": {
            "type": "object",
            "required": ["success", "results"],
            "properties": {
                "success": {"type": "boolean", "description": "True when every element was applied."},
                "results": {"type": "array", "description": "One result per element, in order.",
                            "items": {"anyOf": [schema_ref("WebhookApplied"), schema_ref("SignalApplied"),
                                                schema_ref("SkippedEvent"), schema_ref("Error")]}},
            },
        },
        "FieldError": {
            "type": "object",
            "required": ["field", "path", "message"],
            "properties": {"field": {"type": "string"}, "path": {"type": "string"},
                           "message": {"type": "string"}},
        },
        "WebhookApplied": {
            "type": "object",
            "required": ["success", "productOrgId", "targetOrgId", "isNewOrg", "changed"],
            "properties": {
                "success": {"type": "boolean", "enum": [true]},
                "productOrgId": {"type": "string"},
                "targetOrgId": {"type": "integer", "format": "int64"},
                "isNewOrg": {"type": "boolean"},
                "changed": {"type": "boolean"},
                "unchangedReason": {"type": "string", "enum": ["same_values", "older_event"],
                                    "description": "Why nothing changed, when `changed` is false."},
                "warnings": {"type": "array", "items": schema_ref("Warning")},
                "duplicate": {"type": "boolean", "enum": [true],
                              "description": "A repeated messageId: the first answer again."},
            },
        },
        "Warning": {
            "type": "object",
            "description": "Something the status alone would hide (SPEC §6); never changes the status.",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": ["unresolved_path", "older_event",
                         "similar_product_org", "duplicate_in_batch"]},
                "message": {"type": "string", "description": "The cause and the fix."},
                "field": {"type": "string"}, "path": {"type": "string"},
                "didYouMean": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "string"}},
                "storedEventTimestamp": {"type": "string", "format": "date-time"},
                "existing": {"type": "string", "description": "The product org id it resembles."},
                "productOrgId": {"type": "string"},
                "indexes": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "SignalApplied": {
            "type": "object",
            "required": ["success", "leadId", "targetOrgId", "linked"],
            "properties": {
                "success": {"type": "boolean", "enum": [true]},
                "leadId": {"type": "string"},
                "targetOrgId": {"type": "integer", "format": "int64", "nullable": true},
                "linked": {"type": "boolean"},
                "unlinkedReason": {"type": "string",
                                   "enum": ["no_product_org_id", "product_org_not_found"],
                                   "description": "Why the lead is not linked, when `linked` is false."},
                "warnings": {"type": "array", "items": schema_ref("Warning")},
                "duplicate": {"type": "boolean", "enum": [true],
                              "description": "A repeated messageId: the first answer again."},
            },
        },
    })
}

/// The body of every error (SPEC's `{success:false, code, error, message}` and its extras).
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["success", "code", "error", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [false]},
            "code": {"type": "string", "description": "Stable snake_case code."},
            "error": {"type": "string", "description": "Short text."},
            "message": {"type": "string", "description": "What is wrong and how to fix it."},
            "path": {"type": "string", "description": "The template path that found nothing."},
            "didYouMean": {"type": "string", "description": "The nearest existing path of the payload."},
            "fieldErrors": {"type": "array", "items": schema_ref("FieldError")},
            "reasons": {"type": "array", "items": {"type": "string"},
                        "description": "Every reason a template was refused."},
            "status": {"type": "integer",
                       "description": "In a batch's results: the status this element alone would get."},
            "results": {"type": "array", "items": {},
                        "description": "For a batch of which no element was applied: each element's error."},
            "requestId": {"type": "string",
                          "description": "On a 500: the request id its cause is logged under (also in X-Request-Id)."},
        },
    })
}

/// What the admin API answers.
fn admin_schemas() -> Value {
    let fields = product_org_fields();
    json!({
        "Lead": {
            "type": "object",
            "required": ["leadId", "email", "productOrgId", "targetOrgId", "createdAt", "updatedAt"],
            "properties": {
                "leadId": {"type": "string"},
                "email": nullable_string(),
                "productOrgId": spread(nullable_string(), json!({"description": "Of the latest signal naming one."})),
                "targetOrgId": {"type": "integer", "format": "int64", "nullable": true,
                                "description": "Null while the product org does not exist."},
                "createdAt": timestamp(),
                "updatedAt": timestamp(),
            },
        },
        "Signal": {
            "type": "object",
            "required": ["signal", "productOrgId", "properties", "customFields", "eventAt", "receivedAt"],
            "properties": {
                "signal": nullable_string(),
                "productOrgId": nullable_string(),
                "properties": {"type": "object", "additionalProperties": true, "nullable": true},
                "customFields": {"type": "object", "additionalProperties": true},
                "eventAt": nullable_timestamp(),
                "receivedAt": timestamp(),
            },
        },
        "ProductOrgInfo": product_org_info_schema(&fields),
        "EvaluationContext": {
            "type": "object",
            "required": ["lead", "signals", "firmographics", "productOrgInfo"],
            "properties": {
                "lead": schema_ref("Lead"),
                "signals": {"type": "array", "items": schema_ref("Signal")},
                "firmographics": {"type": "object", "additionalProperties": true, "nullable": true},
                "productOrgInfo": {"type": "array", "items": schema_ref("ProductOrgInfo")},
            },
        },
        "TargetOrg": target_org_schema(),
        "TargetOrgDetail": {
            "allOf": [
                schema_ref("TargetOrg"),
                {"type": "object", "required": ["productOrgs", "leads", "leadCount"],
                 "properties": {"productOrgs": {"type": "array", "items": schema_ref("ProductOrg")},
                                "leads": {"type": "array", "items": schema_ref("Lead")},
                                "leadCount": {"type": "integer", "format": "int64"}}},
            ],
        },
        "ProductOrg": product_org_schema(&fields),
        "HistoryEntry": history_entry_schema(),
    })
}

fn target_org_schema() -> Value {
    json!({
        "type": "object",
        "required": ["targetOrgId", "name", "firmographics", "productOrgCount", "createdAt", "updatedAt"],
        "properties": {
            "targetOrgId": {"type": "integer", "format": "int64"},
            "name": {"type": "string"},
            "firmographics": {"type": "object", "additionalProperties": true, "nullable": true},
            "productOrgCount": {"type": "integer", "format": "int64"},
            "createdAt": timestamp(),
            "updatedAt": timestamp(),
        },
    })
}

fn history_entry_schema() -> Value {
    json!({
        "type": "object",
        "required": ["version", "changes", "keyId", "eventAt", "receivedAt"],
        "properties": {
            "version": {"type": "integer", "format": "int64", "minimum": 1},
            "changes": {"type": "array", "items": {
                "type": "object", "required": ["field", "old", "new"],
                "properties": {"field": {"type": "string"}, "old": {}, "new": {}}}},
            "keyId": {"type": "string"},
            "eventAt": nullable_timestamp(),
            "receivedAt": timestamp(),
        },
    })
}

fn nullable_timestamp() -> Value {
    spread(timestamp(), json!({"nullable": true}))
}
