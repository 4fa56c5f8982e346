//! SPEC §2 value rules and update semantics, end to end: coercions and refusals, null vs
//! missing, per-field last-writer-wins, messageId dedupe, concurrent first updates, tenants
//! apart, durability across a restart.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn everything_template() -> Value {
    json!({
        "productOrgId": "id", "name": "name", "planId": "plan_id", "planName": "plan_name",
        "userCount": "users", "mrr": "mrr", "trialStatus": "trial", "lastActiveAt": "seen",
        "featureFlags": "flags", "eventTimestamp": "ts", "messageId": "msg",
        "customFields": {"projects": "metrics.projects", "tags": "metrics.tags"}
    })
}

#[tokio::test]
async fn coercions_follow_the_value_table() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let cases: Vec<(Value, &str, Value)> = vec![
        (json!({"id": 12345}), "productOrgId", json!("12345")),
        (json!({"id": "n", "name": 42}), "name", json!("42")),
        (json!({"id": "n", "plan_id": true}), "planId", json!("true")),
        (
            json!({"id": "n", "plan_name": 1.5}),
            "planName",
            json!("1.5"),
        ),
        (json!({"id": "n", "users": 47.0}), "userCount", json!(47)),
        (json!({"id": "n", "users": "48"}), "userCount", json!(48)),
        (json!({"id": "n", "mrr": 0}), "mrr", json!(0)),
        (
            json!({"id": "n", "seen": "2024-01-15T12:30:00+02:00"}),
            "lastActiveAt",
            json!("2024-01-15T10:30:00Z"),
        ),
        (
            json!({"id": "n", "seen": 1705314600}),
            "lastActiveAt",
            json!("2024-01-15T10:30:00Z"),
        ),
        (
            json!({"id": "n", "seen": 1705314600123_i64}),
            "lastActiveAt",
            json!("2024-01-15T10:30:00.123Z"),
        ),
        (
            json!({"id": "n", "flags": {"sso": false}}),
            "featureFlags",
            json!({"sso": false}),
        ),
        (
            json!({"id": "n", "metrics": {"tags": ["a", {"b": null}]}}),
            "customFields",
            json!({"tags": ["a", {"b": null}]}),
        ),
    ];
    for (payload, field, want) in cases {
        let (status, body) = app.post(&key.api_key, &payload).await;
        assert_eq!(status, StatusCode::OK, "{payload}: {body}");
        let id = body["productOrgId"].as_str().unwrap().to_owned();
        let (_, org) = app.product_org(&id).await;
        assert_eq!(org[field], want, "{payload} → {field}");
    }
}

#[tokio::test]
async fn refusals_follow_the_value_table() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let cases: Vec<(Value, &str)> = vec![
        (json!({"id": ""}), "productOrgId"),
        (json!({"id": "x".repeat(256)}), "productOrgId"),
        (json!({"id": 1.5}), "productOrgId"),
        (json!({"id": true}), "productOrgId"),
        (json!({"id": "r", "name": {"a": 1}}), "name"),
        (json!({"id": "r", "trial": ["active"]}), "trialStatus"),
        (json!({"id": "r", "users": -1}), "userCount"),
        (json!({"id": "r", "users": 4.5}), "userCount"),
        (json!({"id": "r", "users": "4.5"}), "userCount"),
        (json!({"id": "r", "users": " 4"}), "userCount"),
        (json!({"id": "r", "mrr": "-5"}), "mrr"),
        (json!({"id": "r", "mrr": true}), "mrr"),
        (json!({"id": "r", "seen": "yesterday"}), "lastActiveAt"),
        (json!({"id": "r", "seen": true}), "lastActiveAt"),
        (json!({"id": "r", "flags": ["sso"]}), "featureFlags"),
        (json!({"id": "r", "flags": "sso"}), "featureFlags"),
        (json!({"id": "r", "ts": "not a time"}), "eventTimestamp"),
    ];
    for (payload, field) in cases {
        let (status, body) = app.post(&key.api_key, &payload).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{payload}: {body}"
        );
        let fields: Vec<&str> = body["fieldErrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{payload}: {body}");
    }
    let (status, _) = app.product_org("r").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no refused update stored anything"
    );
}

