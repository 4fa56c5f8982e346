//! The real clients, installed from their registries by `tests/sdk/install.sh` into a scratch
//! folder (`target/tmp/sdk-clients`, never committed): Segment's and RudderStack's Node SDKs
//! and Segment's Python SDK each deliver a `group` call through `/v1/batch`; the first delivery
//! is applied and then answered 503 by a proxy, as if the response were lost, and the SDK's
//! retry is answered with the first outcome (applied once). The Standard Webhooks reference
//! library's signatures verify; a tampered body, a stale timestamp and a replayed webhook-id
//! are refused.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use common::{clients, run_client as run, TestApp};
use serde_json::{json, Value};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(name)
}

/// A proxy in front of trailspark that forwards every request and answers the first
/// `fail_first` with 503 whatever trailspark said, keeping trailspark's real answers.
struct Proxy {
    url: String,
    answers: Arc<Mutex<Vec<(StatusCode, Value)>>>,
    encodings: Arc<Mutex<Vec<Option<String>>>>,
}

#[derive(Clone)]
struct ProxyState {
    target: String,
    fail_first: usize,
    client: reqwest::Client,
    answers: Arc<Mutex<Vec<(StatusCode, Value)>>>,
    encodings: Arc<Mutex<Vec<Option<String>>>>,
}

async fn failing_proxy(target: &str, fail_first: usize) -> Proxy {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let encodings = Arc::new(Mutex::new(Vec::new()));
    let state = ProxyState {
        target: target.to_owned(),
        fail_first,
        client: reqwest::Client::new(),
        answers: Arc::clone(&answers),
        encodings: Arc::clone(&encodings),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Proxy {
        url,
        answers,
        encodings,
    }
}

async fn forward(State(state): State<ProxyState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let encoding = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.encodings.lock().unwrap().push(encoding);
    let body = to_bytes(body, 16 << 20).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = state
        .client
        .request(parts.method.clone(), format!("{}{path}", state.target))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await.unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    let seen = {
        let mut answers = state.answers.lock().unwrap();
        answers.push((status, body.clone()));
        answers.len()
    };
    if seen <= state.fail_first {
        let lost = json!({"success": false, "code": "store_unavailable", "error": "store unavailable",
                          "message": "Answered by the test proxy: the response was lost."});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(lost)).into_response();
    }
    (status, Json(body)).into_response()
}

fn node() -> PathBuf {
    PathBuf::from("node")
}

/// The SDK's group call shows up as a product org with its fields, and its retry after a lost
/// response was answered with the first outcome.
async fn delivers_once(program: PathBuf, client: &str, group: &str, employees: i64) -> Proxy {
    clients();
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let proxy = failing_proxy(&app.base, 1).await;
    let out = run(
        &program,
        &script(client),
        &[
            ("KEY", &key.api_key),
            ("HOST", &proxy.url),
            ("GROUP", group),
        ],
    )
    .await;
    assert!(out.contains("flushed"), "{out}");

    let answers = proxy.answers.lock().unwrap().clone();
    assert!(
        answers.len() >= 2,
        "a failed delivery and its retry: {answers:?}"
    );
    let (first_status, first) = &answers[0];
    assert_eq!(
        *first_status,
        StatusCode::OK,
        "the first delivery was applied: {first}"
    );
    assert_eq!(first["results"][0]["isNewOrg"], json!(true), "{first}");
    let mut repeated = first["results"].clone();
    for result in repeated.as_array_mut().unwrap() {
        result["duplicate"] = json!(true);
    }
    for (status, retry) in &answers[1..] {
        assert_eq!(*status, StatusCode::OK, "{retry}");
        assert_eq!(
            retry["results"], repeated,
            "the retry repeats the first outcome (same messageId), marked a duplicate; it is \
             not applied again"
        );
    }

    let (status, org) = app.product_org(group).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["userCount"], json!(employees), "{org}");
    let (_, history) = app
        .admin_get(&format!("/api/admin/product-orgs/{group}/history"))
        .await;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(1),
        "{history}"
    );
    proxy
}

#[tokio::test]
async fn segment_node_sdk_delivers_once() {
    delivers_once(node(), "segment_node.js", "ws_node", 12).await;
}

#[tokio::test]
async fn rudderstack_node_sdk_delivers_once_gzipped() {
    let proxy = delivers_once(node(), "rudder_node.js", "ws_rudder", 7).await;
    let encodings = proxy.encodings.lock().unwrap().clone();
    assert!(
        encodings.iter().all(|e| e.as_deref() == Some("gzip")),
        "RudderStack's SDK gzips its batches: {encodings:?}"
    );
}

#[tokio::test]
async fn segment_python_sdk_delivers_once() {
    let python = clients().join("venv/bin/python");
    delivers_once(python, "segment_python.py", "ws_python", 31).await;
}

#[tokio::test]
async fn standard_webhooks_library_signatures() {
    let app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--hmac-secret",
    ]);
    let python = clients().join("venv/bin/python");
    let out = run(
        &python,
        &script("standard_webhooks.py"),
        &[
            ("URL", &app.webhook_url(&key.api_key)),
            ("SECRET", key.hmac_secret.as_deref().unwrap()),
        ],
    )
    .await;
    let statuses: Vec<&str> = out.lines().collect();
    assert_eq!(
        statuses,
        ["good 200", "tampered 401", "stale 401", "replayed 401"],
        "{out}"
    );
    let (status, org) = app.product_org("ws_signed").await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        org["name"],
        json!("Signed Co"),
        "the tampered body was not applied"
    );
}
