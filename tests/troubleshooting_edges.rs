//! The troubleshooting cases at the webhook's edges, over real HTTP (SPEC §3, §6): a key of the
//! other endpoint type refused and logged against that key, a Segment event a key does not
//! take skipped with why, a webhook URL with an extra slash answered with the path meant, and
//! the delivery log (admin API and web UI) showing an entry's warnings and reasons.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::web::Browser;
use common::{Key, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn group(id: &str, employees: i64) -> Value {
    json!({"type": "group", "groupId": id, "userId": "u1",
           "traits": {"name": "Acme", "plan": "pro", "employees": employees},
           "timestamp": "2026-01-15T10:30:00.000Z"})
}

async fn log_of(app: &TestApp, key: &Key) -> Vec<Value> {
    let (status, page) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").clone()
}

async fn post_v1(app: &TestApp, path: &str, key: &Key, body: &Value) -> (StatusCode, Value) {
    let basic = format!("Basic {}", STANDARD.encode(format!("{}:", key.api_key)));
    app.send(
        app.client
            .post(format!("{}/v1/{path}", app.base))
            .header("Authorization", basic)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_key_of_the_other_type_is_refused_and_logged_against_the_key_used() {
    let app = TestApp::spawn().await;
    let orgs = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let signals = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let signal = json!({"userId": "lead_1", "event": "Signed Up",
                        "context": {"traits": {"email": "one@example.com"}}});
    for (case, key, url, body, needs) in [
        (
            "a product org key on the signal webhook",
            &orgs,
            format!("{}/api/signals/webhook/{}", app.base, orgs.api_key),
            &signal,
            "Signal Staging",
        ),
        (
            "a signal key on the product org webhook",
            &signals,
            app.webhook_url(&signals.api_key),
            &group("ws_1", 3),
            "Product Org Updates",
        ),
    ] {
        let (status, answer) = app.send(app.client.post(&url).json(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {answer}");
        assert_eq!(answer["code"], "wrong_key_type", "{case}: {answer}");
        let log = log_of(&app, key).await;
        assert_eq!(
            log.len(),
            1,
            "{case}: one entry in the used key's log: {log:?}"
        );
        let entry = &log[0];
        assert_eq!(
            (&entry["outcome"], &entry["status"], &entry["code"]),
            (&json!("refused"), &json!(403), &json!("wrong_key_type")),
            "{case}: {entry}"
        );
        assert_eq!(entry["intake"], "webhook", "{case}");
        assert!(
            entry["message"].as_str().unwrap().contains(needs),
            "{case}: the entry says which key type the endpoint needs: {entry}"
        );
        assert!(!entry.to_string().contains(&key.api_key), "{case}: {entry}");
    }
}

#[tokio::test]
async fn a_segment_event_a_key_does_not_take_is_skipped_with_why() {
    let app = TestApp::spawn().await;
    let orgs = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let signals = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let track = json!({"type": "track", "userId": "u1", "event": "Clicked", "messageId": "t1"});

    let (status, answer) = post_v1(&app, "track", &orgs, &track).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (&answer["skipped"], &answer["type"]),
        (&json!(true), &json!("track"))
    );
    let message = answer["message"].as_str().expect("a skip says why");
    for words in [
        "Only `group` calls carry `groupId` and the group's traits",
        "this key takes product org updates, so `track` events are skipped",
        "send `group` calls to this key, or use a Signal Staging key for `track`",
        "\"Event type is group\"",
    ] {
        assert!(message.contains(words), "{words:?} in {message}");
    }

    let mut applied = group("ws_b", 2);
    applied["messageId"] = json!("g1");
    let batch = json!({"batch": [
        applied,
        {"type": "identify", "userId": "u1", "messageId": "i1"},
    ]});
    let (status, answer) = post_v1(&app, "batch", &orgs, &batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let skipped = &answer["results"][1];
    assert!(
        skipped["message"]
            .as_str()
            .is_some_and(|m| m.contains("`identify` events are skipped")),
        "each skipped element says why: {answer}"
    );

    let (status, answer) = post_v1(&app, "group", &signals, &group("ws_b", 2)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["skipped"], json!(true), "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("send `group` calls to a Product Org Updates key")),
        "{answer}"
    );

    // The log has no outcome for a skipped event: it holds updates, and a skipped event is
    // none (as `unchanged` it would pass for an update that matched the stored values).
    let log = log_of(&app, &orgs).await;
    let outcomes: Vec<_> = log.iter().map(|d| d["outcome"].clone()).collect();
    assert_eq!(outcomes, [json!("applied")], "{log:?}");
    assert!(log_of(&app, &signals).await.is_empty());
}

#[tokio::test]
async fn a_webhook_url_with_an_extra_slash_names_the_path_meant() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let k = &key.api_key;
    for (path, meant) in [
        (
            format!("/api/product-orgs/webhook/{k}/"),
            "`/api/product-orgs/webhook/{apiKey}` (no trailing slash)",
        ),
        (
            format!("/api/product-orgs//webhook/{k}"),
            "`/api/product-orgs/webhook/{apiKey}` (one slash between segments)",
        ),
        (
            format!("//api/product-orgs/webhook/{k}"),
            "`/api/product-orgs/webhook/{apiKey}` (one slash between segments)",
        ),
        (
            format!("/api/signals/webhook/{k}/"),
            "`/api/signals/webhook/{apiKey}` (no trailing slash)",
        ),
        ("/v1/batch/".to_owned(), "`/v1/batch` (no trailing slash)"),
    ] {
        let body = if path.starts_with("/v1") {
            json!({"writeKey": k, "batch": [group("ws_slash", 1)]})
        } else {
            group("ws_slash", 1)
        };
        // The default client follows redirects: a redirect would show as the 200 of the
        // path meant.
        let (status, answer) = app
            .send(app.client.post(format!("{}{path}", app.base)).json(&body))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_eq!(answer["code"], "not_found", "{path}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("There is no endpoint at this path. Did you mean ")
                && message.contains(meant),
            "{path}: {message}"
        );
        assert!(
            !answer.to_string().contains(k),
            "{path}: key echoed: {answer}"
        );
    }
    let (status, _) = app.product_org("ws_slash").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
    // The key is in the mistyped webhook URLs: the 404s are in its log, where the integrator
    // looks (the /v1 one names no key in its path and is not).
    let refused: Vec<_> = log_of(&app, &key)
        .await
        .into_iter()
        .map(|d| (d["status"].clone(), d["code"].clone()))
        .collect();
    assert_eq!(refused, vec![(json!(404), json!("not_found")); 4]);
    let (status, answer) = app
        .send(app.client.post(format!("{}/api/nothing/", app.base)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !answer["message"].as_str().unwrap().contains("Did you mean"),
        "no guess for a path that is no intake path: {answer}"
    );
}

#[tokio::test]
async fn the_log_shows_warnings_and_reasons_in_the_api_and_the_web_ui() {
    let app = TestApp::spawn().await;
    // `traits.Employees` finds nothing in a Segment group call; `traits.employees` is near.
    let key = app.key_with_template(&json!({
        "productOrgId": "groupId", "name": "traits.name", "userCount": "traits.Employees"
    }));
    let (status, first) = app.post(&key.api_key, &group("ws_w", 5)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again) = app.post(&key.api_key, &group("ws_w", 5)).await;
    assert_eq!(status, StatusCode::OK, "{again}");

    let log = log_of(&app, &key).await;
    assert_eq!(log.len(), 2, "{log:?}");
    let (newest, oldest) = (&log[0], &log[1]);
    assert_eq!(oldest["warnings"][0]["code"], "unresolved_path", "{oldest}");
    assert_eq!(oldest["warnings"][0]["didYouMean"], "traits.employees");
    assert_eq!(
        (&newest["outcome"], &newest["unchangedReason"]),
        (&json!("unchanged"), &json!("same_values")),
        "{newest}"
    );
    let (_, one) = app
        .admin_get(&format!("/api/admin/deliveries/{}", newest["deliveryId"]))
        .await;
    let body = &one["answer"]["body"];
    assert_eq!(body["changed"], json!(false), "{one}");
    assert_eq!(body["unchangedReason"], "same_values", "{one}");
    assert_eq!(body["warnings"][0]["code"], "unresolved_path", "{one}");
    assert!(body.get("leadId").is_none() && body.get("linked").is_none());

    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);
    let page = browser.get(&here).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("⚠ 1 warning: unresolved_path"),
        "an entry with warnings is marked in the log: {}",
        page.html
    );
    assert!(page.html.contains("same values as stored"), "{}", page.html);
    let detail = browser
        .get(&format!("{here}/deliveries/{}", newest["deliveryId"]))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    let html = &detail.html;
    assert!(
        html.contains("did you mean <code class=\"exact\">traits.employees</code>?"),
        "{html}"
    );
    assert!(html.contains("<strong>unresolved_path</strong>"), "{html}");
    assert!(
        html.contains("same values as stored <span class=\"muted\">(same_values)</span>"),
        "{html}"
    );
    let facts = &html[html.find("id=\"facts\"").unwrap()..html.find("id=\"payload\"").unwrap()];
    assert!(
        !facts.contains('`'),
        "code spans are set as code, not as backticks: {facts}"
    );
}

#[tokio::test]
async fn a_signal_entry_says_why_its_lead_is_not_linked() {
    let app = TestApp::spawn().await;
    let signals = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let signal = json!({"type": "track", "userId": "lead_u", "event": "Invited Teammate",
                        "context": {"groupId": "ws_absent", "traits": {"email": "u@example.com"}}});
    let (status, answer) = app.post_signal(&signals.api_key, &signal).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let log = log_of(&app, &signals).await;
    assert_eq!(log[0]["unlinkedReason"], "product_org_not_found", "{log:?}");
    assert!(log[0].get("unchangedReason").is_none(), "{log:?}");
    let (_, one) = app
        .admin_get(&format!("/api/admin/deliveries/{}", log[0]["deliveryId"]))
        .await;
    assert_eq!(
        one["answer"]["body"],
        json!({"success": true, "leadId": "lead_u", "targetOrgId": null, "linked": false,
               "unlinkedReason": "product_org_not_found"}),
        "{one}"
    );
    let browser = Browser::new_user(&app).await;
    let detail = browser
        .get(&format!(
            "/settings/api-keys/{}/deliveries/{}",
            signals.id, log[0]["deliveryId"]
        ))
        .await;
    assert!(
        detail
            .html
            .contains("not linked: the product org it names does not exist (yet)"),
        "{}",
        detail.html
    );
}
