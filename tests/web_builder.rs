//! The template builder of Settings > API Keys as a browser without JavaScript drives it: each
//! button posts the whole form, and the page drawn again must mean what the user sees.

mod common;

use common::web::Browser;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// A row as Hightouch sends it (the flat table of the seed).
fn hightouch_row(id: &str) -> serde_json::Value {
    json!({"workspace_id": id, "workspace_name": "Flat Co", "plan_id": "pro", "user_count": 12})
}

/// Issue 16: Hightouch chosen in the preset menu and Create pressed straight away saved
/// Segment's paths (`groupId`), so every Hightouch row was answered 400.
#[tokio::test]
async fn a_preset_chosen_then_create_saves_that_presets_paths() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let mut form = browser.get("/settings/api-keys").await.form("create");
    assert_eq!(form.get("path.productOrgId"), Some("groupId"));
    form.set("name", "Hightouch rows");
    form.set("preset", "hightouch");
    let created = browser.press(&form, "action", "create").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let url = created.input("webhook_url").expect("the webhook URL");
    let (status, body) = app
        .send(app.client.post(&url).json(&hightouch_row("ws_flat")))
        .await;
    assert_eq!(status, StatusCode::OK, "a Hightouch row is taken: {body}");
    let (_, org) = app.product_org("ws_flat").await;
    assert_eq!(org["userCount"], 12, "{org}");

    // The preview, too, runs the preset the menu shows when the paths were left as drawn.
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("preset", "flat");
    form.set("sample", &hightouch_row("ws_preview").to_string());
    let preview = browser.press(&form, "action", "preview").await;
    assert_eq!(preview.status, StatusCode::OK);
    let drawn = preview.form("create");
    assert_eq!(drawn.get("path.productOrgId"), Some("workspace_id"));
    let shown = preview.text_of("preview").expect("a preview");
    assert!(shown.contains("would be applied"), "{shown}");
}

/// Paths edited by hand are never silently replaced by a preset chosen afterwards: the page
/// says they were kept, creates nothing, and Create pressed again saves them.
#[tokio::test]
async fn paths_edited_by_hand_win_over_a_preset_chosen_later_and_the_page_says_so() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("name", "Edited");
    form.set("path.userCount", "traits.seats");
    form.set("preset", "hightouch");
    let page = browser.press(&form, "action", "create").await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.text());
    let said = page.text();
    assert!(
        said.contains("edited by hand")
            && said.contains("Hightouch")
            && said.contains("No key was created"),
        "the page says which paths won and that nothing was created: {said}"
    );
    let keys = app.cli_json(&["key", "list", "--tenant", "default"]);
    assert!(!keys.to_string().contains("Edited"), "{keys}");
    let again = page.form("create");
    assert_eq!(again.get("path.userCount"), Some("traits.seats"));
    assert_eq!(again.get("path.productOrgId"), Some("groupId"));

    let created = browser.press(&again, "action", "create").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let url = created.input("webhook_url").expect("the webhook URL");
    let group = json!({"type": "group", "groupId": "ws_seg", "traits": {"seats": 7}});
    let (status, body) = app.send(app.client.post(&url).json(&group)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the edited paths were saved: {body}"
    );
    let (_, org) = app.product_org("ws_seg").await;
    assert_eq!(org["userCount"], 7, "{org}");

    // "Fill the template from the preset" is the way to replace them, and it does.
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("path.userCount", "traits.seats");
    form.set("preset", "hightouch");
    let filled = browser.press(&form, "action", "preset").await;
    assert_eq!(filled.status, StatusCode::OK);
    let drawn = filled.form("create");
    assert_eq!(drawn.get("path.userCount"), Some("user_count"));
}

/// Issue 16: Preview, Fill from preset, Add custom field, Remove and an error each drew the
/// API Keys page without its keys table.
#[tokio::test]
async fn every_builder_button_keeps_the_keys_table() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    app.key(&[
        "--type",
        "signal-staging",
        "--preset",
        "flat",
        "--name",
        "Existing key",
    ]);
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("custom_name.0", "seats");
    form.set("custom_path.0", "traits.seats");
    form.set("sample", r#"{"groupId": "ws_1"}"#);
    for (button, value, status) in [
        ("action", "preview", StatusCode::OK),
        ("action", "preset", StatusCode::OK),
        ("action", "add", StatusCode::OK),
        ("remove", "0", StatusCode::OK),
        ("action", "fields", StatusCode::OK),
        // No name: refused with the reason.
        ("action", "create", StatusCode::BAD_REQUEST),
    ] {
        let page = browser.press(&form, button, value).await;
        assert_eq!(page.status, status, "{button}={value}: {}", page.text());
        let listed = page.text_of("keys").unwrap_or_default();
        assert!(
            listed.contains("Existing key"),
            "{button}={value} keeps the keys table: {}",
            page.text()
        );
    }
}

