//! The admin API reads over real HTTP: bearer auth, tenant scoping, list/search/cursor, one
//! product org by URL-encoded id, history pages.

mod common;

use common::{encode, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn admin_api_needs_a_valid_bearer_token() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/admin/product-orgs", app.base);
    for (case, request) in [
        ("no header", app.client.get(&url)),
        (
            "wrong token",
            app.client.get(&url).bearer_auth("tsa_not_a_token"),
        ),
        (
            "basic scheme",
            app.client.get(&url).basic_auth("x", Some(&app.admin_token)),
        ),
    ] {
        let (status, body) = app.send(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        assert_eq!(body["code"], json!("unauthorized"), "{case}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("Bearer")),
            "{case}: {body}"
        );
    }
    let lower = app
        .client
        .get(&url)
        .header("Authorization", format!("bearer {}", app.admin_token));
    let (status, _) = app.send(lower).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the scheme name is case-insensitive"
    );
}

#[tokio::test]
async fn list_search_and_cursor_pages() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    for (id, name) in [
        ("ws_3", "Gamma"),
        ("ws_1", "Acme Corp"),
        ("ws_2", "Beta"),
        ("ws_4", "acme labs"),
    ] {
        let (s, b) = app
            .post(
                &key.api_key,
                &json!({"workspace_id": id, "workspace_name": name}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let mut ids = Vec::new();
    let mut path = "/api/admin/product-orgs?limit=3".to_owned();
    loop {
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().unwrap() {
            ids.push(item["productOrgId"].as_str().unwrap().to_owned());
            assert!(
                item.get("featureFlags").is_some(),
                "every field is shown: {item}"
            );
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/admin/product-orgs?limit=3&cursor={}", encode(cursor))
            }
            None => break,
        }
    }
    assert_eq!(ids, ["ws_1", "ws_2", "ws_3", "ws_4"]);

    let (_, found) = app.admin_get("/api/admin/product-orgs?q=ACME").await;
    let names: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme Corp", "acme labs"]);
    assert_eq!(found["nextCursor"], Value::Null);

    for (path, code) in [
        ("/api/admin/product-orgs?limit=0", "invalid_limit"),
        ("/api/admin/product-orgs?limit=201", "invalid_limit"),
        ("/api/admin/product-orgs?limit=ten", "invalid_limit"),
        ("/api/admin/product-orgs?cursor=%25%25", "invalid_cursor"),
    ] {
        let (status, body) = app.admin_get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], json!(code), "{path}: {body}");
    }
}

#[tokio::test]
async fn one_product_org_by_encoded_id_and_its_history() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let id = "acme/ws 1?#";
    for users in [1, 2, 3] {
        let (s, b) = app
            .post(
                &key.api_key,
                &json!({"workspace_id": id, "user_count": users}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (status, org) = app.product_org(id).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["productOrgId"], json!(id));
    assert_eq!(org["userCount"], json!(3));
    let keys: Vec<&str> = org
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in [
        "productOrgId",
        "targetOrgId",
        "name",
        "planId",
        "planName",
        "userCount",
        "mrr",
        "trialStatus",
        "lastActiveAt",
        "featureFlags",
        "customFields",
        "createdAt",
        "updatedAt",
    ] {
        assert!(keys.contains(&field), "{field} missing from {org}");
    }
    assert_eq!(org["name"], Value::Null, "unset fields are null");

    let (status, page) = app
        .admin_get(&format!(
            "/api/admin/product-orgs/{}/history?limit=2",
            encode(id)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["productOrgId"], json!(id));
    let versions: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2], "newest first");
    let newest = &page["items"][0];
    assert_eq!(
        newest["changes"],
        json!([{"field": "userCount", "old": 2, "new": 3}])
    );
    assert_eq!(newest["keyId"], json!(key.id));
    let cursor = page["nextCursor"].as_str().expect("a second page");
    let (_, rest) = app
        .admin_get(&format!(
            "/api/admin/product-orgs/{}/history?limit=2&cursor={}",
            encode(id),
            encode(cursor)
        ))
        .await;
    let versions: Vec<i64> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1]);

    let (status, body) = app.product_org("no_such_ws").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], json!("not_found"));
    let (status, _) = app
        .admin_get("/api/admin/product-orgs/no_such_ws/history")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A query string axum cannot read (a repeated parameter) gets the JSON error body, not text.
#[tokio::test]
async fn unreadable_query_strings_answer_json() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .admin_get("/api/admin/product-orgs?limit=1&limit=2")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], json!("invalid_request"), "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("limit")),
        "{body}"
    );
}
