//! The Segment-compatible API (`/v1/batch`, `/v1/group`, …) over real HTTP: basic auth or
//! `writeKey`, gzip whatever the content type, event types a key takes or skips, messageId
//! dedupe across paths, Segment's limits (SPEC §3).

mod common;

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn basic(key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{key}:")))
}

fn gzip(body: &Value) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.to_string().as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn group(id: &str, message_id: &str, employees: i64) -> Value {
    json!({"type": "group", "groupId": id, "userId": "u1", "messageId": message_id,
           "traits": {"name": "Acme", "plan": "pro", "employees": employees},
           "timestamp": "2026-01-15T10:30:00.000Z"})
}

async fn post_v1(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/v1/{path}", app.base))
        .json(body);
    if let Some(key) = key {
        request = request.header("Authorization", basic(key));
    }
    app.send(request).await
}

#[tokio::test]
async fn a_batch_applies_group_events_and_skips_the_rest() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!({"batch": [
        group("ws_1", "m1", 12),
        {"type": "identify", "userId": "u1", "messageId": "m2", "traits": {"email": "a@b.co"}},
        {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m3"}
    ], "sentAt": "2026-01-15T10:30:01.000Z"});
    let (status, response) = post_v1(&app, "batch", Some(&key.api_key), &body).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results[0]["productOrgId"], json!("ws_1"), "{response}");
    assert_eq!(results[0]["isNewOrg"], json!(true));
    let mut skipped = results[1].clone();
    let why = skipped.as_object_mut().unwrap().remove("message");
    assert_eq!(
        skipped,
        json!({"success": true, "skipped": true, "type": "identify"})
    );
    assert!(
        why.as_ref()
            .and_then(Value::as_str)
            .is_some_and(|m| m.contains("`identify` events are skipped")),
        "a skipped event says why: {why:?}"
    );
    assert_eq!(results[2]["skipped"], json!(true));
    let (_, org) = app.product_org("ws_1").await;
    assert_eq!(org["userCount"], json!(12), "{org}");
    assert_eq!(org["planId"], json!("pro"), "{org}");
}

