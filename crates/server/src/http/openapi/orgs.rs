//! The admin API's target orgs and product orgs.

use serde_json::{json, Value};

use super::parts::{
    admin_errors, bad_page_query, error, not_json, nullable_string, ok, page_of, page_params,
    product_org_id_param, schema_ref, search_param, spread, target_org_id_param,
};

/// `GET /api/admin/target-orgs`.
pub(super) fn target_orgs() -> Value {
    json!({"get": {
        "operationId": "listTargetOrgs",
        "tags": ["admin"],
        "summary": "List or search target orgs",
        "security": [{"adminToken": []}],
        "parameters": spread(json!([search_param("the name")]), page_params()),
        "responses": spread(json!({
            "200": page_of("TargetOrg"),
            "400": bad_page_query(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/target-orgs/{targetOrgId}`.
pub(super) fn target_org() -> Value {
    json!({"get": {
        "operationId": "getTargetOrg",
        "tags": ["admin"],
        "summary": "One target org with its product orgs and leads",
        "security": [{"adminToken": []}],
        "parameters": [target_org_id_param()],
        "responses": spread(json!({
            "200": ok("The target org; `leads` holds at most 200, `leadCount` all.",
                      schema_ref("TargetOrgDetail")),
            "404": no_such_target_org(),
        }), admin_errors()),
    }})
}

/// `PUT /api/admin/target-orgs/{targetOrgId}/firmographics`.
pub(super) fn firmographics() -> Value {
    json!({"put": {
        "operationId": "setFirmographics",
        "tags": ["admin"],
        "summary": "Replace a target org's CRM firmographics",
        "security": [{"adminToken": []}],
        "parameters": [target_org_id_param()],
        "requestBody": {
            "required": true,
            "description": "A JSON object of CRM fields (at most 100 fields, 64 KiB).",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": true}}},
        },
        "responses": spread(json!({
            "200": ok("The target org as now stored.", schema_ref("TargetOrg")),
            "400": error("Not usable firmographics.", &["invalid_json", "invalid_firmographics"]),
            "404": no_such_target_org(),
            "413": body_too_large(),
            "415": not_json(),
        }), admin_errors()),
    }})
}

/// `POST /api/admin/product-orgs/{productOrgId}/move`.
pub(super) fn move_product_org() -> Value {
    json!({"post": {
        "operationId": "moveProductOrg",
        "tags": ["admin"],
        "summary": "Put a product org (and its leads) under another target org",
        "security": [{"adminToken": []}],
        "parameters": [product_org_id_param()],
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["targetOrgId"],
                "properties": {"targetOrgId": {"type": "integer", "format": "int64"}}}}},
        },
        "responses": spread(json!({
            "200": ok("The moved product org.", schema_ref("ProductOrg")),
            "400": error("Not a usable body.", &["invalid_json", "invalid_body"]),
            "404": error("No such product org or target org in this tenant.", &["not_found"]),
            "413": body_too_large(),
            "415": not_json(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/product-orgs`.
pub(super) fn product_orgs() -> Value {
    json!({"get": {
        "operationId": "listProductOrgs",
        "tags": ["admin"],
        "summary": "List or search product orgs",
        "description": "Product orgs of the token's tenant, ordered by id, one page at a time.",
        "security": [{"adminToken": []}],
        "parameters": spread(json!([search_param("the id or the name")]), page_params()),
        "responses": spread(json!({
            "200": page_of("ProductOrg"),
            "400": bad_page_query(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/product-orgs/{productOrgId}`.
pub(super) fn product_org() -> Value {
    json!({"get": {
        "operationId": "getProductOrg",
        "tags": ["admin"],
        "summary": "One product org with every field",
        "security": [{"adminToken": []}],
        "parameters": [product_org_id_param()],
        "responses": spread(json!({
            "200": ok("The product org; unset fields are null.", schema_ref("ProductOrg")),
            "404": no_such_product_org(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/product-orgs/{productOrgId}/history`.
pub(super) fn product_org_history() -> Value {
    json!({"get": {
        "operationId": "getProductOrgHistory",
        "tags": ["admin"],
        "summary": "A product org's change history, newest first",
        "description": "Every applied change of a value, received within the last \
            `--history-retention` (365 days by default; 0 keeps all): older changes are swept \
            every minute, oldest first. The org's values are not history and stay.",
        "security": [{"adminToken": []}],
        "parameters": spread(json!([product_org_id_param()]), page_params()),
        "responses": spread(json!({
            "200": ok("One page of history.", json!({
                "type": "object", "required": ["productOrgId", "items", "nextCursor"],
                "properties": {"productOrgId": {"type": "string"},
                               "items": {"type": "array", "items": schema_ref("HistoryEntry")},
                               "nextCursor": nullable_string()}})),
            "400": bad_page_query(),
            "404": no_such_product_org(),
        }), admin_errors()),
    }})
}

fn no_such_target_org() -> Value {
    error("The tenant has no such target org.", &["not_found"])
}

fn no_such_product_org() -> Value {
    error(
        "The tenant has no product org with this id.",
        &["not_found"],
    )
}

/// `GET /api/admin/possible-duplicates`.
pub(super) fn possible_duplicates() -> Value {
    json!({"get": {
        "operationId": "listPossibleDuplicates",
        "tags": ["admin"],
        "summary": "Product orgs whose ids differ only by letter case or surrounding whitespace",
        "description": "Groups of product orgs whose ids are equal once trimmed of surrounding \
            whitespace and ASCII case-folded (`WS_ABC123`, `ws_abc123 `): usually one workspace \
            whose id two sources send in two forms. Ids match exactly, so each is a product org \
            of its own; put them under one target org with `POST …/{productOrgId}/move`. The \
            first `limit` groups in `foldedId` order, each ordered by id.",
        "security": [{"adminToken": []}],
        "parameters": [
            {"name": "limit", "in": "query", "required": false,
             "description": "Most groups, 1 to 200 (default 50).",
             "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
        ],
        "responses": spread(json!({
            "200": ok("The groups; `more` is true when there are further groups.", json!({
                "type": "object", "required": ["groups", "more"],
                "properties": {
                    "groups": {"type": "array", "items": {
                        "type": "object", "required": ["foldedId", "productOrgs"],
                        "properties": {
                            "foldedId": {"type": "string",
                                         "description": "The id every product org of the group folds to."},
                            "productOrgs": {"type": "array", "items": schema_ref("ProductOrg")},
                        }}},
                    "more": {"type": "boolean"},
                }})),
            "400": error("A bad query parameter.", &["invalid_limit"]),
        }), admin_errors()),
    }})
}

fn body_too_large() -> Value {
    error("The body is larger than 1 MiB.", &["payload_too_large"])
}
