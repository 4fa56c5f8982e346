//! `/metrics`: requests by route and status, apply latency, group commit, changed/unchanged
//! updates and dedupe hits per key, in the Prometheus text format.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn metrics_count_what_the_webhook_did() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let group = |employees: i64, message: &str| json!({"type": "group", "groupId": "ws_m", "messageId": message, "traits": {"employees": employees}});
    for (employees, message) in [(1, "a"), (1, "b"), (2, "c"), (2, "c")] {
        let (status, _) = app.post(&key.api_key, &group(employees, message)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app.post(&key.api_key, &json!({"type": "group"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    let id = &key.id;
    for line in [
        "trailspark_http_requests_total{route=\"/api/product-orgs/webhook/{api_key}\",status=\"200\"} 4".to_owned(),
        "trailspark_http_requests_total{route=\"/api/product-orgs/webhook/{api_key}\",status=\"400\"} 1".to_owned(),
        format!("trailspark_updates_total{{key_id=\"{id}\",changed=\"true\"}} 2"),
        format!("trailspark_updates_total{{key_id=\"{id}\",changed=\"false\"}} 1"),
        format!("trailspark_duplicates_total{{key_id=\"{id}\"}} 1"),
        "trailspark_apply_seconds_count 4".to_owned(),
    ] {
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }
    let counter = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert!(
        counter("trailspark_committed_requests_total") >= 4,
        "{text}"
    );
    assert!(counter("trailspark_commits_total") >= 1, "{text}");
    assert!(!text.contains(&key.api_key), "a key in the metrics");
}
