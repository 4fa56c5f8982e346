//! The overview (`/`), the first page after sign-in, against the real binary: the figures it
//! shows are those of what was sent over HTTP (deliveries by outcome, the product orgs, target
//! orgs and leads, the newest refusal with its code and link), another tenant's are not among
//! them, and a store that has had no delivery yet shows the three steps to the first update
//! with a curl for the key that works as it is, the key put in.

mod common;

use common::web::{create_user, unescape, Browser, Page};
use common::{Key, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The seed's Segment group call for `id`, with `plan`.
fn group(id: &str, plan: &str, message: &str) -> Value {
    json!({"type": "group", "groupId": id, "userId": "user_789",
           "traits": {"name": format!("{id} Workspace"), "plan": plan},
           "timestamp": "2026-01-15T10:30:00.000Z", "messageId": message})
}

/// Sends `body` with `key`, expecting `status`.
async fn send(app: &TestApp, key: &Key, body: Value, status: StatusCode) {
    let (got, answer) = app.post(&key.api_key, &body).await;
    assert_eq!(got, status, "{body} → {answer}");
}

/// Product orgs `ids` created with a Segment key of `tenant` named `name`, one of them sent
/// again unchanged, `refused` payloads without a groupId, and a signal from each of `leads`.
async fn deliveries(
    app: &TestApp,
    tenant: &str,
    name: &str,
    ids: &[&str],
    refused: usize,
    leads: &[&str],
) -> Key {
    let key = app.key_for(
        tenant,
        &[
            "--type",
            "product-org-updates",
            "--preset",
            "segment",
            "--name",
            name,
        ],
    );
    for (n, id) in ids.iter().enumerate() {
        send(
            app,
            &key,
            group(id, "pro", &format!("{tenant}-{n}")),
            StatusCode::OK,
        )
        .await;
    }
    let again = group(ids[0], "pro", &format!("{tenant}-again"));
    send(app, &key, again, StatusCode::OK).await;
    for n in 0..refused {
        let body = json!({"type": "group", "traits": {"name": format!("No id {n}")}});
        send(app, &key, body, StatusCode::BAD_REQUEST).await;
    }
    let signals = common::leads::signal_key(app, tenant);
    for lead in leads {
        let body = json!({"email": lead, "product_org_id": ids[0], "signal": "Signed in"});
        let (status, answer) = app.post_signal(&signals, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    key
}

/// The (applied, unchanged, duplicate, refused) counts the overview's chart draws.
fn charted(page: &Page) -> [u64; 4] {
    let start = page
        .html
        .find("<svg id=\"overview-chart\"")
        .expect("the chart");
    let svg = &page.html[start..start + page.html[start..].find("</svg>").unwrap()];
    let mut counts = [0; 4];
    for bar in svg.split("data-outcome=\"").skip(1) {
        let outcome = &bar[..bar.find('"').unwrap()];
        let count = bar.split("data-count=\"").nth(1).unwrap();
        let count: u64 = count[..count.find('"').unwrap()].parse().unwrap();
        let at = ["applied", "unchanged", "duplicate", "refused"]
            .iter()
            .position(|o| *o == outcome)
            .unwrap();
        counts[at] += count;
    }
    counts
}

/// The text of the element `id` of the page, which must have it.
fn text_of(page: &Page, id: &str) -> String {
    page.text_of(id)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{}", page.html))
}

/// The newest refused delivery of `key`, by the admin API of tenant `default`.
async fn newest_refused(app: &TestApp, key: &Key) -> (i64, String) {
    let path = format!("/api/admin/api-keys/{}/deliveries?outcome=refused", key.id);
    let (status, log) = app.admin_get(&path).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let newest = &log["items"][0];
    let code = newest["code"].as_str().expect("a code").to_owned();
    (newest["deliveryId"].as_i64().expect("an id"), code)
}

#[tokio::test]
async fn the_overview_shows_what_was_sent() {
    let app = TestApp::spawn().await;
    let key = deliveries(
        &app,
        "default",
        "Segment production",
        &["ws_a", "ws_b"],
        1,
        &["ada@acme.com"],
    )
    .await;
    let browser = Browser::new_user(&app).await;
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);

    // 2 creations and a signal applied, the resent org unchanged, the payload without id
    // refused: in the words above the chart and in its bars.
    assert_eq!(
        text_of(&page, "delivery-totals"),
        "5 updates: 3 applied, 1 unchanged, 0 duplicate, 1 refused (20.0 %)."
    );
    assert_eq!(charted(&page), [3, 1, 0, 1], "the chart's bars");
    assert!(
        text_of(&page, "deliveries-source").contains("counted as it arrived"),
        "the page says what its counts cover"
    );
    assert_eq!(text_of(&page, "count-product-orgs"), "2 Product orgs");
    assert_eq!(text_of(&page, "count-target-orgs"), "2 Target orgs");
    assert_eq!(text_of(&page, "count-leads"), "1 Leads");
    assert!(page
        .html
        .contains("id=\"count-leads\" href=\"/settings/leads\""));

    let keys = text_of(&page, "overview-keys");
    assert!(
        keys.contains("Segment production") && keys.contains("Active") && keys.contains("25.0 %"),
        "the key with its 4 updates, 1 refused: {keys}"
    );
    let (delivery, code) = newest_refused(&app, &key).await;
    let refusals = text_of(&page, "overview-refusals");
    assert!(
        refusals.contains(&code) && refusals.contains(&format!("Delivery #{delivery}")),
        "{refusals}"
    );
    let link = format!(
        "href=\"/settings/api-keys/{}/deliveries/{delivery}\"",
        key.id
    );
    assert!(
        page.html.contains(&link),
        "the refusal links its delivery: {link}"
    );
    assert!(
        !page.html.contains("id=\"first-steps\""),
        "a store in use shows no first steps"
    );
}

#[tokio::test]
async fn another_tenants_data_is_not_counted() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "other"]);
    create_user(&app, "other", "bo@other.example");
    deliveries(&app, "default", "Ours", &["ws_a"], 1, &["ada@acme.com"]).await;
    deliveries(
        &app,
        "other",
        "Theirs",
        &["ws_x", "ws_y", "ws_z"],
        2,
        &["a@x.io", "b@x.io"],
    )
    .await;

    let ours = Browser::new_user(&app).await.get("/").await;
    assert_eq!(text_of(&ours, "count-product-orgs"), "1 Product orgs");
    assert_eq!(text_of(&ours, "count-target-orgs"), "1 Target orgs");
    assert_eq!(text_of(&ours, "count-leads"), "1 Leads");
    assert_eq!(
        charted(&ours),
        [2, 1, 0, 1],
        "ours: the creation, a signal, the resend, a refusal"
    );
    assert!(!ours.html.contains("Theirs"), "no key of theirs is listed");
    assert_eq!(
        text_of(&ours, "overview-refusals")
            .matches("Delivery #")
            .count(),
        1
    );

    let theirs = Browser::sign_in(&app, "other", "bo@other.example")
        .await
        .get("/")
        .await;
    assert_eq!(text_of(&theirs, "count-product-orgs"), "3 Product orgs");
    assert_eq!(text_of(&theirs, "count-leads"), "2 Leads");
    assert_eq!(charted(&theirs), [5, 1, 0, 2], "theirs");
    assert!(!theirs.html.contains("Ours"));
    assert_eq!(
        text_of(&theirs, "overview-refusals")
            .matches("Delivery #")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_empty_store_shows_the_steps_and_a_curl_that_works_with_the_key() {
    let app = TestApp::spawn_with(&["--public-url", "http://ts.internal:8080/"]).await;
    let browser = Browser::new_user(&app).await;
    let page = browser.get("/").await;
    let steps = text_of(&page, "first-steps");
    assert!(
        steps.contains("Create a key") && steps.contains("Send the test payload"),
        "{steps}"
    );
    assert!(
        page.html.contains("href=\"/settings/api-keys#create\""),
        "step 1 links the form"
    );
    assert!(
        !page.html.contains("id=\"first-curl\""),
        "no curl without a key"
    );
    assert_eq!(charted(&page), [0, 0, 0, 0], "an empty chart");

    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--name",
        "Segment production",
        "--secret",
    ]);
    let page = browser.get("/").await;
    let url = "http://ts.internal:8080/api/product-orgs/webhook/<API_KEY>";
    assert_eq!(
        text_of(&page, "first-url"),
        url,
        "the public URL's origin and the key's path"
    );
    let curl = text_of(&page, "first-curl");
    assert!(curl.starts_with(&format!("curl -X POST '{url}'")), "{curl}");
    assert!(curl.contains("-H 'X-Api-Secret: <API_SECRET>'"), "{curl}");
    assert!(
        text_of(&page, "step-key").contains("Segment production"),
        "step 1 is done"
    );

    // The curl's payload, sent with the key and its secret put in, is applied.
    let body = curl.split("-d '").nth(1).expect("a body");
    let body: Value = serde_json::from_str(unescape(body).trim_end_matches('\'')).unwrap();
    let request = app
        .client
        .post(app.webhook_url(&key.api_key))
        .header("X-Api-Secret", key.secret.as_deref().unwrap())
        .json(&body);
    let (status, answer) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body} → {answer}");
    let page = browser.get("/").await;
    assert!(
        !page.html.contains("id=\"first-steps\""),
        "the steps go once a delivery came"
    );
    assert_eq!(charted(&page), [1, 0, 0, 0]);
    assert_eq!(text_of(&page, "count-product-orgs"), "1 Product orgs");
}

#[tokio::test]
async fn signed_out_it_sends_to_sign_in_and_signed_in_it_is_the_overview() {
    let app = TestApp::spawn().await;
    let response = common::web::client()
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let browser = Browser::new_user(&app).await;
    let page = browser.get("/").await;
    assert!(page.html.contains("<h1>Overview</h1>"), "{}", page.html);
    assert!(
        page.html.contains("<a href=\"/\">Overview</a>"),
        "the navigation's first link"
    );
}
