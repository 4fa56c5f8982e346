//! No key at rest after any refusal (issue 18): every refusal path of the webhooks and of the
//! Segment-compatible `/v1` API, each request carrying its key (and secret, and signature) in
//! every place a sender may put one: the URL, the query string, a bearer or basic
//! `Authorization` header, `writeKey` in the body, `X-Api-Secret`, the signature headers. Then
//! the store itself is read, raw (the SQLite file and its WAL; on PostgreSQL every row of
//! every table as text), and the server's log: no key, secret or signature appears in any of
//! the forms it travelled in (text, base64 of the basic credentials, the signatures' bytes).

mod common;

use std::collections::BTreeSet;
use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::probe::refusals::{assert_none_in, keyed, mac_of, v1, webhook, Sender};
use common::{Key, TestApp};
use hmac::Hmac;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;

#[tokio::test]
async fn no_key_secret_or_signature_is_at_rest_after_any_refusal() {
    // One request a second per key, bursts of two: each case below has its own key, and the
    // rate limit is one of the refusals.
    let mut app = TestApp::spawn_with(&["--rate-limit-per-key", "1"]).await;
    let mut s = Sender {
        app: &app,
        needles: Vec::new(),
        key_ids: Vec::new(),
        codes: BTreeSet::new(),
    };
    product_org_webhook(&mut s).await;
    signed_webhook(&mut s).await;
    signal_webhook(&mut s).await;
    segment_api(&mut s).await;

    let (needles, codes, key_ids) = (s.needles, s.codes, s.key_ids);
    let mut logged = BTreeSet::new();
    for id in &key_ids {
        let (_, log) = app
            .admin_get(&format!("/api/admin/api-keys/{id}/deliveries?limit=100"))
            .await;
        for entry in log["items"].as_array().expect("a delivery log") {
            logged.extend(entry["code"].as_str().map(str::to_owned));
        }
    }
    for code in &codes {
        assert!(
            logged.contains(*code),
            "no {code} refusal in the delivery logs: {logged:?}"
        );
    }

    // Read while serving (the log is written in each request's own commit), then again after
    // a graceful stop has checkpointed the WAL into the database file.
    let running = app.store_contents().await;
    assert_none_in("the running store", &running, &needles);
    app.stop();
    let stopped = app.store_contents().await;
    assert!(!stopped.is_empty(), "the store was read");
    assert_none_in("the stored data", &stopped, &needles);
    assert_none_in("the server's log", app.log().as_bytes(), &needles);
}

