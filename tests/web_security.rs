//! The web UI's guards over plain HTTP: session cookie flags, CSRF on every form, sign-in
//! rate limit, tenants apart, no page without a session, passwords stored as argon2id only.

mod common;

use std::process::Stdio;

use common::web::setup_link;
use common::TestApp;
use reqwest::header::{COOKIE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery staple";

fn create_user(app: &TestApp, tenant: &str, email: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(common::BIN)
        .args([
            "user",
            "create",
            "--tenant",
            tenant,
            "--email",
            email,
            "--password-stdin",
        ])
        .env("TRAILSPARK_DATABASE_URL", &app.database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    let header = common::web::set_cookie_header(response, name)?;
    let value = header.split(';').next()?[name.len() + 1..].to_owned();
    Some((value, header))
}

/// GETs `path` with a session cookie; the status and the page.
async fn get_page(app: &TestApp, path: &str, session: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{}{path}", app.base))
        .header(COOKIE, session)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Signs in; returns the session cookie header value and the status of the attempt.
async fn sign_in(
    app: &TestApp,
    tenant: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>) {
    let c = client();
    let form = c.get(format!("{}/login", app.base)).send().await.unwrap();
    let (login_cookie, _) = cookie_value(&form, "ts_login").unwrap();
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let response = c
        .post(format!("{}/login", app.base))
        .header(COOKIE, format!("ts_login={login_cookie}"))
        .form(&[
            ("tenant", tenant),
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (
        status,
        cookie_value(&response, "ts_session").map(|(v, _)| format!("ts_session={v}")),
    )
}

#[tokio::test]
async fn sessions_csrf_and_tenants() {
    let app = TestApp::spawn().await;
    app.cli(&["tenant", "create", "other"]);
    create_user(&app, "default", "ana@example.com");
    create_user(&app, "other", "bo@example.com");
    let c = client();

    // No session: every page sends to the sign-in form.
    for path in [
        "/",
        "/settings/api-keys",
        "/settings/orgs",
        "/settings/orgs/1",
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[LOCATION], "/login", "{path}");
    }

    // The sign-in form needs its own CSRF cookie.
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("tenant", "default"),
            ("email", "ana@example.com"),
            ("password", PASSWORD),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let form = c.get(format!("{}/login", app.base)).send().await.unwrap();
    let (_, flags) = cookie_value(&form, "ts_login").unwrap();
    assert!(
        flags.contains("HttpOnly") && flags.contains("SameSite=Strict"),
        "{flags}"
    );
    let (status, session) = sign_in(&app, "default", "ANA@example.com ", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session.expect("a session cookie");

    // A product org of tenant `other` stays out of tenant `default`'s pages.
    let other_key = app.key_for(
        "other",
        &["--type", "product-org-updates", "--preset", "segment"],
    );
    let (status, _) = app
        .post(&other_key.api_key, &serde_json::json!({"type": "group", "groupId": "ws_secret", "traits": {"name": "Other Co"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = get_page(&app, "/settings/orgs", &session).await;
    assert!(!page.contains("Other Co"), "{page}");
    let (status, _) = get_page(&app, "/settings/product-orgs/ws_secret", &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A form without this session's CSRF token is refused and changes nothing.
    let r = c
        .post(format!("{}/settings/api-keys", app.base))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", "forged"),
            ("name", "Sneaky"),
            ("endpoint_type", "product-org-updates"),
            ("preset", "segment"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let keys = app.cli_json(&["key", "list", "--tenant", "default"]);
    assert!(!keys.to_string().contains("Sneaky"), "{keys}");

    // Sign-out ends the session in the store, not only in the browser.
    let (_, page) = get_page(&app, "/settings/api-keys", &session).await;
    let csrf = hidden(&page, "csrf");
    let r = c
        .post(format!("{}/logout", app.base))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c
        .get(format!("{}/settings/api-keys", app.base))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()[LOCATION],
        "/login",
        "the old cookie no longer works"
    );

    // The password is stored only as an argon2id hash, the session only as a hash; neither
    // reaches the log.
    let contents = app.store_contents().await;
    let text = String::from_utf8_lossy(&contents);
    assert!(text.contains("$argon2id$"));
    assert!(!text.contains(PASSWORD));
    let token = session.trim_start_matches("ts_session=");
    assert!(!text.contains(token), "the session id is in the store");
    let log = app.log();
    assert!(!log.contains(token) && !log.contains(PASSWORD), "{log}");
}

#[tokio::test]
async fn sign_in_attempts_are_limited() {
    let app = TestApp::spawn().await;
    create_user(&app, "default", "ana@example.com");
    // 10 a minute, refilled one every 6 s: on a busy machine, where each refused attempt's
    // argon2 check takes a second or more, a few more than 10 get through before the limit.
    let mut statuses = Vec::new();
    while statuses.len() < 40 && statuses.last() != Some(&StatusCode::TOO_MANY_REQUESTS) {
        statuses.push(
            sign_in(&app, "default", "ana@example.com", "wrong password!")
                .await
                .0,
        );
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert!(
        statuses.len() >= 11,
        "at least 10 attempts pass: {statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let (status, _) = sign_in(&app, "default", "ana@example.com", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
}

#[tokio::test]
async fn the_setup_link_creates_the_first_user_once() {
    let app = TestApp::spawn().await;
    let url = setup_link(&app);
    let c = client();
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "first@example.com"),
            ("password", PASSWORD),
            ("confirm", "something else!!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the passwords differ");
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "First@Example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/", "on to the overview");
    let session = cookie_value(&r, "ts_session")
        .map(|(v, _)| format!("ts_session={v}"))
        .unwrap();
    let r = c
        .get(format!("{}/settings/api-keys", app.base))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "signed in as the new user");

    let again = c.get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");
    let (status, _) = sign_in(&app, "default", "first@example.com", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the user signs in with the password"
    );
}

#[tokio::test]
async fn the_setup_link_dies_once_a_user_exists() {
    let app = TestApp::spawn().await;
    let url = setup_link(&app);
    create_user(&app, "default", "cli@example.com");
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a user made with the CLI ends the setup"
    );
}

#[tokio::test]
async fn the_delivery_log_shows_requests_refused_before_their_body_was_read() {
    let app = TestApp::spawn().await;
    create_user(&app, "default", "ana@example.com");
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--name",
        "Logged",
    ]);
    let r = app
        .client
        .post(app.webhook_url(&key.api_key))
        .header("Content-Type", "text/plain")
        .body("{\"groupId\":\"ws_1\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, session) = sign_in(&app, "default", "ana@example.com", PASSWORD).await;
    let page = client()
        .get(format!(
            "{}/settings/api-keys/{}/deliveries",
            app.base, key.id
        ))
        .header(COOKIE, session.unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("415") && page.contains("unsupported_media_type"),
        "{page}"
    );
}
