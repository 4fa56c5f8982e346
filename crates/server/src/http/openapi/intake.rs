//! The intake endpoints: both webhooks and the Segment-compatible API.

use serde_json::{json, Value};

use super::parts::{
    error, error_retry_after, internal_error, method_not_allowed, not_json, ok, schema_ref, spread,
};

/// `POST /api/product-orgs/webhook/{apiKey}`.
pub(super) fn product_org_webhook() -> Value {
    let operation = json!({
        "operationId": "productOrgWebhook",
        "tags": ["webhook"],
        "summary": "Send one product org update",
        "description": "Applies one JSON object through the key's payload template. A 200 means the \
            update is committed to disk. Per-field last-writer-wins by `eventTimestamp`; \
            a repeated `messageId` (same key, 24 h) repeats the first outcome.",
    });
    let webhook = WebhookDoc {
        key_type: "Product Org Updates",
        key_prefix: "tsk_po_",
        applied: schema_ref("WebhookApplied"),
        applied_text: "Applied (or a repeated messageId's first outcome).",
        missing_code: "missing_product_org_id",
    };
    json!({"post": spread(operation, webhook.operation())})
}

/// `POST /api/signals/webhook/{apiKey}`.
pub(super) fn signal_webhook() -> Value {
    let operation = json!({
        "operationId": "signalWebhook",
        "tags": ["webhook"],
        "summary": "Send one lead signal",
        "description": "Stores one signal of a lead (identified by its leadId, else its email, trimmed and \
            lower-cased) through the key's Signal Staging template. A signal naming a \
            productOrgId links its lead to that product org's target org, at once if the \
            product org exists, else when its first update arrives.",
    });
    let webhook = WebhookDoc {
        key_type: "Signal Staging",
        key_prefix: "tsk_sig_",
        applied: schema_ref("SignalApplied"),
        applied_text: "Stored (or a repeated messageId's first outcome).",
        missing_code: "missing_lead",
    };
    json!({"post": spread(operation, webhook.operation())})
}

/// What tells the two webhooks apart; the rest of their description is shared.
struct WebhookDoc {
    /// The key type the webhook takes, as the CLI names it.
    key_type: &'static str,
    /// How that type's keys begin.
    key_prefix: &'static str,
    /// The schema of one applied element.
    applied: Value,
    /// What a 200 means.
    applied_text: &'static str,
    /// The 400 code of a body missing its id.
    missing_code: &'static str,
}

impl WebhookDoc {
    /// Parameters, body and responses of the webhook.
    fn operation(self) -> Value {
        let key_param = json!({
            "name": "apiKey", "in": "path", "required": true,
            "description": format!("A {} API key (`{}…`).", self.key_type, self.key_prefix),
            "schema": {"type": "string"},
        });
        json!({
            "parameters": spread(json!([key_param]), signed_headers()),
            "requestBody": {
                "required": true,
                "description": "Any JSON object, the key's template saying where each field is; or an \
                    array of up to 4,000 such objects (a batch), applied in order.",
                "content": {"application/json": {"schema": {"oneOf": [
                    {"type": "object", "additionalProperties": true},
                    {"type": "array", "minItems": 1, "maxItems": 4000, "items": {}},
                ]}}},
            },
            "responses": self.responses(),
        })
    }

    fn responses(self) -> Value {
        json!({
            "200": ok(&format!("{} For a batch, every element's result.", self.applied_text),
                      json!({"oneOf": [self.applied, schema_ref("BatchResults")]})),
            "207": ok("A batch of which some elements were applied and some failed; each failure \
                       says why.", schema_ref("BatchResults")),
            "400": error("The body is not usable (for a batch: no element was; see `results`).",
                         &["invalid_json", "body_not_object", "empty_batch", self.missing_code]),
            "401": error("The key or the request's credentials were refused.",
                         &["invalid_api_key", "api_key_expired", "missing_api_secret", "invalid_api_secret",
                           "missing_signature", "malformed_signature", "stale_signature",
                           "invalid_signature", "webhook_replayed"]),
            "403": error(&format!("The key is not a {} key.", self.key_type), &["wrong_key_type"]),
            "405": method_not_allowed(),
            "413": error("The body is larger than 1 MiB, or a batch has more than 4,000 elements.",
                         &["payload_too_large", "too_many_events"]),
            "415": not_json(),
            "422": invalid_fields(),
            "429": rate_limited(),
            "500": internal_error(),
            "503": error_retry_after("The store is unavailable; nothing was stored, retry.",
                                     &["store_unavailable"]),
        })
    }
}

