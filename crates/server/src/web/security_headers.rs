//! The headers that keep a page to itself. Every answer says `nosniff`, so that no browser
//! runs a JSON body (which quotes what senders sent) as a script or a page. Every HTML page
//! also gets a Content-Security-Policy that lets it load scripts and styles only from this
//! service's files (so markup injected through some value could run nothing), that forbids
//! framing it (clickjacking of the revoke and replay buttons), no referrer beyond this site
//! and no caching, as pages show tenant data and new keys.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};

/// What a page may load and do. `'self'` for scripts and styles means the files of
/// `super::assets` and nothing inline: no `<script>` or `<style>` element, `style=` or `on…=`
/// attribute of a page runs or applies. `img-src 'self'` only for the favicon browsers ask for.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// Adds the headers to an answer's `headers`: `nosniff` to all, the rest to HTML pages.
pub(crate) fn add(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let html = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return;
    }
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    // For browsers older than frame-ancestors.
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
