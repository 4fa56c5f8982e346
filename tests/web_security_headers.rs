//! The headers that keep the web UI's pages to themselves, over real HTTP: every page (signed
//! out and in, drawn by a GET or by a form's POST) carries a strict Content-Security-Policy
//! (scripts and styles from the service's own files only, no framing), `nosniff`, a
//! `Referrer-Policy` and `Cache-Control: no-store`; no page holds an inline script, style or
//! event handler that the policy would block; the files the pages load are served with their
//! type and a long cache. The JSON API carries `nosniff`. Runs on either backend.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::leads::signal_key;
use common::web::{client, Browser, Page, PASSWORD};
use common::{encode, TestApp};
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The web UI's routes with a GET, as the sources declare them, mapped to a page of each
/// below: a new route fails this test until it is added there.
fn ui_get_routes() -> BTreeSet<String> {
    let mut files = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/src/web");
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        // The stylesheet and the script are files, not pages: `check_files` checks them.
        if entry.path().extension().is_some_and(|e| e == "rs") && entry.file_name() != "assets.rs" {
            files.push((
                entry.file_name(),
                std::fs::read_to_string(entry.path()).unwrap(),
            ));
        }
    }
    let mut routes = BTreeSet::new();
    for (file, source) in &files {
        for (n, _) in source.match_indices(".route(") {
            let rest = &source[n + ".route(".len()..];
            assert!(
                rest.trim_start().starts_with('"'),
                "{file:?}: a route whose path is not a literal, which this test cannot read"
            );
            let open = rest.find('"').unwrap() + 1;
            let path = &rest[open..open + rest[open..].find('"').unwrap()];
            let after = &rest[open + path.len()..];
            let end = [after.find(".route("), after.find("\n}")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(after.len());
            if after[..end].contains("get(") {
                routes.insert(path.to_owned());
            }
        }
    }
    assert!(routes.len() > 10, "routes found in the sources: {routes:?}");
    routes
}

