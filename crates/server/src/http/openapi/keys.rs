//! The admin API's API keys and their template versions, and the schemas only they use.

use serde_json::{json, Value};
use trailspark_core::path::MAX_ALTERNATIVES;
use trailspark_core::template::{Preset, PRODUCT_ORG_KEYS, SIGNAL_KEYS};
use trailspark_core::EndpointType;

use crate::keys::MAX_NAME_LEN;

use super::parts::{
    admin_errors, error, not_json, nullable_string, ok, schema_ref, spread, timestamp,
};

/// `GET` and `POST /api/admin/api-keys`.
pub(super) fn api_keys() -> Value {
    json!({
        "get": {
            "operationId": "listApiKeys",
            "tags": ["admin"],
            "summary": "List the tenant's API keys (never the keys themselves)",
            "description": "Every key of the tenant, newest first, revoked ones included. A tenant has \
                few keys: the list is not paged.",
            "security": [{"adminToken": []}],
            "responses": spread(json!({
                "200": ok("The keys.", items_of("ApiKey")),
            }), admin_errors()),
        },
        "post": {
            "operationId": "createApiKey",
            "tags": ["admin"],
            "summary": "Create an API key; the key and its secrets are shown once",
            "description": "As `trailspark key create`. The answer is the only time the key (and its \
                secrets) can be read: store them now. The template becomes the key's version 1.",
            "security": [{"adminToken": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": new_key_schema()}}},
            "responses": spread(json!({
                "201": ok("The new key, with the key and its secrets (null when not asked for).",
                          schema_ref("CreatedApiKey")),
                "400": error("Not a usable body.", &["invalid_json", "invalid_body", "unknown_preset",
                                                     "invalid_key_name", "invalid_expiry"]),
                "413": body_too_large(),
                "415": not_json(),
                "422": invalid_template(),
            }), admin_errors()),
        },
    })
}

/// `GET` and `DELETE /api/admin/api-keys/{keyId}`.
pub(super) fn api_key() -> Value {
    json!({
        "get": {
            "operationId": "getApiKey",
            "tags": ["admin"],
            "summary": "One API key with its current template",
            "security": [{"adminToken": []}],
            "parameters": [key_id_param()],
            "responses": spread(json!({
                "200": ok("The key; `template` is its version `templateVersion`.", schema_ref("ApiKeyDetail")),
                "404": no_such_key(),
            }), admin_errors()),
        },
        "delete": {
            "operationId": "revokeApiKey",
            "tags": ["admin"],
            "summary": "Revoke an API key",
            "description": "Requests with the key are refused (401) by every server within its key \
                refresh interval. Revoking again keeps the first revocation time. The key and its \
                template versions can still be read.",
            "security": [{"adminToken": []}],
            "parameters": [key_id_param()],
            "responses": spread(json!({
                "200": ok("The key as now stored, `revokedAt` set.", schema_ref("ApiKey")),
                "404": no_such_key(),
            }), admin_errors()),
        },
    })
}

/// `PUT /api/admin/api-keys/{keyId}/template`.
pub(super) fn template() -> Value {
    json!({"put": {
        "operationId": "setApiKeyTemplate",
        "tags": ["admin"],
        "summary": "Change a key's payload template (a new version)",
        "description": "Validated as when a key is created, for the key's endpoint type. The template \
            becomes the key's next version; requests arriving after every server's key refresh \
            interval are extracted with it, earlier ones with the version current when they \
            arrived. The key and its URL stay the same.",
        "security": [{"adminToken": []}],
        "parameters": [key_id_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["template"], "additionalProperties": false,
            "properties": {"template": schema_ref("PayloadTemplate")}}}}},
        "responses": spread(json!({
            "200": ok("The version the template became.", json!({
                "type": "object", "required": ["templateVersion"],
                "properties": {"templateVersion": version_number()}})),
            "400": error("Not a usable body.", &["invalid_json", "invalid_body"]),
            "404": no_such_key(),
            "409": error("The key is revoked: its template no longer changes.", &["conflict"]),
            "413": body_too_large(),
            "415": not_json(),
            "422": invalid_template(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/api-keys/{keyId}/template/versions`.
pub(super) fn template_versions() -> Value {
    json!({"get": {
        "operationId": "listApiKeyTemplateVersions",
        "tags": ["admin"],
        "summary": "Every version of a key's template, newest first",
        "security": [{"adminToken": []}],
        "parameters": [key_id_param()],
        "responses": spread(json!({
            "200": ok("Every version, the current one first.", items_of("TemplateVersion")),
            "404": no_such_key(),
        }), admin_errors()),
    }})
}

/// `POST /api/admin/api-keys/{keyId}/template/test`.
pub(super) fn template_test() -> Value {
    let verdict = json!({"type": "object", "required": ["outcome"], "properties": {
        "outcome": {"type": "string", "enum": ["applied", "unchanged", "duplicate", "refused"]},
        "code": {"type": "string"},
        "fields": {"type": "object", "description": "What the candidate takes (`after` only, when taken)."}}});
    let counts = [
        "nowApplied",
        "stillRefused",
        "newlyRefused",
        "extractionChanged",
        "same",
    ];
    let summary: serde_json::Map<String, Value> = counts
        .iter()
        .map(|name| ((*name).to_owned(), json!({"type": "integer", "minimum": 0})))
        .collect();
    json!({"post": {
        "operationId": "testApiKeyTemplate",
        "tags": ["admin"],
        "summary": "Run a candidate template over the key's recent deliveries; nothing stored",
        "description": "The key's newest `limit` deliveries that kept their payload (default 200, at \
            most 1,000), each read by the candidate as the webhook would: what it would now apply, \
            what stays refused, what it would newly refuse, and where it takes other fields than the \
            key's current template.",
        "security": [{"adminToken": []}],
        "parameters": [key_id_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["template"], "additionalProperties": false,
            "properties": {
                "template": {"description": "The candidate: a template's JSON form, or a preset's name.",
                             "oneOf": [schema_ref("PayloadTemplate"), {"type": "string"}]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
            }}}}},
        "responses": spread(json!({
            "200": ok("The summary and one result per delivery, newest first.", json!({
                "type": "object", "required": ["tested", "summary", "results"],
                "properties": {
                    "tested": {"type": "integer", "minimum": 0},
                    "summary": {"type": "object", "required": counts, "properties": summary},
                    "results": {"type": "array", "items": {
                        "type": "object", "required": ["deliveryId", "before", "after"],
                        "properties": {"deliveryId": {"type": "integer", "format": "int64"},
                                       "before": verdict, "after": verdict}}},
                }})),
            "400": error("Not a usable body.", &["invalid_json", "invalid_body", "invalid_limit",
                                                 "unknown_preset"]),
            "404": no_such_key(),
            "413": body_too_large(),
            "415": not_json(),
            "422": invalid_template(),
        }), admin_errors()),
    }})
}

/// The schemas of keys and templates, for `components.schemas`.
pub(super) fn schemas() -> Value {
    json!({
        "ApiKey": api_key_schema(),
        "ApiKeyDetail": {"allOf": [schema_ref("ApiKey"), {
            "type": "object", "required": ["template"],
            "properties": {"template": schema_ref("PayloadTemplate")}}]},
        "CreatedApiKey": {"allOf": [schema_ref("ApiKeyDetail"), {
            "type": "object", "required": ["apiKey", "secret", "hmacSecret"],
            "properties": {
                "apiKey": {"type": "string", "description": "The key, for the webhook URL; shown this once."},
                "secret": spread(nullable_string(), json!({"description": "Send as `X-Api-Secret`; shown this once."})),
                "hmacSecret": spread(nullable_string(), json!({"description": "Sign requests with it; shown this once."})),
            }}]},
        "TemplateVersion": {
            "type": "object",
            "required": ["templateVersion", "template", "createdAt", "createdBy"],
            "properties": {
                "templateVersion": version_number(),
                "template": schema_ref("PayloadTemplate"),
                "createdAt": timestamp(),
                "createdBy": {"type": "string",
                              "description": "Who set it: `cli`, `admin token`, `web UI`, or `key creation` for keys made before versions."},
            },
        },
        "PayloadTemplate": payload_template_schema(),
    })
}

/// The endpoint types' names, as keys take and show them.
pub(super) fn endpoint_types() -> Value {
    let types: Vec<&str> = [EndpointType::ProductOrgUpdates, EndpointType::SignalStaging]
        .iter()
        .map(|t| t.as_str())
        .collect();
    json!({"type": "string", "enum": types})
}

fn api_key_schema() -> Value {
    json!({
        "type": "object",
        "required": ["id", "name", "endpointType", "prefix", "createdAt", "expiresAt", "revokedAt",
                     "lastUsedAt", "templateVersion"],
        "properties": {
            "id": {"type": "string", "description": "The key's id (`key_…`), not the key."},
            "name": {"type": "string"},
            "endpointType": endpoint_types(),
            "prefix": {"type": "string", "description": "The key's first characters, to recognise it."},
            "createdAt": timestamp(),
            "expiresAt": spread(timestamp(), json!({"nullable": true})),
            "revokedAt": spread(timestamp(), json!({"nullable": true})),
            "lastUsedAt": spread(timestamp(), json!({"nullable": true})),
            "templateVersion": version_number(),
        },
    })
}

fn new_key_schema() -> Value {
    let presets: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
    json!({
        "type": "object",
        "required": ["name", "endpointType"],
        "additionalProperties": false,
        "description": "Exactly one of `preset` and `template`.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LEN},
            "endpointType": endpoint_types(),
            "preset": {"type": "string", "enum": presets},
            "template": schema_ref("PayloadTemplate"),
            "expiresAt": spread(timestamp(), json!({"description": "Refuse requests after this time (in the future)."})),
            "secret": {"type": "boolean", "default": false, "description": "Also issue an `X-Api-Secret`."},
            "hmacSecret": {"type": "boolean", "default": false, "description": "Also issue an HMAC secret to sign requests with."},
        },
    })
}

/// A template's JSON form (SPEC §2), whose keys core's field table lists.
fn payload_template_schema() -> Value {
    let path = json!({"type": "string", "minLength": 1, "description": "A dot-notation path."});
    let alternatives = json!({"type": "array", "items": path, "minItems": 1, "maxItems": MAX_ALTERNATIVES,
                              "description": "Paths tried in order."});
    json!({
        "type": "object",
        "description": format!(
            "Field → dot-notation path in the incoming JSON. Product Org Updates: {} (productOrgId \
             required). Signal Staging: {} (email or leadId required). Both: customFields, an \
             object of name → path.",
            PRODUCT_ORG_KEYS.join(", "), SIGNAL_KEYS.join(", ")),
        "additionalProperties": {"anyOf": [
            path, alternatives,
            {"type": "object", "additionalProperties": {"anyOf": [path, alternatives]}},
        ]},
    })
}

/// `{items}` of the schema `item`.
fn items_of(item: &str) -> Value {
    json!({"type": "object", "required": ["items"],
           "properties": {"items": {"type": "array", "items": schema_ref(item)}}})
}

fn version_number() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1})
}

pub(super) fn key_id_param() -> Value {
    json!({"name": "keyId", "in": "path", "required": true,
           "description": "The key's id (`key_…`, as listed), not the key.",
           "schema": {"type": "string", "minLength": 1}})
}

pub(super) fn no_such_key() -> Value {
    error("The tenant has no API key with this id.", &["not_found"])
}

/// `422`, a template refused with every reason.
pub(super) fn invalid_template() -> Value {
    error(
        "The template is invalid; `reasons` lists every reason.",
        &["invalid_template"],
    )
}

/// `413`, a body over the admin API's limit.
pub(super) fn body_too_large() -> Value {
    error("The body is larger than 1 MiB.", &["payload_too_large"])
}
