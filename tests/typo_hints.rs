//! "Did you mean" over real HTTP: a template path that finds nothing is answered with the
//! nearest path the payload has, short paths included (SPEC §3).

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// A one-letter slip in a three-letter productOrgId path: 400 with the path and the hint,
/// nothing stored.
#[tokio::test]
async fn a_short_product_org_id_path_with_a_typo_gets_did_you_mean() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&json!({"productOrgId": "ids", "name": "name"}));
    let (status, body) = app
        .post(&key.api_key, &json!({"id": "ws_short", "name": "Acme"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], json!("missing_product_org_id"), "{body}");
    assert_eq!(body["path"], json!("ids"), "{body}");
    assert_eq!(body["didYouMean"], json!("id"), "{body}");
    assert_eq!(
        app.product_org("ws_short").await.0,
        StatusCode::NOT_FOUND,
        "nothing stored"
    );
}
