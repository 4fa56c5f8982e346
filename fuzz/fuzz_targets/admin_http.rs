//! Any bytes as the admin API's inputs of SPEC §6, through the real HTTP service (the axum
//! router of `serve`, over a SQLite store) with an admin token: a new template version
//! (`PUT …/template`), a template test over the key's stored payloads (`POST …/template/test`),
//! a replay selection (`POST …/deliveries/replay`) and the delivery log's query string
//! (`GET …/deliveries?…`). No input panics, none gets a 500 (nor does any replayed delivery),
//! every answer is a JSON object, and every refusal carries its `code` and `message`.
//!
//! The first byte chooses the endpoint (its low two bits) and the key type (the next bit:
//! product org updates or signals); the rest is the body, or the query string. In ASCII,
//! `0`–`3` are a product org key's template version, replay, log and template test, and `4`–`7`
//! the same of a signal key, which keeps the seeds (`fuzz/seeds/admin_http`) readable.
#![no_main]

#[path = "shared/service.rs"]
mod service;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use trailspark_core::credentials::{
    generate_admin_token, generate_admin_token_id, hash_credential,
};
use trailspark_core::template::Preset;
use trailspark_core::EndpointType;
use trailspark_store::NewAdminToken;

use service::{Key, Service};

/// The keys of one key type. Template changes go to a key of their own, so that a replay or
/// a template test never depends on a template an earlier input set, and a crash there is
/// found again from its input alone (messageId dedupe of earlier replays aside).
struct Keys {
    edited: Key,
    logged: Key,
}

struct Admin {
    service: Service,
    bearer: String,
    product_orgs: Keys,
    signals: Keys,
}

fn admin() -> &'static Admin {
    static ADMIN: OnceLock<Admin> = OnceLock::new();
    ADMIN.get_or_init(|| {
        let service = Service::start();
        let token = generate_admin_token();
        let new = NewAdminToken {
            id: generate_admin_token_id(),
            name: Some("fuzz".into()),
            token_hash: hash_credential(&token),
            expires_at: None,
        };
        service
            .runtime
            .block_on(service.store.create_admin_token(service.tenant, new))
            .unwrap();
        let keys = |kind| Keys {
            edited: service.key(kind, Preset::Segment),
            logged: service.key(kind, Preset::Segment),
        };
        let admin = Admin {
            bearer: format!("Bearer {token}"),
            product_orgs: keys(EndpointType::ProductOrgUpdates),
            signals: keys(EndpointType::SignalStaging),
            service,
        };
        admin.log_deliveries();
        admin
    })
}

impl Admin {
    /// Sends the logged keys the deliveries that replays and template tests work on: applied
    /// and refused ones, one not JSON (kept as text, so not replayable) and an array's
    /// elements. A fresh SQLite store numbers them in this order 4096, 8192, 12288, 16384,
    /// 20480 and 20481 (the array's, one chunk), 24576 and 28672 (an entry's id is its chunk's
    /// × 4096 + its place in it): the ids the seeds in `fuzz/seeds/admin_http` replay.
    fn log_deliveries(&self) {
        let product_orgs: [&[u8]; 5] = [
            br#"{"type":"group","groupId":"ws_1","messageId":"m1","timestamp":"2026-11-01T00:00:00Z","traits":{"name":"Acme","plan":"pro","employees":10,"mrr":9900}}"#,
            br#"{"type":"group","groupID":"ws_2","messageId":"m2","traits":{"name":"Typo"}}"#,
            br#"{"type":"group","groupId":"ws_3","messageId":"m3","traits":{"employees":"many"}}"#,
            b"not json",
            br#"[{"groupId":"ws_4","traits":{"mrr":1}},{"traits":{"mrr":2}}]"#,
        ];
        for body in product_orgs {
            let url = format!(
                "/api/product-orgs/webhook/{}",
                self.product_orgs.logged.text
            );
            self.deliver(&url, body);
        }
        let signals: [&[u8]; 2] = [
            br#"{"type":"track","event":"Signed Up","userId":"u1","messageId":"s1","context":{"traits":{"email":"a@example.com"},"groupId":"ws_1"}}"#,
            br#"{"type":"track","messageId":"s2","properties":{"plan":"pro"}}"#,
        ];
        for body in signals {
            let url = format!("/api/signals/webhook/{}", self.signals.logged.text);
            self.deliver(&url, body);
        }
    }

