//! The ceiling trailspark is measured against: the same HTTP stack (axum on tokio), the same
//! route shape and the same JSON parse, and no store. `baseline ADDR` prints the bound address.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;

// The same allocator as trailspark, so that the ratio compares the work done, not the
// allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

async fn webhook(body: Bytes) -> impl IntoResponse {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => (
            StatusCode::OK,
            JSON,
            r#"{"success":true,"productOrgId":"ws","targetOrgId":1,"isNewOrg":false,"changed":true}"#,
        ),
        Err(_) => (StatusCode::BAD_REQUEST, JSON, r#"{"success":false}"#),
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new().route("/api/product-orgs/webhook/{api_key}", post(webhook));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!(
        "baseline listening on http://{}",
        listener.local_addr().expect("address")
    );
    axum::serve(listener, app).await.expect("serve");
}
