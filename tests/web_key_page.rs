//! A key's own page in the web UI (SPEC §6, the integrator's loop): the key and its template
//! versions, the template editor (test against recent deliveries without saving, save as a new
//! version), the delivery log with one delivery's payload and what the current template makes
//! of it, and replay through a confirmation. Over real HTTP as a browser without JavaScript
//! uses it, then in headless Chromium with screenshots under
//! `target/tmp/web-key-page-screenshots/`.

mod common;

use std::path::{Path, PathBuf};

use common::web::{client, create_user, Browser, Form, Page};
use common::{clients, run_client, Key, TestApp};
use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Segment's preset with the id's path mistyped: every group call is refused.
fn typo_template() -> Value {
    json!({
        "productOrgId": "groupID", "name": "traits.name", "planId": "traits.plan",
        "planName": "traits.plan_name", "userCount": "traits.employees",
        "mrr": "traits.mrr", "trialStatus": "traits.trial_status",
        "eventTimestamp": "timestamp", "messageId": "messageId"
    })
}

/// The seed's Segment group call (seeds.rs, seed 000), for workspace `id`.
fn group_call(id: &str, name: &str) -> Value {
    json!({"type": "group", "groupId": id, "traits": {
        "name": name, "plan": "pro", "plan_name": "Pro Annual", "employees": 47,
        "mrr": 49900, "trial_status": "converted"
    }})
}

const SEEDS: [(&str, &str); 3] = [
    ("ws_abc123", "Acme Corp Workspace"),
    ("ws_def456", "Globex Workspace"),
    ("ws_ghi789", "Initech Workspace"),
];

/// A key with the typo and the three seed calls it refused.
async fn refused_key(app: &TestApp) -> Key {
    let key = app.key_with_template(&typo_template());
    for (id, name) in SEEDS {
        let (status, body) = app.post(&key.api_key, &group_call(id, name)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "missing_product_org_id", "{body}");
    }
    key
}

/// The key's delivery ids, newest first, by the admin API.
async fn delivery_ids(app: &TestApp, key: &Key) -> Vec<i64> {
    let (_, log) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deliveryId"].as_i64().unwrap())
        .collect()
}

