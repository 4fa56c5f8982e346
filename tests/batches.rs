//! Array bodies (Segment's Webhooks (Actions) batching) on both webhooks, over real HTTP:
//! each element one update applied in order, 200 / 207 / the single error status (SPEC §3).

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn group(id: &str, employees: Value) -> Value {
    json!({"type": "group", "groupId": id, "traits": {"name": "Acme", "employees": employees}})
}

#[tokio::test]
async fn an_array_applies_every_element_in_order() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!([
        group("ws_a", json!(1)),
        group("ws_a", json!(2)),
        group("ws_b", json!(5))
    ]);
    let (status, response) = app.post(&key.api_key, &body).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["success"], json!(true));
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{response}");
    assert_eq!(
        results
            .iter()
            .map(|r| (r["productOrgId"].clone(), r["isNewOrg"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("ws_a"), json!(true)),
            (json!("ws_a"), json!(false)),
            (json!("ws_b"), json!(true))
        ]
    );
    assert!(results.iter().all(|r| r["success"] == json!(true)));
    assert_eq!(results[0]["targetOrgId"], results[1]["targetOrgId"]);
    let (_, org) = app.product_org("ws_a").await;
    assert_eq!(org["userCount"], json!(2), "the later element wins: {org}");
}

#[tokio::test]
async fn some_bad_elements_207_each_failure_says_why() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!([
        group("ws_good", json!(3)),
        {"type": "group", "groupID": "ws_typo", "traits": {}},
        group("ws_bad_type", json!("many")),
        "not an object",
        group("ws_good_too", json!(4))
    ]);
    let (status, response) = app.post(&key.api_key, &body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{response}");
    assert_eq!(response["success"], json!(false));
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{response}");
    assert_eq!(results[0]["success"], json!(true));
    assert_eq!(results[1]["status"], json!(400));
    assert_eq!(results[1]["code"], json!("missing_product_org_id"));
    assert_eq!(results[1]["didYouMean"], json!("groupID"), "{response}");
    assert_eq!(results[2]["status"], json!(422));
    assert_eq!(results[2]["code"], json!("invalid_fields"));
    assert_eq!(results[2]["fieldErrors"][0]["field"], json!("userCount"));
    assert_eq!(results[3]["status"], json!(400));
    assert_eq!(results[3]["code"], json!("body_not_object"));
    assert_eq!(results[4]["success"], json!(true));
    for failed in &results[1..4] {
        assert_eq!(failed["success"], json!(false));
        assert!(failed["message"].as_str().is_some_and(|m| m.len() > 20));
    }
    assert_eq!(app.product_org("ws_good").await.0, StatusCode::OK);
    assert_eq!(app.product_org("ws_good_too").await.0, StatusCode::OK);
    assert_eq!(
        app.product_org("ws_bad_type").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn all_bad_elements_answer_the_single_error_status() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!([{"type": "group"}, {"type": "group", "traits": {}}]);
    let (status, response) = app.post(&key.api_key, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(response["success"], json!(false));
    assert_eq!(response["code"], json!("missing_product_org_id"));
    assert!(response["message"].as_str().is_some_and(|m| m.len() > 20));
    assert_eq!(response["results"].as_array().unwrap().len(), 2);

    let (status, response) = app.post(&key.api_key, &json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(response["code"], json!("empty_batch"));

    let many: Vec<Value> = (0..4_001)
        .map(|n| json!({"type": "group", "groupId": format!("w{n}")}))
        .collect();
    let (status, response) = app.post(&key.api_key, &json!(many)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
    assert_eq!(response["code"], json!("too_many_events"));
    assert_eq!(app.product_org("w0").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn four_thousand_elements_are_taken() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let many: Vec<Value> = (0..4_000)
        .map(|n| json!({"type": "group", "groupId": format!("w{n}"), "messageId": format!("m{n}")}))
        .collect();
    let (status, response) = app.post(&key.api_key, &json!(many)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["results"].as_array().unwrap().len(), 4_000);
    assert_eq!(app.product_org("w3999").await.0, StatusCode::OK);
    // The same batch again: every element is a duplicate of its first outcome.
    let (status, again) = app.post(&key.api_key, &json!(many)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again["results"][0]["isNewOrg"],
        json!(true),
        "{}",
        again["results"][0]
    );
}

#[tokio::test]
async fn the_signal_webhook_takes_arrays_too() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let body = json!([
        {"type": "track", "event": "Signed Up", "userId": "u1",
         "context": {"traits": {"email": "Ana@Example.com"}, "groupId": "ws_1"}},
        {"type": "track", "event": "Nothing to say"}
    ]);
    let (status, response) = app.post_signal(&key.api_key, &body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{response}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results[0]["success"], json!(true), "{response}");
    assert_eq!(results[0]["leadId"], json!("u1"), "{response}");
    assert_eq!(results[1]["code"], json!("missing_lead"));
}
