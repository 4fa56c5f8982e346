//! `GET /api/openapi.json`: the OpenAPI 3 document of every endpoint, built by this module's
//! code so that the document changes in the same commit as the code it describes.

mod deliveries;
mod fields;
mod health;
mod intake;
mod key_health;
mod keys;
mod leads;
mod orgs;
mod parts;
mod schemas;
mod templates;

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
            {"name": "admin", "description": "Tenant-scoped reads and changes; `Authorization: Bearer <admin token>`, \
                or the web UI's session cookie (with its CSRF token in `X-CSRF-Token` on POST, PUT, PATCH and DELETE)."},
            {"name": "health", "description": "Liveness, readiness and this document."},
        ],
        "paths": paths(),
        "components": schemas::components(),
    })
}

/// Every path, in the order readers of the document meet them: intake, admin, operator.
fn paths() -> Value {
    let mut paths = json!({
        "/api/product-orgs/webhook/{apiKey}": intake::product_org_webhook(),
        "/api/signals/webhook/{apiKey}": intake::signal_webhook(),
        "/v1/batch": intake::segment_batch(),
        "/v1/{eventType}": intake::segment_event(),
        "/api/admin/api-keys": keys::api_keys(),
        "/api/admin/api-keys/{keyId}": keys::api_key(),
        "/api/admin/api-keys/{keyId}/template": keys::template(),
        "/api/admin/api-keys/{keyId}/template/versions": keys::template_versions(),
        "/api/admin/api-keys/{keyId}/template/test": keys::template_test(),
        "/api/admin/api-keys/{keyId}/deliveries": deliveries::key_deliveries(),
        "/api/admin/api-keys/{keyId}/deliveries/replay": deliveries::replay(),
        "/api/admin/deliveries/{deliveryId}": deliveries::delivery(),
        "/api/admin/api-keys/{keyId}/health": key_health::key_health(),
        "/api/admin/payload-templates/preview": templates::preview(),
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
        "/api/admin/possible-duplicates": orgs::possible_duplicates(),
        "/healthz": health::healthz(),
        "/readyz": health::readyz(),
        "/api/openapi.json": health::openapi(),
    });
    parts::admin_sessions(&mut paths);
    paths
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

    /// The committed snapshot: reviewers read the document's changes in its diff.
    const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");

    /// Set to `1` to rewrite the snapshot from the code instead of checking it.
    const REWRITE: &str = "TRAILSPARK_WRITE_OPENAPI";

    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        if std::env::var(REWRITE).as_deref() == Ok("1") {
            std::fs::write(SNAPSHOT, DOCUMENT.as_str()).expect("write the snapshot");
            eprintln!("wrote {SNAPSHOT}");
            return;
        }
        let committed = std::fs::read_to_string(SNAPSHOT).expect("read the snapshot");
        if let Some((line, committed, generated)) = first_difference(&committed, &DOCUMENT) {
            panic!(
                "{SNAPSHOT} differs from what the code generates, first at line {line}:\n  \
                 committed: {committed}\n  generated: {generated}\n\
                 If the code is right, rewrite the file and commit it with the code:\n  \
                 {REWRITE}=1 cargo test -p trailspark-server openapi"
            );
        }
    }

    /// The first line (1-based) where `a` and `b` differ, and that line of each.
    fn first_difference<'a>(a: &'a str, b: &'a str) -> Option<(usize, &'a str, &'a str)> {
        let (mut a_lines, mut b_lines) = (a.lines(), b.lines());
        for line in 1.. {
            match (a_lines.next(), b_lines.next()) {
                (None, None) => return (a != b).then_some((line, "(end)", "(end)")),
                (x, y) if x == y => continue,
                (x, y) => return Some((line, x.unwrap_or("(end)"), y.unwrap_or("(end)"))),
            }
        }
        unreachable!("a text has finitely many lines")
    }

    #[test]
    fn a_difference_is_found_on_its_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some((2, "b", "c")));
        assert_eq!(first_difference("a\n", "a\nb\n"), Some((2, "(end)", "b")));
        assert_eq!(first_difference("a\n", "a"), Some((2, "(end)", "(end)")));
    }

    #[test]
    fn the_rendering_escapes_what_is_not_printable_ascii() {
        let text = render(&json!({"s": "…\u{7f}é😀\n\"", "n": [], "o": {}}));
        let expected = "{\n  \"s\": \"\\u2026\\u007f\\u00e9\\ud83d\\ude00\\n\\\"\",\n  \"n\": [],\n  \"o\": {}\n}\n";
        assert_eq!(text, expected);
    }
}
