//! Stored JSON values have a depth limit below the reader's: a value accepted at ingest sits a
//! few levels deeper in its history row and its org, and serde_json reads at most 128 levels, so
//! an unbounded value was stored and then made its org's history answer 500 for good.

mod common;

use common::leads::{context, signal_key};
use common::status::nothing_stored;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use trailspark_core::value::MAX_JSON_DEPTH;

/// `levels` objects nested in one another, innermost holding `true`.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(true), |inner, _| json!({ "a": inner }))
}

fn template() -> Value {
    json!({"productOrgId": "id", "featureFlags": "flags", "customFields": {"deep": "deep"}})
}

fn limit_named() -> String {
    format!("nested deeper than {MAX_JSON_DEPTH} levels")
}

/// Asserts a 422 whose one field error is `field` and names the depth limit.
fn assert_refused_for_depth(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], json!("invalid_fields"), "{body}");
    let errors = body["fieldErrors"].as_array().expect("fieldErrors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], json!(field), "{body}");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&limit_named())),
        "the error names the limit: {body}"
    );
}

#[tokio::test]
async fn feature_flags_nested_126_levels_are_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&template());
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"id": "ws_deep", "flags": nested(126)}),
        )
        .await;
    assert_refused_for_depth(status, &body, "featureFlags");
    nothing_stored(&app, "ws_deep").await;

    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"id": "ws_deep", "deep": [nested(MAX_JSON_DEPTH)]}),
        )
        .await;
    assert_refused_for_depth(status, &body, "customFields.deep");
    nothing_stored(&app, "ws_deep").await;
}

#[tokio::test]
async fn values_at_the_limit_are_stored_and_read_back() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&template());
    let flags = nested(MAX_JSON_DEPTH);
    let deep = nested(MAX_JSON_DEPTH);
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"id": "ws_edge", "flags": flags, "deep": deep}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, org) = app.product_org("ws_edge").await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["featureFlags"], flags, "{org}");
    assert_eq!(org["customFields"]["deep"], deep, "{org}");

    let (status, history) = app
        .admin_get("/api/admin/product-orgs/ws_edge/history")
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let changes = history["items"][0]["changes"].as_array().expect("changes");
    assert!(
        changes.iter().any(|c| c["new"] == flags),
        "the history holds the flags: {history}"
    );

    let signals = signal_key(&app, "default");
    let send = |properties: Value| {
        app.post_signal(
            &signals,
            &json!({"email": "ada@acme.com", "product_org_id": "ws_edge",
                    "signal": "Deep", "timestamp": "2026-01-15T10:30:00Z",
                    "properties": properties}),
        )
    };
    let (status, body) = send(json!({"p": nested(MAX_JSON_DEPTH)})).await;
    assert_refused_for_depth(status, &body, "properties");
    let properties = nested(MAX_JSON_DEPTH);
    let (status, body) = send(properties.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, ctx) = context(&app, "ada@acme.com").await;
    assert_eq!(status, StatusCode::OK, "{ctx}");
    assert_eq!(ctx["signals"][0]["properties"], properties, "{ctx}");
    assert_eq!(
        ctx["productOrgInfo"][0]["featureFlags"], flags,
        "the context holds the flags: {ctx}"
    );
}
