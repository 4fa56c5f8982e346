//! Credentials taken out of a payload before it is kept (the delivery log keeps payloads so
//! integrators can see and replay what arrived): no API key, secret or signature may reach the
//! store in clear.

use serde_json::Value;

/// What a removed credential is replaced with, so the payload still shows where it was.
pub const REDACTED: &str = "[redacted]";

/// Fields that carry a credential by their name wherever they are: Segment's and RudderStack's
/// SDKs put the write key in the body as `writeKey`.
const CREDENTIAL_FIELDS: [&str; 2] = ["writekey", "write_key"];

/// The prefixes of trailspark's own credentials (API keys, their secrets, HMAC secrets, admin
/// tokens; see [`crate::credentials`]): a string holding one, wherever a sender put it, is
/// taken out too. Only when followed by at least [`MIN_CREDENTIAL_TAIL`] token characters
/// (every credential has 32 or more), so that an id that merely starts alike, which a replay
/// of the payload needs, stays.
const CREDENTIAL_PREFIXES: [&str; 5] = ["tsk_po_", "tsk_sig_", "tss_", "tsa_", "whsec_"];
const MIN_CREDENTIAL_TAIL: usize = 24;

/// Whether `text` holds something shaped like one of trailspark's credentials.
pub fn holds_credential(text: &str) -> bool {
    CREDENTIAL_PREFIXES.iter().any(|prefix| {
        text.match_indices(prefix).any(|(at, _)| {
            let tail = &text[at + prefix.len()..];
            tail.bytes()
                .take_while(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=')
                })
                .count()
                >= MIN_CREDENTIAL_TAIL
        })
    })
}

/// Replaces, anywhere in `payload`, the value of a credential field (`writeKey`, any case),
/// every string holding one of `secrets` (the key and secrets the request presented, which a
/// sender may have put anywhere) and every string holding something shaped like a trailspark
/// credential (any key's, not only this request's) with [`REDACTED`].
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
        Value::String(text)
            if secrets.iter().any(|s| !s.is_empty() && text.contains(s))
                || holds_credential(text) =>
        {
            *text = REDACTED.into();
        }
        _ => {}
    }
}

/// The same for a body kept as text because it is not JSON (a truncated body, say): every
/// string that follows a quoted credential field name and a colon, every occurrence of
/// `secrets` and every credential-shaped token become [`REDACTED`]. A value left unterminated
/// is redacted to the end. One pass
/// over the text, quote by quote: a body is the sender's to shape, and one made of many
/// credential fields must not cost more than its length.
pub fn redact_text(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    if holds_credential(&text) {
        text = without_credential_tokens(&text);
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

/// `text` with every credential-shaped token replaced by [`REDACTED`].
fn without_credential_tokens(text: &str) -> String {
    let is_token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_token(c)) {
        out.push_str(&rest[..start]);
        let token = &rest[start..];
        let end = token.find(|c: char| !is_token(c)).unwrap_or(token.len());
        let (word, after) = token.split_at(end);
        out.push_str(if holds_credential(word) {
            REDACTED
        } else {
            word
        });
        rest = after;
    }
    out.push_str(rest);
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
    fn a_credential_anywhere_is_taken_out_and_look_alikes_stay() {
        let key = "tsk_po_AbCdEfGhIjKlMnOpQrStUvWx";
        let mut payload = json!({"context": {"note": format!("sent with {key}")},
                                 "tags": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tsa_short"],
                                 "plan": "tss_is_a_plan", "id": "tsk_po_workspace_of_acme"});
        redact(&mut payload, &[]);
        assert_eq!(payload["context"]["note"], REDACTED);
        assert_eq!(payload["tags"], json!([REDACTED, "tsa_short"]));
        assert_eq!(
            payload["plan"], "tss_is_a_plan",
            "a short tail is a word, not a key"
        );
        let text = format!(r#"{{"note": "sent with {key} today", "x": "#);
        assert_eq!(
            redact_text(&text, &[]),
            r#"{"note": "sent with [redacted] today", "x": "#
        );
    }

    #[test]
    fn every_credential_trailspark_makes_is_recognised() {
        use crate::credentials::*;
        use crate::EndpointType;
        for made in [
            generate_api_key(EndpointType::ProductOrgUpdates),
            generate_api_key(EndpointType::SignalStaging),
            generate_api_secret(),
            generate_hmac_secret(),
            generate_admin_token(),
        ] {
            assert!(holds_credential(&made), "{made} is not recognised");
        }
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
