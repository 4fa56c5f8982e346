//! Product org history is kept for `--history-retention` and signals for `--signal-retention`
//! (365 days each by default): older changes and signals are swept; the org's values, and the
//! lead with its link, stay.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Makes the rows of `table` that match `condition` (SQL, the same on both stores) look
/// received `seconds` earlier, in the store itself.
async fn age(app: &TestApp, table: &str, condition: &str, seconds: i64) {
    match app.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&app.db).unwrap();
            let sql =
                format!("UPDATE {table} SET received_at = received_at - ?1 WHERE {condition}");
            let aged = conn.execute(&sql, [seconds * 1_000_000]).unwrap();
            assert!(aged > 0, "no row of {table} where {condition}");
        }
        Backend::Postgres => {
            let (client, connection) =
                tokio_postgres::connect(&app.database, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let sql = format!(
                "UPDATE {table} SET received_at = received_at - make_interval(secs => $1)
                 WHERE {condition}"
            );
            let aged = client.execute(&sql, &[&(seconds as f64)]).await.unwrap();
            assert!(aged > 0, "no row of {table} where {condition}");
        }
    }
}

/// Makes the history row of `version` of `org` look received `seconds` earlier.
async fn age_change(app: &TestApp, org: &str, version: i64, seconds: i64) {
    let condition = format!("product_org_id = '{org}' AND version = {version}");
    age(app, "product_org_history", &condition, seconds).await;
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
    age_change(&app, "ws_ret", 1, 400 * DAY).await;
    age_change(&app, "ws_ret", 2, 40 * DAY).await;
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
    age_change(&app, "ws_hour", 1, 2 * 3_600).await;
    age_change(&app, "ws_hour", 2, 50 * 60).await;
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

/// The names of the lead's signals in its evaluation context, newest first.
async fn signal_names(app: &TestApp, lead: &str) -> Vec<String> {
    let (status, body) = app
        .admin_get(&format!("/api/admin/leads/{lead}/evaluation-context"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn signals_older_than_the_retention_are_swept_and_the_lead_stays() {
    let mut app = TestApp::spawn_with(&["--signal-retention", "1h"]).await;
    let key = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    for event in ["Signed Up", "Report Created", "Invited Teammate"] {
        let body = json!({"type": "track", "event": event, "userId": "lead_ret",
                          "context": {"groupId": "ws_ret"}});
        let (status, answer) = app.post_signal(&key.api_key, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    app.stop();
    age(
        &app,
        "signals",
        "lead_id = 'lead_ret' AND seq = 1",
        2 * 3_600,
    )
    .await;
    age(&app, "signals", "lead_id = 'lead_ret' AND seq = 2", 50 * 60).await;
    app.start();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let names = signal_names(&app, "lead_ret").await;
        if names == ["Invited Teammate", "Report Created"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "signals {names:?}; log:\n{}",
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, lead) = app.admin_get("/api/admin/leads/lead_ret").await;
    assert_eq!(status, StatusCode::OK, "{lead}");
    assert_eq!(lead["productOrgId"], "ws_ret", "{lead}");
    assert!(app.log().contains("signals swept"), "{}", app.log());
}