#[tokio::test]
async fn null_clears_and_missing_keeps() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let full = json!({"id": "w", "name": "W", "plan_id": "p", "users": 3, "flags": {"a": true}, "metrics": {"projects": 9}});
    assert_eq!(app.post(&key.api_key, &full).await.0, StatusCode::OK);
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"id": "w", "plan_id": null, "flags": null, "metrics": {"projects": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["changed"], json!(true));
    let (_, org) = app.product_org("w").await;
    assert_eq!(org["name"], json!("W"), "missing keeps");
    assert_eq!(org["userCount"], json!(3), "missing keeps");
    assert_eq!(org["planId"], Value::Null, "null clears");
    assert_eq!(org["featureFlags"], Value::Null, "null clears");
    assert_eq!(
        org["customFields"],
        Value::Null,
        "null clears the only custom field"
    );
}

#[tokio::test]
async fn unchanged_update_leaves_history_and_updated_at() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let payload = json!({"id": "u", "name": "U", "users": 1});
    let (_, first) = app.post(&key.api_key, &payload).await;
    assert_eq!(
        (first["isNewOrg"].clone(), first["changed"].clone()),
        (json!(true), json!(true))
    );
    let (_, before) = app.product_org("u").await;
    let (status, again) = app.post(&key.api_key, &payload).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["isNewOrg"].clone(), again["changed"].clone()),
        (json!(false), json!(false))
    );
    let (_, after) = app.product_org("u").await;
    assert_eq!(before["updatedAt"], after["updatedAt"]);
    let (_, history) = app.admin_get("/api/admin/product-orgs/u/history").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");

    app.post(&key.api_key, &json!({"id": "u", "users": 2}))
        .await;
    let (_, history) = app.admin_get("/api/admin/product-orgs/u/history").await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["version"], json!(2), "newest first");
    assert_eq!(
        items[0]["changes"],
        json!([{"field": "userCount", "old": 1, "new": 2}])
    );
    assert_eq!(items[0]["keyId"], json!(key.id));
    assert!(items[0]["receivedAt"].is_string());
}

#[tokio::test]
async fn per_field_last_writer_wins_by_event_timestamp() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let post = |v: Value| app.post(&key.api_key, &v);
    post(json!({"id": "t", "plan_id": "pro", "users": 5, "ts": "2026-01-02T00:00:00Z"})).await;
    // Arrives later but happened earlier: plan loses; mrr was never written, so it takes.
    let (status, body) =
        post(json!({"id": "t", "plan_id": "basic", "mrr": 100, "ts": "2026-01-01T00:00:00Z"}))
            .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an older update is still acknowledged"
    );
    assert_eq!(body["changed"], json!(true));
    let (_, org) = app.product_org("t").await;
    assert_eq!(org["planId"], json!("pro"));
    assert_eq!(org["mrr"], json!(100));
    // Entirely older: acknowledged, nothing changes.
    let (status, body) = post(json!({"id": "t", "users": 1, "ts": 1767225600})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["changed"], json!(false));
    // A tie goes to the later arrival.
    post(json!({"id": "t", "users": 7, "ts": "2026-01-02T00:00:00Z"})).await;
    let (_, org) = app.product_org("t").await;
    assert_eq!(org["userCount"], json!(7));
}

#[tokio::test]
async fn repeated_message_id_is_not_applied_again() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let (_, first) = app
        .post(
            &key.api_key,
            &json!({"id": "m", "users": 1, "msg": "msg-1"}),
        )
        .await;
    app.post(
        &key.api_key,
        &json!({"id": "m", "users": 2, "msg": "msg-2"}),
    )
    .await;
    // A retry of msg-1 (even with other content) repeats its first outcome, marked a
    // duplicate (SPEC §6), and changes nothing.
    let (status, retry) = app
        .post(
            &key.api_key,
            &json!({"id": "m", "users": 1, "msg": "msg-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = first.clone();
    expected["duplicate"] = json!(true);
    assert_eq!(retry, expected);
    let (_, org) = app.product_org("m").await;
    assert_eq!(org["userCount"], json!(2));
}

#[tokio::test]
async fn concurrent_first_updates_create_one_org() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let requests = (0..48).map(|i| {
        app.post(
            &key.api_key,
            &json!({"groupId": "ws_race", "traits": {"employees": i}}),
        )
    });
    let results = futures::future::join_all(requests).await;
    let mut new_orgs = 0;
    let mut target = None;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
        new_orgs += usize::from(body["isNewOrg"] == json!(true));
        let t = body["targetOrgId"].clone();
        assert_eq!(target.get_or_insert(t.clone()), &t, "one target org");
    }
    assert_eq!(
        new_orgs, 1,
        "isNewOrg exactly once among 48 concurrent first updates"
    );
    let (_, list) = app.admin_get("/api/admin/product-orgs").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tenants_with_the_same_product_org_id_stay_apart() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "acme", "--name", "Acme"]);
    let a = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let b = app.key_for(
        "acme",
        &["--type", "product-org-updates", "--preset", "segment"],
    );
    let (_, ra) = app
        .post(
            &a.api_key,
            &json!({"groupId": "ws_same", "traits": {"name": "Default's"}}),
        )
        .await;
    let (_, rb) = app
        .post(
            &b.api_key,
            &json!({"groupId": "ws_same", "traits": {"name": "Acme's"}}),
        )
        .await;
    assert_eq!(ra["isNewOrg"], json!(true));
    assert_eq!(
        rb["isNewOrg"],
        json!(true),
        "same id in another tenant is another product org"
    );
    let (_, org) = app.product_org("ws_same").await;
    assert_eq!(org["name"], json!("Default's"));
    let acme_token = app.cli_json(&["admin-token", "create", "--tenant", "acme"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, acme_org) = app
        .send(
            app.client
                .get(format!("{}/api/admin/product-orgs/ws_same", app.base))
                .bearer_auth(&acme_token),
        )
        .await;
    assert_eq!(acme_org["name"], json!("Acme's"));
    let (_, only_acme) = app
        .post(&b.api_key, &json!({"groupId": "ws_acme_only"}))
        .await;
    assert_eq!(only_acme["isNewOrg"], json!(true));
    let (status, _) = app.product_org("ws_acme_only").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "default's token cannot see acme's product org"
    );
}

