//! The three steps to the first update, shown on the overview while no key has delivered
//! anything: create a key, paste its webhook URL in the CDP, send the test payload. The key
//! itself was shown once, when it was created: the URL and the curl hold a placeholder for it.

use axum::http::HeaderMap;
use maud::{html, Markup};
use serde_json::Value;
use trailspark_core::example::example_payload;
use trailspark_core::template::PayloadTemplate;
use trailspark_store::ApiKeyRecord;

use crate::app::App;
use crate::web::key_page::key_href;
use crate::web::new_key::{quoted, webhook_url};

/// What stands for the key in the URL and the curl.
const KEY_PLACEHOLDER: &str = "<API_KEY>";
/// What stands for the key's `X-Api-Secret`, when it has one.
const SECRET_PLACEHOLDER: &str = "<API_SECRET>";

/// The steps, for the newest key that works (of `keys`, newest first) if there is one.
pub(super) fn first_steps(app: &App, headers: &HeaderMap, keys: &[&ApiKeyRecord]) -> Markup {
    let now = chrono::Utc::now();
    let key = keys
        .iter()
        .find(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now));
    html! {
        section #first-steps aria-labelledby="first-steps-title" {
            h2 #first-steps-title { "Your first update, in three steps" }
            ol.steps {
                li #step-key {
                    h3 { "Create a key" }
                    @if let Some(key) = key {
                        p { "Done: " a href=(key_href(key)) { (key.name) } " (" (key.endpoint_type.title()) "). Its key, starting " code { (key.prefix) "…" } ", was shown when it was created." }
                    } @else {
                        p { "Open " a href="/settings/api-keys#create" { "Create a key" } " on API Keys: choose the key's type and the preset of your CDP (Segment, RudderStack, Hightouch) or map your own paths. Copy the key: it is shown only once." }
                    }
                }
                li #step-url {
                    h3 { "Paste the webhook URL in your CDP" }
                    @if let Some(key) = key {
                        p { "In your CDP's webhook destination, set this URL, with your key in place of " code { (KEY_PLACEHOLDER) } ":" }
                        p { code #first-url .url { (webhook_url(app, headers, key.endpoint_type, KEY_PLACEHOLDER)) } }
                    } @else {
                        p { "The key's page shows its webhook URL: set it as the URL of your CDP's webhook destination." }
                    }
                }
                li #step-send {
                    h3 { "Send the test payload" }
                    @if let Some(key) = key {
                        p { "From a terminal, with your key (and secret) in place of the placeholders: a payload with a value at every path of the key's template." }
                        // Its own box scrolls on a phone: the keyboard reaches it too.
                        pre #first-curl tabindex="0" { (curl(app, headers, key)) }
                        @if key.hmac_secret_sealed.is_some() {
                            p.muted { "This key also wants an HMAC signature of the body: send the test from your CDP, which signs it." }
                        }
                        p.muted { "Then reload this page: the delivery shows here and in the key's delivery log." }
                    } @else {
                        p { "The page that shows a new key gives a curl command that sends a test payload made from its template." }
                    }
                }
            }
        }
    }
}

/// A curl command that sends the key's webhook a payload made from its template, the key
/// (and secret) as placeholders.
fn curl(app: &App, headers: &HeaderMap, key: &ApiKeyRecord) -> String {
    let url = webhook_url(app, headers, key.endpoint_type, KEY_PLACEHOLDER);
    let template = serde_json::from_str::<Value>(&key.template)
        .ok()
        .and_then(|json| PayloadTemplate::from_json(key.endpoint_type, &json).ok());
    let body = template.map_or(Value::Object(Default::default()), |t| example_payload(&t));
    let secret = if key.secret_hash.is_some() {
        format!(
            " \\\n  -H {}",
            quoted(&format!("X-Api-Secret: {SECRET_PLACEHOLDER}"))
        )
    } else {
        String::new()
    };
    // Pretty, as it is read before it is run: the shell keeps the newlines inside quotes.
    let body = serde_json::to_string_pretty(&body).unwrap_or_default();
    format!(
        "curl -X POST {} \\\n  -H 'Content-Type: application/json'{secret} \\\n  -d {}",
        quoted(&url),
        quoted(&body)
    )
}
