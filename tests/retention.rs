//! Product org history is kept for `--history-retention` (365 days by default): older changes
//! are swept, the org's values stay.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Makes the history row of `version` of `org` look received `seconds` earlier, in the store
/// itself.
async fn age(app: &TestApp, org: &str, version: i64, seconds: i64) {
    match app.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&app.db).unwrap();
            let micros = seconds * 1_000_000;
            conn.execute(
                "UPDATE product_org_history SET received_at = received_at - ?1
                 WHERE product_org_id = ?2 AND version = ?3",
                (micros, org, version),
            )
            .unwrap();
        }
        Backend::Postgres => {
            let (client, connection) =
                tokio_postgres::connect(&app.database, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            client
                .execute(
                    "UPDATE product_org_history
                     SET received_at = received_at - make_interval(secs => $1)
                     WHERE product_org_id = $2 AND version = $3",
                    &[&(seconds as f64), &org, &version],
                )
                .await
                .unwrap();
        }
    }
}

async fn versions(app: &TestApp, org: &str) -> Vec<i64> {
    let (status, body) = app
        .admin_get(&format!("/api/admin/product-orgs/{org}/history"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn changes_older_than_the_retention_are_swept_and_the_values_stay() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for plan in ["free", "pro", "enterprise"] {
        let body = json!({"type": "group", "groupId": "ws_ret", "traits": {"plan": plan}});
        let (status, answer) = app.post(&key.api_key, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(versions(&app, "ws_ret").await, [3, 2, 1]);
    app.stop();
    // Past the default 365 days, and within it.
    age(&app, "ws_ret", 1, 400 * DAY).await;
    age(&app, "ws_ret", 2, 40 * DAY).await;
    app.start();
    swept_to(&app, "ws_ret", &[3, 2]).await;
    let (_, org): (_, Value) = app.product_org("ws_ret").await;
    assert_eq!(org["planId"], "enterprise", "{org}");
    assert!(
        app.log().contains("product org history swept"),
        "{}",
        app.log()
    );
}

#[tokio::test]
async fn a_retention_in_hours_sweeps_by_the_hour() {
    let mut app = TestApp::spawn_with(&["--history-retention", "1h"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for plan in ["free", "pro", "enterprise"] {
        let body = json!({"type": "group", "groupId": "ws_hour", "traits": {"plan": plan}});
        let (status, answer) = app.post(&key.api_key, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    app.stop();
    age(&app, "ws_hour", 1, 2 * 3_600).await;
    age(&app, "ws_hour", 2, 50 * 60).await;
    app.start();
    swept_to(&app, "ws_hour", &[3, 2]).await;
}

const DAY: i64 = 86_400;

/// Waits for the history of `org` to be `expected` (serve sweeps as it starts, then every
/// minute).
async fn swept_to(app: &TestApp, org: &str, expected: &[i64]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while versions(app, org).await != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "history {:?}; log:\n{}",
            versions(app, org).await,
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
