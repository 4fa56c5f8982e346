//! Values as a person reads them, for every page of the UI: times relative to now with the
//! exact time on hover, money in units rather than cents, field names in words, a change
//! history as field | old → new, ids whose surrounding spaces show, long ids cut short with a
//! copy button, and messages whose `code` parts are drawn as code. Pages draw values only
//! through these, so each rule has one home.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped};
use serde_json::Value;
use trailspark_core::update::{format_timestamp, FieldChange};

/// `at` relative to now (`3 min ago`), the exact time its title and `datetime`.
pub fn when(at: &DateTime<Utc>) -> Markup {
    when_from(at, Utc::now())
}

/// [`when`] for a time that may be missing: a dash then.
pub fn when_opt(at: Option<&DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => when(at),
        None => html! { "—" },
    }
}

fn when_from(at: &DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    let exact = format_timestamp(at);
    html! { time datetime=(exact) title=(exact) { (relative(at, now)) } }
}

/// How long before (or after) `now` `at` is, in the largest unit that fits; past a month, the
/// date itself, which reads better than "14 months ago".
fn relative(at: &DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - *at).num_seconds();
    let (ago, seconds) = (seconds >= 0, seconds.unsigned_abs());
    let amount = match seconds {
        0..=9 => return "just now".to_owned(),
        10..=59 => format!("{seconds} s"),
        60..=3_599 => format!("{} min", seconds / 60),
        3_600..=86_399 => format!("{} h", seconds / 3_600),
        86_400..=2_591_999 => counted(seconds / 86_400, "day"),
        _ => return at.format("%Y-%m-%d").to_string(),
    };
    if ago {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// An amount of cents in units with two decimals and thousands grouped: `49,900.00`. The
/// tenant's currency is not known to the service (SPEC: mrr is "in cents"), so no symbol.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", grouped(cents / 100), cents % 100)
}

/// A count with its thousands grouped: `1,000,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count with its noun, grouped and in the singular for one: `1 update`, `1,024 updates`.
pub fn counted(n: u64, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {noun}{plural}", grouped(n))
}

