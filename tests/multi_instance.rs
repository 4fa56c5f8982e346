//! Two `serve` processes on one PostgreSQL database, as behind a load balancer: every
//! guarantee of SPEC.md holds whichever instance a request reaches. Runs whenever
//! TRAILSPARK_TEST_POSTGRES_URL is set (SQLite serves one process only).

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post(client: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let response = client.post(url).json(&body).send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_updates_across_instances_create_one_org() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let requests = (0..40).map(|i| {
        let url = if i % 2 == 0 {
            app.webhook_url(&key.api_key)
        } else {
            b.webhook_url(&key.api_key)
        };
        post(
            &app.client,
            url,
            json!({"groupId": "ws_race", "traits": {"employees": i}}),
        )
    });
    let results = futures::future::join_all(requests).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    let new: usize = results
        .iter()
        .filter(|(_, b)| b["isNewOrg"] == json!(true))
        .count();
    assert_eq!(new, 1, "exactly one isNewOrg across both instances");
    let target = &results[0].1["targetOrgId"];
    assert!(
        results.iter().all(|(_, b)| &b["targetOrgId"] == target),
        "one target org"
    );
    let (_, list) = app.admin_get("/api/admin/target-orgs").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn last_writer_wins_and_dedupe_hold_across_instances() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let newer =
        json!({"groupId": "ws_l", "traits": {"plan": "pro"}, "timestamp": "2026-01-02T00:00:00Z"});
    let older = json!({"groupId": "ws_l", "traits": {"plan": "basic", "mrr": 100}, "timestamp": "2026-01-01T00:00:00Z"});
    assert_eq!(
        post(&app.client, app.webhook_url(&key.api_key), newer)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app.client, b.webhook_url(&key.api_key), older)
            .await
            .0,
        StatusCode::OK
    );
    let (_, org) = app.product_org("ws_l").await;
    assert_eq!(
        (org["planId"].clone(), org["mrr"].clone()),
        (json!("pro"), json!(100)),
        "{org}"
    );

    let first = json!({"groupId": "ws_m", "traits": {"employees": 1}, "messageId": "m-1"});
    let retry = json!({"groupId": "ws_m", "traits": {"employees": 2}, "messageId": "m-1"});
    let (_, a_answer) = post(&app.client, app.webhook_url(&key.api_key), first).await;
    let (_, b_answer) = post(&app.client, b.webhook_url(&key.api_key), retry).await;
    let mut repeated = a_answer.clone();
    repeated["duplicate"] = json!(true);
    assert_eq!(
        b_answer, repeated,
        "the other instance repeats the first outcome, marked a duplicate"
    );
    let (_, org) = app.product_org("ws_m").await;
    assert_eq!(org["userCount"], json!(1), "the retry applied nothing");
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_every_instance_within_five_seconds() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!({"groupId": "ws_r"});
    // Both instances now hold the key in memory.
    assert_eq!(
        post(&app.client, app.webhook_url(&key.api_key), body.clone())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app.client, b.webhook_url(&key.api_key), body.clone())
            .await
            .0,
        StatusCode::OK
    );
    app.cli_json(&["key", "revoke", "--tenant", "default", &key.id]);
    let revoked_at = Instant::now();
    for url in [app.webhook_url(&key.api_key), b.webhook_url(&key.api_key)] {
        loop {
            let (status, answer) = post(&app.client, url.clone(), body.clone()).await;
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(answer["code"], json!("invalid_api_key"));
                break;
            }
            assert!(
                revoked_at.elapsed() < Duration::from_secs(5),
                "{url} still accepts the revoked key"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn leads_link_whichever_instance_gets_the_signal_and_the_org() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let signal_key = app.key(&["--type", "signal-staging", "--preset", "flat"]);
    let signal_url = format!("{}/api/signals/webhook/{}", b.base, signal_key.api_key);
    let (status, pending) = post(
        &app.client,
        signal_url,
        json!({"lead_id": "u_1", "product_org_id": "ws_x", "signal": "s"}),
    )
    .await;
    assert_eq!(
        (status, pending["linked"].clone()),
        (StatusCode::OK, json!(false)),
        "{pending}"
    );
    let (_, org) = post(
        &app.client,
        app.webhook_url(&org_key.api_key),
        json!({"workspace_id": "ws_x"}),
    )
    .await;
    let (_, context) = app
        .admin_get("/api/admin/leads/u_1/evaluation-context")
        .await;
    assert_eq!(
        context["lead"]["targetOrgId"], org["targetOrgId"],
        "{context}"
    );
    assert_eq!(context["productOrgInfo"][0]["productOrgId"], json!("ws_x"));
}

#[tokio::test]
async fn a_template_changed_through_one_instance_is_used_by_the_other() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    // Once both have seen the key's creation move the revision, a key they hold stays in
    // memory until it moves again: then only the template change can make them reload it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for url in [app.webhook_url(&key.api_key), b.webhook_url(&key.api_key)] {
        let (status, answer) = post(&app.client, url, json!({"workspace_id": "ws_t"})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let changed = app
        .client
        .put(format!("{}/api/admin/api-keys/{}/template", b.base, key.id))
        .bearer_auth(&app.admin_token)
        .json(&json!({"template": {"productOrgId": "org.id", "name": "org.name"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), StatusCode::OK, "the change, through b");
    let body = json!({"org": {"id": "ws_t", "name": "Renamed"}});
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, answer) = post(&app.client, app.webhook_url(&key.api_key), body.clone()).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(answer["code"], json!("missing_product_org_id"), "{answer}");
        assert!(
            Instant::now() < deadline,
            "the other instance still extracts with the old template"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, org) = app.product_org("ws_t").await;
    assert_eq!(org["name"], json!("Renamed"), "{org}");
}

#[tokio::test]
async fn a_delivery_on_one_instance_is_listed_and_replayed_by_the_other_at_once() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let refused = json!({"org": {"id": "ws_log"}, "workspace_name": "Logged"});
    let (status, _) = post(&app.client, b.webhook_url(&key.api_key), refused).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &app.client,
        b.webhook_url(&key.api_key),
        json!({"workspace_id": "ws_ok"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Read from the other instance right after the answers: no flush to wait for.
    let (_, log) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    let outcomes: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("applied"), json!("refused")], "{log}");

    let fixed = json!({"template": {"productOrgId": "org.id", "name": "workspace_name"}});
    let changed = app
        .client
        .put(format!("{}/api/admin/api-keys/{}/template", b.base, key.id))
        .bearer_auth(&app.admin_token)
        .json(&fixed)
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), StatusCode::OK);
    let (status, replayed) = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/admin/api-keys/{}/deliveries/replay", key.id),
            Some(&json!({"outcome": "refused"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!(replayed["results"][0]["status"], 200, "{replayed}");
    let (_, org) = app.product_org("ws_log").await;
    assert_eq!(org["name"], json!("Logged"), "{org}");
}
