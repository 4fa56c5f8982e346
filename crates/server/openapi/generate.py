#!/usr/bin/env python3
"""Writes crates/server/src/http/openapi.json, the OpenAPI 3 document trailspark serves.

Kept as a script so the document stays consistent (one Error schema, one set of responses);
run it after changing an endpoint: python3 crates/server/openapi/generate.py
"""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "http" / "openapi.json"


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def error(description, codes, retry_after=False):
    response = {
        "description": f"{description} `code`: " + ", ".join(f"`{c}`" for c in codes) + ".",
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                               "schema": {"type": "integer", "minimum": 0}}}
    return response


def ok(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NULLABLE_STRING = {"type": "string", "nullable": True}
TIMESTAMP = {"type": "string", "format": "date-time"}
ADMIN_ERRORS = {
    "401": error("Missing or invalid admin token.", ["unauthorized"]),
    "405": error("Method not allowed; see `Allow`.", ["method_not_allowed"]),
    "500": error("Unexpected server error.", ["internal_error"]),
    "503": error("The store is unavailable; retry.", ["store_unavailable"], retry_after=True),
}
PAGE_PARAMS = [
    {"name": "cursor", "in": "query", "required": False,
     "description": "`nextCursor` of the previous page, as returned.", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "required": False, "description": "Page size, 1 to 200 (default 50).",
     "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
]
PRODUCT_ORG_ID_PARAM = {
    "name": "productOrgId", "in": "path", "required": True,
    "description": "The product org id, URL-encoded.", "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

# Headers every webhook takes: the key's secret and the three signature schemes.
SIGNED_HEADERS = [
    {"name": "X-Api-Secret", "in": "header", "required": False,
     "description": "Required when the key was created with a secret.", "schema": {"type": "string"}},
    {"name": "webhook-id", "in": "header", "required": False,
     "description": "Standard Webhooks message id (signed keys).", "schema": {"type": "string"}},
    {"name": "webhook-timestamp", "in": "header", "required": False,
     "description": "Standard Webhooks Unix timestamp, within 5 minutes.", "schema": {"type": "string"}},
    {"name": "webhook-signature", "in": "header", "required": False,
     "description": "Standard Webhooks `v1,<base64>` signatures, space-separated.",
     "schema": {"type": "string"}},
    {"name": "X-Signature", "in": "header", "required": False,
     "description": "`sha256=<hex HMAC-SHA256>` or `<hex HMAC-SHA1>` of the body, keyed with the whole HMAC secret.",
     "schema": {"type": "string"}},
]


def webhook(key_type, key_prefix, applied_schema, applied_text, missing_code):
    """Parameters, body and responses of a webhook: both share their whole front half."""
    return {
        "parameters": [
            {"name": "apiKey", "in": "path", "required": True,
             "description": f"A {key_type} API key (`{key_prefix}…`).", "schema": {"type": "string"}},
            *SIGNED_HEADERS,
        ],
        "requestBody": {
            "required": True,
            "description": ("Any JSON object, the key's template saying where each field is; or an "
                            "array of up to 4,000 such objects (a batch), applied in order."),
            "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "additionalProperties": True},
                {"type": "array", "minItems": 1, "maxItems": 4000, "items": {}},
            ]}}},
        },
        "responses": {
            "200": ok(applied_text + " For a batch, every element's result.",
                      {"oneOf": [applied_schema, ref("BatchResults")]}),
            "207": ok("A batch of which some elements were applied and some failed; each failure "
                      "says why.", ref("BatchResults")),
            "400": error("The body is not usable (for a batch: no element was; see `results`).",
                         ["invalid_json", "body_not_object", "empty_batch", missing_code]),
            "401": error("The key or the request's credentials were refused.",
                         ["invalid_api_key", "api_key_expired", "missing_api_secret", "invalid_api_secret",
                          "missing_signature", "malformed_signature", "stale_signature",
                          "invalid_signature", "webhook_replayed"]),
            "403": error(f"The key is not a {key_type} key.", ["wrong_key_type"]),
            "405": error("Method not allowed; see `Allow`.", ["method_not_allowed"]),
            "413": error("The body is larger than 1 MiB, or a batch has more than 4,000 elements.",
                         ["payload_too_large", "too_many_events"]),
            "415": error("The body is not `application/json`.", ["unsupported_media_type"]),
            "422": error("Fields of the wrong type; nothing was stored. See `fieldErrors`.", ["invalid_fields"]),
            "429": error("Too many requests for this key.", ["rate_limited"], retry_after=True),
            "500": error("Unexpected server error.", ["internal_error"]),
            "503": error("The store is unavailable; nothing was stored, retry.", ["store_unavailable"],
                         retry_after=True),
        },
    }


