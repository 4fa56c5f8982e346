//! The examples of the two seed documents, verbatim, as acceptance tests: each payload with
//! its template gets exactly the documented response and reads back with every field.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_applied(body: &Value, product_org_id: &str, is_new: bool) {
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["productOrgId"], json!(product_org_id), "{body}");
    assert!(
        body["targetOrgId"].as_i64().is_some_and(|id| id > 0),
        "targetOrgId is a positive integer: {body}"
    );
    assert_eq!(body["isNewOrg"], json!(is_new), "{body}");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // SPEC §6 adds why nothing changed after them; the seeds' examples all change something.
    let mut documented = vec![
        "success",
        "productOrgId",
        "targetOrgId",
        "isNewOrg",
        "changed",
    ];
    if body["changed"] == json!(false) {
        documented.push("unchangedReason");
    }
    assert_eq!(
        keys, documented,
        "exactly the documented keys, in the documented order: {body}"
    );
}

/// Seed 000, "Flat Structure", with a template naming every example path of the field tables
/// and the custom fields projects_count and api_calls_30d.
#[tokio::test]
async fn seed_000_flat_structure_with_feature_flags_and_custom_fields() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&json!({
        "productOrgId": "workspace_id", "name": "workspace_name", "planId": "plan_id",
        "planName": "plan_name", "userCount": "user_count", "mrr": "mrr",
        "trialStatus": "trial_status", "lastActiveAt": "last_active_at",
        "featureFlags": "feature_flags",
        "customFields": {"projects_count": "projects_count", "api_calls_30d": "api_calls_30d"}
    }));
    let payload: Value = serde_json::from_str(
        r#"{
  "workspace_id": "ws_abc123",
  "workspace_name": "Acme Corp Workspace",
  "plan_id": "plan_pro_annual",
  "plan_name": "Pro Annual",
  "user_count": 47,
  "mrr": 49900,
  "trial_status": "converted",
  "last_active_at": "2024-01-15T10:30:00Z",
  "feature_flags": {"sso_enabled": true, "api_access": true},
  "projects_count": 23,
  "api_calls_30d": 15420
}"#,
    )
    .unwrap();
    let (status, body) = app.post(&key.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_applied(&body, "ws_abc123", true);
    assert_eq!(body["changed"], json!(true));

    let (status, org) = app.product_org("ws_abc123").await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["targetOrgId"], body["targetOrgId"]);
    for (field, want) in [
        ("name", json!("Acme Corp Workspace")),
        ("planId", json!("plan_pro_annual")),
        ("planName", json!("Pro Annual")),
        ("userCount", json!(47)),
        ("mrr", json!(49900)),
        ("trialStatus", json!("converted")),
        ("lastActiveAt", json!("2024-01-15T10:30:00Z")),
        (
            "featureFlags",
            json!({"sso_enabled": true, "api_access": true}),
        ),
        (
            "customFields",
            json!({"projects_count": 23, "api_calls_30d": 15420}),
        ),
    ] {
        assert_eq!(org[field], want, "field {field} of {org}");
    }
}

/// Seed 000, "Segment Group Call", with the documented template (= the segment preset).
#[tokio::test]
async fn seed_000_segment_group_call() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let payload: Value = serde_json::from_str(
        r#"{
  "type": "group",
  "groupId": "ws_abc123",
  "traits": {
    "name": "Acme Corp Workspace",
    "plan": "pro",
    "plan_name": "Pro Annual",
    "employees": 47,
    "mrr": 49900,
    "trial_status": "converted"
  }
}"#,
    )
    .unwrap();
    let (status, body) = app.post(&key.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_applied(&body, "ws_abc123", true);
    let (_, org) = app.product_org("ws_abc123").await;
    assert_eq!(org["name"], json!("Acme Corp Workspace"));
    assert_eq!(org["planId"], json!("pro"));
    assert_eq!(org["planName"], json!("Pro Annual"));
    assert_eq!(org["userCount"], json!(47));
    assert_eq!(org["mrr"], json!(49900));
    assert_eq!(org["trialStatus"], json!("converted"));
    assert_eq!(org["lastActiveAt"], Value::Null);
    assert_eq!(org["featureFlags"], Value::Null);
}

