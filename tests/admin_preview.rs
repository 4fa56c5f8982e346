//! The template preview on the admin API (SPEC §5) over real HTTP: the seed documents'
//! payloads through the Segment and Hightouch presets and a custom template, a typo'd path
//! with its did-you-mean, a refused value, an invalid template with every reason — and
//! nothing stored by any of it.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PREVIEW: &str = "/api/admin/payload-templates/preview";

async fn preview(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    app.admin_send(Method::POST, PREVIEW, Some(body)).await
}

/// Seed 001, Segment: the group call as Segment delivers it.
fn segment_group() -> Value {
    json!({
        "type": "group",
        "groupId": "ws_abc123",
        "traits": {
            "name": "Acme Corp Workspace",
            "plan": "pro_annual",
            "plan_name": "Pro Annual",
            "employees": 47,
            "mrr": 49900,
            "trial_status": "converted"
        },
        "userId": "user_789",
        "timestamp": "2026-01-15T10:30:00.000Z",
        "messageId": "seg-msg-abc123"
    })
}

/// Seed 000, the flat structure (a Hightouch row with two more columns).
fn flat_row() -> Value {
    json!({
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
    })
}

/// Seed 000, the nested structure.
fn nested() -> Value {
    json!({
        "data": {
            "tenant": {"id": "tenant_xyz789", "name": "Enterprise Client"},
            "subscription": {
                "plan_id": "enterprise",
                "plan_name": "Enterprise",
                "mrr_cents": 299900,
                "trial": {"status": "not_applicable"}
            },
            "usage": {"active_users": 156, "last_activity": "2024-01-15T14:22:00Z"}
        }
    })
}

/// Each seed payload through its template gives the fields the seed tables say, nothing
/// unresolved and no errors.
#[tokio::test]
async fn the_seed_payloads_give_the_expected_fields() {
    let app = TestApp::spawn().await;
    let custom = json!({
        "productOrgId": "data.tenant.id", "name": "data.tenant.name",
        "planId": "data.subscription.plan_id", "planName": "data.subscription.plan_name",
        "userCount": "data.usage.active_users", "mrr": "data.subscription.mrr_cents",
        "trialStatus": "data.subscription.trial.status",
        "lastActiveAt": "data.usage.last_activity"
    });
    let flat_with_custom = json!({
        "productOrgId": "workspace_id", "featureFlags": "feature_flags",
        "customFields": {"projects_count": "projects_count", "api_calls_30d": "api_calls_30d"}
    });
    let cases = [
        (
            "Segment preset, seed 001's group call",
            json!({"template": "segment", "payload": segment_group()}),
            json!({"productOrgId": "ws_abc123", "name": "Acme Corp Workspace",
                "planId": "pro_annual", "planName": "Pro Annual", "userCount": 47, "mrr": 49900,
                "trialStatus": "converted", "eventTimestamp": "2026-01-15T10:30:00Z",
                "messageId": "seg-msg-abc123"}),
        ),
        (
            "Hightouch preset, seed 000's flat structure",
            json!({"endpointType": "product-org-updates", "template": "hightouch", "payload": flat_row()}),
            json!({"productOrgId": "ws_abc123", "name": "Acme Corp Workspace",
                "planId": "plan_pro_annual", "planName": "Pro Annual", "userCount": 47,
                "mrr": 49900, "trialStatus": "converted", "lastActiveAt": "2024-01-15T10:30:00Z",
                "featureFlags": {"sso_enabled": true, "api_access": true}}),
        ),
        (
            "a custom template, seed 000's nested structure",
            json!({"template": custom, "payload": nested()}),
            json!({"productOrgId": "tenant_xyz789", "name": "Enterprise Client",
                "planId": "enterprise", "planName": "Enterprise", "userCount": 156,
                "mrr": 299900, "trialStatus": "not_applicable",
                "lastActiveAt": "2024-01-15T14:22:00Z"}),
        ),
        (
            "custom fields, seed 000's custom field table",
            json!({"template": flat_with_custom, "payload": flat_row()}),
            json!({"productOrgId": "ws_abc123",
                "featureFlags": {"sso_enabled": true, "api_access": true},
                "customFields": {"projects_count": 23, "api_calls_30d": 15420}}),
        ),
    ];
    for (case, body, fields) in cases {
        let (status, shown) = preview(&app, &body).await;
        assert_eq!(status, StatusCode::OK, "{case}: {shown}");
        assert_eq!(shown["fields"], fields, "{case}");
        assert_eq!(shown["unresolved"], json!([]), "{case}");
        assert_eq!(shown["errors"], json!([]), "{case}");
    }
    // A preview stores nothing: neither of the product orgs it showed exists.
    for id in ["ws_abc123", "tenant_xyz789"] {
        let (status, body) = app.product_org(id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
    }
    let (_, orgs) = app.admin_get("/api/admin/product-orgs").await;
    assert_eq!(orgs["items"], json!([]), "{orgs}");
}

/// A mistyped path is unresolved with the path it meant; a value of the wrong type is an
/// error of its field; the rest is still extracted.
#[tokio::test]
async fn a_typo_is_unresolved_with_did_you_mean_and_a_wrong_type_is_an_error() {
    let app = TestApp::spawn().await;
    let mut payload = segment_group();
    payload["traits"]["mrr"] = json!("lots");
    let template = json!({"productOrgId": "groupId", "name": "traits.name",
        "userCount": "traits.employes", "mrr": "traits.mrr"});
    let (status, shown) = preview(&app, &json!({"template": template, "payload": payload})).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        shown["unresolved"],
        json!([{"field": "userCount", "path": "traits.employes", "didYouMean": "traits.employees"}])
    );
    let errors = shown["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{shown}");
    assert_eq!(errors[0]["field"], "mrr");
    assert_eq!(errors[0]["path"], "traits.mrr");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("mrr"),
        "{shown}"
    );
    assert_eq!(
        shown["fields"],
        json!({"productOrgId": "ws_abc123", "name": "Acme Corp Workspace"})
    );

    // A path that finds nothing near anything has no didYouMean key at all.
    let template = json!({"productOrgId": "groupId", "planId": "billing.plan"});
    let (_, shown) = preview(&app, &json!({"template": template, "payload": payload})).await;
    assert_eq!(
        shown["unresolved"],
        json!([{"field": "planId", "path": "billing.plan"}])
    );
}

