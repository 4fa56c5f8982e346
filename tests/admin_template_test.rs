//! Test against recent deliveries over HTTP (SPEC §6): a candidate template run over the
//! payloads a key really received says what it would fix and what it would break, and
//! stores nothing.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn test_template(app: &TestApp, key_id: &str, body: &Value) -> (StatusCode, Value) {
    app.admin_send(
        Method::POST,
        &format!("/api/admin/api-keys/{key_id}/template/test"),
        Some(body),
    )
    .await
}

fn group(id: &str, employees: i64) -> Value {
    json!({"type": "group", "groupId": id, "userId": "u_1",
           "traits": {"name": format!("Org {id}"), "plan": "pro", "employees": employees}})
}

#[tokio::test]
async fn a_fixed_template_shows_the_refused_deliveries_it_would_apply_and_stores_nothing() {
    let app = TestApp::spawn().await;
    // The Segment preset with one typo: `groupID` finds nothing, so every group call is refused.
    let typo = json!({"productOrgId": "groupID", "name": "traits.name", "planId": "traits.plan",
                      "userCount": "traits.employees"});
    let key = app.key_with_template(&typo);
    for (n, id) in ["ws_a", "ws_b", "ws_c"].iter().enumerate() {
        let (status, answer) = app.post(&key.api_key, &group(id, 10 + n as i64)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let mut fixed = typo.clone();
    fixed["productOrgId"] = json!("groupId");
    let (status, tested) = test_template(&app, &key.id, &json!({"template": fixed})).await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["tested"], 3);
    assert_eq!(
        tested["summary"],
        json!({"nowApplied": 3, "stillRefused": 0, "newlyRefused": 0,
               "extractionChanged": 0, "same": 0})
    );
    let first = &tested["results"][0];
    assert_eq!(
        first["before"],
        json!({"outcome": "refused", "code": "missing_product_org_id"})
    );
    assert_eq!(first["after"]["outcome"], "applied");
    assert_eq!(
        first["after"]["fields"],
        json!({"productOrgId": "ws_c", "name": "Org ws_c", "planId": "pro", "userCount": 12}),
        "the newest first, with what the template takes"
    );
    let (status, _) = app.product_org("ws_c").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a test stores nothing");
    let (_, key_now) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;
    assert_eq!(key_now["templateVersion"], 1, "nor changes the template");

    // Saved, the fix applies new deliveries; a candidate that breaks them says so.
    app.put_template(&key.id, &fixed).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.post(&key.api_key, &group("ws_d", 5)).await.0 != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "the fix never reached the server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut renamed = fixed.clone();
    renamed["userCount"] = json!("traits.seats");
    let (_, tested) = test_template(&app, &key.id, &json!({"template": renamed, "limit": 1})).await;
    assert_eq!(tested["tested"], 1, "the limit holds: {tested}");
    assert_eq!(tested["summary"]["extractionChanged"], 1, "{tested}");
    let (_, tested) = test_template(&app, &key.id, &json!({"template": typo, "limit": 1})).await;
    assert_eq!(tested["summary"]["newlyRefused"], 1, "{tested}");
    let (_, tested) = test_template(&app, &key.id, &json!({"template": fixed, "limit": 1})).await;
    assert_eq!(tested["summary"]["same"], 1, "{tested}");
}

#[tokio::test]
async fn an_invalid_candidate_or_limit_is_refused_with_why() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, body) =
        test_template(&app, &key.id, &json!({"template": {"name": "traits.name"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_template");
    let (status, body) =
        test_template(&app, &key.id, &json!({"template": "segment", "limit": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "invalid_limit");
    let (status, _) = test_template(&app, "key_nope", &json!({"template": "segment"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
