//! The seeds' troubleshooting cases, each reproduced the way the seed describes it, over real
//! HTTP: the product itself names the cause and the fix, in the answer and in the key's
//! delivery log (SPEC §6 "Warnings and reasons"). Both backends (`TRAILSPARK_TEST_BACKEND`).
//! The edges of the same cases (wrong key type, a mistyped URL, a `track` sent to a product
//! org key) are in `troubleshooting_edges.rs`, the volatile column in `key_health.rs`.

mod common;

use common::{leads::signal_key, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The key's delivery log, newest first.
async fn log_of(app: &TestApp, key_id: &str) -> Vec<Value> {
    let (status, page) = app
        .admin_get(&format!("/api/admin/api-keys/{key_id}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// The one warning of a result, which must have exactly one.
fn only_warning(result: &Value) -> &Value {
    let warnings = result["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(warnings.len(), 1, "{result}");
    &warnings[0]
}

/// Seed: "Fields not appearing — check that the optional field paths in the payload template
/// match your actual payload structure. Paths are case-sensitive". Today's answer would be a
/// silent 200; it now names the field, the path and the path the payload has.
#[tokio::test]
async fn a_mistyped_optional_path_is_named_with_the_path_the_payload_has() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"type": "group", "groupId": "ws_fields", "traits": {"name": "Acme",
                "Employees": 47}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], json!(true), "the rest is applied: {body}");
    let warning = only_warning(&body);
    assert_eq!(warning["code"], "unresolved_path", "{body}");
    assert_eq!(warning["field"], "userCount");
    assert_eq!(warning["path"], "traits.employees");
    assert_eq!(warning["didYouMean"], "traits.Employees");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("case-sensitive"),
        "the fix is said: {warning}"
    );
    let (_, org) = app.product_org("ws_fields").await;
    assert_eq!(org["userCount"], Value::Null, "nothing guessed: {org}");

    let log = log_of(&app, &key.id).await;
    assert_eq!(
        log[0]["warnings"][0], *warning,
        "the log says what the answer said"
    );
}

/// Seed: "Duplicate product orgs — verify the Product Org ID value is consistent across all
/// payloads (case-sensitive exact match)". Two spellings of one workspace each create a
/// product org; the second is told of the first.
#[tokio::test]
async fn a_new_id_that_differs_from_a_stored_one_only_by_case_or_spaces_is_flagged() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let (_, first) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "WS_ABC123", "plan_id": "pro"}),
        )
        .await;
    assert_eq!(first["isNewOrg"], json!(true));
    assert!(
        first.get("warnings").is_none(),
        "nothing like it yet: {first}"
    );
    let (status, second) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "ws_abc123 ", "plan_id": "pro"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a warning never changes the status");
    assert_eq!(
        second["isNewOrg"],
        json!(true),
        "ids are kept exactly: {second}"
    );
    let warning = only_warning(&second);
    assert_eq!(warning["code"], "similar_product_org");
    assert_eq!(warning["existing"], "WS_ABC123");
    assert!(warning["message"]
        .as_str()
        .unwrap()
        .contains("Org Management"));
    let (_, again) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "ws_abc123 ", "plan_id": "team"}),
        )
        .await;
    assert!(
        again.get("warnings").is_none(),
        "said once, when created: {again}"
    );

    // Within one request too: the second spelling is created after the first.
    let (_, batch) = app
        .post(
            &key.api_key,
            &json!([{"workspace_id": "Ws_Batch"}, {"workspace_id": "ws_batch"}]),
        )
        .await;
    assert!(batch["results"][0].get("warnings").is_none(), "{batch}");
    assert_eq!(only_warning(&batch["results"][1])["existing"], "Ws_Batch");

    let log = log_of(&app, &key.id).await;
    let flagged: Vec<_> = log
        .iter()
        .filter(|d| d["warnings"][0]["code"] == "similar_product_org")
        .map(|d| d["productOrgId"].clone())
        .collect();
    assert_eq!(flagged, [json!("ws_batch"), json!("ws_abc123 ")]);
}