#[tokio::test]
async fn data_survives_a_restart_and_keys_never_touch_the_disk() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--secret",
        "--hmac-secret",
    ]);
    let sha256 = {
        use hmac::{Hmac, Mac};
        let body = br#"{"groupId":"ws_durable","traits":{"mrr":4200}}"#;
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(key.hmac_secret.as_ref().unwrap().as_bytes())
                .unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    };
    let send = |app: &TestApp| {
        app.send(
            app.client
                .post(app.webhook_url(&key.api_key))
                .header("Content-Type", "application/json")
                .header("X-Api-Secret", key.secret.clone().unwrap())
                .header("X-Signature", format!("sha256={sha256}"))
                .body(r#"{"groupId":"ws_durable","traits":{"mrr":4200}}"#),
        )
    };
    let (status, body) = send(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.restart();
    let (_, org) = app.product_org("ws_durable").await;
    assert_eq!(
        org["mrr"],
        json!(4200),
        "acknowledged data is there after a restart"
    );
    let (status, body) = send(&app).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the key (and its sealed HMAC secret) work after a restart: {body}"
    );

    app.stop();
    let disk = app.store_contents().await;
    assert!(!disk.is_empty());
    for secret in [
        &key.api_key,
        key.secret.as_ref().unwrap(),
        key.hmac_secret.as_ref().unwrap(),
        &app.admin_token,
    ] {
        assert!(
            !disk.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} found in the store",
            &secret[..8]
        );
    }
    let log = app.log();
    for secret in [
        &key.api_key,
        key.secret.as_ref().unwrap(),
        key.hmac_secret.as_ref().unwrap(),
        &app.admin_token,
    ] {
        assert!(
            !log.contains(secret.as_str()),
            "{} appears in the server log",
            &secret[..8]
        );
    }
}

#[tokio::test]
async fn nul_characters_are_refused_on_every_backend() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(
        &json!({"productOrgId": "id", "name": "name", "customFields": {"note": "note"}}),
    );
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"id": "ws_nul", "name": "a\u{0}b", "note": {"x": "\u{0}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["fieldErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "customFields.note"]);
    let (status, _) = app.post(&key.api_key, &json!({"id": "ws\u{0}"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The webhook reads its body as a document borrowing the text (not serde_json's map): a key
/// sent twice still counts with its last value, at its first place, and an escaped key or
/// value reads as its text.
#[tokio::test]
async fn a_repeated_key_counts_once_with_its_last_value() {
    let app = TestApp::spawn().await;
    let key = app.key_with_template(&everything_template());
    let body = r#"{"id":"d\u0075p","name":"first","users":1,"name":"second",
        "metrics":{"pro\u006aects":7,"tags":["x"],"tags":["y","z"]},"users":2}"#;
    let (status, answer) =
        common::status::post_raw(&app, &key.api_key, Some("application/json"), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["productOrgId"], json!("dup"));
    let (_, org) = app.product_org("dup").await;
    assert_eq!(org["name"], json!("second"));
    assert_eq!(org["userCount"], json!(2));
    assert_eq!(
        org["customFields"],
        json!({"projects": 7, "tags": ["y", "z"]})
    );
}