def segment_api(batch):
    """Parameters, body and responses of the Segment-compatible API."""
    parameters = [{"name": "Content-Encoding", "in": "header", "required": False,
                   "description": "`gzip` for a gzipped body.", "schema": {"type": "string"}}]
    if not batch:
        parameters.insert(0, {"name": "eventType", "in": "path", "required": True,
                              "schema": {"type": "string",
                                         "enum": ["group", "identify", "track", "page", "screen", "alias"]}})
    body = {"type": "object", "additionalProperties": True,
            "properties": {"writeKey": {"type": "string", "description": "The API key, if not sent by basic auth."}}}
    if batch:
        body["required"] = ["batch"]
        body["properties"]["batch"] = {"type": "array", "minItems": 1, "maxItems": 2500,
                                       "items": {"type": "object", "additionalProperties": True}}
    applied = ref("BatchResults") if batch else {"anyOf": [ref("WebhookApplied"), ref("SignalApplied"),
                                                            ref("SkippedEvent")]}
    responses = {
        "200": ok("Applied (each event's result for a batch; skipped events say so).", applied),
        "400": error("The body is not usable.", ["invalid_json", "body_not_object", "missing_batch",
                                                 "empty_batch", "missing_event_type", "invalid_gzip",
                                                 "unsupported_content_encoding", "missing_product_org_id",
                                                 "missing_lead"]),
        "401": error("No key, or the key or its secret was refused.",
                     ["missing_api_key", "invalid_api_key", "api_key_expired", "missing_api_secret",
                      "invalid_api_secret"]),
        "403": error("The key requires signed requests, which SDKs cannot send.", ["signed_key_not_supported"]),
        "404": error("No such event type.", ["not_found"]),
        "405": error("Method not allowed; see `Allow`.", ["method_not_allowed"]),
        "413": error("Over 500 KB, an event over 32 KB, or more than 2,500 events.",
                     ["payload_too_large", "too_many_events"]),
        "422": error("Fields of the wrong type; nothing was stored. See `fieldErrors`.", ["invalid_fields"]),
        "429": error("Too many requests for this key.", ["rate_limited"], retry_after=True),
        "500": error("Unexpected server error.", ["internal_error"]),
        "503": error("The store is unavailable; nothing was stored, retry.", ["store_unavailable"],
                     retry_after=True),
    }
    if batch:
        responses["207"] = ok("Some events were applied and some failed; each failure says why.",
                              ref("BatchResults"))
    return {
        "security": [{"segmentWriteKey": []}, {}],
        "parameters": parameters,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": responses,
    }


LEAD_ID_PARAM = {
    "name": "leadId", "in": "path", "required": True,
    "description": "The lead id (its leadId, or its email for leads known by email), URL-encoded.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 320},
}
TARGET_ORG_ID_PARAM = {
    "name": "targetOrgId", "in": "path", "required": True,
    "description": "The target org id.", "schema": {"type": "integer", "format": "int64"},
}

