//! Any bytes as the body of a product org webhook request, through the real HTTP service (the
//! axum router of `serve`, over a SQLite store in /dev/shm): no input panics, none gets a 500,
//! and every answer is a JSON object with `success`.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tower::ServiceExt;
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::EndpointType;
use trailspark_server::keys::{create_api_key, KeyRequest};
use trailspark_server::ServerConfig;
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

struct Service {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    url: String,
}

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("trailspark-fuzz-{}", std::process::id()));
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.join(dir.file_name().unwrap())
        } else {
            dir
        };
        let (router, url) = runtime.block_on(async {
            let store = SqliteStore::open(&dir.join("fuzz.db"), SqliteOptions::default())
                .await
                .unwrap();
            let store: Arc<dyn trailspark_store::Store> = Arc::new(store);
            let tenant = store
                .create_default_tenant_if_empty()
                .await
                .unwrap()
                .unwrap();
            let request = KeyRequest {
                name: "fuzz".into(),
                template: PayloadTemplate::preset(EndpointType::ProductOrgUpdates, Preset::Segment),
                expires_at: None,
                with_secret: false,
                with_hmac_secret: false,
                created_by: "fuzz".into(),
            };
            let key = create_api_key(store.as_ref(), tenant.id, request, chrono::Utc::now())
                .await
                .unwrap();
            let config = ServerConfig {
                rate_limit_per_key: None,
                ..ServerConfig::default()
            };
            let url = format!("/api/product-orgs/webhook/{}", key.api_key.expose_secret());
            (trailspark_server::router(store, &config), url)
        });
        Service {
            runtime,
            router,
            url,
        }
    })
}

fuzz_target!(|body: &[u8]| {
    let service = service();
    let request = Request::post(&service.url)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let (status, answer) = service.runtime.block_on(async {
        let response = service.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 24).await.unwrap(),
        )
    });
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("a JSON answer");
    assert!(answer.get("success").is_some(), "{answer}");
});
