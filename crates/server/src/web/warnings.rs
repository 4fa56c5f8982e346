//! How a result's warnings and reasons (SPEC §6) read on a page: each warning as its message
//! (its `code` parts drawn as code, by [`values::message`]) with its code and its extra keys in
//! words, a reason in words. The words of a warning are core's (the answer, the log and the
//! page say the same thing); only their layout is here.

use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::{UnchangedReason, UnlinkedReason, Warning};

use super::layout::shown;
use super::orgs::urlencode;
use super::values::{self, visible_id};

/// An id or a path as code; its spaces kept, since a trailing space can be the whole mistake
/// (`ws_abc123 ` beside `ws_abc123`).
fn code(text: &str) -> Markup {
    html! { code.exact { (text) } }
}

/// A product org id linked to its page, its surrounding whitespace shown (the id beside a
/// similar one is the point of the warnings that name it).
pub(super) fn product_org(id: &str) -> Markup {
    html! { a href={ "/settings/product-orgs/" (urlencode(id)) } { (visible_id(id)) } }
}

/// Why an entry changed nothing, or why a signal's lead is not linked, in words; `None` for a
/// reason this version does not know.
pub(super) fn reason_in_words(reason: &str) -> Option<&'static str> {
    let reason = Value::from(reason);
    if let Ok(unchanged) = UnchangedReason::deserialize(&reason) {
        return Some(match unchanged {
            UnchangedReason::SameValues => "same values as stored",
            UnchangedReason::OlderEvent => "older than the stored event",
        });
    }
    let unlinked = UnlinkedReason::deserialize(&reason).ok()?;
    Some(match unlinked {
        UnlinkedReason::NoProductOrgId => "not linked: the lead's signals name no product org",
        UnlinkedReason::ProductOrgNotFound => {
            "not linked: the product org it names does not exist (yet)"
        }
    })
}

/// A reason in words, with its code.
pub(super) fn reason(reason: &str) -> Markup {
    html! {
        @match reason_in_words(reason) {
            Some(words) => { (words) " " span.muted { "(" (reason) ")" } },
            None => (reason),
        }
    }
}

/// The codes of `warnings`, for the log's marker of an entry that has some.
pub(super) fn marker(warnings: &[Value]) -> Markup {
    let codes: Vec<String> = warnings.iter().map(|w| shown(&w["code"])).collect();
    let count = match warnings.len() {
        1 => "1 warning".to_owned(),
        n => format!("{n} warnings"),
    };
    html! {
        span.notice.warned {
            "⚠ " (count) ": " (codes.join(", "))
        }
    }
}

/// Every warning: its code, its message, its extra keys.
pub(super) fn list(warnings: &[Value]) -> Markup {
    html! {
        ul.warnings {
            @for w in warnings { li { (one(w)) } }
        }
    }
}

fn one(warning: &Value) -> Markup {
    let message = warning["message"].as_str().unwrap_or_default();
    html! {
        strong { (shown(&warning["code"])) } ": " (values::message(message))
        br;
        span.muted { (extras(warning)) }
    }
}

/// A warning's extra keys in words; those of a code this version does not know as they are.
fn extras(warning: &Value) -> Markup {
    let Ok(known) = Warning::deserialize(warning) else {
        return html! {
            @for (n, (key, value)) in warning.as_object().into_iter().flatten()
                .filter(|(key, _)| !matches!(key.as_str(), "code" | "message")).enumerate() {
                @if n > 0 { " · " }
                (key) " " (code(&shown(value)))
            }
        };
    };
    match known {
        Warning::UnresolvedPath {
            field,
            path,
            did_you_mean,
            ..
        } => html! {
            "field " (code(&field)) " · path " (code(&path)) " found nothing · did you mean "
            (code(&did_you_mean)) "?"
        },
        Warning::OlderEvent {
            fields,
            stored_event_timestamp,
            ..
        } => html! {
            "not applied: "
            @for (n, field) in fields.iter().enumerate() { @if n > 0 { ", " } (code(field)) }
            " · stored event time " (stored_time(&stored_event_timestamp))
        },
        Warning::SimilarProductOrg { existing, .. } => html! {
            "existing product org " (product_org(&existing))
        },
        Warning::DuplicateInBatch {
            product_org_id,
            indexes,
            ..
        } => {
            let at: Vec<String> = indexes.iter().map(u32::to_string).collect();
            html! {
                "product org " (product_org(&product_org_id)) " at indexes " (at.join(", "))
                " of the request"
            }
        }
    }
}

/// A time a warning carries as text, drawn as every time is; as it is when it is not one.
fn stored_time(text: &str) -> Markup {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(at) => values::when(&at.with_timezone(&chrono::Utc)),
        Err(_) => html! { (text) },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use trailspark_core::ProductOrgId;

    use super::*;

    #[test]
    fn reasons_read_as_words_and_unknown_ones_as_they_are() {
        assert_eq!(
            reason_in_words("same_values"),
            Some("same values as stored")
        );
        assert_eq!(
            reason_in_words("older_event"),
            Some("older than the stored event")
        );
        assert!(reason_in_words("product_org_not_found").is_some());
        assert_eq!(reason_in_words("from_the_future"), None);
        assert_eq!(reason("from_the_future").into_string(), "from_the_future");
    }

    #[test]
    fn each_warning_shows_its_code_message_and_keys() {
        let id = |s| ProductOrgId::parse(s).unwrap();
        let warnings: Vec<Value> = [
            Warning::unresolved_path("userCount", "traits.employes", "traits.employees"),
            Warning::older_event(
                vec!["planId".into(), "mrr".into()],
                Utc.with_ymd_and_hms(2026, 1, 15, 10, 30, 0).unwrap(),
            ),
            Warning::similar_product_org(&id("WS_1"), &id("ws 1")),
            Warning::duplicate_in_batch(&id("ws_2"), vec![0, 3]),
        ]
        .iter()
        .map(|w| serde_json::to_value(w).unwrap())
        .collect();
        let html = list(&warnings).into_string();
        let code = |text: &str| format!("<code class=\"exact\">{text}</code>");
        for shown in [
            format!("did you mean {}?", code("traits.employees")),
            "but the payload has <code>traits.employees</code>.".to_owned(),
            format!("field {}", code("userCount")),
            format!("not applied: {}, {}", code("planId"), code("mrr")),
            "stored event time <time datetime=\"2026-01-15T10:30:00Z\"".to_owned(),
            format!(
                "href=\"/settings/product-orgs/ws%201\">{}",
                visible_id("ws 1").into_string()
            ),
            format!("{}</a> at indexes 0, 3", visible_id("ws_2").into_string()),
            "<strong>unresolved_path</strong>: ".to_owned(),
        ] {
            assert!(html.contains(&shown), "{shown} in {html}");
        }
        assert!(!html.contains('`'), "no literal backticks: {html}");
        let marked = marker(&warnings[..2]).into_string();
        assert!(
            marked.contains("2 warnings: unresolved_path, older_event"),
            "{marked}"
        );
    }

    #[test]
    fn a_warning_of_an_unknown_code_keeps_its_keys() {
        let w = serde_json::json!({"code": "new_kind", "message": "see `x`", "where": "y"});
        let html = list(&[w]).into_string();
        assert!(html.contains("<strong>new_kind</strong>"), "{html}");
        assert!(html.contains("where <code"), "{html}");
    }
}
