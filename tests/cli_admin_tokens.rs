//! `trailspark admin-token create|list|revoke` (issue 18): tokens have an id and a name, may
//! expire, are listed without the token (or its hash), and can be revoked. What a running
//! server does with them is tests/admin_tokens.rs.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use serde_json::{json, Value};
use sha2::Sha256;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `create` prints the token once, in the shape it always had, now with an id; `list` shows
/// each token without it or its hash, `revoke` keeps the first revocation time.
#[tokio::test]
async fn admin_tokens_are_listed_without_the_token_and_revoked() {
    let app = TestApp::spawn().await;
    let before = chrono::Utc::now();
    let created = app.cli_json(&[
        "admin-token",
        "create",
        "--tenant",
        "default",
        "--name",
        "lead scoring",
        "--expires-in",
        "30",
    ]);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tsa_") && token.len() >= 32, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("adm_"), "{created}");
    assert_eq!(created["name"], json!("lead scoring"));
    let expires: chrono::DateTime<chrono::Utc> =
        created["expiresAt"].as_str().unwrap().parse().unwrap();
    let in_30_days = expires - before;
    assert!(
        in_30_days >= chrono::Duration::days(30)
            && in_30_days < chrono::Duration::days(30) + chrono::Duration::minutes(1),
        "--expires-in 30 is 30 days: {created}"
    );
    let plain = app.cli(&["admin-token", "create", "--tenant", "default"]);
    let plain = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(
        plain.contains("shown once") && plain.contains("tsa_") && plain.contains("Bearer"),
        "the text output keeps its shape: {plain}"
    );

    // Used once, so that the list can say when.
    let (status, body) = app
        .send(
            app.client
                .get(format!("{}/api/admin/api-keys", app.base))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let hash = hex::encode(<Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let listed_entry = |app: &TestApp| {
        let list = app.cli_json(&["admin-token", "list", "--tenant", "default"]);
        let text = list.to_string();
        assert!(
            !text.contains(&token) && !text.to_lowercase().contains(&hash),
            "the list shows neither the token nor its hash: {text}"
        );
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {text}"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let entry = loop {
        let entry = listed_entry(&app);
        if entry["lastUsedAt"].is_string() {
            break entry;
        }
        assert!(
            Instant::now() < deadline,
            "lastUsedAt never recorded: {entry}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry["name"], json!("lead scoring"));
    assert_eq!(entry["expiresAt"], created["expiresAt"]);
    assert_eq!(entry["revokedAt"], Value::Null);
    assert_eq!(entry["status"], json!("active"));
    assert!(entry["createdAt"].is_string(), "{entry}");
    let human = app.cli(&["admin-token", "list", "--tenant", "default"]);
    let human = String::from_utf8_lossy(&human.stdout).into_owned();
    assert!(
        human.contains(&id) && human.contains("lead scoring") && !human.contains(&token),
        "{human}"
    );
    assert!(!human.to_lowercase().contains(&hash), "{human}");

    let revoked = app.cli_json(&["admin-token", "revoke", "--tenant", "default", &id]);
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    assert!(!revoked.to_string().contains(&token), "{revoked}");
    let again = app.cli_json(&["admin-token", "revoke", "--tenant", "default", &id]);
    assert_eq!(
        again["revokedAt"], revoked["revokedAt"],
        "a token keeps its first revocation time"
    );
    assert_eq!(listed_entry(&app)["status"], json!("revoked"));
    let out = app.cli(&["admin-token", "revoke", "--tenant", "default", "adm_nosuch"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no admin token"), "{}", stderr(&out));
}

#[tokio::test]
async fn admin_token_options_are_checked() {
    let app = TestApp::spawn().await;
    let help =
        String::from_utf8_lossy(&app.cli(&["admin-token", "create", "--help"]).stdout).into_owned();
    for flag in ["--tenant", "--name", "--expires-in", "--expires-at"] {
        assert!(
            help.contains(flag),
            "admin-token create --help mentions {flag}"
        );
    }
    for (args, reason) in [
        (vec!["--expires-in", "0"], "at least 1"),
        (vec!["--expires-in", "-3"], "--expires-in"),
        (vec!["--expires-in", "soon"], "--expires-in"),
        (vec!["--expires-in", "40000"], "at most"),
        (
            vec!["--expires-at", "2001-01-01T00:00:00Z"],
            "not in the future",
        ),
        (vec!["--expires-at", "tomorrow"], "RFC 3339"),
        (
            vec!["--expires-in", "3", "--expires-at", "2099-01-01T00:00:00Z"],
            "cannot be used with",
        ),
        (vec!["--name", "  "], "name"),
    ] {
        let mut all = vec!["admin-token", "create", "--tenant", "default"];
        all.extend_from_slice(&args);
        let out = app.cli(&all);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(stderr(&out).contains(reason), "{args:?}: {}", stderr(&out));
    }
    let out = app.cli(&["admin-token", "list", "--tenant", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tenant create nosuch"),
        "{}",
        stderr(&out)
    );
    let listed = app.cli_json(&["admin-token", "list", "--tenant", "default"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "only the harness's own token exists: {listed}"
    );
}
