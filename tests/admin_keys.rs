//! API keys on the admin API over real HTTP: create (the key shown once), list and read
//! (never the key), revoke, and what each refuses. Template changes are in
//! admin_key_templates.rs.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// What a key shows wherever it is listed or read: never the key itself.
const KEY_FIELDS: [&str; 9] = [
    "id",
    "name",
    "endpointType",
    "prefix",
    "createdAt",
    "expiresAt",
    "revokedAt",
    "lastUsedAt",
    "templateVersion",
];

fn keys_of(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted(fields: &[&'static str]) -> Vec<&'static str> {
    let mut fields = fields.to_vec();
    fields.sort_unstable();
    fields
}

#[tokio::test]
async fn a_key_is_created_shown_once_listed_read_and_revoked() {
    let app = TestApp::spawn().await;
    let (status, created) = app
        .admin_send(
            Method::POST,
            "/api/admin/api-keys",
            Some(
                &json!({"name": " Segment prod ", "endpointType": "product-org-updates",
                         "preset": "segment", "secret": true, "expiresAt": "2099-01-01T00:00:00Z"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let api_key = created["apiKey"].as_str().expect("the key, shown once");
    let secret = created["secret"].as_str().expect("the secret asked for");
    assert!(api_key.starts_with(created["prefix"].as_str().unwrap()));
    assert!(api_key.starts_with("tsk_po_"), "{api_key}");
    assert_eq!(created["hmacSecret"], Value::Null, "not asked for");
    let mut shown = KEY_FIELDS.to_vec();
    shown.extend(["template", "apiKey", "secret", "hmacSecret"]);
    assert_eq!(keys_of(&created), sorted(&shown), "{created}");
    assert_eq!(
        created["name"],
        json!("Segment prod"),
        "the name is trimmed"
    );
    assert_eq!(created["endpointType"], json!("product-org-updates"));
    assert_eq!(created["templateVersion"], json!(1));
    assert_eq!(created["template"]["productOrgId"], json!("groupId"));
    assert_eq!(created["expiresAt"], json!("2099-01-01T00:00:00Z"));
    let id = created["id"].as_str().unwrap();

    // The key works as made: its secret is required.
    let webhook = |with_secret: bool| {
        let mut request = app
            .client
            .post(app.webhook_url(api_key))
            .json(&json!({"groupId": "ws_admin", "traits": {"name": "Admin"}}));
        if with_secret {
            request = request.header("X-Api-Secret", secret);
        }
        app.send(request)
    };
    assert_eq!(webhook(false).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = webhook(true).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let cli_key = app.key(&["--type", "signal-staging", "--preset", "flat"]);
    let (status, list) = app.admin_get("/api/admin/api-keys").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["id"], json!(cli_key.id), "newest first");
    for item in items {
        assert_eq!(keys_of(item), sorted(&KEY_FIELDS), "{item}");
    }
    let text = list.to_string();
    assert!(
        !text.contains(api_key) && !text.contains(&cli_key.api_key) && !text.contains(secret),
        "the list never shows a key or a secret: {text}"
    );

    let (status, one) = app.admin_get(&format!("/api/admin/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let mut detail = KEY_FIELDS.to_vec();
    detail.push("template");
    assert_eq!(keys_of(&one), sorted(&detail), "{one}");
    assert_eq!(one["template"], created["template"]);
    assert!(!one.to_string().contains(api_key));

    let (status, versions) = app
        .admin_get(&format!("/api/admin/api-keys/{id}/template/versions"))
        .await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let first = &versions["items"][0];
    assert_eq!(
        (
            &first["templateVersion"],
            &first["template"],
            &first["createdBy"]
        ),
        (&json!(1), &created["template"], &json!("admin token")),
        "{versions}"
    );
    assert_eq!(first["createdAt"], created["createdAt"]);
    let (_, by_cli) = app
        .admin_get(&format!(
            "/api/admin/api-keys/{}/template/versions",
            cli_key.id
        ))
        .await;
    assert_eq!(by_cli["items"][0]["createdBy"], json!("cli"), "{by_cli}");

    let path = format!("/api/admin/api-keys/{id}");
    let (status, revoked) = app.admin_send(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    assert_eq!(keys_of(&revoked), sorted(&KEY_FIELDS));
    let (_, again) = app.admin_send(Method::DELETE, &path, None).await;
    assert_eq!(
        again["revokedAt"], revoked["revokedAt"],
        "the first revocation stays"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, body) = webhook(true).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["code"], json!("invalid_api_key"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revoked key still works: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, one) = app.admin_get(&path).await;
    assert_eq!(status, StatusCode::OK, "a revoked key is still read");
    assert_eq!(one["revokedAt"], revoked["revokedAt"]);
}

#[tokio::test]
async fn creating_a_key_refuses_what_is_not_one_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let base = json!({"name": "n", "endpointType": "product-org-updates"});
    let with = |more: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            "no name",
            json!({"endpointType": "product-org-updates", "preset": "flat"}),
            400,
            "invalid_body",
        ),
        (
            "blank name",
            with(json!({"name": "  ", "preset": "flat"})),
            400,
            "invalid_key_name",
        ),
        (
            "unknown type",
            with(json!({"endpointType": "orgs", "preset": "flat"})),
            400,
            "invalid_body",
        ),
        ("no template", base.clone(), 400, "invalid_body"),
        (
            "both",
            with(json!({"preset": "flat", "template": {"productOrgId": "id"}})),
            400,
            "invalid_body",
        ),
        (
            "unknown preset",
            with(json!({"preset": "mixpanel"})),
            400,
            "unknown_preset",
        ),
        (
            "past expiry",
            with(json!({"preset": "flat", "expiresAt": "2001-01-01T00:00:00Z"})),
            400,
            "invalid_expiry",
        ),
        (
            "bad expiry",
            with(json!({"preset": "flat", "expiresAt": "tomorrow"})),
            400,
            "invalid_body",
        ),
        (
            "unknown field",
            with(json!({"preset": "flat", "owner": "me"})),
            400,
            "invalid_body",
        ),
        (
            "secret not a bool",
            with(json!({"preset": "flat", "secret": "yes"})),
            400,
            "invalid_body",
        ),
        (
            "invalid template",
            with(json!({"template": {"name": "a..b"}})),
            422,
            "invalid_template",
        ),
    ];
    for (case, body, status, code) in cases {
        let (got, answer) = app
            .admin_send(Method::POST, "/api/admin/api-keys", Some(&body))
            .await;
        assert_eq!(got.as_u16(), status, "{case}: {answer}");
        assert_eq!(answer["code"], json!(code), "{case}: {answer}");
    }
    let (_, answer) = app
        .admin_send(
            Method::POST,
            "/api/admin/api-keys",
            Some(&with(
                json!({"template": {"name": "a..b", "plan": "p", "mrr": 5}}),
            )),
        )
        .await;
    let reasons: Vec<&str> = answer["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("every reason listed: {answer}"))
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 4, "{answer}");
    for needle in [
        "`plan`",
        "`productOrgId` is required",
        "empty segment",
        "`mrr`",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle}: {answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    let (status, answer) = app
        .send(
            app.client
                .post(format!("{}/api/admin/api-keys", app.base))
                .bearer_auth(&app.admin_token)
                .header("Content-Type", "text/plain")
                .body(r#"{"name":"n","endpointType":"product-org-updates","preset":"flat"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    let (_, list) = app.admin_get("/api/admin/api-keys").await;
    assert_eq!(list["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn unknown_and_other_tenants_keys_are_not_found_and_tokens_are_required() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "other"]);
    let theirs = app.key_for(
        "other",
        &["--type", "product-org-updates", "--preset", "flat"],
    );
    let template = json!({"template": {"productOrgId": "id"}});
    for id in ["key_nosuch", theirs.id.as_str()] {
        let base = format!("/api/admin/api-keys/{id}");
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (Method::DELETE, base.clone(), None),
            (Method::PUT, format!("{base}/template"), Some(&template)),
            (Method::GET, format!("{base}/template/versions"), None),
        ] {
            let (status, answer) = app.admin_send(method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_eq!(answer["code"], json!("not_found"), "{method} {path}");
            assert!(
                answer["message"].as_str().unwrap().contains(id),
                "the message names the key: {answer}"
            );
            let anonymous = app
                .client
                .request(method.clone(), format!("{}{path}", app.base));
            let (status, _) = app.send(anonymous).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token"
            );
        }
    }
    let shown = app.cli_json(&["key", "show", "--tenant", "other", &theirs.id]);
    assert_eq!(
        (&shown["templateVersion"], &shown["revokedAt"]),
        (&json!(1), &Value::Null),
        "the other tenant's key is untouched: {shown}"
    );
    let (status, answer) = app
        .post(&theirs.api_key, &json!({"workspace_id": "ws_1"}))
        .await;
    assert_eq!(status, StatusCode::OK, "and still works: {answer}");
}
