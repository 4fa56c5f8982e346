//! Product org history is kept for `--history-retention-days` (365 by default): older changes
//! are swept, the org's values stay.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Makes the history row of `version` of `org` look received `days` ago, in the store itself.
async fn age(app: &TestApp, org: &str, version: i64, days: i64) {
    match app.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&app.db).unwrap();
            let micros = days * 86_400 * 1_000_000;
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
                     SET received_at = received_at - make_interval(days => $1)
                     WHERE product_org_id = $2 AND version = $3",
                    &[&(days as i32), &org, &version],
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
    age(&app, "ws_ret", 1, 400).await;
    age(&app, "ws_ret", 2, 40).await;
    app.start();

    // serve sweeps as it starts, then every minute.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while versions(&app, "ws_ret").await != [3, 2] {
        assert!(
            std::time::Instant::now() < deadline,
            "history {:?}; log:\n{}",
            versions(&app, "ws_ret").await,
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, org): (_, Value) = app.product_org("ws_ret").await;
    assert_eq!(org["planId"], "enterprise", "{org}");
    assert!(
        app.log().contains("product org history swept"),
        "{}",
        app.log()
    );
}
