//! `trailspark key show` and `key template show|set` (SPEC §5–6): a key's template is read
//! and changed on the command line, each change a new version that the running server uses.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_template_commands_explain_themselves() {
    let app = TestApp::spawn().await;
    for (args, needles) in [
        (
            vec!["key", "show", "--help"],
            vec!["--tenant", "current template"],
        ),
        (
            vec!["key", "template", "show", "--help"],
            vec!["--tenant", "--version <N>", "earlier version"],
        ),
        (
            vec!["key", "template", "set", "--help"],
            vec![
                "--tenant",
                "--template <FILE>",
                "--preset",
                "next version",
                "every reason",
            ],
        ),
    ] {
        let out = app.cli(&args);
        assert!(out.status.success(), "{args:?}");
        let help = stdout(&out);
        for needle in needles {
            assert!(help.contains(needle), "{args:?} explains {needle}:\n{help}");
        }
    }
}

#[tokio::test]
async fn key_show_has_the_fields_template_and_version_never_the_key() {
    let app = TestApp::spawn().await;
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--name",
        "Seg",
    ]);
    let shown = app.cli_json(&["key", "show", "--tenant", "default", &key.id]);
    assert_eq!(
        (
            &shown["id"],
            &shown["name"],
            &shown["type"],
            &shown["templateVersion"]
        ),
        (
            &json!(key.id),
            &json!("Seg"),
            &json!("product-org-updates"),
            &json!(1)
        ),
        "{shown}"
    );
    assert_eq!(
        shown["template"]["productOrgId"],
        json!("groupId"),
        "{shown}"
    );
    for field in [
        "prefix",
        "createdAt",
        "expiresAt",
        "lastUsedAt",
        "revokedAt",
    ] {
        assert!(shown.get(field).is_some(), "{field}: {shown}");
    }
    assert!(!shown.to_string().contains(&key.api_key), "never the key");
    let text = stdout(&app.cli(&["key", "show", "--tenant", "default", &key.id]));
    assert!(
        text.contains("Seg") && text.contains("version 1") && text.contains("\"groupId\""),
        "{text}"
    );
    assert!(!text.contains(&key.api_key), "{text}");
    let out = app.cli(&["key", "show", "--tenant", "default", "key_nosuch"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no key key_nosuch"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn key_template_set_makes_versions_that_show_and_the_server_reads() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let file = app.write_file(
        "next.json",
        &json!({"productOrgId": "org.id", "name": "org.name"}).to_string(),
    );
    let set = |source: &[&str]| {
        let mut args = vec!["key", "template", "set", "--tenant", "default", &key.id];
        args.extend_from_slice(source);
        app.cli_json(&args)
    };
    assert_eq!(
        set(&["--template", file.to_str().unwrap()]),
        json!({"templateVersion": 2})
    );

    let body = json!({"org": {"id": "ws_cli", "name": "From the CLI"}});
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, answer) = app.post(&key.api_key, &body).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve never used version 2: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, org) = app.product_org("ws_cli").await;
    assert_eq!(org["name"], json!("From the CLI"));

    let text = stdout(&app.cli(&[
        "key", "template", "set", "--tenant", "default", &key.id, "--preset", "segment",
    ]));
    assert!(text.contains("version 3"), "{text}");

    let show = |version: Option<&str>| {
        let mut args = vec!["key", "template", "show", "--tenant", "default", &key.id];
        args.extend(version.map(|v| ["--version", v]).into_iter().flatten());
        app.cli_json(&args)
    };
    let current = show(None);
    assert_eq!(
        (
            &current["templateVersion"],
            &current["template"]["productOrgId"],
            &current["createdBy"]
        ),
        (&json!(3), &json!("groupId"), &json!("cli")),
        "{current}"
    );
    assert!(current["createdAt"].is_string(), "{current}");
    assert_eq!(show(Some("2"))["template"]["name"], json!("org.name"));
    assert_eq!(
        show(Some("1"))["template"]["productOrgId"],
        json!("workspace_id")
    );
    let out = app.cli(&[
        "key",
        "template",
        "show",
        "--tenant",
        "default",
        &key.id,
        "--version",
        "9",
    ]);
    assert!(!out.status.success(), "there is no version 9");
    assert!(stderr(&out).contains("1 to 3"), "{}", stderr(&out));
    let text = stdout(&app.cli(&[
        "key",
        "template",
        "show",
        "--tenant",
        "default",
        &key.id,
        "--version",
        "1",
    ]));
    assert!(
        text.contains("version 1") && text.contains("workspace_id"),
        "{text}"
    );
}

#[tokio::test]
async fn key_template_set_refuses_invalid_templates_unknown_and_revoked_keys() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let bad = app.write_file(
        "bad.json",
        &json!({"name": "a..b", "plan": "p", "customFields": {"x": 3}}).to_string(),
    );
    let out = app.cli(&[
        "key",
        "template",
        "set",
        "--tenant",
        "default",
        &key.id,
        "--template",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "an invalid template is refused");
    let said = stderr(&out);
    for reason in [
        "`plan`",
        "`productOrgId` is required",
        "empty segment",
        "customFields.x",
    ] {
        assert!(said.contains(reason), "every reason, {reason} too: {said}");
    }
    let shown: Value = app.cli_json(&["key", "show", "--tenant", "default", &key.id]);
    assert_eq!(shown["templateVersion"], json!(1), "nothing changed");

    app.cli_json(&["tenant", "create", "other"]);
    for (tenant, id) in [("default", "key_nosuch"), ("other", key.id.as_str())] {
        let out = app.cli(&[
            "key", "template", "set", "--tenant", tenant, id, "--preset", "segment",
        ]);
        assert!(!out.status.success(), "{tenant} {id}");
        assert!(
            stderr(&out).contains(&format!("no key {id}")),
            "{}",
            stderr(&out)
        );
        let out = app.cli(&["key", "template", "show", "--tenant", tenant, id]);
        assert!(!out.status.success(), "{tenant} {id}");
    }

    app.cli_json(&["key", "revoke", "--tenant", "default", &key.id]);
    let out = app.cli(&[
        "key", "template", "set", "--tenant", "default", &key.id, "--preset", "segment",
    ]);
    assert!(
        !out.status.success(),
        "a revoked key's template does not change"
    );
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    let current = app.cli_json(&["key", "template", "show", "--tenant", "default", &key.id]);
    assert_eq!(current["templateVersion"], json!(1), "but it is still read");
}
