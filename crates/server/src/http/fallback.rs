//! The answer to a path no route takes: a 404 that names the intake path meant when the
//! request's path is one with a trailing slash or doubled slashes (a URL pasted into a CDP
//! with an extra `/`). Never a redirect: many CDPs follow a redirected POST without its body.
//! The message shows the key as `{apiKey}`: error bodies end up in CDP logs and screenshots.

use axum::extract::State;
use axum::http::Uri;
use chrono::Utc;
use trailspark_store::Intake;

use super::segment::EVENT_TYPES;
use crate::app::App;
use crate::deliveries;
use crate::error::ApiError;

/// The 404 for `uri`; one naming a webhook path with a key the tenant has is also logged in
/// that key's delivery log, so the integrator finds the mistyped URL where they look first.
pub(crate) async fn answer(State(app): State<App>, uri: Uri) -> ApiError {
    let refused = not_found(&uri);
    if let Some(key_text) = webhook_key(uri.path()) {
        let now = Utc::now();
        if let Ok(key) = app.keys.active(key_text, now).await {
            app.metrics.refused(&key, refused.code(), 1);
            let entry = deliveries::refused_entry(&refused, None);
            let log =
                deliveries::request_log(&app.log_volume, &key, Intake::Webhook, None, vec![entry]);
            deliveries::log_refused(app.store.as_ref(), &key, now, log).await;
        }
    }
    refused
}

/// The key segment of a webhook path written with extra slashes.
fn webhook_key(path: &str) -> Option<&str> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api", "product-orgs" | "signals", "webhook", key] => Some(key),
        _ => None,
    }
}

/// The 404 for `uri`.
pub(crate) fn not_found(uri: &Uri) -> ApiError {
    let path = uri.path();
    let Some(meant) = meant(path) else {
        return ApiError::NotFound(
            "There is no endpoint at this path; see /api/openapi.json.".into(),
        );
    };
    let mut slips = Vec::new();
    if path.len() > 1 && path.ends_with('/') {
        slips.push("no trailing slash");
    }
    if path.trim_end_matches('/').contains("//") {
        slips.push("one slash between segments");
    }
    ApiError::NotFound(format!(
        "There is no endpoint at this path. Did you mean `{meant}` ({})? Fix the URL where it \
         is configured; requests are not redirected, since a redirected POST loses its body in \
         many CDPs.",
        slips.join(", ")
    ))
}

/// The intake path that `path` is with its empty segments taken out, its key as `{apiKey}`.
fn meant(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api", "product-orgs", "webhook", _] => Some("/api/product-orgs/webhook/{apiKey}".into()),
        ["api", "signals", "webhook", _] => Some("/api/signals/webhook/{apiKey}".into()),
        ["v1", kind] if *kind == "batch" || EVENT_TYPES.contains(kind) => {
            Some(format!("/v1/{kind}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(path: &str) -> String {
        let uri: Uri = path.parse().unwrap();
        not_found(&uri).body()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn each_slip_is_named_with_the_path_meant_and_never_the_key() {
        let key = "tsk_po_secretsecret";
        for (path, meant, slip) in [
            (
                format!("/api/product-orgs/webhook/{key}/"),
                "`/api/product-orgs/webhook/{apiKey}` (no trailing slash)",
                "trailing slash",
            ),
            (
                format!("/api/product-orgs//webhook/{key}"),
                "`/api/product-orgs/webhook/{apiKey}` (one slash between segments)",
                "double slash",
            ),
            (
                format!("//api/signals/webhook/{key}/"),
                "`/api/signals/webhook/{apiKey}` (no trailing slash, one slash between segments)",
                "both",
            ),
            (
                "/v1/batch/".into(),
                "`/v1/batch` (no trailing slash)",
                "batch",
            ),
            ("/v1//group".into(), "`/v1/group` (one slash", "group"),
        ] {
            let said = message(&path);
            assert!(said.contains(meant), "{slip}: {said}");
            assert!(
                !said.contains(key),
                "{slip}: the key is never echoed: {said}"
            );
        }
    }

    #[test]
    fn other_paths_get_the_plain_answer() {
        for path in [
            "/nothing/here",
            "/v1/unknown/",
            "/api/product-orgs/webhook/",
        ] {
            assert!(
                message(path).ends_with("see /api/openapi.json."),
                "{path}: {}",
                message(path)
            );
        }
    }
}
