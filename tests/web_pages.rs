//! Every page of the web UI in real headless Chromium (`tests/browser/pages.js`), at 1280 and
//! 390 px, on a store with something on each page, with setup, sign-in and a key just created:
//! no page is wider than the window, axe-core finds no serious or critical violation, a missing
//! object inside the UI is an HTML page with the navigation, and the sign-in form and the
//! navigation work with the keyboard alone. The screenshots are saved under
//! `target/tmp/web-pages/`.

mod common;

use std::path::{Path, PathBuf};

use common::web::{setup_link, PASSWORD};
use common::{clients, run_client, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const EMAIL: &str = "ana@example.com";

/// The seed's Segment group call for `id`, at `at`, with `mrr`.
fn group(id: &str, mrr: u64, at: &str, message: &str) -> Value {
    json!({"type": "group", "groupId": id, "userId": "user_789",
           "traits": {"name": "Acme Corp Workspace", "plan": "pro_annual", "plan_name": "Pro Annual",
                      "employees": 47, "mrr": mrr, "trial_status": "converted"},
           "timestamp": at, "messageId": message})
}

/// A store with a key of each kind, accepted and refused deliveries, a template version,
/// product orgs (one id with a trailing space), target orgs and leads linked and not;
/// returns the pages to visit as (name, path).
async fn populate(app: &TestApp) -> Vec<(String, String)> {
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--name",
        "Segment production",
    ]);
    for body in [
        group("ws_abc123", 49900, "2026-01-15T10:30:00.000Z", "m1"),
        group("ws_abc123", 59900, "2026-01-16T10:30:00.000Z", "m2"),
        group("ws_abc123 ", 100, "2026-01-16T10:30:00.000Z", "m3"),
    ] {
        let (status, answer) = app.post(&key.api_key, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, _) = app
        .post(
            &key.api_key,
            &json!({"type": "group", "traits": {"name": "No id"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, template) = app
        .admin_get(&format!("/api/admin/api-keys/{}", key.id))
        .await;
    let mut template = template["template"].clone();
    template["userCount"] = json!("traits.employees");
    let (status, _) = app.put_template(&key.id, &template).await;
    assert_eq!(status, StatusCode::OK, "a second template version");
    let signals = common::leads::signal_key(app, "default");
    for (lead, org) in [("ada@acme.com", "ws_abc123"), ("bo@acme.com", "ws_missing")] {
        let (status, answer) = app
            .post_signal(
                &signals,
                &json!({"email": lead, "product_org_id": org, "signal": "Invited teammate"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let deliveries = loop {
        let (_, log) = app
            .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
            .await;
        let items = log["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= 4 {
            break items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let id_of = |status: u16| {
        let found = deliveries.iter().find(|d| d["status"] == status).unwrap();
        found["deliveryId"].as_i64().unwrap()
    };
    let (refused, accepted) = (id_of(400), id_of(200));
    let (_, org) = app.product_org("ws_abc123").await;
    let target = org["targetOrgId"].clone();
    let k = format!("/settings/api-keys/{}", key.id);
    [
        ("overview", "/".to_owned()),
        ("api-keys", "/settings/api-keys".to_owned()),
        ("key", k.clone()),
        ("deliveries", format!("{k}/deliveries")),
        ("delivery-accepted", format!("{k}/deliveries/{accepted}")),
        ("delivery-refused", format!("{k}/deliveries/{refused}")),
        ("replay", format!("{k}/replay")),
        ("replay-one", format!("{k}/deliveries/{refused}/replay")),
        ("orgs", "/settings/orgs".to_owned()),
        ("search", "/settings/orgs?q=acme".to_owned()),
        ("target-org", format!("/settings/orgs/{target}")),
        ("product-org", "/settings/product-orgs/ws_abc123".to_owned()),
        (
            "product-org-space",
            "/settings/product-orgs/ws_abc123%20".to_owned(),
        ),
        ("leads", "/settings/leads".to_owned()),
        ("leads-unlinked", "/settings/leads?linked=false".to_owned()),
        ("lead", "/settings/leads/ada%40acme.com".to_owned()),
        ("lead-unlinked", "/settings/leads/bo%40acme.com".to_owned()),
        ("missing", "/settings/product-orgs/ws_nowhere".to_owned()),
    ]
    .into_iter()
    .map(|(name, path)| (name.to_owned(), path))
    .collect()
}

#[tokio::test]
async fn every_page_fits_a_phone_and_has_no_serious_accessibility_violation() {
    let app = TestApp::spawn().await;
    // The setup link of a store without users: the script visits it, then creates the user.
    let setup = setup_link(&app);
    let pages = populate(&app).await;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-pages");
    // Kept between runs (each file is overwritten): runs at the same time share the folder.
    std::fs::create_dir_all(&shots).unwrap();
    clients();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/pages.js");
    let listed: Vec<Value> = pages
        .iter()
        .map(|(name, path)| json!({"name": name, "path": path}))
        .collect();
    let out = run_client(
        Path::new("node"),
        &script,
        &[
            ("BASE", &app.base),
            ("SETUP", &setup),
            ("TENANT", "default"),
            ("EMAIL", EMAIL),
            ("PASSWORD", PASSWORD),
            ("SHOTS", shots.to_str().unwrap()),
            ("PAGES", &Value::Array(listed).to_string()),
        ],
    )
    .await;
    let report: Value = serde_json::from_str(out.trim()).expect("one JSON report");
    assert!(report["error"].is_null(), "{}", report["error"]);
    let visited = report["pages"].as_array().unwrap();
    // The listed pages, setup, sign-in and the created key, at both widths.
    assert_eq!(
        visited.len(),
        2 * (pages.len() + 3),
        "every page at both widths"
    );
    let mut problems = Vec::new();
    for page in visited {
        let (name, width) = (&page["name"], &page["width"]);
        let expected = if name == "missing" { 404 } else { 200 };
        if page["status"] != expected {
            problems.push(format!("{name} answered {}", page["status"]));
        }
        if page["scrollWidth"].as_u64() > page["innerWidth"].as_u64() {
            problems.push(format!(
                "{name} at {width} px is {} px wide: {}",
                page["scrollWidth"], page["past"]
            ));
        }
        if !page["violations"].as_array().unwrap().is_empty() {
            problems.push(format!("{name} at {width} px: {}", page["violations"]));
        }
        let signed_out = name == "setup" || name == "sign-in";
        if !signed_out && page["hasNav"] != true {
            problems.push(format!("{name} has no navigation"));
        }
        let file = page["file"].as_str().unwrap();
        assert!(
            std::fs::metadata(file).is_ok_and(|m| m.len() > 1000),
            "{file}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let keyboard = &report["keyboard"];
    for step in ["tenant", "email", "password", "link"] {
        assert_eq!(keyboard[step], true, "Tab reaches {step}: {keyboard}");
    }
    assert_eq!(keyboard["openedAt"], "/settings/orgs", "{keyboard}");
    eprintln!("screenshots in {}", shots.display());
}
