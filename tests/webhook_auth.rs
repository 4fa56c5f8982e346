//! SPEC §3's status table, the rows about credentials: unknown, revoked, expired and
//! wrong-type keys, `X-Api-Secret`, and the three HMAC signature schemes, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::status::{assert_error, nothing_stored, post_raw, GROUP};
use common::TestApp;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;

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
