//! Replay over HTTP (SPEC §6): updates refused by a mapping mistake are re-applied through the
//! fixed template at their original time; newer data is never overwritten, replaying twice
//! applies once, and every replay is logged with `replayOf`. Also the web UI's replay pages:
//! the confirmations and the result, with their way back and their ids linked.

mod common;

use common::web::{Browser, Page};
use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn replay(app: &TestApp, key_id: &str, body: &Value) -> (StatusCode, Value) {
    app.admin_send(
        Method::POST,
        &format!("/api/admin/api-keys/{key_id}/deliveries/replay"),
        Some(body),
    )
    .await
}

fn row(id: &str, plan: &str, at: &str) -> Value {
    json!({"workspace_id": id, "workspace_name": "Acme", "plan": plan, "updated_at": at})
}

#[tokio::test]
async fn refused_updates_replay_through_the_fixed_template_without_overwriting_newer_data() {
    let app = TestApp::spawn().await;
    // The typo: `workspaceid` finds nothing, so every update is refused.
    let typo = json!({"productOrgId": "workspaceid", "name": "workspace_name",
                      "planId": "plan", "eventTimestamp": "updated_at"});
    let key = app.key_with_template(&typo);
    let sent = [
        row("ws_1", "starter", "2026-11-01T00:00:00Z"),
        row("ws_2", "pro", "2026-11-01T00:00:00Z"),
        row("ws_1", "pro", "2026-11-02T00:00:00Z"),
    ];
    // No event time: its receive time stands for it, and a replay keeps that time.
    let untimed = json!({"workspace_id": "ws_3", "plan": "starter"});
    for body in sent.iter().chain([&untimed]) {
        let (status, answer) = app.post(&key.api_key, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let mut fixed = typo.clone();
    fixed["productOrgId"] = json!("workspace_id");
    let (status, _) = app.put_template(&key.id, &fixed).await;
    assert_eq!(status, StatusCode::OK);
    // Meanwhile ws_2 moved on: a newer event than the refused one.
    let newer = row("ws_2", "enterprise", "2026-11-05T00:00:00Z");
    loop {
        let (status, _) = app.post(&key.api_key, &newer).await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, _) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "ws_3", "plan": "pro"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, first) = replay(&app, &key.id, &json!({"outcome": "refused"})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The four refused, and the newer one for each time the server still read it with the
    // typo'd template (it picks the change up within its key refresh interval).
    let results = first["results"].as_array().unwrap();
    let replayed = results.len();
    assert!(replayed >= 4, "{first}");
    assert_eq!(first["replayed"], replayed);
    assert!(results.iter().all(|r| r["status"] == 200), "{first}");
    assert_eq!(results[0]["body"]["productOrgId"], "ws_1");
    assert_eq!(results[0]["body"]["isNewOrg"], true);
    let (_, ws_1) = app.product_org("ws_1").await;
    assert_eq!(
        ws_1["planId"], "pro",
        "the later of ws_1's two events wins: {ws_1}"
    );
    let (_, ws_2) = app.product_org("ws_2").await;
    assert_eq!(
        ws_2["planId"], "enterprise",
        "an older event never overwrites: {ws_2}"
    );
    let (_, ws_3) = app.product_org("ws_3").await;
    assert_eq!(
        ws_3["planId"], "pro",
        "replayed at its original receive time: {ws_3}"
    );

    let (_, again) = replay(&app, &key.id, &json!({"outcome": "refused"})).await;
    let changed: Vec<_> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"]["changed"].clone())
        .collect();
    assert_eq!(
        changed,
        vec![json!(false); replayed],
        "replaying twice applies once: {again}"
    );

    let (_, log) = app
        .admin_get(&format!(
            "/api/admin/api-keys/{}/deliveries?limit=200",
            key.id
        ))
        .await;
    let replays: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["replayOf"].is_null())
        .collect();
    assert_eq!(replays.len(), 2 * replayed, "each replay is logged: {log}");
    assert!(replays.iter().all(|d| d["templateVersion"] == 2));
    let refused_ids: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "refused")
        .map(|d| d["deliveryId"].clone())
        .collect();
    assert!(
        replays.iter().all(|d| refused_ids.contains(&d["replayOf"])),
        "replayOf names the refused delivery: {log}"
    );
}

