//! Signals, lead linking, target orgs, firmographics and the evaluation context, over real
//! HTTP against the running binary (issue: leads, signals and the evaluation context).

mod common;

use common::leads::{context, signal_key};
use common::web::{Browser, Page};
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The seed's "Flat Structure" template: every path of its tables, and its custom fields.
fn seed_flat_template() -> Value {
    json!({
        "productOrgId": "workspace_id", "name": "workspace_name", "planId": "plan_id",
        "planName": "plan_name", "userCount": "user_count", "mrr": "mrr",
        "trialStatus": "trial_status", "lastActiveAt": "last_active_at",
        "featureFlags": "feature_flags",
        "customFields": {"projects_count": "projects_count", "api_calls_30d": "api_calls_30d"}
    })
}

fn seed_flat_payload() -> Value {
    serde_json::from_str(
        r#"{
  "workspace_id": "ws_abc123",
  "workspace_name": "Acme Corp Workspace",
  "plan_id": "plan_pro_annual",
  "plan_name": "Pro Annual",
  "user_count": 47,
  "mrr": 49900,
  "trial_status": "converted",
  "last_active_at": "2024-01-15T10:30:00Z",
  "feature_flags": {"sso_enabled": true, "api_access": true},
  "projects_count": 23,
  "api_calls_30d": 15420
}"#,
    )
    .unwrap()
}

/// The seed's evaluation context example, verbatim.
fn seed_product_org_info() -> Value {
    serde_json::from_str(
        r#"{
  "productOrgInfo": [
    {
      "productOrgId": "ws_abc123",
      "name": "Acme Corp Workspace",
      "planName": "Pro Annual",
      "userCount": 47,
      "mrr": 49900,
      "trialStatus": "converted",
      "featureFlags": {"sso_enabled": true, "api_access": true},
      "customFields": {"projects_count": 23, "api_calls_30d": 15420}
    }
  ]
}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn seed_flat_payload_then_signal_gives_the_seed_evaluation_context() {
    let app = TestApp::spawn().await;
    let org_key = app.key_with_template(&seed_flat_template());
    let (status, org) = app.post(&org_key.api_key, &seed_flat_payload()).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    let key = signal_key(&app, "default");
    let (status, body) = app
        .post_signal(&key, &json!({"email": " Ada@Acme.com ", "product_org_id": "ws_abc123",
            "signal": "Invited teammate", "timestamp": "2026-01-15T10:30:00Z", "properties": {"seats": 3}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"success": true, "leadId": "ada@acme.com", "targetOrgId": org["targetOrgId"], "linked": true}),
        "a lead known by email is identified by it, trimmed and lower-cased"
    );

    let (status, ctx) = context(&app, "ada@acme.com").await;
    assert_eq!(status, StatusCode::OK, "{ctx}");
    assert_eq!(
        json!({"productOrgInfo": ctx["productOrgInfo"]}),
        seed_product_org_info(),
        "exactly the seed's example"
    );
    let info_keys: Vec<&str> = ctx["productOrgInfo"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        info_keys,
        [
            "productOrgId",
            "name",
            "planName",
            "userCount",
            "mrr",
            "trialStatus",
            "featureFlags",
            "customFields"
        ]
    );
    assert_eq!(ctx["lead"]["email"], json!("ada@acme.com"));
    assert_eq!(ctx["lead"]["targetOrgId"], org["targetOrgId"]);
    assert_eq!(ctx["signals"][0]["signal"], json!("Invited teammate"));
    assert_eq!(ctx["signals"][0]["properties"], json!({"seats": 3}));
    assert_eq!(ctx["firmographics"], Value::Null, "never set");
}

#[tokio::test]
async fn both_arrival_orders_link_and_case_mismatch_does_not() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let key = signal_key(&app, "default");
    let (_, early) = app
        .post_signal(
            &key,
            &json!({"lead_id": "u_early", "product_org_id": "ws_1", "signal": "a"}),
        )
        .await;
    assert_eq!(
        early,
        json!({"success": true, "leadId": "u_early", "targetOrgId": null, "linked": false,
            "unlinkedReason": "product_org_not_found"}),
        "linked once ws_1 arrives; nothing like it exists yet, so no warning"
    );
    let (_, case) = app
        .post_signal(
            &key,
            &json!({"lead_id": "u_case", "product_org_id": "WS_1", "signal": "a"}),
        )
        .await;
    assert_eq!(case["linked"], json!(false));
    let (_, org) = app
        .post(
            &org_key.api_key,
            &json!({"workspace_id": "ws_1", "plan_name": "Team"}),
        )
        .await;
    let (_, late) = app
        .post_signal(
            &key,
            &json!({"lead_id": "u_late", "product_org_id": "ws_1", "signal": "b"}),
        )
        .await;
    assert_eq!(late["linked"], json!(true), "{late}");
    assert_eq!(late["targetOrgId"], org["targetOrgId"]);

    let (_, ctx) = context(&app, "u_early").await;
    assert_eq!(
        ctx["lead"]["targetOrgId"], org["targetOrgId"],
        "the pending link was made when the org arrived"
    );
    assert_eq!(
        ctx["productOrgInfo"],
        json!([{"productOrgId": "ws_1", "planName": "Team"}]),
        "absent values left out"
    );
    let (_, ctx) = context(&app, "u_case").await;
    assert_eq!(
        ctx["productOrgInfo"],
        json!([]),
        "ids match case-sensitively"
    );
    assert_eq!(ctx["firmographics"], Value::Null);
    let (_, lead) = app.admin_get("/api/admin/leads/u_case").await;
    assert_eq!(lead["productOrgId"], json!("WS_1"));
    assert_eq!(lead["targetOrgId"], Value::Null);
}

