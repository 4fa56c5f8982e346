//! The admin API with the web UI's session cookie instead of an admin token (SPEC §5): reads
//! with the cookie alone; POST, PUT and DELETE only with the session's CSRF token in
//! `X-CSRF-Token` (403 otherwise); the session's tenant only; signed out, 401.

mod common;

use common::web::{create_user, Browser};
use common::TestApp;
use reqwest::header::{AUTHORIZATION, COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A signed-in browser calling the admin API as a page's script would.
struct Session {
    base: String,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
}

/// How a call presents the session's CSRF token.
#[derive(Debug, Clone, Copy)]
enum Csrf {
    Sent,
    Missing,
    Wrong,
}

impl Session {
    async fn sign_in(app: &TestApp, tenant: &str, email: &str) -> Self {
        let browser = Browser::sign_in(app, tenant, email).await;
        let page = browser.get("/settings/api-keys").await;
        Self {
            base: app.base.clone(),
            client: common::web::client(),
            cookie: browser.session_cookie().to_owned(),
            csrf: page
                .meta("csrf-token")
                .expect("a signed-in page's CSRF token"),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        csrf: Csrf,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie);
        match csrf {
            Csrf::Sent => request = request.header("X-CSRF-Token", &self.csrf),
            Csrf::Wrong => request = request.header("X-CSRF-Token", "0123456789abcdef"),
            Csrf::Missing => {}
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, Csrf::Missing).await
    }
}

/// Reads take the cookie alone; each unsafe method is refused without the CSRF token (403,
/// saying which header to send) or with another one, and works with it.
#[tokio::test]
async fn the_session_reads_and_writes_with_its_csrf_token() {
    let app = TestApp::spawn().await;
    create_user(&app, "default", "ana@example.com");
    let session = Session::sign_in(&app, "default", "ana@example.com").await;
    for path in [
        "/api/admin/api-keys",
        "/api/admin/product-orgs",
        "/api/admin/leads",
    ] {
        let (status, body) = session.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    }

    let new_key = json!({"name": "From the UI", "endpointType": "product-org-updates",
                         "preset": "segment"});
    let keys = "/api/admin/api-keys";
    for (csrf, code) in [
        (Csrf::Missing, "missing_csrf_token"),
        (Csrf::Wrong, "invalid_csrf_token"),
    ] {
        let (status, body) = session.call(Method::POST, keys, Some(&new_key), csrf).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {csrf:?}: {body}");
        assert_eq!(body["code"], code, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("X-CSRF-Token"),
            "says which header: {message}"
        );
    }
    let (_, listed) = session.get(keys).await;
    assert_eq!(
        listed["items"],
        json!([]),
        "nothing created without the token"
    );

    let (status, created) = session
        .call(Method::POST, keys, Some(&new_key), Csrf::Sent)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = format!("{keys}/{}", created["id"].as_str().unwrap());

    let template = json!({"template": {"productOrgId": "workspace_id", "userCount": "seats"}});
    let put = format!("{key}/template");
    let (status, body) = session
        .call(Method::PUT, &put, Some(&template), Csrf::Missing)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "PUT without: {body}");
    let (status, body) = session
        .call(Method::PUT, &put, Some(&template), Csrf::Sent)
        .await;
    assert_eq!(status, StatusCode::OK, "PUT with: {body}");
    let (_, versions) = session.get(&format!("{key}/template/versions")).await;
    assert_eq!(
        versions["items"][0]["createdBy"], "web UI",
        "a session's change is the web UI's: {versions}"
    );

    let preview = json!({"template": "flat", "payload": {"workspace_id": "ws_1"}});
    let path = "/api/admin/payload-templates/preview";
    let (status, _) = session
        .call(Method::POST, path, Some(&preview), Csrf::Missing)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the preview is a POST too");
    let (status, body) = session
        .call(Method::POST, path, Some(&preview), Csrf::Sent)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = session
        .call(Method::DELETE, &key, None, Csrf::Missing)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "DELETE without: {body}");
    let (_, still) = session.get(&key).await;
    assert_eq!(still["revokedAt"], Value::Null, "{still}");
    let (status, body) = session.call(Method::DELETE, &key, None, Csrf::Sent).await;
    assert_eq!(status, StatusCode::OK, "DELETE with: {body}");
    assert!(body["revokedAt"].is_string(), "{body}");
}

