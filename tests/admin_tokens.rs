//! Issue 18: admin tokens expire and can be revoked, and a running server (every instance of
//! it) stops taking a revoked token within its key refresh interval, an expired one at once.
//! The token is made, listed and revoked with the CLI, another process than the server, as an
//! operator (or a second instance) would.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

/// The serve processes of these tests refresh every 100 ms (see `common::TestApp`); a revoke
/// must reach them within a few of those, even on a busy machine.
const REVOKE_DEADLINE: Duration = Duration::from_secs(3);

/// An admin read with `token`: its status and body.
async fn admin_read(app: &TestApp, base: &str, token: &str) -> (StatusCode, Value) {
    app.send(
        app.client
            .get(format!("{base}/api/admin/api-keys"))
            .bearer_auth(token),
    )
    .await
}

/// `admin-token create --json` for `tenant` with `extra` options.
fn create_token(app: &TestApp, tenant: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["admin-token", "create", "--tenant", tenant];
    args.extend_from_slice(extra);
    let created = app.cli_json(&args);
    let text = |field: &str| {
        created[field]
            .as_str()
            .unwrap_or_else(|| panic!("`admin-token create` printed its {field}: {created}"))
            .to_owned()
    };
    (text("id"), text("token"))
}

/// Polls `token` on `base` until it is refused, within [`REVOKE_DEADLINE`] of `since`.
async fn refused_within_deadline(app: &TestApp, base: &str, token: &str, since: Instant) {
    loop {
        let (status, body) = admin_read(app, base, token).await;
        if status == StatusCode::UNAUTHORIZED {
            let (_, unknown) = admin_read(app, base, "tsa_never_issued").await;
            assert_eq!(
                body, unknown,
                "a revoked token is answered as an unknown one"
            );
            return;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            since.elapsed() < REVOKE_DEADLINE,
            "{base} still takes the token {:?} after `admin-token revoke`",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_token_revoked_while_the_server_runs_is_refused_within_the_refresh() {
    let app = TestApp::spawn().await;
    let (id, token) = create_token(&app, "default", &["--name", "lead scoring"]);
    // Used first, so the server holds it in memory as found.
    for _ in 0..3 {
        let (status, body) = admin_read(&app, &app.base, &token).await;
        assert_eq!(status, StatusCode::OK, "a new token works: {body}");
    }
    let (status, _) = admin_read(&app, &app.base, &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);

    let revoked = app.cli_json(&["admin-token", "revoke", "--tenant", "default", &id]);
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    refused_within_deadline(&app, &app.base, &token, Instant::now()).await;
    let (status, body) = admin_read(&app, &app.base, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "and for good: {body}");
    let (status, body) = admin_read(&app, &app.base, &app.admin_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the other token still works: {body}"
    );
}

/// An expired token is refused from its expiry on, to the request: no cache keeps it alive
/// until its next check, and none refuses it before its time.
#[tokio::test]
async fn an_expired_token_is_refused_from_its_expiry_on() {
    let app = TestApp::spawn().await;
    let at = (Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let expires_at: DateTime<Utc> = at.parse().unwrap();
    let (_, token) = create_token(&app, "default", &["--expires-at", &at]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut taken = 0;
    loop {
        let sent = Utc::now();
        let (status, body) = admin_read(&app, &app.base, &token).await;
        let answered = Utc::now();
        match status {
            StatusCode::OK => {
                assert!(
                    sent < expires_at,
                    "taken though sent {} after its expiry",
                    sent - expires_at
                );
                taken += 1;
            }
            StatusCode::UNAUTHORIZED => {
                assert!(
                    answered >= expires_at,
                    "refused {} before its expiry: {body}",
                    expires_at - answered
                );
                let (_, unknown) = admin_read(&app, &app.base, "tsa_never_issued").await;
                assert_eq!(
                    body, unknown,
                    "an expired token is answered as an unknown one"
                );
                break;
            }
            other => panic!("{other}: {body}"),
        }
        assert!(Instant::now() < deadline, "the token never expired");
    }
    assert!(taken > 0, "the token worked before its expiry");
    // And after: the server keeps refusing it, whatever it remembers.
    for _ in 0..5 {
        let (status, _) = admin_read(&app, &app.base, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let listed = app.cli_json(&["admin-token", "list", "--tenant", "default"]);
    let expired = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["expiresAt"].is_string())
        .unwrap_or_else(|| panic!("the token is listed with its expiry: {listed}"));
    assert_eq!(expired["status"], "expired", "{expired}");
    let listed_at: DateTime<Utc> = expired["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        listed_at, expires_at,
        "the expiry is kept to the microsecond"
    );
}

/// A token's id is no handle on it from another tenant: revoking it there is "not found", and
/// it keeps working; one tenant's list does not show another's tokens.
#[tokio::test]
async fn another_tenants_token_cannot_be_revoked_or_listed() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "acme"]);
    let (acme_id, acme_token) = create_token(&app, "acme", &["--name", "acme scoring"]);
    let out = app.cli(&["admin-token", "revoke", "--tenant", "default", &acme_id]);
    assert!(!out.status.success(), "another tenant's token was revoked");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no admin token") && said.contains("admin-token list --tenant default"),
        "{said}"
    );
    let listed = app.cli_json(&["admin-token", "list", "--tenant", "default"]);
    assert!(
        !listed.to_string().contains(&acme_id),
        "tenant default lists acme's token: {listed}"
    );
    let acme = app.cli_json(&["admin-token", "list", "--tenant", "acme"]);
    let entry = &acme.as_array().unwrap()[0];
    assert_eq!(
        (&entry["id"], &entry["revokedAt"]),
        (&Value::from(acme_id.as_str()), &Value::Null),
        "{acme}"
    );
    let (status, body) = admin_read(&app, &app.base, &acme_token).await;
    assert_eq!(status, StatusCode::OK, "acme's token still works: {body}");
}

/// Two instances on one PostgreSQL database: a token revoked through the store is refused by
/// both, the one that never served it and the one that holds it as found.
#[tokio::test]
async fn a_revoke_reaches_every_instance() {
    let Some(app) = TestApp::spawn_postgres(&[]).await else {
        return;
    };
    let b = app.another_instance("b");
    let (id, token) = create_token(&app, "default", &[]);
    for base in [&app.base, &b.base] {
        let (status, body) = admin_read(&app, base, &token).await;
        assert_eq!(status, StatusCode::OK, "{base}: {body}");
    }
    app.cli_json(&["admin-token", "revoke", "--tenant", "default", &id]);
    let since = Instant::now();
    refused_within_deadline(&app, &app.base, &token, since).await;
    refused_within_deadline(&app, &b.base, &token, since).await;
}