/// Headers every webhook takes: the key's secret and the three signature schemes.
fn signed_headers() -> Value {
    json!([
        {"name": "X-Api-Secret", "in": "header", "required": false,
         "description": "Required when the key was created with a secret.", "schema": {"type": "string"}},
        {"name": "webhook-id", "in": "header", "required": false,
         "description": "Standard Webhooks message id (signed keys).", "schema": {"type": "string"}},
        {"name": "webhook-timestamp", "in": "header", "required": false,
         "description": "Standard Webhooks Unix timestamp, within 5 minutes.", "schema": {"type": "string"}},
        {"name": "webhook-signature", "in": "header", "required": false,
         "description": "Standard Webhooks `v1,<base64>` signatures, space-separated.",
         "schema": {"type": "string"}},
        {"name": "X-Signature", "in": "header", "required": false,
         "description": "`sha256=<hex HMAC-SHA256>` or `<hex HMAC-SHA1>` of the body, keyed with the whole HMAC secret.",
         "schema": {"type": "string"}},
    ])
}

/// `422` of every intake endpoint.
fn invalid_fields() -> Value {
    error(
        "Fields of the wrong type; nothing was stored. See `fieldErrors`.",
        &["invalid_fields"],
    )
}

/// `429` of every intake endpoint.
fn rate_limited() -> Value {
    error_retry_after("Too many requests for this key.", &["rate_limited"])
}

/// `POST /v1/batch`.
pub(super) fn segment_batch() -> Value {
    let operation = json!({
        "operationId": "segmentBatch",
        "tags": ["segment"],
        "summary": "Segment-compatible batch",
        "description": "What Segment's and RudderStack's server SDKs send: `{\"batch\":[events],\"sentAt\":…}`, \
            up to 2,500 events of at most 32 KB, 500 KB in all, gzipped or not (the body is \
            read as JSON whatever its content type). A product org key applies `group` events \
            through its template; a signal key applies `identify`, `track`, `page` and `screen` \
            as signals; other events are accepted and skipped. An event's `messageId` is applied \
            once per key, whichever path it came by.",
    });
    json!({"post": spread(operation, segment_api(true))})
}

/// `POST /v1/{eventType}`.
pub(super) fn segment_event() -> Value {
    let operation = json!({
        "operationId": "segmentEvent",
        "tags": ["segment"],
        "summary": "One Segment-compatible event",
        "description": "One event, as on `/v1/batch`; the path gives its type when the body does not.",
    });
    json!({"post": spread(operation, segment_api(false))})
}

/// Parameters, body and responses of the Segment-compatible API; `batch` is `/v1/batch`,
/// else `/v1/{eventType}`.
fn segment_api(batch: bool) -> Value {
    let mut parameters = vec![json!({
        "name": "Content-Encoding", "in": "header", "required": false,
        "description": "`gzip` for a gzipped body.", "schema": {"type": "string"},
    })];
    if !batch {
        parameters.insert(
            0,
            json!({"name": "eventType", "in": "path", "required": true,
                   "schema": {"type": "string",
                              "enum": ["group", "identify", "track", "page", "screen", "alias"]}}),
        );
    }
    let mut body = json!({
        "type": "object", "additionalProperties": true,
        "properties": {"writeKey": {"type": "string", "description": "The API key, if not sent by basic auth."}},
    });
    if batch {
        body["required"] = json!(["batch"]);
        body["properties"]["batch"] = json!({
            "type": "array", "minItems": 1, "maxItems": 2500,
            "items": {"type": "object", "additionalProperties": true},
        });
    }
    json!({
        "security": [{"segmentWriteKey": []}, {}],
        "parameters": parameters,
        "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
        "responses": segment_responses(batch),
    })
}

fn segment_responses(batch: bool) -> Value {
    let applied = if batch {
        schema_ref("BatchResults")
    } else {
        json!({"anyOf": [schema_ref("WebhookApplied"), schema_ref("SignalApplied"), schema_ref("SkippedEvent")]})
    };
    let mut responses = json!({
        "200": ok("Applied (each event's result for a batch; skipped events say so).", applied),
        "400": error("The body is not usable.", &["invalid_json", "body_not_object", "missing_batch",
                                                  "empty_batch", "missing_event_type", "invalid_gzip",
                                                  "unsupported_content_encoding", "missing_product_org_id",
                                                  "missing_lead"]),
        "401": error("No key, or the key or its secret was refused.",
                     &["missing_api_key", "invalid_api_key", "api_key_expired", "missing_api_secret",
                       "invalid_api_secret"]),
        "403": error("The key requires signed requests, which SDKs cannot send.", &["signed_key_not_supported"]),
        "404": error("No such event type.", &["not_found"]),
        "405": method_not_allowed(),
        "413": error("Over 500 KB, an event over 32 KB, or more than 2,500 events.",
                     &["payload_too_large", "too_many_events"]),
        "422": invalid_fields(),
        "429": rate_limited(),
        "500": internal_error(),
        "503": error_retry_after("The store is unavailable; nothing was stored, retry.", &["store_unavailable"]),
    });
    if batch {
        responses["207"] = ok(
            "Some events were applied and some failed; each failure says why.",
            schema_ref("BatchResults"),
        );
    }
    responses
}
