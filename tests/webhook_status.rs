//! Every row of SPEC §3's status table for single-object bodies, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::TestApp;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};

const GROUP: &str = r#"{"type":"group","groupId":"ws_1","traits":{"name":"One","employees":3}}"#;

fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, code: &str, case: &str) {
    assert_eq!(status, want_status, "{case}: {body}");
    assert_eq!(body["success"], json!(false), "{case}: {body}");
    assert_eq!(body["code"], json!(code), "{case}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{case}: error text: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|s| s.len() > 20),
        "{case}: message: {body}"
    );
}

async fn post_raw(
    app: &TestApp,
    key: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut req = app.client.post(app.webhook_url(key)).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    app.send(req).await
}

async fn nothing_stored(app: &TestApp, id: &str) {
    let (status, _) = app.product_org(id).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{id} must not have been stored"
    );
}

#[tokio::test]
async fn key_errors_401_and_403() {
    let app = TestApp::spawn().await;
    let (s, b) = post_raw(&app, "tsk_po_nosuchkey", Some("application/json"), GROUP).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "unknown key",
    );
    assert_eq!(b["error"], json!("invalid API key"));

    let signal = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let (s, b) = post_raw(&app, &signal.api_key, Some("application/json"), GROUP).await;
    assert_error(
        s,
        &b,
        StatusCode::FORBIDDEN,
        "wrong_key_type",
        "signal key on product org webhook",
    );
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("Product Org Updates"),
        "{b}"
    );

    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (s, _) = post_raw(&app, &key.api_key, Some("application/json"), GROUP).await;
    assert_eq!(s, StatusCode::OK);
    let out = app.cli(&["key", "revoke", "--tenant", "default", &key.id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The running server learns of the CLI's revoke by polling the store's key revision.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (s, b) = post_raw(&app, &key.api_key, Some("application/json"), GROUP).await;
        if s == StatusCode::UNAUTHORIZED {
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "revoked key",
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revoked key still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn expired_key_401() {
    let app = TestApp::spawn().await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--expires-at",
        &soon,
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (s, b) = post_raw(&app, &key.api_key, Some("application/json"), GROUP).await;
        if s == StatusCode::UNAUTHORIZED {
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                "api_key_expired",
                "expired key",
            );
            assert_eq!(b["error"], json!("API key expired"));
            break;
        }
        assert_eq!(s, StatusCode::OK, "before expiry: {b}");
        assert!(Instant::now() < deadline, "key not expired after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn api_secret_401s() {
    let app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--secret",
    ]);
    let secret = key.secret.clone().expect("--secret prints a secret");
    let send = |value: Option<&str>| {
        let mut req = app
            .client
            .post(app.webhook_url(&key.api_key))
            .header("Content-Type", "application/json")
            .body(GROUP);
        if let Some(v) = value {
            req = req.header("X-Api-Secret", v);
        }
        app.send(req)
    };
    let (s, b) = send(None).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "missing_api_secret",
        "no X-Api-Secret",
    );
    let (s, b) = send(Some("tss_wrong")).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "invalid_api_secret",
        "wrong X-Api-Secret",
    );
    nothing_stored(&app, "ws_1").await;
    let (s, b) = send(Some(&secret)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

#[tokio::test]
async fn hmac_signatures_all_three_schemes() {
    let app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--hmac-secret",
    ]);
    let secret = key
        .hmac_secret
        .clone()
        .expect("--hmac-secret prints a secret");
    assert!(secret.starts_with("whsec_"));
    let raw_key = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
    let url = app.webhook_url(&key.api_key);
    let post = |body: &'static str, headers: Vec<(&'static str, String)>| {
        let mut req = app
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        app.send(req)
    };
    let standard = |id: &str, ts: i64, body: &str| {
        let sig = hmac_sha256(
            &raw_key,
            &[format!("{id}.{ts}.").as_bytes(), body.as_bytes()],
        );
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", format!("v1,{}", STANDARD.encode(sig))),
        ]
    };
    let now = chrono::Utc::now().timestamp();

    let (s, b) = post(GROUP, vec![]).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "missing_signature",
        "unsigned",
    );
    let (s, b) = post(GROUP, standard("msg_1", now, r#"{"tampered":true}"#)).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "tampered body",
    );
    let (s, b) = post(GROUP, standard("msg_1", now - 301, GROUP)).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "stale_signature",
        "outside 5 min",
    );
    nothing_stored(&app, "ws_1").await;

    let (s, b) = post(GROUP, standard("msg_1", now, GROUP)).await;
    assert_eq!(s, StatusCode::OK, "Standard Webhooks: {b}");
    let (s, b) = post(GROUP, standard("msg_1", now, GROUP)).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "webhook_replayed",
        "replayed webhook-id",
    );

    let sha256 = hex::encode(hmac_sha256(secret.as_bytes(), &[GROUP.as_bytes()]));
    let (s, b) = post(GROUP, vec![("X-Signature", format!("sha256={sha256}"))]).await;
    assert_eq!(s, StatusCode::OK, "X-Signature sha256=: {b}");

    let mut sha1 = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    sha1.update(GROUP.as_bytes());
    let sha1 = hex::encode(sha1.finalize().into_bytes());
    let (s, b) = post(GROUP, vec![("X-Signature", sha1)]).await;
    assert_eq!(s, StatusCode::OK, "Segment X-Signature (SHA-1): {b}");
    let (s, b) = post(GROUP, vec![("X-Signature", "0".repeat(40))]).await;
    assert_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "wrong SHA-1",
    );
}

