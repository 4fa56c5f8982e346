//! `trailspark key create` prints the webhook URL to paste into the CDP: from
//! `TRAILSPARK_PUBLIC_URL` (what `serve --public-url` reads) when it is set, so the line can be
//! pasted as it is; with a placeholder host otherwise.

mod common;

use std::process::Command;

use common::{TestApp, BIN};

fn key_create(app: &TestApp, public_url: Option<&str>) -> (String, String) {
    let mut command = Command::new(BIN);
    command
        .args([
            "key",
            "create",
            "--tenant",
            "default",
            "--type",
            "product-org-updates",
            "--name",
            "Segment",
            "--preset",
            "segment",
        ])
        .env("TRAILSPARK_DATABASE_URL", &app.database)
        .env_remove("TRAILSPARK_PUBLIC_URL");
    if let Some(url) = public_url {
        command.env("TRAILSPARK_PUBLIC_URL", url);
    }
    let out = command.output().expect("run trailspark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_webhook_url_comes_from_the_public_url_when_it_is_set() {
    let app = TestApp::spawn().await;
    let (shown, _) = key_create(&app, Some("https://ts.example.com"));
    assert!(
        shown.contains("Webhook: POST https://ts.example.com/api/product-orgs/webhook/tsk_po_"),
        "{shown}"
    );

    let (shown, _) = key_create(&app, None);
    assert!(
        shown.contains(
            "Webhook: POST https://<your trailspark host>/api/product-orgs/webhook/tsk_po_"
        ),
        "{shown}"
    );

    let (shown, said) = key_create(&app, Some("ts.example.com/path"));
    assert!(
        shown.contains("https://<your trailspark host>/api/"),
        "{shown}"
    );
    assert!(
        said.contains("TRAILSPARK_PUBLIC_URL"),
        "the bad setting is named: {said}"
    );
}
