//! Target orgs over real HTTP: product orgs moved under one target org share its firmographics
//! and its leads; a firmographics import applies its good rows and names the refused ones; the
//! target org's and product org's pages read in words, with their ids linked.

mod common;

use common::leads::{context, signal_key};
use common::web::Browser;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn moved_product_orgs_share_a_target_org_with_firmographics() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let key = signal_key(&app, "default");
    let (_, eu) = app
        .post(
            &org_key.api_key,
            &json!({"workspace_id": "acme_eu", "workspace_name": "Acme EU"}),
        )
        .await;
    let (_, us) = app
        .post(
            &org_key.api_key,
            &json!({"workspace_id": "acme_us", "workspace_name": "Acme US"}),
        )
        .await;
    assert_ne!(eu["targetOrgId"], us["targetOrgId"]);
    app.post_signal(
        &key,
        &json!({"lead_id": "lee", "product_org_id": "acme_us", "signal": "login"}),
    )
    .await;

    let target = eu["targetOrgId"].as_i64().unwrap();
    let moved = app
        .send(
            app.client
                .post(format!("{}/api/admin/product-orgs/acme_us/move", app.base))
                .bearer_auth(&app.admin_token)
                .json(&json!({"targetOrgId": target})),
        )
        .await;
    assert_eq!(moved.0, StatusCode::OK, "{}", moved.1);
    assert_eq!(moved.1["targetOrgId"], json!(target));
    let put = app
        .send(app.client.put(format!("{}/api/admin/target-orgs/{target}/firmographics", app.base))
            .bearer_auth(&app.admin_token)
            .json(&json!({"domain": "acme.com", "industry": "Software", "employees": 1200, "country": "DE"})))
        .await;
    assert_eq!(put.0, StatusCode::OK, "{}", put.1);
    assert_eq!(put.1["firmographics"]["domain"], json!("acme.com"));

    let (_, ctx) = context(&app, "lee").await;
    let ids: Vec<&str> = ctx["productOrgInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["productOrgId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["acme_eu", "acme_us"],
        "both product orgs, ordered by id"
    );
    assert_eq!(ctx["firmographics"]["employees"], json!(1200));

    let (status, detail) = app
        .admin_get(&format!("/api/admin/target-orgs/{target}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["productOrgCount"], json!(2));
    assert_eq!(detail["productOrgs"].as_array().unwrap().len(), 2);
    assert_eq!(detail["leads"][0]["leadId"], json!("lee"));
    let (_, list) = app.admin_get("/api/admin/target-orgs?q=acme%20eu").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    for (method_path, body, status, code) in [
        (
            "/api/admin/product-orgs/acme_us/move",
            json!({"targetOrgId": 999}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/admin/product-orgs/nope/move",
            json!({"targetOrgId": target}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/admin/product-orgs/acme_us/move",
            json!({"to": target}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ] {
        let (s, b) = app
            .send(
                app.client
                    .post(format!("{}{method_path}", app.base))
                    .bearer_auth(&app.admin_token)
                    .json(&body),
            )
            .await;
        assert_eq!(
            (s, b["code"].clone()),
            (status, json!(code)),
            "{method_path} {body}: {b}"
        );
    }
    let (s, b) = app
        .send(
            app.client
                .put(format!(
                    "{}/api/admin/target-orgs/{target}/firmographics",
                    app.base
                ))
                .bearer_auth(&app.admin_token)
                .json(&json!(["not", "an", "object"])),
        )
        .await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_firmographics")),
        "{b}"
    );
}

#[tokio::test]
async fn firmographics_import_applies_good_rows_and_names_refused_ones() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let (_, one) = app
        .post(&org_key.api_key, &json!({"workspace_id": "ws_1"}))
        .await;
    let (_, two) = app
        .post(&org_key.api_key, &json!({"workspace_id": "ws_2"}))
        .await;
    let target_two = two["targetOrgId"].as_i64().unwrap();
    let csv = format!(
        "productOrgId,targetOrgId,domain,employees\nws_1,,one.com,50\nws_missing,,x.com,1\n,{target_two},two.com,7\n,,none.com,3\n"
    );
    let path = app.write_file("crm.csv", &csv);
    let out = app.cli(&[
        "--json",
        "firmographics",
        "import",
        "--tenant",
        "default",
        path.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "refused rows make the command fail");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["applied"], json!(2), "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{report}");
    assert_eq!(refused[0]["line"], json!(3));
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("ws_missing"),
        "{report}"
    );
    assert_eq!(refused[1]["line"], json!(5));
    assert!(
        refused[1]["reason"].as_str().unwrap().contains("neither"),
        "{report}"
    );

    let (_, t1) = app
        .admin_get(&format!("/api/admin/target-orgs/{}", one["targetOrgId"]))
        .await;
    assert_eq!(
        t1["firmographics"],
        json!({"domain": "one.com", "employees": 50})
    );
    let (_, t2) = app
        .admin_get(&format!("/api/admin/target-orgs/{target_two}"))
        .await;
    assert_eq!(
        t2["firmographics"],
        json!({"domain": "two.com", "employees": 7})
    );

    let jsonl = app.write_file("crm.jsonl", "{\"productOrgId\":\"ws_2\",\"domain\":\"new.com\",\"hq\":{\"city\":\"Berlin\"}}\nnot json\n");
    let out = app.cli(&[
        "firmographics",
        "import",
        "--tenant",
        "default",
        jsonl.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Applied 1 row") && text.contains("line 2: not valid JSON"),
        "{text}"
    );
    let (_, t2) = app
        .admin_get(&format!("/api/admin/target-orgs/{target_two}"))
        .await;
    assert_eq!(
        t2["firmographics"],
        json!({"domain": "new.com", "hq": {"city": "Berlin"}}),
        "a row replaces the fields"
    );
}

/// The part of a page from `from` to the end of the element `tag` it is in (the first
/// `</tag>` after it).
fn part<'a>(html: &'a str, from: &str, tag: &str) -> &'a str {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in the page:\n{html}"));
    let end = html[start..].find(&format!("</{tag}>")).unwrap() + start;
    &html[start..end]
}

#[tokio::test]
async fn the_org_pages_read_in_words_with_their_ids_linked_and_a_way_back() {
    let app = TestApp::spawn().await;
    let org_key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    for mrr in [49900, 59900] {
        let (status, body) = app
            .post(
                &org_key.api_key,
                &json!({"workspace_id": "ws_abc123", "workspace_name": "Acme", "plan_name": "Pro", "mrr": mrr}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let signals = signal_key(&app, "default");
    let lead = json!({"email": "ada@acme.com", "product_org_id": "ws_abc123", "signal": "login"});
    app.post_signal(&signals, &lead).await;
    let (_, org) = app.product_org("ws_abc123").await;
    let target = org["targetOrgId"].as_i64().unwrap();
    let updated = org["updatedAt"].as_str().unwrap().to_owned();
    let browser = Browser::new_user(&app).await;

    let product = browser.get("/settings/product-orgs/ws_abc123").await;
    assert_eq!(product.status, StatusCode::OK);
    let history = product.text_of("history").expect("a history table");
    assert!(
        history.contains("MRR") && history.contains("499.00 → 599.00"),
        "history as field | old → new, mrr in units: {history}"
    );
    assert!(!product.html.contains("&quot;field&quot;"), "no JSON");
    let fields = product.text_of("product-org-fields").unwrap();
    assert!(
        fields.contains("Plan name") && fields.contains("599.00") && !fields.contains("59900"),
        "labels in words, money in units: {fields}"
    );
    assert!(product.html.contains("title=\"59900 cents\""));
    assert!(
        product
            .html
            .contains(&format!("<time datetime=\"{updated}\""))
            && !product.text().contains(&updated),
        "the time relative, the exact one its datetime: {}",
        product.text()
    );
    let crumbs = part(&product.html, "aria-label=\"Breadcrumb\"", "nav");
    assert!(
        crumbs.contains("href=\"/settings/orgs\"")
            && crumbs.contains(&format!("href=\"/settings/orgs/{target}\">Acme</a>")),
        "Org Management › its target org, by name: {crumbs}"
    );
    assert!(
        product
            .html
            .contains(&format!("href=\"/settings/api-keys/{}\"", org_key.id)),
        "the key that sent each change links to its page"
    );

    let page = browser.get(&format!("/settings/orgs/{target}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let crumbs = part(&page.html, "aria-label=\"Breadcrumb\"", "nav");
    assert!(crumbs.contains("href=\"/settings/orgs\""), "{crumbs}");
    for link in [
        "href=\"/settings/product-orgs/ws_abc123\"",
        "href=\"/settings/leads/ada%40acme.com\"",
    ] {
        assert!(page.html.contains(link), "{link} in {}", page.html);
    }
    let text = page.text();
    assert!(
        text.contains("599.00") && text.contains("Plan name") && !text.contains("planName"),
        "{text}"
    );
    assert!(
        !text.contains("Feature flags") && !text.contains("Plan ID"),
        "each product org a row of one table, not every field of it again: {text}"
    );
}
