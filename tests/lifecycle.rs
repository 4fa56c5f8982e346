//! Health, readiness, the OpenAPI document, and graceful shutdown of the real binary.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{HeldRequest, TestApp};
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

/// Requests held in flight at SIGTERM: their heads sent, the server waiting for their bodies.
const HELD: usize = 8;

/// SIGTERM while requests are in flight: the server stops taking new requests but answers
/// the ones it is in the middle of (200) and stores them, then exits cleanly. Requests whose
/// bodies are still to come when the signal lands are in flight for sure; of a burst under
/// way, whatever was answered 200 is stored too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let path = format!("/api/product-orgs/webhook/{}", key.api_key);
    let mut held = Vec::new();
    for i in 0..HELD {
        let id = format!("ws_held_{i}");
        let body = json!({"workspace_id": id, "user_count": i});
        held.push((id, HeldRequest::start(&app, &path, &body).await));
    }
    let answered = Arc::new(AtomicUsize::new(0));
    let burst: Vec<_> = (0..200)
        .map(|i| {
            let answered = Arc::clone(&answered);
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
                answered.fetch_add(1, Ordering::SeqCst);
                (id, acknowledged)
            })
        })
        .collect();
    // The signal comes once the burst is under way: some of it answered, the rest not yet.
    let started = std::time::Instant::now();
    while answered.load(Ordering::SeqCst) < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the burst is answered"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::task::block_in_place(|| app.sigterm());
    let mut acknowledged = Vec::new();
    for (id, request) in held {
        let answer = request.finish().await;
        assert!(
            matches!(answer, Some((StatusCode::OK, _))),
            "{id} was in flight at SIGTERM: it must be answered 200, not {answer:?}\n{}",
            app.log()
        );
        acknowledged.push(id);
    }
    let status = tokio::task::block_in_place(|| app.wait());
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}\n{}",
        app.log()
    );
    let mut burst_acknowledged = 0;
    for request in burst {
        let (id, ok) = request.await.expect("request task");
        if ok {
            acknowledged.push(id);
            burst_acknowledged += 1;
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
        "{HELD} requests in flight at SIGTERM and {burst_acknowledged} of a burst of 200 \
         acknowledged, all found after restart"
    );
}
