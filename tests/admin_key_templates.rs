//! A key's template changed through the admin API (SPEC §6): each change is a new version,
//! every version stays readable, and the running server extracts with the new one within its
//! key refresh interval (the harness runs serve with --key-refresh-ms 100).

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Far more than a few key refreshes, even on a busy machine.
const PICKED_UP_WITHIN: Duration = Duration::from_secs(3);

/// Posts `body` until the server applies it (the refresh reached it), failing after
/// [`PICKED_UP_WITHIN`]; until then the old template must refuse it as having no id.
async fn applied_once_picked_up(app: &TestApp, api_key: &str, body: &Value) -> Value {
    let deadline = Instant::now() + PICKED_UP_WITHIN;
    loop {
        let (status, answer) = app.post(api_key, body).await;
        if status == StatusCode::OK {
            return answer;
        }
        assert_eq!(answer["code"], json!("missing_product_org_id"), "{answer}");
        assert!(
            Instant::now() < deadline,
            "the server still extracts with the old template: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_changed_template_is_a_new_version_and_the_server_extracts_with_it() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    // Creating the key moved the key revision: once the server has seen that (a few refreshes
    // later), a key it holds stays in memory until the revision moves again. Only then does
    // loading the key prove that the template change, and nothing else, makes it reload.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The server now holds the key, and its template, in memory.
    let (status, answer) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "ws_1", "workspace_name": "One"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, before) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;

    let template = json!({"productOrgId": "org.id", "name": "org.title",
                          "customFields": {"seats": ["org.seats", "org.licenses"]}});
    let (status, changed) = app.put_template(&key.id, &template).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed, json!({"templateVersion": 2}));

    let body = json!({"org": {"id": "ws_2", "title": "Two", "licenses": 7}});
    let answer = applied_once_picked_up(&app, &key.api_key, &body).await;
    assert_eq!(answer["productOrgId"], json!("ws_2"), "{answer}");
    let (_, org) = app.product_org("ws_2").await;
    assert_eq!(
        (&org["name"], &org["customFields"]["seats"]),
        (&json!("Two"), &json!(7)),
        "{org}"
    );
    let (status, answer) = app
        .post(&key.api_key, &json!({"workspace_id": "ws_3"}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old shape no longer maps: {answer}"
    );

    let (_, now) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;
    assert_eq!(
        (&now["templateVersion"], &now["template"]),
        (&json!(2), &template)
    );
    let (_, versions) = app
        .admin_get(&format!("/api/admin/api-keys/{}/template/versions", key.id))
        .await;
    let summary: Vec<(Value, Value, Value)> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["templateVersion"].clone(),
                v["template"].clone(),
                v["createdBy"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!(2), template, json!("admin token")),
            (json!(1), before["template"].clone(), json!("cli")),
        ],
        "every version, newest first"
    );
    let (_, again) = app
        .put_template(&key.id, &json!({"productOrgId": "id"}))
        .await;
    assert_eq!(again, json!({"templateVersion": 3}));
}

#[tokio::test]
async fn a_template_change_is_refused_when_invalid_or_the_key_is_revoked() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let signals = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let invalid = json!({"productOrgId": "traits..id", "plan": "traits.plan",
                         "customFields": {"x": 3}});
    let (status, answer) = app.put_template(&key.id, &invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], json!("invalid_template"));
    let reasons = answer["reasons"].as_array().expect("every reason").clone();
    assert_eq!(reasons.len(), 3, "{answer}");
    for needle in ["`plan`", "empty segment", "customFields.x"] {
        assert!(
            reasons.iter().any(|r| r.as_str().unwrap().contains(needle)),
            "{needle}: {answer}"
        );
    }
    // Validated for the key's own endpoint type: a product org template is no signal one.
    let (status, answer) = app
        .put_template(&signals.id, &json!({"productOrgId": "groupId"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("email"),
        "{answer}"
    );

    let path = format!("/api/admin/api-keys/{}/template", key.id);
    for (case, body) in [
        ("no template", json!({})),
        (
            "another field",
            json!({"template": {"productOrgId": "id"}, "version": 3}),
        ),
    ] {
        let (status, answer) = app.admin_send(Method::PUT, &path, Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_eq!(answer["code"], json!("invalid_body"), "{case}");
    }
    let (_, one) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;
    assert_eq!(one["templateVersion"], json!(1), "nothing refused was kept");

    app.cli_json(&["key", "revoke", "--tenant", "default", &key.id]);
    let (status, answer) = app
        .put_template(&key.id, &json!({"productOrgId": "id"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("revoked"),
        "{answer}"
    );
    let (status, versions) = app
        .admin_get(&format!("/api/admin/api-keys/{}/template/versions", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "a revoked key's versions are read");
    assert_eq!(versions["items"].as_array().unwrap().len(), 1, "{versions}");
}