#[tokio::test]
async fn chosen_deliveries_replay_alone_and_another_keys_are_not_found() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let other = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    for n in 0..2 {
        let (status, _) = app
            .post(
                &key.api_key,
                &json!({"workspace_name": format!("No id {n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    app.post(&other.api_key, &json!({"workspace_id": "ws_o"}))
        .await;
    let (_, log) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    let newest = log["items"][0]["deliveryId"].clone();
    let (status, answer) = replay(&app, &key.id, &json!({"deliveryIds": [newest]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["replayed"], 1);
    assert_eq!(answer["results"][0]["deliveryId"], newest);
    assert_eq!(
        answer["results"][0]["status"], 400,
        "still refused: {answer}"
    );
    assert_eq!(
        answer["results"][0]["body"]["code"],
        "missing_product_org_id"
    );

    let (_, theirs) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", other.id))
        .await;
    let (status, _) = replay(
        &app,
        &key.id,
        &json!({"deliveryIds": [theirs["items"][0]["deliveryId"]]}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = replay(&app, &key.id, &json!({"outcome": "applied"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

/// The `<nav class="crumbs">` of a page, whole.
fn crumbs(page: &Page) -> &str {
    let at = page
        .html
        .find("<nav class=\"crumbs\"")
        .unwrap_or_else(|| panic!("no breadcrumbs in:\n{}", page.html));
    let rest = &page.html[at..];
    &rest[..rest.find("</nav>").unwrap()]
}

/// The HTML of the table with `id`.
fn table<'a>(page: &'a Page, id: &str) -> &'a str {
    let at = page
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{}", page.html));
    let rest = &page.html[at..];
    &rest[..rest.find("</table>").unwrap()]
}

#[tokio::test]
async fn the_web_replay_pages_lead_back_and_link_what_they_list() {
    let app = TestApp::spawn().await;
    let typo = json!({"productOrgId": "workspaceid", "name": "workspace_name"});
    let key = app.key_with_template(&typo);
    let (status, answer) = app
        .post(&key.api_key, &row("ws_1", "pro", "2026-11-01T00:00:00Z"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (_, log) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    let refused = log["items"][0].clone();
    let fixed = json!({"productOrgId": "workspace_id", "name": "workspace_name"});
    assert_eq!(app.put_template(&key.id, &fixed).await.0, StatusCode::OK);
    let browser = Browser::new_user(&app).await;
    let here = format!("/settings/api-keys/{}", key.id);
    let id = &refused["deliveryId"];
    let trail = format!(
        "<li><a href=\"/settings/api-keys\">API Keys</a></li><li><a href=\"{here}\">test key</a></li>\
         <li><a href=\"{here}/deliveries\">Deliveries</a></li>"
    );

    for path in [
        format!("{here}/replay"),
        format!("{here}/deliveries/{id}/replay"),
    ] {
        let confirm = browser.get(&path).await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
        assert!(
            crumbs(&confirm).contains(&trail),
            "{path}: {}",
            crumbs(&confirm)
        );
        let listed = table(&confirm, "to-replay");
        let at = refused["receivedAt"].as_str().unwrap();
        for shown in [
            format!("href=\"{here}/deliveries/{id}\">#{id}</a>"),
            format!("<time datetime=\"{at}\""),
            "path <code>workspaceid</code>".to_owned(),
        ] {
            assert!(listed.contains(&shown), "{path}: {shown} in {listed}");
        }
        assert!(
            !confirm.text_of("to-replay").unwrap().contains('`'),
            "{listed}"
        );
    }

    let confirm = browser.get(&format!("{here}/replay")).await;
    let done = browser
        .press(&confirm.form(&format!("{here}/replay")), "x", "")
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(crumbs(&done).contains(&trail), "{}", crumbs(&done));
    let results = table(&done, "replayed");
    for shown in [
        format!("href=\"{here}/deliveries/{id}\">#{id}</a>"),
        "href=\"/settings/product-orgs/ws_1\"".to_owned(),
    ] {
        assert!(results.contains(&shown), "{shown} in {results}");
    }
}
