//! Helpers of the status-code tests (SPEC §3's table): the error body every refusal has, raw
//! posts, and "nothing was stored".

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::TestApp;

/// A Segment group call, as the status tests send it.
pub const GROUP: &str =
    r#"{"type":"group","groupId":"ws_1","traits":{"name":"One","employees":3}}"#;

/// Asserts a refusal: its status, `success:false`, its code, an error text and a message.
pub fn assert_error(
    status: StatusCode,
    body: &Value,
    want_status: StatusCode,
    code: &str,
    case: &str,
) {
    assert_eq!(status, want_status, "{case}: {body}");
    assert_eq!(body["success"], json!(false), "{case}: {body}");
    assert_eq!(body["code"], json!(code), "{case}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{case}: error text: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|s| s.len() > 20),
        "{case}: message: {body}"
    );
}

/// Posts `body` to the webhook of `key` with the given content type.
pub async fn post_raw(
    app: &TestApp,
    key: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut req = app.client.post(app.webhook_url(key)).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    app.send(req).await
}

/// Asserts that product org `id` does not exist.
pub async fn nothing_stored(app: &TestApp, id: &str) {
    let (status, _) = app.product_org(id).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{id} must not have been stored"
    );
}
