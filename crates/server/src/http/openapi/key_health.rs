//! The admin API's key health (SPEC §6), with its schema inline: only it uses it.

use serde_json::{json, Value};

use super::keys::{key_id_param, no_such_key};
use super::parts::{admin_errors, ok, spread, timestamp};

/// `GET /api/admin/api-keys/{keyId}/health`.
pub(super) fn key_health() -> Value {
    json!({"get": {
        "operationId": "getApiKeyHealth",
        "tags": ["admin"],
        "summary": "What a key's last 24 hours of deliveries say",
        "description": "Over the current UTC hour and the 23 before it (`since` is when that window \
            starts): how many deliveries the key received (every one, counted as it arrived, \
            including those the delivery log no longer keeps), which share was refused or \
            changed nothing, the most frequent refusal codes with the newest delivery of each, how \
            often each field changed, and the volatile fields. Which fields an update changed is \
            counted as it is applied; a creation sets every field it maps, so field shares count \
            updates of existing product orgs only (`changingUpdates`). A \
            field is volatile when at least 20 of them changed something and it was the only \
            change of at least half; `advice` says what to remove from which source. `hours` has \
            every hour of the window, oldest first, zeros included.",
        "security": [{"adminToken": []}],
        "parameters": [key_id_param()],
        "responses": spread(json!({
            "200": ok("The key's health.", schema()),
            "404": no_such_key(),
        }), admin_errors()),
    }})
}

fn schema() -> Value {
    let share = |description: &str| {
        json!({"type": "number", "format": "double", "minimum": 0, "maximum": 1,
               "description": description})
    };
    let count = || json!({"type": "integer", "format": "int64", "minimum": 0});
    json!({
        "type": "object",
        "required": ["since", "updates", "refusedShare", "unchangedShare", "topErrors",
                     "changingUpdates", "fields", "volatileFields", "hours"],
        "properties": {
            "since": timestamp(),
            "updates": spread(count(), json!({"description": "Delivery log entries of the window, \
                whatever their outcome."})),
            "refusedShare": share("Refused entries over `updates` (0 without updates)."),
            "unchangedShare": share("Entries that changed nothing over `updates`."),
            "topErrors": {"type": "array", "description": "The most frequent refusal codes (at \
                most 5), most frequent first.", "items": {
                "type": "object", "required": ["code", "count", "example"],
                "properties": {
                    "code": {"type": "string"},
                    "count": count(),
                    "example": {"type": "object", "required": ["deliveryId", "message"],
                                "description": "The newest delivery refused with the code.",
                                "properties": {"deliveryId": {"type": "integer", "format": "int64"},
                                               "message": {"type": "string"}}},
                }}},
            "changingUpdates": spread(count(), json!({"description": "Updates of existing product \
                orgs that changed some value: the base of `fields` and `volatileFields`."})),
            "fields": {"type": "array", "description": "Each field changed, most changed first.",
                       "items": {"type": "object", "required": ["field", "changedShare"],
                                 "properties": {"field": {"type": "string"},
                                                "changedShare": share("Share of `changingUpdates` \
                                                    that changed it.")}}},
            "volatileFields": {"type": "array", "items": {
                "type": "object", "required": ["field", "onlyChangeShare", "advice"],
                "properties": {
                    "field": {"type": "string"},
                    "onlyChangeShare": share("Share of `changingUpdates` in which it was the only change."),
                    "advice": {"type": "string", "description": "What to remove from which source \
                        (the Hightouch model's column, or Segment/RudderStack group calls)."},
                }}},
            "hours": {"type": "array", "minItems": 24, "maxItems": 24, "items": {
                "type": "object",
                "required": ["hour", "applied", "unchanged", "duplicate", "refused"],
                "properties": {"hour": timestamp(), "applied": count(), "unchanged": count(),
                               "duplicate": count(), "refused": count()},
            }},
        },
    })
}