/// `/api/product-orgs/webhook/{apiKey}`: each refusal with the key everywhere it may be.
async fn product_org_webhook(s: &mut Sender<'_>) {
    let app = s.app;
    let json = "application/json";
    let k = s.key("product-org-updates", &[]);
    let no_id = keyed(&k, json!({"type": "group", "traits": {"name": "No id"}}));
    s.refused(
        "missing id",
        webhook(app, "product-orgs", &k).json(&no_id),
        StatusCode::BAD_REQUEST,
        Some("missing_product_org_id"),
    )
    .await;
    let bad_type = keyed(
        &k,
        json!({"groupId": "ws_1", "traits": {"employees": "many"}}),
    );
    s.refused(
        "422",
        webhook(app, "product-orgs", &k).json(&bad_type),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("invalid_fields"),
    )
    .await;

    let k = s.key("product-org-updates", &[]);
    let broken = format!(
        r#"{{"writeKey": "{}", "groupId": "ws_1", "traits": {{"#,
        k.api_key
    );
    let request = webhook(app, "product-orgs", &k)
        .header("content-type", json)
        .body(broken);
    s.refused(
        "bad JSON",
        request,
        StatusCode::BAD_REQUEST,
        Some("invalid_json"),
    )
    .await;
    let batch = json!([
        keyed(&k, json!({"groupId": "ws_2"})),
        keyed(&k, json!({"traits": {}}))
    ]);
    s.refused(
        "array, one refused",
        webhook(app, "product-orgs", &k).json(&batch),
        StatusCode::MULTI_STATUS,
        None,
    )
    .await;

    let k = s.key("product-org-updates", &[]);
    let text = keyed(&k, json!({"groupId": "ws_3"})).to_string();
    let request = webhook(app, "product-orgs", &k)
        .header("content-type", "text/plain")
        .body(text);
    s.refused(
        "415",
        request,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Some("unsupported_media_type"),
    )
    .await;
    let huge = keyed(
        &k,
        json!({"groupId": "ws_4", "traits": {"note": "x".repeat(1024 * 1024)}}),
    );
    s.refused(
        "413",
        webhook(app, "product-orgs", &k).json(&huge),
        StatusCode::PAYLOAD_TOO_LARGE,
        Some("payload_too_large"),
    )
    .await;

    let k = s.key("product-org-updates", &[]);
    let mut typo = k.clone();
    typo.api_key.push('x');
    s.text("mistyped API key", &typo.api_key);
    let body = keyed(&typo, json!({"groupId": "ws_5"}));
    s.refused(
        "401 unknown key",
        webhook(app, "product-orgs", &typo).json(&body),
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    let body = keyed(&k, json!({"groupId": "ws_5"}));
    for path in [
        "/api/product-orgs/webhook/{k}/",
        "//api/product-orgs/webhook/{k}",
    ] {
        let url = format!("{}{}", app.base, path.replace("{k}", &k.api_key));
        let request = app.client.post(url).bearer_auth(&k.api_key).json(&body);
        s.refused(
            "mistyped URL",
            request,
            StatusCode::NOT_FOUND,
            Some("not_found"),
        )
        .await;
    }

    let signal = s.key("signal-staging", &[]);
    let body = keyed(&signal, json!({"groupId": "ws_6"}));
    s.refused(
        "403 wrong type",
        webhook(app, "product-orgs", &signal).json(&body),
        StatusCode::FORBIDDEN,
        Some("wrong_key_type"),
    )
    .await;

    let k = s.key("product-org-updates", &["--secret"]);
    let wrong = "tss_wrong-secret-0123456789abcdef";
    s.text("wrong X-Api-Secret", wrong);
    let body = keyed(&k, json!({"groupId": "ws_7"}));
    s.refused(
        "401 missing secret",
        webhook(app, "product-orgs", &k).json(&body),
        StatusCode::UNAUTHORIZED,
        Some("missing_api_secret"),
    )
    .await;
    let request = webhook(app, "product-orgs", &k)
        .header("x-api-secret", wrong)
        .json(&body);
    s.refused(
        "401 wrong secret",
        request,
        StatusCode::UNAUTHORIZED,
        Some("invalid_api_secret"),
    )
    .await;

    let k = s.key("product-org-updates", &[]);
    let mut limited = false;
    for _ in 0..20 {
        let body = keyed(&k, json!({"groupId": "ws_8"}));
        let (status, _) = app.send(webhook(app, "product-orgs", &k).json(&body)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(
        limited,
        "20 requests at once at 1 a second: some are limited"
    );
    s.codes.insert("rate_limited");
}

/// A new key with an HMAC secret, and the secret's bytes (the Standard Webhooks key).
fn signing_key(s: &mut Sender<'_>) -> (Key, Vec<u8>) {
    let k = s.key("product-org-updates", &["--hmac-secret"]);
    let secret = k.hmac_secret.as_deref().unwrap();
    let raw = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
    (k, raw)
}

/// A webhook request of `k` signed the Standard Webhooks way with `key`, its signature noted.
fn standard(
    s: &mut Sender<'_>,
    k: &Key,
    id: &str,
    ts: i64,
    body: &str,
    key: &[u8],
) -> RequestBuilder {
    let signed = format!("{id}.{ts}.{body}");
    let sig = mac_of::<Hmac<sha2::Sha256>>(key, &[signed.as_bytes()]);
    let header = format!("v1,{}", STANDARD.encode(&sig));
    s.signature("webhook-signature", &header, &sig);
    webhook(s.app, "product-orgs", k)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", header)
        .body(body.to_owned())
}

/// Keys with an HMAC secret: wrong, stale and replayed signatures, and signed bodies refused
/// for their content, in each signature scheme.
async fn signed_webhook(s: &mut Sender<'_>) {
    let (unauthorized, bad_request) = (StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST);
    let now = chrono::Utc::now().timestamp();
    let (k, raw) = signing_key(s);
    let body = keyed(&k, json!({"type": "group", "groupId": "ws_s1"})).to_string();
    let request = standard(s, &k, "msg_1", now, &body, b"not-the-secret-0123456789");
    s.refused(
        "wrong signature",
        request,
        unauthorized,
        Some("invalid_signature"),
    )
    .await;
    let request = standard(s, &k, "msg_2", now - 600, &body, &raw);
    s.refused(
        "stale signature",
        request,
        unauthorized,
        Some("stale_signature"),
    )
    .await;

    let (k, raw) = signing_key(s);
    let body = keyed(&k, json!({"type": "group", "groupId": "ws_s2"})).to_string();
    let request = standard(s, &k, "msg_3", now, &body, &raw);
    s.refused("signed, applied", request, StatusCode::OK, None)
        .await;
    let request = standard(s, &k, "msg_3", now, &body, &raw);
    s.refused("replayed", request, unauthorized, Some("webhook_replayed"))
        .await;

    let (k, raw) = signing_key(s);
    let no_id = keyed(&k, json!({"type": "group", "traits": {}})).to_string();
    let request = standard(s, &k, "msg_4", now, &no_id, &raw);
    s.refused("signed, missing id", request, bad_request, None)
        .await;
    let x_signature = |s: &mut Sender<'_>, k: &Key, sig: String, raw: &[u8]| {
        s.signature("X-Signature", &sig, raw);
        webhook(s.app, "product-orgs", k)
            .header("content-type", "application/json")
            .header("x-signature", sig)
            .body(no_id.clone())
    };
    let sha256 = mac_of::<Hmac<sha2::Sha256>>(
        k.hmac_secret.as_ref().unwrap().as_bytes(),
        &[no_id.as_bytes()],
    );
    let request = x_signature(s, &k, format!("sha256={}", hex::encode(&sha256)), &sha256);
    s.refused("X-Signature sha256, missing id", request, bad_request, None)
        .await;

    let (k, _) = signing_key(s);
    let sha1 = mac_of::<Hmac<sha1::Sha1>>(
        k.hmac_secret.as_ref().unwrap().as_bytes(),
        &[no_id.as_bytes()],
    );
    let request = x_signature(s, &k, hex::encode(&sha1), &sha1);
    s.refused("X-Signature sha1, missing id", request, bad_request, None)
        .await;
    let wrong = [0xab_u8; 32];
    let request = x_signature(s, &k, format!("sha256={}", hex::encode(wrong)), &wrong);
    s.refused("wrong X-Signature", request, unauthorized, None)
        .await;
}

/// `/api/signals/webhook/{apiKey}`.
async fn signal_webhook(s: &mut Sender<'_>) {
    let app = s.app;
    let k = s.key("signal-staging", &[]);
    let no_lead = keyed(&k, json!({"event": "signed_up"}));
    s.refused(
        "signal, missing lead",
        webhook(app, "signals", &k).json(&no_lead),
        StatusCode::BAD_REQUEST,
        Some("missing_lead"),
    )
    .await;
    let broken = format!(r#"{{"writeKey": "{}", "event": "#, k.api_key);
    let request = webhook(app, "signals", &k)
        .header("content-type", "application/json")
        .body(broken);
    s.refused("signal, bad JSON", request, StatusCode::BAD_REQUEST, None)
        .await;
    let product = s.key("product-org-updates", &[]);
    let body = keyed(&product, json!({"event": "x", "userId": "u1"}));
    s.refused(
        "signal, 403",
        webhook(app, "signals", &product).json(&body),
        StatusCode::FORBIDDEN,
        None,
    )
    .await;
}

/// The Segment-compatible API: every event path, the key as basic username and `writeKey`.
async fn segment_api(s: &mut Sender<'_>) {
    let app = s.app;
    let k = s.key("product-org-updates", &[]);
    let no_id = keyed(
        &k,
        json!({"traits": {"name": "No id"}, "context": {"library": {"name": "analytics-node"}}}),
    );
    s.refused(
        "/v1/group, no groupId",
        v1(app, "group", &k, None).json(&no_id),
        StatusCode::BAD_REQUEST,
        None,
    )
    .await;
    let bad = keyed(
        &k,
        json!({"groupId": "ws_v1", "traits": {"employees": "many"}}),
    );
    let only_body = app.client.post(format!("{}/v1/group", app.base)).json(&bad);
    s.refused(
        "/v1/group 422, writeKey only",
        only_body,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
    )
    .await;

    for event in ["identify", "track", "page", "screen"] {
        let signal = s.key("signal-staging", &[]);
        let body = keyed(&signal, json!({"event": "x", "properties": {}}));
        let only_body = app
            .client
            .post(format!("{}/v1/{event}", app.base))
            .json(&body);
        s.refused(
            event,
            only_body,
            StatusCode::BAD_REQUEST,
            Some("missing_lead"),
        )
        .await;
    }
    let secret_key = s.key("signal-staging", &["--secret"]);
    s.text("wrong basic password", "tss_wrong-password-0123456789");
    let body = keyed(&secret_key, json!({"userId": "u1", "previousId": "u0"}));
    let request = v1(
        app,
        "alias",
        &secret_key,
        Some("tss_wrong-password-0123456789"),
    )
    .json(&body);
    s.refused(
        "/v1/alias, wrong secret",
        request,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;

    let k = s.key("product-org-updates", &[]);
    let events = json!([keyed(&k, json!({"type": "group", "traits": {}})),
        {"type": "group", "groupId": "ws_v2", "traits": {"employees": "many"}}]);
    let batch = keyed(
        &k,
        json!({"batch": events, "sentAt": "2026-01-15T10:30:00Z"}),
    );
    s.refused(
        "/v1/batch, all refused",
        v1(app, "batch", &k, None).json(&batch),
        StatusCode::BAD_REQUEST,
        None,
    )
    .await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(batch.to_string().as_bytes()).unwrap();
    let request = v1(app, "batch", &k, None)
        .header("content-encoding", "gzip")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(gz.finish().unwrap());
    s.refused("/v1/batch gzipped", request, StatusCode::BAD_REQUEST, None)
        .await;

    let k = s.key("product-org-updates", &[]);
    let big = keyed(
        &k,
        json!({"type": "group", "groupId": "ws_v3", "traits": {"note": "x".repeat(40 * 1024)}}),
    );
    let batch = keyed(&k, json!({"batch": [big]}));
    s.refused(
        "/v1 event over 32 KiB",
        v1(app, "batch", &k, None).json(&batch),
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
    )
    .await;
    let broken = format!(r#"{{"writeKey": "{}", "groupId": "#, k.api_key);
    let request = v1(app, "group", &k, None)
        .header("content-type", "application/json")
        .body(broken);
    s.refused("/v1 bad JSON", request, StatusCode::BAD_REQUEST, None)
        .await;

    let signed = s.key("product-org-updates", &["--hmac-secret"]);
    let body = keyed(&signed, json!({"groupId": "ws_v4"}));
    let only_body = app
        .client
        .post(format!("{}/v1/group", app.base))
        .json(&body);
    s.refused(
        "/v1 with a signing key",
        only_body,
        StatusCode::FORBIDDEN,
        Some("signed_key_not_supported"),
    )
    .await;
}
