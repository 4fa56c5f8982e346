//! The admin API's template preview, and the schemas only it uses.

use serde_json::{json, Value};
use trailspark_core::fields::{Field, CUSTOM_FIELDS};
use trailspark_core::template::Preset;

use super::keys::{body_too_large, endpoint_types, invalid_template};
use super::parts::{admin_errors, error, not_json, ok, schema_ref, spread, timestamp};

/// `POST /api/admin/payload-templates/preview`.
pub(super) fn preview() -> Value {
    let presets: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
    json!({"post": {
        "operationId": "previewPayloadTemplate",
        "tags": ["admin"],
        "summary": "What a payload template makes of a sample payload; nothing is stored",
        "description": "The template is validated as when a key is created, then the payload is read \
            with it as the webhook would read it: `fields` is what would be extracted, `unresolved` \
            every mapped field whose path found nothing (with the nearest existing path when one \
            differs only by case or a typo), `errors` every value its rule refuses (a missing \
            productOrgId, or a signal's missing lead, is an error of its field). No errors: a \
            webhook with this payload would be applied. The web UI's template builder shows the same.",
        "security": [{"adminToken": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["template", "payload"], "additionalProperties": false,
            "properties": {
                "endpointType": spread(endpoint_types(), json!({"default": "product-org-updates"})),
                "template": {"description": "The template's JSON form, or a preset's name.",
                             "anyOf": [schema_ref("PayloadTemplate"), {"type": "string", "enum": presets}]},
                "payload": {"description": "A sample payload, as the CDP sends it (any JSON)."},
            }}}}},
        "responses": spread(json!({
            "200": ok("What the template makes of the payload.", schema_ref("TemplatePreview")),
            "400": error("Not a usable body.", &["invalid_json", "invalid_body"]),
            "413": body_too_large(),
            "415": not_json(),
            "422": invalid_template(),
        }), admin_errors()),
    }})
}

/// The schemas of the preview, for `components.schemas`.
pub(super) fn schemas() -> Value {
    json!({
        "TemplatePreview": {
            "type": "object",
            "required": ["fields", "unresolved", "errors"],
            "properties": {
                "fields": preview_fields(),
                "unresolved": {"type": "array", "items": schema_ref("UnresolvedPath")},
                "errors": {"type": "array", "items": schema_ref("FieldError"),
                           "description": "Empty when a webhook with this payload would be applied."},
            },
        },
        "UnresolvedPath": {
            "type": "object",
            "required": ["field", "path"],
            "properties": {
                "field": {"type": "string", "description": "The field (`userCount`, `customFields.seats`)."},
                "path": {"type": "string", "description": "The template's path for it."},
                "didYouMean": {"type": "string", "description": "The payload's nearest existing path."},
            },
        },
    })
}

/// The fields a preview shows: a product org's (from core's field table; `null` clears a field)
/// or a signal's, each only when the payload has it.
fn preview_fields() -> Value {
    let text = json!({"type": "string"});
    let mut properties = json!({
        "productOrgId": text,
        "eventTimestamp": timestamp(),
        "messageId": text,
        CUSTOM_FIELDS: {"type": "object", "additionalProperties": true},
        "email": text,
        "leadId": text,
        "signal": text,
        "properties": {"type": "object", "additionalProperties": true},
    });
    for field in Field::ALL {
        properties[field.name()] = spread(field.schema(), json!({"nullable": true}));
    }
    json!({
        "type": "object",
        "description": "What would be extracted, by JSON name: a product org's fields (a `null` clears \
            the field) or a signal's; custom fields under `customFields`.",
        "additionalProperties": false,
        "properties": properties,
    })
}
