//! The command line of SPEC §1: every command has --help and --json, keys are shown once,
//! invalid input is refused with the reason.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The serve processes of these tests poll the store's key revision every 100 ms (see
/// `common::TestApp`); a revoke must reach them within a few of those, even on a busy machine.
const REVOKE_DEADLINE: Duration = Duration::from_secs(3);

/// Posts a group update with a key that has a secret and an HMAC secret, signed as GitHub
/// does (`X-Signature: sha256=…`, keyed with the whole secret as issued).
async fn post_signed(app: &TestApp, created: &Value) -> (reqwest::StatusCode, Value) {
    let body = json!({"type": "group", "groupId": "ws_revoke", "traits": {}}).to_string();
    let hmac_secret = created["hmacSecret"].as_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(hmac_secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    app.send(
        app.client
            .post(app.webhook_url(created["apiKey"].as_str().unwrap()))
            .header("Content-Type", "application/json")
            .header("X-Api-Secret", created["secret"].as_str().unwrap())
            .header("X-Signature", signature)
            .body(body),
    )
    .await
}

#[tokio::test]
async fn every_command_has_help() {
    let app = TestApp::spawn().await;
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["key", "create", "--help"],
        vec!["key", "list", "--help"],
        vec!["key", "revoke", "--help"],
        vec!["key", "show", "--help"],
        vec!["key", "template", "show", "--help"],
        vec!["key", "template", "set", "--help"],
        vec!["admin-token", "create", "--help"],
        vec!["admin-token", "list", "--help"],
        vec!["admin-token", "revoke", "--help"],
    ] {
        let out = app.cli(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("--database"),
            "{args:?} documents --database:\n{text}"
        );
        assert!(
            text.contains("--json"),
            "{args:?} documents --json:\n{text}"
        );
    }
    let key_help =
        String::from_utf8_lossy(&app.cli(&["key", "create", "--help"]).stdout).into_owned();
    for flag in [
        "--tenant",
        "--type",
        "--name",
        "--preset",
        "--template",
        "--expires-at",
        "--secret",
        "--hmac-secret",
    ] {
        assert!(key_help.contains(flag), "key create --help mentions {flag}");
    }
}

