//! Key health (SPEC §6) against the real binary: deliveries of every kind sent over HTTP, then
//! the figures as the admin API, the CLI and the key's web page show them, and the per-key
//! counts of `/metrics`.

mod common;

use common::web::Browser;
use common::{Key, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The seed's advice for the Hightouch preset's `last_active_at` column.
const HIGHTOUCH_ADVICE: &str = "remove the column `last_active_at` from the Hightouch model (or \
    exclude it from change detection): it changes on every sync and makes every row look changed";

/// A Hightouch row of `ws_vol` last active `minute` minutes into the day.
fn row(minute: u32, plan: &str) -> Value {
    json!({"workspace_id": "ws_vol", "workspace_name": "Volatile", "plan_id": plan,
           "last_active_at": format!("2026-01-15T10:{minute:02}:00Z")})
}

/// Sends the deliveries of the test: 22 applied (the creation, 20 changes of
/// `last_active_at` alone, one of the plan too), one unchanged, and three refused (two
/// without a workspace id, one with a bad user count). Returns the refusals' answers.
async fn send_deliveries(app: &TestApp, key: &Key) -> Vec<Value> {
    let send = async |body: Value, expected: StatusCode| {
        let (status, answer) = app.post(&key.api_key, &body).await;
        assert_eq!(status, expected, "{body} → {answer}");
        answer
    };
    send(row(0, "free"), StatusCode::OK).await;
    for minute in 1..=20 {
        let answer = send(row(minute, "free"), StatusCode::OK).await;
        assert_eq!(answer["changed"], true, "{answer}");
    }
    send(row(21, "pro"), StatusCode::OK).await;
    let answer = send(row(21, "pro"), StatusCode::OK).await;
    assert_eq!(answer["changed"], false, "the same row again: {answer}");
    let mut refused = Vec::new();
    for name in ["No id", "Still no id"] {
        let body = json!({"workspace": "ws_vol", "workspace_name": name});
        refused.push(send(body, StatusCode::BAD_REQUEST).await);
    }
    let body = json!({"workspace_id": "ws_vol", "user_count": "many"});
    refused.push(send(body, StatusCode::UNPROCESSABLE_ENTITY).await);
    refused
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

/// The newest delivery of the key refused with `code`, by the admin API.
async fn newest_refused(app: &TestApp, key: &Key, code: &str) -> i64 {
    let (_, log) = app
        .admin_get(&format!(
            "/api/admin/api-keys/{}/deliveries?outcome=refused",
            key.id
        ))
        .await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .and_then(|d| d["deliveryId"].as_i64())
        .unwrap_or_else(|| panic!("no {code} in {log}"))
}

#[tokio::test]
async fn health_shows_shares_errors_and_the_volatile_field_everywhere() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "hightouch"]);
    let refused = send_deliveries(&app, &key).await;

    let (status, health) = app
        .admin_get(&format!("/api/admin/api-keys/{}/health", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["updates"], 26, "{health}");
    assert!(close(&health["refusedShare"], 3.0 / 26.0), "{health}");
    assert!(close(&health["unchangedShare"], 1.0 / 26.0), "{health}");
    let invalid = refused[2]["code"].as_str().unwrap().to_owned();
    assert_eq!(
        health["topErrors"],
        json!([
            {"code": "missing_product_org_id", "count": 2, "example": {
                "deliveryId": newest_refused(&app, &key, "missing_product_org_id").await,
                "message": refused[1]["message"]}},
            {"code": invalid, "count": 1, "example": {
                "deliveryId": newest_refused(&app, &key, &invalid).await,
                "message": refused[2]["message"]}},
        ]),
        "{health}"
    );
    assert_eq!(
        health["changingUpdates"], 21,
        "the creation is not one: {health}"
    );
    let fields: Vec<_> = health["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap(),
                f["changedShare"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(fields, [("lastActiveAt", 1.0), ("planId", 1.0 / 21.0)]);
    let volatile = health["volatileFields"].as_array().unwrap();
    assert_eq!(volatile.len(), 1, "{health}");
    assert_eq!(volatile[0]["field"], "lastActiveAt");
    assert!(
        close(&volatile[0]["onlyChangeShare"], 20.0 / 21.0),
        "{health}"
    );
    assert_eq!(volatile[0]["advice"], HIGHTOUCH_ADVICE);
    let hours = health["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24, "every hour of the window: {health}");
    let sum = |outcome: &str| {
        hours
            .iter()
            .map(|h| h[outcome].as_u64().unwrap())
            .sum::<u64>()
    };
    let sums = ["applied", "unchanged", "duplicate", "refused"].map(sum);
    assert_eq!(sums, [22, 1, 0, 3], "{health}");

    let cli = app.cli_json(&["key", "health", "--tenant", "default", &key.id]);
    for figure in [
        "updates",
        "refusedShare",
        "unchangedShare",
        "topErrors",
        "changingUpdates",
        "fields",
        "volatileFields",
    ] {
        assert_eq!(cli[figure], health[figure], "the CLI's {figure}: {cli}");
    }
    let text = app.cli(&["key", "health", "--tenant", "default", &key.id]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for said in ["updates     26", "missing_product_org_id", HIGHTOUCH_ADVICE] {
        assert!(text.contains(said), "{said:?} missing from:\n{text}");
    }

    let browser = Browser::new_user(&app).await;
    let page = browser.get(&format!("/settings/api-keys/{}", key.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    let chart = page
        .html
        .find("<svg id=\"health-chart\"")
        .map(|at| &page.html[at..at + page.html[at..].find("</svg>").unwrap()])
        .unwrap_or_else(|| panic!("no chart in:\n{}", page.html));
    // It scales with the page: a viewBox and no fixed size (the stylesheet sets its width).
    let svg_tag = &chart[..chart.find('>').unwrap()];
    assert!(
        svg_tag.contains("viewBox=")
            && !svg_tag.contains(" width=")
            && !svg_tag.contains(" height="),
        "{chart}"
    );
    assert!(
        chart.contains("<title id=\"health-chart-title\">"),
        "{chart}"
    );
    let outcomes = [
        ("applied", true),
        ("unchanged", true),
        ("duplicate", false),
        ("refused", true),
    ];
    for (outcome, present) in outcomes {
        let bar = format!("class=\"bar {outcome}\"");
        assert_eq!(
            chart.contains(&bar),
            present,
            "{bar} in the chart:\n{chart}"
        );
    }
    // The advice and the messages quote names as Markdown `code`: drawn as code, no backticks.
    let advice = HIGHTOUCH_ADVICE.replace("`last_active_at`", "<code>last_active_at</code>");
    assert!(
        page.html.contains(&advice),
        "the advice on the page:\n{}",
        page.html
    );
    let top = &page.html[page.html.find("id=\"top-errors\"").unwrap()..];
    let top = &top[..top.find("</table>").unwrap()];
    assert!(
        top.contains("path <code>workspace_id</code>; did you mean <code>workspace</code>?"),
        "the top error's message with its code drawn as code: {top}"
    );
    assert!(!page.text_of("top-errors").unwrap().contains('`'), "{top}");
    // The way back up: API Keys.
    assert!(
        page.html.contains(
            "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/settings/api-keys\">\
             API Keys</a></li></ol></nav>"
        ),
        "{}",
        page.html
    );
    // Times read relative, the exact time kept in `datetime`.
    let health = page.text_of("health").unwrap();
    assert!(health.contains("(since 23 h ago)"), "{health}");
    assert!(
        page.html.contains("(since <time datetime=\""),
        "the window's start as a <time>: {}",
        page.html
    );
    let refused_share = page.text_of("refused-share").unwrap();
    assert_eq!(refused_share, "11.5 % (3)");
    let example = newest_refused(&app, &key, "missing_product_org_id").await;
    let link = format!(
        "href=\"/settings/api-keys/{}/deliveries/{example}\"",
        key.id
    );
    assert!(page.html.contains(&link), "{link} missing");

    let metrics = app.metrics_text().await;
    let id = &key.id;
    for line in [
        format!("trailspark_refused_total{{key_id=\"{id}\",code=\"missing_product_org_id\"}} 2"),
        format!("trailspark_refused_total{{key_id=\"{id}\",code=\"{invalid}\"}} 1"),
        format!("trailspark_updates_total{{key_id=\"{id}\",changed=\"true\"}} 22"),
        format!("trailspark_updates_total{{key_id=\"{id}\",changed=\"false\"}} 1"),
    ] {
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test]
async fn a_signal_keys_health_and_counts_and_another_tenants_key_not_found() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "signal-staging", "--preset", "segment"]);
    let signal = json!({"type": "track", "userId": "lead_1", "event": "Signed Up",
                        "messageId": "sig_1"});
    // The second is a duplicate (its messageId again).
    for _ in 0..2 {
        let (status, answer) = app.post_signal(&key.api_key, &signal).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, refused) = app
        .post_signal(&key.api_key, &json!({"type": "track", "event": "No one"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let code = refused["code"].as_str().unwrap();

    let (status, health) = app
        .admin_get(&format!("/api/admin/api-keys/{}/health", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["updates"], 3, "{health}");
    assert_eq!(health["topErrors"][0]["code"], code, "{health}");
    assert_eq!(
        health["fields"],
        json!([]),
        "a signal changes no product org field"
    );

    let metrics = app.metrics_text().await;
    let id = &key.id;
    for line in [
        format!("trailspark_updates_total{{key_id=\"{id}\",changed=\"true\"}} 1"),
        format!("trailspark_duplicates_total{{key_id=\"{id}\"}} 1"),
        format!("trailspark_refused_total{{key_id=\"{id}\",code=\"{code}\"}} 1"),
    ] {
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }

    app.cli_json(&["tenant", "create", "other"]);
    let token = app.cli_json(&["admin-token", "create", "--tenant", "other"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for key_id in [key.id.as_str(), "key_unknown"] {
        let (status, body) = app
            .send(
                app.client
                    .get(format!("{}/api/admin/api-keys/{key_id}/health", app.base))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{key_id}: {body}");
        assert_eq!(body["code"], "not_found", "{body}");
    }
}

/// Key health counts every delivery of the day, not what the log still keeps: a key with
/// more deliveries than `--deliveries-per-key` is counted whole after the sweep (which runs
/// as `serve` starts, then every minute) has cut its log.
#[tokio::test]
async fn a_busy_keys_health_counts_the_deliveries_its_log_no_longer_keeps() {
    let mut app = TestApp::spawn_with(&["--deliveries-per-key", "4"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "hightouch"]);
    send_deliveries(&app, &key).await;
    app.restart();
    let log_path = format!("/api/admin/api-keys/{}/deliveries?limit=100", key.id);
    let mut kept = usize::MAX;
    for _ in 0..100 {
        let (status, log) = app.admin_get(&log_path).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        kept = log["items"].as_array().map_or(usize::MAX, Vec::len);
        if kept == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        kept, 4,
        "the sweep cut the log to the key's newest 4 entries"
    );

    let (status, health) = app
        .admin_get(&format!("/api/admin/api-keys/{}/health", key.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["updates"], 26, "{health}");
    assert!(close(&health["refusedShare"], 3.0 / 26.0), "{health}");
    assert_eq!(health["topErrors"][0]["code"], "missing_product_org_id");
    assert_eq!(health["topErrors"][0]["count"], 2, "{health}");
    assert_eq!(health["changingUpdates"], 21, "{health}");
    assert_eq!(
        health["volatileFields"][0]["field"], "lastActiveAt",
        "{health}"
    );

    let browser = Browser::new_user(&app).await;
    let page = browser.get("/").await;
    let totals = page.text_of("delivery-totals").unwrap_or_default();
    assert!(
        totals.starts_with("26 updates: 22 applied, 1 unchanged, 0 duplicate, 3 refused"),
        "the overview counts them all too: {totals}"
    );
}
