//! `GET /api/openapi.json`: the OpenAPI 3 document of every endpoint, built by this module's
//! code so that the document changes in the same commit as the code it describes.

mod health;
mod intake;
mod leads;
mod orgs;
mod parts;
mod schemas;

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::app::App;

/// The document as served, built on first use: it never changes while the process runs.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| render(&document()));

/// Serves the document.
pub fn router() -> Router<App> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                DOCUMENT.as_str(),
            )
                .into_response()
        }),
    )
}

/// The whole document.
fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "trailspark",
            "version": "0.1.0",
            "description": "trailspark takes account-level product data (product orgs: plan, seats, MRR, trial \
                status, feature flags, custom metrics of each workspace) from CDPs and reverse-ETL \
                tools by webhook, keeps it current per field, and serves it to lead scoring. Every \
                error body is `{success:false, code, error, message}`.",
        },
        "tags": [
            {"name": "webhook", "description": "Intake from Segment, RudderStack, Hightouch or curl."},
            {"name": "segment", "description": "The Segment-compatible API, for Segment's and RudderStack's SDKs."},
            {"name": "admin", "description": "Tenant-scoped reads; `Authorization: Bearer <admin token>`."},
            {"name": "health", "description": "Liveness, readiness and this document."},
        ],
        "paths": paths(),
        "components": schemas::components(),
    })
}

/// Every path, in the order readers of the document meet them: intake, admin, operator.
fn paths() -> Value {
    json!({
        "/api/product-orgs/webhook/{apiKey}": intake::product_org_webhook(),
        "/api/signals/webhook/{apiKey}": intake::signal_webhook(),
        "/v1/batch": intake::segment_batch(),
        "/v1/{eventType}": intake::segment_event(),
        "/metrics": health::metrics(),
        "/api/admin/leads": leads::leads(),
        "/api/admin/leads/{leadId}": leads::lead(),
        "/api/admin/leads/{leadId}/evaluation-context": leads::evaluation_context(),
        "/api/admin/target-orgs": orgs::target_orgs(),
        "/api/admin/target-orgs/{targetOrgId}": orgs::target_org(),
        "/api/admin/target-orgs/{targetOrgId}/firmographics": orgs::firmographics(),
        "/api/admin/product-orgs/{productOrgId}/move": orgs::move_product_org(),
        "/api/admin/product-orgs": orgs::product_orgs(),
        "/api/admin/product-orgs/{productOrgId}": orgs::product_org(),
        "/api/admin/product-orgs/{productOrgId}/history": orgs::product_org_history(),
        "/healthz": health::healthz(),
        "/readyz": health::readyz(),
        "/api/openapi.json": health::openapi(),
    })
}

/// The document as text: two-space indent, every character outside printable ASCII escaped
/// as `\uXXXX`, and a final newline. This is the form the committed `openapi.json` has
/// always had, so that a change to the code shows up in its diff as the lines it changes.
fn render(document: &Value) -> String {
    let pretty = serde_json::to_string_pretty(document).expect("a JSON value always serializes");
    let mut text = String::with_capacity(pretty.len() + 1);
    // serde_json already escapes control characters; what remains is DEL and non-ASCII,
    // which only occur inside strings, so escaping them here cannot touch the syntax.
    for c in pretty.chars() {
        if c.is_ascii() && c != '\u{7f}' {
            text.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                write!(text, "\\u{unit:04x}").expect("writing to a String cannot fail");
            }
        }
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_document_is_the_committed_one() {
        let committed = include_str!("../openapi.json");
        let parsed: Value = serde_json::from_str(committed).expect("openapi.json is JSON");
        assert_eq!(document(), parsed);
        assert_eq!(DOCUMENT.as_str(), committed);
    }
}