/// A session of another tenant finds none of this tenant's objects, reading or writing, even
/// with its own valid CSRF token.
#[tokio::test]
async fn another_tenants_session_sees_none_of_this_tenants_objects() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let (status, _) = app
        .post(&key.api_key, &json!({"workspace_id": "ws_a"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.cli_json(&["tenant", "create", "other"]);
    create_user(&app, "other", "bo@example.com");
    let other = Session::sign_in(&app, "other", "bo@example.com").await;

    let key_path = format!("/api/admin/api-keys/{}", key.id);
    for path in [key_path.as_str(), "/api/admin/product-orgs/ws_a"] {
        let (status, body) = other.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
    }
    let (_, listed) = other.get("/api/admin/api-keys").await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    let (_, orgs) = other.get("/api/admin/product-orgs").await;
    assert_eq!(orgs["items"], json!([]), "{orgs}");
    let template = json!({"template": {"productOrgId": "id"}});
    let (status, body) = other
        .call(
            Method::PUT,
            &format!("{key_path}/template"),
            Some(&template),
            Csrf::Sent,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "PUT: {body}");
    let (status, body) = other
        .call(Method::DELETE, &key_path, None, Csrf::Sent)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "DELETE: {body}");
    let (_, mine) = app.admin_get(&key_path).await;
    assert_eq!(mine["revokedAt"], Value::Null, "still active: {mine}");
    assert_eq!(mine["templateVersion"], 1, "{mine}");
}

/// The bearer token comes first: a request with an `Authorization` header is judged by it
/// alone, whatever cookie it also carries.
#[tokio::test]
async fn a_bearer_token_is_judged_before_the_cookie() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "other"]);
    create_user(&app, "other", "bo@example.com");
    let other = Session::sign_in(&app, "other", "bo@example.com").await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let path = format!("{}/api/admin/api-keys/{}", app.base, key.id);

    let both = app
        .client
        .get(&path)
        .bearer_auth(&app.admin_token)
        .header(COOKIE, &other.cookie);
    let (status, body) = app.send(both).await;
    assert_eq!(status, StatusCode::OK, "the token's tenant: {body}");
    let bad_token = app
        .client
        .get(&path)
        .header(AUTHORIZATION, "Bearer not-a-token")
        .header(COOKIE, &other.cookie);
    let (status, body) = app.send(bad_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// Signed out, or with a cookie no session has, the admin API answers 401 as it does to no
/// credential at all.
#[tokio::test]
async fn signed_out_is_401() {
    let app = TestApp::spawn().await;
    create_user(&app, "default", "ana@example.com");
    let session = Session::sign_in(&app, "default", "ana@example.com").await;
    let (status, _) = session.get("/api/admin/api-keys").await;
    assert_eq!(status, StatusCode::OK);

    let response = session
        .client
        .post(format!("{}/logout", app.base))
        .header(COOKIE, &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, body) = session.get("/api/admin/api-keys").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed out: {body}");
    assert_eq!(body["code"], "unauthorized");
    let (status, body) = session
        .call(
            Method::DELETE,
            "/api/admin/api-keys/key_x",
            None,
            Csrf::Sent,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a 401, not a 403: {body}");

    let forged = app
        .client
        .get(format!("{}/api/admin/api-keys", app.base))
        .header(COOKIE, "ts_session=0123456789abcdef");
    let (status, body) = app.send(forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown session: {body}");
}
