//! The web UI in real headless Chromium (Debian's `chromium`, driven by playwright-core from
//! npm, both installed by `tests/sdk/install.sh` when missing), as a new user meets it: the
//! setup link `serve` printed, sign-in, a key built with the template builder (the endpoint
//! type menu redraws its fields at once, the preview flags a mistyped path), the seed's group
//! call sent with it, the delivery log, the org in Org Management, sign-out. Screenshots of
//! each page are saved under `target/tmp/web-ui-screenshots/`.

mod common;

use std::path::{Path, PathBuf};

use common::web::setup_link;
use common::{clients, run_client, TestApp};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn a_new_user_signs_in_creates_a_key_and_finds_the_org() {
    let app = TestApp::spawn().await;
    let setup = setup_link(&app);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-ui-screenshots");
    // Only this run's pages.
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    clients();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/ui.js");
    let out = run_client(
        Path::new("node"),
        &script,
        &[
            ("BASE", &app.base),
            ("SETUP", &setup),
            ("TENANT", "default"),
            ("EMAIL", "Ana@Example.com"),
            ("PASSWORD", PASSWORD),
            ("SHOTS", shots.to_str().unwrap()),
        ],
    )
    .await;
    let report: Value = serde_json::from_str(out.trim()).expect("one JSON report");
    assert!(report["error"].is_null(), "{}", report["error"]);
    assert_eq!(report["wrongPassword"], "Wrong tenant, email or password.");
    assert_eq!(
        report["firstSteps"], 1,
        "a new store's overview shows the steps to the first update"
    );
    assert!(
        report["apiKey"].as_str().unwrap().starts_with("tsk_po_"),
        "{report}"
    );
    assert!(report["webhookUrl"]
        .as_str()
        .unwrap()
        .ends_with(report["apiKey"].as_str().unwrap()));
    assert!(report["copyButtons"].as_u64().unwrap() >= 2, "{report}");
    assert_eq!(
        report["copied"], report["apiKey"],
        "the copy button copies the key"
    );
    let signal_fields = report["signalFields"].to_string();
    assert!(
        signal_fields.contains("path.email") && !signal_fields.contains("path.planName"),
        "choosing Signal Staging shows its fields at once: {signal_fields}"
    );
    assert_eq!(
        report["showFieldsButtons"], 0,
        "with JavaScript the menu needs no button"
    );
    let preview = report["preview"].as_str().unwrap();
    assert!(
        preview.contains("traits.employes") && preview.contains("Did you mean traits.employees?"),
        "the preview flags the mistyped path with its suggestion: {preview}"
    );
    assert!(preview.contains("Acme Corp Workspace"), "{preview}");
    let fixed = report["previewFixed"].as_str().unwrap();
    assert!(
        fixed.contains("would be applied") && !fixed.contains("Did you mean"),
        "{fixed}"
    );
    assert_eq!(report["webhookStatus"], 200, "{report}");
    assert_eq!(report["keyListed"], 1, "{report}");
    assert_eq!(report["badStatus"], 400, "{report}");
    let deliveries = report["deliveries"].as_str().unwrap();
    let lines: Vec<&str> = deliveries.lines().collect();
    assert!(
        lines[0].contains("400") && lines[0].contains("missing_product_org_id"),
        "the newest delivery is the 400 with its reason: {deliveries}"
    );
    assert!(
        deliveries.contains("200") && deliveries.contains("ws_abc123"),
        "the seed's update is listed: {deliveries}"
    );
    let target = report["targetOrgText"].as_str().unwrap();
    let product = report["productOrgText"].as_str().unwrap();
    for field in [
        "ws_abc123",
        "Acme Corp Workspace",
        "pro_annual",
        "Pro Annual",
        "47",
        // mrr is in cents: 49900 reads as 499.00.
        "499.00",
        "converted",
    ] {
        assert!(
            target.contains(field),
            "target org page lacks {field}: {target}"
        );
        assert!(
            product.contains(field),
            "product org page lacks {field}: {product}"
        );
    }
    assert!(product.contains("Change history"), "{product}");
    assert_eq!(
        report["afterSignOut"], "/login",
        "signed out, the settings redirect to sign-in"
    );
    for page in report["pages"].as_array().unwrap() {
        let file = page["file"].as_str().unwrap();
        assert!(
            std::fs::metadata(file).is_ok_and(|m| m.len() > 1000),
            "{file}"
        );
    }
    eprintln!("screenshots in {}", shots.display());
}
