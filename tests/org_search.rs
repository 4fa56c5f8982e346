//! Finding things in Org Management, over real HTTP as a browser without JavaScript does: one
//! search over target orgs, product orgs and leads; product orgs whose ids differ only by case
//! or surrounding spaces flagged as possible duplicates and moved under one target org with
//! the page's form; leads not linked to a target org listed with why and what they meant. The
//! admin API says the same. Runs on either backend (`TRAILSPARK_TEST_BACKEND`).

mod common;

use common::leads::signal_key;
use common::web::{Browser, Page};
use common::{encode, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A product org created with the flat preset; its target org id.
async fn product_org(app: &TestApp, key: &str, id: &str, name: &str) -> i64 {
    let (status, body) = app
        .post(key, &json!({"workspace_id": id, "workspace_name": name}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["targetOrgId"].as_i64().unwrap()
}

/// The text of the element `id` of a page, which must have it.
fn section(page: &Page, id: &str) -> String {
    page.text_of(id)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{}", page.html))
}

#[tokio::test]
async fn one_search_finds_target_orgs_product_orgs_and_leads() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let acme = product_org(&app, &org_key.api_key, "ws_acme_eu", "Acme Europe").await;
    product_org(&app, &org_key.api_key, "zeta_42", "Zeta").await;
    let signals = signal_key(&app, "default");
    let (status, body) = app
        .post_signal(
            &signals,
            &json!({"email": "Grace@Hopper.example", "product_org_id": "zeta_42", "signal": "login"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let browser = Browser::new_user(&app).await;

    let found = browser.get("/settings/orgs?q=acme").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found.html.contains(
            "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/settings/orgs\">"
        ),
        "the results lead back to Org Management: {}",
        found.html
    );
    let targets = section(&found, "target-org-results");
    assert!(targets.contains("Acme Europe"), "by name: {targets}");
    assert!(
        found
            .html
            .contains(&format!("href=\"/settings/orgs/{acme}\"")),
        "each result links to its page"
    );
    assert!(
        section(&found, "product-org-results").contains("ws_acme_eu"),
        "the product org matches by id and name too"
    );
    assert!(found.text_of("lead-results").is_none(), "no lead matches");

    let by_id = browser.get("/settings/orgs?q=ZETA_4").await;
    let products = section(&by_id, "product-org-results");
    assert!(
        products.contains("zeta_42"),
        "an id's first characters in another case find it: {products}"
    );
    assert!(by_id
        .html
        .contains("href=\"/settings/product-orgs/zeta_42\""));

    let by_email = browser.get("/settings/orgs?q=%20HOPPER.example%20").await;
    let leads = section(&by_email, "lead-results");
    assert!(
        leads.contains("grace@hopper.example"),
        "a lead by email, the query trimmed: {leads}"
    );
    assert!(by_email
        .html
        .contains("href=\"/settings/leads/grace%40hopper.example\""));

    let none = browser.get("/settings/orgs?q=nothing-like-this").await;
    assert_eq!(none.status, StatusCode::OK);
    let text = section(&none, "search-results");
    assert!(
        text.contains("No match for “nothing-like-this”"),
        "the query is shown: {text}"
    );
    assert!(
        text.contains("case-insensitive"),
        "with how search matches: {text}"
    );
    assert!(
        !none.text().contains("No target orgs yet"),
        "{}",
        none.text()
    );
}

#[tokio::test]
async fn possible_duplicates_are_flagged_and_moved_under_one_target_org() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let upper = product_org(&app, &org_key.api_key, "WS_ABC123", "Acme (CRM sync)").await;
    let spaced = product_org(&app, &org_key.api_key, "ws_abc123 ", "Acme (events)").await;
    product_org(&app, &org_key.api_key, "ws_abc1234", "Not a duplicate").await;
    assert_ne!(upper, spaced, "two ids, two product orgs, two target orgs");
    let browser = Browser::new_user(&app).await;

    let orgs = browser.get("/settings/orgs").await;
    let flagged = section(&orgs, "possible-duplicates");
    assert!(
        flagged.contains("“WS_ABC123”") && flagged.contains("“ws_abc123␣”"),
        "both ids, the trailing space drawn: {flagged}"
    );
    assert!(!flagged.contains("ws_abc1234"), "{flagged}");

    let page = browser
        .get(&format!("/settings/product-orgs/{}", encode("ws_abc123 ")))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains("“ws_abc123␣” is a possible duplicate of “WS_ABC123”"),
        "{}",
        page.text()
    );
    let target = browser.get(&format!("/settings/orgs/{upper}")).await;
    assert!(
        target
            .text()
            .contains("“WS_ABC123” is a possible duplicate of “ws_abc123␣”"),
        "{}",
        target.text()
    );

    let (status, api) = app.admin_get("/api/admin/possible-duplicates").await;
    assert_eq!(status, StatusCode::OK, "{api}");
    let group = &api["groups"][0];
    assert_eq!(group["foldedId"], "ws_abc123");
    let ids: Vec<&Value> = group["productOrgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["productOrgId"])
        .collect();
    assert_eq!(ids, [&json!("WS_ABC123"), &json!("ws_abc123 ")], "{api}");
    assert_eq!(api["more"], false);

    let action = format!("/settings/product-orgs/{}/move", encode("ws_abc123 "));
    let mut forged = orgs.form(&action);
    assert_eq!(
        forged.get("target_org_id"),
        Some(upper.to_string().as_str())
    );
    forged.set("csrf", "not-the-token");
    let refused = browser.press(&forged, "move", "").await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a move needs the CSRF token"
    );
    let (_, still) = app.product_org("ws_abc123 ").await;
    assert_eq!(still["targetOrgId"], json!(spaced), "nothing moved");

    let moved = browser.press(&orgs.form(&action), "move", "").await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    let (_, org) = app.product_org("ws_abc123 ").await;
    assert_eq!(org["targetOrgId"], json!(upper));
    let target = browser.get(&format!("/settings/orgs/{upper}")).await;
    let text = target.text();
    assert!(
        text.contains("Product orgs (2)")
            && text.contains("“ws_abc123␣”")
            && text.contains("“WS_ABC123”"),
        "the target org lists both: {text}"
    );
    let after = section(&browser.get("/settings/orgs").await, "possible-duplicates");
    assert!(
        after.contains("under one target org already"),
        "still possible duplicates, no move left to make: {after}"
    );

    let product = browser.get("/settings/product-orgs/WS_ABC123").await;
    let mut form = product.form("move-product-org");
    form.set("target_org_id", "999999");
    let missing = browser.press(&form, "move", "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .contains("Not moved: This tenant has no target org 999999."),
        "{}",
        missing.text()
    );
}

#[tokio::test]
async fn an_unlinked_lead_says_why_and_what_it_meant() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let target = product_org(&app, &org_key.api_key, "ws_abc123", "Acme").await;
    let signals = signal_key(&app, "default");
    for body in [
        json!({"email": "upper@example.com", "product_org_id": "WS_ABC123", "signal": "login"}),
        json!({"email": "nobody@example.com", "signal": "login"}),
        json!({"email": "linked@example.com", "product_org_id": "ws_abc123", "signal": "login"}),
    ] {
        let (status, answer) = app.post_signal(&signals, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let browser = Browser::new_user(&app).await;

    let page = browser.get("/settings/leads?linked=false").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = section(&page, "leads");
    assert!(
        rows.contains("Not linked: product org “WS_ABC123” not found — did you mean “ws_abc123”?"),
        "{rows}"
    );
    assert!(
        rows.contains("Not linked: no product org id in its signals"),
        "{rows}"
    );
    assert!(
        !rows.contains("linked@example.com"),
        "linked leads are left out: {rows}"
    );
    assert!(page
        .html
        .contains("href=\"/settings/product-orgs/ws_abc123\""));

    let list = browser.get("/settings/leads").await;
    assert!(
        list.html.contains(
            "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/settings/orgs\">"
        ),
        "the list leads back to Org Management: {}",
        list.html
    );
    let all = section(&list, "leads");
    assert!(all.contains("linked@example.com"), "{all}");
    assert!(
        all.contains("did you mean “ws_abc123”?"),
        "the whole list says why too: {all}"
    );
    let lead = browser
        .get(&format!("/settings/leads/{}", encode("upper@example.com")))
        .await;
    assert!(
        section(&lead, "why-not-linked").contains("did you mean “ws_abc123”?"),
        "{}",
        lead.text()
    );
    let org = browser.get("/settings/orgs").await;
    assert!(org.html.contains("href=\"/settings/leads?linked=false\""));

    let (status, api) = app.admin_get("/api/admin/leads?linked=false").await;
    assert_eq!(status, StatusCode::OK, "{api}");
    assert_eq!(
        api["items"],
        json!([
            {"leadId": "nobody@example.com", "email": "nobody@example.com",
             "productOrgId": null, "targetOrgId": null, "unlinkedReason": "no_product_org_id",
             "createdAt": api["items"][0]["createdAt"], "updatedAt": api["items"][0]["updatedAt"]},
            {"leadId": "upper@example.com", "email": "upper@example.com",
             "productOrgId": "WS_ABC123", "targetOrgId": null,
             "unlinkedReason": "product_org_not_found", "didYouMean": "ws_abc123",
             "createdAt": api["items"][1]["createdAt"], "updatedAt": api["items"][1]["updatedAt"]},
        ]),
        "{api}"
    );
    let (status, every) = app.admin_get("/api/admin/leads").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        every["items"].as_array().unwrap().len(),
        3,
        "without the filter, every lead"
    );
    let (status, bad) = app.admin_get("/api/admin/leads?linked=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["code"], "invalid_linked");

    product_org(&app, &org_key.api_key, "WS_ABC123", "Acme upper").await;
    let (_, now) = app.admin_get("/api/admin/leads?linked=false").await;
    assert_eq!(
        now["items"].as_array().unwrap().len(),
        1,
        "the named product org exists now: its lead is linked ({now}); target {target}"
    );
}
