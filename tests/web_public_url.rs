//! `serve --public-url`: where browsers reach the service. Under an https URL the web UI's
//! cookies are `Secure` with the `__Host-` prefix (`Path=/`, no `Domain`) whatever the request
//! says, and every URL the service shows (a new key's webhook URL and curl command, a key's
//! page, the setup link `serve` prints) is built from it, never from the `Host` header.
//! Without it, as before: `Secure` when `X-Forwarded-Proto: https` arrives, URLs from `Host`.
//! A value that is not an http(s) origin is refused with the reason. Runs on either backend.

mod common;

use common::web::{client, create_user, set_cookie_header as set_cookie, Page, PASSWORD};
use common::{TestApp, BIN};
use reqwest::header::{COOKIE, HOST, LOCATION};
use reqwest::StatusCode;

/// `name=value` of a `Set-Cookie` value, as a browser sends it back.
fn sent_back(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// What a browser is told while it signs in `ana@example.com` (created here) through the
/// sign-in form, with `headers` on each request and its cookies named `prefix` + `ts_…`.
struct SignedIn {
    login_cookie: String,
    session_cookie: String,
    /// `Cookie` header value that carries the session.
    session: String,
}

async fn sign_in(app: &TestApp, prefix: &str, headers: &[(&str, &str)]) -> SignedIn {
    create_user(app, "default", "ana@example.com");
    let c = client();
    let with = |mut request: reqwest::RequestBuilder| {
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    };
    let response = with(c.get(format!("{}/login", app.base)))
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookie(&response, &format!("{prefix}ts_login"))
        .unwrap_or_else(|| panic!("a {prefix}ts_login cookie: {:?}", response.headers()));
    let page = Page {
        status: response.status(),
        html: response.text().await.unwrap(),
    };
    let mut form = page.form("/login");
    form.set("tenant", "default");
    form.set("email", "ana@example.com");
    form.set("password", PASSWORD);
    let response = with(c.post(format!("{}/login", app.base)))
        .header(COOKIE, sent_back(&login_cookie))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    let session_cookie = set_cookie(&response, &format!("{prefix}ts_session"))
        .unwrap_or_else(|| panic!("a {prefix}ts_session cookie: {:?}", response.headers()));
    SignedIn {
        login_cookie,
        session: sent_back(&session_cookie),
        session_cookie,
    }
}

/// GETs `path` with the session `cookie` and `Host: host`.
async fn get(app: &TestApp, path: &str, cookie: &str, host: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{}{path}", app.base))
        .header(COOKIE, cookie)
        .header(HOST, host)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    (status, location.unwrap_or(body))
}

/// Creates a key with the Create a key form, sent with `Host: host` and `headers`; the page
/// that shows it.
async fn create_key(app: &TestApp, session: &str, host: &str, headers: &[(&str, &str)]) -> Page {
    let (_, html) = get(app, "/settings/api-keys", session, host).await;
    let mut form = Page {
        status: StatusCode::OK,
        html,
    }
    .form("create");
    form.set("name", "Segment production");
    form.fields.push(("action".into(), "create".into()));
    let mut request = client()
        .post(format!("{}/settings/api-keys", app.base))
        .header(COOKIE, session)
        .header(HOST, host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.form(&form.fields).send().await.unwrap();
    let page = Page {
        status: response.status(),
        html: response.text().await.unwrap(),
    };
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    page
}

/// The id of the tenant's only key, by the admin API.
async fn only_key_id(app: &TestApp) -> String {
    let (_, keys) = app.admin_get("/api/admin/api-keys").await;
    keys["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_https_public_url_makes_host_only_secure_cookies_and_every_shown_url() {
    let app = TestApp::spawn_with(&["--public-url", "https://ts.example.com"]).await;
    let setup = app.printed_line("/setup/").expect("a setup link");
    assert!(
        setup.contains("https://ts.example.com/setup/"),
        "the setup link is on the public URL: {setup}"
    );
    let evil = "evil.example.net";
    let signed = sign_in(&app, "__Host-", &[("host", evil)]).await;
    for cookie in [&signed.login_cookie, &signed.session_cookie] {
        let flags: Vec<&str> = cookie.split(';').skip(1).map(str::trim).collect();
        assert!(
            flags.contains(&"Secure") && flags.contains(&"Path=/") && flags.contains(&"HttpOnly"),
            "{cookie}"
        );
        assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
    }

    // The session works when sent back, for the pages and the admin API.
    let (status, page) = get(&app, "/settings/api-keys", &signed.session, evil).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let response = client()
        .get(format!("{}/api/admin/api-keys", app.base))
        .header(COOKIE, &signed.session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The same token without the prefix is not this service's cookie: a sibling host or a
    // plain http page could have planted it.
    let unprefixed = signed.session.trim_start_matches("__Host-");
    let (status, location) = get(&app, "/settings/api-keys", unprefixed, evil).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );

    // The URLs shown come from the public URL, whatever Host and X-Forwarded-Proto say.
    let created = create_key(
        &app,
        &signed.session,
        evil,
        &[("x-forwarded-proto", "http")],
    )
    .await;
    let url = created.input("webhook_url").unwrap();
    let key = created.input("new_key").unwrap();
    assert_eq!(
        url,
        format!("https://ts.example.com/api/product-orgs/webhook/{key}")
    );
    let curl = created.text_of("curl").unwrap();
    assert!(curl.contains(&format!("'{url}'")), "{curl}");
    assert!(!created.html.contains(evil), "{}", created.html);
    let key_page = format!("/settings/api-keys/{}", only_key_id(&app).await);
    let (status, page) = get(&app, &key_page, &signed.session, evil).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("https://ts.example.com/api/product-orgs/webhook/tsk_"),
        "{page}"
    );
    assert!(!page.contains(evil), "{page}");
}

#[tokio::test]
async fn without_a_public_url_cookies_and_urls_follow_the_request_as_before() {
    let app = TestApp::spawn().await;
    let setup = app.printed_line("/setup/").expect("a setup link");
    assert!(
        setup.contains(&format!("{}/setup/", app.base)),
        "the setup link is on the listening address: {setup}"
    );
    let signed = sign_in(&app, "", &[]).await;
    for cookie in [&signed.login_cookie, &signed.session_cookie] {
        assert!(!cookie.contains("Secure"), "plain http: {cookie}");
        assert!(cookie.contains("; Path=/;"), "{cookie}");
    }
    let response = client()
        .get(format!("{}/login", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let behind_https = set_cookie(&response, "ts_login").unwrap();
    assert!(behind_https.ends_with("; Secure"), "{behind_https}");

    let host = "ts.other.example:8443";
    let created = create_key(
        &app,
        &signed.session,
        host,
        &[("x-forwarded-proto", "https")],
    )
    .await;
    let url = created.input("webhook_url").unwrap();
    assert!(
        url.starts_with("https://ts.other.example:8443/api/product-orgs/webhook/tsk_"),
        "{url}"
    );
    let key_page = format!("/settings/api-keys/{}", only_key_id(&app).await);
    let (_, page) = get(&app, &key_page, &signed.session, host).await;
    assert!(
        page.contains("http://ts.other.example:8443/api/product-orgs/webhook/tsk_"),
        "{page}"
    );
}

#[tokio::test]
async fn an_http_public_url_keeps_cookies_plain_and_shows_its_urls() {
    let app = TestApp::spawn_with(&["--public-url", "http://ts.internal:8080/"]).await;
    let https = [("x-forwarded-proto", "https")];
    let signed = sign_in(&app, "", &https).await;
    assert!(
        !signed.session_cookie.contains("Secure"),
        "browsers come over http, where a Secure cookie would not come back: {}",
        signed.session_cookie
    );
    let created = create_key(&app, &signed.session, "elsewhere.example", &https).await;
    let url = created.input("webhook_url").unwrap();
    assert!(
        url.starts_with("http://ts.internal:8080/api/product-orgs/webhook/tsk_"),
        "{url}"
    );
}

#[test]
fn a_public_url_that_is_not_an_origin_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("trailspark.db");
    let cases = [
        ("ts.example.com", "absolute http(s) URL"),
        ("ftp://ts.example.com", "absolute http(s) URL"),
        ("https://", "no host"),
        ("https://ts.example.com/?tenant=a", "query"),
        ("https://ts.example.com/#top", "fragment"),
        ("https://ana:pw@ts.example.com", "user name or password"),
        ("https://ts.example.com/trailspark", "root"),
        ("https://ts.example.com:99999", "port"),
        ("https://ts example.com", "host"),
    ];
    for (value, reason) in cases {
        for by_env in [false, true] {
            let mut command = std::process::Command::new(BIN);
            command
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("TRAILSPARK_DATABASE_URL", &database);
            if by_env {
                command.env("TRAILSPARK_PUBLIC_URL", value);
            } else {
                command.args(["--public-url", value]);
            }
            let out = command.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{value} was taken");
            assert!(
                stderr.contains("--public-url") && stderr.contains(reason),
                "{value} (environment: {by_env}): {stderr}"
            );
        }
    }
    assert!(!database.exists(), "refused before the store is touched");
    let help = std::process::Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--public-url") && help.contains("TRAILSPARK_PUBLIC_URL"),
        "{help}"
    );
}
