//! Errors inside the web UI are pages of the UI: a missing product org, target org, lead, key
//! or delivery, and a path under /settings/ that no page has, answer their 404 as HTML with the
//! header navigation, the message (its backticked parts as code) and the way back to the list
//! the missing thing belongs to. The admin API answers the same missing things with the JSON
//! it always did, to a token and to a session alike.

mod common;

use common::web::{client, Browser};
use common::TestApp;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An answer as the tests read it: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// GETs `path` with the browser's session cookie, or with none.
async fn get(app: &TestApp, cookie: Option<&str>, path: &str) -> Answer {
    let mut request = client().get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// The markup of the error page's "Ways on" links.
fn ways_on(html: &str) -> &str {
    let start = html
        .find(r#"<nav class="way-on""#)
        .unwrap_or_else(|| panic!("no way-on links in:\n{html}"));
    let end = start + html[start..].find("</nav>").unwrap();
    &html[start..end]
}

/// Asserts `answer` is the UI's 404 page naming `named`, with the navigation and the links to
/// the overview and to `list` (and not to the other list).
fn assert_error_page(case: &str, answer: &Answer, named: &str, list: Option<&str>) {
    let html = &answer.body;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{case}: {html}");
    let kind = answer.headers[CONTENT_TYPE].to_str().unwrap();
    assert!(kind.starts_with("text/html"), "{case}: {kind}");
    assert!(
        answer.headers.contains_key(CONTENT_SECURITY_POLICY),
        "{case}: the page's headers"
    );
    assert!(html.contains("<title>Not found"), "{case}: {html}");
    assert!(
        html.contains(r#"<nav aria-label="Main">"#),
        "{case}: the navigation: {html}"
    );
    assert!(html.contains(named), "{case}: the message: {html}");
    let ways = ways_on(html);
    assert!(ways.contains(r#"href="/""#), "{case}: the overview: {ways}");
    for other in ["/settings/orgs", "/settings/api-keys"] {
        let linked = ways.contains(&format!(r#"href="{other}""#));
        assert_eq!(
            linked,
            list == Some(other),
            "{case}: link to {other}: {ways}"
        );
    }
}

#[tokio::test]
async fn missing_objects_in_the_ui_are_html_404_pages_with_the_way_back() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let cookie = browser.session_cookie();
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let k = format!("/settings/api-keys/{}", key.id);
    for (case, path, named, list) in [
        (
            "product org",
            "/settings/product-orgs/ws_nowhere".to_owned(),
            "ws_nowhere",
            "/settings/orgs",
        ),
        (
            "target org",
            "/settings/orgs/987654".into(),
            "987654",
            "/settings/orgs",
        ),
        (
            "lead",
            "/settings/leads/nobody%40example.com".into(),
            "nobody@example.com",
            "/settings/leads",
        ),
        (
            "key",
            "/settings/api-keys/key_nowhere".into(),
            "key_nowhere",
            "/settings/api-keys",
        ),
        (
            "delivery",
            format!("{k}/deliveries/987654"),
            "987654",
            "/settings/api-keys",
        ),
    ] {
        let answer = get(&app, Some(cookie), &path).await;
        assert_error_page(case, &answer, named, Some(list));
    }
}

#[tokio::test]
async fn an_unknown_settings_path_is_a_404_page_with_the_path_as_code() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let cookie = browser.session_cookie();
    for (path, list) in [
        ("/settings/nothing-here", None),
        ("/settings", None),
        ("/settings/api-keys/k/x/y", Some("/settings/api-keys")),
    ] {
        let answer = get(&app, Some(cookie), path).await;
        assert_error_page(path, &answer, path, list);
        // The message's backticked path is drawn as code, not as backticks.
        let code = format!("<code>{path}</code>");
        assert!(answer.body.contains(&code), "{path}: {}", answer.body);
        assert!(!answer.body.contains('`'), "{path}: {}", answer.body);
    }
    // Signed out, the sign-in form, as for every settings page.
    let answer = get(&app, None, "/settings/nothing-here").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers["location"], "/login");
    // Other unknown paths keep the service's JSON 404.
    let answer = get(&app, Some(cookie), "/nothing-here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&answer.body).expect("JSON");
    assert_eq!(body["code"], "not_found", "{body}");
}

#[tokio::test]
async fn the_admin_api_still_answers_missing_objects_in_json() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let cookie = browser.session_cookie();
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let not_found = |message: &str| json!({"success": false, "code": "not_found", "error": "not found", "message": message});
    for (path, body) in [
        (
            "/api/admin/product-orgs/ws_nowhere".to_owned(),
            not_found("This tenant has no product org with id \"ws_nowhere\"."),
        ),
        (
            "/api/admin/target-orgs/987654".into(),
            not_found("This tenant has no target org 987654."),
        ),
        (
            "/api/admin/leads/nobody%40example.com".into(),
            not_found("This tenant has no lead with id \"nobody@example.com\"."),
        ),
        (
            "/api/admin/api-keys/key_nowhere".into(),
            not_found("This tenant has no API key \"key_nowhere\"."),
        ),
        (
            "/api/admin/deliveries/987654".into(),
            not_found("This tenant has no delivery 987654."),
        ),
        (
            format!("/api/admin/api-keys/{}/deliveries?cursor=nonsense", key.id),
            json!({"success": false, "code": "invalid_cursor", "error": "bad request",
                   "message": "The cursor is not one this API returned; pass nextCursor from the previous page as it is."}),
        ),
    ] {
        let (status, answer) = app.admin_get(&path).await;
        let expected = if body["code"] == "not_found" {
            404
        } else {
            400
        };
        assert_eq!(status.as_u16(), expected, "{path} with a token: {answer}");
        assert_eq!(answer, body, "{path} with a token");
        // A browser's session on the admin API is answered as the API answers, not as a page.
        let answer = get(&app, Some(cookie), &path).await;
        assert_eq!(answer.status.as_u16(), expected, "{path}: {}", answer.body);
        let kind = answer.headers[CONTENT_TYPE].to_str().unwrap();
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let json: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(json, body, "{path} with a session");
    }
}