#[tokio::test]
async fn gzip_whatever_the_content_type_and_write_key_in_the_body() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    // As RudderStack's Node SDK sends it: gzipped JSON labelled as a form.
    let body = json!({"batch": [group("ws_gz", "g1", 3)]});
    let (status, response) = app
        .send(
            app.client
                .post(format!("{}/v1/batch", app.base))
                .header("Authorization", basic(&key.api_key))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Content-Encoding", "gzip")
                .body(gzip(&body)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(app.product_org("ws_gz").await.0, StatusCode::OK);

    let body = json!({"writeKey": key.api_key, "batch": [group("ws_wk", "w1", 4)]});
    let (status, response) = post_v1(&app, "batch", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(app.product_org("ws_wk").await.0, StatusCode::OK);

    let (status, response) = app
        .send(
            app.client
                .post(format!("{}/v1/batch", app.base))
                .header("Authorization", basic(&key.api_key))
                .header("Content-Encoding", "gzip")
                .body("not gzip at all"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(response["code"], json!("invalid_gzip"));
}

#[tokio::test]
async fn credentials_are_required_and_errors_carry_code_and_message() {
    let app = TestApp::spawn().await;
    let body = json!({"batch": [group("ws_x", "x1", 1)]});
    let (status, response) = post_v1(&app, "batch", None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{response}");
    assert_eq!(response["code"], json!("missing_api_key"));
    assert!(response["message"]
        .as_str()
        .is_some_and(|m| m.contains("writeKey")));
    let (status, response) = post_v1(&app, "batch", Some("tsk_po_nope"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(response["code"], json!("invalid_api_key"));

    let secret_key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--secret",
    ]);
    let (status, response) = post_v1(&app, "batch", Some(&secret_key.api_key), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{response}");
    assert_eq!(response["code"], json!("missing_api_secret"));
    let with_secret = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            secret_key.api_key,
            secret_key.secret.as_deref().unwrap()
        ))
    );
    let (status, response) = app
        .send(
            app.client
                .post(format!("{}/v1/batch", app.base))
                .header("Authorization", with_secret)
                .json(&body),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the secret as the basic password: {response}"
    );

    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, response) =
        post_v1(&app, "batch", Some(&key.api_key), &json!({"events": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(response["code"], json!("missing_batch"));
    let (status, response) = post_v1(&app, "nope", Some(&key.api_key), &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
}

#[tokio::test]
async fn a_retried_message_is_applied_once_whichever_path_it_came_by() {
    let app = TestApp::spawn().await;
    // A template without a messageId path: the event's own messageId still counts on /v1.
    let key = app.key_with_template(&json!({
        "productOrgId": "groupId", "userCount": "traits.employees"
    }));
    let first = json!({"batch": [group("ws_r", "retry-1", 5)]});
    let (status, response) = post_v1(&app, "batch", Some(&key.api_key), &first).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    // The SDK retries the same event (a lost response); a later value would show a re-apply.
    let retry = json!({"batch": [group("ws_r", "retry-1", 6)]});
    let (status, response) = post_v1(&app, "batch", Some(&key.api_key), &retry).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response["results"][0]["isNewOrg"],
        json!(true),
        "repeats the first outcome"
    );
    let (_, org) = app.product_org("ws_r").await;
    assert_eq!(org["userCount"], json!(5), "applied once: {org}");

    // The segment preset maps messageId: the webhook and /v1 share one dedupe per key.
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, _) = app
        .post(&key.api_key, &group("ws_p", "both-paths", 7))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, response) = post_v1(
        &app,
        "group",
        Some(&key.api_key),
        &group("ws_p", "both-paths", 8),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["isNewOrg"], json!(true), "{response}");
    let (_, org) = app.product_org("ws_p").await;
    assert_eq!(org["userCount"], json!(7), "{org}");
}

#[tokio::test]
async fn single_event_endpoints_and_signal_keys() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    // /v1/group: the path says the type.
    let (status, response) = post_v1(
        &app,
        "group",
        Some(&key.api_key),
        &json!({"groupId": "ws_s", "traits": {"employees": 2}, "messageId": "s1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["productOrgId"], json!("ws_s"));
    let (status, response) = post_v1(
        &app,
        "track",
        Some(&key.api_key),
        &json!({"userId": "u1", "event": "Clicked", "messageId": "s2"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["skipped"], json!(true));

    let signals = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let (status, response) = post_v1(
        &app,
        "track",
        Some(&signals.api_key),
        &json!({"userId": "lead_9", "event": "Invited Teammate", "messageId": "t1",
                "context": {"groupId": "ws_s", "traits": {"email": "nine@example.com"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["leadId"], json!("lead_9"));
    assert_eq!(response["linked"], json!(true), "{response}");
    let (status, response) = post_v1(
        &app,
        "group",
        Some(&signals.api_key),
        &json!({"groupId": "ws_s", "userId": "lead_9", "messageId": "t2"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["skipped"], json!(true), "{response}");
}

#[tokio::test]
async fn segment_limits() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let big = "x".repeat(33 * 1024);
    let body = json!({"batch": [
        group("ws_ok", "l1", 1),
        {"type": "group", "groupId": "ws_big", "messageId": "l2", "traits": {"name": big}}
    ]});
    let (status, response) = post_v1(&app, "batch", Some(&key.api_key), &body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{response}");
    assert_eq!(response["results"][1]["status"], json!(413));
    assert_eq!(app.product_org("ws_ok").await.0, StatusCode::OK);

    let events: Vec<Value> = (0..2_501)
        .map(|n| json!({"type": "track", "messageId": n.to_string()}))
        .collect();
    let (status, response) =
        post_v1(&app, "batch", Some(&key.api_key), &json!({"batch": events})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
    assert_eq!(response["code"], json!("too_many_events"));
}

/// A body past 500 KiB is refused whole with 413, whether it comes plain or gzipped: a
/// gzipped one small on the wire is measured as it unpacks. Nothing of it is stored.
#[tokio::test]
async fn batches_past_500_kib_are_413_plain_or_gzipped() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let events = |prefix: &str| -> Vec<Value> {
        (0..30)
            .map(|n| json!({"type": "group", "groupId": format!("{prefix}{n}"), "messageId": format!("{prefix}{n}"),
                            "traits": {"name": "y".repeat(20_000)}}))
            .collect()
    };
    let plain = json!({"batch": events("ws_plain_")});
    let gzipped = gzip(&json!({"batch": events("ws_gz_")}));
    assert!(
        gzipped.len() < 64 * 1024,
        "small on the wire: {} bytes",
        gzipped.len()
    );
    let (status, response) = post_v1(&app, "batch", Some(&key.api_key), &plain).await;
    assert_eq!(
        (status, &response["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large")),
        "plain, over 500 KiB: {response}"
    );
    let (status, response) = app
        .send(
            app.client
                .post(format!("{}/v1/batch", app.base))
                .header("Authorization", basic(&key.api_key))
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip")
                .body(gzipped),
        )
        .await;
    assert_eq!(
        (status, &response["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large")),
        "gzipped, over 500 KiB unpacked: {response}"
    );
    for id in ["ws_plain_0", "ws_gz_0"] {
        assert_eq!(
            app.product_org(id).await.0,
            StatusCode::NOT_FOUND,
            "{id}: nothing of a refused batch is stored"
        );
    }
}

/// A key with a secret refuses a wrong one wherever it comes (basic password, X-Api-Secret,
/// beside a writeKey, on a single-event path) with 401 `invalid_api_secret`, and stores nothing.
#[tokio::test]
async fn a_wrong_secret_is_401_wherever_it_comes() {
    let app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--secret",
    ]);
    let right = key.secret.clone().expect("a secret");
    let wrong = format!("{right}x");
    let with_password = |password: &str| {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{password}", key.api_key))
        )
    };
    let batch = |id: &str| json!({"batch": [group(id, id, 1)]});
    let url = |path: &str| format!("{}/v1/{path}", app.base);
    let cases = [
        (
            "wrong basic password",
            app.client
                .post(url("batch"))
                .header("Authorization", with_password(&wrong))
                .json(&batch("ws_password")),
        ),
        (
            "wrong X-Api-Secret",
            app.client
                .post(url("batch"))
                .header("Authorization", basic(&key.api_key))
                .header("X-Api-Secret", &wrong)
                .json(&batch("ws_header")),
        ),
        (
            "wrong X-Api-Secret beside a writeKey",
            app.client
                .post(url("batch"))
                .header("X-Api-Secret", &wrong)
                .json(&json!({"writeKey": key.api_key, "batch": [group("ws_write_key", "k", 1)]})),
        ),
        (
            "wrong basic password on /v1/group",
            app.client
                .post(url("group"))
                .header("Authorization", with_password(&wrong))
                .json(&group("ws_single", "s", 1)),
        ),
    ];
    for (case, request) in cases {
        let (status, response) = app.send(request).await;
        assert_eq!(
            (status, &response["code"]),
            (StatusCode::UNAUTHORIZED, &json!("invalid_api_secret")),
            "{case}: {response}"
        );
    }
    for id in ["ws_password", "ws_header", "ws_write_key", "ws_single"] {
        assert_eq!(
            app.product_org(id).await.0,
            StatusCode::NOT_FOUND,
            "{id}: a refused request stores nothing"
        );
    }
    let (status, response) = app
        .send(
            app.client
                .post(url("batch"))
                .header("Authorization", basic(&key.api_key))
                .header("X-Api-Secret", &right)
                .json(&batch("ws_right")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the right X-Api-Secret: {response}");
}

/// A refused `/v1` event is kept in the key's delivery log so its sender can see why, but the
/// write key it carried in its body is not: no key may reach the store in clear.
#[tokio::test]
async fn a_refused_event_keeps_its_body_but_not_its_write_key() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for (path, body) in [
        (
            "group",
            json!({"writeKey": key.api_key, "traits": {"plan": "pro"}}),
        ),
        (
            "batch",
            json!({"writeKey": key.api_key, "batch": [{"type": "group", "traits": {"plan": "pro"}}]}),
        ),
    ] {
        let (status, response) = post_v1(&app, path, None, &body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "no groupId is refused: {response}"
        );
    }
    // Stopping writes the delivery log.
    app.stop();
    let disk = String::from_utf8_lossy(&app.store_contents().await).into_owned();
    assert!(
        !disk.contains(&key.api_key),
        "the write key reached the store in clear"
    );
    assert!(
        disk.contains("[redacted]"),
        "the refused bodies were logged, their write key replaced"
    );
}
