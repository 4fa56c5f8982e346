//! Credentials taken out of a payload before it is kept (the delivery log keeps payloads so
//! integrators can see and replay what arrived): no API key, secret or signature may reach the
//! store in clear.

use crate::json::{Json, Members, Node};

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

/// `payload` as JSON text, written as serde_json writes it (compact, members in order), with
/// the value of every credential field (`writeKey`, any case), every string holding one of
/// `secrets` (the key and secrets the request presented, which a sender may have put
/// anywhere) and every string holding something shaped like a trailspark credential (any
/// key's, not only this request's) written [`REDACTED`]. Written straight from the document:
/// copying it into a `Value` to redact and then write cost a kept payload tens of thousands
/// of instructions.
pub fn redacted_text<J: Json>(payload: &J, secrets: &[&str]) -> String {
    let mut out = Vec::with_capacity(256);
    write_redacted(payload, secrets, &mut out);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

fn write_redacted<J: Json>(value: &J, secrets: &[&str], out: &mut Vec<u8>) {
    match value.node() {
        Node::Object(members) => {
            out.push(b'{');
            for (n, (name, value)) in members.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json(name, out);
                out.push(b':');
                if CREDENTIAL_FIELDS
                    .iter()
                    .any(|f| name.eq_ignore_ascii_case(f))
                {
                    write_json(REDACTED, out);
                } else {
                    write_redacted(value, secrets, out);
                }
            }
            out.push(b'}');
        }
        Node::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_redacted(item, secrets, out);
            }
            out.push(b']');
        }
        Node::String(text)
            if secrets.iter().any(|s| !s.is_empty() && text.contains(s))
                || holds_credential(text) =>
        {
            write_json(REDACTED, out);
        }
        Node::String(text) => write_json(text, out),
        Node::Number(n) => write_json(n, out),
        Node::Bool(b) => write_json(&b, out),
        Node::Null => out.extend_from_slice(b"null"),
    }
}

/// A scalar as serde_json writes it.
fn write_json(scalar: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    serde_json::to_writer(out, scalar).expect("a scalar is JSON");
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
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::json::tests::any_json;
    use crate::json::Doc;

    /// `payload` redacted, read back.
    fn redact(payload: &mut Value, secrets: &[&str]) {
        *payload = serde_json::from_str(&redacted_text(payload, secrets)).unwrap();
    }

    #[test]
    fn write_keys_and_presented_secrets_are_taken_out_anywhere() {
        let mut payload = json!({
            "writeKey": "tsk_po_abc",
            "batch": [{"type": "group", "groupId": "ws_1",
                "context": {"WriteKey": "tsk_po_abc", "note": "key is tsk_po_abc"},
                "traits": {"plan": "pro", "seats": 3}}],
            "sentAt": "2026-01-15T10:30:00Z"
        });
        let text = redacted_text(&payload, &["tsk_po_abc"]);
        assert!(!text.contains("tsk_po_abc"), "{text}");
        redact(&mut payload, &["tsk_po_abc"]);
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
    fn a_write_key_field_in_any_case_is_taken_out_whatever_it_holds() {
        let payload = json!({"WRITEKEY": "abc", "Write_Key": {"n": 5}, "note": "writeKey"});
        assert_eq!(
            redacted_text(&payload, &[]),
            r#"{"WRITEKEY":"[redacted]","Write_Key":"[redacted]","note":"writeKey"}"#
        );
    }

    #[test]
    fn nothing_else_changes_and_an_empty_secret_matches_nothing() {
        let original = json!({"groupId": "ws_1", "traits": {"name": "Acme", "mrr": 100}});
        let mut payload = original.clone();
        redact(&mut payload, &["", "tss_secret"]);
        assert_eq!(payload, original);
    }

    proptest! {
        /// Without a credential, the text is what serde_json writes, for a `Value` and for the
        /// `Doc` the webhooks parse alike.
        #[test]
        fn a_payload_without_credentials_is_written_as_serde_json_writes_it(value in any_json()) {
            prop_assert_eq!(redacted_text(&value, &["tss_absent"]), value.to_string());
            // What a webhook reads of that text (a float may come back a bit off).
            let text = value.to_string();
            let (read, doc): (Value, _) =
                (serde_json::from_str(&text).unwrap(), Doc::parse(text.as_bytes()).unwrap());
            prop_assert_eq!(redacted_text(&doc, &[]), read.to_string());
        }
    }
}