/// Seed 001, what Segment delivers (with userId, timestamp, messageId), through the segment
/// and rudderstack presets alike; a second delivery of the same message is not applied again.
#[tokio::test]
async fn seed_001_segment_delivery_through_segment_and_rudderstack_presets() {
    let app = TestApp::spawn().await;
    let payload: Value = serde_json::from_str(
        r#"{
  "type": "group",
  "groupId": "ws_abc123",
  "traits": {
    "name": "Acme Corp Workspace",
    "plan": "pro_annual",
    "plan_name": "Pro Annual",
    "employees": 47,
    "mrr": 49900,
    "trial_status": "converted"
  },
  "userId": "user_789",
  "timestamp": "2026-01-15T10:30:00.000Z",
  "messageId": "seg-msg-abc123"
}"#,
    )
    .unwrap();
    let segment = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, first) = app.post(&segment.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_applied(&first, "ws_abc123", true);
    let (status, again) = app.post(&segment.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK);
    let mut repeated = first.clone();
    repeated["duplicate"] = json!(true);
    assert_eq!(
        again, repeated,
        "a repeated messageId repeats the first outcome, marked a duplicate (SPEC §6)"
    );

    let rudder = app.key(&["--type", "product-org-updates", "--preset", "rudderstack"]);
    let (status, body) = app.post(&rudder.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_applied(&body, "ws_abc123", false);
    assert_eq!(body["changed"], json!(false), "same values again");

    let (_, org) = app.product_org("ws_abc123").await;
    assert_eq!(org["planId"], json!("pro_annual"));
    assert_eq!(org["userCount"], json!(47));
    let (_, history) = app
        .admin_get("/api/admin/product-orgs/ws_abc123/history")
        .await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "one applied change: {history}"
    );
}

/// Seed 000, "Nested Structure", with paths into data.tenant, data.subscription, data.usage.
#[tokio::test]
async fn seed_000_nested_structure() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&json!({
        "productOrgId": "data.tenant.id", "name": "data.tenant.name",
        "planId": "data.subscription.plan_id", "planName": "data.subscription.plan_name",
        "mrr": "data.subscription.mrr_cents", "trialStatus": "data.subscription.trial.status",
        "userCount": "data.usage.active_users", "lastActiveAt": "data.usage.last_activity"
    }));
    let payload: Value = serde_json::from_str(
        r#"{
  "data": {
    "tenant": {"id": "tenant_xyz789", "name": "Enterprise Client"},
    "subscription": {
      "plan_id": "enterprise",
      "plan_name": "Enterprise",
      "mrr_cents": 299900,
      "trial": {"status": "not_applicable"}
    },
    "usage": {"active_users": 156, "last_activity": "2024-01-15T14:22:00Z"}
  }
}"#,
    )
    .unwrap();
    let (status, body) = app.post(&key.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_applied(&body, "tenant_xyz789", true);
    let (_, org) = app.product_org("tenant_xyz789").await;
    assert_eq!(org["name"], json!("Enterprise Client"));
    assert_eq!(org["planId"], json!("enterprise"));
    assert_eq!(org["planName"], json!("Enterprise"));
    assert_eq!(org["mrr"], json!(299900));
    assert_eq!(org["trialStatus"], json!("not_applicable"));
    assert_eq!(org["userCount"], json!(156));
    assert_eq!(org["lastActiveAt"], json!("2024-01-15T14:22:00Z"));
}

/// Seed 001, "Testing": the curl payload with the flat (Hightouch) mapping, exactly as curl
/// sends it, and the documented success response.
#[tokio::test]
async fn seed_001_curl_test_with_hightouch_preset() {
    let app = TestApp::spawn().await;
    for preset in ["hightouch", "flat"] {
        let key = app.key(&["--type", "product-org-updates", "--preset", preset]);
        let body = r#"{
    "workspace_id": "test_ws_001",
    "workspace_name": "Test Workspace",
    "plan_id": "pro",
    "plan_name": "Pro",
    "user_count": 10,
    "mrr": 9900,
    "trial_status": "active"
  }"#;
        let (status, response) = app
            .send(
                app.client
                    .post(app.webhook_url(&key.api_key))
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{preset}: {response}");
        assert_applied(&response, "test_ws_001", preset == "hightouch");
    }
    let (_, org) = app.product_org("test_ws_001").await;
    assert_eq!(org["name"], json!("Test Workspace"));
    assert_eq!(org["planId"], json!("pro"));
    assert_eq!(org["planName"], json!("Pro"));
    assert_eq!(org["userCount"], json!(10));
    assert_eq!(org["mrr"], json!(9900));
    assert_eq!(org["trialStatus"], json!("active"));
}

/// Seed 001, Hightouch's JSON editor body once Liquid has rendered a warehouse row.
#[tokio::test]
async fn seed_001_hightouch_rendered_row() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "hightouch"]);
    let payload = json!({
      "workspace_id": "ws_42",
      "workspace_name": "Globex",
      "plan_id": "team",
      "plan_name": "Team",
      "user_count": 12,
      "mrr": 12000,
      "trial_status": "expired"
    });
    let (status, body) = app.post(&key.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_applied(&body, "ws_42", true);
    let (_, org) = app.product_org("ws_42").await;
    assert_eq!(org["trialStatus"], json!("expired"));
}
