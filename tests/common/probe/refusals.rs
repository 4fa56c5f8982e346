//! Requests that carry credentials, and what they carried: each key, secret and signature in
//! every form it travelled in (text, base64 of basic credentials, a signature's bytes), to
//! look for afterwards in the store and the log.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::Mac;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::common::{Key, TestApp};

/// What the requests carried, and what the delivery log must show of them.
pub struct Sender<'a> {
    pub app: &'a TestApp,
    /// Each credential in each form it travelled in, with what it is.
    pub needles: Vec<(String, Vec<u8>)>,
    /// Keys whose delivery logs are read at the end.
    pub key_ids: Vec<String>,
    /// Refusal codes the logs must hold: each refusal path was taken and logged.
    pub codes: BTreeSet<&'static str>,
}

impl<'a> Sender<'a> {
    /// A new key (`--preset segment` for product org keys, a Segment-shaped template for
    /// signal keys) with `extra` options; its key and secrets are needles.
    pub fn key(&mut self, kind: &str, extra: &[&str]) -> Key {
        let mut args = vec!["--type", kind];
        let template;
        if kind == "signal-staging" {
            let body = json!({"leadId": "userId", "email": "traits.email", "signal": "event",
                "productOrgId": "context.groupId"});
            template = self.app.write_file(
                &format!("signals-{}.json", self.key_ids.len()),
                &body.to_string(),
            );
            args.extend(["--template", template.to_str().unwrap()]);
        } else {
            args.extend(["--preset", "segment"]);
        }
        args.extend(extra);
        let key = self.app.key(&args);
        self.key_ids.push(key.id.clone());
        self.text("API key", &key.api_key);
        self.text(
            "basic credentials",
            &STANDARD.encode(format!("{}:", key.api_key)),
        );
        if let Some(secret) = &key.secret {
            self.text("X-Api-Secret", secret);
            let basic = STANDARD.encode(format!("{}:{secret}", key.api_key));
            self.text("basic credentials with the secret", &basic);
        }
        if let Some(secret) = &key.hmac_secret {
            self.text("HMAC secret", secret);
            let raw = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
            self.text("HMAC secret's bytes as hex", &hex::encode(&raw));
            self.bytes("HMAC secret's bytes", raw);
        }
        key
    }

    pub fn text(&mut self, what: &str, text: &str) {
        self.bytes(what, text.as_bytes().to_vec());
    }

    pub fn bytes(&mut self, what: &str, bytes: Vec<u8>) {
        assert!(bytes.len() >= 16, "{what} is too short to look for");
        self.needles.push((what.to_owned(), bytes));
    }

    /// A signature as sent (hex or base64 text), and its bytes in every form.
    pub fn signature(&mut self, what: &str, sent: &str, raw: &[u8]) {
        self.text(what, sent);
        self.text(&format!("{what} as hex"), &hex::encode(raw));
        self.bytes(&format!("{what}'s bytes"), raw.to_vec());
    }

    /// Sends `request`, which must be answered `status`; `code` is the refusal the key's
    /// delivery log must show for it (None: the key is not known, nothing to log).
    pub async fn refused(
        &mut self,
        case: &str,
        request: RequestBuilder,
        status: StatusCode,
        code: Option<&'static str>,
    ) {
        let (got, body) = self.app.send(request).await;
        assert_eq!(got, status, "{case}: {body}");
        self.codes.extend(code);
    }
}

/// A webhook request of `key` (`route` is `product-orgs` or `signals`) with the key in the
/// path, in the query string and as a bearer token.
pub fn webhook(app: &TestApp, route: &str, key: &Key) -> RequestBuilder {
    let k = &key.api_key;
    app.client
        .post(format!(
            "{}/api/{route}/webhook/{k}?writeKey={k}&apiKey={k}",
            app.base
        ))
        .bearer_auth(k)
}

/// A `/v1` request with the key in the query string and as the basic username (with
/// `password`, the key's secret, when given).
pub fn v1(app: &TestApp, path: &str, key: &Key, password: Option<&str>) -> RequestBuilder {
    let k = &key.api_key;
    app.client
        .post(format!("{}/v1/{path}?writeKey={k}", app.base))
        .basic_auth(k, password)
}

/// `body` with `writeKey`, as Segment-style SDKs send it.
pub fn keyed(key: &Key, mut body: Value) -> Value {
    body["writeKey"] = json!(key.api_key);
    // And under a name no rule knows, as a sender's own note might carry them.
    let secrets = [
        Some(&key.api_key),
        key.secret.as_ref(),
        key.hmac_secret.as_ref(),
    ];
    let noted: Vec<String> = secrets
        .into_iter()
        .flatten()
        .map(|s| format!("sent with {s}"))
        .collect();
    body["senderNotes"] = json!(noted);
    body
}

pub fn mac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Fails when `haystack` holds any of the needles, saying which and where.
pub fn assert_none_in(place: &str, haystack: &[u8], needles: &[(String, Vec<u8>)]) {
    for (what, needle) in needles {
        if let Some(at) = haystack
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
        {
            let around =
                &haystack[at.saturating_sub(200)..(at + needle.len() + 200).min(haystack.len())];
            panic!(
                "{place} holds a {what}, in clear: …{}…",
                String::from_utf8_lossy(around)
            );
        }
    }
}