#[tokio::test]
async fn serve_created_tenant_default_and_tenant_create_json() {
    let app = TestApp::spawn().await;
    let v = app.cli_json(&["tenant", "create", "acme", "--name", "Acme Inc"]);
    assert!(v["id"].as_i64().is_some(), "{v}");
    assert_eq!(v["subdomain"], json!("acme"));
    let out = app.cli(&["tenant", "create", "acme"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = app.cli(&["tenant", "create", "Not_Valid"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lower-case"), "{}", stderr(&out));
    let out = app.cli(&["key", "list", "--tenant", "nosuch"]);
    assert!(
        stderr(&out).contains("trailspark tenant create nosuch"),
        "{}",
        stderr(&out)
    );
    // tenant `default` was made by serve's first start.
    let token = app.cli_json(&["admin-token", "create", "--tenant", "default"]);
    assert!(token["token"].as_str().is_some_and(|t| t.len() >= 32));
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_the_key_and_revoked() {
    let app = TestApp::spawn().await;
    let created = app.cli_json(&[
        "key",
        "create",
        "--tenant",
        "default",
        "--type",
        "product-org-updates",
        "--name",
        "Segment prod",
        "--preset",
        "segment",
        "--secret",
        "--hmac-secret",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    ]);
    let api_key = created["apiKey"].as_str().unwrap();
    assert!(
        api_key.starts_with("tsk_po_") && api_key.len() >= 7 + 22,
        "≥128 random bits, typed prefix: {api_key}"
    );
    assert!(created["secret"].as_str().is_some());
    assert!(created["hmacSecret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    let plain = app.cli_json(&[
        "key",
        "create",
        "--tenant",
        "default",
        "--type",
        "signal-staging",
        "--name",
        "s",
        "--preset",
        "segment",
    ]);
    assert!(plain["apiKey"].as_str().unwrap().starts_with("tsk_sig_"));
    assert_eq!(plain["secret"], Value::Null);

    let list = app.cli_json(&["key", "list", "--tenant", "default"]);
    let text = list.to_string();
    assert!(!text.contains(api_key), "the list never shows a key");
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .unwrap();
    assert_eq!(entry["name"], json!("Segment prod"));
    assert_eq!(entry["type"], json!("product-org-updates"));
    assert!(api_key.starts_with(entry["prefix"].as_str().unwrap()));
    assert_eq!(entry["expiresAt"], json!("2099-01-01T00:00:00Z"));
    assert_eq!(entry["revokedAt"], Value::Null);
    for field in ["createdAt", "lastUsedAt"] {
        assert!(entry.get(field).is_some(), "{field} listed");
    }

    let human = String::from_utf8_lossy(&app.cli(&["key", "list", "--tenant", "default"]).stdout)
        .into_owned();
    assert!(
        human.contains("Segment prod") && !human.contains(api_key),
        "{human}"
    );

    // The running server knows the key (it holds keys in memory once used)...
    let (status, body) = post_signed(&app, &created).await;
    assert_eq!(status, reqwest::StatusCode::OK, "before the revoke: {body}");
    let revoked = app.cli_json(&[
        "key",
        "revoke",
        "--tenant",
        "default",
        created["id"].as_str().unwrap(),
    ]);
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    // ...and must drop it once its key refresh sees the CLI's revoke.
    let revoked_at = Instant::now();
    loop {
        let (status, body) = post_signed(&app, &created).await;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            assert_eq!(body["code"], json!("invalid_api_key"), "{body}");
            break;
        }
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert!(
            revoked_at.elapsed() < REVOKE_DEADLINE,
            "the running server still takes the key {:?} after `key revoke`",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = post_signed(&app, &created).await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNAUTHORIZED,
        "and for good: {body}"
    );
    let out = app.cli(&["key", "revoke", "--tenant", "default", "key_nosuch"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no key"), "{}", stderr(&out));
}

#[tokio::test]
async fn invalid_templates_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    for (template, reason) in [
        (json!({"name": "traits.name"}), "productOrgId"),
        (
            json!({"productOrgId": "groupId", "plan": "traits.plan"}),
            "plan",
        ),
        (json!({"productOrgId": "traits..id"}), "empty segment"),
        (json!({"productOrgId": ""}), "empty"),
        (
            json!({"productOrgId": "groupId", "customFields": {"x": 3}}),
            "customFields",
        ),
    ] {
        let path = app.write_file("bad.json", &template.to_string());
        let out = app.cli(&[
            "key",
            "create",
            "--tenant",
            "default",
            "--type",
            "product-org-updates",
            "--name",
            "n",
            "--template",
            path.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{template} accepted");
        assert!(
            stderr(&out).contains(reason),
            "{template}: {}",
            stderr(&out)
        );
    }
    let out = app.cli(&[
        "key",
        "create",
        "--tenant",
        "default",
        "--type",
        "product-org-updates",
        "--name",
        "n",
    ]);
    assert!(!out.status.success(), "a key needs --preset or --template");
    let out = app.cli(&[
        "key",
        "create",
        "--tenant",
        "default",
        "--type",
        "product-org-updates",
        "--name",
        "n",
        "--preset",
        "segment",
        "--expires-at",
        "2001-01-01T00:00:00Z",
    ]);
    assert!(
        stderr(&out).contains("not in the future"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn key_list_shows_when_a_key_was_last_used() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let used = |app: &TestApp| {
        app.cli_json(&["key", "list", "--tenant", "default"])
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == json!(key.id))
            .unwrap()["lastUsedAt"]
            .clone()
    };
    assert_eq!(used(&app), Value::Null, "a new key was never used");
    let (status, _) = app
        .post(&key.api_key, &json!({"workspace_id": "ws_used"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    // Last-used times are written in the background and on shutdown, not per request.
    let status = app.stop();
    assert!(status.success());
    assert!(
        used(&app).is_string(),
        "lastUsedAt recorded: {}",
        used(&app)
    );
}

#[test]
fn database_takes_a_path_or_a_sqlite_url_for_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/store.db");
    let run = |database: String, args: &[&str]| {
        std::process::Command::new(common::BIN)
            .arg("--database")
            .arg(database)
            .args(args)
            .env_remove("TRAILSPARK_DATABASE_URL")
            .output()
            .unwrap()
    };
    let created = run(
        format!("sqlite://{}", path.display()),
        &["tenant", "create", "acme", "--json"],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(
        path.exists(),
        "the directory is created and the file is where the URL says"
    );
    let again = run(path.display().to_string(), &["tenant", "create", "acme"]);
    assert!(
        !again.status.success(),
        "the plain path opens the same store"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

/// `trailspark backup --to FILE` copies a SQLite store while serve keeps taking writes; the
/// copy is a whole, consistent store. On PostgreSQL it points at pg_dump.
#[tokio::test]
async fn backup_copies_a_live_store() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    for n in 0..20 {
        let (status, _) = app
            .post(
                &key.api_key,
                &json!({"type": "group", "groupId": format!("ws_{n}")}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    // Writes go on while the copy is made.
    let writer = {
        let (client, url) = (app.client.clone(), app.webhook_url(&key.api_key));
        tokio::spawn(async move {
            for n in 20..200 {
                let body = json!({"type": "group", "groupId": format!("ws_{n}")});
                let _ = client.post(&url).json(&body).send().await;
            }
        })
    };
    let to = app.dir.path().join("backup.db");
    let out = app.cli(&["backup", "--to", to.to_str().unwrap()]);
    writer.await.unwrap();
    if app.backend == common::Backend::Postgres {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = rusqlite::Connection::open(&to).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let orgs: i64 = copy
        .query_row("SELECT COUNT(*) FROM product_orgs", [], |r| r.get(0))
        .unwrap();
    assert!(
        (20..=200).contains(&orgs),
        "every update acknowledged before the backup: {orgs}"
    );
    let again = app.cli(&["backup", "--to", to.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );
}

/// Issue 16: run from another folder than `serve`'s, the CLI silently made a second, empty
/// store there (`./data/trailspark.db`) and advised creating tenant `default` in it; a key
/// made so got 401 from the running server. Only `serve` creates the default store now; the
/// other commands say where they looked and how to reach serve's store.
#[test]
fn commands_other_than_serve_do_not_create_the_default_store() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().canonicalize().unwrap();
    let default = folder.join("data").join("trailspark.db");
    let command = |args: &[&str]| {
        let mut command = Command::new(common::BIN);
        command.args(args).current_dir(&folder);
        command.env_remove("TRAILSPARK_DATABASE_URL");
        command
    };
    let run = |args: &str| {
        let args: Vec<&str> = args.split_whitespace().collect();
        let mut child = command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `user create` reads its password; the others ignore stdin.
        let _ = child.stdin.take().unwrap().write_all(PASSWORD_LINE);
        child.wait_with_output().unwrap()
    };
    for args in [
        "key create --tenant default --type product-org-updates --name K --preset segment",
        "key list --tenant default",
        "key revoke --tenant default key_1",
        "tenant create default",
        "admin-token create --tenant default",
        "admin-token list --tenant default",
        "admin-token revoke --tenant default adm_1",
        "user create --tenant default --email a@example.com --password-stdin",
        "migrate",
        "backup --to copy.db",
    ] {
        let out = run(args);
        let said = stderr(&out);
        assert!(!out.status.success(), "{args} refuses");
        let needed = [
            default.to_str().unwrap(),
            "--database",
            "TRAILSPARK_DATABASE_URL",
        ];
        for needed in needed.into_iter().chain(["serve"]) {
            assert!(said.contains(needed), "{args} says {needed}: {said}");
        }
        assert!(!said.contains("tenant create"), "{args}: {said}");
        assert!(!default.exists(), "{args} created no store");
    }

    // Named, a store is made where it is named; then the default finds it.
    let out = run("--database data/trailspark.db tenant create acme");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run("key list --tenant acme");
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_dir_all(folder.join("data")).unwrap();

    // `serve` makes the default store where it runs, as its first start always did.
    let mut serve = command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "off",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let listening = BufReader::new(serve.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("trailspark listening on"));
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(
        listening && default.exists(),
        "serve created {}",
        default.display()
    );
}

/// A password `user create --password-stdin` takes.
const PASSWORD_LINE: &[u8] = b"correct horse battery staple";