/// A page as answered, with its headers.
struct Answer {
    what: String,
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

async fn answer(what: &str, request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    Answer {
        what: what.to_owned(),
        status: response.status(),
        headers: response.headers().clone(),
        html: response.text().await.unwrap(),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The sources a CSP directive allows (`default-src`'s when it is not given).
fn directive(csp: &str, name: &str) -> Option<Vec<String>> {
    let find = |name: &str| {
        csp.split(';').map(str::trim).find_map(|d| {
            let mut words = d.split_whitespace();
            (words.next()? == name).then(|| words.map(str::to_owned).collect::<Vec<_>>())
        })
    };
    find(name).or_else(|| find("default-src"))
}

/// Every tag of `html` with its attribute names (maud escapes `<` in text, so every `<` that
/// is not `</` or `<!` opens a tag).
fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if rest.starts_with(['/', '!']) {
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let inside = &rest[..end];
        let name: String = inside
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        out.push((name.to_ascii_lowercase(), inside.to_owned()));
    }
    out
}

/// The names of a tag's attributes (values, in double quotes, left out).
fn attribute_names(inside: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut outside = String::new();
    for (n, part) in inside.split('"').enumerate() {
        if n % 2 == 0 {
            outside.push_str(part);
            outside.push(' ');
        }
    }
    for word in outside.split_whitespace().skip(1) {
        let name = word.split('=').next().unwrap_or_default();
        if !name.is_empty() {
            names.push(name.to_ascii_lowercase());
        }
    }
    names
}

/// The value of attribute `name` of a tag.
fn attribute(inside: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let at = inside.find(&marker)? + marker.len();
    Some(inside[at..at + inside[at..].find('"')?].to_owned())
}

/// A page that carries the headers, and holds nothing its policy would block. Returns the
/// files it loads.
fn check_page(page: &Answer) -> Vec<String> {
    let what = &page.what;
    assert!(
        header(&page.headers, "content-type").starts_with("text/html"),
        "{what}: an HTML page ({})",
        page.status
    );
    let csp = header(&page.headers, "content-security-policy");
    assert!(!csp.is_empty(), "{what}: no Content-Security-Policy");
    for name in ["script-src", "style-src"] {
        let sources = directive(csp, name).unwrap_or_default();
        assert!(!sources.is_empty(), "{what}: {name} is not limited: {csp}");
        for loose in [
            "'unsafe-inline'",
            "'unsafe-eval'",
            "'unsafe-hashes'",
            "*",
            "data:",
        ] {
            assert!(
                !sources.iter().any(|s| s == loose),
                "{what}: {name} allows {loose}, so an injected inline script or style would run: {csp}"
            );
        }
    }
    assert_eq!(
        directive(csp, "frame-ancestors"),
        Some(vec!["'none'".to_owned()]),
        "{what}: {csp}"
    );
    assert_eq!(
        directive(csp, "object-src"),
        Some(vec!["'none'".to_owned()]),
        "{what}: {csp}"
    );
    assert!(csp.contains("base-uri 'none'"), "{what}: {csp}");
    assert!(csp.contains("form-action 'self'"), "{what}: {csp}");
    assert_eq!(
        header(&page.headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(&page.headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(
        header(&page.headers, "referrer-policy"),
        "same-origin",
        "{what}"
    );
    assert!(
        header(&page.headers, "cache-control").contains("no-store"),
        "{what}: {:?}",
        page.headers.get(CACHE_CONTROL)
    );

    let mut files = Vec::new();
    for (name, inside) in tags(&page.html) {
        let attributes = attribute_names(&inside);
        for attr in &attributes {
            assert!(
                !attr.starts_with("on") && attr != "style",
                "{what}: <{name}> has a {attr}= attribute, which the policy blocks: <{inside}>"
            );
        }
        assert_ne!(
            name, "style",
            "{what}: a <style> block, which the policy blocks"
        );
        if name == "script" {
            let src = attribute(&inside, "src")
                .unwrap_or_else(|| panic!("{what}: an inline <script>, which the policy blocks"));
            files.push(src);
        }
        if name == "link" && attribute(&inside, "rel").as_deref() == Some("stylesheet") {
            files.push(attribute(&inside, "href").unwrap());
        }
    }
    assert!(
        !page.html.contains("javascript:"),
        "{what}: a javascript: URL"
    );
    files
}

/// A key with one update applied and one refused, a lead, and a signed-in browser.
struct Seeded {
    key: String,
    refused: i64,
    target_org: i64,
}

async fn seed(app: &TestApp) -> Seeded {
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let (status, body) = app
        .post(
            &key.api_key,
            &json!({"workspace_id": "ws_abc123", "workspace_name": "Acme"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let target_org = body["targetOrgId"].as_i64().unwrap();
    let (status, _) = app
        .post(&key.api_key, &json!({"workspace_name": "No id"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, log) = app
        .admin_get(&format!("/api/admin/api-keys/{}/deliveries", key.id))
        .await;
    let refused = log["items"][0]["deliveryId"].as_i64().unwrap();
    let signals = signal_key(app, "default");
    let (status, body) = app
        .post_signal(
            &signals,
            &json!({"email": "grace@example.com", "product_org_id": "ws_abc123", "signal": "login"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Seeded {
        key: key.id,
        refused,
        target_org,
    }
}

#[tokio::test]
async fn every_ui_page_carries_a_strict_policy_and_holds_nothing_it_would_block() {
    let app = TestApp::spawn().await;
    let setup = app.printed_line("/setup/").expect("a setup link");
    let setup = setup.split_whitespace().find(|w| w.contains("/setup/"));
    let setup_path = &setup.unwrap()[setup.unwrap().find("/setup/").unwrap()..];
    let c = client();
    let mut pages = vec![
        answer("/login", c.get(format!("{}/login", app.base))).await,
        answer(setup_path, c.get(format!("{}{setup_path}", app.base))).await,
    ];
    let seeded = seed(&app).await;
    let browser = Browser::new_user(&app).await;
    let session = browser.session_cookie().to_owned();
    let (key, delivery) = (&seeded.key, seeded.refused);
    let paths: Vec<(&str, String)> = vec![
        ("/login", "/login".into()),
        ("/setup/{token}", setup_path.into()),
        ("/", "/".into()),
        ("/settings/api-keys", "/settings/api-keys".into()),
        (
            "/settings/api-keys/{id}",
            format!("/settings/api-keys/{key}"),
        ),
        (
            "/settings/api-keys/{id}/revoke",
            format!("/settings/api-keys/{key}/revoke"),
        ),
        (
            "/settings/api-keys/{id}/deliveries",
            format!("/settings/api-keys/{key}/deliveries"),
        ),
        (
            "/settings/api-keys/{id}/deliveries/{delivery}",
            format!("/settings/api-keys/{key}/deliveries/{delivery}"),
        ),
        (
            "/settings/api-keys/{id}/replay",
            format!("/settings/api-keys/{key}/replay"),
        ),
        (
            "/settings/api-keys/{id}/deliveries/{delivery}/replay",
            format!("/settings/api-keys/{key}/deliveries/{delivery}/replay"),
        ),
        ("/settings/orgs", "/settings/orgs?q=acme".into()),
        (
            "/settings/orgs/{id}",
            format!("/settings/orgs/{}", seeded.target_org),
        ),
        (
            "/settings/product-orgs/{id}",
            format!("/settings/product-orgs/{}", encode("ws_abc123")),
        ),
        ("/settings/leads", "/settings/leads?linked=false".into()),
        (
            "/settings/leads/{id}",
            format!("/settings/leads/{}", encode("grace@example.com")),
        ),
    ];
    let listed: BTreeSet<String> = paths.iter().map(|(route, _)| (*route).to_owned()).collect();
    assert_eq!(
        listed,
        ui_get_routes(),
        "every UI route with a GET has a page in this test"
    );
    for (route, path) in &paths {
        // `/` only redirects; the sign-in and setup pages were fetched signed out above.
        if ["/", "/login", "/setup/{token}"].contains(route) {
            continue;
        }
        let request = c
            .get(format!("{}{path}", app.base))
            .header(COOKIE, &session);
        let page = answer(path, request).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        pages.push(page);
    }
    pages.extend(pages_drawn_by_forms(&app, &browser).await);

    let mut files = BTreeSet::new();
    for page in &pages {
        files.extend(check_page(page));
    }
    check_files(&app, &files).await;
    let home = answer("/", c.get(format!("{}/", app.base))).await;
    assert_eq!(header(&home.headers, "x-content-type-options"), "nosniff");
}

/// Pages a POST draws: a failed sign-in, a refused form, the create-key form's preview and
/// the page that shows a new key once.
async fn pages_drawn_by_forms(app: &TestApp, browser: &Browser) -> Vec<Answer> {
    let c = client();
    let login = c.get(format!("{}/login", app.base)).send().await.unwrap();
    let login_cookie = header(login.headers(), "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form = Page {
        status: login.status(),
        html: login.text().await.unwrap(),
    };
    let mut sign_in = form.form("/login");
    sign_in.set("tenant", "default");
    sign_in.set("email", "ana@example.com");
    sign_in.set("password", &format!("{PASSWORD} not"));
    let wrong = c
        .post(format!("{}/login", app.base))
        .header(COOKIE, login_cookie)
        .form(&sign_in.fields);
    let forged = c
        .post(format!("{}/logout", app.base))
        .header(COOKIE, browser.session_cookie())
        .form(&[("csrf", "forged")]);
    let keys = browser.get("/settings/api-keys").await;
    let mut create = keys.form("create");
    create.set("name", "Headers");
    create.set("sample", &json!({"workspace_id": "ws_1"}).to_string());
    let press = |button: &str| {
        let mut fields = create.fields.clone();
        fields.push(("action".to_owned(), button.to_owned()));
        c.post(format!("{}/settings/api-keys", app.base))
            .header(COOKIE, browser.session_cookie())
            .form(&fields)
    };
    let out = vec![
        answer("a wrong password", wrong).await,
        answer("a forged form", forged).await,
        answer("the preview", press("preview")).await,
        answer("the new key", press("create")).await,
    ];
    let statuses: Vec<u16> = out.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [401, 403, 200, 200], "the POSTs' answers");
    assert!(out[3].html.contains("Key created"), "{}", out[3].html);
    out
}

/// The scripts and stylesheets the pages load: their own type, `nosniff`, and a long cache
/// (their URLs change with their content).
async fn check_files(app: &TestApp, files: &BTreeSet<String>) {
    let kinds: BTreeSet<&str> = files
        .iter()
        .map(|f| if f.contains(".js") { "js" } else { "css" })
        .collect();
    assert_eq!(
        kinds.len(),
        2,
        "the pages load a script and a stylesheet: {files:?}"
    );
    for file in files {
        assert!(file.starts_with("/ui/"), "from the service itself: {file}");
        let response = client()
            .get(format!("{}{file}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        let headers = response.headers();
        let expected = if file.contains(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(header(headers, "content-type"), expected, "{file}");
        assert_eq!(
            header(headers, "x-content-type-options"),
            "nosniff",
            "{file}"
        );
        assert_eq!(
            header(headers, "cache-control"),
            "public, max-age=31536000, immutable",
            "{file}"
        );
        assert!(!response.text().await.unwrap().is_empty(), "{file}");
    }
}

#[tokio::test]
async fn the_json_api_says_nosniff() {
    let app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let c = client();
    let token = format!("Bearer {}", app.admin_token);
    let requests = [
        (
            "the webhook",
            c.post(app.webhook_url(&key.api_key))
                .json(&json!({"workspace_id": "ws_1"})),
        ),
        (
            "a refused webhook",
            c.post(app.webhook_url(&key.api_key)).json(&json!({})),
        ),
        (
            "the admin API",
            c.get(format!("{}/api/admin/api-keys", app.base))
                .header("authorization", &token),
        ),
        (
            "an unknown path",
            c.get(format!("{}/nothing/here", app.base)),
        ),
        ("the health check", c.get(format!("{}/healthz", app.base))),
        (
            "the OpenAPI document",
            c.get(format!("{}/api/openapi.json", app.base)),
        ),
    ];
    for (what, request) in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            header(&headers, "content-type").starts_with("application/json"),
            "{what}: {headers:?} {body}"
        );
        assert_eq!(
            header(&headers, "x-content-type-options"),
            "nosniff",
            "{what}: {headers:?}"
        );
        assert!(headers.get(CONTENT_TYPE).is_some());
    }
}