/// Seed: "Hightouch sync failing — verify the primary key column contains unique, non-null
/// values". A model whose key repeats sends one array with the same id twice: both rows are
/// applied in order, and each says so.
#[tokio::test]
async fn a_batch_that_carries_one_id_twice_says_which_rows() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "hightouch"]);
    let (status, body) = app
        .post(
            &key.api_key,
            &json!([
                {"workspace_id": "ws_dup", "plan_id": "pro"},
                {"workspace_id": "ws_other", "plan_id": "pro"},
                {"workspace_id": "ws_dup", "plan_id": "team"}
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    for n in [0, 2] {
        let warning = only_warning(&results[n]);
        assert_eq!(warning["code"], "duplicate_in_batch", "{body}");
        assert_eq!(warning["productOrgId"], "ws_dup");
        assert_eq!(warning["indexes"], json!([0, 2]));
        assert!(warning["message"].as_str().unwrap().contains("primary key"));
    }
    assert!(results[1].get("warnings").is_none(), "{body}");
    let (_, org) = app.product_org("ws_dup").await;
    assert_eq!(org["planId"], "team", "applied in order: {org}");
    let log = log_of(&app, &key.id).await;
    let warned: Vec<_> = log
        .iter()
        .filter(|d| d["warnings"][0]["code"] == "duplicate_in_batch")
        .map(|d| d["index"].clone())
        .collect();
    assert_eq!(warned, [json!(2), json!(0)]);
}

/// Seed: "Leads not linking to product org — ensure lead signals include productOrgId
/// matching the product org's ID exactly (case-sensitive)". The answer says why the lead is
/// not linked, and which product org it probably meant.
#[tokio::test]
async fn a_lead_whose_product_org_id_differs_by_case_is_told_which_one_exists() {
    let app = TestApp::spawn().await;
    let orgs = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    app.post(&orgs.api_key, &json!({"workspace_id": "ws_abc123"}))
        .await;
    let signals = signal_key(&app, "default");
    let (status, body) = app
        .post_signal(
            &signals,
            &json!({"lead_id": "u_case", "email": "ada@example.com",
                "product_org_id": "WS_ABC123", "signal": "login"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["linked"], json!(false), "{body}");
    assert_eq!(body["unlinkedReason"], "product_org_not_found");
    let warning = only_warning(&body);
    assert_eq!(warning["code"], "similar_product_org");
    assert_eq!(warning["existing"], "ws_abc123");
    assert!(warning["message"].as_str().unwrap().contains("exactly"));

    let (_, nothing) = app
        .post_signal(&signals, &json!({"lead_id": "u_none", "signal": "login"}))
        .await;
    assert_eq!(nothing["linked"], json!(false), "{nothing}");
    assert_eq!(nothing["unlinkedReason"], "no_product_org_id");
    assert!(nothing.get("warnings").is_none(), "{nothing}");

    // The template's productOrgId path found nothing, but the payload has it under another case.
    let (_, mistyped) = app
        .post_signal(
            &signals,
            &json!({"lead_id": "u_path", "Product_Org_Id": "ws_abc123", "signal": "login"}),
        )
        .await;
    assert_eq!(
        mistyped["unlinkedReason"], "no_product_org_id",
        "{mistyped}"
    );
    let warning = only_warning(&mistyped);
    assert_eq!(warning["code"], "unresolved_path");
    assert_eq!(warning["field"], "productOrgId");
    assert_eq!(warning["didYouMean"], "Product_Org_Id");

    let (_, linked) = app
        .post_signal(
            &signals,
            &json!({"lead_id": "u_ok", "product_org_id": "ws_abc123", "signal": "login"}),
        )
        .await;
    assert_eq!(linked["linked"], json!(true));
    assert!(linked.get("unlinkedReason").is_none(), "{linked}");
}

/// Per-field last-writer-wins (SPEC §2) hides nothing any more: an update that loses to newer
/// stored values says so, and `changed:false` says why.
#[tokio::test]
async fn an_update_older_than_what_is_stored_says_why_it_changed_nothing() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let group = |plan: &str, at: &str| json!({"type": "group", "groupId": "ws_time", "traits": {"plan": plan}, "timestamp": at});
    app.post(&key.api_key, &group("pro", "2026-01-15T10:30:00Z"))
        .await;
    let (status, late) = app
        .post(&key.api_key, &group("basic", "2026-01-15T09:00:00Z"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(late["changed"], json!(false), "{late}");
    assert_eq!(late["unchangedReason"], "older_event");
    let warning = only_warning(&late);
    assert_eq!(warning["code"], "older_event");
    assert_eq!(warning["fields"], json!(["planId"]));
    assert_eq!(warning["storedEventTimestamp"], "2026-01-15T10:30:00Z");

    let (_, same) = app
        .post(&key.api_key, &group("pro", "2026-01-15T10:30:00Z"))
        .await;
    assert_eq!(same["unchangedReason"], "same_values", "{same}");
    assert!(same.get("warnings").is_none(), "{same}");

    let log = log_of(&app, &key.id).await;
    let reasons: Vec<_> = log.iter().map(|d| d["unchangedReason"].clone()).collect();
    assert_eq!(
        reasons,
        [json!("same_values"), json!("older_event"), Value::Null]
    );
}

/// A retry of a lost answer (SPEC §6): the same messageId gets the first answer exactly,
/// warnings included, with `duplicate:true`.
#[tokio::test]
async fn a_repeated_message_id_repeats_the_first_answer_with_duplicate() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let event = json!({"type": "group", "groupId": "ws_retry", "messageId": "m_retry",
        "traits": {"name": "Acme", "Plan": "pro"}});
    let (_, first) = app.post(&key.api_key, &event).await;
    assert!(first.get("duplicate").is_none(), "{first}");
    assert_eq!(only_warning(&first)["code"], "unresolved_path");
    let (status, again) = app.post(&key.api_key, &event).await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = first.clone();
    expected["duplicate"] = json!(true);
    assert_eq!(again, expected, "the first answer, exactly, marked");
}
