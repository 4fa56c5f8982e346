//! `--dedupe-window`: how long a messageId is remembered (SPEC's 24 hours by default). A
//! shorter window forgets sooner, for updates and signals alike, and the remembered ids past it
//! are swept, so the dedupe table holds the window's worth of traffic and no more.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WINDOW: Duration = Duration::from_secs(3);

fn duplicate(answer: &Value) -> bool {
    answer["duplicate"] == json!(true)
}

#[tokio::test]
async fn a_messageid_is_forgotten_once_the_window_has_passed() {
    let app = TestApp::spawn_with(&["--dedupe-window", "3s"]).await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let signal_key = app
        .key(&["--type", "signal-staging", "--preset", "segment"])
        .api_key;
    let update = json!({"type": "group", "groupId": "ws_win", "messageId": "m-1",
        "traits": {"plan": "pro"}});
    let signal = json!({"type": "track", "event": "Exported", "userId": "u_win",
        "messageId": "t-1"});

    let sent = Instant::now();
    let (status, first) = app.post(&org_key.api_key, &update).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(!duplicate(&first), "{first}");
    let (status, first_signal) = app.post_signal(&signal_key, &signal).await;
    assert_eq!(status, StatusCode::OK, "{first_signal}");
    assert!(!duplicate(&first_signal), "{first_signal}");

    let (_, again) = app.post(&org_key.api_key, &update).await;
    let (_, again_signal) = app.post_signal(&signal_key, &signal).await;
    assert!(
        sent.elapsed() < WINDOW,
        "the machine was too slow to send the repeats within the window"
    );
    assert!(duplicate(&again), "a repeat within the window: {again}");
    assert!(duplicate(&again_signal), "{again_signal}");

    tokio::time::sleep(WINDOW + Duration::from_millis(500)).await;
    let (status, later) = app.post(&org_key.api_key, &update).await;
    assert_eq!(status, StatusCode::OK, "{later}");
    assert!(
        !duplicate(&later),
        "past the window the messageId is new: {later}"
    );
    let (_, later_signal) = app.post_signal(&signal_key, &signal).await;
    assert!(!duplicate(&later_signal), "{later_signal}");
}

/// Dedupe rows in the SQLite store.
fn remembered(app: &TestApp) -> i64 {
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    conn.query_row("SELECT count(*) FROM processed_messages", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn remembered_messageids_past_the_window_are_swept() {
    // PostgreSQL sweeps once a minute, SQLite's writer every few seconds: the SQLite store is
    // the one a test can watch (both delete by the same window, `DedupeWindow::since`).
    if common::backend() != Backend::Sqlite {
        return;
    }
    let app = TestApp::spawn_with(&["--dedupe-window", "2s"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for n in 0..20 {
        let update = json!({"type": "group", "groupId": format!("ws_{n}"),
            "messageId": format!("m-{n}"), "traits": {"plan": "pro"}});
        let (status, answer) = app.post(&key.api_key, &update).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(remembered(&app), 20);
    // The writer sweeps between batches: keep it busy with updates that remember nothing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while remembered(&app) > 0 {
        assert!(
            Instant::now() < deadline,
            "{} messageIds still remembered 30 s after their 2 s window",
            remembered(&app)
        );
        let (status, _) = app
            .post(
                &key.api_key,
                &json!({"type": "group", "groupId": "ws_busy"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn a_window_without_a_unit_is_refused_with_what_to_write() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trailspark"))
        .args(["serve", "--dedupe-window", "24", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--dedupe-window") && stderr.contains("30m, 24h or 365d"),
        "{stderr}"
    );
}
