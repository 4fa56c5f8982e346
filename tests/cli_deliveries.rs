//! `trailspark deliveries list|show|replay`: the delivery log and replay from the command
//! line, on the store a running `serve` writes.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_cli_lists_shows_and_replays_a_keys_deliveries() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let body = json!({"org": {"id": "ws_cli"}, "workspace_name": "From the CLI"});
    let (status, _) = app.post(&key.api_key, &body).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the flat preset reads workspace_id"
    );

    let listed = app.cli_json(&["deliveries", "list", "--tenant", "default", &key.id]);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["code"], "missing_product_org_id");
    let id = items[0]["deliveryId"].to_string();
    let shown = app.cli_json(&["deliveries", "show", "--tenant", "default", &id]);
    assert_eq!(shown["payload"], body);

    let file = app.write_file(
        "fixed.json",
        &json!({"productOrgId": "org.id", "name": "workspace_name"}).to_string(),
    );
    app.cli_json(&[
        "key",
        "template",
        "set",
        "--tenant",
        "default",
        &key.id,
        "--template",
        file.to_str().unwrap(),
    ]);
    let replayed = app.cli_json(&[
        "deliveries",
        "replay",
        "--tenant",
        "default",
        &key.id,
        "--refused",
    ]);
    assert_eq!(replayed["replayed"], 1, "{replayed}");
    assert_eq!(replayed["results"][0]["status"], 200, "{replayed}");
    let (_, org) = app.product_org("ws_cli").await;
    assert_eq!(org["name"], "From the CLI");

    let text = app.cli(&["deliveries", "list", "--tenant", "default", &key.id]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("applied") && text.contains("ws_cli"),
        "{text}"
    );
    assert!(text.contains("missing_product_org_id"), "{text}");
    let missing = app.cli(&["deliveries", "show", "--tenant", "default", "999999"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no delivery 999999"),
        "{missing:?}"
    );
}