/// Issue 16: choosing another endpoint type changed nothing until a button was pressed, and
/// then the form was refused. Without JavaScript the "Show this type's fields" button (or any
/// other) redraws the fields of the chosen type.
#[tokio::test]
async fn switching_the_endpoint_type_redraws_its_fields() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("endpoint_type", "signal-staging");
    let page = browser.press(&form, "action", "fields").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(!page.html.contains("role=\"alert\""), "{}", page.text());
    let drawn = page.form("create");
    assert_eq!(drawn.get("endpoint_type"), Some("signal-staging"));
    assert_eq!(
        drawn.get("path.leadId"),
        Some("userId"),
        "Segment's signals"
    );
    assert_eq!(drawn.get("path.planName"), None, "no product org field");

    // Create pressed straight after choosing the type: the key is of that type, with the
    // preset's paths.
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("endpoint_type", "signal-staging");
    form.set("preset", "flat");
    form.set("name", "Signals");
    let created = browser.press(&form, "action", "create").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let url = created.input("webhook_url").unwrap();
    let signal = json!({"email": "ada@example.com", "signal": "Signed up"});
    let (status, body) = app.send(app.client.post(&url).json(&signal)).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");

    // Paths typed by hand: those the new type has are kept, the others are named as left
    // out, and nothing is created until Create is pressed again.
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("endpoint_type", "signal-staging");
    form.set("path.productOrgId", "context.workspace");
    form.set("path.userCount", "traits.seats");
    form.set("name", "Typed");
    let page = browser.press(&form, "action", "create").await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.text());
    let said = page.text_of("said").unwrap_or_default();
    assert!(
        said.contains("No key was created")
            && said.contains("productOrgId")
            && said.contains("userCount"),
        "{said}"
    );
    let drawn = page.form("create");
    assert_eq!(drawn.get("path.productOrgId"), Some("context.workspace"));
    assert_eq!(drawn.get("path.leadId"), Some("userId"));
    let created = browser.press(&drawn, "action", "create").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
}

/// The keys table, a new key's page and the builder's preview read as words: times relative
/// (the exact time kept), each key linked to its page, a refusal's `code` drawn as code, the
/// way back up from the new key.
#[tokio::test]
async fn the_keys_table_links_each_key_and_reads_its_times_and_messages() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let browser = Browser::new_user(&app).await;
    let page = browser.get("/settings/api-keys").await;
    let (_, one) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;
    let created = one["createdAt"].as_str().unwrap();
    let here = format!("/settings/api-keys/{}", key.id);
    let keys = &page.html[page.html.find("id=\"keys\"").unwrap()..];
    let keys = &keys[..keys.find("</table>").unwrap()];
    for shown in [
        format!("<a href=\"{here}\">test key</a>"),
        format!("<time datetime=\"{created}\" title=\"{created}\">just now</time>"),
    ] {
        assert!(keys.contains(&shown), "{shown} in {keys}");
    }

    // Without a productOrgId path the template is refused, its key quoted as code.
    let mut form = page.form("create");
    form.set("path.productOrgId", "");
    form.set("sample", &json!({"type": "group"}).to_string());
    let preview = browser.press(&form, "action", "preview").await;
    let said = preview.text_of("preview").unwrap_or_default();
    assert!(
        preview
            .html
            .contains("The template is not valid: <code>productOrgId</code> is required"),
        "{said}"
    );
    assert!(!said.contains('`'), "{said}");

    form.set("path.productOrgId", "groupId");
    form.set("name", "Second key");
    let new = browser.press(&form, "action", "create").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text());
    assert!(
        new.html.contains(
            "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li>\
             <a href=\"/settings/api-keys\">API Keys</a></li></ol></nav>"
        ),
        "{}",
        new.html
    );
    let (_, list) = app.admin_get("/api/admin/api-keys").await;
    let second = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Second key")
        .unwrap_or_else(|| panic!("{list}"));
    let link = format!(
        "<a href=\"/settings/api-keys/{}\">",
        second["id"].as_str().unwrap()
    );
    assert!(
        new.html.contains(&link),
        "the new key's page linked: {}",
        new.html
    );
}