#[tokio::test]
async fn signal_webhook_errors_and_segment_presets() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let key = app
        .key(&["--type", "signal-staging", "--preset", "segment"])
        .api_key;
    let (s, b) = app
        .post_signal(&org_key.api_key, &json!({"userId": "u"}))
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::FORBIDDEN, json!("wrong_key_type")),
        "{b}"
    );
    assert!(
        b["message"].as_str().unwrap().contains("Signal Staging"),
        "{b}"
    );
    let (s, b) = app.post(&key, &json!({"groupId": "ws"})).await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::FORBIDDEN, json!("wrong_key_type")),
        "{b}"
    );
    let (s, b) = app
        .post_signal(&key, &json!({"event": "x", "userid": "u_1"}))
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("missing_lead")),
        "{b}"
    );
    assert_eq!(b["didYouMean"], json!("userid"));
    let (s, b) = app
        .post_signal(
            &key,
            &json!({"userId": "u_1", "context": {"traits": {"email": "nope"}}}),
        )
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid_fields")),
        "{b}"
    );
    assert_eq!(b["fieldErrors"][0]["field"], json!("email"));

    app.post(&org_key.api_key, &json!({"groupId": "ws_seg"}))
        .await;
    let (s, track) = app
        .post_signal(&key, &json!({"type": "track", "event": "Report Exported", "userId": "u_1",
            "context": {"groupId": "ws_seg", "traits": {"email": "u1@example.com"}}, "messageId": "t-1",
            "timestamp": "2026-01-15T10:30:00Z", "properties": {"format": "pdf"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{track}");
    assert_eq!(track["linked"], json!(true));
    let (_, again) = app
        .post_signal(&key, &json!({"type": "track", "event": "Report Exported", "userId": "u_1", "messageId": "t-1"}))
        .await;
    let mut expected = track.clone();
    expected["duplicate"] = json!(true);
    assert_eq!(
        again, expected,
        "a repeated messageId repeats the first outcome, marked (SPEC §6)"
    );
    let (s, identify) = app
        .post_signal(
            &key,
            &json!({"type": "identify", "userId": "u_2",
            "traits": {"email": "u2@example.com", "productOrgId": "ws_seg"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{identify}");
    assert_eq!(
        identify["linked"],
        json!(true),
        "identify links through traits.productOrgId"
    );
    let (_, ctx) = context(&app, "u_1").await;
    assert_eq!(
        ctx["signals"].as_array().unwrap().len(),
        1,
        "the duplicate was not stored again: {ctx}"
    );
    let (_, ctx) = context(&app, "u_2").await;
    assert_eq!(ctx["signals"][0]["signal"], json!("identify"));
    assert_eq!(ctx["lead"]["email"], json!("u2@example.com"));
}

#[tokio::test]
async fn leads_list_signals_limit_and_other_tenants_see_nothing() {
    let app = TestApp::spawn().await;
    let key = signal_key(&app, "default");
    for i in 0..5 {
        let ts = format!("2026-01-0{}T00:00:00Z", i + 1);
        app.post_signal(
            &key,
            &json!({"lead_id": "u_many", "signal": format!("s{i}"), "timestamp": ts}),
        )
        .await;
    }
    app.post_signal(
        &key,
        &json!({"lead_id": "u_other", "email": "o@example.com", "signal": "x"}),
    )
    .await;
    let (_, ctx) = app
        .admin_get("/api/admin/leads/u_many/evaluation-context?signals=2")
        .await;
    let names: Vec<&str> = ctx["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s4", "s3"], "newest first, as many as asked");
    let (s, b) = app
        .admin_get("/api/admin/leads/u_many/evaluation-context?signals=lots")
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_signals"))
    );
    let (_, list) = app.admin_get("/api/admin/leads?q=example.com").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (_, list) = app.admin_get("/api/admin/leads?limit=1").await;
    assert_eq!(list["items"][0]["leadId"], json!("u_many"));
    assert!(list["nextCursor"].is_string());
    let (s, b) = app
        .admin_get("/api/admin/leads/u_nobody/evaluation-context")
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );

    app.cli(&["tenant", "create", "other"]);
    let other = app.cli_json(&["admin-token", "create", "--tenant", "other"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/api/admin/leads/u_many",
        "/api/admin/leads/u_many/evaluation-context",
        "/api/admin/target-orgs/1",
    ] {
        let (s, _) = app
            .send(
                app.client
                    .get(format!("{}{path}", app.base))
                    .bearer_auth(&other),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path} from another tenant");
    }
    let (_, list) = app
        .send(
            app.client
                .get(format!("{}/api/admin/leads", app.base))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn the_lead_page_says_why_a_lead_is_not_linked_and_what_links_it() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let (_, org) = app
        .post(
            &org_key.api_key,
            &json!({"workspace_id": "ws_abc123", "workspace_name": "Acme"}),
        )
        .await;
    let target = org["targetOrgId"].as_i64().unwrap();
    let key = signal_key(&app, "default");
    for body in [
        json!({"email": "later@acme.com", "product_org_id": "ws_later", "signal": "login"}),
        json!({"email": "none@acme.com", "signal": "login"}),
        json!({"email": "ada@acme.com", "product_org_id": "ws_abc123", "signal": "login"}),
    ] {
        let (status, answer) = app.post_signal(&key, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let browser = Browser::new_user(&app).await;
    let back = |page: &Page, list: &str| {
        let at = page
            .html
            .find("aria-label=\"Breadcrumb\"")
            .expect("breadcrumbs");
        let crumbs = &page.html[at..at + page.html[at..].find("</nav>").unwrap()];
        assert!(
            crumbs.contains("href=\"/settings/orgs\"")
                && crumbs.contains(&format!("href=\"{list}\"")),
            "Org Management › the list the lead is in: {crumbs}"
        );
    };

    let pending = browser.get("/settings/leads/later%40acme.com").await;
    assert_eq!(pending.status, StatusCode::OK);
    back(&pending, "/settings/leads?linked=false");
    let why = pending.text_of("why-not-linked").expect("why, in words");
    assert!(
        why.contains("product org “ws_later”, and no product org has that ID yet")
            && why.contains("What links it: the first product org update for “ws_later”"),
        "{why}"
    );
    assert!(pending.html.contains("<time datetime=\""), "signals' times");

    let none = browser.get("/settings/leads/none%40acme.com").await;
    let why = none.text_of("why-not-linked").expect("why, in words");
    assert!(
        why.contains("None of its signals carries a product org ID")
            && why.contains("map productOrgId in the template"),
        "{why}"
    );

    let linked = browser.get("/settings/leads/ada%40acme.com").await;
    back(&linked, "/settings/leads");
    assert!(linked.text_of("why-not-linked").is_none());
    let how = linked.text_of("link-status").expect("how it is linked");
    assert!(
        how.contains(&format!(
            "Linked to target org #{target} through product org “ws_abc123”"
        )),
        "{how}"
    );
    for link in [
        format!("href=\"/settings/orgs/{target}\""),
        "href=\"/settings/product-orgs/ws_abc123\"".to_owned(),
    ] {
        assert!(linked.html.contains(&link), "{link} in {}", linked.html);
    }

    // What the page said links it does.
    app.post(
        &org_key.api_key,
        &json!({"workspace_id": "ws_later", "workspace_name": "Later"}),
    )
    .await;
    let now = browser.get("/settings/leads/later%40acme.com").await;
    assert!(now.text_of("why-not-linked").is_none(), "{}", now.text());
    assert!(now.text_of("link-status").unwrap().contains("“ws_later”"));
}
