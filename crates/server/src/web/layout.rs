//! The page skeleton every web UI page is drawn in (its stylesheet and script are files, see
//! `assets`), and small rendering helpers.

use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::assets::Asset;
use super::session::Viewer;

/// A whole page: the header (with the settings menu and sign-out for a signed-in viewer), then
/// `title` and `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · trailspark" }
                // For scripts of the page that call the admin API with this session: its unsafe
                // methods take the token in the X-CSRF-Token header.
                @if let Some(viewer) = viewer { meta name="csrf-token" content=(viewer.csrf); }
                link rel="stylesheet" href=(Asset::Stylesheet.href());
                // Deferred: it runs once the page is parsed, wherever its elements are.
                script src=(Asset::Script.href()) defer {}
            }
            body {
                // Keyboard users skip the header's links to the page itself.
                a.skip href="#main" { "Skip to the page" }
                header {
                    strong.brand { "trailspark" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Main" {
                            a href="/" { "Overview" }
                            a href="/settings/api-keys" { "API Keys" }
                            a href="/settings/orgs" { "Org Management" }
                            a href="/settings/leads" { "Leads" }
                        }
                        span.who { (viewer.email) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { h1 { (title) } (body) }
            }
        }
    }
}

/// A JSON value as text: strings as they are, the rest as JSON.
pub fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The way back up from a page: `trail` is each page above it, outermost first, as (name,
/// link); the page itself is its `h1`, not repeated here.
pub fn crumbs(trail: &[(&str, &str)]) -> Markup {
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            ol {
                @for (name, href) in trail {
                    li { a href=(href) { (name) } }
                }
            }
        }
    }
}