    fn deliver(&self, url: &str, body: &[u8]) {
        let request = Request::post(url)
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        let (status, answer) = self.service.send(request);
        assert!(
            status.is_success() || status.is_client_error(),
            "seeding the delivery log: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// The request the input stands for; `None` for a query string no URI can carry.
    fn request(&self, input: &[u8]) -> Option<(Endpoint, Request<Body>)> {
        let (&choice, rest) = input.split_first()?;
        let keys = match choice & 4 {
            0 => &self.product_orgs,
            _ => &self.signals,
        };
        let endpoint = Endpoint::ALL[usize::from(choice & 3)];
        let builder = match endpoint {
            Endpoint::TemplateVersion => {
                Request::put(format!("/api/admin/api-keys/{}/template", keys.edited.id))
            }
            Endpoint::TemplateTest => Request::post(format!(
                "/api/admin/api-keys/{}/template/test",
                keys.logged.id
            )),
            Endpoint::Replay => Request::post(format!(
                "/api/admin/api-keys/{}/deliveries/replay",
                keys.logged.id
            )),
            Endpoint::Log => Request::get(format!(
                "/api/admin/api-keys/{}/deliveries?{}",
                keys.logged.id,
                query_string(rest)
            )),
        };
        let body = match endpoint {
            Endpoint::Log => Body::empty(),
            _ => Body::from(rest.to_vec()),
        };
        let request = builder
            .header("authorization", &self.bearer)
            .header("content-type", "application/json")
            .body(body)
            .ok()?;
        Some((endpoint, request))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    TemplateVersion,
    TemplateTest,
    Replay,
    Log,
}

impl Endpoint {
    const ALL: [Self; 4] = [
        Self::TemplateVersion,
        Self::Replay,
        Self::Log,
        Self::TemplateTest,
    ];
}

/// The bytes as a query string: the separators (`&`, `=`), `+` and `%` stay as they are so
/// that the fuzzer shapes the parameters and their escapes (malformed ones too); every other
/// byte but letters, digits and `-._~:` is percent-encoded, so that almost every input is a
/// URI the service gets to read.
fn query_string(bytes: &[u8]) -> String {
    let mut query = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~&=+%:".contains(&byte) {
            query.push(char::from(byte));
        } else {
            query.push_str(&format!("%{byte:02X}"));
        }
    }
    query
}

fuzz_target!(|input: &[u8]| {
    let admin = admin();
    let Some((endpoint, request)) = admin.request(input) else {
        return;
    };
    let (status, answer) = admin.service.send(request);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        status.is_success() || status.is_client_error(),
        "{endpoint:?}: {status} {text}"
    );
    let answer: Value = serde_json::from_slice(&answer)
        .unwrap_or_else(|e| panic!("{endpoint:?}: {status}, not JSON ({e}): {text}"));
    assert!(answer.is_object(), "{endpoint:?}: {status} {answer}");
    if !status.is_success() {
        assert_refusal(&answer, &format!("{endpoint:?}: {status}"));
        return;
    }
    match endpoint {
        Endpoint::TemplateVersion => assert!(
            answer["templateVersion"].as_i64().is_some_and(|v| v > 1),
            "a changed template is a new version: {answer}"
        ),
        Endpoint::Replay => {
            let results = answer["results"].as_array().expect("replay results");
            assert_eq!(answer["replayed"], json!(results.len()), "{answer}");
            for result in results {
                // A replayed delivery is answered as the webhook would have answered it: a
                // server error there is one the HTTP status of the replay itself hides.
                let replayed = result["status"].as_u64().expect("a replayed status");
                assert!(replayed < 500, "a replayed delivery: {result}");
                if replayed >= 400 {
                    assert_refusal(&result["body"], "a replayed delivery");
                }
            }
        }
        Endpoint::Log => assert!(answer["items"].is_array(), "{answer}"),
        Endpoint::TemplateTest => assert!(answer["results"].is_array(), "{answer}"),
    }
});

/// A refusal as SPEC §3 shapes every error body.
fn assert_refusal(body: &Value, what: &str) {
    assert_eq!(body["success"], json!(false), "{what}: {body}");
    assert!(body["error"].is_string(), "{what}: no error: {body}");
    assert!(body["code"].is_string(), "{what}: no code: {body}");
    assert!(body["message"].is_string(), "{what}: no message: {body}");
}
