//! The page skeleton every web UI page is drawn in (its stylesheet and script are files, see
//! `assets`), and small rendering helpers.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;
use trailspark_core::update::format_timestamp;

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
                header {
                    strong { "trailspark" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Settings" {
                            span { "Settings:" }
                            a href="/settings/api-keys" { "API Keys" }
                            a href="/settings/orgs" { "Org Management" }
                        }
                        span.who { (viewer.email) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A time as the pages show it, a dash for none.
pub fn time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".to_owned(), format_timestamp)
}

/// A JSON value as text: strings as they are, the rest as JSON.
pub fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every field of a JSON object as a two-column table.
pub fn fields(object: &Value) -> Markup {
    html! {
        table {
            tbody {
                @if let Some(map) = object.as_object() {
                    @for (name, value) in map {
                        tr { th scope="row" { (name) } td { code { (shown(value)) } } }
                    }
                }
            }
        }
    }
}