/// A product org field's name in words: `userCount` → `User count`, `mrr` → `MRR`.
pub fn label(field: &str) -> String {
    match field {
        "mrr" => return "MRR".to_owned(),
        "createdAt" => return "Created".to_owned(),
        "updatedAt" => return "Updated".to_owned(),
        "lastActiveAt" => return "Last active".to_owned(),
        "eventTimestamp" | "eventAt" => return "Event time".to_owned(),
        "receivedAt" => return "Received".to_owned(),
        _ => {}
    }
    let mut words: Vec<String> = Vec::new();
    for c in field.chars() {
        match words.last_mut() {
            Some(word) if !c.is_uppercase() && c != '_' => word.push(c),
            _ if c == '_' => words.push(String::new()),
            _ => words.push(c.to_lowercase().collect()),
        }
    }
    let words: Vec<String> = words
        .into_iter()
        .filter(|w| !w.is_empty())
        .map(|w| match w.as_str() {
            "id" => "ID".to_owned(),
            "url" => "URL".to_owned(),
            "mrr" => "MRR".to_owned(),
            _ => w,
        })
        .collect();
    let mut text = words.join(" ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

/// A field's value as read: money for `mrr`, times for the `…At` fields, yes/no, a list of
/// name: value for objects (feature flags, custom fields, whose names are the sender's own and
/// kept as sent), a dash for none.
pub fn value(field: &str, value: &Value) -> Markup {
    match value {
        Value::Null => html! { "—" },
        Value::Bool(b) => html! { (if *b { "yes" } else { "no" }) },
        Value::Number(n) if field == "mrr" => match n.as_i64() {
            Some(cents) => html! { span title={ (n) " cents" } { (money(cents)) } },
            None => html! { (n) },
        },
        Value::String(s) if is_time(field) => match DateTime::parse_from_rfc3339(s) {
            Ok(at) => when(&at.with_timezone(&Utc)),
            Err(_) => html! { (s) },
        },
        Value::String(s) => html! { (s) },
        Value::Object(map) if map.is_empty() => html! { "—" },
        Value::Object(map) => html! {
            ul.pairs {
                @for (name, inner) in map {
                    li { code { (name) } ": " (self::value(name, inner)) }
                }
            }
        },
        other => html! { code { (other) } },
    }
}

fn is_time(field: &str) -> bool {
    field.ends_with("At") || field == "eventTimestamp"
}

/// Every field of a JSON object as a two-column table, names in words (the name as sent is
/// the label's title).
pub fn fields(object: &Value) -> Markup {
    html! {
        table.facts {
            tbody {
                @if let Some(map) = object.as_object() {
                    @for (name, shown) in map {
                        tr { th scope="row" title=(name) { (label(name)) } td { (value(name, shown)) } }
                    }
                }
            }
        }
    }
}

/// A change history's changes: one row per field, `old → new`.
pub fn changes(changes: &[FieldChange]) -> Markup {
    html! {
        table.changes {
            thead { tr { th scope="col" { "Field" } th scope="col" { "Old → new" } } }
            tbody {
                @for change in changes {
                    tr {
                        th scope="row" title=(change.field) { (label(&change.field)) }
                        td {
                            span.old { (value(&change.field, &change.old)) }
                            span.arrow aria-label="changed to" { " → " }
                            span.new { (value(&change.field, &change.new)) }
                        }
                    }
                }
            }
        }
    }
}

/// An id in quotes with its surrounding whitespace shown (`“ws_abc123␣”`), so that two ids that
/// differ only there can be told apart; the exact id is its title.
pub fn visible_id(text: &str) -> Markup {
    html! {
        code.id title=(text) { "“" (spaced(text)) "”" }
    }
}

/// `text` with its surrounding whitespace drawn (␣ ⇥ ␤ ␍), in a span that marks it as such.
fn spaced(text: &str) -> Markup {
    let rest = text.trim_start();
    let start = &text[..text.len() - rest.len()];
    let body = rest.trim_end();
    let end = &rest[body.len()..];
    let shown = |space: &str| -> String {
        space
            .chars()
            .map(|c| match c {
                ' ' => '␣',
                '\t' => '⇥',
                '\n' => '␤',
                '\r' => '␍',
                _ => '·',
            })
            .collect()
    };
    html! {
        @if !start.is_empty() { span.space { (shown(start)) } }
        (body)
        @if !end.is_empty() { span.space { (shown(end)) } }
    }
}

/// Ids up to this many characters are shown whole.
const SHORT: usize = 24;

/// A long id (a request id, a URL, a hash) cut to its start and end with the whole as its
/// title, and a copy button (added by the page's script) that copies it whole; `what` names
/// it for the button ("Copy request ID").
pub fn long_id(text: &str, what: &str) -> Markup {
    let chars: Vec<char> = text.chars().collect();
    let short = if chars.len() <= SHORT {
        text.to_owned()
    } else {
        let head: String = chars[..SHORT - 8].iter().collect();
        let tail: String = chars[chars.len() - 6..].iter().collect();
        format!("{head}…{tail}")
    };
    html! {
        span.long-id {
            code title=(text) { (short) }
            span.copy data-copy-text=(text) data-copy-what=(what) {}
        }
    }
}

/// A message of the service (an error, a warning) with its backticked parts as code: the
/// messages are written for the API's Markdown-reading clients and for people alike.
pub fn message(text: &str) -> Markup {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::new();
    for (n, part) in parts.iter().enumerate() {
        let escaped = html! { (part) }.into_string();
        if n.is_multiple_of(2) {
            out.push_str(&escaped);
        } else if n + 1 < parts.len() {
            // Code is mostly an id a payload held: whitespace around it is what tells
            // `ws_a ` from `ws_a`, so it is drawn.
            out.push_str(&html! { code { (spaced(part)) } }.into_string());
        } else {
            // An unpaired backtick is text.
            out.push('`');
            out.push_str(&escaped);
        }
    }
    PreEscaped(out)
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