doc = {
    "openapi": "3.0.3",
    "info": {
        "title": "trailspark",
        "version": "0.1.0",
        "description": (
            "trailspark takes account-level product data (product orgs: plan, seats, MRR, trial "
            "status, feature flags, custom metrics of each workspace) from CDPs and reverse-ETL "
            "tools by webhook, keeps it current per field, and serves it to lead scoring. Every "
            "error body is `{success:false, code, error, message}`."
        ),
    },
    "tags": [
        {"name": "webhook", "description": "Intake from Segment, RudderStack, Hightouch or curl."},
        {"name": "segment", "description": "The Segment-compatible API, for Segment's and RudderStack's SDKs."},
        {"name": "admin", "description": "Tenant-scoped reads; `Authorization: Bearer <admin token>`."},
        {"name": "health", "description": "Liveness, readiness and this document."},
    ],
    "paths": {
        "/api/product-orgs/webhook/{apiKey}": {
            "post": {
                "operationId": "productOrgWebhook",
                "tags": ["webhook"],
                "summary": "Send one product org update",
                "description": (
                    "Applies one JSON object through the key's payload template. A 200 means the "
                    "update is committed to disk. Per-field last-writer-wins by `eventTimestamp`; "
                    "a repeated `messageId` (same key, 24 h) repeats the first outcome."
                ),
                **webhook("Product Org Updates", "tsk_po_", ref("WebhookApplied"), "Applied (or a repeated messageId's first outcome).", "missing_product_org_id"),
            }
        },
        "/api/signals/webhook/{apiKey}": {
            "post": {
                "operationId": "signalWebhook",
                "tags": ["webhook"],
                "summary": "Send one lead signal",
                "description": (
                    "Stores one signal of a lead (identified by its leadId, else its email, trimmed and "
                    "lower-cased) through the key's Signal Staging template. A signal naming a "
                    "productOrgId links its lead to that product org's target org, at once if the "
                    "product org exists, else when its first update arrives."
                ),
                **webhook("Signal Staging", "tsk_sig_", ref("SignalApplied"), "Stored (or a repeated messageId's first outcome).", "missing_lead"),
            }
        },
        "/v1/batch": {
            "post": {
                "operationId": "segmentBatch",
                "tags": ["segment"],
                "summary": "Segment-compatible batch",
                "description": (
                    "What Segment's and RudderStack's server SDKs send: `{\"batch\":[events],\"sentAt\":…}`, "
                    "up to 2,500 events of at most 32 KB, 500 KB in all, gzipped or not (the body is "
                    "read as JSON whatever its content type). A product org key applies `group` events "
                    "through its template; a signal key applies `identify`, `track`, `page` and `screen` "
                    "as signals; other events are accepted and skipped. An event's `messageId` is applied "
                    "once per key, whichever path it came by."
                ),
                **segment_api(True),
            }
        },
        "/v1/{eventType}": {
            "post": {
                "operationId": "segmentEvent",
                "tags": ["segment"],
                "summary": "One Segment-compatible event",
                "description": "One event, as on `/v1/batch`; the path gives its type when the body does not.",
                **segment_api(False),
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["health"],
                "summary": "Prometheus metrics",
                "description": (
                    "OpenMetrics text: requests by route and status, apply latency, group commit "
                    "transactions and the requests they carried, changed/unchanged updates and "
                    "messageId duplicates per key id, store errors. Operator-level: expose it to "
                    "your monitoring only."
                ),
                "responses": {
                    "200": {"description": "The metrics.",
                            "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}},
                    "405": error("Method not allowed; see `Allow`.", ["method_not_allowed"]),
                },
            }
        },
        "/api/admin/leads": {
            "get": {
                "operationId": "listLeads",
                "tags": ["admin"],
                "summary": "List or search leads",
                "description": "Leads of the token's tenant, ordered by leadId.",
                "security": [{"adminToken": []}],
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "description": "Case-insensitive substring of the leadId or the email.", "schema": {"type": "string"}},
                    *PAGE_PARAMS,
                ],
                "responses": {
                    "200": ok("One page.", {
                        "type": "object", "required": ["items", "nextCursor"],
                        "properties": {"items": {"type": "array", "items": ref("Lead")},
                                       "nextCursor": NULLABLE_STRING}}),
                    "400": error("A bad query parameter.", ["invalid_limit", "invalid_cursor"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/leads/{leadId}": {
            "get": {
                "operationId": "getLead",
                "tags": ["admin"],
                "summary": "One lead",
                "security": [{"adminToken": []}],
                "parameters": [LEAD_ID_PARAM],
                "responses": {
                    "200": ok("The lead.", ref("Lead")),
                    "404": error("The tenant has no lead with this id.", ["not_found"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/leads/{leadId}/evaluation-context": {
            "get": {
                "operationId": "getEvaluationContext",
                "tags": ["admin"],
                "summary": "What a lead-scoring model reads about a lead",
                "description": (
                    "The lead, its signals newest first, its target org's firmographics, and one "
                    "productOrgInfo entry per product org of that target org, ordered by productOrgId. "
                    "A lead without a target org gets `productOrgInfo: []` and `firmographics: null`."
                ),
                "security": [{"adminToken": []}],
                "parameters": [
                    LEAD_ID_PARAM,
                    {"name": "signals", "in": "query", "required": False,
                     "description": "How many signals, 0 to 500 (default 50).",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 500, "default": 50}},
                ],
                "responses": {
                    "200": ok("The evaluation context.", ref("EvaluationContext")),
                    "400": error("A bad query parameter.", ["invalid_signals"]),
                    "404": error("The tenant has no lead with this id.", ["not_found"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/target-orgs": {
            "get": {
                "operationId": "listTargetOrgs",
                "tags": ["admin"],
                "summary": "List or search target orgs",
                "security": [{"adminToken": []}],
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "description": "Case-insensitive substring of the name.", "schema": {"type": "string"}},
                    *PAGE_PARAMS,
                ],
                "responses": {
                    "200": ok("One page.", {
                        "type": "object", "required": ["items", "nextCursor"],
                        "properties": {"items": {"type": "array", "items": ref("TargetOrg")},
                                       "nextCursor": NULLABLE_STRING}}),
                    "400": error("A bad query parameter.", ["invalid_limit", "invalid_cursor"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/target-orgs/{targetOrgId}": {
            "get": {
                "operationId": "getTargetOrg",
                "tags": ["admin"],
                "summary": "One target org with its product orgs and leads",
                "security": [{"adminToken": []}],
                "parameters": [TARGET_ORG_ID_PARAM],
                "responses": {
                    "200": ok("The target org; `leads` holds at most 200, `leadCount` all.", ref("TargetOrgDetail")),
                    "404": error("The tenant has no such target org.", ["not_found"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/target-orgs/{targetOrgId}/firmographics": {
            "put": {
                "operationId": "setFirmographics",
                "tags": ["admin"],
                "summary": "Replace a target org's CRM firmographics",
                "security": [{"adminToken": []}],
                "parameters": [TARGET_ORG_ID_PARAM],
                "requestBody": {
                    "required": True,
                    "description": "A JSON object of CRM fields (at most 100 fields, 64 KiB).",
                    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
                },
                "responses": {
                    "200": ok("The target org as now stored.", ref("TargetOrg")),
                    "400": error("Not usable firmographics.", ["invalid_json", "invalid_firmographics"]),
                    "404": error("The tenant has no such target org.", ["not_found"]),
                    "413": error("The body is larger than 1 MiB.", ["payload_too_large"]),
                    "415": error("The body is not `application/json`.", ["unsupported_media_type"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/product-orgs/{productOrgId}/move": {
            "post": {
                "operationId": "moveProductOrg",
                "tags": ["admin"],
                "summary": "Put a product org (and its leads) under another target org",
                "security": [{"adminToken": []}],
                "parameters": [PRODUCT_ORG_ID_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["targetOrgId"],
                        "properties": {"targetOrgId": {"type": "integer", "format": "int64"}}}}},
                },
                "responses": {
                    "200": ok("The moved product org.", ref("ProductOrg")),
                    "400": error("Not a usable body.", ["invalid_json", "invalid_body"]),
                    "404": error("No such product org or target org in this tenant.", ["not_found"]),
                    "413": error("The body is larger than 1 MiB.", ["payload_too_large"]),
                    "415": error("The body is not `application/json`.", ["unsupported_media_type"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/product-orgs": {
            "get": {
                "operationId": "listProductOrgs",
                "tags": ["admin"],
                "summary": "List or search product orgs",
                "description": "Product orgs of the token's tenant, ordered by id, one page at a time.",
                "security": [{"adminToken": []}],
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "description": "Case-insensitive substring of the id or the name.", "schema": {"type": "string"}},
                    *PAGE_PARAMS,
                ],
                "responses": {
                    "200": ok("One page.", {
                        "type": "object", "required": ["items", "nextCursor"],
                        "properties": {"items": {"type": "array", "items": ref("ProductOrg")},
                                       "nextCursor": NULLABLE_STRING}}),
                    "400": error("A bad query parameter.", ["invalid_limit", "invalid_cursor"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/product-orgs/{productOrgId}": {
            "get": {
                "operationId": "getProductOrg",
                "tags": ["admin"],
                "summary": "One product org with every field",
                "security": [{"adminToken": []}],
                "parameters": [PRODUCT_ORG_ID_PARAM],
                "responses": {
                    "200": ok("The product org; unset fields are null.", ref("ProductOrg")),
                    "404": error("The tenant has no product org with this id.", ["not_found"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/api/admin/product-orgs/{productOrgId}/history": {
            "get": {
                "operationId": "getProductOrgHistory",
                "tags": ["admin"],
                "summary": "A product org's change history, newest first",
                "security": [{"adminToken": []}],
                "parameters": [PRODUCT_ORG_ID_PARAM, *PAGE_PARAMS],
                "responses": {
                    "200": ok("One page of history.", {
                        "type": "object", "required": ["productOrgId", "items", "nextCursor"],
                        "properties": {"productOrgId": {"type": "string"},
                                       "items": {"type": "array", "items": ref("HistoryEntry")},
                                       "nextCursor": NULLABLE_STRING}}),
                    "400": error("A bad query parameter.", ["invalid_limit", "invalid_cursor"]),
                    "404": error("The tenant has no product org with this id.", ["not_found"]),
                    **ADMIN_ERRORS,
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz", "tags": ["health"], "summary": "The process answers",
                "responses": {"200": ok("Alive.", {"type": "object", "required": ["status"],
                                                  "properties": {"status": {"type": "string", "enum": ["ok"]}}})},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz", "tags": ["health"], "summary": "The process and its store answer",
                "responses": {
                    "200": ok("Ready.", {"type": "object", "required": ["status"],
                                         "properties": {"status": {"type": "string", "enum": ["ready"]}}}),
                    "503": error("The store does not answer.", ["store_unavailable"], retry_after=True),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi", "tags": ["health"], "summary": "This document",
                "responses": {"200": ok("The OpenAPI 3 document.", {"type": "object"})},
            }
        },
    },
    "components": {
        "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer",
                           "description": "`trailspark admin-token create --tenant T`"},
            "segmentWriteKey": {"type": "http", "scheme": "basic",
                                "description": "The API key as username; empty password, or the key's secret."},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["success", "code", "error", "message"],
                "properties": {
                    "success": {"type": "boolean", "enum": [False]},
                    "code": {"type": "string", "description": "Stable snake_case code."},
                    "error": {"type": "string", "description": "Short text."},
                    "message": {"type": "string", "description": "What is wrong and how to fix it."},
                    "path": {"type": "string", "description": "The template path that found nothing."},
                    "didYouMean": {"type": "string", "description": "The nearest existing path of the payload."},
                    "fieldErrors": {"type": "array", "items": ref("FieldError")},
                    "status": {"type": "integer",
                               "description": "In a batch's results: the status this element alone would get."},
                    "results": {"type": "array", "items": {},
                                "description": "For a batch of which no element was applied: each element's error."},
                },
            },
            "SkippedEvent": {
                "type": "object",
                "required": ["success", "skipped", "type"],
                "properties": {
                    "success": {"type": "boolean", "enum": [True]},
                    "skipped": {"type": "boolean", "enum": [True]},
                    "type": {"type": "string", "description": "The event type this key does not take."},
                },
            },
            "BatchResults": {
                "type": "object",
                "required": ["success", "results"],
                "properties": {
                    "success": {"type": "boolean", "description": "True when every element was applied."},
                    "results": {"type": "array", "description": "One result per element, in order.",
                                "items": {"anyOf": [ref("WebhookApplied"), ref("SignalApplied"),
                                                   ref("SkippedEvent"), ref("Error")]}},
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
                    "success": {"type": "boolean", "enum": [True]},
                    "productOrgId": {"type": "string"},
                    "targetOrgId": {"type": "integer", "format": "int64"},
                    "isNewOrg": {"type": "boolean"},
                    "changed": {"type": "boolean"},
                },
            },
            "SignalApplied": {
                "type": "object",
                "required": ["success", "leadId", "targetOrgId", "linked"],
                "properties": {
                    "success": {"type": "boolean", "enum": [True]},
                    "leadId": {"type": "string"},
                    "targetOrgId": {"type": "integer", "format": "int64", "nullable": True},
                    "linked": {"type": "boolean"},
                },
            },
            "Lead": {
                "type": "object",
                "required": ["leadId", "email", "productOrgId", "targetOrgId", "createdAt", "updatedAt"],
                "properties": {
                    "leadId": {"type": "string"},
                    "email": NULLABLE_STRING,
                    "productOrgId": {**NULLABLE_STRING, "description": "Of the latest signal naming one."},
                    "targetOrgId": {"type": "integer", "format": "int64", "nullable": True,
                                    "description": "Null while the product org does not exist."},
                    "createdAt": TIMESTAMP,
                    "updatedAt": TIMESTAMP,
                },
            },
            "Signal": {
                "type": "object",
                "required": ["signal", "productOrgId", "properties", "customFields", "eventAt", "receivedAt"],
                "properties": {
                    "signal": NULLABLE_STRING,
                    "productOrgId": NULLABLE_STRING,
                    "properties": {"type": "object", "additionalProperties": True, "nullable": True},
                    "customFields": {"type": "object", "additionalProperties": True},
                    "eventAt": {**TIMESTAMP, "nullable": True},
                    "receivedAt": TIMESTAMP,
                },
            },
            "ProductOrgInfo": {
                "type": "object",
                "required": ["productOrgId"],
                "description": "Exactly these keys; absent values are left out.",
                "additionalProperties": False,
                "properties": {
                    "productOrgId": {"type": "string"},
                    "name": {"type": "string"},
                    "planName": {"type": "string"},
                    "userCount": {"type": "integer", "format": "int64"},
                    "mrr": {"type": "integer", "format": "int64"},
                    "trialStatus": {"type": "string"},
                    "featureFlags": {"type": "object", "additionalProperties": True},
                    "customFields": {"type": "object", "additionalProperties": True},
                },
            },
            "EvaluationContext": {
                "type": "object",
                "required": ["lead", "signals", "firmographics", "productOrgInfo"],
                "properties": {
                    "lead": ref("Lead"),
                    "signals": {"type": "array", "items": ref("Signal")},
                    "firmographics": {"type": "object", "additionalProperties": True, "nullable": True},
                    "productOrgInfo": {"type": "array", "items": ref("ProductOrgInfo")},
                },
            },
            "TargetOrg": {
                "type": "object",
                "required": ["targetOrgId", "name", "firmographics", "productOrgCount", "createdAt", "updatedAt"],
                "properties": {
                    "targetOrgId": {"type": "integer", "format": "int64"},
                    "name": {"type": "string"},
                    "firmographics": {"type": "object", "additionalProperties": True, "nullable": True},
                    "productOrgCount": {"type": "integer", "format": "int64"},
                    "createdAt": TIMESTAMP,
                    "updatedAt": TIMESTAMP,
                },
            },
            "TargetOrgDetail": {
                "allOf": [
                    ref("TargetOrg"),
                    {"type": "object", "required": ["productOrgs", "leads", "leadCount"],
                     "properties": {"productOrgs": {"type": "array", "items": ref("ProductOrg")},
                                    "leads": {"type": "array", "items": ref("Lead")},
                                    "leadCount": {"type": "integer", "format": "int64"}}},
                ],
            },
            "ProductOrg": {
                "type": "object",
                "required": ["productOrgId", "targetOrgId", "name", "planId", "planName", "userCount", "mrr",
                             "trialStatus", "lastActiveAt", "featureFlags", "customFields", "createdAt",
                             "updatedAt"],
                "properties": {
                    "productOrgId": {"type": "string"},
                    "targetOrgId": {"type": "integer", "format": "int64"},
                    "name": NULLABLE_STRING,
                    "planId": NULLABLE_STRING,
                    "planName": NULLABLE_STRING,
                    "userCount": {"type": "integer", "format": "int64", "nullable": True},
                    "mrr": {"type": "integer", "format": "int64", "nullable": True,
                            "description": "Monthly recurring revenue in cents."},
                    "trialStatus": NULLABLE_STRING,
                    "lastActiveAt": {**TIMESTAMP, "nullable": True},
                    "featureFlags": {"type": "object", "additionalProperties": True, "nullable": True},
                    "customFields": {"type": "object", "additionalProperties": True, "nullable": True},
                    "createdAt": TIMESTAMP,
                    "updatedAt": TIMESTAMP,
                },
            },
            "HistoryEntry": {
                "type": "object",
                "required": ["version", "changes", "keyId", "eventAt", "receivedAt"],
                "properties": {
                    "version": {"type": "integer", "format": "int64", "minimum": 1},
                    "changes": {"type": "array", "items": {
                        "type": "object", "required": ["field", "old", "new"],
                        "properties": {"field": {"type": "string"}, "old": {}, "new": {}}}},
                    "keyId": {"type": "string"},
                    "eventAt": {**TIMESTAMP, "nullable": True},
                    "receivedAt": TIMESTAMP,
                },
            },
        },
    },
}

OUT.write_text(json.dumps(doc, indent=2) + "\n")
print(f"wrote {OUT}")
