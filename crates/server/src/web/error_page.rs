//! The web UI's error pages. A page's handler answers its failures as every handler does, with
//! an [`ApiError`] (a JSON body, which the admin API and the webhooks keep); one layer over the
//! UI's routes redraws any such 4xx or 5xx as a page of the UI: the same status and headers,
//! the header navigation for a signed-in viewer, what happened in words, the message with its
//! `code` parts drawn as code, and the way on (the overview, and the list the missing thing
//! belongs to). A path under `/settings/` that no page has is one of those failures too.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use maud::{html, Markup};
use serde_json::Value;

use super::layout::page;
use super::session::Viewer;
use super::values::message;
use crate::app::App;
use crate::error::ApiError;

/// The most of an error's body read to find its message; error bodies are a few hundred bytes.
const BODY_LIMIT: usize = 64 * 1024;

/// The answer to a path under `/settings` that no page of the UI takes (the other unknown paths
/// keep the JSON 404 of `crate::http`'s fallback, which names the intake path meant).
pub fn router() -> Router<App> {
    Router::new()
        .route("/settings", any(no_such_page))
        .route("/settings/", any(no_such_page))
        .route("/settings/{*rest}", any(no_such_page))
}

/// A 404 naming the path. Signed out, the sign-in form instead, as for every settings page.
async fn no_such_page(_viewer: Viewer, uri: Uri) -> ApiError {
    ApiError::NotFound(format!(
        "There is no page at `{}`: the links above and below lead to every page.",
        uri.path()
    ))
}

/// The layer over the UI's routes: an error answer that is not a page yet becomes one.
pub async fn html_errors(State(app): State<App>, request: Request, next: Next) -> Response {
    // Only the cookies are needed to find the viewer again, and only on the error path.
    let mut cookies = HeaderMap::new();
    for value in request.headers().get_all(header::COOKIE) {
        cookies.append(header::COOKIE, value.clone());
    }
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let said = said(&parts.headers, &bytes).unwrap_or_else(|| fallback_message(status));
    // A store that cannot find the session now is the likely cause of the error itself: the
    // page is drawn without the navigation rather than not at all.
    let viewer = Viewer::of(&cookies, &app).await.ok().flatten();
    let page = error_page(status, &said, &path, viewer.as_ref());
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page.into_string()))
}

/// Whether an answer is a page already (the UI's own refusals: a form drawn again with what is
/// wrong, the sign-in form's, a CSRF refusal).
fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// The message of an error body: an [`ApiError`]'s JSON `message`, or the text of axum's own
/// refusals (an unreadable form or query string).
fn said(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let text = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    let found = if text {
        Some(String::from_utf8_lossy(body).into_owned())
    } else {
        let json: Value = serde_json::from_slice(body).ok()?;
        json["message"].as_str().map(str::to_owned)
    };
    found.filter(|m| !m.trim().is_empty())
}

/// What to say when the error's body says nothing.
fn fallback_message(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("The server answered {} {reason}.", status.as_u16()),
        None => format!("The server answered {}.", status.as_u16()),
    }
}

/// The page's title: what happened, in words.
fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Sign-in needed",
        StatusCode::CONFLICT => "Not changed",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable for a moment",
        s if s.is_server_error() => "Something went wrong",
        _ => "The request could not be used",
    }
}

/// The list a page at `path` belongs to: where to go on from its missing object.
fn list_of(path: &str) -> Option<(&'static str, &'static str)> {
    let section = path.strip_prefix("/settings/")?.split('/').next()?;
    match section {
        "api-keys" => Some(("/settings/api-keys", "API Keys")),
        "orgs" | "product-orgs" => Some(("/settings/orgs", "Org Management")),
        "leads" => Some(("/settings/leads", "Leads")),
        _ => None,
    }
}

/// The error page for an answer `status` saying `said` to a request for `path`.
fn error_page(status: StatusCode, said: &str, path: &str, viewer: Option<&Viewer>) -> Markup {
    let list = list_of(path);
    page(
        title(status),
        viewer,
        html! {
            p.error-message { (message(said)) }
            nav.way-on aria-label="Ways on" {
                ul {
                    @if viewer.is_none() { li { a href="/login" { "Sign in" } } }
                    li { a href="/" { "Overview" } }
                    @if let Some((href, name)) = list { li { a href=(href) { "Back to " (name) } } }
                }
            }
            p.muted.status { "HTTP " (status.as_u16()) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_leads_back_to_its_list() {
        for (path, list) in [
            ("/settings/product-orgs/ws_1", Some("/settings/orgs")),
            ("/settings/orgs/9", Some("/settings/orgs")),
            ("/settings/leads/a%40b.c", Some("/settings/leads")),
            ("/settings/api-keys/k1", Some("/settings/api-keys")),
            (
                "/settings/api-keys/k1/deliveries/3",
                Some("/settings/api-keys"),
            ),
            ("/settings/nothing", None),
            ("/login", None),
        ] {
            assert_eq!(list_of(path).map(|(href, _)| href), list, "{path}");
        }
    }

    #[test]
    fn the_message_is_read_from_json_or_text_and_never_empty() {
        let json = HeaderMap::from_iter([(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )]);
        let text = HeaderMap::from_iter([(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )]);
        let body = br#"{"success":false,"message":"No such `x`."}"#;
        assert_eq!(said(&json, body).as_deref(), Some("No such `x`."));
        assert_eq!(said(&text, b"bad form").as_deref(), Some("bad form"));
        assert_eq!(said(&json, b""), None);
        assert_eq!(said(&text, b"  "), None);
    }
}