/// A missing productOrgId is an error of its field (and unresolved, with the near path); a
/// signal's missing lead is an error of its lead fields.
#[tokio::test]
async fn a_missing_product_org_id_or_lead_is_an_error_of_its_field() {
    let app = TestApp::spawn().await;
    let mut payload = flat_row();
    let id = payload
        .as_object_mut()
        .unwrap()
        .remove("workspace_id")
        .unwrap();
    payload["workspaceId"] = id;
    let (status, shown) = preview(&app, &json!({"template": "flat", "payload": payload})).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["errors"][0]["field"], "productOrgId", "{shown}");
    assert_eq!(shown["errors"][0]["path"], "workspace_id", "{shown}");
    assert_eq!(
        shown["unresolved"][0],
        json!({"field": "productOrgId", "path": "workspace_id", "didYouMean": "workspaceId"})
    );
    assert_eq!(
        shown["fields"]["userCount"], 47,
        "the rest is read: {shown}"
    );

    let track = json!({"type": "track", "event": "Report Exported", "userid": "u_1"});
    let body = json!({"endpointType": "signal-staging", "template": "segment", "payload": track});
    let (status, shown) = preview(&app, &body).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let fields: Vec<&Value> = shown["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["field"])
        .collect();
    assert_eq!(fields, [&json!("leadId"), &json!("email")], "{shown}");
    assert_eq!(shown["fields"], json!({"signal": "Report Exported"}));

    let track = json!({"type": "track", "event": "Report Exported", "userId": "u_1",
        "context": {"groupId": "ws_abc123"}, "properties": {"format": "pdf"}});
    let body = json!({"endpointType": "signal-staging", "template": "segment", "payload": track});
    let (_, shown) = preview(&app, &body).await;
    assert_eq!(shown["errors"], json!([]), "{shown}");
    assert_eq!(
        shown["fields"],
        json!({"leadId": "u_1", "productOrgId": "ws_abc123", "signal": "Report Exported",
            "properties": {"format": "pdf"}})
    );
    let (_, leads) = app.admin_get("/api/admin/leads").await;
    assert_eq!(leads["items"], json!([]), "no lead stored: {leads}");
}

/// An invalid template is the 422 `PUT …/template` answers, with every reason; so is a string
/// that names no preset. A body without its payload is a 400, and no token a 401.
#[tokio::test]
async fn an_invalid_template_is_refused_with_every_reason() {
    let app = TestApp::spawn().await;
    let bad = json!({"name": "a..b", "plan": "traits.plan", "mrr": 5});
    let (status, refused) = preview(&app, &json!({"template": bad, "payload": {}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], "invalid_template");
    let reasons = refused["reasons"].to_string();
    for needle in [
        "productOrgId",
        "unknown template key `plan`",
        "empty segment",
        "`mrr`",
    ] {
        assert!(reasons.contains(needle), "{needle:?} in {reasons}");
    }
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, put) = app.put_template(&key.id, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{put}");
    assert_eq!(put, refused, "the same error as PUT …/template");

    let cases = [
        (
            json!({"template": "segmnt", "payload": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_template",
        ),
        (
            json!({"template": {"email": "email"}, "payload": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_template",
        ),
        (
            json!({"template": "segment"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"template": "segment", "payload": {}, "store": true}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"endpointType": "crm", "template": "segment", "payload": {}}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = preview(&app, &body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
    }
    let anonymous = app
        .client
        .post(format!("{}{PREVIEW}", app.base))
        .json(&json!({
        "template": "segment", "payload": segment_group()}));
    let (status, answer) = app.send(anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
}

/// The web UI's template builder draws the same preview: the same did-you-mean, the same
/// refusal, word for word.
#[tokio::test]
async fn the_builder_shows_what_the_endpoint_answers() {
    let app = TestApp::spawn().await;
    let browser = common::web::Browser::new_user(&app).await;
    let mut payload = segment_group();
    payload["traits"]["mrr"] = json!("lots");
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("path.userCount", "traits.employes");
    form.set("sample", &payload.to_string());
    let page = browser.press(&form, "action", "preview").await;
    assert_eq!(page.status, StatusCode::OK);
    let drawn = page.text_of("preview").expect("a preview");

    let template = json!({"productOrgId": "groupId", "name": "traits.name",
        "planId": "traits.plan", "planName": "traits.plan_name", "userCount": "traits.employes",
        "mrr": "traits.mrr", "trialStatus": "traits.trial_status",
        "eventTimestamp": "timestamp", "messageId": "messageId"});
    let (_, shown) = preview(&app, &json!({"template": template, "payload": payload})).await;
    let near = shown["unresolved"][0]["didYouMean"].as_str().unwrap();
    assert!(drawn.contains(&format!("Did you mean {near}?")), "{drawn}");
    let refusal = shown["errors"][0]["message"].as_str().unwrap();
    assert!(drawn.contains(refusal), "{refusal:?} in {drawn}");
    assert!(drawn.contains("would be refused"), "{drawn}");
    assert!(drawn.contains("Acme Corp Workspace"), "{drawn}");
}