#[tokio::test]
async fn body_errors_400_413_415() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let k = key.api_key.as_str();

    let (s, b) = post_raw(&app, k, Some("application/json"), "{not json").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_json", "not JSON");
    let (s, b) = post_raw(&app, k, Some("text/plain"), GROUP).await;
    assert_error(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "text/plain",
    );
    let (s, b) = post_raw(&app, k, None, GROUP).await;
    assert_error(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "no content type",
    );
    let (s, _) = post_raw(&app, k, Some("application/json; charset=utf-8"), GROUP).await;
    assert_eq!(s, StatusCode::OK, "charset parameter is fine");

    let big = format!(
        r#"{{"groupId":"ws_big","traits":{{"name":"{}"}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let (s, b) = post_raw(&app, k, Some("application/json"), big).await;
    assert_error(
        s,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "over 1 MiB",
    );
    nothing_stored(&app, "ws_big").await;

    let (s, b) = post_raw(&app, k, Some("application/json"), "[1,2]").await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "body_not_object",
        "array body of numbers",
    );
    assert_eq!(b["results"].as_array().map(Vec::len), Some(2), "{b}");
    let (s, b) = post_raw(&app, k, Some("application/json"), "\"ws_1\"").await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "body_not_object",
        "string body",
    );
}

#[tokio::test]
async fn missing_product_org_id_400_with_did_you_mean() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (s, b) = app
        .post(
            &key.api_key,
            &json!({"type": "group", "groupID": "ws_1", "traits": {}}),
        )
        .await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "missing_product_org_id",
        "case typo",
    );
    assert_eq!(b["error"], json!("missing productOrgId"));
    assert_eq!(b["path"], json!("groupId"));
    assert_eq!(b["didYouMean"], json!("groupID"));

    let (s, b) = app
        .post(&key.api_key, &json!({"type": "track", "event": "x"}))
        .await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "missing_product_org_id",
        "nothing near",
    );
    assert_eq!(b["path"], json!("groupId"));
    assert!(b.get("didYouMean").is_none(), "{b}");
}

#[tokio::test]
async fn wrong_types_422_lists_every_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (s, b) = app
        .post(&key.api_key, &json!({"groupId": "ws_bad", "traits": {"name": "ok", "employees": -1, "mrr": "12.50", "plan": {"a": 1}}}))
        .await;
    assert_error(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fields",
        "wrong types",
    );
    let errors = b["fieldErrors"].as_array().expect("fieldErrors");
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["planId", "userCount", "mrr"], "{b}");
    for e in errors {
        assert!(
            e["path"].as_str().is_some_and(|p| p.starts_with("traits.")),
            "{e}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }
    nothing_stored(&app, "ws_bad").await;
}

#[tokio::test]
async fn rate_limit_429_with_retry_after() {
    let app = TestApp::spawn_with(&["--rate-limit-per-key", "1"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let mut limited = None;
    for _ in 0..10 {
        let response = app
            .client
            .post(app.webhook_url(&key.api_key))
            .header("Content-Type", "application/json")
            .body(GROUP)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = limited.expect("a burst of 10 at 1/s must hit the limit");
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let b: Value = response.json().await.unwrap();
    assert_error(
        StatusCode::TOO_MANY_REQUESTS,
        &b,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "429",
    );
}

#[tokio::test]
async fn store_unavailable_503_then_recovers() {
    if common::backend() != common::Backend::Sqlite {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED on PostgreSQL: this case locks the SQLite file; tests/postgres_outage.rs is its PostgreSQL counterpart"
        );
        return;
    }
    let app = TestApp::spawn_with(&["--sqlite-busy-timeout-ms", "200"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (s, _) = app.post(&key.api_key, &json!({"groupId": "ws_warm"})).await;
    assert_eq!(s, StatusCode::OK);
    // Another process holds the write lock, as a stuck backup or a full disk would stop writes.
    let blocker = rusqlite::Connection::open(&app.db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = app
        .client
        .post(app.webhook_url(&key.api_key))
        .header("Content-Type", "application/json")
        .body(r#"{"groupId":"ws_down"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let b: Value = response.json().await.unwrap();
    assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "locked store",
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let (s, b) = app.post(&key.api_key, &json!({"groupId": "ws_down"})).await;
    assert_eq!(s, StatusCode::OK, "recovered without a restart: {b}");
    assert_eq!(b["isNewOrg"], json!(true), "the 503 stored nothing");
}

#[tokio::test]
async fn wrong_method_405_with_allow_and_json() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let response = app
        .client
        .get(app.webhook_url(&key.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let b: Value = response.json().await.unwrap();
    assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &b,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "GET webhook",
    );

    let (s, b) = app
        .send(app.client.get(format!("{}/no/such/path", app.base)))
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found", "unknown path");
}
