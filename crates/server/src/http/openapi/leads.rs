//! The admin API's leads and a lead's evaluation context.

use serde_json::{json, Value};

use super::parts::{
    admin_errors, error, lead_id_param, ok, page_params, schema_ref, search_param, spread,
};

/// `GET /api/admin/leads`.
pub(super) fn leads() -> Value {
    json!({"get": {
        "operationId": "listLeads",
        "tags": ["admin"],
        "summary": "List or search leads",
        "description": "Leads of the token's tenant, ordered by leadId. With `linked=false`, only \
            those not linked to a target org, each with `unlinkedReason` (`no_product_org_id`: \
            no signal named a product org; `product_org_not_found`: the one named does not \
            exist) and `didYouMean`, an existing product org whose id differs from the named \
            one only by letter case or surrounding whitespace.",
        "security": [{"adminToken": []}],
        "parameters": spread(json!([
            search_param("the leadId or the email"),
            {"name": "linked", "in": "query", "required": false,
             "description": "`false`: only the leads not linked to a target org, each with why.",
             "schema": {"type": "string", "enum": ["false"]}},
        ]), page_params()),
        "responses": spread(json!({
            "200": ok("One page.", json!({
                "type": "object", "required": ["items", "nextCursor"],
                "properties": {
                    "items": {"type": "array", "items": {"allOf": [schema_ref("Lead"), {
                        "type": "object",
                        "properties": {
                            "unlinkedReason": {"type": "string",
                                "enum": ["no_product_org_id", "product_org_not_found"],
                                "description": "With `linked=false` only."},
                            "didYouMean": {"type": "string",
                                "description": "With `linked=false`, when such a product org exists."},
                        }}]}},
                    "nextCursor": {"type": "string", "nullable": true},
                }})),
            "400": error("A bad query parameter.", &["invalid_limit", "invalid_cursor", "invalid_linked"]),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/leads/{leadId}`.
pub(super) fn lead() -> Value {
    json!({"get": {
        "operationId": "getLead",
        "tags": ["admin"],
        "summary": "One lead",
        "security": [{"adminToken": []}],
        "parameters": [lead_id_param()],
        "responses": spread(json!({
            "200": ok("The lead.", schema_ref("Lead")),
            "404": no_such_lead(),
        }), admin_errors()),
    }})
}

/// `GET /api/admin/leads/{leadId}/evaluation-context`.
pub(super) fn evaluation_context() -> Value {
    json!({"get": {
        "operationId": "getEvaluationContext",
        "tags": ["admin"],
        "summary": "What a lead-scoring model reads about a lead",
        "description": "The lead, its signals newest first, its target org's firmographics, and one \
            productOrgInfo entry per product org of that target org, ordered by productOrgId. \
            A lead without a target org gets `productOrgInfo: []` and `firmographics: null`.",
        "security": [{"adminToken": []}],
        "parameters": [
            lead_id_param(),
            {"name": "signals", "in": "query", "required": false,
             "description": "How many signals, 0 to 500 (default 50).",
             "schema": {"type": "integer", "minimum": 0, "maximum": 500, "default": 50}},
        ],
        "responses": spread(json!({
            "200": ok("The evaluation context.", schema_ref("EvaluationContext")),
            "400": error("A bad query parameter.", &["invalid_signals"]),
            "404": no_such_lead(),
        }), admin_errors()),
    }})
}

fn no_such_lead() -> Value {
    error("The tenant has no lead with this id.", &["not_found"])
}
