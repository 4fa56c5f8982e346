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
    fn nothing_else_changes_and_an_empty_secret_matches_nothing() {
        let original = json!({"groupId": "ws_1", "traits": {"name": "Acme", "mrr": 100}});
        let mut payload = original.clone();
        redact(&mut payload, &["", "tss_secret"]);
        assert_eq!(payload, original);
    }
}
