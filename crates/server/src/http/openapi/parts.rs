//! Pieces every part of the document shares (one Error response, one pair of page parameters,
//! one set of admin errors), so no endpoint describes them its own way.

use serde_json::{json, Value};

/// A reference to a schema of `components.schemas`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An error response; its description ends with the `code`s it may carry, since clients
/// branch on those rather than on the status.
pub(super) fn error(description: &str, codes: &[&str]) -> Value {
    let codes: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
    json!({
        "description": format!("{description} `code`: {}.", codes.join(", ")),
        "content": {"application/json": {"schema": schema_ref("Error")}},
    })
}

/// An error response that sends `Retry-After`: the request may succeed later as it is.
pub(super) fn error_retry_after(description: &str, codes: &[&str]) -> Value {
    spread(
        error(description, codes),
        json!({"headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                           "schema": {"type": "integer", "minimum": 0}}}}),
    )
}

/// A JSON success response.
pub(super) fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// `405`, answered by every route to a method it does not serve.
pub(super) fn method_not_allowed() -> Value {
    error("Method not allowed; see `Allow`.", &["method_not_allowed"])
}

/// `500`, for a failure the server did not expect.
pub(super) fn internal_error() -> Value {
    error("Unexpected server error.", &["internal_error"])
}

/// `415`, for a body sent as anything but JSON.
pub(super) fn not_json() -> Value {
    error(
        "The body is not `application/json`.",
        &["unsupported_media_type"],
    )
}

/// A string that may be null.
pub(super) fn nullable_string() -> Value {
    json!({"type": "string", "nullable": true})
}

/// An RFC 3339 timestamp.
pub(super) fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// The errors every admin endpoint may answer, after its own.
pub(super) fn admin_errors() -> Value {
    json!({
        "401": error("No valid admin token, and no signed-in web UI session.", &["unauthorized"]),
        "405": method_not_allowed(),
        "500": internal_error(),
        "503": error_retry_after("The store is unavailable; retry.", &["store_unavailable"]),
    })
}

/// `?q=`, the search of a list endpoint; `matches` says what it is matched against.
pub(super) fn search_param(matches: &str) -> Value {
    json!({"name": "q", "in": "query", "required": false,
           "description": format!("Case-insensitive substring of {matches}."), "schema": {"type": "string"}})
}

/// `?cursor=` and `?limit=` of every paged endpoint.
pub(super) fn page_params() -> Value {
    json!([
        {"name": "cursor", "in": "query", "required": false,
         "description": "`nextCursor` of the previous page, as returned.", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "required": false, "description": "Page size, 1 to 200 (default 50).",
         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    ])
}

/// `400` of a paged endpoint.
pub(super) fn bad_page_query() -> Value {
    error(
        "A bad query parameter.",
        &["invalid_limit", "invalid_cursor"],
    )
}

/// One page of a list endpoint whose items are the schema `item`.
pub(super) fn page_of(item: &str) -> Value {
    ok(
        "One page.",
        json!({"type": "object", "required": ["items", "nextCursor"],
               "properties": {"items": {"type": "array", "items": schema_ref(item)},
                              "nextCursor": nullable_string()}}),
    )
}

/// The `{productOrgId}` path parameter.
pub(super) fn product_org_id_param() -> Value {
    json!({"name": "productOrgId", "in": "path", "required": true,
           "description": "The product org id, URL-encoded.",
           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
}

/// The `{leadId}` path parameter.
pub(super) fn lead_id_param() -> Value {
    json!({"name": "leadId", "in": "path", "required": true,
           "description": "The lead id (its leadId, or its email for leads known by email), URL-encoded.",
           "schema": {"type": "string", "minLength": 1, "maxLength": 320}})
}

/// The `{targetOrgId}` path parameter.
pub(super) fn target_org_id_param() -> Value {
    json!({"name": "targetOrgId", "in": "path", "required": true,
           "description": "The target org id.", "schema": {"type": "integer", "format": "int64"}})
}

/// `more`'s entries after `base`'s: two objects merged (a key already in `base` keeps its
/// place and takes the new value) or two arrays joined. Lets an endpoint state its own keys
/// and then the shared ones, in the order the document shows them.
pub(super) fn spread(mut base: Value, more: Value) -> Value {
    match (&mut base, more) {
        (Value::Object(base), Value::Object(more)) => base.extend(more),
        (Value::Array(base), Value::Array(more)) => base.extend(more),
        (base, more) => panic!("cannot spread {more} into {base}"),
    }
    base
}

/// The security requirement that marks an admin operation where it is written.
const ADMIN_TOKEN_ONLY: &str = r#"[{"adminToken":[]}]"#;

/// SPEC §5: every admin operation also takes the web UI's session, with its CSRF token on the
/// methods that change something (and then answers 403 without it). Written here, once, over
/// every operation whose security is the admin token, so no admin operation can leave it out.
pub(super) fn admin_sessions(paths: &mut Value) {
    let marker: Value = serde_json::from_str(ADMIN_TOKEN_ONLY).expect("valid JSON");
    let operations = paths
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|operations| operations.iter_mut());
    for (method, operation) in operations {
        if operation.get("security") != Some(&marker) {
            continue;
        }
        let changes = !matches!(method.as_str(), "get" | "head" | "options");
        operation["security"] = if changes {
            json!([{"adminToken": []}, {"uiSession": [], "csrfToken": []}])
        } else {
            json!([{"adminToken": []}, {"uiSession": []}])
        };
        if let (true, Some(responses)) = (changes, operation["responses"].as_object_mut()) {
            responses.insert(
                "403".into(),
                error(
                    "Signed in by the web UI's session, without its CSRF token in `X-CSRF-Token` \
                 (or with another session's).",
                    &["missing_csrf_token", "invalid_csrf_token"],
                ),
            );
            responses.sort_keys();
        }
    }
}
