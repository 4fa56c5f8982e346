//! The page skeleton every web UI page is drawn in, its stylesheet, and small rendering helpers.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;
use trailspark_core::update::format_timestamp;

use super::session::Viewer;

const STYLE: &str = r"
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none}header nav{display:flex;gap:1rem;flex:1;flex-wrap:wrap}header .who{opacity:.8;font-size:.9rem}
main{max-width:72rem;margin:0 auto;padding:1.2rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6eb;vertical-align:top}
th{background:#eef0f4;font-weight:600}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}pre{background:#fff;border:1px solid #e3e6eb;padding:.6rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
form.card,.card{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:1rem;margin-bottom:1rem;max-width:40rem}form.wide{max-width:56rem}fieldset{border:1px solid #e3e6eb;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}legend{font-weight:600}textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem;border:1px solid #b8bfcc;border-radius:4px;padding:.45rem}td.error{color:#a61b1b}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}input[type=text],input[type=email],input[type=password],input[type=number],input[type=search],select{width:100%;padding:.45rem;border:1px solid #b8bfcc;border-radius:4px;font:inherit}
.check label{display:inline;font-weight:400}button{margin-top:.8rem;padding:.45rem 1rem;border:0;border-radius:4px;background:#2f5bea;color:#fff;font:inherit;cursor:pointer}
button.danger{background:#c0392b}header button{margin:0;background:transparent;border:1px solid #fff6;padding:.2rem .6rem}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}.error{color:#a61b1b;font-weight:600}.notice{background:#fff8e1;border:1px solid #f0c36d;border-radius:4px;padding:.5rem .7rem}.muted{color:#5b6577}.once{background:#fff8e1;border-color:#f0c36d}
.scroll{overflow-x:auto;margin-bottom:1rem}.scroll table{margin-bottom:0}
table.facts th{width:11rem}td.nowrap{white-space:nowrap}td.fields,code.url{overflow-wrap:anywhere}details.version{margin:.3rem 0}details.version summary{cursor:pointer}
.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end;margin-bottom:.6rem}.filters>div{flex:1 1 12rem}.filters>div:last-child{flex:0 0 auto}
@media (max-width:40rem){th,td{padding:.35rem}main{padding:.6rem}form.card,.card{padding:.6rem}fieldset{padding:.4rem .5rem;margin:.6rem 0}table.facts th{width:auto}
table.stack thead{display:none}table.stack tr{display:block;border-bottom:2px solid #d5dae2}table.stack td{display:block;position:relative;padding:.25rem .4rem .25rem 7.2rem;border:0;min-height:1.9rem;overflow-wrap:anywhere}table.stack td:empty{display:none}
table.stack td::before{content:attr(data-label);position:absolute;left:.4rem;width:6.4rem;font-weight:600;color:#5b6577;overflow-wrap:normal}td.nowrap{white-space:normal}}
";

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
                style { (PreEscaped(STYLE)) }
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
