//! Health, readiness, the OpenAPI document, and graceful shutdown of the real binary.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn healthz_and_readyz() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(app.client.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = app
        .send(app.client.get(format!("{}/readyz", app.base)))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));
}

#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let app = TestApp::spawn().await;
    let (status, doc) = app
        .send(app.client.get(format!("{}/api/openapi.json", app.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/product-orgs/webhook/{apiKey}", "post"),
        ("/api/admin/product-orgs", "get"),
        ("/api/admin/product-orgs/{productOrgId}", "get"),
        ("/api/admin/product-orgs/{productOrgId}/history", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/openapi.json", "get"),
        ("/api/signals/webhook/{apiKey}", "post"),
        ("/api/admin/leads", "get"),
        ("/api/admin/leads/{leadId}", "get"),
        ("/api/admin/leads/{leadId}/evaluation-context", "get"),
        ("/api/admin/target-orgs", "get"),
        ("/api/admin/target-orgs/{targetOrgId}", "get"),
        ("/api/admin/target-orgs/{targetOrgId}/firmographics", "put"),
        ("/api/admin/product-orgs/{productOrgId}/move", "post"),
        ("/v1/batch", "post"),
        ("/v1/{eventType}", "post"),
        ("/metrics", "get"),
    ] {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(operation.is_object(), "{method} {path} missing");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    let webhook = &paths["/api/product-orgs/webhook/{apiKey}"]["post"]["responses"];
    for status in [
        "200", "400", "401", "403", "413", "415", "422", "429", "503",
    ] {
        assert!(
            webhook.get(status).is_some(),
            "webhook response {status} undocumented"
        );
    }
}

/// SIGTERM while requests are in flight: the server exits cleanly, and every update it
/// answered 200 is in the store afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let id = format!("ws_drain_{i}");
            let request = app
                .client
                .post(app.webhook_url(&key.api_key))
                .json(&json!({"workspace_id": id, "user_count": i}));
            // A request the server never accepted fails; that is not an acknowledgement.
            tokio::spawn(async move {
                let acknowledged = match request.send().await {
                    Ok(response) => response.status() == StatusCode::OK,
                    Err(_) => false,
                };
                (id, acknowledged)
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let status = tokio::task::block_in_place(|| app.stop());
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}\n{}",
        app.log()
    );
    let mut acknowledged = Vec::new();
    for request in requests {
        let (id, ok) = request.await.expect("request task");
        if ok {
            acknowledged.push(id);
        }
    }
    app.start();
    for id in &acknowledged {
        let (status, org) = app.product_org(id).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{id} was acknowledged but is missing: {org}"
        );
    }
    eprintln!(
        "{} of 200 requests acknowledged before shutdown, all found after restart",
        acknowledged.len()
    );
}
