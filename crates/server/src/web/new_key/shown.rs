//! The page that shows a new key once: the key, its webhook URL, its secrets, and a curl
//! command that tries it with a payload made from the key's own template.

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use maud::html;
use secrecy::ExposeSecret;
use trailspark_core::example::example_payload;
use trailspark_core::template::PayloadTemplate;
use trailspark_core::EndpointType;

use crate::app::App;
use crate::keys::CreatedKey;
use crate::web::key_page::key_href;
use crate::web::layout::{crumbs, page};
use crate::web::session::{secure, Viewer};

/// The new key with its webhook URL, its secrets and a curl command to try it: shown this
/// once, as only the key's hash is kept (like every page, never cached: see
/// `security_headers`).
pub(super) fn shown_once(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    template: &PayloadTemplate,
    created: &CreatedKey,
) -> Response {
    let api_key = created.api_key.expose_secret();
    let url = webhook_url(app, headers, template.endpoint_type(), api_key);
    let curl = try_it(&url, template, created);
    page(
        "Key created",
        Some(viewer),
        html! {
            (crumbs(&[("API Keys", "/settings/api-keys")]))
            div.card.once role="status" {
                p { strong { "Copy the key now: it is shown only this once." } " trailspark keeps only its hash." }
                label for="new_key" { "API key" }
                input #new_key type="text" readonly value=(api_key) data-copy;
                label for="webhook_url" { "Webhook URL" }
                input #webhook_url type="text" readonly value=(url) data-copy;
                @if let Some(secret) = &created.secret {
                    label for="api_secret" { "X-Api-Secret" }
                    input #api_secret type="text" readonly value=(secret.expose_secret()) data-copy;
                }
                @if let Some(secret) = &created.hmac_secret {
                    label for="hmac_secret" { "HMAC secret" }
                    input #hmac_secret type="text" readonly value=(secret.expose_secret()) data-copy;
                }
                p.try-it #curl-heading { "Try it" }
                // Its lines kept whole, as the shell reads them: the box scrolls instead.
                pre.json #curl tabindex="0" role="region" aria-labelledby="curl-heading" { (curl) }
                p { span data-copy-text=(curl) data-copy-what="the curl command" {} }
                p { a href=(key_href(&created.record)) { "Open the key's page" } " (its health and delivery log) · " a href="/settings/api-keys" { "Back to API Keys" } }
            }
        },
    )
    .into_response()
}

/// The key's webhook on the public URL, else on the host (and scheme) the browser reached
/// this server by.
pub(in crate::web) fn webhook_url(
    app: &App,
    headers: &HeaderMap,
    kind: EndpointType,
    api_key: &str,
) -> String {
    let path = match kind {
        EndpointType::ProductOrgUpdates => "/api/product-orgs/webhook/",
        EndpointType::SignalStaging => "/api/signals/webhook/",
    };
    if let Some(url) = &app.public_url {
        return format!("{}{path}{api_key}", url.origin());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if secure(app, headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{path}{api_key}")
}

/// A curl command that sends `url` a payload with a value at every path of the key's
/// template, with the key's secret header.
fn try_it(url: &str, template: &PayloadTemplate, created: &CreatedKey) -> String {
    let secret_header = created
        .secret
        .as_ref()
        .map(|s| {
            format!(
                " \\\n  -H {}",
                quoted(&format!("X-Api-Secret: {}", s.expose_secret()))
            )
        })
        .unwrap_or_default();
    // Pretty, as it is read before it is run: the shell keeps the newlines inside quotes.
    let body = serde_json::to_string_pretty(&example_payload(template)).unwrap_or_default();
    format!(
        "curl -X POST {} \\\n  -H 'Content-Type: application/json'{secret_header} \\\n  -d {}",
        quoted(url),
        quoted(&body)
    )
}

/// `text` as one shell word: in single quotes, a quote in it written `'\''`.
pub(in crate::web) fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
