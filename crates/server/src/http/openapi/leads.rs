//! The admin API's leads and a lead's evaluation context.

use serde_json::{json, Value};

use super::parts::{
    admin_errors, bad_page_query, error, lead_id_param, ok, page_of, page_params, schema_ref,
    search_param, spread,
};

/// `GET /api/admin/leads`.
pub(super) fn leads() -> Value {
    json!({"get": {
        "operationId": "listLeads",
        "tags": ["admin"],
        "summary": "List or search leads",
        "description": "Leads of the token's tenant, ordered by leadId.",
        "security": [{"adminToken": []}],
        "parameters": spread(json!([search_param("the leadId or the email")]), page_params()),
        "responses": spread(json!({
            "200": page_of("Lead"),
            "400": bad_page_query(),
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
