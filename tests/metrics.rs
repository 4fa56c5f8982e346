//! `/metrics`: requests by route and status, apply latency, group commit, changed/unchanged
//! updates and dedupe hits per key, in the Prometheus text format, on a listener of its own
//! (`--metrics-listen`): it names key ids, so the public listener does not serve it.

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

    let response = app.client.get(app.metrics_url()).send().await.unwrap();
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
    assert_eq!(
        counter("trailspark_split_commits_total"),
        0,
        "no batch failed whole: {text}"
    );
    assert!(!text.contains(&key.api_key), "a key in the metrics");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, _) = app.post(&key.api_key, &json!({"type": "group"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let public = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let public = public.text().await.unwrap();
    assert!(
        !public.contains(&key.id),
        "the public listener names a key id: {public}"
    );
    assert!(
        app.metrics_url().starts_with("http://127.0.0.1:"),
        "{}",
        app.metrics_url()
    );
    let text = app.metrics_text().await;
    assert!(text.contains(&format!("key_id=\"{}\"", key.id)), "{text}");
    let elsewhere = app.metrics_url().replace("/metrics", "/healthz");
    let response = app.client.get(elsewhere).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "only /metrics there"
    );
}

#[tokio::test]
async fn metrics_listen_off_serves_no_metrics() {
    let app = TestApp::spawn_with(&["--metrics-listen", "off"]).await;
    assert!(
        app.printed_line("trailspark metrics on").is_none(),
        "no metrics address is printed"
    );
    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
