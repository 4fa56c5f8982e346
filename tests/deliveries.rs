//! The durable delivery log over HTTP (SPEC §6): one entry per update and per request refused
//! once its key is known, written with the request (listed as soon as it is answered), read
//! through the admin API with filters, kept within its retention; and as the web UI draws the
//! log and one delivery.

mod common;

use common::web::{Browser, Page};
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn log_of(app: &TestApp, key_id: &str, query: &str) -> Vec<Value> {
    let (status, page) = app
        .admin_get(&format!("/api/admin/api-keys/{key_id}/deliveries{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Sends `count` group updates, of orgs ws_0, ws_1, …, each answered 200.
async fn send_groups(app: &TestApp, api_key: &str, count: usize) {
    for n in 0..count {
        let (status, answer) = app.post(api_key, &group(&format!("ws_{n}"), "pro")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
}

fn group(id: &str, plan: &str) -> Value {
    json!({"type": "group", "groupId": id, "messageId": format!("m_{id}_{plan}"),
           "traits": {"name": "Acme", "plan": plan}})
}

#[tokio::test]
async fn every_element_of_an_array_is_an_entry_and_a_refused_one_keeps_its_payload() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let no_id = json!({"type": "group", "traits": {"name": "No id"}});
    let body = json!([group("ws_1", "pro"), no_id, group("ws_1", "pro")]);
    let (status, answer) = app.post(&key.api_key, &body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");

    // Read at once: the entries were committed with the updates, before the answer.
    let log = log_of(&app, &key.id, "").await;
    let seen: Vec<_> = log
        .iter()
        .map(|d| {
            (
                d["index"].clone(),
                d["outcome"].clone(),
                d["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!(2), json!("duplicate"), json!(200)),
            (json!(1), json!("refused"), json!(400)),
            (json!(0), json!("applied"), json!(200)),
        ],
        "{log:?}"
    );
    assert!(
        log.iter().all(|d| d["requestId"] == log[0]["requestId"]),
        "one request: {log:?}"
    );
    let applied = &log[2];
    assert_eq!(applied["productOrgId"], "ws_1");
    assert_eq!(applied["templateVersion"], 1);
    assert_eq!(applied["intake"], "webhook");
    assert_eq!(applied["changed"], true);
    let refused = &log[1];
    assert_eq!(refused["code"], "missing_product_org_id");
    assert_eq!(refused["hasPayload"], true);
    assert!(
        refused.get("payload").is_none(),
        "the list leaves payloads out"
    );

    let (status, one) = app
        .admin_get(&format!("/api/admin/deliveries/{}", refused["deliveryId"]))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["payload"], body[1], "the element as sent");
    assert_eq!(one["answer"]["status"], 400);
    assert_eq!(one["answer"]["body"]["code"], "missing_product_org_id");
    assert_eq!(one["message"], answer["results"][1]["message"]);

    let refused_only = log_of(&app, &key.id, "?outcome=refused").await;
    assert_eq!(refused_only.len(), 1);
    let of_org = log_of(&app, &key.id, "?productOrgId=ws_1&limit=1").await;
    assert_eq!(of_org.len(), 1, "limit holds: {of_org:?}");
    assert_eq!(of_org[0]["outcome"], "duplicate");
}

#[tokio::test]
async fn requests_refused_before_extraction_are_logged_with_the_body_only_once_trusted() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let url = app.webhook_url(&key.api_key);
    let send = |request: reqwest::RequestBuilder| app.send(request);
    let (status, _) = send(app.client.post(&url).body("{}")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = send(
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"type\": \"group\", "),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let signal_url = format!("{}/api/signals/webhook/{}", app.base, key.api_key);
    let (status, _) = send(app.client.post(&signal_url).json(&group("ws_2", "pro"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let log = log_of(&app, &key.id, "").await;
    let codes: Vec<_> = log.iter().map(|d| d["code"].clone()).collect();
    assert_eq!(
        codes,
        [
            json!("wrong_key_type"),
            json!("invalid_json"),
            json!("unsupported_media_type")
        ],
        "{log:?}"
    );
    assert!(log
        .iter()
        .all(|d| d["outcome"] == "refused" && d["index"].is_null()));
    assert_eq!(
        log[1]["hasPayload"], true,
        "a body that is not JSON is kept as text"
    );
    let (_, one) = app
        .admin_get(&format!("/api/admin/deliveries/{}", log[1]["deliveryId"]))
        .await;
    assert_eq!(one["payload"], "{\"type\": \"group\", ");
    assert_eq!(log[2]["hasPayload"], false, "a body never read is not kept");
}

#[tokio::test]
async fn another_tenant_finds_neither_the_log_nor_a_delivery() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    app.post(&key.api_key, &group("ws_1", "pro")).await;
    let id = log_of(&app, &key.id, "").await[0]["deliveryId"].clone();
    app.cli_json(&["tenant", "create", "other"]);
    let token = app.cli_json(&["admin-token", "create", "--tenant", "other"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/api/admin/api-keys/{}/deliveries", key.id),
        format!("/api/admin/deliveries/{id}"),
    ] {
        let (status, body) = app
            .send(
                app.client
                    .get(format!("{}{path}", app.base))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = app.admin_get(&format!("/api/admin/deliveries/{id}")).await;
    assert_eq!(status, StatusCode::OK, "its own tenant reads it");
}

#[tokio::test]
async fn bad_filters_are_refused_with_what_is_wrong() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for (query, code) in [
        ("?outcome=failed", "invalid_outcome"),
        ("?since=yesterday", "invalid_since"),
        ("?limit=0", "invalid_limit"),
    ] {
        let (status, body) = app
            .admin_get(&format!("/api/admin/api-keys/{}/deliveries{query}", key.id))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], code);
    }
}

/// The server drops the keys it holds whenever any key changes (another key created, here)
/// and reads them again: a key's count of the minute's kept payloads stays.
#[tokio::test]
async fn the_payload_budget_holds_when_the_server_reads_its_keys_again() {
    // The three requests fall in one minute: not in its last ten seconds.
    let second = chrono::Utc::now().timestamp() % 60;
    if second >= 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    let app = TestApp::spawn_with(&["--delivery-payloads-per-minute", "2"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    send_groups(&app, &key.api_key, 2).await;
    app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    // The server looks for key changes every second.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let (status, answer) = app.post(&key.api_key, &group("ws_late", "pro")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let log = log_of(&app, &key.id, "").await;
    let kept: Vec<_> = log.iter().map(|d| d["hasPayload"].clone()).collect();
    assert_eq!(kept, [json!(false), json!(true), json!(true)], "{log:?}");
}

#[tokio::test]
async fn the_log_keeps_the_newest_entries_per_key_and_payloads_within_the_budget() {
    let mut app = TestApp::spawn_with(&["--delivery-payloads-per-minute", "2"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    send_groups(&app, &key.api_key, 5).await;
    let log = log_of(&app, &key.id, "").await;
    let kept: Vec<_> = log.iter().map(|d| d["hasPayload"].clone()).collect();
    assert_eq!(
        kept,
        [
            json!(false),
            json!(false),
            json!(false),
            json!(true),
            json!(true)
        ],
        "the first two payloads of the minute: {log:?}"
    );
    // A sweep runs when serve starts: with a count of 3 per key, the oldest two go.
    app.stop();
    app.set_args(&["--deliveries-per-key", "3"]);
    app.start();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = log_of(&app, &key.id, "").await;
        let orgs: Vec<_> = log.iter().map(|d| d["productOrgId"].clone()).collect();
        if orgs == [json!("ws_4"), json!("ws_3"), json!("ws_2")] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not swept: {orgs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A busy key's log is cut back to its count as soon as a count's worth more was logged, not
/// a minute later: between sweeps it holds at most one count beyond the key's.
#[tokio::test]
async fn a_busy_log_is_swept_before_the_minute_is_out() {
    let app = TestApp::spawn_with(&["--deliveries-per-key", "5"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    // serve sweeps as it starts; the next minute's sweep is a minute away.
    send_groups(&app, &key.api_key, 40).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let kept = log_of(&app, &key.id, "?limit=100").await.len();
        if kept <= 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{kept} entries kept 10 s after 40 were logged with a count of 5"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_event_of_a_v1_batch_is_an_entry_of_the_segment_intake_kept_without_its_write_key() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!({"writeKey": key.api_key, "batch": [
        group("ws_v1", "pro"),
        {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "t1"},
        {"type": "group", "writeKey": key.api_key, "traits": {"name": "No id"}, "messageId": "g2"}
    ]});
    let (status, answer) = app
        .send(
            app.client
                .post(format!("{}/v1/batch", app.base))
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");
    let log = log_of(&app, &key.id, "").await;
    let seen: Vec<_> = log
        .iter()
        .map(|d| {
            (
                d["index"].clone(),
                d["outcome"].clone(),
                d["intake"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!(2), json!("refused"), json!("segment")),
            (json!(0), json!("applied"), json!("segment")),
        ],
        "a skipped event (track on a product org key) is not an update: {log:?}"
    );
    let (_, refused) = app
        .admin_get(&format!("/api/admin/deliveries/{}", log[0]["deliveryId"]))
        .await;
    assert_eq!(refused["payload"]["traits"]["name"], "No id");
    assert!(
        !refused.to_string().contains(&key.api_key),
        "the writeKey is taken out before the payload is kept: {refused}"
    );
}

/// The breadcrumb trail a page of the UI draws, as (name, link) pairs, outermost first.
fn crumbs(page: &Page) -> Vec<(String, String)> {
    let html = &page.html;
    let nav = html
        .find("<nav class=\"crumbs\" aria-label=\"Breadcrumb\">")
        .map(|at| &html[at..at + html[at..].find("</nav>").unwrap()])
        .unwrap_or_else(|| panic!("no breadcrumbs in:\n{html}"));
    nav.split("<a href=\"")
        .skip(1)
        .map(|link| {
            let (href, rest) = link.split_once("\">").unwrap();
            (
                rest[..rest.find("</a>").unwrap()].to_owned(),
                href.to_owned(),
            )
        })
        .collect()
}

/// The HTML of the element with `id`, up to the end of the first `end` tag after it.
fn html_of<'a>(page: &'a Page, id: &str, end: &str) -> &'a str {
    let at = page
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{}", page.html));
    let rest = &page.html[at..];
    &rest[..rest.find(end).unwrap()]
}

#[tokio::test]
async fn the_web_log_and_a_delivery_read_as_words_with_their_ids_linked() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (status, answer) = app.post(&key.api_key, &group("ws_1", "pro")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let no_id = json!({"type": "group", "traits": {"name": "No id"}});
    let (status, answer) = app.post(&key.api_key, &no_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let log = log_of(&app, &key.id, "").await;
    let (refused, applied) = (&log[0], &log[1]);
    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);
    let key_trail = [
        ("API Keys", "/settings/api-keys"),
        ("test key", here.as_str()),
    ];
    let as_owned = |trail: &[(&str, &str)]| -> Vec<(String, String)> {
        let owned = trail.iter().map(|(n, h)| (n.to_string(), h.to_string()));
        owned.collect()
    };

    let page = browser.get(&format!("{here}/deliveries")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(
        crumbs(&page),
        as_owned(&key_trail),
        "up to the key, then API Keys"
    );
    let rows = html_of(&page, "log", "</table>");
    for entry in [refused, applied] {
        let (id, at) = (&entry["deliveryId"], entry["receivedAt"].as_str().unwrap());
        assert!(
            rows.contains(&format!("href=\"{here}/deliveries/{id}\">#{id}</a>")),
            "{rows}"
        );
        let time = format!("<time datetime=\"{at}\" title=\"{at}\">");
        assert!(rows.contains(&time), "{time}, relative, in {rows}");
    }
    assert!(
        rows.contains("href=\"/settings/product-orgs/ws_1\""),
        "the product org linked: {rows}"
    );
    assert!(
        rows.contains("productOrgId path <code>groupId</code>."),
        "the message's code drawn as code: {rows}"
    );
    assert!(!page.text_of("log").unwrap().contains('`'), "{rows}");

    let delivery = |entry: &Value| format!("{here}/deliveries/{}", entry["deliveryId"]);
    let mut trail = key_trail.to_vec();
    let log_link = format!("{here}/deliveries");
    trail.push(("Deliveries", &log_link));
    let page = browser.get(&delivery(applied)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(crumbs(&page), as_owned(&trail));
    let facts = html_of(&page, "facts", "</table>");
    let request = applied["requestId"].as_str().unwrap();
    for (what, shown) in [
        ("the key", format!("<a href=\"{here}\">test key</a>")),
        (
            "the time",
            format!(
                "<time datetime=\"{}\"",
                applied["receivedAt"].as_str().unwrap()
            ),
        ),
        (
            "the product org",
            "href=\"/settings/product-orgs/ws_1\"".to_owned(),
        ),
        (
            "the target org",
            format!("href=\"/settings/orgs/{}\"", applied["targetOrgId"]),
        ),
        (
            "the whole request id to copy",
            format!("data-copy-text=\"{request}\""),
        ),
    ] {
        assert!(facts.contains(&shown), "{what}: {shown} in {facts}");
    }
    let page = browser.get(&delivery(refused)).await;
    assert!(
        html_of(&page, "facts", "</table>").contains("path <code>groupId</code>."),
        "{}",
        page.html
    );
    // The payload, indented, in a box of its own that scrolls (and the keyboard reaches).
    let payload = html_of(&page, "payload", "</pre>");
    assert!(
        payload.contains("tabindex=\"0\"")
            && page.html.contains("<pre class=\"json\" id=\"payload\""),
        "{payload}"
    );
    assert!(
        page.text_of("payload")
            .unwrap()
            .contains("\n  \"traits\": {"),
        "{payload}"
    );
}

#[tokio::test]
async fn a_request_is_known_by_its_senders_request_id_or_a_new_one() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let send = |id: Option<&'static str>, org: &'static str| {
        let mut request = app
            .client
            .post(app.webhook_url(&key.api_key))
            .json(&group(org, "pro"));
        if let Some(id) = id {
            request = request.header("X-Request-Id", id);
        }
        request.send()
    };
    let answered = send(Some("cdp-retry-7f3a"), "ws_1").await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(answered.headers()["x-request-id"], "cdp-retry-7f3a");
    let mut fresh = Vec::new();
    for org in ["ws_2", "ws_3"] {
        let answered = send(None, org).await.unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        fresh.push(
            answered.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_ne!(fresh[0], fresh[1], "a new id for each request");
    assert!(fresh.iter().all(|id| id.len() == 29), "{fresh:?}");

    // The delivery log knows each update by the id its request was answered with.
    let log = log_of(&app, &key.id, "").await;
    let ids: Vec<_> = log
        .iter()
        .map(|d| (d["productOrgId"].clone(), d["requestId"].clone()))
        .collect();
    assert_eq!(
        ids,
        [
            (json!("ws_3"), json!(fresh[1])),
            (json!("ws_2"), json!(fresh[0])),
            (json!("ws_1"), json!("cdp-retry-7f3a")),
        ]
    );
}
