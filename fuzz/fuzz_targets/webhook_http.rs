//! Any bytes as the body of a product org webhook request, through the real HTTP service (the
//! axum router of `serve`, over a SQLite store in /dev/shm): no input panics, none gets a 500,
//! and every answer is a JSON object with `success`.
#![no_main]

// Shared with admin_http, which needs parts of it (a key's id) that this target does not.
#[allow(dead_code)]
#[path = "shared/service.rs"]
mod service;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use trailspark_core::template::Preset;
use trailspark_core::EndpointType;

use service::Service;

struct Webhook {
    service: Service,
    url: String,
}

fn webhook() -> &'static Webhook {
    static WEBHOOK: OnceLock<Webhook> = OnceLock::new();
    WEBHOOK.get_or_init(|| {
        let service = Service::start();
        let key = service.key(EndpointType::ProductOrgUpdates, Preset::Segment);
        let url = format!("/api/product-orgs/webhook/{}", key.text);
        Webhook { service, url }
    })
}

fuzz_target!(|body: &[u8]| {
    let webhook = webhook();
    let request = Request::post(&webhook.url)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let (status, answer) = webhook.service.send(request);
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("a JSON answer");
    assert!(answer.get("success").is_some(), "{answer}");
});