/// The key's template versions, by the admin API.
async fn versions(app: &TestApp, key: &Key) -> Vec<Value> {
    let (status, body) = app
        .admin_get(&format!("/api/admin/api-keys/{}/template/versions", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn text_of(page: &Page, id: &str) -> String {
    page.text_of(id)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{}", page.text()))
}

#[tokio::test]
async fn the_key_page_shows_the_key_and_its_template_and_tests_and_saves_an_edit() {
    let app = TestApp::spawn().await;
    let key = refused_key(&app).await;
    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);

    // The keys table links the key's name to its page.
    let keys = browser.get("/settings/api-keys").await;
    assert!(
        keys.html.contains(&format!("href=\"{here}\"")),
        "{}",
        keys.html
    );

    let page = browser.get(&here).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    for shown in [
        "test key",
        "Product Org Updates",
        "tsk_po_",
        "/product-orgs/webhook/",
    ] {
        assert!(text.contains(shown), "the key page lacks {shown}: {text}");
    }
    assert!(
        !page.html.contains(&key.api_key),
        "the key itself is never shown"
    );
    assert!(text_of(&page, "current-version").contains("Version 1"));
    assert!(
        text_of(&page, "health-source").contains("counted as it arrived"),
        "the health says what its counts cover"
    );
    assert!(text_of(&page, "current-template").contains("\"groupID\""));
    assert_eq!(
        page.form("template-form").get("path.productOrgId"),
        Some("groupID")
    );
    let log = text_of(&page, "log");
    assert_eq!(log.matches("missing_product_org_id").count(), 3, "{log}");

    // Test: the fixed path would apply all three; nothing is saved.
    let mut form = page.form("template-form");
    form.set("path.productOrgId", "groupId");
    let tested = browser.press(&form, "action", "test").await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.text());
    let summary = text_of(&tested, "test-summary");
    assert!(summary.contains("3 would now apply"), "{summary}");
    assert!(summary.contains("0 still refused"), "{summary}");
    let results = text_of(&tested, "test-results");
    assert_eq!(results.matches("refused").count(), 3, "before: {results}");
    assert!(
        results.contains("ws_def456") && results.contains("Acme Corp Workspace"),
        "{results}"
    );
    assert_eq!(
        tested.form("template-form").get("path.productOrgId"),
        Some("groupId"),
        "the edit stays in the form"
    );
    assert_eq!(versions(&app, &key).await.len(), 1, "a test saves nothing");

    // An invalid template: every reason, nothing saved.
    let mut bad = tested.form("template-form");
    bad.set("path.productOrgId", "");
    bad.set("path.name", "traits..name");
    let refused = browser.press(&bad, "action", "save").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let reasons = text_of(&refused, "reasons");
    assert!(
        reasons.contains("productOrgId") && reasons.contains("traits..name"),
        "{reasons}"
    );
    assert_eq!(versions(&app, &key).await.len(), 1, "nothing saved");

    // Save: version 2, by the web UI, and the page says so.
    let saved = save(&app, &browser, &tested.form("template-form")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let to = saved.headers()[LOCATION].to_str().unwrap();
    assert_eq!(to, format!("{here}?saved=2#template"));
    let back = browser.get(to.split('#').next().unwrap()).await;
    let notice = text_of(&back, "template");
    assert!(notice.contains("Saved as version 2"), "{notice}");
    let current = text_of(&back, "current-version");
    assert!(
        current.contains("Version 2") && current.contains("web UI"),
        "{current}"
    );
    assert!(text_of(&back, "current-template").contains("\"groupId\""));
    assert!(back.text().contains("Earlier versions") && back.html.contains("groupID"));
    let all = versions(&app, &key).await;
    assert_eq!(all.len(), 2, "{all:?}");
    // Only a version the key has is announced.
    let bogus = browser.get(&format!("{here}?saved=9")).await;
    assert!(
        !bogus.text().contains("Saved as version"),
        "{}",
        bogus.text()
    );
}

/// Saves `form` as its Save button does; the answer as is (a redirect).
async fn save(app: &TestApp, browser: &Browser, form: &Form) -> reqwest::Response {
    let mut fields = form.fields.clone();
    fields.push(("action".into(), "save".into()));
    let url = format!("{}{}", app.base, form.action);
    let request = client().post(url).header(COOKIE, browser.session_cookie());
    request.form(&fields).send().await.unwrap()
}

#[tokio::test]
async fn a_delivery_shows_its_payload_answer_and_what_the_current_template_reads() {
    let app = TestApp::spawn().await;
    let key = refused_key(&app).await;
    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);
    let newest = delivery_ids(&app, &key).await[0];
    let page = browser.get(&here).await;
    assert!(
        page.html
            .contains(&format!("href=\"{here}/deliveries/{newest}\"")),
        "the log links each delivery to its detail"
    );

    let detail = browser.get(&format!("{here}/deliveries/{newest}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let payload = text_of(&detail, "payload");
    assert!(
        payload.contains("\"groupId\": \"ws_ghi789\"") && payload.contains('\n'),
        "the payload, pretty: {payload}"
    );
    assert!(text_of(&detail, "answer").contains("missing_product_org_id"));
    let facts = text_of(&detail, "facts");
    for fact in ["400", "refused", "missing_product_org_id", "1"] {
        assert!(facts.contains(fact), "{fact}: {facts}");
    }
    let reading = text_of(&detail, "current-reading");
    assert!(
        reading.contains("Nothing at this path") && reading.contains("Did you mean groupId?"),
        "the current template's reading flags the typo: {reading}"
    );
    assert!(reading.contains("Initech Workspace"), "{reading}");

    // After the fix, the same delivery reads through the new template.
    let (status, _) = app
        .put_template(
            &key.id,
            &json!({"productOrgId": "groupId", "name": "traits.name"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let detail = browser.get(&format!("{here}/deliveries/{newest}")).await;
    let reading = text_of(&detail, "current-reading");
    assert!(
        reading.contains("version 2") && reading.contains("would be applied"),
        "{reading}"
    );
    assert!(
        text_of(&detail, "facts").contains("Template version1"),
        "read with v1 then"
    );
}

#[tokio::test]
async fn replay_asks_first_then_shows_each_result() {
    let app = TestApp::spawn().await;
    let key = refused_key(&app).await;
    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);
    let (status, _) = app
        .put_template(
            &key.id,
            &json!({"productOrgId": "groupId", "name": "traits.name",
                                       "userCount": "traits.employees"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The GET only asks: nothing is replayed yet.
    let confirm = browser.get(&format!("{here}/replay")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
    assert_eq!(text_of(&confirm, "replay-count"), "3");
    assert_eq!(
        text_of(&confirm, "to-replay")
            .matches("missing_product_org_id")
            .count(),
        3
    );
    let (status, _) = app.product_org("ws_abc123").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "asking replays nothing");

    let done = browser
        .press(&confirm.form(&format!("{here}/replay")), "x", "")
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let results = text_of(&done, "replayed");
    for (id, _) in SEEDS {
        assert!(results.contains(id), "{id}: {results}");
    }
    assert_eq!(results.matches("200").count(), 3, "{results}");
    assert_eq!(results.matches("applied").count(), 3, "{results}");
    let (_, org) = app.product_org("ws_abc123").await;
    assert_eq!(org["name"], "Acme Corp Workspace");
    assert_eq!(org["userCount"], 47);

    // Each replay is logged, as a delivery of its own that names the original.
    let log = text_of(&browser.get(&here).await, "log");
    assert_eq!(log.matches("replay of #").count(), 3, "{log}");
    // The log's filters: by product org, by outcome.
    let one = text_of(
        &browser.get(&format!("{here}?productOrgId=ws_def456")).await,
        "log",
    );
    assert_eq!(one.matches("replay of #").count(), 1, "{one}");
    assert!(
        one.contains("ws_def456") && !one.contains("ws_abc123"),
        "{one}"
    );
    let refused = text_of(
        &browser.get(&format!("{here}?outcome=refused")).await,
        "log",
    );
    assert_eq!(refused.matches("refused").count(), 3, "{refused}");
    assert!(!refused.contains("applied"), "{refused}");

    // One delivery: its own confirmation, then its result.
    let first = *delivery_ids(&app, &key).await.last().unwrap();
    let detail = browser.get(&format!("{here}/deliveries/{first}")).await;
    assert!(detail
        .html
        .contains(&format!("action=\"{here}/deliveries/{first}/replay\"")));
    let confirm = browser
        .get(&format!("{here}/deliveries/{first}/replay"))
        .await;
    assert!(text_of(&confirm, "to-replay").contains(&format!("#{first}")));
    let done = browser
        .press(
            &confirm.form(&format!("{here}/deliveries/{first}/replay")),
            "x",
            "",
        )
        .await;
    let results = text_of(&done, "replayed");
    assert!(
        results.contains("ws_abc123") && results.contains("unchanged"),
        "the same values again change nothing: {results}"
    );
}

#[tokio::test]
async fn another_tenants_key_or_delivery_is_not_found_and_forms_need_their_csrf_token() {
    let app = TestApp::spawn().await;
    let key = refused_key(&app).await;
    let ana = Browser::new_user(&app).await;
    app.cli(&["tenant", "create", "other"]);
    create_user(&app, "other", "bo@example.com");
    let bo = Browser::sign_in(&app, "other", "bo@example.com").await;
    let delivery = delivery_ids(&app, &key).await[0];
    let here = format!("/settings/api-keys/{}", key.id);

    for path in [
        here.clone(),
        format!("{here}/deliveries/{delivery}"),
        format!("{here}/replay"),
        format!("{here}/deliveries/{delivery}/replay"),
    ] {
        assert_eq!(bo.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Bo's own, valid, CSRF token does not open Ana's key either.
    let bo_page = bo.get("/settings/api-keys").await;
    let bo_csrf = bo_page.meta("csrf-token").unwrap();
    let mut form = ana.get(&here).await.form("template-form");
    form.set("csrf", &bo_csrf);
    form.set("path.productOrgId", "groupId");
    assert_eq!(
        bo.press(&form, "action", "save").await.status,
        StatusCode::NOT_FOUND
    );

    // A delivery of Ana's other key is not found under this one (nor replayed through it).
    let other = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, _) = app.post(&other.api_key, &json!({"type": "group"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let foreign = delivery_ids(&app, &other).await[0];
    for path in [
        format!("{here}/deliveries/{foreign}"),
        format!("{here}/deliveries/{foreign}/replay"),
        format!("{here}/deliveries/nonsense"),
    ] {
        assert_eq!(ana.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Without this session's CSRF token: refused, nothing saved or replayed.
    let mut forged = ana.get(&here).await.form("template-form");
    forged.set("csrf", "forged");
    forged.set("path.productOrgId", "groupId");
    let refused = ana.press(&forged, "action", "save").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(versions(&app, &key).await.len(), 1);
    let mut fixed = ana.get(&here).await.form("template-form");
    fixed.set("path.productOrgId", "groupId");
    assert_eq!(
        ana.press(&fixed, "action", "save").await.status,
        StatusCode::SEE_OTHER
    );
    for path in [
        format!("{here}/replay"),
        format!("{here}/deliveries/{delivery}/replay"),
    ] {
        let mut form = ana.get(&path).await.form(&path);
        form.set("csrf", "forged");
        assert_eq!(
            ana.press(&form, "x", "").await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (status, _) = app.product_org("ws_abc123").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was replayed");
}

/// The loop in real headless Chromium: see the refusals, open one, fix the path in the
/// builder, test (3 would now apply), save, replay (confirmed), find the org.
#[tokio::test]
async fn the_mapping_loop_in_a_browser() {
    let app = TestApp::spawn().await;
    refused_key(&app).await;
    create_user(&app, "default", "ana@example.com");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-key-page-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    clients();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/key_page.js");
    let out = run_client(
        Path::new("node"),
        &script,
        &[
            ("BASE", &app.base),
            ("TENANT", "default"),
            ("EMAIL", "ana@example.com"),
            ("PASSWORD", common::web::PASSWORD),
            ("KEY_NAME", "test key"),
            ("SHOTS", shots.to_str().unwrap()),
        ],
    )
    .await;
    let report: Value = serde_json::from_str(out.trim()).expect("one JSON report");
    assert!(report["error"].is_null(), "{}", report["error"]);
    assert!(
        report["keyPage"].as_str().unwrap().contains("groupID"),
        "{report}"
    );
    let detail = report["detail"].as_str().unwrap();
    assert!(detail.contains("Did you mean groupId?"), "{detail}");
    assert!(
        report["testSummary"]
            .as_str()
            .unwrap()
            .contains("3 would now apply"),
        "{report}"
    );
    assert!(
        report["saved"]
            .as_str()
            .unwrap()
            .contains("Saved as version 2"),
        "{report}"
    );
    assert!(
        report["confirm"]
            .as_str()
            .unwrap()
            .contains("Replay 3 refused deliveries"),
        "{report}"
    );
    assert_eq!(
        report["replayed"]
            .as_str()
            .unwrap()
            .matches("applied")
            .count(),
        3,
        "{report}"
    );
    let org = report["org"].as_str().unwrap();
    for field in [
        "ws_abc123",
        "Acme Corp Workspace",
        "Pro Annual",
        "47",
        // mrr 49900 cents, in units.
        "499.00",
        "converted",
    ] {
        assert!(org.contains(field), "the org page lacks {field}: {org}");
    }
    for narrow in report["narrow"].as_array().unwrap() {
        assert!(
            narrow["scrollWidth"].as_u64().unwrap() <= 390,
            "the page overflows a 390 px screen: {narrow}"
        );
    }
    for page in report["pages"].as_array().unwrap() {
        let file = page["file"].as_str().unwrap();
        assert!(
            std::fs::metadata(file).is_ok_and(|m| m.len() > 1000),
            "{file}"
        );
    }
    assert!(report["pages"].as_array().unwrap().len() >= 9, "{report}");
    let (_, org) = app.product_org("ws_ghi789").await;
    assert_eq!(org["name"], "Initech Workspace", "{org}");
    eprintln!("screenshots in {}", shots.display());
}
