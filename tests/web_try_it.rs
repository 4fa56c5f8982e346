//! The "Try it" curl command the API Keys page shows with a new key: sent as shown, it is
//! answered 200, whatever the key's template.

mod common;

use common::web::{Browser, Form, Page};
use common::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

/// The words of a shell command as `sh` splits them: single quotes, backslash escapes and
/// backslash-newline continuations.
fn shell_words(command: &str) -> Vec<String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|c| *c != '\''));
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs the page's curl command (its URL, headers and body) and returns the answer.
async fn run_try_it(app: &TestApp, created: &Page, case: &str) -> (StatusCode, Value) {
    assert_eq!(created.status, StatusCode::OK, "{case}: {}", created.text());
    let command = created.text_of("curl").expect("a curl command");
    let words = shell_words(&command);
    assert_eq!(words[..3], ["curl", "-X", "POST"], "{case}: {command}");
    let mut request = app.client.post(&words[3]);
    for pair in words[4..].chunks(2) {
        match pair[0].as_str() {
            "-H" => {
                let (name, value) = pair[1].split_once(": ").expect("a header");
                request = request.header(name, value);
            }
            "-d" => request = request.body(pair[1].clone()),
            other => panic!("{case}: unexpected curl option {other}: {command}"),
        }
    }
    app.send(request).await
}

/// The form after "Fill the template from the preset" for `kind` and `preset`.
async fn filled(browser: &Browser, kind: &str, preset: &str) -> Form {
    let mut form = browser.get("/settings/api-keys").await.form("create");
    form.set("endpoint_type", kind);
    form.set("preset", preset);
    browser
        .press(&form, "action", "preset")
        .await
        .form("create")
}

/// Issue 16: the curl always sent a Segment group call, so a Hightouch or flat key (and any
/// signal key) answered it 400. It is made from the key's own template now.
#[tokio::test]
async fn the_try_it_curl_is_answered_200_for_every_preset() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    for kind in ["product-org-updates", "signal-staging"] {
        for preset in ["segment", "rudderstack", "hightouch", "flat"] {
            let case = format!("{kind} key from the {preset} preset");
            let mut form = filled(&browser, kind, preset).await;
            form.set("name", &case);
            let created = browser.press(&form, "action", "create").await;
            let (status, body) = run_try_it(&app, &created, &case).await;
            assert_eq!(status, StatusCode::OK, "{case}: {body}");
            assert_eq!(body["success"], true, "{case}: {body}");
        }
    }
    let (status, org) = app.product_org("test_ws_001").await;
    assert_eq!(status, StatusCode::OK, "{org}");
}

/// A template of the user's own: nested paths, an array index, alternatives, custom fields
/// (one with a quote in its path), and a key with a secret. Every mapped field gets an example value its rule accepts.
#[tokio::test]
async fn the_try_it_curl_fills_every_path_of_a_custom_template() {
    let app = TestApp::spawn().await;
    let browser = Browser::new_user(&app).await;
    let mut form = filled(&browser, "product-org-updates", "segment").await;
    for (field, path) in [
        ("productOrgId", "data.org.id | data.orgId"),
        ("name", "data.org.name"),
        ("planId", "data.org.plan.id"),
        ("planName", "items.0.plan"),
        ("userCount", "data.org.stats.seats"),
        ("mrr", "billing.mrr_cents"),
        ("trialStatus", "data.org.trial"),
        ("lastActiveAt", "activity.last_seen"),
        ("featureFlags", "data.flags"),
        ("eventTimestamp", "meta.sent_at"),
        ("messageId", "meta.id"),
    ] {
        form.set(&format!("path.{field}"), path);
    }
    form.set("custom_name.0", "projects");
    form.set("custom_path.0", "metrics.total_projects");
    let mut form = browser.press(&form, "action", "add").await.form("create");
    // A quote in a path must survive the shell.
    form.set("custom_name.1", "owner's region");
    form.set("custom_path.1", "data.owner's.region");
    form.set("name", "Nested");
    form.tick("with_secret");
    let created = browser.press(&form, "action", "create").await;
    let (status, body) = run_try_it(&app, &created, "nested template").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["productOrgId"].as_str().expect("a product org id");
    let (_, org) = app.product_org(id).await;
    for field in [
        "name",
        "planId",
        "planName",
        "userCount",
        "mrr",
        "trialStatus",
        "lastActiveAt",
        "featureFlags",
    ] {
        assert!(!org[field].is_null(), "{field} has an example value: {org}");
    }
    assert!(!org["customFields"]["projects"].is_null(), "{org}");
    assert!(!org["customFields"]["owner's region"].is_null(), "{org}");

    let mut form = filled(&browser, "signal-staging", "flat").await;
    for (field, path) in [
        ("email", "user.contact.email"),
        ("leadId", ""),
        ("productOrgId", "context.groups.0.id"),
        ("signal", "event.name"),
        ("properties", "event.props"),
        ("eventTimestamp", "event.at"),
    ] {
        form.set(&format!("path.{field}"), path);
    }
    form.set("name", "Nested signals");
    let created = browser.press(&form, "action", "create").await;
    let (status, body) = run_try_it(&app, &created, "nested signal template").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["linked"], true,
        "the example names the product org: {body}"
    );
}
