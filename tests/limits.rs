//! Limits that keep one bad client from hurting the others: headers and whole requests have
//! a time limit, JSON nesting a depth limit.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(&["--header-timeout-ms", "300"]).await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    stream
        .write_all(b"POST /api/product-orgs/webhook/x HTTP/1.1\r\nHost: trailspark\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408() {
    let app = TestApp::spawn_with(&["--request-timeout-ms", "500"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = format!(
        "POST /api/product-orgs/webhook/{} HTTP/1.1\r\nHost: trailspark\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"groupId\":",
        key.api_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn json_nested_too_deep_is_refused() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    let body = format!("{{\"groupId\":\"ws_deep\",\"traits\":{{\"x\":{deep}}}}}");
    let (status, response) = app
        .send(
            app.client
                .post(app.webhook_url(&key.api_key))
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(response["code"], json!("invalid_json"), "{response}");
    assert!(
        response["message"].as_str().unwrap().contains("recursion"),
        "{response}"
    );
}

#[tokio::test]
async fn a_full_write_queue_answers_503_with_retry_after() {
    // Room for one waiting write: a burst of concurrent requests overflows it.
    let app = TestApp::spawn_with(&["--write-queue", "1", "--batch-max", "1"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let requests: Vec<_> = (0..64)
        .map(|n| {
            let request = app
                .client
                .post(app.webhook_url(&key.api_key))
                .json(&json!({"type": "group", "groupId": format!("ws_{n}")}));
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for request in requests {
        let response = request.await.unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["code"], json!("store_unavailable"), "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "the queue overflowed ({ok} applied)");
    assert!(ok > 0, "and the store kept working");
}
