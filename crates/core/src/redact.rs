//! Credentials taken out of a payload before it is kept (the delivery log keeps payloads so
//! integrators can see and replay what arrived): no API key, secret or signature may reach the
//! store in clear.

use serde_json::Value;

/// What a removed credential is replaced with, so the payload still shows where it was.
pub const REDACTED: &str = "[redacted]";

/// Fields that carry a credential by their name wherever they are: Segment's and RudderStack's
/// SDKs put the write key in the body as `writeKey`.
const CREDENTIAL_FIELDS: [&str; 2] = ["writekey", "write_key"];

/// Replaces, anywhere in `payload`, the value of a credential field (`writeKey`, any case) and
/// every string equal to one of `secrets` (the key and secrets the request presented, which a
/// sender may have put anywhere) with [`REDACTED`].
pub fn redact(payload: &mut Value, secrets: &[&str]) {
    match payload {
        Value::Object(map) => {
            for (name, value) in map.iter_mut() {
                if CREDENTIAL_FIELDS.contains(&name.to_ascii_lowercase().as_str()) {
                    *value = Value::String(REDACTED.into());
                } else {
                    redact(value, secrets);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact(item, secrets)),
        Value::String(text) if secrets.iter().any(|s| !s.is_empty() && text.contains(s)) => {
            *text = REDACTED.into();
        }
        _ => {}
    }
}

/// The same for a body kept as text because it is not JSON (a truncated body, say): every
/// string that follows a quoted credential field name and a colon, and every occurrence of
/// `secrets`, become [`REDACTED`]. A value left unterminated is redacted to the end. One pass
/// over the text, quote by quote: a body is the sender's to shape, and one made of many
/// credential fields must not cost more than its length.
pub fn redact_text(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    // ASCII lower-casing keeps every byte offset, so `lower` and `text` share them.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while let Some(quote) = lower[at..].find('"') {
        let name_start = at + quote + 1;
        let name = CREDENTIAL_FIELDS.iter().find(|name| {
            lower[name_start..]
                .strip_prefix(**name)
                .is_some_and(|rest| rest.starts_with('"'))
        });
        let Some(name) = name else {
            at = name_start;
            continue;
        };
        let name_end = name_start + name.len() + 1;
        let value = text[name_end..]
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('"'));
        let Some(value) = value else {
            at = name_end;
            continue;
        };
        let start = text.len() - value.len();
        let end = start + string_end(value).unwrap_or(value.len());
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        (copied, at) = (end, end);
    }
    out.push_str(&text[copied..]);
    out
}

/// The offset of the closing quote of a JSON string whose text `value` starts with.
fn string_end(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn write_keys_and_presented_secrets_are_taken_out_anywhere() {
        let mut payload = json!({
            "writeKey": "tsk_po_abc",
            "batch": [{"type": "group", "groupId": "ws_1",
                "context": {"WriteKey": "tsk_po_abc", "note": "key is tsk_po_abc"},
                "traits": {"plan": "pro", "seats": 3}}],
            "sentAt": "2026-01-15T10:30:00Z"
        });
        redact(&mut payload, &["tsk_po_abc"]);
        let text = payload.to_string();
        assert!(!text.contains("tsk_po_abc"), "{text}");
        assert_eq!(payload["writeKey"], REDACTED);
        assert_eq!(payload["batch"][0]["context"]["WriteKey"], REDACTED);
        assert_eq!(payload["batch"][0]["context"]["note"], REDACTED);
        assert_eq!(
            payload["batch"][0]["traits"],
            json!({"plan": "pro", "seats": 3})
        );
        assert_eq!(payload["sentAt"], "2026-01-15T10:30:00Z");
    }

    #[test]
    fn a_body_that_is_not_json_loses_its_write_keys_and_presented_secrets() {
        let text = r#"{"writeKey" : "tsk_po_a\"b", "x": "tsk_po_c", "WRITE_KEY":"tsk_po_d", "n": "#;
        let kept = redact_text(text, &["tsk_po_c"]);
        assert_eq!(
            kept,
            r#"{"writeKey" : "[redacted]", "x": "[redacted]", "WRITE_KEY":"[redacted]", "n": "#
        );
        let cut = redact_text(r#"["a", {"writeKey": "tsk_po_abc"#, &[]);
        assert_eq!(cut, r#"["a", {"writeKey": "[redacted]"#);
        let plain = r#"{"writeKey": 12, "note": "writeKey"}"#;
        assert_eq!(redact_text(plain, &[""]), plain);
        let twice = r#"{"write_key":"a","writeKey":"b"}"#;
        assert_eq!(
            redact_text(twice, &[]),
            r#"{"write_key":"[redacted]","writeKey":"[redacted]"}"#
        );
    }

    #[test]
    fn every_credential_field_of_a_long_body_is_taken_out() {
        let body = r#"{"writeKey":"tsk_po_x","a":"b"},"#.repeat(1_000);
        let kept = redact_text(&body, &[]);
        assert_eq!(kept.matches(REDACTED).count(), 1_000);
        assert!(!kept.contains("tsk_po_x"));
    }

    #[test]
    fn nothing_else_changes_and_an_empty_secret_matches_nothing() {
        let original = json!({"groupId": "ws_1", "traits": {"name": "Acme", "mrr": 100}});
        let mut payload = original.clone();
        redact(&mut payload, &["", "tss_secret"]);
        assert_eq!(payload, original);
    }
}
